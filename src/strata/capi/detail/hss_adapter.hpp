// The one place where the C interface meets the C++ HSS API.
//
// The C interface promises the caller's own row distribution (each rank any number of consecutive
// rows) and the caller's order. The distributed HSS functions (hss/distributed.hpp) take and return
// vectors in exactly that form (the matrix's layout() is the caller's BlockRowLayout; the tree's
// order and split stay inside the library), so this adapter only chooses the cluster tree, maps
// the C options to the C++ ones, keeps the ULV factor and fills strata_hss_info.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "strata/capi/strata.h"
#include "strata/dist/linear_operator.hpp"
#include "strata/hss/callbacks.hpp"
#include "strata/hss/distributed.hpp"

namespace strata::capi::detail {

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
  /// Reads a file written by save() or by hss::save_hss (any cluster tree, uniform or geometric).
  /// Collective.
  static std::unique_ptr<HssAdapter> load(const ExecSpace& exec, const Comm& comm,
                                          const BlockRowLayout& user_layout,
                                          const std::string& file);

  const Comm& comm() const { return matrix_.comm(); }
  index_type local_rows() const { return matrix_.local_rows(); }
  const strata_hss_info& info() const { return info_; }

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
  explicit HssAdapter(hss::DistHssMatrix<T> matrix);

  hss::DistHssMatrix<T> matrix_;
  std::optional<hss::DistUlvFactor<T>> factor_;
  strata_hss_info info_{};
};

extern template class HssAdapter<float>;
extern template class HssAdapter<double>;

}  // namespace strata::capi::detail
