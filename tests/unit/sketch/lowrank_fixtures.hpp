// Test matrices with known spectra for the low-rank and least-squares tests: A = U diag(sigma) V^T
// from the LAPACK QR of Gaussian matrices, built on the host in double.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "support/allclose.hpp"

namespace strata::testing {

inline HostMatrix<double> random_orthonormal(std::size_t m, std::size_t k, std::uint64_t seed) {
  HostMatrix<double> g("g", m, k);
  fill_random(HostExecSpace(), RandomStream{Distribution::gaussian, seed, 7}, g);
  linalg::host::qr_in_place(g);
  return g;
}

/// U diag(s) V^T with U m x r, V n x r orthonormal (r = s.size()).
inline HostMatrix<double> with_spectrum(std::size_t m, std::size_t n, const std::vector<double>& s,
                                        std::uint64_t seed) {
  const auto u = random_orthonormal(m, s.size(), seed);
  const auto v = random_orthonormal(n, s.size(), seed + 1);
  HostMatrix<double> a("a", m, n);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t l = 0; l < s.size(); ++l)
      for (std::size_t i = 0; i < m; ++i) a(i, j) += u(i, l) * s[l] * v(j, l);
  return a;
}

/// Q diag(lambda) Q^T (n x n, symmetric).
inline HostMatrix<double> symmetric_with_spectrum(std::size_t n, const std::vector<double>& lambda,
                                                  std::uint64_t seed) {
  const auto q = random_orthonormal(n, lambda.size(), seed);
  HostMatrix<double> a("a", n, n);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t l = 0; l < lambda.size(); ++l)
      for (std::size_t i = 0; i < n; ++i) a(i, j) += q(i, l) * lambda[l] * q(j, l);
  return a;
}

template <class T>
Matrix<T> to_device_as(const HostMatrix<double>& a) {
  HostMatrix<T> cast("cast", a.extent(0), a.extent(1));
  for (std::size_t j = 0; j < a.extent(1); ++j)
    for (std::size_t i = 0; i < a.extent(0); ++i) cast(i, j) = static_cast<T>(a(i, j));
  Matrix<T> d("d", a.extent(0), a.extent(1));
  Kokkos::deep_copy(d, cast);
  return d;
}

template <class View>
HostMatrix<double> to_host_double(const View& a) {
  const auto h = to_host(a);
  HostMatrix<double> out("out", h.extent(0), h.extent(1));
  for (std::size_t j = 0; j < h.extent(1); ++j)
    for (std::size_t i = 0; i < h.extent(0); ++i) out(i, j) = static_cast<double>(h(i, j));
  return out;
}

/// ||A - U diag(s) V^T||_2 by LAPACK's SVD of the difference.
inline double spectral_error(const HostMatrix<double>& a, const HostMatrix<double>& u,
                             const std::vector<double>& s, const HostMatrix<double>& v) {
  HostMatrix<double> d("d", a.extent(0), a.extent(1));
  Kokkos::deep_copy(d, a);
  for (std::size_t j = 0; j < a.extent(1); ++j)
    for (std::size_t l = 0; l < s.size(); ++l)
      for (std::size_t i = 0; i < a.extent(0); ++i) d(i, j) -= u(i, l) * s[l] * v(j, l);
  return linalg::host::singular_values(d).front();
}

/// ||Q^T Q - I||_F.
inline double orthogonality_error(const HostMatrix<double>& q) {
  double sum = 0;
  for (std::size_t a = 0; a < q.extent(1); ++a)
    for (std::size_t b = 0; b < q.extent(1); ++b) {
      double dot = 0;
      for (std::size_t i = 0; i < q.extent(0); ++i) dot += q(i, a) * q(i, b);
      const double e = dot - (a == b ? 1.0 : 0.0);
      sum += e * e;
    }
  return std::sqrt(sum);
}

/// HMT Thm. 10.8 tail bound on ||(I - Q Q^T) A||_2 for Gaussian test matrices, evaluated on the
/// spectrum `s` (pass s^(2q+1) and take the 1/(2q+1) power for q power steps, HMT Cor. 10.10):
///   [1 + t sqrt(12 k / p)] s_{k+1} + t e sqrt(k + p) / (p + 1) (sum_{j>k} s_j^2)^(1/2)
///   + u t e sqrt(k + p) / (p + 1) s_{k+1},
/// failing with probability <= 2 t^-p + exp(-u^2 / 2). With t = u = 4 and p = 10 that is
/// 2 * 4^-10 + e^-8 < 4e-4.
inline double hmt_tail_bound(const std::vector<double>& s, std::size_t k, std::size_t p,
                             double t = 4, double u = 4) {
  const double e = std::exp(1.0);
  double tail = 0;
  for (std::size_t j = k; j < s.size(); ++j) tail += s[j] * s[j];
  const double next = k < s.size() ? s[k] : 0.0;
  const double kk = static_cast<double>(k), pp = static_cast<double>(p);
  return (1 + t * std::sqrt(12 * kk / pp)) * next +
         t * e * std::sqrt(kk + pp) / (pp + 1) * std::sqrt(tail) +
         u * t * e * std::sqrt(kk + pp) / (pp + 1) * next;
}

}  // namespace strata::testing
