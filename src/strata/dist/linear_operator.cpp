#include "strata/dist/linear_operator.hpp"

#include "strata/core/checks.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "strata/linalg/blas.hpp"

namespace strata {

namespace {
template <class X, class Y>
void check_block_shapes(const X& x, const Y& y, index_type x_rows, index_type y_rows,
                        const char* what) {
  STRATA_REQUIRE(x.extent(1) == y.extent(1), ShapeMismatch, what, ": X has ", x.extent(1),
                 " columns but Y has ", y.extent(1), "; expected the same number of vectors");
  require_shape(x, x_rows, static_cast<index_type>(x.extent(1)), std::string(what) + ": X");
  require_shape(y, y_rows, static_cast<index_type>(y.extent(1)), std::string(what) + ": Y");
}
}  // namespace

template <class T>
index_type LinearOperator<T>::local_rows() const {
  return distributed() ? row_layout().local_rows(comm().rank()) : rows();
}

template <class T>
index_type LinearOperator<T>::local_cols() const {
  return distributed() ? col_layout().local_rows(comm().rank()) : cols();
}

template <class T>
void LinearOperator<T>::apply(const ExecSpace& exec, const const_matrix_type& x,
                              const matrix_type& y) const {
  auto check = [&] {
    check_block_shapes(x, y, local_cols(), local_rows(), "LinearOperator::apply");
  };
  if (distributed()) {
    collective(comm(), check);
  } else {
    check();
  }
  do_apply(exec, x, y);
}

template <class T>
void LinearOperator<T>::apply_transpose(const ExecSpace& exec, const const_matrix_type& x,
                                        const matrix_type& y) const {
  auto check = [&] {
    check_block_shapes(x, y, local_rows(), local_cols(), "LinearOperator::apply_transpose");
  };
  if (distributed()) {
    collective(comm(), check);
  } else {
    check();
  }
  do_apply_transpose(exec, x, y);
}

// ---- DenseOperator ------------------------------------------------------------------------------

template <class T>
DenseOperator<T>::DenseOperator(const_matrix_type a)
    : a_(std::move(a)),
      comm_(Comm::self()),
      row_layout_(static_cast<index_type>(a_.extent(0)), 1),
      col_layout_(static_cast<index_type>(a_.extent(1)), 1) {}

template <class T>
void DenseOperator<T>::do_apply(const ExecSpace& exec, const const_matrix_type& x,
                                const matrix_type& y) const {
  linalg::gemm(exec, "N", "N", T(1), a_, x, T(0), y);
}

template <class T>
void DenseOperator<T>::do_apply_transpose(const ExecSpace& exec, const const_matrix_type& x,
                                          const matrix_type& y) const {
  linalg::gemm(exec, "T", "N", T(1), a_, x, T(0), y);
}

// ---- DistDenseOperator --------------------------------------------------------------------------

template <class T>
DistDenseOperator<T>::DistDenseOperator(DistMatrix<T> a, std::optional<BlockRowLayout> col_layout)
    : a_(std::move(a)),
      col_layout_(col_layout ? *col_layout : BlockRowLayout(a_.cols(), a_.comm().size())) {
  STRATA_REQUIRE(
      col_layout_.global_rows() == a_.cols() && col_layout_.num_ranks() == a_.comm().size(),
      InvalidArgument, "DistDenseOperator: the column layout covers ", col_layout_.global_rows(),
      " indices over ", col_layout_.num_ranks(), " ranks; expected ", a_.cols(), " indices over ",
      a_.comm().size(), " ranks");
}

template <class T>
void DistDenseOperator<T>::do_apply(const ExecSpace& exec, const const_matrix_type& x,
                                    const matrix_type& y) const {
  const Matrix<T> x_full = allgather_rows<T>(exec, a_.comm(), col_layout_, x);
  linalg::gemm(exec, "N", "N", T(1), a_.local(), x_full, T(0), y);
}

template <class T>
void DistDenseOperator<T>::do_apply_transpose(const ExecSpace& exec, const const_matrix_type& x,
                                              const matrix_type& y) const {
  const auto k = x.extent(1);
  Matrix<T> partial("strata::DistDenseOperator::partial", static_cast<std::size_t>(a_.cols()), k);
  linalg::gemm(exec, "T", "N", T(1), a_.local(), x, T(0), partial);
  a_.comm().allreduce(exec, partial, ReduceOp::sum);
  const auto begin = static_cast<std::size_t>(col_layout_.row_begin(a_.comm().rank()));
  const auto end = static_cast<std::size_t>(col_layout_.row_end(a_.comm().rank()));
  Kokkos::deep_copy(exec, y, Kokkos::subview(partial, Kokkos::make_pair(begin, end), Kokkos::ALL));
  kx::fence(exec, "strata::DistDenseOperator::apply_transpose");
}

// ---- CallbackOperator ---------------------------------------------------------------------------

template <class T>
CallbackOperator<T>::CallbackOperator(index_type rows, index_type cols, Callback apply,
                                      Callback apply_transpose)
    : comm_(Comm::self()),
      row_layout_(rows, 1),
      col_layout_(cols, 1),
      distributed_(false),
      apply_(std::move(apply)),
      apply_transpose_(std::move(apply_transpose)) {
  STRATA_REQUIRE(
      static_cast<bool>(apply_), InvalidArgument,
      "CallbackOperator: the apply callback is empty; expected a function computing Y = A X");
}

template <class T>
CallbackOperator<T>::CallbackOperator(const Comm& comm, BlockRowLayout row_layout,
                                      BlockRowLayout col_layout, Callback apply,
                                      Callback apply_transpose)
    : comm_(comm),
      row_layout_(std::move(row_layout)),
      col_layout_(std::move(col_layout)),
      distributed_(true),
      apply_(std::move(apply)),
      apply_transpose_(std::move(apply_transpose)) {
  STRATA_REQUIRE(
      static_cast<bool>(apply_), InvalidArgument,
      "CallbackOperator: the apply callback is empty; expected a function computing Y = A X");
  STRATA_REQUIRE(row_layout_.num_ranks() == comm_.size() && col_layout_.num_ranks() == comm_.size(),
                 InvalidArgument, "CallbackOperator: layouts must have one entry per rank (",
                 comm_.size(), "), got ", row_layout_.num_ranks(), " and ",
                 col_layout_.num_ranks());
}

template <class T>
void CallbackOperator<T>::do_apply(const ExecSpace& exec, const const_matrix_type& x,
                                   const matrix_type& y) const {
  apply_(exec, x, y);
}

template <class T>
void CallbackOperator<T>::do_apply_transpose(const ExecSpace& exec, const const_matrix_type& x,
                                             const matrix_type& y) const {
  // Every rank holds the same callbacks, so this check fails on all ranks alike.
  STRATA_REQUIRE(static_cast<bool>(apply_transpose_), Unsupported,
                 "CallbackOperator: no apply_transpose callback was given, so products with A^T "
                 "are not available");
  apply_transpose_(exec, x, y);
}

#define STRATA_LINEAR_OPERATOR_INSTANTIATE(T) \
  template class LinearOperator<T>;           \
  template class DenseOperator<T>;            \
  template class DistDenseOperator<T>;        \
  template class CallbackOperator<T>;
STRATA_LINEAR_OPERATOR_INSTANTIATE(float)
STRATA_LINEAR_OPERATOR_INSTANTIATE(double)

}  // namespace strata
