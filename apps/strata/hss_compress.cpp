// Placeholder: replaced by the implementation of `strata hss compress`.
#include "hss_commands.hpp"

namespace strata::cli {

int run_hss_compress(Args&, Context&) {
  throw UsageError("'hss compress' is not available in this build");
}

}  // namespace strata::cli
