// The `strata` command-line tool.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "cli.hpp"
#include "json.hpp"
#include "strata/config.hpp"
#include "strata/core/error.hpp"
#include "strata/core/progress_mode.hpp"
#include "strata/core/runtime.hpp"

namespace {

using strata::cli::Command;

const Command commands[] = {
    {"info", "what this build is: versions, backends, device, MPI ranks, HDF5, BLAS",
     "usage: strata info [--json]\n\n"
     "Prints Strata's version, the Kokkos version and backends, the execution space and device in\n"
     "use, the number of MPI ranks, whether HDF5 is parallel, and the BLAS the dense kernels "
     "use.\n\n"
     "  --json     one JSON object on standard output\n",
     strata::cli::run_info},
    {"demo", "a short end-to-end job on built-in problems, with checks",
     "usage: strata demo [--rows N] [--cols K] [--hss-n N] [--seed S] [--output FILE.h5] [--json] "
     "[--quiet]\n\n"
     "Runs each layer of Strata on built-in problems and checks every result against a bound:\n"
     "  1. a distributed N x K Gaussian matrix X from counter-based random streams (bitwise\n"
     "     reproducible for any number of ranks),\n"
     "  2. its Gram matrix through a distributed GEMM, 3. the same product through the operator\n"
     "     interface, 4. the polar factor Q of X by Polar Express,\n"
     "  5. a randomized SVD of Q diag(2^-j) (known singular values),\n"
     "  6. sketch-and-precondition least squares (sparse-sign sketch + LSQR) on X,\n"
     "  7. an HSS approximation of a 1-D Cauchy kernel matrix from matrix-vector products only\n"
     "     (Levitt-Martinsson, distributed over the ranks), 8. its distributed ULV solve,\n"
     "  9. a parallel HDF5 write + read.\n"
     "Exits with status 1 if a check fails.\n\n"
     "  --rows N         rows of the test matrix (default 200000)\n"
     "  --cols K         columns (default 32)\n"
     "  --hss-n N        size of the HSS problem (default 2048)\n"
     "  --seed S         random seed (default 20261122)\n"
     "  --output FILE    keep the HDF5 file written in the last step (dataset /X)\n"
     "  --json           one JSON object on standard output\n"
     "  --quiet          no progress line\n",
     strata::cli::run_demo},
    {"polar", "polar factor, matrix sign, square roots (Newton-Schulz / Polar Express); schedules",
     "usage: strata polar [factor|sign|sqrt|invsqrt] --input A.h5:/A --output OUT.h5:/Q [options]\n"
     "       strata polar schedule [--method M] [--lower L] [--steps T] [--degree 3|5] [--cushion "
     "K] [--safety S]\n\n"
     "factor (default): Q with A = Q H, Q orthonormal columns (rows if wide), by matrix products "
     "only.\n"
     "  A tall input is distributed by rows over the MPI ranks (one n x n allreduce per step).\n"
     "sign: sign(A) of a square matrix with real eigenvalues away from 0.\n"
     "sqrt, invsqrt: A^(1/2), A^(-1/2) of a symmetric positive definite A (coupled iteration).\n"
     "schedule: print the polynomial coefficients (a, b, c of a x + b x^3 + c x^5) and the "
     "worst-case\n"
     "  error bound max |1 - p(x)| over [L, 1] after each step.\n\n"
     "  --method M        polar-express (default), newton-schulz, muon\n"
     "  --steps T         fixed number of steps (default: iterate to --tol, or to working "
     "precision)\n"
     "  --tol EPS         stop when the error (||Q^T Q - I||_F, ||S^2 - I||_F, ||Z Y - I||_F) <= "
     "EPS\n"
     "  --max-steps N     give up after N steps (default 60)\n"
     "  --lower L         assumed smallest singular value after scaling (default 1e-3)\n"
     "  --degree 3|5      polynomial degree (default 5)\n"
     "  --cushion K       Polar Express cushion (default 0.0240733)\n"
     "  --safety S        Polar Express safety factor (default 1.01)\n"
     "  --spectral-scaling  scale by a power-iteration estimate of ||A||_2 instead of ||A||_F\n"
     "  --precision P     fp64 (default) or fp32\n"
     "  --json            one JSON object on standard output\n",
     strata::cli::run_polar},
    {"sketch", "random sketches and the drivers built on them (rsvd, least squares, trace, ...)",
     strata::cli::sketch_usage, strata::cli::run_sketch},
    {"hss", "HSS matrices: compress from products or entries, matvec, ULV solve",
     strata::cli::hss_usage, strata::cli::run_hss},
};

/// Options every command takes (main consumes them before the command runs).
const char* const common_options =
    "\noptions of every command:\n"
    "  --json               one JSON object on standard output (errors too)\n"
    "  --progress WHEN      progress on standard error, rank 0: auto (default; on a terminal a\n"
    "                       line updated in place, in a log a line per phase once the run has\n"
    "                       lasted 10 s, then at most one every 10 s), always (in a log a line "
    "for\n"
    "                       every phase, however short), never. --json and --quiet imply never\n"
    "                       unless --progress is given.\n"
    "  --quiet              fewer lines: no summary (where a command has one), no progress\n";

/// --progress auto|always|never (consumed); without it, --json and --quiet mean never.
strata::ProgressMode progress_mode(strata::cli::Args& args, const strata::cli::Context& context) {
  const auto when = args.value("--progress");
  if (!when) {
    return context.json || context.quiet ? strata::ProgressMode::never
                                         : strata::ProgressMode::automatic;
  }
  if (*when == "auto") return strata::ProgressMode::automatic;
  if (*when == "always") return strata::ProgressMode::always;
  if (*when == "never") return strata::ProgressMode::never;
  throw strata::cli::UsageError("option '--progress' must be auto, always or never, got '" + *when +
                                "'");
}

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: strata <command> [options]   (strata <command> --help for details)\n\n"
               "Strata %s: randomized structured linear algebra on Kokkos and MPI.\n\ncommands:\n",
               STRATA_VERSION_STRING);
  for (const auto& c : commands) std::fprintf(out, "  %-8s %s\n", c.name, c.summary);
  std::fputs(common_options, out);
  std::fprintf(
      out, "\nRun under mpirun for several ranks. Kokkos options (--kokkos-...) are accepted.\n");
}

