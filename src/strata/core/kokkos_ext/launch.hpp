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
//
// Testing knob STRATA_HOST_TEAM_SIZE: one-thread host teams hide team races (a missing
// team_barrier, a reduction into team scratch, two threads picking a pivot), because no two host
// threads ever share a team. Setting STRATA_HOST_TEAM_SIZE=N (a positive integer, read once per
// process) makes every team kernel on a threaded host backend (OpenMP, Threads, HPX) run with
// min(N, team_size_max) threads per team: the policies of team_policy/team_size below and the
// Kokkos::AUTO ones of auto_team_policy. Serial (one thread) and GPU backends ignore it; unset, no
// team size changes. It is for race testing (tests/CMakeLists.txt registers the *_wide_teams runs),
// not for speed: wide host teams are slower, see above.
#pragma once

#include <Kokkos_Core.hpp>
#include <cstddef>
#include <cstdlib>
#include <stdexcept>
#include <string>
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

namespace detail {

/// The value of STRATA_HOST_TEAM_SIZE: 0 when unset or empty, else a positive integer (at most
/// 1024, more than any host team); anything else is an error, so a typo cannot silently turn the
/// race test back into a one-thread-team run.
inline int parse_host_team_size(const char* text) {
  if (text == nullptr || *text == '\0') return 0;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value < 1 || value > 1024)
    throw std::invalid_argument("STRATA_HOST_TEAM_SIZE must be an integer in [1, 1024], not '" +
                                std::string(text) + "'");
  return static_cast<int>(value);
}

/// STRATA_HOST_TEAM_SIZE, read once per process.
inline int host_team_size_knob() {
  static const int size = parse_host_team_size(std::getenv("STRATA_HOST_TEAM_SIZE"));
  return size;
}

template <class ExecutionSpace>
struct NoTeamBody {
  KOKKOS_INLINE_FUNCTION void operator()(
      const typename Kokkos::TeamPolicy<ExecutionSpace>::member_type&) const {}
};

}  // namespace detail

/// The team size STRATA_HOST_TEAM_SIZE forces on `exec` (clamped to the largest team the space
/// launches; host team limits do not depend on the kernel), or 0 where nothing is forced: the
/// variable is unset, or the space is Serial or a GPU.
template <class ExecutionSpace>
int forced_team_size(const ExecutionSpace& exec) {
  if constexpr (threaded_host<ExecutionSpace>) {
    const int forced = detail::host_team_size_knob();
    if (forced == 0) return 0;
    const int largest =
        Kokkos::TeamPolicy<ExecutionSpace>(exec, 1, 1)
            .team_size_max(detail::NoTeamBody<ExecutionSpace>{}, Kokkos::ParallelForTag());
    return forced < largest ? forced : (largest < 1 ? 1 : largest);
  } else {
    (void)exec;
    return 0;
  }
}

/// A TeamPolicy over `league` teams with Kokkos::AUTO team size, or the size STRATA_HOST_TEAM_SIZE
/// forces (forced_team_size). Every AUTO team kernel of the library launches through this.
template <class ExecutionSpace>
Kokkos::TeamPolicy<ExecutionSpace> auto_team_policy(const ExecutionSpace& exec, int league) {
  const int forced = forced_team_size(exec);
  if (forced > 0) return Kokkos::TeamPolicy<ExecutionSpace>(exec, league, forced);
  return Kokkos::TeamPolicy<ExecutionSpace>(exec, league, Kokkos::AUTO);
}

/// auto_team_policy with `vector_length` vector lanes per team thread on GPU backends (each thread
/// of the team then runs ThreadVectorRange / TeamVectorRange loops over that many lanes); host
/// backends get one lane, where vector loops are plain loops.
template <class ExecutionSpace>
Kokkos::TeamPolicy<ExecutionSpace> auto_team_policy(const ExecutionSpace& exec, int league,
                                                    int vector_length) {
  if constexpr (runs_on_host<ExecutionSpace>) {
    (void)vector_length;
    return auto_team_policy(exec, league);
  } else {
    return Kokkos::TeamPolicy<ExecutionSpace>(exec, league, Kokkos::AUTO, vector_length);
  }
}

/// The team size of a TeamPolicy kernel `functor` launched as `probe` (league size and scratch
/// already set) on `exec`, whose teams want `wanted` threads on a GPU. GPU: min(wanted, largest
/// team the kernel can launch with). Host: 1, or ceil(concurrency / league) when the league has
/// fewer teams than the space has threads (never above `wanted` or the largest team).
/// STRATA_HOST_TEAM_SIZE overrides the host choice (forced_team_size, never above `wanted`).
template <class ExecutionSpace, class Policy, class Functor>
int team_size(const ExecutionSpace& exec, const Policy& probe, const Functor& functor, int wanted) {
  if (const int forced = forced_team_size(exec); forced > 0)
    return forced < wanted ? forced : (wanted < 1 ? 1 : wanted);
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
