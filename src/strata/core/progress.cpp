#include "strata/core/progress.hpp"

#include <unistd.h>

#include <atomic>

namespace strata {

namespace {
std::atomic<bool> g_progress_enabled{true};
}

void set_progress_enabled(bool enabled) {
  g_progress_enabled = enabled;
}
bool progress_enabled() {
  return g_progress_enabled;
}

Progress::Progress(std::string label, index_type total, int rank)
    : label_(std::move(label)),
      total_(total),
      active_(rank == 0 && g_progress_enabled && isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
  finish();
}

void Progress::advance(index_type steps) {
  done_ += steps;
  if (!active_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ > std::chrono::milliseconds(100)) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (active_) draw(true);
}

void Progress::draw(bool final_line) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double fraction =
      total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  std::fprintf(stderr, "\r%s: %lld/%lld (%3.0f%%) %.1fs%s", label_.c_str(),
               static_cast<long long>(done_), static_cast<long long>(total_), 100.0 * fraction,
               elapsed, final_line ? "\n" : "");
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
