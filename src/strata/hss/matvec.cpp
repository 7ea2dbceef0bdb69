#include "strata/hss/matvec.hpp"

#include <string>
#include <vector>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/hss/detail/core_team_blas.hpp"

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
void upward_leaves(const ExecSpace& exec, const ClusterTree& tree, const Side<T>& w,
                   const ConstMatrix<T>& x, const Matrix<T>& xhat, index_type nodes) {
  const int k = static_cast<int>(x.extent(1));
  const long ldx = static_cast<long>(x.stride(1)), ldh = static_cast<long>(xhat.stride(1));
  const IndexArray begin = tree.begin();
  const index_type first = ClusterTree::heap_index(tree.levels(), 0);
  Kokkos::parallel_for(
      "strata::hss::matvec::upward_leaves", kx::auto_team_policy(exec, nodes),
      KOKKOS_LAMBDA(const Member& team) {
        const index_type i = team.league_rank();
        team_gemm(team, true, false, static_cast<int>(w.rank(i)), k, static_cast<int>(w.rows(i)),
                  T(1), w.basis.data() + w.offset(i), static_cast<long>(w.rows(i)),
                  x.data() + begin(first + i), ldx, T(0), xhat.data() + w.rank_offset(i), ldh);
      });
}

// x^ of inner nodes: x^_p = W_p^T [x^_2p; x^_2p+1] (the children's slices are contiguous).
template <class T>
void upward_inner(const ExecSpace& exec, const Side<T>& w, const Side<T>& w_child,
                  const Matrix<T>& xhat_child, const Matrix<T>& xhat, index_type nodes) {
  const int k = static_cast<int>(xhat.extent(1));
  const long ldc = static_cast<long>(xhat_child.stride(1)), ldh = static_cast<long>(xhat.stride(1));
  Kokkos::parallel_for(
      "strata::hss::matvec::upward_inner", kx::auto_team_policy(exec, nodes),
      KOKKOS_LAMBDA(const Member& team) {
        const index_type p = team.league_rank();
        team_gemm(team, true, false, static_cast<int>(w.rank(p)), k, static_cast<int>(w.rows(p)),
                  T(1), w.basis.data() + w.offset(p), static_cast<long>(w.rows(p)),
                  xhat_child.data() + w_child.rank_offset(2 * p), ldc, T(0),
                  xhat.data() + w.rank_offset(p), ldh);
      });
}

// y^_j = op(B)_j x^_{j^1} + (Z_parent)_{rows of j} y^_parent for every node j of a level.
template <class T>
void downward_level(const ExecSpace& exec, const HssLevel<T>& lv, Op op, const Side<T>& w,
                    const Side<T>& z, const Side<T>& z_parent, const Matrix<T>& xhat,
                    const Matrix<T>& yhat_parent, const Matrix<T>& yhat, bool has_parent) {
  const int k = static_cast<int>(xhat.extent(1));
  const long ldx = static_cast<long>(xhat.stride(1)), ldy = static_cast<long>(yhat.stride(1)),
             ldp = static_cast<long>(yhat_parent.stride(1));
  const bool transpose = op == Op::transpose;
  const IndexArray b_offset = lv.b_offset;
  const FlatArray<T> b = lv.b;
  Kokkos::parallel_for(
      "strata::hss::matvec::downward", kx::auto_team_policy(exec, lv.nodes),
      KOKKOS_LAMBDA(const Member& team) {
        const index_type j = team.league_rank();
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
                    static_cast<long>(z_parent.rows(p)),
                    yhat_parent.data() + z_parent.rank_offset(p), ldp, T(1),
                    yhat.data() + z.rank_offset(j), ldy);
        }
      });
}

