#include "strata/linalg/detail/cholesky_cuda.hpp"

#include <cusolverDn.h>

#include <Kokkos_Core.hpp>
#include <mutex>

#include "strata/core/error.hpp"
#include "strata/linalg/detail/cusolver_handle.hpp"

namespace strata::linalg::detail {

// One handle per process, created on first use and destroyed before Kokkos (and CUDA) shut down.
cusolverDnHandle_t cusolver_handle() {
  static cusolverDnHandle_t h = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    if (cusolverDnCreate(&h) != CUSOLVER_STATUS_SUCCESS)
      STRATA_THROW(InternalError, "cusolverDnCreate failed");
    Kokkos::push_finalize_hook([] {
      cusolverDnDestroy(h);
      h = nullptr;
    });
  });
  return h;
}

void check_cusolver(cusolverStatus_t status, const char* what) {
  if (status != CUSOLVER_STATUS_SUCCESS) {
    STRATA_THROW(InternalError, "cuSOLVER ", what, " failed (status ", static_cast<int>(status),
                 ")");
  }
}

void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    STRATA_THROW(InternalError, "CUDA ", what, " failed: ", cudaGetErrorString(status));
  }
}

int read_device_info(cudaStream_t stream, const int* device_info) {
  int info = 0;
  check_cuda(cudaMemcpyAsync(&info, device_info, sizeof(int), cudaMemcpyDeviceToHost, stream),
             "cudaMemcpyAsync of a cuSOLVER info word");
  check_cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize after a cuSOLVER call");
  return info;
}

int potrf_upper_cuda(cudaStream_t stream, int n, double* a, int lda) {
  cusolverDnHandle_t h = cusolver_handle();
  check_cusolver(cusolverDnSetStream(h, stream), "cusolverDnSetStream");
  int lwork = 0;
  check_cusolver(cusolverDnDpotrf_bufferSize(h, CUBLAS_FILL_MODE_UPPER, n, a, lda, &lwork),
                 "cusolverDnDpotrf_bufferSize");
  // Not initialized: no kernel on another stream before the factorization.
  Kokkos::View<double*, Kokkos::CudaSpace> work(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::linalg::potrf::work"),
      static_cast<std::size_t>(lwork > 0 ? lwork : 1));
  Kokkos::View<int, Kokkos::CudaSpace> info(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::linalg::potrf::info"));
  check_cusolver(
      cusolverDnDpotrf(h, CUBLAS_FILL_MODE_UPPER, n, a, lda, work.data(), lwork, info.data()),
      "cusolverDnDpotrf");
  return read_device_info(stream, info.data());
}

int potrf_upper_cuda(cudaStream_t stream, int n, float* a, int lda) {
  cusolverDnHandle_t h = cusolver_handle();
  check_cusolver(cusolverDnSetStream(h, stream), "cusolverDnSetStream");
  int lwork = 0;
  check_cusolver(cusolverDnSpotrf_bufferSize(h, CUBLAS_FILL_MODE_UPPER, n, a, lda, &lwork),
                 "cusolverDnSpotrf_bufferSize");
  Kokkos::View<float*, Kokkos::CudaSpace> work(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::linalg::potrf::work"),
      static_cast<std::size_t>(lwork > 0 ? lwork : 1));
  Kokkos::View<int, Kokkos::CudaSpace> info(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::linalg::potrf::info"));
  check_cusolver(
      cusolverDnSpotrf(h, CUBLAS_FILL_MODE_UPPER, n, a, lda, work.data(), lwork, info.data()),
      "cusolverDnSpotrf");
  return read_device_info(stream, info.data());
}

}  // namespace strata::linalg::detail
