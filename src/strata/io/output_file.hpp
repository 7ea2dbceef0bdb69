// Output files: the checks every command that writes makes before it writes.
//
// All of Strata's outputs go through io::FileWriter (dense data, hdf5.hpp) or hss::save_hss, which
// uses it; both write a temporary file and rename it into place (see detail/atomic_file.hpp).
#pragma once

#include <string>
#include <vector>

namespace strata::io {

/// Throws IOError ("the output 'X' is the input file 'Y' ...") when `output` exists and is the
/// same file (device and inode, so through links and different spellings too) as one of `inputs`.
/// Inputs that do not exist are skipped: their own readers report them.
void check_output_distinct(const std::string& output, const std::vector<std::string>& inputs);

}  // namespace strata::io
