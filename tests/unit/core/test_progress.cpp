#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "strata/core/progress.hpp"
#include "strata/core/progress_mode.hpp"

namespace {

// The progress clock, moved by hand: the 10 s rules are checked without waiting.
std::chrono::steady_clock::time_point fake_now;
std::chrono::steady_clock::time_point fake_clock() {
  return fake_now;
}
void advance_clock(double seconds) {
  fake_now += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds));
}

/// Lines written on standard error by `work` (captured, so standard error is not a terminal: the
/// log form), with the clock starting a new run at 0.
template <class Work>
std::vector<std::string> log_lines(strata::ProgressMode mode, Work work) {
  fake_now = std::chrono::steady_clock::time_point{};
  strata::detail::set_progress_clock(fake_clock);
  strata::set_progress_mode(mode);
  testing::internal::CaptureStderr();
  work();
  const std::string text = testing::internal::GetCapturedStderr();
  strata::set_progress_mode(strata::ProgressMode::automatic);
  strata::detail::set_progress_clock(nullptr);
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(Progress, NeverAndOtherRanksAreSilent) {
  const auto lines = log_lines(strata::ProgressMode::always, [] {
    strata::Progress elsewhere("work", 10, 3);
    EXPECT_FALSE(elsewhere.active());
    elsewhere.advance(10);
  });
  EXPECT_TRUE(lines.empty());
  const auto none = log_lines(strata::ProgressMode::never, [] {
    strata::Progress on_root("work", 10, 0);
    EXPECT_FALSE(on_root.active());
    advance_clock(60);
    on_root.advance(10);
  });
  EXPECT_TRUE(none.empty());
  strata::set_progress_enabled(false);
  EXPECT_EQ(strata::progress_mode(), strata::ProgressMode::never);
  EXPECT_FALSE(strata::progress_enabled());
  strata::set_progress_enabled(true);
  EXPECT_EQ(strata::progress_mode(), strata::ProgressMode::automatic);
}

TEST(Progress, AlwaysWritesOneLinePerPhaseAndAtMostOneEvery10Seconds) {
  const auto lines = log_lines(strata::ProgressMode::always, [] {
    {
      strata::Progress quick("quick phase", 3, 0);
      EXPECT_TRUE(quick.active());
      quick.advance(3);
    }
    strata::Progress slow("slow phase", 25, 0);
    for (int step = 0; step < 25; ++step) {  // one step a second: lines after 10 s and 20 s
      advance_clock(1.0);
      slow.advance();
    }
    slow.finish();
    slow.finish();  // idempotent
  });
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "strata progress: quick phase: done at 3/3 after 0.0 s");
  EXPECT_EQ(lines[1], "strata progress: slow phase: 10/25 (40%) after 10.0 s");
  EXPECT_EQ(lines[2], "strata progress: slow phase: 20/25 (80%) after 20.0 s");
  EXPECT_EQ(lines[3], "strata progress: slow phase: done at 25/25 after 25.0 s");
}

TEST(Progress, AutomaticWritesToALogOnlyOnceTheRunIsLong) {
  const auto short_run = log_lines(strata::ProgressMode::automatic, [] {
    strata::Progress phase("phase", 4, 0);
    for (int step = 0; step < 4; ++step) {
      advance_clock(2.0);
      phase.advance();
    }
  });
  EXPECT_TRUE(short_run.empty()) << short_run.front();

  const auto long_run = log_lines(strata::ProgressMode::automatic, [] {
    {
      strata::Progress first("first", 2, 0);  // ends at 6 s: the run is still short
      advance_clock(6.0);
      first.advance(2);
    }
    strata::Progress second("second", 30, 0);  // starts at 6 s
    for (int step = 0; step < 30; ++step) {
      advance_clock(1.0);
      second.advance();
    }
  });
  ASSERT_EQ(long_run.size(), 4u);
  EXPECT_EQ(long_run[0], "strata progress: second: 10/30 (33%) after 10.0 s");
  EXPECT_EQ(long_run[1], "strata progress: second: 20/30 (67%) after 20.0 s");
  EXPECT_EQ(long_run[2], "strata progress: second: 30/30 (100%) after 30.0 s");
  EXPECT_EQ(long_run[3], "strata progress: second: done at 30/30 after 30.0 s");
}

TEST(Progress, APhaseEndedByAnExceptionSaysStopped) {
  const auto lines = log_lines(strata::ProgressMode::always, [] {
    try {
      strata::Progress phase("phase", 10, 0);
      phase.advance(4);
      throw std::runtime_error("failed");
    } catch (const std::runtime_error&) {
    }
  });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "strata progress: phase: stopped at 4/10 after 0.0 s");
}

TEST(PhaseTimer, AccumulatesPerPhaseInFirstSeenOrder) {
  strata::PhaseTimer timer;
  {
    auto scope = timer.scope("sketch");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  {
    auto scope = timer.scope("solve");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  {
    auto scope = timer.scope("sketch");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(timer.phases().size(), 2u);
  EXPECT_EQ(timer.phases()[0].first, "sketch");
  EXPECT_EQ(timer.phases()[1].first, "solve");
  EXPECT_GE(timer.phases()[0].second, 0.040);
  EXPECT_GE(timer.phases()[1].second, 0.005);
  EXPECT_DOUBLE_EQ(timer.total(), timer.phases()[0].second + timer.phases()[1].second);
}

}  // namespace
