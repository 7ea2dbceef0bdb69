// Progress reporting on rank 0 and per-phase timers.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/types.hpp"

namespace strata {

/// Where progress goes (the CLI's --progress auto|always|never). Progress is written by rank 0 on
/// standard error, in one of two forms chosen by whether standard error is a terminal:
///   - a terminal: one line redrawn in place (at most ~10 times a second);
///   - a log (a file or a pipe, as in a batch job): whole lines, "strata progress: <phase>: ...",
///     one when a phase ends and, while a phase runs, at most one every 10 s.
enum class ProgressMode {
  /// The terminal line on a terminal. In a log, only long runs write lines: a phase's lines appear
  /// once the process has run for 10 s, so short commands leave a log untouched.
  automatic,
  /// As automatic, but a log gets the line of every phase, however short the run.
  always,
  /// Nothing.
  never,
};

void set_progress_mode(ProgressMode mode);
ProgressMode progress_mode();
/// Shorthands: set_progress_enabled(false) is ProgressMode::never, true is ProgressMode::automatic.
void set_progress_enabled(bool enabled);
bool progress_enabled();

/// The progress of one phase of work (iterations, levels, steps), reported by rank 0 as described
/// at ProgressMode. The cost of advance() when silent is a comparison.
class Progress {
 public:
  /// `rank` is the caller's rank in the communicator the work is collective over.
  Progress(std::string label, index_type total, int rank);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(index_type steps = 1);
  /// Ends the phase (its last line); called by the destructor if not before.
  void finish();
  bool active() const { return style_ != Style::silent; }

 private:
  enum class Style { silent, terminal, log };
  void draw_terminal(bool final_line);
  void write_log_line(bool final_line);

  std::string label_;
  index_type total_;
  index_type done_ = 0;
  Style style_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_line_;
  int uncaught_exceptions_;  ///< at construction: more at finish() means an exception unwinds
};

namespace detail {
/// Seconds between two log lines of one phase, and the run time after which ProgressMode::automatic
/// writes to a log.
inline constexpr double progress_log_interval_seconds = 10.0;
/// The clock progress reads (steady_clock::now when null); for tests. Setting it also restarts the
/// run, whose start is otherwise the first use of progress in the process.
using ProgressClock = std::chrono::steady_clock::time_point (*)();
void set_progress_clock(ProgressClock clock);
}  // namespace detail

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
