// `strata hss <operation>`: the operations implemented outside command_hss.cpp.
#pragma once

#include "cli.hpp"

namespace strata::cli {

/// `strata hss compress`: builds an HSS approximation (hss_compress.cpp).
int run_hss_compress(Args& args, Context& context);

/// `strata hss solve --problem`: a built-in matrix solved by a direct HSS ULV solve or by GMRES/CG
/// preconditioned by it (hss_solve_problem.cpp).
int run_hss_solve_problem(Args& args, Context& context);

}  // namespace strata::cli
