// CUDA-only: the thin SVD of one column-major device matrix by cuSOLVER, on a given stream
// (small_svd.hpp).
#pragma once

#include <cuda_runtime_api.h>

namespace strata::linalg::detail {

/// Thin SVD of an m x n (m >= n) column-major device matrix A (overwritten) on `stream`:
/// s (n, device), U (m x n, ldu), V (n x n, ldv; V itself, not V^T). method 'j': gesvdj (Jacobi,
/// tolerance machine precision, at most 100 sweeps); 'p': Xgesvdp, whose perturbation of
/// rank-deficient inputs is returned in *err_sigma (0 for 'j'). Returns cuSOLVER's info (0:
/// success; > 0: not converged) after waiting for the stream. Uses the process's cuSOLVER handle
/// (cusolver_handle.hpp): one host thread at a time, as the Cholesky wrappers.
int thin_svd_cuda(cudaStream_t stream, char method, int m, int n, double* a, int lda, double* s,
                  double* u, int ldu, double* v, int ldv, double* err_sigma);
int thin_svd_cuda(cudaStream_t stream, char method, int m, int n, float* a, int lda, float* s,
                  float* u, int ldu, float* v, int ldv, double* err_sigma);

}  // namespace strata::linalg::detail
