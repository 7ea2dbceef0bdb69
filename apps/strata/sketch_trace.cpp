// Placeholder: replaced by the implementation of `strata sketch trace and diag`.
#include "cli.hpp"

namespace strata::cli {

int run_sketch_trace(Args&, Context&) { throw UsageError("'sketch trace' is not available in this build"); }
int run_sketch_diag(Args&, Context&) { throw UsageError("'sketch diag' is not available in this build"); }

}  // namespace strata::cli
