// Labelled fences and profiling regions. Labels reach Kokkos tools on >= 3.5; on 3.4 they are
// dropped.
#pragma once

#include <string>

#include "strata/core/kokkos_ext/version.hpp"

namespace strata::kx {

template <class ExecutionSpace>
void fence(const ExecutionSpace& exec, const std::string& label) {
#if KOKKOS_VERSION >= 30499
  exec.fence(label);
#else
  (void)label;
  exec.fence();
#endif
}

inline void fence(const std::string& label) {
#if KOKKOS_VERSION >= 30499
  Kokkos::fence(label);
#else
  (void)label;
  Kokkos::fence();
#endif
}

/// RAII Kokkos profiling region (Kokkos::Profiling::ScopedRegion exists only from 4.1).
class ScopedRegion {
 public:
  explicit ScopedRegion(const std::string& name) { Kokkos::Profiling::pushRegion(name); }
  ~ScopedRegion() { Kokkos::Profiling::popRegion(); }
  ScopedRegion(const ScopedRegion&) = delete;
  ScopedRegion& operator=(const ScopedRegion&) = delete;
};

}  // namespace strata::kx
