// Linear operators seen only through products with blocks of vectors: the interface every
// matrix-free algorithm in Strata (sketching, HSS construction, Krylov methods) is written against.
//
// An operator A is rows() x cols(). apply(X, Y) computes Y = A X and apply_transpose(X, Y) computes
// Y = A^T X, for blocks X, Y of k vectors stored as columns. A distributed operator (distributed()
// is true) takes and returns block rows: X and Y are this rank's rows of the vectors under
// col_layout() and row_layout(); both calls are then collective over comm(). A replicated operator
// takes whole vectors on every rank and needs no communication.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "strata/dist/dist_matrix.hpp"

namespace strata {

template <class T>
class LinearOperator {
 public:
  using matrix_type = Matrix<T>;
  using const_matrix_type = ConstMatrix<T>;

  virtual ~LinearOperator() = default;

  virtual index_type rows() const = 0;
  virtual index_type cols() const = 0;
  virtual bool distributed() const { return false; }
  /// Communicator of a distributed operator (a single-rank Comm for replicated ones).
  virtual const Comm& comm() const = 0;
  /// Distribution of A's rows (output of apply); the whole range on one rank if replicated.
  virtual const BlockRowLayout& row_layout() const = 0;
  /// Distribution of A's columns (input of apply).
  virtual const BlockRowLayout& col_layout() const = 0;

  /// Y = A X. Checks shapes (collectively for distributed operators) and calls do_apply.
  void apply(const ExecSpace& exec, const const_matrix_type& x, const matrix_type& y) const;
  /// Y = A^T X.
  void apply_transpose(const ExecSpace& exec, const const_matrix_type& x,
                       const matrix_type& y) const;

 protected:
  virtual void do_apply(const ExecSpace& exec, const const_matrix_type& x,
                        const matrix_type& y) const = 0;
  virtual void do_apply_transpose(const ExecSpace& exec, const const_matrix_type& x,
                                  const matrix_type& y) const = 0;

  index_type local_rows() const;
  index_type local_cols() const;
};

/// A dense matrix held whole on every rank (no communication).
template <class T>
class DenseOperator final : public LinearOperator<T> {
 public:
  using typename LinearOperator<T>::matrix_type;
  using typename LinearOperator<T>::const_matrix_type;
  explicit DenseOperator(const_matrix_type a);

  index_type rows() const override { return static_cast<index_type>(a_.extent(0)); }
  index_type cols() const override { return static_cast<index_type>(a_.extent(1)); }
  const Comm& comm() const override { return comm_; }
  const BlockRowLayout& row_layout() const override { return row_layout_; }
  const BlockRowLayout& col_layout() const override { return col_layout_; }
  const const_matrix_type& matrix() const { return a_; }

 protected:
  void do_apply(const ExecSpace& exec, const const_matrix_type& x,
                const matrix_type& y) const override;
  void do_apply_transpose(const ExecSpace& exec, const const_matrix_type& x,
                          const matrix_type& y) const override;

 private:
  const_matrix_type a_;
  Comm comm_;
  BlockRowLayout row_layout_, col_layout_;
};

/// A block-row distributed dense matrix A (n x m). The columns of A are distributed like a vector
/// of length m: by `col_layout` (default: balanced). apply gathers X (m x k) on every rank and
/// multiplies the local block; apply_transpose multiplies by the local block transposed and sums
/// the m x k result over ranks, keeping this rank's rows. Each costs 2 n m k / ranks flops plus m k
/// values communicated per rank.
template <class T>
class DistDenseOperator final : public LinearOperator<T> {
 public:
  using typename LinearOperator<T>::matrix_type;
  using typename LinearOperator<T>::const_matrix_type;
  explicit DistDenseOperator(DistMatrix<T> a,
                             std::optional<BlockRowLayout> col_layout = std::nullopt);

  index_type rows() const override { return a_.global_rows(); }
  index_type cols() const override { return a_.cols(); }
  bool distributed() const override { return true; }
  const Comm& comm() const override { return a_.comm(); }
  const BlockRowLayout& row_layout() const override { return a_.layout(); }
  const BlockRowLayout& col_layout() const override { return col_layout_; }

 protected:
  void do_apply(const ExecSpace& exec, const const_matrix_type& x,
                const matrix_type& y) const override;
  void do_apply_transpose(const ExecSpace& exec, const const_matrix_type& x,
                          const matrix_type& y) const override;

 private:
  DistMatrix<T> a_;
  BlockRowLayout col_layout_;
};

/// An operator defined by the user's functions (for example a PDE solve, or a product with a sparse
/// matrix from another library). `apply_transpose` may be left empty if only apply is used; calling
/// it then throws Unsupported. For a distributed operator pass the communicator and both layouts.
template <class T>
class CallbackOperator final : public LinearOperator<T> {
 public:
  using typename LinearOperator<T>::matrix_type;
  using typename LinearOperator<T>::const_matrix_type;
  using Callback =
      std::function<void(const ExecSpace&, const const_matrix_type&, const matrix_type&)>;

  /// Replicated operator of shape rows x cols.
  CallbackOperator(index_type rows, index_type cols, Callback apply, Callback apply_transpose = {});
  /// Distributed operator.
  CallbackOperator(const Comm& comm, BlockRowLayout row_layout, BlockRowLayout col_layout,
                   Callback apply, Callback apply_transpose = {});

  index_type rows() const override { return row_layout_.global_rows(); }
  index_type cols() const override { return col_layout_.global_rows(); }
  bool distributed() const override { return distributed_; }
  const Comm& comm() const override { return comm_; }
  const BlockRowLayout& row_layout() const override { return row_layout_; }
  const BlockRowLayout& col_layout() const override { return col_layout_; }

 protected:
  void do_apply(const ExecSpace& exec, const const_matrix_type& x,
                const matrix_type& y) const override;
  void do_apply_transpose(const ExecSpace& exec, const const_matrix_type& x,
                          const matrix_type& y) const override;

 private:
  Comm comm_;
  BlockRowLayout row_layout_, col_layout_;
  bool distributed_;
  Callback apply_, apply_transpose_;
};

#define STRATA_LINEAR_OPERATOR_DECLARE(T)     \
  extern template class LinearOperator<T>;    \
  extern template class DenseOperator<T>;     \
  extern template class DistDenseOperator<T>; \
  extern template class CallbackOperator<T>;
STRATA_LINEAR_OPERATOR_DECLARE(float)
STRATA_LINEAR_OPERATOR_DECLARE(double)
#undef STRATA_LINEAR_OPERATOR_DECLARE

}  // namespace strata
