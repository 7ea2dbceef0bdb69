// HSS (hierarchically semi-separable) matrices in the standard generator form, stored level by
// level in flat device arrays so that every per-level operation is one batched kernel.
//
// Representation (Chandrasekaran, Gu & Pals 2006; Xia, Chandrasekaran, Gu & Li 2010, "Fast
// algorithms for hierarchically semiseparable matrices", eq. (2.1)-(2.3)). On a cluster tree with
// L levels (cluster_tree.hpp), in the tree's permuted order:
//   leaf tau (m_tau indices):   D_tau (m x m), U_tau (m x r_tau), V_tau (m x c_tau)
//   inner tau, children a, b:   U_tau ((r_a + r_b) x r_tau), V_tau ((c_a + c_b) x c_tau)
//                               (transfer matrices: the nested bases of tau are
//                                U^big_tau = diag(U^big_a, U^big_b) U_tau, likewise V)
//   siblings a, b:              A(I_a, I_b) = U^big_a B_ab (V^big_b)^T,  B_ab is r_a x c_b
// and A(I_tau, I_tau) = D_tau at the leaves. The root (level 0) has no U, V, B. With L = 0 the
// matrix is the single dense block D_root. Ranks r_tau (row bases) and c_tau (column bases) vary
// per node; a uniform rank is the common case. Invariant: r_tau <= rows(U_tau) and
// c_tau <= rows(V_tau) (a basis never has more columns than rows).
//
// Storage layout (also the HDF5 layout, see hss_io.hpp). For every level l = 1..L, with nodes
// i = 0..2^l-1 numbered left to right:
//   row_rank(i) = r_i, col_rank(i) = c_i                             (index_type)
//   u_rows(i) = rows of U_i = m_i at the leaves, r_2i + r_2i+1 (children on level l+1) above
//   v_rows(i) = rows of V_i = m_i at the leaves, c_2i + c_2i+1 above
//   u_offset(i), i = 0..2^l: U_i is the column-major u_rows(i) x r_i block at u(u_offset(i))
//   v_offset(i):             V_i is the column-major v_rows(i) x c_i block at v(v_offset(i))
//   b_offset(i):             B_i := B_{i, i^1} (r_i x c_{i^1}, coupling to the sibling) at
//                            b(b_offset(i)), column-major
//   row_rank_offset(i), col_rank_offset(i): prefix sums of r and c over the level (length 2^l+1);
//                            the reduced vectors of a level are stacked in this order, so the two
//                            children of node p occupy one contiguous slice of rows.
// and at the leaf level L (including L = 0, the root as one leaf):
//   d_offset(i): D_i is the column-major m_i x m_i block at d(d_offset(i)).
// One allocation per level and kind (u, v, b, d); every table exists in device memory and as a
// host copy (the *_host members). All offsets count entries of T.
#pragma once

#include <cstdint>
#include <vector>

#include "strata/hss/cluster_tree.hpp"

namespace strata::hss {

template <class T>
using FlatArray = Kokkos::View<T*, MemSpace>;

/// The generators of one level. Tables are indexed by the node's position on its level.
template <class T>
struct HssLevel {
  int level = 0;
  index_type nodes = 0;
  IndexArray row_rank, col_rank, u_rows, v_rows;
  IndexArray u_offset, v_offset, b_offset, row_rank_offset, col_rank_offset;
  HostIndexArray row_rank_host, col_rank_host, u_rows_host, v_rows_host;
  HostIndexArray u_offset_host, v_offset_host, b_offset_host, row_rank_offset_host,
      col_rank_offset_host;
  FlatArray<T> u, v, b;
};

/// Ranks of every node: row[l][i] = r_i and col[l][i] = c_i of node i of level l, for l = 1..L
/// (row[0] and col[0] are empty: the root has no bases).
struct HssRanks {
  std::vector<std::vector<index_type>> row, col;
};

/// Rank min(rank, rows of the basis) on every node of `tree`, the same for rows and columns (the
/// cap keeps small leaves and nodes whose children have small ranks valid).
HssRanks uniform_ranks(const ClusterTree& tree, index_type rank);

template <class T>
class HssMatrix {
 public:
  using value_type = T;
  HssMatrix() = default;

