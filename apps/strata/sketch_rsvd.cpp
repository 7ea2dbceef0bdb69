// Placeholder: replaced by the implementation of `strata sketch rsvd and lstsq`.
#include "cli.hpp"

namespace strata::cli {

int run_sketch_rsvd(Args&, Context&) { throw UsageError("'sketch rsvd' is not available in this build"); }
int run_sketch_lstsq(Args&, Context&) { throw UsageError("'sketch lstsq' is not available in this build"); }

}  // namespace strata::cli
