// The Cholesky factor of a small symmetric positive definite matrix and the triangular solve with
// it, where the data live (host LAPACK/BLAS on host memory, cuSOLVER/cuBLAS on CUDA memory): the
// k x k steps of CholeskyQR, without staging the tall factor or R through host memory.
#pragma once

#include "strata/core/types.hpp"

namespace strata::linalg {

/// A = R^T R in place for a symmetric positive definite n x n A (upper triangle read): R
/// overwrites the upper triangle and the strictly lower one is set to zero. Returns false when A
/// is not numerically positive definite (xPOTRF info > 0; A is then unspecified). Host memory:
/// LAPACK xPOTRF; CUDA: cusolverDnXpotrf. Waits for the device (for the returned flag).
template <class T>
bool cholesky_upper(const ExecSpace& exec, const Matrix<T>& a);

/// X <- X R^-1 in place for an upper triangular n x n R with a nonzero diagonal and an m x n X
/// (BLAS xTRSM: right side, upper, no transpose, non-unit diagonal). Host memory: row blocks of X
/// in parallel over a threaded host backend's threads, one single-threaded xTRSM each (one
/// xTRSM with the BLAS's threads under Kokkos Serial); CUDA: cublasXtrsm. Throws ShapeMismatch on
/// inconsistent extents.
template <class T>
void solve_upper_right(const ExecSpace& exec, const ConstMatrix<T>& r, const Matrix<T>& x);

#define STRATA_CHOLESKY_DECLARE(T)                                                   \
  extern template bool cholesky_upper<T>(const ExecSpace&, const Matrix<T>&);        \
  extern template void solve_upper_right<T>(const ExecSpace&, const ConstMatrix<T>&, \
                                            const Matrix<T>&);
STRATA_CHOLESKY_DECLARE(float)
STRATA_CHOLESKY_DECLARE(double)
#undef STRATA_CHOLESKY_DECLARE

}  // namespace strata::linalg
