// CUDA-only: strided batched GEMM, bf16 GEMM and the symmetric rank-k product through cuBLAS on a
// given stream.
#pragma once

#include <cuda_runtime_api.h>

namespace strata::linalg::detail {

/// Column-major C_i = alpha op(A_i) op(B_i) + beta C_i, i < batch, on `stream`.
void gemm_strided_batched_cuda(cudaStream_t stream, char trans_a, char trans_b, int m, int n, int k,
                               double alpha, const double* a, int lda, long long stride_a,
                               const double* b, int ldb, long long stride_b, double beta, double* c,
                               int ldc, long long stride_c, int batch);
void gemm_strided_batched_cuda(cudaStream_t stream, char trans_a, char trans_b, int m, int n, int k,
                               float alpha, const float* a, int lda, long long stride_a,
                               const float* b, int ldb, long long stride_b, float beta, float* c,
                               int ldc, long long stride_c, int batch);

/// Column-major C = alpha op(A) op(B) + beta C with bf16 A, B, C and fp32 accumulation
/// (cublasGemmEx, CUBLAS_COMPUTE_32F) on `stream`. Pointers are to 16-bit bfloat16 storage.
void gemm_bf16_cuda(cudaStream_t stream, char trans_a, char trans_b, int m, int n, int k,
                    float alpha, const void* a, int lda, const void* b, int ldb, float beta,
                    void* c, int ldc);

/// Column-major C_i = alpha op(A_i) op(B_i) + beta C_i, i < batch, with bf16 A, B, C and fp32
/// accumulation (cublasGemmStridedBatchedEx, CUBLAS_COMPUTE_32F) on `stream`. Pointers are to
/// 16-bit bfloat16 storage; strides are in elements.
void gemm_strided_batched_bf16_cuda(cudaStream_t stream, char trans_a, char trans_b, int m, int n,
                                    int k, float alpha, const void* a, int lda, long long stride_a,
                                    const void* b, int ldb, long long stride_b, float beta, void* c,
                                    int ldc, long long stride_c, int batch);

/// Column-major lower triangle of C = alpha A^T A + beta C (trans 'T', A k x n) or C = alpha A A^T
/// + beta C (trans 'N', A n x k), C n x n; only the lower triangle of C is read and written
/// (cublasDsyrk / cublasSsyrk, CUBLAS_FILL_MODE_LOWER).
void syrk_cuda(cudaStream_t stream, char trans, int n, int k, double alpha, const double* a,
               int lda, double beta, double* c, int ldc);
void syrk_cuda(cudaStream_t stream, char trans, int n, int k, float alpha, const float* a, int lda,
               float beta, float* c, int ldc);

}  // namespace strata::linalg::detail
