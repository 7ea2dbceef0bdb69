// Placeholder: replaced by the implementation of `strata hss`.
#include "cli.hpp"

namespace strata::cli {

const char* const hss_usage = "usage: strata hss compress|matvec|solve [options]\n";

int run_hss(Args&, Context&) { throw UsageError("'hss' is not available in this build"); }

}  // namespace strata::cli
