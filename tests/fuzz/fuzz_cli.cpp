// Fuzz target: the command-line tool's option handling (apps/strata: Args and every subcommand's
// options), without the work the commands do.
//
// Input: tokens separated by '\n', as they would follow `strata` on the command line (the first
// one names the command). The harness does what main() does with them (the command table, --help,
// --json, --quiet) and calls the subcommand.
//
// The seam: every subcommand reads all of its options and then calls Args::finish() before it
// opens a file or starts computing. This target is linked with -Wl,--wrap=<Args::finish> (see
// CMakeLists.txt), so the commands call the wrapper below: it runs the real finish() (which
// rejects leftover tokens) and then stops the command with OptionsAccepted. Checks a command makes
// after finish() (between options, or on the input files) are therefore not reached here.
//
// A UsageError or strata::Error is a correct rejection; a crash, a sanitizer report, a hang (the
// options are never used to do work here) or an exception of another type is a defect (reported
// with its type and message, then abort()).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cli.hpp"
#include "fuzz_support.hpp"
#include "strata/core/error.hpp"

namespace {

struct OptionsAccepted {};

using Run = int (*)(strata::cli::Args&, strata::cli::Context&);

struct Entry {
  const char* name;
  Run run;
};

// The table of apps/strata/main.cpp.
const Entry commands[] = {
    {"info", strata::cli::run_info},   {"demo", strata::cli::run_demo},
    {"polar", strata::cli::run_polar}, {"sketch", strata::cli::run_sketch},
    {"hss", strata::cli::run_hss},
};

}  // namespace

// Args::finish() const, as the commands call it (Itanium ABI: `this` is the first argument).
extern "C" void __real__ZNK6strata3cli4Args6finishEv(const strata::cli::Args* self);
extern "C" void __wrap__ZNK6strata3cli4Args6finishEv(const strata::cli::Args* self) {
  __real__ZNK6strata3cli4Args6finishEv(self);
  throw OptionsAccepted{};
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  strata::fuzz::initialize_runtime();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> tokens(1);
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') {
      tokens.emplace_back();
    } else {
      tokens.back().push_back(static_cast<char>(data[i]));
    }
  }
  Run run = nullptr;
  for (const auto& c : commands) {
    if (tokens[0] == c.name) run = c.run;
  }
  if (!run) return 0;  // main() answers an unknown command itself
  strata::cli::Args args(std::vector<std::string>(tokens.begin() + 1, tokens.end()));
  strata::cli::Context context{strata::fuzz::world(), false, true};
  try {
    const bool has_operation = tokens.size() > 1 && tokens[1].rfind("-", 0) != 0;
    if (!has_operation && (args.flag("--help") || args.flag("-h"))) return 0;
    context.json = args.flag("--json");
    context.quiet = args.flag("--quiet");
    run(args, context);
  } catch (const OptionsAccepted&) {
  } catch (const strata::cli::UsageError&) {
  } catch (const strata::Error&) {
  } catch (const std::exception& e) {
    strata::fuzz::foreign_exception("fuzz_cli", e);
  }
  return 0;
}
