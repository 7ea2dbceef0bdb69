// Which kernel family an execution space gets. Host spaces have a few threads with large caches
// and SIMD units: kernels whose tasks run sequential, contiguous inner loops (the compiler
// vectorizes them, the working set stays in L1/L2) beat the fine-grained one-thread-per-entry
// kernels written for GPUs, and the reverse holds on GPUs. The choice is made here, once, from
// the execution space's properties, and algorithms branch on it with `if constexpr`.
#pragma once

#include <Kokkos_Core.hpp>

// Full unrolling of a short constant-trip loop in GPU device code, so that arrays indexed by its
// counter stay in registers (nvcc and hipcc keep a dynamically indexed array in local memory).
// Host compilers get nothing (GCC would warn about an unknown pragma).
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
#define STRATA_SKETCH_UNROLL _Pragma("unroll")
#else
#define STRATA_SKETCH_UNROLL
#endif

namespace strata::sketch::detail {

template <class Exec>
struct KernelTraits {
  /// True for execution spaces that run on the host (Serial, OpenMP, Threads, HPX).
  static constexpr bool host_loops =
      Kokkos::SpaceAccessibility<Exec, Kokkos::HostSpace>::accessible;
};

}  // namespace strata::sketch::detail
