// When progress (strata::Progress, progress.hpp) is written, and the clock it reads.
#pragma once

#include <chrono>

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

/// The mode for the whole process (default: automatic).
void set_progress_mode(ProgressMode mode);
ProgressMode progress_mode();

namespace detail {
/// Seconds between two log lines of one phase, and the run time after which ProgressMode::automatic
/// writes to a log.
inline constexpr double progress_log_interval_seconds = 10.0;
/// The clock progress reads (steady_clock::now when null); for tests. Setting it also restarts the
/// run, whose start is otherwise the first use of progress in the process.
using ProgressClock = std::chrono::steady_clock::time_point (*)();
void set_progress_clock(ProgressClock clock);
}  // namespace detail

}  // namespace strata
