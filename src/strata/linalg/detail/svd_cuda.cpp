#include "strata/linalg/detail/svd_cuda.hpp"

#include <cusolverDn.h>

#include <Kokkos_Core.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/linalg/detail/cusolver_handle.hpp"

namespace strata::linalg::detail {

namespace {

template <class T>
using DeviceArray = Kokkos::View<T*, Kokkos::CudaSpace>;

template <class T>
DeviceArray<T> scratch(std::size_t n, const char* label) {
  // Not initialized: the solver writes before it reads.
  return DeviceArray<T>(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)),
                        n > 0 ? n : 1);
}

/// RAII for gesvdj's parameter object.
struct GesvdjInfo {
  gesvdjInfo_t p = nullptr;
  GesvdjInfo() {
    check_cusolver(cusolverDnCreateGesvdjInfo(&p), "cusolverDnCreateGesvdjInfo");
    // Defaults made explicit: tolerance = machine precision of the data type (0 selects it),
    // at most 100 sweeps, singular values sorted descending.
    check_cusolver(cusolverDnXgesvdjSetTolerance(p, 0.0), "cusolverDnXgesvdjSetTolerance");
    check_cusolver(cusolverDnXgesvdjSetMaxSweeps(p, 100), "cusolverDnXgesvdjSetMaxSweeps");
    check_cusolver(cusolverDnXgesvdjSetSortEig(p, 1), "cusolverDnXgesvdjSetSortEig");
  }
  ~GesvdjInfo() { cusolverDnDestroyGesvdjInfo(p); }
  GesvdjInfo(const GesvdjInfo&) = delete;
  GesvdjInfo& operator=(const GesvdjInfo&) = delete;
};

struct DnParams {
  cusolverDnParams_t p = nullptr;
  DnParams() { check_cusolver(cusolverDnCreateParams(&p), "cusolverDnCreateParams"); }
  ~DnParams() { cusolverDnDestroyParams(p); }
  DnParams(const DnParams&) = delete;
  DnParams& operator=(const DnParams&) = delete;
};

template <class T>
int gesvdj(cudaStream_t stream, int m, int n, T* a, int lda, T* s, T* u, int ldu, T* v, int ldv) {
  cusolverDnHandle_t h = cusolver_handle();
  check_cusolver(cusolverDnSetStream(h, stream), "cusolverDnSetStream");
  GesvdjInfo params;
  const auto jobz = CUSOLVER_EIG_MODE_VECTOR;
  int lwork = 0;
  if constexpr (std::is_same_v<T, double>) {
    check_cusolver(
        cusolverDnDgesvdj_bufferSize(h, jobz, 1, m, n, a, lda, s, u, ldu, v, ldv, &lwork, params.p),
        "cusolverDnDgesvdj_bufferSize");
  } else {
    check_cusolver(
        cusolverDnSgesvdj_bufferSize(h, jobz, 1, m, n, a, lda, s, u, ldu, v, ldv, &lwork, params.p),
        "cusolverDnSgesvdj_bufferSize");
  }
  auto work = scratch<T>(static_cast<std::size_t>(lwork), "strata::linalg::gesvdj::work");
  auto info = scratch<int>(1, "strata::linalg::gesvdj::info");
  if constexpr (std::is_same_v<T, double>) {
    check_cusolver(cusolverDnDgesvdj(h, jobz, 1, m, n, a, lda, s, u, ldu, v, ldv, work.data(),
                                     lwork, info.data(), params.p),
                   "cusolverDnDgesvdj");
  } else {
    check_cusolver(cusolverDnSgesvdj(h, jobz, 1, m, n, a, lda, s, u, ldu, v, ldv, work.data(),
                                     lwork, info.data(), params.p),
                   "cusolverDnSgesvdj");
  }
  return read_device_info(stream, info.data());
}

template <class T>
int gesvdp(cudaStream_t stream, int m, int n, T* a, int lda, T* s, T* u, int ldu, T* v, int ldv,
           double* err_sigma) {
  cusolverDnHandle_t h = cusolver_handle();
  check_cusolver(cusolverDnSetStream(h, stream), "cusolverDnSetStream");
  DnParams params;
  const cudaDataType type = std::is_same_v<T, double> ? CUDA_R_64F : CUDA_R_32F;
  std::size_t device_bytes = 0, host_bytes = 0;
  check_cusolver(cusolverDnXgesvdp_bufferSize(h, params.p, CUSOLVER_EIG_MODE_VECTOR, 1, m, n, type,
                                              a, lda, type, s, type, u, ldu, type, v, ldv, type,
                                              &device_bytes, &host_bytes),
                 "cusolverDnXgesvdp_bufferSize");
  auto device_work = scratch<char>(device_bytes, "strata::linalg::gesvdp::work");
  std::vector<double> host_work(host_bytes / sizeof(double) + 1);  // 8-byte aligned
  auto info = scratch<int>(1, "strata::linalg::gesvdp::info");
  double err = 0;
  check_cusolver(cusolverDnXgesvdp(h, params.p, CUSOLVER_EIG_MODE_VECTOR, 1, m, n, type, a, lda,
                                   type, s, type, u, ldu, type, v, ldv, type, device_work.data(),
                                   device_bytes, host_work.data(), host_bytes, info.data(), &err),
                 "cusolverDnXgesvdp");
  const int result = read_device_info(stream, info.data());
  *err_sigma = err;
  return result;
}

template <class T>
int thin_svd(cudaStream_t stream, char method, int m, int n, T* a, int lda, T* s, T* u, int ldu,
             T* v, int ldv, double* err_sigma) {
  *err_sigma = 0;
  if (method == 'p') return gesvdp(stream, m, n, a, lda, s, u, ldu, v, ldv, err_sigma);
  return gesvdj(stream, m, n, a, lda, s, u, ldu, v, ldv);
}

}  // namespace

int thin_svd_cuda(cudaStream_t stream, char method, int m, int n, double* a, int lda, double* s,
                  double* u, int ldu, double* v, int ldv, double* err_sigma) {
  return thin_svd(stream, method, m, n, a, lda, s, u, ldu, v, ldv, err_sigma);
}

int thin_svd_cuda(cudaStream_t stream, char method, int m, int n, float* a, int lda, float* s,
                  float* u, int ldu, float* v, int ldv, double* err_sigma) {
  return thin_svd(stream, method, m, n, a, lda, s, u, ldu, v, ldv, err_sigma);
}

}  // namespace strata::linalg::detail
