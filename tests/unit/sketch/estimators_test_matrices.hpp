// Test matrices with known spectra for the estimator tests (host double, then device T).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "support/allclose.hpp"

namespace strata::testing {

/// V diag(lambda) V^T with V the orthonormal factor of a Gaussian n x n matrix (LAPACK QR).
inline HostMatrix<double> symmetric_with_spectrum(const std::vector<double>& lambda,
                                                  std::uint64_t seed, std::size_t rank = 0) {
  const std::size_t n = lambda.size();
  const std::size_t r = rank == 0 ? n : rank;
  Matrix<double> g("g", n, r);
  fill_random(ExecSpace(), RandomStream{Distribution::gaussian, seed, 99}, g);
  auto v = to_host(g);
  linalg::host::qr_in_place(v);
  HostMatrix<double> a("a", n, n);
  for (std::size_t l = 0; l < r; ++l)
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < n; ++i) a(i, j) += v(i, l) * lambda[l] * v(j, l);
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

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

}  // namespace strata::testing
