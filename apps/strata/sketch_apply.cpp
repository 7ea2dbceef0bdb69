// Placeholder: replaced by the implementation of `strata sketch apply`.
#include "cli.hpp"

namespace strata::cli {

int run_sketch_apply(Args&, Context&) { throw UsageError("'sketch apply' is not available in this build"); }

}  // namespace strata::cli
