// An HSS matrix seen as a LinearOperator: the matrix itself (fast products) or its inverse through
// the ULV factorization (a fast direct solve, e.g. an HSS preconditioner for a Krylov method), so
// every matrix-free driver of Strata (sketch/: randomized SVD, trace and diagonal estimation;
// HSS compression itself) runs on HSS matrices unchanged.
//
// Replicated operator (from an HssMatrix): X and Y are whole n x k blocks in the user's original
// order (the tree's permutation is applied inside), on every rank, with no communication.
// Distributed operator (from a DistHssMatrix): X and Y are this rank's rows of the user's vectors
// in the matrix's layout() and the user's order; every call is collective (distributed.hpp).
#pragma once

#include <memory>

#include "strata/dist/linear_operator.hpp"
#include "strata/hss/distributed.hpp"
#include "strata/hss/hss_matrix.hpp"
#include "strata/hss/ulv.hpp"

namespace strata::hss {

enum class HssOperatorMode {
  /// apply: Y = A X (hss::matvec), apply_transpose: Y = A^T X. O(N r k) flops per call.
  matrix,
  /// apply: Y = A^{-1} X (ulv_solve), apply_transpose: Y = A^{-T} X. Factor once (O(N r^2)),
  /// then O(N r k) flops per call.
  inverse,
};

struct HssOperatorOptions {
  HssOperatorMode mode = HssOperatorMode::matrix;
  /// Inverse mode: the ULV variant. symmetric_positive_definite needs a symmetric HSS matrix
  /// (V = U, B_ba = B_ab^T, D symmetric) and then serves A^{-T} = A^{-1} from the same factor.
  UlvVariant variant = UlvVariant::general;
  /// Inverse mode, general variant: also factor A^T (a second ULV factorization of the transposed
  /// generators, same cost as the first) so that apply_transpose works. false: apply_transpose
  /// throws Unsupported (enough for drivers that only call apply, e.g. trace estimation or a
  /// preconditioner in a non-symmetric Krylov method).
  bool factor_transpose = true;
};

template <class T>
class HssOperator final : public LinearOperator<T> {
 public:
  using typename LinearOperator<T>::matrix_type;
  using typename LinearOperator<T>::const_matrix_type;

  /// Wraps `a` (shallow: the generators are shared, not copied). In inverse mode the ULV factor(s)
  /// are computed here (cost O(N r^2) flops each) and errors of ulv_factor propagate
  /// (NumericalError for a singular or, with the SPD variant, indefinite matrix).
  HssOperator(const ExecSpace& exec, HssMatrix<T> a, const HssOperatorOptions& options = {});

  /// Inverse mode from an existing factor of A (no refactorization of A). With the general variant
  /// and factor_transpose, A^T is factored here.
  HssOperator(const ExecSpace& exec, UlvFactor<T> factor, bool factor_transpose = true);

  /// The distributed operator of a distributed HSS matrix (shallow), over a.comm() with rows and
  /// columns split by a.layout(). Inverse mode: the distributed ULV factor(s) (distributed.hpp;
  /// the transpose factor from the transposed generators, transpose() below). Collective; errors
  /// of the distributed ulv_factor propagate on every rank.
  HssOperator(const ExecSpace& exec, DistHssMatrix<T> a, const HssOperatorOptions& options = {});

  index_type rows() const override { return size_; }
  index_type cols() const override { return size_; }
  bool distributed() const override { return static_cast<bool>(dist_); }
  const Comm& comm() const override { return comm_; }
  const BlockRowLayout& row_layout() const override { return layout_; }
  const BlockRowLayout& col_layout() const override { return layout_; }

  HssOperatorMode mode() const { return mode_; }
  /// The replicated matrix (throws InvalidArgument for a distributed operator).
  const HssMatrix<T>& matrix() const;
  /// The distributed matrix (throws InvalidArgument for a replicated operator).
  const DistHssMatrix<T>& distributed_matrix() const;
  /// Inverse mode, replicated: the factor of A (throws InvalidArgument in matrix mode or for a
  /// distributed operator).
  const UlvFactor<T>& factor() const;
  /// Inverse mode: seconds spent in the ULV factorization(s) (0 in matrix mode).
  double factor_time_s() const { return factor_time_s_; }

 protected:
  void do_apply(const ExecSpace& exec, const const_matrix_type& x,
                const matrix_type& y) const override;
  void do_apply_transpose(const ExecSpace& exec, const const_matrix_type& x,
                          const matrix_type& y) const override;

 private:
  void factor_transposed(const ExecSpace& exec, bool wanted);

  HssMatrix<T> matrix_;
  std::shared_ptr<const DistHssMatrix<T>> dist_;
  index_type size_ = 0;
  HssOperatorMode mode_;
  std::shared_ptr<const UlvFactor<T>> factor_, transpose_factor_;
  std::shared_ptr<const DistUlvFactor<T>> dist_factor_, dist_transpose_factor_;
  double factor_time_s_ = 0;
  Comm comm_;
  BlockRowLayout layout_;
};

/// The HSS matrix of A^T on the same cluster tree: row and column ranks swapped, U and V swapped,
/// B_ab -> B_ba^T, D -> D^T. Cost: one pass over the generators (O(N r) entries, one device kernel
/// per level for B plus one for D); new storage of the same size.
template <class T>
HssMatrix<T> transpose(const ExecSpace& exec, const HssMatrix<T>& a);

/// The distributed HSS matrix of A^T (same split, same layout): every rank transposes its
/// subtrees and the replicated top levels. Local work, no communication; cost as above per rank.
template <class T>
DistHssMatrix<T> transpose(const ExecSpace& exec, const DistHssMatrix<T>& a);

/// Trace of an HSS matrix: the sum of the diagonals of its leaf blocks D (the couplings U B V^T
/// only touch off-diagonal blocks). Cost O(N) (one reduction); exact up to rounding.
template <class T>
double trace(const ExecSpace& exec, const HssMatrix<T>& a);

#define STRATA_HSS_OPERATOR_DECLARE(T)                                                      \
  extern template class HssOperator<T>;                                                     \
  extern template HssMatrix<T> transpose<T>(const ExecSpace&, const HssMatrix<T>&);         \
  extern template DistHssMatrix<T> transpose<T>(const ExecSpace&, const DistHssMatrix<T>&); \
  extern template double trace<T>(const ExecSpace&, const HssMatrix<T>&);
STRATA_HSS_OPERATOR_DECLARE(float)
STRATA_HSS_OPERATOR_DECLARE(double)
#undef STRATA_HSS_OPERATOR_DECLARE

}  // namespace strata::hss
