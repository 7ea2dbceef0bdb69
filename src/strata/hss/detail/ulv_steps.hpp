// The per-level steps of the ULV factorization and solve (ulv.hpp), shared by the single-process
// driver (ulv.cpp) and the distributed one (dist_ulv.cpp): one elimination routine for both.
//
// A step works on one level of nodes t = 0..nodes-1. It reads the nodes' own bases (`own`: the
// leaf bases or the transfer matrices U_t, V_t) and, below them, either the leaf blocks D_t or the
// factored children 2t, 2t + 1 (their couplings B in `children`, their factors in `factored`).
// The single-process ULV runs the steps on levels L..1 of the matrix and factors the root. The
// distributed ULV runs the same steps on levels L..l_s of every subtree (the subtree root g of
// level l_s is one more eliminated node, its bases taken from the replicated top), allgathers the
// reduced blocks of level l_s and runs the steps of levels l_s - 1..1 and the root on every rank,
// with the gathered level as the factored children of level l_s - 1.
#pragma once

#include <string>
#include <vector>

#include "strata/hss/detail/tree_sweep.hpp"
#include "strata/hss/ulv.hpp"

namespace strata::hss::detail {

/// Count of zero pivots (general) or non-positive pivots (SPD) met by the factorization kernels.
struct UlvBreakdown {
  Kokkos::View<int, MemSpace> count;
  KOKKOS_INLINE_FUNCTION void add(int n) const {
    if (n != 0) Kokkos::atomic_add(&count(), n);
  }
};

/// Throws NumericalError (with `context` in the message) when the kernels met a breakdown: a zero
/// pivot (general: the matrix is singular to working precision) or a non-positive one (SPD).
/// Reads the count back to the host (fences exec).
void ulv_check_breakdown(const ExecSpace& exec, const UlvBreakdown& breakdown, bool spd,
                         const char* context);

/// The tables of a level of `nodes` nodes with m unknowns, row rank r and column rank c each
/// (ulv.hpp, UlvLevel); factor storage allocated, zero.
template <class T>
UlvLevel<T> make_ulv_level(index_type nodes, const std::vector<index_type>& m,
                           const std::vector<index_type>& r, const std::vector<index_type>& c,
                           bool general, const std::string& tag);

/// What one step reads on a level (see the file comment).
template <class T>
struct UlvLevelInput {
  HssLevel<T> own;  ///< U_t, V_t of the level's nodes (unused at the root)
  bool leaf = false;
  FlatArray<T> d;       ///< leaf blocks D_t (leaf)
  IndexArray d_offset;  ///< their offsets (leaf)
  IndexArray begin;     ///< first row of leaf t: begin(first + t) (leaf; a cluster tree's table)
  index_type first = 0;
  HssLevel<T> children;  ///< the children's couplings B_2t, B_2t+1 (inner)
  UlvLevel<T> factored;  ///< the children's factors (inner)
};

/// Level l of the HSS matrix `a` (0 <= l <= L), its factored children at levels[l + 1].
template <class T>
UlvLevelInput<T> ulv_tree_input(const HssMatrix<T>& a, const std::vector<UlvLevel<T>>& levels,
                                int l);

/// The tables of levels 0..L of the ULV factor of `a`; level 0 (the root, m = sum of its
/// children's row ranks or the leaf size) gets row rank root_r and column rank root_c (0 for the
/// single-process root; the ranks of the subtree root for a distributed subtree).
template <class T>
std::vector<UlvLevel<T>> ulv_tree_levels(const HssMatrix<T>& a, index_type root_r,
                                         index_type root_c, bool general);

/// Eliminates every node of one level into `lv` (one kernel, a team per node).
template <class T>
void ulv_eliminate(const ExecSpace& exec, const UlvLevelInput<T>& in, const UlvLevel<T>& lv,
                   bool spd, const UlvBreakdown& breakdown);

/// Levels L..1 of `a` into levels[L..1] (ulv_tree_levels).
template <class T>
void ulv_eliminate_tree(const ExecSpace& exec, const HssMatrix<T>& a,
                        const std::vector<UlvLevel<T>>& levels, bool spd,
                        const UlvBreakdown& breakdown);

/// The root: assembles its block (from its factored children, or D at a single leaf) into
/// root.w and factors it, LU with partial pivoting into `pivots` (general) or Cholesky (SPD).
template <class T>
void ulv_factor_root(const ExecSpace& exec, const UlvLevelInput<T>& in, const UlvLevel<T>& root,
                     const Kokkos::View<int*, MemSpace>& pivots, bool spd,
                     const UlvBreakdown& breakdown);

/// Solve data of one level, stacked per node: rhs and x m rows, z m - r, bred r, w c; k columns.
template <class T>
struct UlvSolveLevel {
  Matrix<T> rhs, x, z, bred, w;
};

template <class T>
UlvSolveLevel<T> ulv_solve_buffers(const ExecSpace& exec, const UlvLevel<T>& lv, index_type k);

/// Upward step: from the right-hand side (leaves: rows row0 + begin(first + t) of b; inner: the
/// children's reduced ones in cs) to z (eliminated unknowns), bred (reduced right-hand side) and,
/// general variant, w = V^ ^T z terms for the parent.
template <class T>
void ulv_solve_up(const ExecSpace& exec, const UlvLevelInput<T>& in, const UlvLevel<T>& lv,
                  const UlvSolveLevel<T>& s, const UlvSolveLevel<T>& cs, const ConstMatrix<T>& b,
                  index_type row0, bool spd);

/// Root solve into s.x (m_root rows).
template <class T>
void ulv_solve_root(const ExecSpace& exec, const UlvLevelInput<T>& in, const UlvLevel<T>& root,
                    const Kokkos::View<int*, MemSpace>& pivots, const UlvSolveLevel<T>& s,
                    const UlvSolveLevel<T>& cs, const ConstMatrix<T>& b, bool spd);

/// Downward step: node t's kept unknowns are rows parent_row0 + lv.r_offset(t) of parent_x (the
/// solution of the parent level, stacked by the parent's m_offset = this level's r_offset); its
/// unknowns go to s.x (inner) or to rows row0 + begin(first + t) of y (leaves).
template <class T>
void ulv_solve_down(const ExecSpace& exec, const UlvLevelInput<T>& in, const UlvLevel<T>& lv,
                    const Matrix<T>& parent_x, index_type parent_row0, const UlvSolveLevel<T>& s,
                    const Matrix<T>& y, index_type row0, bool spd);

/// Upward steps of levels L..1 of `a` (factor levels as from ulv_eliminate_tree) into s[L..1].
/// `sweep`: level by level, or by subtrees on a host backend (tree_sweep.hpp; the same result bit
/// for bit).
template <class T>
void ulv_solve_up_tree(const ExecSpace& exec, const HssMatrix<T>& a,
                       const std::vector<UlvLevel<T>>& levels,
                       const std::vector<UlvSolveLevel<T>>& s, const ConstMatrix<T>& b,
                       index_type row0, bool spd, TreeSweep sweep = TreeSweep::automatic);

/// Downward steps of levels 1..L of `a` from the root level's solution s[0].x; leaves write rows
/// row0 + (their rows) of y. `sweep` as for ulv_solve_up_tree.
template <class T>
void ulv_solve_down_tree(const ExecSpace& exec, const HssMatrix<T>& a,
                         const std::vector<UlvLevel<T>>& levels,
                         const std::vector<UlvSolveLevel<T>>& s, const Matrix<T>& y,
                         index_type row0, bool spd, TreeSweep sweep = TreeSweep::automatic);

}  // namespace strata::hss::detail
