// Command-line plumbing shared by the `strata` subcommands.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "strata/dist/comm.hpp"

namespace strata::cli {

/// Exit statuses of every subcommand (README.md, "Exit status"):
///   0 done, and the requested accuracy (where one was requested or implied) was met;
///   1 bad data or a runtime failure (unreadable file, singular matrix, ...): nothing was produced;
///   2 bad command line (unknown or repeated option, bad value, conflicting options);
///   3 finished and wrote its output, but the requested accuracy was not met (a warning on stderr
///     says by how much; --json has "status": "inaccurate").
enum ExitStatus : int { exit_ok = 0, exit_failure = 1, exit_usage = 2, exit_inaccurate = 3 };

/// Bad command-line input: reported as one line, exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The tokens after the subcommand name. Options are consumed as they are looked up; finish()
/// rejects whatever is left, so a mistyped option is an error, never silently ignored. An option
/// given twice is an error too (never "the last one wins").
class Args {
 public:
  explicit Args(std::vector<std::string> tokens);
  bool flag(const std::string& name);
  std::optional<std::string> value(const std::string& name);
  std::int64_t integer(const std::string& name, std::int64_t fallback, std::int64_t min_value,
                       std::int64_t max_value);
  /// A finite real number in [min_value, max_value] (both ends included), or `fallback` if absent.
  double real(const std::string& name, double fallback,
              double min_value = -std::numeric_limits<double>::max(),
              double max_value = std::numeric_limits<double>::max());
  std::uint64_t unsigned_integer(const std::string& name, std::uint64_t fallback);
  /// The first token if it is not an option (a sub-operation such as `schedule`), consumed.
  std::optional<std::string> positional();
  /// Whether an unconsumed option `name` is present (does not consume it).
  bool has(const std::string& name) const;
  void finish() const;

 private:
  std::vector<std::string> tokens_;
  std::vector<bool> used_;
};

/// What every subcommand receives.
struct Context {
  Comm comm;
  bool json = false;
  bool quiet = false;
  /// The full subcommand ("sketch trace", "polar sign"), for error messages; dispatchers extend it.
  std::string command;
  /// Rank 0 prints; the others stay silent.
  void print(const std::string& text) const;
  /// The accuracy-not-met outcome: one "strata <command>: warning: <message>" line on stderr
  /// (rank 0); returns exit_inaccurate for the caller to return.
  int inaccurate(const std::string& message) const;
  /// A warning that does not change the outcome: the same line on stderr (rank 0).
  void warn(const std::string& message) const;
};

/// Refuses (UsageError naming `option`) an allocation of `bytes` that cannot fit: more than the
/// memory this process can get (MemAvailable of /proc/meminfo, else physical memory). Call it with
/// a lower bound on what the options make this rank allocate, before allocating.
void require_memory(double bytes, const std::string& option);

struct Command {
  const char* name;
  const char* summary;
  const char* usage;  ///< full --help text
  int (*run)(Args& args, Context& context);
};

/// Full --help texts of the commands whose usage lives beside their implementation.
extern const char* const sketch_usage;  // command_sketch.cpp
extern const char* const hss_usage;     // command_hss.cpp

int run_info(Args& args, Context& context);
int run_demo(Args& args, Context& context);
int run_polar(Args& args, Context& context);
int run_sketch(Args& args, Context& context);
int run_hss(Args& args, Context& context);

// `strata sketch <operation>`: one function per operation (command_sketch.cpp dispatches).
int run_sketch_apply(Args& args, Context& context);  // sketch_apply.cpp
int run_sketch_rsvd(Args& args, Context& context);   // sketch_rsvd.cpp
int run_sketch_lstsq(Args& args, Context& context);  // sketch_rsvd.cpp
int run_sketch_trace(Args& args, Context& context);  // sketch_trace.cpp
int run_sketch_diag(Args& args, Context& context);   // sketch_trace.cpp

}  // namespace strata::cli
