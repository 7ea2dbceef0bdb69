// Symmetric rank-k products (BLAS xSYRK): Gram matrices A^T A and squares of symmetric matrices
// at half the multiply-adds of a GEMM, with the result's other triangle filled in.
#pragma once

#include "strata/core/types.hpp"

namespace strata::linalg {

/// C = alpha A^T A + beta C (trans 'T', A k x n) or C = alpha A A^T + beta C (trans 'N', A n x k)
/// for an n x n C whose input is symmetric when beta != 0 (beta = 0: C is not read). On return C
/// holds the whole symmetric result, both triangles equal. The lower triangle is computed by the
/// backend's SYRK (host BLAS xSYRK under Kokkos Serial, cuBLAS xSYRK on CUDA; for tall-skinny A,
/// k >= 8 n, cuBLAS GEMM, which is faster there despite twice the flops) and copied to the upper
/// one; on a threaded host backend (OpenMP, Threads) by the split host GEMM of blas.hpp,
/// which spreads over Kokkos' threads where a single-threaded SYRK could not, and then made exactly
/// symmetric by the same copy. Throws ShapeMismatch on inconsistent extents.
template <class T>
void syrk(const ExecSpace& exec, char trans, T alpha, const ConstMatrix<T>& a, T beta,
          const Matrix<T>& c);

#define STRATA_SYRK_DECLARE(T)                                                      \
  extern template void syrk<T>(const ExecSpace&, char, T, const ConstMatrix<T>&, T, \
                               const Matrix<T>&);
STRATA_SYRK_DECLARE(float)
STRATA_SYRK_DECLARE(double)
#undef STRATA_SYRK_DECLARE

}  // namespace strata::linalg
