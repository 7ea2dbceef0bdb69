// CUDA-only: the Cholesky factor (cuSOLVER) and the triangular solve (cuBLAS) of cholesky.hpp, on
// a given stream.
#pragma once

#include <cuda_runtime_api.h>

namespace strata::linalg::detail {

/// Column-major A = R^T R in place (upper triangle; cusolverDnXpotrf, CUBLAS_FILL_MODE_UPPER) on
/// `stream`; returns LAPACK's info (0: success, > 0: the leading minor of that order is not
/// positive definite), after waiting for the stream.
int potrf_upper_cuda(cudaStream_t stream, int n, double* a, int lda);
int potrf_upper_cuda(cudaStream_t stream, int n, float* a, int lda);

/// Column-major B <- B R^-1 in place for an upper triangular n x n R and an m x n B (cublasXtrsm,
/// right side, upper, no transpose, non-unit diagonal) on `stream`.
void trsm_upper_right_cuda(cudaStream_t stream, int m, int n, const double* r, int ldr, double* b,
                           int ldb);
void trsm_upper_right_cuda(cudaStream_t stream, int m, int n, const float* r, int ldr, float* b,
                           int ldb);

}  // namespace strata::linalg::detail
