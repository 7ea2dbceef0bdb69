// `strata sketch <operation>`: dispatch to one function per operation.
#include <string>

#include "cli.hpp"

namespace strata::cli {

const char* const sketch_usage =
    "usage: strata sketch <operation> [options]   (strata sketch <operation> --help)\n\n"
    "operations:\n"
    "  apply   S A for a random sketch operator S (gaussian, rademacher, srht, hadamard, "
    "sparse-sign)\n"
    "  rsvd    randomized SVD: U, S, V with A ~ U diag(S) V^T (fixed rank or tolerance)\n"
    "  lstsq   least squares min ||A x - b|| by sketch-and-solve or sketch-and-precondition\n"
    "  trace   trace of a square matrix by Hutch++ (or NA-Hutch++, Hutchinson)\n"
    "  diag    diagonal of a square matrix from matrix-vector products\n";

int run_sketch(Args& args, Context& context) {
  const auto op = args.positional();
  // Each operation answers its own --help (with its options) before anything else.
  if (!op) throw UsageError("missing operation (apply, rsvd, lstsq, trace or diag)");
  if (*op == "apply" || *op == "rsvd" || *op == "lstsq" || *op == "trace" || *op == "diag")
    context.command = "sketch " + *op;
  if (*op == "apply") return run_sketch_apply(args, context);
  if (*op == "rsvd") return run_sketch_rsvd(args, context);
  if (*op == "lstsq") return run_sketch_lstsq(args, context);
  if (*op == "trace") return run_sketch_trace(args, context);
  if (*op == "diag") return run_sketch_diag(args, context);
  throw UsageError("unknown operation '" + *op + "' (apply, rsvd, lstsq, trace or diag)");
}

}  // namespace strata::cli