  /// Allocates zero-filled generators for `tree` with the given ranks (the construction routines
  /// then write U, V, B, D in place). Throws InvalidArgument when the ranks do not match the tree
  /// (wrong counts, negative, or a basis with more columns than rows).
  HssMatrix(const ClusterTree& tree, const HssRanks& ranks);
  /// As the constructor, without the zero fill (the generators' entries are indeterminate): for
  /// construction routines that then write every entry of U, V, B and D (saves the fill, and on
  /// the host the first touch of every page twice).
  static HssMatrix uninitialized(const ClusterTree& tree, const HssRanks& ranks);

  index_type size() const { return tree_.size(); }
  int levels() const { return tree_.levels(); }
  const ClusterTree& tree() const { return tree_; }
  const HssRanks& ranks() const { return ranks_; }

  /// Generators of level l (1 <= l <= L).
  const HssLevel<T>& level(int l) const { return levels_.at(static_cast<std::size_t>(l)); }
  HssLevel<T>& level(int l) { return levels_.at(static_cast<std::size_t>(l)); }

  /// Leaf diagonal blocks (flat) and their offsets (length 2^L + 1).
  const FlatArray<T>& d() const { return d_; }
  const IndexArray& d_offset() const { return d_offset_; }
  const HostIndexArray& d_offset_host() const { return d_offset_host_; }

  /// Largest row / column rank on level l.
  index_type max_row_rank(int l) const;
  index_type max_col_rank(int l) const;
  /// Bytes held by the generators (U, V, B, D; tables excluded).
  std::size_t generator_bytes() const;
  /// Bytes held by the generators and all index tables (device side).
  std::size_t memory_bytes() const;

 private:
  HssMatrix(const ClusterTree& tree, const HssRanks& ranks, bool zero_fill);

  ClusterTree tree_;
  HssRanks ranks_;
  std::vector<HssLevel<T>> levels_;  // index 0: the root, unused
  FlatArray<T> d_;
  IndexArray d_offset_;
  HostIndexArray d_offset_host_;
};

/// Dense A (n x n, the user's original order, device memory) from the generators: the reference
/// for tests. Cost O(n^2 r) flops on the host plus one n x n copy: for small n only.
template <class T>
Matrix<T> to_dense(const ExecSpace& exec, const HssMatrix<T>& a);

struct RandomHssOptions {
  /// Symmetric A: V_tau = U_tau, B_ba = B_ab^T, D symmetric; with the default shift it is also
  /// positive definite.
  bool symmetric = false;
  /// Added to the diagonal of every leaf D. Negative: choose 2 (L + 1) + 2, which exceeds the
  /// norms of the random part (||D - shift I|| <= ~2 for D's random part scaled by 1/sqrt(m), each
  /// level's couplings <= ~2 for B scaled by 1/sqrt(r) with orthonormal nested bases), so A is
  /// well conditioned (and SPD in the symmetric case) with overwhelming probability.
  double diagonal_shift = -1;
};

/// An exact HSS matrix with random generators: U, V with orthonormal columns (QR of Gaussian
/// blocks), B Gaussian / sqrt(rank), D Gaussian / sqrt(m) plus a diagonal shift. Entries come from
/// counter-based streams keyed by `seed`, so the matrix does not depend on the backend.
/// Cost O(n r^2) on the host. Used as test data for matvec, solve and I/O.
template <class T>
HssMatrix<T> make_random_hss(const ExecSpace& exec, const ClusterTree& tree, const HssRanks& ranks,
                             std::uint64_t seed, const RandomHssOptions& options = {});
template <class T>
HssMatrix<T> make_random_hss(const ExecSpace& exec, const ClusterTree& tree, index_type rank,
                             std::uint64_t seed, const RandomHssOptions& options = {});

#define STRATA_HSS_MATRIX_DECLARE(T)                                                    \
  extern template class HssMatrix<T>;                                                   \
  extern template Matrix<T> to_dense<T>(const ExecSpace&, const HssMatrix<T>&);         \
  extern template HssMatrix<T> make_random_hss<T>(const ExecSpace&, const ClusterTree&, \
                                                  const HssRanks&, std::uint64_t,       \
                                                  const RandomHssOptions&);             \
  extern template HssMatrix<T> make_random_hss<T>(                                      \
      const ExecSpace&, const ClusterTree&, index_type, std::uint64_t, const RandomHssOptions&);
STRATA_HSS_MATRIX_DECLARE(float)
STRATA_HSS_MATRIX_DECLARE(double)
#undef STRATA_HSS_MATRIX_DECLARE

}  // namespace strata::hss