/// Kokkos' numeric options are checked here: Kokkos 3.4 parses them with std::stoi and would end
/// the program with a bare "stoi". Returns the error message, empty if all are well formed.
std::string check_kokkos_options(const std::vector<std::string>& tokens) {
  const auto is_integer = [](const std::string& text, bool allow_pair) {
    std::size_t i = 0, groups = 0;
    while (i < text.size()) {
      const std::size_t begin = i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
      if (i == begin || i - begin > 9) return false;
      ++groups;
      if (i < text.size() && !(allow_pair && text[i] == ',' && groups == 1)) return false;
      if (i < text.size()) ++i;
      if (i == text.size() && text.back() == ',') return false;
    }
    return groups >= 1;
  };
  for (const auto& t : tokens) {
    if (t.rfind("--kokkos-", 0) != 0) continue;
    const auto eq = t.find('=');
    const std::string name = t.substr(0, eq);
    const bool numeric = name == "--kokkos-threads" || name == "--kokkos-num-threads" ||
                         name == "--kokkos-numa" || name == "--kokkos-device" ||
                         name == "--kokkos-device-id" || name == "--kokkos-skip-device";
    const bool pair = name == "--kokkos-ndevices" || name == "--kokkos-num-devices";
    if (!numeric && !pair) continue;
    if (eq == std::string::npos) return "option '" + name + "' needs a value: " + name + "=N";
    const std::string value = t.substr(eq + 1);
    if (!is_integer(value, pair)) {
      return "option '" + name + "' expects a non-negative integer" +
             std::string(pair ? " (or N,M)" : "") + ", got '" + value + "'";
    }
  }
  return "";
}

