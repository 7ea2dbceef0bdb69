// Team shapes per backend, chosen in one place from the hardware rather than per kernel.
//
// GPU backends: a team is a thread block; a kernel asks for the block size its tiles want (e.g.
// 128 rows, 256 threads), clamped to what the kernel's registers and scratch allow.
// Host backends (Serial, OpenMP, Threads, HPX): a team is a group of host threads that meet at
// every team_barrier, and ThreadVectorRange is a plain loop the compiler vectorizes. A team as wide
// as the thread pool (what `min(wanted, team_size_max)` gives on OpenMP) runs the whole league one
// team at a time with the pool synchronising at every barrier. Host teams are therefore one thread
// each, so the league spreads over the cores and the team-wide loops run sequentially (and
// vectorized) inside one core's cache; only a league with fewer teams than threads gets wider
// teams, just enough to occupy the pool.
#pragma once

#include <Kokkos_Core.hpp>
#include <cstddef>
#include <type_traits>

namespace strata::kx {

/// True for execution spaces whose teams run on host threads (Serial, OpenMP, Threads, HPX).
template <class ExecutionSpace>
inline constexpr bool runs_on_host =
    Kokkos::SpaceAccessibility<ExecutionSpace, Kokkos::HostSpace>::accessible;

/// True for host backends with a thread pool of their own (OpenMP, Threads, HPX): there Kokkos
/// owns the cores, and libraries with their own threads (a threaded BLAS) must not add a second
/// pool (linalg/detail/host_gemm.hpp).
template <class ExecutionSpace>
inline constexpr bool threaded_host =
#if defined(KOKKOS_ENABLE_SERIAL)
    runs_on_host<ExecutionSpace> && !std::is_same_v<ExecutionSpace, Kokkos::Serial>;
#else
    runs_on_host<ExecutionSpace>;
#endif

/// The team size of a TeamPolicy kernel `functor` launched as `probe` (league size and scratch
/// already set) on `exec`, whose teams want `wanted` threads on a GPU. GPU: min(wanted, largest
/// team the kernel can launch with). Host: 1, or ceil(concurrency / league) when the league has
/// fewer teams than the space has threads (never above `wanted` or the largest team).
template <class ExecutionSpace, class Policy, class Functor>
int team_size(const ExecutionSpace& exec, const Policy& probe, const Functor& functor, int wanted) {
  const int largest = probe.team_size_max(functor, Kokkos::ParallelForTag());
  int size = wanted;
  if constexpr (runs_on_host<ExecutionSpace>) {
    const int threads = static_cast<int>(exec.concurrency());
    const int league = probe.league_size();
    size = league >= threads || league <= 0 ? 1 : (threads + league - 1) / league;
    size = size < wanted ? size : wanted;
  }
  size = size < largest ? size : largest;
  return size < 1 ? 1 : size;
}

/// A TeamPolicy for `functor` over `league` teams on `exec` with `scratch_per_team` bytes of
/// level-0 scratch, its team size chosen by team_size above.
template <class ExecutionSpace, class Functor>
Kokkos::TeamPolicy<ExecutionSpace> team_policy(const ExecutionSpace& exec, int league, int wanted,
                                               std::size_t scratch_per_team,
                                               const Functor& functor) {
  Kokkos::TeamPolicy<ExecutionSpace> probe(exec, league, 1);
  if (scratch_per_team > 0) probe.set_scratch_size(0, Kokkos::PerTeam(scratch_per_team));
  Kokkos::TeamPolicy<ExecutionSpace> policy(exec, league, team_size(exec, probe, functor, wanted));
  if (scratch_per_team > 0) policy.set_scratch_size(0, Kokkos::PerTeam(scratch_per_team));
  return policy;
}

}  // namespace strata::kx
