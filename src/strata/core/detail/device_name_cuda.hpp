// CUDA-only: the name of the GPU the default Kokkos instance runs on.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

namespace strata::detail {

inline std::string device_name_cuda() {
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return "CUDA device (unknown)";
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) return "CUDA device (unknown)";
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) +
         std::to_string(prop.minor) + ", device " + std::to_string(device) + ")";
}

}  // namespace strata::detail
