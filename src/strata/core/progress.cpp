#include "strata/core/progress.hpp"

#include "strata/core/progress_mode.hpp"

#include <unistd.h>

#include <atomic>
#include <exception>
#include <mutex>

namespace strata {

namespace {

std::atomic<ProgressMode> g_mode{ProgressMode::automatic};
std::atomic<detail::ProgressClock> g_clock{nullptr};

std::chrono::steady_clock::time_point now() {
  const auto clock = g_clock.load();
  return clock ? clock() : std::chrono::steady_clock::now();
}

/// The start of the run: the first use of progress in this process (or the last clock change).
std::mutex g_run_mutex;
bool g_run_started = false;
std::chrono::steady_clock::time_point g_run_start;

std::chrono::steady_clock::time_point run_start() {
  const std::lock_guard<std::mutex> lock(g_run_mutex);
  if (!g_run_started) {
    g_run_start = now();
    g_run_started = true;
  }
  return g_run_start;
}

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

void set_progress_mode(ProgressMode mode) {
  run_start();
  g_mode = mode;
}
ProgressMode progress_mode() {
  return g_mode;
}
void set_progress_enabled(bool enabled) {
  set_progress_mode(enabled ? ProgressMode::automatic : ProgressMode::never);
}
bool progress_enabled() {
  return g_mode != ProgressMode::never;
}

namespace detail {
void set_progress_clock(ProgressClock clock) {
  g_clock = clock;
  const std::lock_guard<std::mutex> lock(g_run_mutex);
  g_run_started = false;
}
}  // namespace detail

Progress::Progress(std::string label, index_type total, int rank)
    : label_(std::move(label)),
      total_(total),
      active_(rank == 0 && g_mode != ProgressMode::never),
      start_(now()),
      last_draw_(start_) {
  run_start();
}

Progress::~Progress() {
  finish();
}

namespace {
bool stderr_is_terminal() {
  return isatty(STDERR_FILENO) == 1;
}
}  // namespace

void Progress::advance(index_type steps) {
  done_ += steps;
  if (!active_) return;
  const auto t = now();
  if (stderr_is_terminal()) {
    if (t - last_draw_ > std::chrono::milliseconds(100)) {
      last_draw_ = t;
      draw(false);
    }
    return;
  }
  // A log: at most one line per interval, and in automatic mode only once the run is long.
  const double interval = detail::progress_log_interval_seconds;
  if (seconds(t - last_draw_) < interval) return;
  if (g_mode == ProgressMode::automatic && seconds(t - run_start()) < interval) return;
  last_draw_ = t;
  draw(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (!active_) return;
  if (stderr_is_terminal() || g_mode == ProgressMode::always ||
      seconds(now() - run_start()) >= detail::progress_log_interval_seconds) {
    draw(true);
  }
}

void Progress::draw(bool final_line) {
  const double elapsed = seconds(now() - start_);
  const auto done = static_cast<long long>(done_), total = static_cast<long long>(total_);
  const double percent =
      total > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0;
  if (stderr_is_terminal()) {
    std::fprintf(stderr, "\r%s: %lld/%lld (%3.0f%%) %.1fs%s", label_.c_str(), done, total, percent,
                 elapsed, final_line ? "\n" : "");
  } else if (final_line) {
    // Destroyed while an exception unwinds: the phase stopped, it did not finish.
    const char* what = std::uncaught_exceptions() > 0 ? "stopped" : "done";
    std::fprintf(stderr, "strata progress: %s: %s at %lld/%lld after %.1f s\n", label_.c_str(),
                 what, done, total, elapsed);
  } else {
    std::fprintf(stderr, "strata progress: %s: %lld/%lld (%.0f%%) after %.1f s\n", label_.c_str(),
                 done, total, percent, elapsed);
  }
  std::fflush(stderr);
}

PhaseTimer::Scope::Scope(PhaseTimer& owner, std::string name)
    : owner_(owner),
      name_(std::move(name)),
      start_(std::chrono::steady_clock::now()),
      region_("strata::" + name_) {}

PhaseTimer::Scope::~Scope() {
  kx::fence("strata::PhaseTimer::" + name_);
  owner_.add(name_,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
}

void PhaseTimer::add(const std::string& name, double seconds) {
  for (auto& [phase, total] : phases_) {
    if (phase == name) {
      total += seconds;
      return;
    }
  }
  phases_.emplace_back(name, seconds);
}

double PhaseTimer::total() const {
  double sum = 0;
  for (const auto& phase : phases_) sum += phase.second;
  return sum;
}

}  // namespace strata
