// The launch-policy helper of core/kokkos_ext/launch.hpp: host backends get one-thread teams
// while the league has a team per thread, wider ones only to occupy the pool; GPU backends get
// the kernel's wanted team size clamped to the largest launchable one.
#include <gtest/gtest.h>

#include <algorithm>

#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/core/types.hpp"

namespace {

struct TeamBody {
  KOKKOS_INLINE_FUNCTION void operator()(
      const Kokkos::TeamPolicy<strata::ExecSpace>::member_type&) const {}
};

/// Counts how often each team of the league runs (once per team: Kokkos::single per team).
struct CountTeams {
  Kokkos::View<int*, strata::MemSpace> hits;
  KOKKOS_INLINE_FUNCTION void operator()(
      const Kokkos::TeamPolicy<strata::ExecSpace>::member_type& team) const {
    Kokkos::single(Kokkos::PerTeam(team), [&]() { hits(team.league_rank()) += 1; });
  }
};

TEST(LaunchPolicy, TeamSizesFollowTheBackend) {
  const strata::ExecSpace exec;
  const TeamBody body;
  const int threads = static_cast<int>(exec.concurrency());
  const int largest = Kokkos::TeamPolicy<strata::ExecSpace>(exec, 1, 1)
                          .team_size_max(body, Kokkos::ParallelForTag());
  for (const int league : {1, 3, threads, 4 * threads + 1}) {
    for (const int wanted : {1, 8, 256}) {
      const auto policy = strata::kx::team_policy(exec, league, wanted, 0, body);
      const int size = policy.team_size();
      EXPECT_GE(size, 1);
      EXPECT_LE(size, std::min(wanted, largest));
      if constexpr (strata::kx::runs_on_host<strata::ExecSpace>) {
        // One-thread teams once every thread has a team; else just enough to fill the pool.
        const int fill = (threads + league - 1) / league;
        EXPECT_EQ(size, std::min({league >= threads ? 1 : fill, wanted, largest}))
            << "league " << league << ", wanted " << wanted << ", " << threads << " threads";
      } else {
        EXPECT_EQ(size, std::min(wanted, largest));
      }
      // The policy runs: every team of the league executes once.
      Kokkos::View<int*, strata::MemSpace> hits("hits", static_cast<std::size_t>(league));
      Kokkos::parallel_for("strata::test::launch", policy, CountTeams{hits});
      auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), hits);
      for (int t = 0; t < league; ++t) EXPECT_EQ(h(t), 1) << "team " << t;
    }
  }
}

}  // namespace
