#include "strata/core/progress.hpp"

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
      style_(rank != 0 || g_mode == ProgressMode::never ? Style::silent
             : isatty(STDERR_FILENO) == 1               ? Style::terminal
                                                        : Style::log),
      start_(now()),
      last_line_(start_),
      uncaught_exceptions_(std::uncaught_exceptions()) {
  run_start();
}

Progress::~Progress() {
  finish();
}

void Progress::advance(index_type steps) {
  done_ += steps;
  if (style_ == Style::silent) return;
  const auto t = now();
  if (style_ == Style::terminal) {
    if (t - last_line_ > std::chrono::milliseconds(100)) {
      last_line_ = t;
      draw_terminal(false);
    }
    return;
  }
  // A log: at most one line per interval, and in automatic mode only once the run is long.
  const double interval = detail::progress_log_interval_seconds;
  if (seconds(t - last_line_) < interval) return;
  if (g_mode == ProgressMode::automatic && seconds(t - run_start()) < interval) return;
  last_line_ = t;
  write_log_line(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (style_ == Style::terminal) {
    draw_terminal(true);
  } else if (style_ == Style::log) {
    if (g_mode == ProgressMode::always ||
        seconds(now() - run_start()) >= detail::progress_log_interval_seconds) {
      write_log_line(true);
    }
  }
}

void Progress::draw_terminal(bool final_line) {
  const double elapsed = seconds(now() - start_);
  const double fraction =
      total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  std::fprintf(stderr, "\r%s: %lld/%lld (%3.0f%%) %.1fs%s", label_.c_str(),
               static_cast<long long>(done_), static_cast<long long>(total_), 100.0 * fraction,
               elapsed, final_line ? "\n" : "");
  std::fflush(stderr);
}

void Progress::write_log_line(bool final_line) {
  const double elapsed = seconds(now() - start_);
  const auto done = static_cast<long long>(done_), total = static_cast<long long>(total_);
  if (final_line) {
    // Destroyed by an exception: the phase stopped, it did not finish.
    const char* what = std::uncaught_exceptions() > uncaught_exceptions_ ? "stopped" : "done";
    std::fprintf(stderr, "strata progress: %s: %s at %lld/%lld after %.1f s\n", label_.c_str(),
                 what, done, total, elapsed);
  } else {
    const double percent = total > 0 ? 100.0 * static_cast<double>(done) / total : 100.0;
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
