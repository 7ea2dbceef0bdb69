#include "strata/linalg/detail/batched_gemm_cuda.hpp"
#include "strata/linalg/detail/cholesky_cuda.hpp"

#include <cublas_v2.h>

#include <Kokkos_Core.hpp>
#include <mutex>

#include "strata/core/error.hpp"

namespace strata::linalg::detail {

namespace {
// One handle per process, created on first use and destroyed before Kokkos (and CUDA) shut down.
cublasHandle_t handle() {
  static cublasHandle_t h = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS)
      STRATA_THROW(InternalError, "cublasCreate failed");
    Kokkos::push_finalize_hook([] {
      cublasDestroy(h);
      h = nullptr;
    });
  });
  return h;
}

cublasOperation_t op(char t) {
  return (t == 'T' || t == 't') ? CUBLAS_OP_T : CUBLAS_OP_N;
}

void check(cublasStatus_t status) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    STRATA_THROW(InternalError, "cuBLAS call failed (status ", static_cast<int>(status), ")");
  }
}
}  // namespace

void gemm_strided_batched_cuda(cudaStream_t stream, char trans_a, char trans_b, int m, int n, int k,
                               double alpha, const double* a, int lda, long long stride_a,
                               const double* b, int ldb, long long stride_b, double beta, double* c,
                               int ldc, long long stride_c, int batch) {
  cublasHandle_t h = handle();
  check(cublasSetStream(h, stream));
  check(cublasDgemmStridedBatched(h, op(trans_a), op(trans_b), m, n, k, &alpha, a, lda, stride_a, b,
                                  ldb, stride_b, &beta, c, ldc, stride_c, batch));
}

void gemm_strided_batched_cuda(cudaStream_t stream, char trans_a, char trans_b, int m, int n, int k,
                               float alpha, const float* a, int lda, long long stride_a,
                               const float* b, int ldb, long long stride_b, float beta, float* c,
                               int ldc, long long stride_c, int batch) {
  cublasHandle_t h = handle();
  check(cublasSetStream(h, stream));
  check(cublasSgemmStridedBatched(h, op(trans_a), op(trans_b), m, n, k, &alpha, a, lda, stride_a, b,
                                  ldb, stride_b, &beta, c, ldc, stride_c, batch));
}

void gemm_bf16_cuda(cudaStream_t stream, char trans_a, char trans_b, int m, int n, int k,
                    float alpha, const void* a, int lda, const void* b, int ldb, float beta,
                    void* c, int ldc) {
  cublasHandle_t h = handle();
  check(cublasSetStream(h, stream));
  check(cublasGemmEx(h, op(trans_a), op(trans_b), m, n, k, &alpha, a, CUDA_R_16BF, lda, b,
                     CUDA_R_16BF, ldb, &beta, c, CUDA_R_16BF, ldc, CUBLAS_COMPUTE_32F,
                     CUBLAS_GEMM_DEFAULT));
}

void gemm_strided_batched_bf16_cuda(cudaStream_t stream, char trans_a, char trans_b, int m, int n,
                                    int k, float alpha, const void* a, int lda, long long stride_a,
                                    const void* b, int ldb, long long stride_b, float beta, void* c,
                                    int ldc, long long stride_c, int batch) {
  cublasHandle_t h = handle();
  check(cublasSetStream(h, stream));
  check(cublasGemmStridedBatchedEx(h, op(trans_a), op(trans_b), m, n, k, &alpha, a, CUDA_R_16BF,
                                   lda, stride_a, b, CUDA_R_16BF, ldb, stride_b, &beta, c,
                                   CUDA_R_16BF, ldc, stride_c, batch, CUBLAS_COMPUTE_32F,
                                   CUBLAS_GEMM_DEFAULT));
}

void syrk_cuda(cudaStream_t stream, char trans, int n, int k, double alpha, const double* a,
               int lda, double beta, double* c, int ldc) {
  cublasHandle_t h = handle();
  check(cublasSetStream(h, stream));
  check(cublasDsyrk(h, CUBLAS_FILL_MODE_LOWER, op(trans), n, k, &alpha, a, lda, &beta, c, ldc));
}

void syrk_cuda(cudaStream_t stream, char trans, int n, int k, float alpha, const float* a, int lda,
               float beta, float* c, int ldc) {
  cublasHandle_t h = handle();
  check(cublasSetStream(h, stream));
  check(cublasSsyrk(h, CUBLAS_FILL_MODE_LOWER, op(trans), n, k, &alpha, a, lda, &beta, c, ldc));
}

void trsm_upper_right_cuda(cudaStream_t stream, int m, int n, const double* r, int ldr, double* b,
                           int ldb) {
  cublasHandle_t h = handle();
  check(cublasSetStream(h, stream));
  const double one = 1;
  check(cublasDtrsm(h, CUBLAS_SIDE_RIGHT, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, CUBLAS_DIAG_NON_UNIT,
                    m, n, &one, r, ldr, b, ldb));
}

void trsm_upper_right_cuda(cudaStream_t stream, int m, int n, const float* r, int ldr, float* b,
                           int ldb) {
  cublasHandle_t h = handle();
  check(cublasSetStream(h, stream));
  const float one = 1;
  check(cublasStrsm(h, CUBLAS_SIDE_RIGHT, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, CUBLAS_DIAG_NON_UNIT,
                    m, n, &one, r, ldr, b, ldb));
}

}  // namespace strata::linalg::detail
