// Host LAPACK for the banded test problems (schur-grid, banded-inverse), in double: band Cholesky
// (xPBTRF/xPBTRS), band LU with partial pivoting (xGBTRF/xGBTRS) and a dense solve (xGESV) for
// references. Host-only; not on any device path.
#pragma once

#include <vector>

#include "strata/core/types.hpp"

namespace strata::hss::detail {

/// Cholesky factor of a symmetric positive definite band matrix of order n with kd sub-diagonals
/// (LAPACK dpbtrf, lower storage: ab(kd + d, j) = A(j + d, j) for d = 0..kd, ab has kd + 1 rows).
/// O(n kd^2) to factor, O(n kd k) to solve with k right-hand sides.
class BandCholesky {
 public:
  BandCholesky() = default;
  /// `lower_band` is (kd + 1) x n as above; it is overwritten by the factor (kept inside).
  /// Throws NumericalError if the matrix is not positive definite.
  BandCholesky(HostMatrix<double> lower_band);
  index_type order() const { return static_cast<index_type>(ab_.extent(1)); }
  /// B <- A^{-1} B for B (n x k).
  void solve(const HostMatrix<double>& b) const;

 private:
  HostMatrix<double> ab_;
};

/// LU factorization with partial pivoting of a general band matrix of order n with kl sub- and ku
/// super-diagonals (LAPACK dgbtrf). O(n kl (kl + ku)) to factor, O(n (2 kl + ku) k) to solve.
class BandLU {
 public:
  BandLU() = default;
  /// `band(ku + i - j, j) = A(i, j)` for max(0, j - ku) <= i <= min(n - 1, j + kl), band being
  /// (kl + ku + 1) x n (LAPACK's general band storage without the fill rows; copied inside).
  /// Throws NumericalError if A is singular.
  BandLU(const HostMatrix<double>& band, int kl, int ku);
  index_type order() const { return static_cast<index_type>(ab_.extent(1)); }
  /// B <- A^{-1} B (transpose false) or A^{-T} B (transpose true), B n x k.
  void solve(const HostMatrix<double>& b, bool transpose) const;

 private:
  HostMatrix<double> ab_;
  std::vector<int> pivots_;
  int kl_ = 0, ku_ = 0;
};

/// B <- A^{-1} B for a dense square A (LAPACK dgesv; A is copied). Throws NumericalError if A is
/// singular. For references in tests.
void dense_solve(const HostMatrix<double>& a, const HostMatrix<double>& b);

}  // namespace strata::hss::detail