// y(I_i) = op(D_i) x(I_i) + Z_i y^_i on every leaf.
template <class T>
void leaves(const ExecSpace& exec, const HssMatrix<T>& a, Op op, const Side<T>& z,
            const ConstMatrix<T>& x, const Matrix<T>& yhat, const Matrix<T>& y, bool has_bases) {
  const int k = static_cast<int>(x.extent(1));
  const long ldx = static_cast<long>(x.stride(1)), ldy = static_cast<long>(y.stride(1)),
             ldh = static_cast<long>(yhat.stride(1));
  const ClusterTree& tree = a.tree();
  const IndexArray begin = tree.begin(), size = tree.sizes();
  const index_type first = ClusterTree::heap_index(tree.levels(), 0);
  const IndexArray d_offset = a.d_offset();
  const FlatArray<T> d = a.d();
  const bool transpose = op == Op::transpose;
  Kokkos::parallel_for(
      "strata::hss::matvec::leaves",
      kx::auto_team_policy(exec, ClusterTree::nodes_on_level(tree.levels())),
      KOKKOS_LAMBDA(const Member& team) {
        const index_type i = team.league_rank();
        const int m = static_cast<int>(size(first + i));
        const index_type row = begin(first + i);
        team_gemm(team, transpose, false, m, k, m, T(1), d.data() + d_offset(i),
                  static_cast<long>(m), x.data() + row, ldx, T(0), y.data() + row, ldy);
        if (has_bases) {
          team.team_barrier();
          team_gemm(team, false, false, m, k, static_cast<int>(z.rank(i)), T(1),
                    z.basis.data() + z.offset(i), static_cast<long>(m),
                    yhat.data() + z.rank_offset(i), ldh, T(1), y.data() + row, ldy);
        }
      });
}

}  // namespace

template <class T>
void matvec_permuted(const ExecSpace& exec, const HssMatrix<T>& a, const ConstMatrix<T>& x,
                     const Matrix<T>& y, Op op) {
  kx::ScopedRegion region("strata::hss::matvec");
  const int levels = a.levels();
  const index_type k = static_cast<index_type>(x.extent(1));
  if (k == 0) return;
  if (levels == 0) {
    leaves<T>(exec, a, op, Side<T>{}, x, Matrix<T>{}, y, false);
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
  upward_leaves<T>(exec, a.tree(), upward_side(a.level(levels), op), x,
                   xhat[static_cast<std::size_t>(levels)], a.level(levels).nodes);
  for (int l = levels - 1; l >= 1; --l) {
    upward_inner<T>(exec, upward_side(a.level(l), op), upward_side(a.level(l + 1), op),
                    xhat[static_cast<std::size_t>(l) + 1], xhat[static_cast<std::size_t>(l)],
                    a.level(l).nodes);
  }
  for (int l = 1; l <= levels; ++l) {
    const HssLevel<T>& lv = a.level(l);
    const bool has_parent = l >= 2;
    downward_level<T>(exec, lv, op, upward_side(lv, op), downward_side(lv, op),
                      has_parent ? downward_side(a.level(l - 1), op) : Side<T>{},
                      xhat[static_cast<std::size_t>(l)],
                      has_parent ? yhat[static_cast<std::size_t>(l) - 1] : Matrix<T>{},
                      yhat[static_cast<std::size_t>(l)], has_parent);
  }
  leaves<T>(exec, a, op, downward_side(a.level(levels), op), x,
            yhat[static_cast<std::size_t>(levels)], y, true);
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

#define STRATA_HSS_MATVEC_INSTANTIATE(T)                                                 \
  template void matvec<T>(const ExecSpace&, const HssMatrix<T>&, const ConstMatrix<T>&,  \
                          const Matrix<T>&, Op);                                         \
  template void detail::matvec_permuted<T>(const ExecSpace&, const HssMatrix<T>&,        \
                                           const ConstMatrix<T>&, const Matrix<T>&, Op); \
  template void detail::permute_rows<T>(const ExecSpace&, const IndexArray&,             \
                                        const ConstMatrix<T>&, const Matrix<T>&, bool);
STRATA_HSS_MATVEC_INSTANTIATE(float)
STRATA_HSS_MATVEC_INSTANTIATE(double)
#undef STRATA_HSS_MATVEC_INSTANTIATE

}  // namespace strata::hss
