// The launch-policy helper of core/kokkos_ext/launch.hpp: host backends get one-thread teams
// while the league has a team per thread, wider ones only to occupy the pool; GPU backends get
// the kernel's wanted team size clamped to the largest launchable one. With the testing knob
// STRATA_HOST_TEAM_SIZE set (the *_wide_teams runs of the suite), threaded host backends get that
// team size instead, in team_policy and in auto_team_policy.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

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
      if (const int forced = strata::kx::forced_team_size(exec); forced > 0) {
        EXPECT_EQ(size, std::min(forced, wanted));
      } else if constexpr (strata::kx::runs_on_host<strata::ExecSpace>) {
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

TEST(LaunchPolicy, AutoTeamPolicyRunsEveryTeamOnce) {
  const strata::ExecSpace exec;
  const int threads = static_cast<int>(exec.concurrency());
  const int forced = strata::kx::forced_team_size(exec);
  const int largest = Kokkos::TeamPolicy<strata::ExecSpace>(exec, 1, 1)
                          .team_size_max(TeamBody{}, Kokkos::ParallelForTag());
  if (!strata::kx::threaded_host<strata::ExecSpace>) {
    EXPECT_EQ(forced, 0);  // Serial, GPU: ignored
  } else if (const char* knob = std::getenv("STRATA_HOST_TEAM_SIZE"); knob && *knob) {
    // The *_wide_teams runs: the knob is in effect, or they would test one-thread teams again.
    EXPECT_EQ(forced, std::min(strata::kx::detail::parse_host_team_size(knob), largest))
        << "STRATA_HOST_TEAM_SIZE=" << knob;
  }
  for (const int league : {1, 3, 4 * threads + 1}) {
    const auto policy = strata::kx::auto_team_policy(exec, league);
    if (forced > 0) {
      // The knob's value, clamped to the largest host team (the pool).
      EXPECT_EQ(policy.team_size(), forced);
      EXPECT_LE(forced, largest);
    }
    Kokkos::View<int*, strata::MemSpace> hits("hits", static_cast<std::size_t>(league));
    Kokkos::parallel_for("strata::test::launch_auto", policy, CountTeams{hits});
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), hits);
    for (int t = 0; t < league; ++t) EXPECT_EQ(h(t), 1) << "team " << t;
  }
}

TEST(LaunchPolicy, HostTeamSizeKnobParsing) {
  using strata::kx::detail::parse_host_team_size;
  EXPECT_EQ(parse_host_team_size(nullptr), 0);  // unset: nothing forced
  EXPECT_EQ(parse_host_team_size(""), 0);
  EXPECT_EQ(parse_host_team_size("1"), 1);
  EXPECT_EQ(parse_host_team_size("16"), 16);
  EXPECT_EQ(parse_host_team_size("1024"), 1024);
  // A typo must not silently fall back to one-thread teams.
  for (const char* bad : {"0", "-4", "abc", "4x", "1025", "99999999999999999999"})
    EXPECT_THROW(parse_host_team_size(bad), std::invalid_argument) << bad;
}

}  // namespace
