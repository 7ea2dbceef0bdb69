// Execution/memory space facts that changed spelling between Kokkos 3.4 and 4.x.
#pragma once

#include <string>
#include <type_traits>
#include <vector>

#include "strata/core/kokkos_ext/version.hpp"

namespace strata::kx {

/// True when memory of `MemorySpace` can be read directly by host code (and so by MPI without
/// staging).
template <class MemorySpace>
inline constexpr bool host_accessible =
    Kokkos::SpaceAccessibility<Kokkos::HostSpace, MemorySpace>::accessible;

/// Names of the Kokkos backends compiled in, in Kokkos' own spelling.
inline std::vector<std::string> enabled_backends() {
  std::vector<std::string> names;
#if defined(KOKKOS_ENABLE_SERIAL)
  names.emplace_back("Serial");
#endif
#if defined(KOKKOS_ENABLE_OPENMP)
  names.emplace_back("OpenMP");
#endif
#if defined(KOKKOS_ENABLE_THREADS)
  names.emplace_back("Threads");
#endif
#if defined(KOKKOS_ENABLE_CUDA)
  names.emplace_back("Cuda");
#endif
#if defined(KOKKOS_ENABLE_HIP)
  names.emplace_back("HIP");
#endif
#if defined(KOKKOS_ENABLE_SYCL)
  names.emplace_back("SYCL");
#endif
  return names;
}

/// Concurrency of an execution space instance (static in 3.x, member-only in 4.x: call on an
/// instance).
template <class ExecutionSpace>
int concurrency(const ExecutionSpace& exec) {
  return static_cast<int>(exec.concurrency());
}

}  // namespace strata::kx
