// Building blocks of the distributed HSS algorithms (distributed.hpp): products with the nested
// bases of a subtree root, the top levels' product on the reduced vectors of the split level, and
// the allgather of per-node blocks. Every per-level step is one kernel with a team per node.
#pragma once

#include <string>
#include <vector>

#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/dist/operations.hpp"
#include "strata/hss/detail/core_team_blas.hpp"
#include "strata/hss/hss_matrix.hpp"
#include "strata/hss/matvec.hpp"

namespace strata::hss::detail {

/// The basis tables of one level seen from one side: U (row ranks) or V (column ranks).
template <class T>
struct BasisSide {
  FlatArray<T> basis;
  IndexArray offset, rows, rank;
  HostIndexArray rows_host, rank_host, rank_offset_host;
};

template <class T>
BasisSide<T> basis_side(const HssLevel<T>& lv, bool row_side) {
  if (row_side) {
    return {lv.u,
            lv.u_offset,
            lv.u_rows,
            lv.row_rank,
            lv.u_rows_host,
            lv.row_rank_host,
            lv.row_rank_offset_host};
  }
  return {lv.v,
          lv.v_offset,
          lv.v_rows,
          lv.col_rank,
          lv.v_rows_host,
          lv.col_rank_host,
          lv.col_rank_offset_host};
}

/// The basis applied on the way up (V for A, U for A^T) and on the way down (U for A, V for A^T).
template <class T>
BasisSide<T> up_side(const HssLevel<T>& lv, Op op) {
  return basis_side(lv, op == Op::transpose);
}
template <class T>
BasisSide<T> down_side(const HssLevel<T>& lv, Op op) {
  return basis_side(lv, op == Op::none);
}

inline IndexArray device_index(const std::vector<index_type>& host, const std::string& label) {
  IndexArray d(label, host.size());
  auto h = Kokkos::create_mirror_view(d);
  for (std::size_t i = 0; i < host.size(); ++i) h(i) = host[i];
  Kokkos::deep_copy(d, h);
  return d;
}

/// out(out_row[i] + :, :) = op(W_{node0 + i}) in(in_row[i] + :, :) + beta out(...) for
/// i < in_row.size(), with op = transpose (W^T: rank x rows) or none (W: rows x rank).
template <class T>
void apply_bases(const ExecSpace& exec, const BasisSide<T>& w, index_type node0,
                 const std::vector<index_type>& in_row, const std::vector<index_type>& out_row,
                 bool transpose, const ConstMatrix<T>& in, const Matrix<T>& out, T beta) {
  const detail::TeamBlasThreads<ExecSpace> team_blas_threads;  // core_team_blas.hpp
  using TeamPolicy = Kokkos::TeamPolicy<ExecSpace>;
  const int k = static_cast<int>(in.extent(1));
  const auto count = static_cast<index_type>(in_row.size());
  if (count == 0 || k == 0) return;
  const IndexArray in_off = device_index(in_row, "strata::hss::dist::in_row");
  const IndexArray out_off = device_index(out_row, "strata::hss::dist::out_row");
  const long ldi = static_cast<long>(in.stride(1)), ldo = static_cast<long>(out.stride(1));
  const FlatArray<T> basis = w.basis;
  const IndexArray offset = w.offset, w_rows = w.rows, w_rank = w.rank;
  Kokkos::parallel_for(
      "strata::hss::dist::apply_bases", kx::auto_team_policy(exec, count),
      KOKKOS_LAMBDA(const TeamPolicy::member_type& team) {
        const index_type i = team.league_rank();
        const index_type node = node0 + i;
        const int rows = static_cast<int>(w_rows(node)), rank = static_cast<int>(w_rank(node));
        const T* wp = basis.data() + offset(node);
        const long ldw = rows > 0 ? static_cast<long>(rows) : 1;
        if (transpose) {
          team_gemm(team, true, false, rank, k, rows, T(1), wp, ldw, in.data() + in_off(i), ldi,
                    beta, out.data() + out_off(i), ldo);
        } else {
          team_gemm(team, false, false, rows, k, rank, T(1), wp, ldw, in.data() + in_off(i), ldi,
                    beta, out.data() + out_off(i), ldo);
        }
      });
}

/// y^_j = op(B)_j x^_{j^1} for every node j of level `lv` (x^, y^ stacked by the up / down side's
/// rank offsets): the sibling couplings of one level.
template <class T>
void apply_couplings(const ExecSpace& exec, const HssLevel<T>& lv, Op op, const Matrix<T>& xhat,
                     const Matrix<T>& yhat) {
  const detail::TeamBlasThreads<ExecSpace> team_blas_threads;  // core_team_blas.hpp
  using TeamPolicy = Kokkos::TeamPolicy<ExecSpace>;
  const int k = static_cast<int>(xhat.extent(1));
  if (k == 0) return;
  const bool transpose = op == Op::transpose;
  const IndexArray w_rank = transpose ? lv.row_rank : lv.col_rank;
  const IndexArray w_off = transpose ? lv.row_rank_offset : lv.col_rank_offset;
  const IndexArray z_rank = transpose ? lv.col_rank : lv.row_rank;
  const IndexArray z_off = transpose ? lv.col_rank_offset : lv.row_rank_offset;
  const IndexArray b_offset = lv.b_offset;
  const FlatArray<T> b = lv.b;
  const long ldx = static_cast<long>(xhat.stride(1)), ldy = static_cast<long>(yhat.stride(1));
  Kokkos::parallel_for(
      "strata::hss::dist::couplings", kx::auto_team_policy(exec, lv.nodes),
      KOKKOS_LAMBDA(const TeamPolicy::member_type& team) {
        const index_type j = team.league_rank();
        const index_type s = j ^ 1;
        const int zj = static_cast<int>(z_rank(j)), ws = static_cast<int>(w_rank(s));
        // A: B_j (r_j x c_s); A^T: B_s^T with B_s r_s x c_j.
        const T* bj = transpose ? b.data() + b_offset(s) : b.data() + b_offset(j);
        const long ldb = transpose ? (ws > 0 ? ws : 1) : (zj > 0 ? zj : 1);
        team_gemm(team, transpose, false, zj, k, ws, T(1), bj, static_cast<long>(ldb),
                  xhat.data() + w_off(s), ldx, T(0), yhat.data() + z_off(j), ldy);
      });
}

/// The top of the split matrix on every rank: from x^ of all nodes of level ls (stacked by the up
/// side's rank offsets) to y^ = A~ x^ of all nodes of level ls (stacked by the down side's): the
/// upward pass over levels ls-1..1, the couplings of levels 1..ls and the downward pass.
template <class T>
Matrix<T> top_product(const ExecSpace& exec, const std::vector<HssLevel<T>>& top, int ls, Op op,
                      const Matrix<T>& xhat_ls) {
  const index_type k = static_cast<index_type>(xhat_ls.extent(1));
  const auto at = [&](int l) -> const HssLevel<T>& {
    return top[static_cast<std::size_t>(l)];
  };
  std::vector<Matrix<T>> xh(static_cast<std::size_t>(ls) + 1), yh(xh.size());
  xh[static_cast<std::size_t>(ls)] = xhat_ls;
  for (int l = ls - 1; l >= 1; --l) {
    const auto w = up_side(at(l), op), wc = up_side(at(l + 1), op);
    const index_type nodes = at(l).nodes;
    xh[static_cast<std::size_t>(l)] =
        Matrix<T>("strata::hss::dist::top_xhat", w.rank_offset_host(nodes), k);
    std::vector<index_type> in(static_cast<std::size_t>(nodes)), out(in.size());
    for (index_type p = 0; p < nodes; ++p) {
      in[static_cast<std::size_t>(p)] = wc.rank_offset_host(2 * p);
      out[static_cast<std::size_t>(p)] = w.rank_offset_host(p);
    }
    apply_bases<T>(exec, w, 0, in, out, true, xh[static_cast<std::size_t>(l) + 1],
                   xh[static_cast<std::size_t>(l)], T(0));
  }
  for (int l = 1; l <= ls; ++l) {
    const auto z = down_side(at(l), op);
    yh[static_cast<std::size_t>(l)] =
        Matrix<T>("strata::hss::dist::top_yhat", z.rank_offset_host(at(l).nodes), k);
    apply_couplings<T>(exec, at(l), op, xh[static_cast<std::size_t>(l)],
                       yh[static_cast<std::size_t>(l)]);
    if (l >= 2) {
      const auto zp = down_side(at(l - 1), op);
      const index_type parents = at(l - 1).nodes;
      std::vector<index_type> in(static_cast<std::size_t>(parents)), out(in.size());
      for (index_type p = 0; p < parents; ++p) {
        in[static_cast<std::size_t>(p)] = zp.rank_offset_host(p);
        out[static_cast<std::size_t>(p)] = z.rank_offset_host(2 * p);
      }
      apply_bases<T>(exec, zp, 0, in, out, false, yh[static_cast<std::size_t>(l) - 1],
                     yh[static_cast<std::size_t>(l)], T(1));
    }
  }
  return yh[static_cast<std::size_t>(ls)];
}

/// xhat(out_row + :, :) = (W^big_g)^T x for the subtree `sub` rooted at node g of the split level
/// (its root basis in `top_ls`; x: the subtree's rows, permuted order): the upward pass.
template <class T>
void subtree_up(const ExecSpace& exec, const HssMatrix<T>& sub, const HssLevel<T>& top_ls,
                index_type g, Op op, const ConstMatrix<T>& x, const Matrix<T>& xhat,
                index_type out_row) {
  const int levels = sub.levels();
  const index_type k = static_cast<index_type>(x.extent(1));
  ConstMatrix<T> below = x;
  index_type below_row = 0;
  std::vector<Matrix<T>> xh(static_cast<std::size_t>(levels) + 1);
  for (int l = levels; l >= 1; --l) {
    const auto w = up_side(sub.level(l), op);
    const index_type nodes = sub.level(l).nodes;
    xh[static_cast<std::size_t>(l)] =
        Matrix<T>("strata::hss::dist::sub_xhat", w.rank_offset_host(nodes), k);
    std::vector<index_type> in(static_cast<std::size_t>(nodes)), out(in.size());
    for (index_type p = 0; p < nodes; ++p) {
      in[static_cast<std::size_t>(p)] = l == levels
                                            ? sub.tree().node_begin(l, p)
                                            : up_side(sub.level(l + 1), op).rank_offset_host(2 * p);
      out[static_cast<std::size_t>(p)] = w.rank_offset_host(p);
    }
    apply_bases<T>(exec, w, 0, in, out, true, l == levels ? x : ConstMatrix<T>(xh[l + 1]),
                   xh[static_cast<std::size_t>(l)], T(0));
  }
  if (levels >= 1) below = xh[1];
  apply_bases<T>(exec, up_side(top_ls, op), g, {below_row}, {out_row}, true, below, xhat, T(0));
}

/// y += Z^big_g yhat(in_row + :, :) for the subtree `sub` rooted at node g of the split level: the
/// downward pass through the nested bases (no couplings: those are in the subtree's own matvec).
template <class T>
void subtree_down(const ExecSpace& exec, const HssMatrix<T>& sub, const HssLevel<T>& top_ls,
                  index_type g, Op op, const ConstMatrix<T>& yhat, index_type in_row,
                  const Matrix<T>& y) {
  const int levels = sub.levels();
  const index_type k = static_cast<index_type>(yhat.extent(1));
  const auto root = down_side(top_ls, op);
  if (levels == 0) {
    apply_bases<T>(exec, root, g, {in_row}, {0}, false, yhat, y, T(1));
    return;
  }
  Matrix<T> above("strata::hss::dist::sub_yhat", down_side(sub.level(1), op).rank_offset_host(2),
                  k);
  apply_bases<T>(exec, root, g, {in_row}, {0}, false, yhat, above, T(0));
  for (int l = 1; l <= levels; ++l) {
    // `above` holds y^ of the nodes of level l; apply their bases into level l + 1 (or y).
    const auto z = down_side(sub.level(l), op);
    const index_type nodes = sub.level(l).nodes;
    const bool leaf = l == levels;
    std::vector<index_type> in(static_cast<std::size_t>(nodes)), out(in.size());
    for (index_type p = 0; p < nodes; ++p) {
      in[static_cast<std::size_t>(p)] = z.rank_offset_host(p);
      out[static_cast<std::size_t>(p)] =
          leaf ? sub.tree().node_begin(l, p)
               : down_side(sub.level(l + 1), op).rank_offset_host(2 * p);
    }
    if (leaf) {
      apply_bases<T>(exec, z, 0, in, out, false, above, y, T(1));
    } else {
      Matrix<T> next("strata::hss::dist::sub_yhat",
                     down_side(sub.level(l + 1), op).rank_offset_host(2 * nodes), k);
      apply_bases<T>(exec, z, 0, in, out, false, above, next, T(0));
      above = next;
    }
  }
}

/// Rows of the per-rank blocks of a level-ls stacked vector: rank p holds the ranks (`rank_offset`
/// of the split level, one side) of its nodes [first(p), first(p+1)).
inline BlockRowLayout node_block_layout(const HostIndexArray& rank_offset,
                                        const std::vector<index_type>& first_node) {
  std::vector<index_type> counts(first_node.size() - 1);
  for (std::size_t p = 0; p < counts.size(); ++p)
    counts[p] = rank_offset(first_node[p + 1]) - rank_offset(first_node[p]);
  return BlockRowLayout::from_counts(counts);
}

}  // namespace strata::hss::detail
