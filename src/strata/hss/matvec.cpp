#include "strata/hss/matvec.hpp"

#include <string>
#include <vector>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/hss/detail/core_team_blas.hpp"
#include "strata/hss/detail/tree_sweep.hpp"

namespace strata::hss {

namespace detail {

namespace {

using TeamPolicy = Kokkos::TeamPolicy<ExecSpace>;
using Member = TeamPolicy::member_type;

// The generator tables of one level seen from one side of the product: the basis applied on the
// way up (V for A, U for A^T) and the one applied on the way down.
template <class T>
struct Side {
  IndexArray rank, rows, offset, rank_offset;
  FlatArray<T> basis;
};

template <class T>
Side<T> upward_side(const HssLevel<T>& lv, Op op) {
  if (op == Op::none) return {lv.col_rank, lv.v_rows, lv.v_offset, lv.col_rank_offset, lv.v};
  return {lv.row_rank, lv.u_rows, lv.u_offset, lv.row_rank_offset, lv.u};
}

template <class T>
Side<T> downward_side(const HssLevel<T>& lv, Op op) {
  if (op == Op::none) return {lv.row_rank, lv.u_rows, lv.u_offset, lv.row_rank_offset, lv.u};
  return {lv.col_rank, lv.v_rows, lv.v_offset, lv.col_rank_offset, lv.v};
}

template <class T>
index_type total_rank(const HssLevel<T>& lv, Op op, bool upward) {
  const bool col = (op == Op::none) == upward;
  return col ? lv.col_rank_offset_host(lv.nodes) : lv.row_rank_offset_host(lv.nodes);
}

// x^ of the leaves: x^_i = W_i^T x(I_i).
template <class T>
struct UpwardLeaf {
  Side<T> w;
  ConstMatrix<T> x;
  Matrix<T> xhat;
  IndexArray begin;
  index_type first;
  template <class TeamMember>
  KOKKOS_INLINE_FUNCTION void operator()(const TeamMember& team, index_type i) const {
    team_gemm(team, true, false, static_cast<int>(w.rank(i)), static_cast<int>(x.extent(1)),
              static_cast<int>(w.rows(i)), T(1), w.basis.data() + w.offset(i),
              static_cast<long>(w.rows(i)), x.data() + begin(first + i),
              static_cast<long>(x.stride(1)), T(0), xhat.data() + w.rank_offset(i),
              static_cast<long>(xhat.stride(1)));
  }
};

// x^ of inner nodes: x^_p = W_p^T [x^_2p; x^_2p+1] (the children's slices are contiguous).
template <class T>
struct UpwardInner {
  Side<T> w, w_child;
  Matrix<T> xhat_child, xhat;
  template <class TeamMember>
  KOKKOS_INLINE_FUNCTION void operator()(const TeamMember& team, index_type p) const {
    team_gemm(team, true, false, static_cast<int>(w.rank(p)), static_cast<int>(xhat.extent(1)),
              static_cast<int>(w.rows(p)), T(1), w.basis.data() + w.offset(p),
              static_cast<long>(w.rows(p)), xhat_child.data() + w_child.rank_offset(2 * p),
              static_cast<long>(xhat_child.stride(1)), T(0), xhat.data() + w.rank_offset(p),
              static_cast<long>(xhat.stride(1)));
  }
};

// y^_j = op(B)_j x^_{j^1} + (Z_parent)_{rows of j} y^_parent for every node j of a level.
template <class T>
struct Downward {
  Side<T> w, z, z_parent;
  IndexArray b_offset;
  FlatArray<T> b;
  Matrix<T> xhat, yhat_parent, yhat;
  bool transpose, has_parent;
  template <class TeamMember>
  KOKKOS_INLINE_FUNCTION void operator()(const TeamMember& team, index_type j) const {
    const int k = static_cast<int>(xhat.extent(1));
    const long ldx = static_cast<long>(xhat.stride(1)), ldy = static_cast<long>(yhat.stride(1));
    const index_type s = j ^ 1;
    const int zj = static_cast<int>(z.rank(j));
    // A: B_j is r_j x c_s; A^T: B_s^T with B_s r_s x c_j (leading dim r_s = w.rank(s)).
    const T* bj = transpose ? b.data() + b_offset(s) : b.data() + b_offset(j);
    const long ldb = transpose ? static_cast<long>(w.rank(s)) : static_cast<long>(zj);
    team_gemm(team, transpose, false, zj, k, static_cast<int>(w.rank(s)), T(1), bj, ldb,
              xhat.data() + w.rank_offset(s), ldx, T(0), yhat.data() + z.rank_offset(j), ldy);
    if (has_parent) {
      team.team_barrier();
      const index_type p = j / 2;
      const index_type row0 = (j & 1) ? z.rank(j - 1) : 0;
      team_gemm(team, false, false, zj, k, static_cast<int>(z_parent.rank(p)), T(1),
                z_parent.basis.data() + z_parent.offset(p) + row0,
                static_cast<long>(z_parent.rows(p)), yhat_parent.data() + z_parent.rank_offset(p),
                static_cast<long>(yhat_parent.stride(1)), T(1), yhat.data() + z.rank_offset(j),
                ldy);
    }
  }
};

// y(I_i) = op(D_i) x(I_i) + Z_i y^_i on every leaf.
template <class T>
struct Leaf {
  Side<T> z;
  ConstMatrix<T> x;
  Matrix<T> yhat, y;
  IndexArray begin, size, d_offset;
  FlatArray<T> d;
  index_type first;
  bool transpose, has_bases;
  template <class TeamMember>
  KOKKOS_INLINE_FUNCTION void operator()(const TeamMember& team, index_type i) const {
    const int k = static_cast<int>(x.extent(1));
    const long ldy = static_cast<long>(y.stride(1));
    const int m = static_cast<int>(size(first + i));
    const index_type row = begin(first + i);
    team_gemm(team, transpose, false, m, k, m, T(1), d.data() + d_offset(i), static_cast<long>(m),
              x.data() + row, static_cast<long>(x.stride(1)), T(0), y.data() + row, ldy);
    if (has_bases) {
      team.team_barrier();
      team_gemm(team, false, false, m, k, static_cast<int>(z.rank(i)), T(1),
                z.basis.data() + z.offset(i), static_cast<long>(m), yhat.data() + z.rank_offset(i),
                static_cast<long>(yhat.stride(1)), T(1), y.data() + row, ldy);
    }
  }
};

// One kernel over the nodes of a level, a team per node.
template <class Step>
void level_kernel(const ExecSpace& exec, const char* label, index_type nodes, const Step& step) {
  Kokkos::parallel_for(
      label, kx::auto_team_policy(exec, static_cast<int>(nodes)),
      KOKKOS_LAMBDA(const Member& team) { step(team, team.league_rank()); });
}

// The steps of every level of one product (index l: level l; leaf steps at the leaf level).
template <class T>
struct Steps {
  std::vector<UpwardInner<T>> up;
  UpwardLeaf<T> up_leaf;
  std::vector<Downward<T>> down;
  Leaf<T> leaf;
};

template <class T>
Steps<T> make_steps(const HssMatrix<T>& a, Op op, const ConstMatrix<T>& x, const Matrix<T>& y,
                    const std::vector<Matrix<T>>& xhat, const std::vector<Matrix<T>>& yhat) {
  const int levels = a.levels();
  const ClusterTree& tree = a.tree();
  const index_type first = ClusterTree::heap_index(tree.levels(), 0);
  const bool transpose = op == Op::transpose;
  const auto at = [](int l) {
    return static_cast<std::size_t>(l);
  };
  Steps<T> st;
  st.up.resize(at(levels) + 1);
  st.down.resize(at(levels) + 1);
  st.up_leaf = {upward_side(a.level(levels), op), x, xhat[at(levels)], tree.begin(), first};
  for (int l = levels - 1; l >= 1; --l)
    st.up[at(l)] = {upward_side(a.level(l), op), upward_side(a.level(l + 1), op), xhat[at(l + 1)],
                    xhat[at(l)]};
  for (int l = 1; l <= levels; ++l) {
    const HssLevel<T>& lv = a.level(l);
    const bool has_parent = l >= 2;
    st.down[at(l)] = {upward_side(lv, op),
                      downward_side(lv, op),
                      has_parent ? downward_side(a.level(l - 1), op) : Side<T>{},
                      lv.b_offset,
                      lv.b,
                      xhat[at(l)],
                      has_parent ? yhat[at(l) - 1] : Matrix<T>{},
                      yhat[at(l)],
                      transpose,
                      has_parent};
  }
  st.leaf = {downward_side(a.level(levels), op),
             x,
             yhat[at(levels)],
             y,
             tree.begin(),
             tree.sizes(),
             a.d_offset(),
             a.d(),
             first,
             transpose,
             true};
  return st;
}

// The product level by level: 2L + 1 kernels (the GPU route).
template <class T>
void per_level(const ExecSpace& exec, const Steps<T>& st, int levels) {
  const auto at = [](int l) {
    return static_cast<std::size_t>(l);
  };
  level_kernel(exec, "strata::hss::matvec::upward_leaves", ClusterTree::nodes_on_level(levels),
               st.up_leaf);
  for (int l = levels - 1; l >= 1; --l)
    level_kernel(exec, "strata::hss::matvec::upward_inner", ClusterTree::nodes_on_level(l),
                 st.up[at(l)]);
  for (int l = 1; l <= levels; ++l)
    level_kernel(exec, "strata::hss::matvec::downward", ClusterTree::nodes_on_level(l),
                 st.down[at(l)]);
  level_kernel(exec, "strata::hss::matvec::leaves", ClusterTree::nodes_on_level(levels), st.leaf);
}

// The product by subtrees (tree_sweep.hpp): four host kernels whatever the depth. A template on
// the space, so that device builds never instantiate its host lambdas.
template <class Exec, class T>
void host_sweeps(const Exec& exec, const Steps<T>& st, int levels, bool split_at_leaves) {
  using TeamMember = typename Kokkos::TeamPolicy<Exec>::member_type;
  host_tree_sweep(
      exec, "strata::hss::matvec::upward", 1, levels, true,
      [&](const TeamMember& team, int l, index_type i) {
        if (l == levels) {
          st.up_leaf(team, i);
        } else {
          st.up[static_cast<std::size_t>(l)](team, i);
        }
      },
      split_at_leaves);
  host_tree_sweep(
      exec, "strata::hss::matvec::downward", 1, levels, false,
      [&](const TeamMember& team, int l, index_type i) {
        st.down[static_cast<std::size_t>(l)](team, i);
        if (l == levels) {
          team.team_barrier();
          st.leaf(team, i);
        }
      },
      split_at_leaves);
}

}  // namespace

template <class T>
void matvec_permuted(const ExecSpace& exec, const HssMatrix<T>& a, const ConstMatrix<T>& x,
                     const Matrix<T>& y, Op op, TreeSweep sweep) {
  const detail::TeamBlasThreads<ExecSpace> team_blas_threads;  // core_team_blas.hpp
  kx::ScopedRegion region("strata::hss::matvec");
  const int levels = a.levels();
  const index_type k = static_cast<index_type>(x.extent(1));
  if (k == 0) return;
  if (levels == 0) {
    const ClusterTree& tree = a.tree();
    const Leaf<T> leaf{
        Side<T>{}, x, Matrix<T>{},         y,    tree.begin(), tree.sizes(), a.d_offset(),
        a.d(),     0, op == Op::transpose, false};
    level_kernel(exec, "strata::hss::matvec::leaves", 1, leaf);
    return;
  }
  std::vector<Matrix<T>> xhat(static_cast<std::size_t>(levels) + 1),
      yhat(static_cast<std::size_t>(levels) + 1);
  for (int l = 1; l <= levels; ++l) {
    const HssLevel<T>& lv = a.level(l);
    xhat[static_cast<std::size_t>(l)] = Matrix<T>(
        Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::matvec::xhat"),
        total_rank(lv, op, true), k);
    yhat[static_cast<std::size_t>(l)] = Matrix<T>(
        Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::matvec::yhat"),
        total_rank(lv, op, false), k);
  }
  const Steps<T> st = make_steps(a, op, x, y, xhat, yhat);
  if constexpr (kx::runs_on_host<ExecSpace>) {
    if (sweep != TreeSweep::per_level) {
      host_sweeps(exec, st, levels, sweep == TreeSweep::host_split_at_leaves);
      return;
    }
  }
  per_level(exec, st, levels);
}

template <class T>
void permute_rows(const ExecSpace& exec, const IndexArray& perm, const ConstMatrix<T>& x,
                  const Matrix<T>& y, bool to_permuted) {
  const index_type n = static_cast<index_type>(x.extent(0));
  Kokkos::parallel_for(
      "strata::hss::permute_rows",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>, Kokkos::IndexType<index_type>>(
          exec, {0, 0}, {n, static_cast<index_type>(x.extent(1))}),
      KOKKOS_LAMBDA(const index_type p, const index_type c) {
        if (to_permuted) {
          y(p, c) = x(perm(p), c);
        } else {
          y(perm(p), c) = x(p, c);
        }
      });
}

}  // namespace detail

template <class T>
void matvec(const ExecSpace& exec, const HssMatrix<T>& a, const ConstMatrix<T>& x,
            const Matrix<T>& y, Op op) {
  const index_type n = a.size();
  const index_type k = static_cast<index_type>(x.extent(1));
  STRATA_REQUIRE(n >= 1, InvalidArgument, "hss::matvec: the HSS matrix is empty (not built)");
  require_shape(x, n, k, "hss::matvec: X");
  require_shape(y, n, k, "hss::matvec: Y");
  STRATA_REQUIRE(k == 0 || static_cast<const void*>(x.data()) != static_cast<const void*>(y.data()),
                 InvalidArgument, "hss::matvec: X and Y share memory; Y must be a separate array");
  checked_int(k, "hss::matvec: number of vectors");
  if (a.tree().is_identity()) {
    detail::matvec_permuted(exec, a, x, y, op);
    return;
  }
  Matrix<T> xp(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::matvec::xp"), n,
               k);
  Matrix<T> yp(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::matvec::yp"), n,
               k);
  detail::permute_rows<T>(exec, a.tree().permutation(), x, xp, true);
  detail::matvec_permuted<T>(exec, a, xp, yp, op);
  detail::permute_rows<T>(exec, a.tree().permutation(), yp, y, false);
}

#define STRATA_HSS_MATVEC_INSTANTIATE(T)                                                \
  template void matvec<T>(const ExecSpace&, const HssMatrix<T>&, const ConstMatrix<T>&, \
                          const Matrix<T>&, Op);                                        \
  template void detail::matvec_permuted<T>(const ExecSpace&, const HssMatrix<T>&,       \
                                           const ConstMatrix<T>&, const Matrix<T>&, Op, \
                                           detail::TreeSweep);                          \
  template void detail::permute_rows<T>(const ExecSpace&, const IndexArray&,            \
                                        const ConstMatrix<T>&, const Matrix<T>&, bool);
STRATA_HSS_MATVEC_INSTANTIATE(float)
STRATA_HSS_MATVEC_INSTANTIATE(double)
#undef STRATA_HSS_MATVEC_INSTANTIATE

}  // namespace strata::hss
