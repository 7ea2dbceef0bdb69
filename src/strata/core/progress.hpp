// Progress reporting on rank 0 and per-phase timers.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/types.hpp"

namespace strata {

/// Shorthands of set_progress_mode (progress_mode.hpp): false is never, true is automatic.
void set_progress_enabled(bool enabled);
bool progress_enabled();

/// The progress of one phase of work, on standard error by rank 0: a line redrawn in place on a
/// terminal, whole lines in a log; when, and how often, is set by ProgressMode (progress_mode.hpp).
/// The cost of advance() when silent is a comparison.
class Progress {
 public:
  /// `rank` is the caller's rank in the communicator the work is collective over.
  Progress(std::string label, index_type total, int rank);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(index_type steps = 1);
  void finish();
  bool active() const { return active_; }

 private:
  void draw(bool final_line);

  std::string label_;
  index_type total_;
  index_type done_ = 0;
  bool active_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

/// Wall-clock seconds per named phase, accumulated. Each phase is also a Kokkos profiling region,
/// and the device is fenced at its end so that the time covers the phase's asynchronous work.
class PhaseTimer {
 public:
  class Scope {
   public:
    Scope(PhaseTimer& owner, std::string name);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    PhaseTimer& owner_;
    std::string name_;
    std::chrono::steady_clock::time_point start_;
    kx::ScopedRegion region_;
  };

  /// Times the enclosing C++ scope as phase `name`.
  Scope scope(const std::string& name) { return Scope(*this, name); }
  void add(const std::string& name, double seconds);

  /// Phases in the order they were first entered.
  const std::vector<std::pair<std::string, double>>& phases() const { return phases_; }
  double total() const;

 private:
  std::vector<std::pair<std::string, double>> phases_;
};

}  // namespace strata
