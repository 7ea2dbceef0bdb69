// Test matrices with known spectra for the Krylov solver tests (unit and MPI), built in double on
// the host with LAPACK and the same on every rank.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/dist/operations.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "support/allclose.hpp"

namespace strata::testing {

inline HostMatrix<double> host_gaussian(index_type rows, index_type cols, std::uint64_t seed) {
  Matrix<double> g("g", rows, cols);
  fill_random(ExecSpace(), RandomStream{Distribution::gaussian, seed, 0}, g);
  ExecSpace().fence();
  return to_host(g);
}

inline HostMatrix<double> orthogonal(index_type n, std::uint64_t seed) {
  auto q = host_gaussian(n, n, seed);
  linalg::host::qr_in_place(q);
  return q;
}

/// L diag(d) R.
inline HostMatrix<double> product(const HostMatrix<double>& l, const std::vector<double>& d,
                                  const HostMatrix<double>& r) {
  const auto n = static_cast<index_type>(d.size());
  HostMatrix<double> a("a", n, n);
  for (index_type k = 0; k < n; ++k)
    for (index_type j = 0; j < n; ++j)
      for (index_type i = 0; i < n; ++i) a(i, j) += l(i, k) * d[k] * r(k, j);
  return a;
}

inline HostMatrix<double> transposed(const HostMatrix<double>& a) {
  HostMatrix<double> t("t", a.extent(1), a.extent(0));
  for (std::size_t j = 0; j < a.extent(1); ++j)
    for (std::size_t i = 0; i < a.extent(0); ++i) t(j, i) = a(i, j);
  return t;
}

/// Nonsymmetric Q1 diag(s) Q2^T with singular values from 1 down to 1/kappa (log-spaced):
/// cond_2 = kappa.
inline HostMatrix<double> nonsymmetric(index_type n, double kappa, std::uint64_t seed) {
  std::vector<double> s(static_cast<std::size_t>(n));
  for (index_type i = 0; i < n; ++i)
    s[static_cast<std::size_t>(i)] = std::pow(kappa, -static_cast<double>(i) / (n - 1));
  return product(orthogonal(n, seed), s, transposed(orthogonal(n, seed + 1)));
}

/// Symmetric positive definite Q diag(lambda) Q^T, lambda evenly spaced in [1, kappa].
inline HostMatrix<double> spd(index_type n, double kappa, std::uint64_t seed) {
  std::vector<double> lambda(static_cast<std::size_t>(n));
  for (index_type i = 0; i < n; ++i)
    lambda[static_cast<std::size_t>(i)] = 1 + (kappa - 1) * static_cast<double>(i) / (n - 1);
  const auto q = orthogonal(n, seed);
  return product(q, lambda, transposed(q));
}

inline HostMatrix<double> inverse(const HostMatrix<double>& a) {
  HostMatrix<double> lu("lu", a.extent(0), a.extent(1));
  Kokkos::deep_copy(lu, a);
  HostMatrix<double> x("inverse", a.extent(0), a.extent(0));
  for (std::size_t i = 0; i < a.extent(0); ++i) x(i, i) = 1;
  linalg::host::solve_in_place(lu, x);
  return x;
}

/// A^{-1} B by LAPACK xGESV (the reference solution).
inline HostMatrix<double> lapack_solve(const HostMatrix<double>& a, const HostMatrix<double>& b) {
  HostMatrix<double> lu("lu", a.extent(0), a.extent(1));
  Kokkos::deep_copy(lu, a);
  HostMatrix<double> x("x", b.extent(0), b.extent(1));
  Kokkos::deep_copy(x, b);
  linalg::host::solve_in_place(lu, x);
  return x;
}

/// A host double matrix as a device matrix of T.
template <class T>
Matrix<T> to_device(const HostMatrix<double>& a) {
  HostMatrix<T> converted("converted", a.extent(0), a.extent(1));
  for (std::size_t j = 0; j < a.extent(1); ++j)
    for (std::size_t i = 0; i < a.extent(0); ++i) converted(i, j) = static_cast<T>(a(i, j));
  Matrix<T> d("device", a.extent(0), a.extent(1));
  Kokkos::deep_copy(d, converted);
  return d;
}

/// ||b_j - A x_j|| / ||b_j|| for column j, in long double from the values as stored.
template <class XView>
double relative_residual(const HostMatrix<double>& a, const HostMatrix<double>& b, const XView& x,
                         std::size_t j) {
  long double r2 = 0, b2 = 0;
  const std::size_t n = a.extent(0);
  for (std::size_t i = 0; i < n; ++i) {
    long double s = b(i, j);
    for (std::size_t k = 0; k < n; ++k)
      s -= static_cast<long double>(a(i, k)) * static_cast<long double>(x(k, j));
    r2 += s * s;
    b2 += static_cast<long double>(b(i, j)) * b(i, j);
  }
  return static_cast<double>(std::sqrt(r2 / b2));
}

/// ||x_j - y_j|| / ||y_j||.
template <class XView>
double relative_error(const XView& x, const HostMatrix<double>& y, std::size_t j) {
  double d2 = 0, y2 = 0;
  for (std::size_t i = 0; i < y.extent(0); ++i) {
    const double d = static_cast<double>(x(i, j)) - y(i, j);
    d2 += d * d;
    y2 += y(i, j) * y(i, j);
  }
  return std::sqrt(d2 / y2);
}

}  // namespace strata::testing
