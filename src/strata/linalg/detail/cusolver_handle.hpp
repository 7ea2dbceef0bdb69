// CUDA-only: the process's cuSOLVER dense handle (created on first use, destroyed before Kokkos
// and CUDA shut down) and the status checks shared by the cuSOLVER wrappers of linalg/detail
// (defined in cholesky_cuda.cpp).
#pragma once

#include <cuda_runtime_api.h>
#include <cusolverDn.h>

namespace strata::linalg::detail {

cusolverDnHandle_t cusolver_handle();

/// Throws InternalError naming `what` unless `status` is success.
void check_cusolver(cusolverStatus_t status, const char* what);
void check_cuda(cudaError_t status, const char* what);

/// The info word a cuSOLVER routine left at `device_info`, once `stream` has reached it.
int read_device_info(cudaStream_t stream, const int* device_info);

}  // namespace strata::linalg::detail
