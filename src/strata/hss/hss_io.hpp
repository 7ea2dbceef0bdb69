// HSS matrices in HDF5 files (the storage layout of hss_matrix.hpp, one flat dataset per level and
// kind, readable with h5py).
//
// File layout under `group` (default "/hss"):
//   attributes: format = "strata-hss", version = 1, n, levels, leaf_size (largest leaf),
//               dtype ("float32" / "float64")
//   permutation             int64 [n]   permuted position -> original index (identity if none)
//   leaves/D                T [sum m_i^2]   leaf diagonal blocks, column-major, leaf after leaf
//   leaves/D_offsets        int64 [2^L + 1]
//   level_<l>/U, V, B       T flat          generators of level l = 1..L (column-major blocks)
//   level_<l>/U_offsets, V_offsets, B_offsets   int64 [2^l + 1]
//   level_<l>/row_rank, col_rank                int64 [2^l]
// Offsets are stored for readers outside Strata; the loader recomputes them from the ranks and
// the tree and rejects a file where they differ. Writes are atomic (temporary file + rename).
#pragma once

#include <string>
#include <vector>

#include "strata/dist/comm.hpp"
#include "strata/hss/hss_matrix.hpp"

namespace strata::hss {

/// Writes `a` to `file` (replacing the file) through io::FileWriter: atomic, never through a
/// symbolic link, refused when `file` is not a regular HDF5 file or is one of `inputs` (the files
/// the command read). Rank 0's matrix is written; collective (errors agreed on all ranks). Throws
/// IOError when the file cannot be written, Unsupported without HDF5.
template <class T>
void save_hss(const Comm& comm, const std::string& file, const HssMatrix<T>& a,
              const std::string& group = "/hss", const std::vector<std::string>& inputs = {});

/// Reads an HSS matrix written by save_hss on every rank. Values stored in the other precision are
/// converted by HDF5. Every size read from the file is checked (against the other tables and
/// against the available memory) before anything is allocated. Collective. Throws IOError
/// (missing or malformed file), Unsupported (integer values, a missing HDF5 filter) or
/// InvalidArgument (inconsistent tables, not enough memory).
template <class T>
HssMatrix<T> load_hss(const Comm& comm, const std::string& file, const std::string& group = "/hss");

/// The dtype attribute ("float32" / "float64") of a stored HSS matrix. Collective.
std::string stored_hss_dtype(const Comm& comm, const std::string& file,
                             const std::string& group = "/hss");

#define STRATA_HSS_IO_DECLARE(T)                                                         \
  extern template void save_hss<T>(const Comm&, const std::string&, const HssMatrix<T>&, \
                                   const std::string&, const std::vector<std::string>&); \
  extern template HssMatrix<T> load_hss<T>(const Comm&, const std::string&, const std::string&);
STRATA_HSS_IO_DECLARE(float)
STRATA_HSS_IO_DECLARE(double)
#undef STRATA_HSS_IO_DECLARE

}  // namespace strata::hss
