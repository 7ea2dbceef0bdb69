// Level sweeps of the HSS matvec and ULV solve over a complete binary tree, by whole subtrees on
// host backends.
//
// A sweep runs a per-node step on every node of levels hi..lo (upward: children before parents)
// or lo..hi (downward: parents before children); the nodes of one level are independent. On a GPU
// each level is one kernel with a team per node (what the per-level routes of matvec.cpp and
// ulv.cpp launch). On a host backend that costs one parallel region per level, and the levels
// near the root have fewer nodes than the pool has threads: with k = 1 vector (the power and
// inverse iterations of the ULV solve's conditioning check) the per-level fork and join and the
// idle threads of the upper levels dominated, and the solve ran only 2.3x faster on 16 threads
// than on 1 (issue 15). The host sweep instead cuts the tree at the split level s
// (host_split_level): one kernel whose teams each sweep one subtree rooted at level s through all
// its levels, and one single-team kernel for the levels above s (2^s - 1 nodes with the smallest
// blocks). Every node runs the same step with the same operands in both routes, so their results
// agree bit for bit (test_hss_core, test_hss_ulv check it).
#pragma once

#include <Kokkos_Core.hpp>
#include <string>

#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/core/kokkos_ext/spaces.hpp"
#include "strata/core/types.hpp"

namespace strata::hss::detail {

/// Which route a tree sweep takes: automatic (the host sweep on host backends, per level on
/// GPUs) or per_level (one kernel per level everywhere; for tests comparing the two).
/// host_split_at_leaves: on host backends the host sweep with its split forced to the deepest level
/// (every level above it in the single-team top kernel), so that tests on one or two threads, whose
/// automatic split is level 1, also run the top kernel; GPUs run per level.
enum class TreeSweep { automatic, per_level, host_split_at_leaves };

/// The split level of the host sweep for a tree whose swept levels are lo..hi on `threads`
/// threads: the smallest s >= lo with at least `threads` subtrees (2^s >= threads), one level more
/// when `threads` is not a power of two (then 2^s / threads lies in (2, 4): more than 2 subtrees
/// per thread, which keeps the imbalance of the last round below 1/2), and never deeper than hi
/// (the subtrees are then single nodes).
inline int host_split_level(int lo, int hi, int threads) {
  int s = 0;
  while ((index_type(1) << s) < threads) ++s;
  if ((index_type(1) << s) != threads) ++s;
  if (s < lo) s = lo;
  return s < hi ? s : hi;
}

/// The host sweep above on `exec` (a host space): step(team, l, i) for node i of level l, levels
/// hi..lo when `upward`, lo..hi otherwise (1 <= lo <= hi). Teams meet at a barrier after each
/// level, so a step may read what the steps of the level before it wrote.
/// split_at_leaves forces the split to hi (TreeSweep::host_split_at_leaves).
template <class Exec, class Step>
void host_tree_sweep(const Exec& exec, const char* label, int lo, int hi, bool upward,
                     const Step& step, bool split_at_leaves = false) {
  static_assert(kx::runs_on_host<Exec>, "host_tree_sweep runs host lambdas");
  using Member = typename Kokkos::TeamPolicy<Exec>::member_type;
  const int s = split_at_leaves ? hi : host_split_level(lo, hi, kx::concurrency(exec));
  const auto subtrees = [&](const std::string& what) {
    Kokkos::parallel_for(what, kx::auto_team_policy(exec, static_cast<int>(index_type(1) << s)),
                         [&](const Member& team) {
                           const index_type q = team.league_rank();
                           for (int k = 0; k <= hi - s; ++k) {
                             const int l = upward ? hi - k : s + k;
                             const index_type width = index_type(1) << (l - s);
                             for (index_type i = q * width; i < (q + 1) * width; ++i)
                               step(team, l, i);
                             team.team_barrier();
                           }
                         });
  };
  const auto top = [&](const std::string& what) {
    if (s == lo) return;
    Kokkos::parallel_for(what, kx::auto_team_policy(exec, 1), [&](const Member& team) {
      for (int k = 0; k < s - lo; ++k) {
        const int l = upward ? s - 1 - k : lo + k;
        for (index_type i = 0; i < (index_type(1) << l); ++i) step(team, l, i);
        team.team_barrier();
      }
    });
  };
  const std::string subtree_label = std::string(label) + "_subtrees",
                    top_label = std::string(label) + "_top";
  if (upward) {
    subtrees(subtree_label);
    top(top_label);
  } else {
    top(top_label);
    subtrees(subtree_label);
  }
  // The lambdas above refer to this frame: wait for them on a host backend that dispatches
  // asynchronously (Serial and OpenMP return when the work is done).
  kx::fence(exec, "strata::hss::host_tree_sweep");
}

}  // namespace strata::hss::detail
