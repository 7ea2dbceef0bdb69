// Cluster trees for HSS matrices: a perfect binary tree of L levels over the index range [0, N).
//
// Level 0 is the root (all of [0, N)), level L holds the 2^L leaves. Every inner node's range is
// split into two contiguous halves whose sizes differ by at most one (the left child takes the
// larger half), so the nodes of level l have sizes floor(N / 2^l) or ceil(N / 2^l).
//
// Node numbering (used by every flat table of the hss module): node i of level l (0 <= i < 2^l) has
// heap index 2^l - 1 + i; its children are nodes 2i and 2i+1 of level l+1, its sibling is i ^ 1.
// begin() and size() hold, in heap order, the first permuted index and the number of indices of
// every node, in device memory and as host copies; level l is the contiguous slice
// [2^l - 1, 2^(l+1) - 1).
//
// Geometric trees reorder the indices: permutation()(p) is the user's (original) index of permuted
// position p. HSS matrices work in the permuted order internally; their public entry points
// (matvec, solve, to_dense) take and return vectors in the user's original order.
#pragma once

#include <vector>

#include "strata/core/types.hpp"

namespace strata::hss {

using IndexArray = Kokkos::View<index_type*, MemSpace>;
using HostIndexArray = Kokkos::View<index_type*, Kokkos::HostSpace>;

class ClusterTree {
 public:
  ClusterTree() = default;

  /// Uniform bisection of [0, n) with the fewest levels L for which every leaf has at most
  /// `leaf_size` indices (L = ceil(log2(n / leaf_size)), at least 0; with leaf_size = 1 and n not a
  /// power of two some leaves keep 2 indices, since no leaf may be empty). Identity permutation.
  /// Cost O(2^L). Throws InvalidArgument unless n >= 1 and leaf_size >= 1.
  static ClusterTree uniform(index_type n, index_type leaf_size);

  /// Uniform bisection of [0, n) with exactly `levels` levels below the root. Throws
  /// InvalidArgument unless n >= 2^levels (every leaf non-empty) and 0 <= levels <= 40.
  static ClusterTree with_levels(index_type n, int levels);

  /// Geometric bisection of the n points (rows of `points`, n x d, any d >= 1): each node's points
  /// are split at the median of the coordinate along which their bounding box is widest (ties in
  /// the coordinate broken by the original index, so the result is deterministic). Node sizes are
  /// the same as for uniform(n, leaf_size); the permutation records the reordering. Cost
  /// O(n d L) on the host (construction is setup work). Throws InvalidArgument on empty input,
  /// leaf_size < 1 or non-finite coordinates.
  static ClusterTree geometric(
      const Kokkos::View<const double**, Kokkos::LayoutLeft, Kokkos::HostSpace>& points,
      index_type leaf_size);

  index_type size() const { return n_; }
  int levels() const { return levels_; }
  index_type num_nodes() const { return (index_type(2) << levels_) - 1; }
  static index_type nodes_on_level(int level) { return index_type(1) << level; }
  static index_type heap_index(int level, index_type i) { return (index_type(1) << level) - 1 + i; }

  /// First permuted index and size of node i of `level` (host).
  index_type node_begin(int level, index_type i) const { return begin_host_(heap_index(level, i)); }
  index_type node_size(int level, index_type i) const { return size_host_(heap_index(level, i)); }
  index_type max_leaf_size() const;

  /// Flat heap-ordered tables (device and host copies).
  const IndexArray& begin() const { return begin_; }
  const IndexArray& sizes() const { return size_; }
  const HostIndexArray& begin_host() const { return begin_host_; }
  const HostIndexArray& sizes_host() const { return size_host_; }

  /// True unless the tree came from geometric() (then permutation() is the identity and not used).
  bool is_identity() const { return identity_; }
  /// permutation()(p) = original index of permuted position p (length n; device / host).
  const IndexArray& permutation() const { return perm_; }
  const HostIndexArray& permutation_host() const { return perm_host_; }

  /// with_levels(n, levels) carrying a stored permutation (used by the HDF5 reader); an empty
  /// `permutation` means the identity. Throws InvalidArgument unless it is a permutation of [0, n).
  static ClusterTree with_permutation(index_type n, int levels,
                                      const std::vector<index_type>& permutation);

 private:
  void build_tables(index_type n, int levels);
  void set_permutation(const std::vector<index_type>& perm);

  index_type n_ = 0;
  int levels_ = 0;
  bool identity_ = true;
  IndexArray begin_, size_, perm_;
  HostIndexArray begin_host_, size_host_, perm_host_;
};

/// Splits a node of `size` indices: the left child gets ceil(size / 2).
inline index_type left_child_size(index_type size) {
  return size - size / 2;
}

}  // namespace strata::hss
