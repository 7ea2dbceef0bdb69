#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "strata/core/progress.hpp"

namespace {

TEST(Progress, SilentOffRankZeroWhenDisabledOrNotATerminal) {
  // ctest captures standard error, so it is not a terminal: no progress output at all.
  strata::Progress on_root("work", 10, 0);
  EXPECT_FALSE(on_root.active());
  strata::Progress elsewhere("work", 10, 3);
  EXPECT_FALSE(elsewhere.active());
  strata::set_progress_enabled(false);
  EXPECT_FALSE(strata::progress_enabled());
  strata::Progress disabled("work", 10, 0);
  EXPECT_FALSE(disabled.active());
  strata::set_progress_enabled(true);
  on_root.advance(4);
  on_root.finish();
  on_root.finish();  // idempotent
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
