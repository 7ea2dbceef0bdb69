// CUDA-only: the process's cuSOLVER dense handle (created on first use, destroyed before Kokkos
// and CUDA shut down), shared by the cuSOLVER wrappers of linalg/detail.
#pragma once

#include <cusolverDn.h>

namespace strata::linalg::detail {

cusolverDnHandle_t cusolver_handle();

}  // namespace strata::linalg::detail
