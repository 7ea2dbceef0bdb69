// Host-only code inside functions that are also compiled for GPUs (KOKKOS_INLINE_FUNCTION): a host
// fast path of a team kernel, such as a call into the host BLAS, must not reach the device
// compilation pass, where calling a host function is an error.
//
// STRATA_KX_IF_ON_HOST((statements)) compiles `statements` (in parentheses) in host compilation
// passes only; in a device pass (CUDA, HIP, SYCL) it is an empty block. Kokkos >= 3.6 spells this
// KOKKOS_IF_ON_HOST; Kokkos 3.4/3.5 have only the KOKKOS_ACTIVE_EXECUTION_MEMORY_SPACE_HOST macro,
// defined in host passes.
//
// host_team_member<Member>: true when `Member` is the team handle of a host execution space
// (Serial, OpenMP, Threads, HPX). Test it with `if constexpr` around STRATA_KX_IF_ON_HOST, so that
// the host pass of a GPU kernel (whose member is a device team's) does not instantiate the host
// path either.
#pragma once

#include <Kokkos_Core.hpp>

#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/core/kokkos_ext/version.hpp"

#define STRATA_KX_IMPL_UNPAREN(...) __VA_ARGS__

#if defined(KOKKOS_IF_ON_HOST)
#define STRATA_KX_IF_ON_HOST(CODE) KOKKOS_IF_ON_HOST(CODE)
#elif defined(KOKKOS_ACTIVE_EXECUTION_MEMORY_SPACE_HOST)
#define STRATA_KX_IF_ON_HOST(CODE) \
  { STRATA_KX_IMPL_UNPAREN CODE }
#else
#define STRATA_KX_IF_ON_HOST(CODE) \
  {}
#endif

namespace strata::kx {

template <class Member>
inline constexpr bool host_team_member = runs_on_host<typename Member::execution_space>;

}  // namespace strata::kx
