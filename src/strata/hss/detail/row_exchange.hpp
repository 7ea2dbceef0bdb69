// Moves blocks of rows between the user's order and row layout and the tree's permuted order split
// over the ranks (split_layout: every rank the rows of its subtrees). The distributed HSS code
// works in the tree's order; its public entry points take and return the user's rows.
#pragma once

#include <memory>
#include <vector>

#include "strata/dist/block_row_layout.hpp"
#include "strata/dist/comm.hpp"
#include "strata/dist/operations.hpp"
#include "strata/hss/cluster_tree.hpp"

namespace strata::hss::detail {

class RowExchange {
 public:
  RowExchange() = default;
  /// `tree_layout` splits the tree's permuted order, `user_layout` the user's order; both over the
  /// same ranks and rows. Cost O(N) host work for the inverse permutation (none for identity).
  RowExchange(const ClusterTree& tree, BlockRowLayout tree_layout, BlockRowLayout user_layout)
      : tree_layout_(std::move(tree_layout)),
        user_layout_(std::move(user_layout)),
        identity_(tree.is_identity()) {
    if (identity_) return;
    perm_ = tree.permutation();
    const auto& ph = tree.permutation_host();
    HostIndexArray inv("strata::hss::exchange::inverse_host", ph.extent(0));
    for (std::size_t p = 0; p < ph.extent(0); ++p) inv(ph(p)) = static_cast<index_type>(p);
    inverse_ = IndexArray("strata::hss::exchange::inverse", ph.extent(0));
    Kokkos::deep_copy(inverse_, inv);
  }

  const BlockRowLayout& tree_layout() const { return tree_layout_; }
  const BlockRowLayout& user_layout() const { return user_layout_; }
  /// No data movement needed: identity permutation and the same layouts.
  bool trivial() const { return identity_ && tree_layout_ == user_layout_; }

  /// This rank's rows in the tree's layout (out) from this rank's rows in the user's (x). Not
  /// trivial: one allgather of X (N k numbers received per rank) and a gather of rows. Collective.
  template <class T>
  void to_tree(const ExecSpace& exec, const Comm& comm, const ConstMatrix<T>& x,
               const Matrix<T>& out) const {
    move<T>(exec, comm, user_layout_, tree_layout_, perm_, x, out);
  }
  /// The inverse of to_tree.
  template <class T>
  void to_user(const ExecSpace& exec, const Comm& comm, const ConstMatrix<T>& x,
               const Matrix<T>& out) const {
    move<T>(exec, comm, tree_layout_, user_layout_, inverse_, x, out);
  }

 private:
  // out(i) = full(index(dst_row0 + i)), full the allgathered rows of x under `from` (index: the
  // identity when empty).
  template <class T>
  void move(const ExecSpace& exec, const Comm& comm, const BlockRowLayout& from,
            const BlockRowLayout& to, const IndexArray& index, const ConstMatrix<T>& x,
            const Matrix<T>& out) const {
    if (trivial()) {
      Kokkos::deep_copy(exec, out, x);
      return;
    }
    const Matrix<T> full = allgather_rows<T>(exec, comm, from, x);
    const index_type row0 = to.row_begin(comm.rank());
    const bool identity = identity_;
    const auto idx = index;
    Kokkos::parallel_for(
        "strata::hss::exchange::gather_rows",
        Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>, Kokkos::IndexType<index_type>>(
            exec, {0, 0},
            {static_cast<index_type>(out.extent(0)), static_cast<index_type>(out.extent(1))}),
        KOKKOS_LAMBDA(const index_type i, const index_type j) {
          out(i, j) = full(identity ? row0 + i : idx(row0 + i), j);
        });
  }

  BlockRowLayout tree_layout_, user_layout_;
  bool identity_ = true;
  IndexArray perm_, inverse_;
};

}  // namespace strata::hss::detail