/// One line on stderr (rank 0), plus a JSON object on stdout when --json was given.
void report_error(const strata::cli::Context& context, const std::string& command,
                  const std::string& message, const std::string& hint) {
  if (context.comm.rank() != 0) return;
  std::fprintf(stderr, "strata %s: error: %s%s\n", command.c_str(), message.c_str(), hint.c_str());
  if (context.json) {
    strata::cli::Json out = strata::cli::Json::object();
    out.add("command", command).add("status", "error").add("error", message);
    std::printf("%s\n", out.str().c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> tokens(argv + 1, argv + argc);
  const bool wants_json = std::find(tokens.begin(), tokens.end(), "--json") != tokens.end();
  int status = 0;
  if (const auto bad = check_kokkos_options(tokens); !bad.empty()) {
    // MPI is not initialized yet: the launcher's rank variable picks the one rank that prints.
    const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
    if (!rank) rank = std::getenv("PMI_RANK");
    if (rank && std::strcmp(rank, "0") != 0) return strata::cli::exit_usage;
    std::fprintf(stderr, "strata: error: %s (see 'strata --help')\n", bad.c_str());
    if (wants_json) {
      strata::cli::Json out = strata::cli::Json::object();
      out.add("command", "strata").add("status", "error").add("error", bad);
      std::printf("%s\n", out.str().c_str());
    }
    return strata::cli::exit_usage;
  }
  try {
    // Kokkos answers an unprefixed --help with its own text; it sees only the other tokens.
    std::vector<char*> kokkos_argv{argv[0]};
    for (int i = 1; i < argc; ++i) {
      if (std::strcmp(argv[i], "--help") != 0 && std::strcmp(argv[i], "-h") != 0) {
        kokkos_argv.push_back(argv[i]);
      }
    }
    int kokkos_argc = static_cast<int>(kokkos_argv.size());
    kokkos_argv.push_back(nullptr);
    char** kargv = kokkos_argv.data();
    strata::ScopeGuard guard(kokkos_argc, kargv);
    strata::cli::Context context{strata::Comm(), wants_json, false, ""};
    // Kokkos 3.4 leaves its flags in argv; Args skips them either way. --help is put back where
    // it was given, since Kokkos 4 may have removed its own (--kokkos-) flags.
    const bool wants_help = std::find(tokens.begin(), tokens.end(), "--help") != tokens.end() ||
                            std::find(tokens.begin(), tokens.end(), "-h") != tokens.end();
    tokens.assign(kargv + 1, kargv + kokkos_argc);
    if (wants_help) {
      std::vector<std::string> original(argv + 1, argv + argc);
      std::vector<std::string> kept;
      for (const auto& t : original) {
        if (t == "--help" || t == "-h" ||
            std::find(tokens.begin(), tokens.end(), t) != tokens.end()) {
          kept.push_back(t);
        }
      }
      tokens = kept;
    }
    if (tokens.empty() || tokens[0] == "--help" || tokens[0] == "-h" || tokens[0] == "help") {
      if (context.comm.rank() == 0) print_usage(stdout);
      return tokens.empty() ? 2 : 0;
    }
    if (tokens[0] == "--version") {
      context.print(std::string("strata ") + STRATA_VERSION_STRING + "\n");
      return 0;
    }
    const std::string name = tokens[0];
    const Command* command = nullptr;
    for (const auto& c : commands) {
      if (name == c.name) command = &c;
    }
    if (!command) {
      report_error(context, name, "unknown command '" + name + "'",
                   " (commands: info, demo, polar, sketch, hss; see 'strata --help')");
      return 2;
    }
    strata::cli::Args args(std::vector<std::string>(tokens.begin() + 1, tokens.end()));
    context.command = name;
    try {
      // `strata sketch rsvd --help` is answered by the operation itself.
      const bool has_operation = tokens.size() > 1 && tokens[1].rfind("-", 0) != 0;
      if (!has_operation && (args.flag("--help") || args.flag("-h"))) {
        context.print(command->usage);
        context.print(common_options);
        return 0;
      }
      context.json = args.flag("--json");
      context.quiet = args.flag("--quiet");
      strata::set_progress_mode(progress_mode(args, context));
      status = command->run(args, context);
    } catch (const strata::cli::UsageError& e) {
      report_error(context, context.command, e.what(),
                   " (see 'strata " + context.command + " --help')");
      status = strata::cli::exit_usage;
    } catch (const strata::Error& e) {
      report_error(context, context.command, e.what(), "");
      status = strata::cli::exit_failure;
    } catch (const std::bad_alloc&) {
      report_error(context, context.command,
                   "out of memory: the data or the options ask for more memory than this machine "
                   "has",
                   "");
      status = strata::cli::exit_failure;
    } catch (const std::exception& e) {
      report_error(context, context.command, e.what(), "");
      status = strata::cli::exit_failure;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "strata: error: %s\n", e.what());
    return 1;
  }
  return status;
}
