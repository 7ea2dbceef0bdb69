// The one place where the C interface meets the C++ HSS API.
//
// The C interface promises the caller's own row distribution (each rank any number of consecutive
// rows) and the caller's order. Today's distributed HSS functions (hss/distributed.hpp) take
// vectors in the tree split's layout (split_layout) instead, so this adapter builds a uniform
// cluster tree (identity permutation: the split's order is the caller's order), redistributes
// block rows between the two layouts (one all-to-all of the rows that change owner) around every
// product, matvec and solve, and wraps the caller's product as the split-layout operator that
// compress_from_matvecs_distributed needs. When the HSS API takes the caller's layout itself
// (issue 9), only this adapter changes; the C functions in hss.cpp stay as they are.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "strata/capi/strata.h"
#include "strata/dist/linear_operator.hpp"
#include "strata/hss/distributed.hpp"
#include "strata/hss/problems.hpp"

namespace strata::capi::detail {

/// Y = X with X's rows laid out by `from` and Y's by `to` (both over comm's ranks, the same global
/// rows; this rank's blocks). Rows that stay on this rank are copied, the others travel by one
/// MPI_Alltoallv: O(rows that move x k) communication. Collective.
template <class T>
void redistribute(const ExecSpace& exec, const Comm& comm, const BlockRowLayout& from,
                  const ConstMatrix<T>& x, const BlockRowLayout& to, const Matrix<T>& y);

template <class T>
class HssAdapter {
 public:
  /// H ~ A from products with `user_operator`, a square distributed operator whose row and column
  /// layouts are the caller's. Collective.
  static std::unique_ptr<HssAdapter> compress_products(const ExecSpace& exec,
                                                       const LinearOperator<T>& user_operator,
                                                       const strata_hss_options& options);
  /// H ~ A from entries (global indices), built on every rank and then split. Collective.
  static std::unique_ptr<HssAdapter> compress_entries(const ExecSpace& exec, const Comm& comm,
                                                      const BlockRowLayout& user_layout,
                                                      const hss::EntryEvaluator<T>& entries,
                                                      const strata_hss_options& options);
  /// Reads a file written by save(). Collective.
  static std::unique_ptr<HssAdapter> load(const ExecSpace& exec, const Comm& comm,
                                          const BlockRowLayout& user_layout,
                                          const std::string& file);

  const Comm& comm() const { return comm_; }
  const BlockRowLayout& user_layout() const { return user_layout_; }
  index_type local_rows() const { return user_layout_.local_rows(comm_.rank()); }
  const strata_hss_info& info() const { return info_; }
  bool factored() const { return factor_.has_value(); }

  /// Y = op(H) X for this rank's rows in the caller's layout. Collective.
  void matvec(const ExecSpace& exec, bool transpose, const ConstMatrix<T>& x,
              const Matrix<T>& y) const;
  /// ULV factorization, kept here. Collective.
  void factor(const ExecSpace& exec, hss::UlvVariant variant);
  /// X = H^{-1} B (caller's layout) after factor(). Collective.
  hss::UlvSolveResult solve(const ExecSpace& exec, const ConstMatrix<T>& b,
                            const Matrix<T>& x) const;
  /// Writes H (rank 0 writes). Collective.
  void save(const ExecSpace& exec, const std::string& file) const;

 private:
  HssAdapter(const Comm& comm, BlockRowLayout user_layout, hss::DistHssMatrix<T> matrix);
  void fill_info();

  Comm comm_;
  BlockRowLayout user_layout_;
  hss::DistHssMatrix<T> matrix_;
  std::optional<hss::DistUlvFactor<T>> factor_;
  strata_hss_info info_{};
};

extern template class HssAdapter<float>;
extern template class HssAdapter<double>;

}  // namespace strata::capi::detail
