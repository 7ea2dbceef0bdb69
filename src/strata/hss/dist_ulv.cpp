// Distributed ULV (distributed.hpp, DistUlvFactor): the single-process elimination steps
// (detail/ulv_steps.hpp) on every rank's subtrees, one allgather of the reduced blocks of the
// subtree roots, the top factored and solved redundantly on every rank.
#include <algorithm>
#include <cmath>
#include <string>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "strata/hss/detail/conditioning.hpp"
#include "strata/hss/detail/core_team_blas.hpp"
#include "strata/hss/detail/ulv_steps.hpp"
#include "strata/hss/distributed.hpp"
#include "strata/linalg/norms.hpp"

namespace strata::hss {

namespace {

// Host and device tables holding `values`.
void make_table(const std::vector<index_type>& values, const std::string& label, IndexArray& dev,
                HostIndexArray& host) {
  host = HostIndexArray(label, values.size());
  for (std::size_t i = 0; i < values.size(); ++i) host(i) = values[i];
  dev = IndexArray(label, values.size());
  Kokkos::deep_copy(dev, host);
}

// Node g of level `lv` as a one-node level: its bases U_g, V_g (copies) and tables; no coupling
// (B belongs to the parent's step, which reads the whole level).
template <class T>
HssLevel<T> node_bases(const ExecSpace& exec, const HssLevel<T>& lv, index_type g) {
  const std::string tag = "strata::hss::dist::ulv::root_bases::";
  HssLevel<T> out;
  out.level = lv.level;
  out.nodes = 1;
  const index_type r = lv.row_rank_host(g), c = lv.col_rank_host(g);
  const index_type ur = lv.u_rows_host(g), vr = lv.v_rows_host(g);
  make_table({r}, tag + "row_rank", out.row_rank, out.row_rank_host);
  make_table({c}, tag + "col_rank", out.col_rank, out.col_rank_host);
  make_table({ur}, tag + "u_rows", out.u_rows, out.u_rows_host);
  make_table({vr}, tag + "v_rows", out.v_rows, out.v_rows_host);
  make_table({0, ur * r}, tag + "u_offset", out.u_offset, out.u_offset_host);
  make_table({0, vr * c}, tag + "v_offset", out.v_offset, out.v_offset_host);
  make_table({0, 0}, tag + "b_offset", out.b_offset, out.b_offset_host);
  make_table({0, r}, tag + "row_rank_offset", out.row_rank_offset, out.row_rank_offset_host);
  make_table({0, c}, tag + "col_rank_offset", out.col_rank_offset, out.col_rank_offset_host);
  out.u = FlatArray<T>(tag + "U", static_cast<std::size_t>(ur * r));
  out.v = FlatArray<T>(tag + "V", static_cast<std::size_t>(vr * c));
  out.b = FlatArray<T>(tag + "B", 0);
  const auto range = [](const HostIndexArray& offset, index_type i) {
    return Kokkos::make_pair(offset(i), offset(i + 1));
  };
  Kokkos::deep_copy(exec, out.u, Kokkos::subview(lv.u, range(lv.u_offset_host, g)));
  Kokkos::deep_copy(exec, out.v, Kokkos::subview(lv.v, range(lv.v_offset_host, g)));
  return out;
}

// The step input of subtree j's root g: the subtree's level 0 with g's bases.
template <class T>
detail::UlvLevelInput<T> subtree_root_input(const DistUlvFactor<T>& f, std::size_t j) {
  auto in = detail::ulv_tree_input(f.matrix.subtrees()[j], f.subtrees[j], 0);
  in.own = f.subtree_roots[j];
  return in;
}

// The step input of top level l < l_s: its transfer matrices, the couplings of level l + 1 and the
// factors of level l + 1 (the gathered reduced level at l + 1 = l_s).
template <class T>
detail::UlvLevelInput<T> top_input(const DistUlvFactor<T>& f, int l) {
  const int ls = f.matrix.split_level();
  detail::UlvLevelInput<T> in;
  if (l >= 1) in.own = f.matrix.top_level(l);
  in.children = f.matrix.top_level(l + 1);
  in.factored = l + 1 == ls ? f.reduced : f.top[static_cast<std::size_t>(l) + 1];
  return in;
}

// What the top needs of an eliminated subtree root (one-node level lv): D^ = W(0:r, m-r:m)
// (general) or the Schur complement W(0:r, 0:r) (SPD) to dst_d, R to dst_r and, general variant,
// V^ = (P^T V)(m-r:m, :) to dst_v (compact: r x r, r x r, r x c).
template <class T>
void pack_reduced(const ExecSpace& exec, const UlvLevel<T>& lv, bool spd, T* dst_d, T* dst_r,
                  T* dst_v) {
  const int m = static_cast<int>(lv.m_host(0)), r = static_cast<int>(lv.r_host(0)),
            c = static_cast<int>(lv.c_host(0));
  const int dcol = spd ? 0 : m - r;
  const T* w = lv.w.data();
  const T* rf = lv.rfactor.data();
  Kokkos::parallel_for(
      "strata::hss::dist::ulv::pack_reduced", Kokkos::RangePolicy<ExecSpace>(exec, 0, r * r),
      KOKKOS_LAMBDA(const int idx) {
        const int i = idx % r, j = idx / r;
        dst_d[idx] = w[i + (dcol + j) * m];
        dst_r[idx] = rf[idx];
      });
  if (spd) return;
  const T* vt = lv.vt.data();
  Kokkos::parallel_for(
      "strata::hss::dist::ulv::pack_basis", Kokkos::RangePolicy<ExecSpace>(exec, 0, r * c),
      KOKKOS_LAMBDA(const int idx) {
        const int i = idx % r, j = idx / r;
        dst_v[idx] = vt[(m - r) + i + j * m];
      });
}

// Rows [begin, end) of the matrix `dst` from `src` (same column count).
template <class T, class Src>
void copy_rows(const ExecSpace& exec, const Matrix<T>& dst, index_type begin, const Src& src) {
  const auto rows = static_cast<index_type>(src.extent(0));
  Kokkos::deep_copy(exec, Kokkos::subview(dst, Kokkos::make_pair(begin, begin + rows), Kokkos::ALL),
                    src);
}

}  // namespace

template <class T>
DistUlvFactor<T> ulv_factor(const ExecSpace& exec, const DistHssMatrix<T>& a,
                            const UlvOptions& options) {
  kx::ScopedRegion region("strata::hss::dist::ulv_factor");
  const detail::TeamBlasThreads<ExecSpace> team_blas_threads;  // core_team_blas.hpp
  Kokkos::Timer timer;
  const Comm& comm = a.comm();
  const bool spd = options.variant == UlvVariant::symmetric_positive_definite;
  const int ls = a.split_level();
  const auto& subs = a.subtrees();
  const index_type first = a.first_node();
  DistUlvFactor<T> f;
  f.matrix = a;
  f.variant = options.variant;
  const char* context = "hss::ulv_factor (distributed)";
  if (ls == 0) {
    // One rank: the single-process ULV of the whole matrix.
    collective(comm, [&] {
      STRATA_REQUIRE(a.size() >= 1, InvalidArgument,
                     "hss::ulv_factor: the distributed HSS matrix is empty (not built)");
      f.whole = ulv_factor<T>(exec, subs.front(), options);
    });
    f.factor_time_s = timer.seconds();
    return f;
  }
  const HssLevel<T>& top_ls = a.top_level(ls);
  const index_type roots = top_ls.nodes;
  // The gathered level l_s: m = r for every subtree root (its reduced unknowns).
  {
    std::vector<index_type> r(static_cast<std::size_t>(roots)), c(r.size());
    for (index_type g = 0; g < roots; ++g) {
      r[static_cast<std::size_t>(g)] = top_ls.row_rank_host(g);
      c[static_cast<std::size_t>(g)] = top_ls.col_rank_host(g);
    }
    f.reduced =
        detail::make_ulv_level<T>(roots, r, r, c, !spd, "strata::hss::dist::ulv::reduced::");
  }
  const auto& sq = f.reduced.rank_square_offset_host;  // r^2 prefix sums (D^ and R)
  const auto& vb = f.reduced.basis_offset_host;        // r c prefix sums (V^)
  // Per rank p: [D^ of its roots | R | V^ (general)], each in node order.
  const auto part = [&](int p) {
    const index_type g0 = a.split().first(p), g1 = g0 + a.split().count(p);
    const index_type squares = sq(g1) - sq(g0);
    return std::make_pair(squares, 2 * squares + (spd ? 0 : vb(g1) - vb(g0)));
  };
  const index_type my_squares = part(comm.rank()).first, my_count = part(comm.rank()).second;
  FlatArray<T> send(
      Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::dist::ulv::send"),
      my_count);
  // Local phase: the subtrees, then their roots; the reduced blocks packed for the allgather.
  collective(comm, [&] {
    STRATA_REQUIRE(a.size() >= 1, InvalidArgument,
                   "hss::ulv_factor: the distributed HSS matrix is empty (not built)");
    if (spd) {
      bool symmetric = true;
      for (const auto& sub : subs) symmetric = symmetric && sub.ranks().row == sub.ranks().col;
      for (int l = 1; l <= ls; ++l) {
        const auto& lv = a.top_level(l);
        for (index_type i = 0; i < lv.nodes; ++i)
          symmetric = symmetric && lv.row_rank_host(i) == lv.col_rank_host(i);
      }
      STRATA_REQUIRE(symmetric, InvalidArgument,
                     "hss::ulv_factor: the SPD variant needs a symmetric HSS matrix (V = U), but "
                     "its row and column ranks differ; use UlvVariant::general");
    }
    detail::UlvBreakdown breakdown{Kokkos::View<int, MemSpace>("strata::hss::dist::ulv::bad")};
    for (std::size_t j = 0; j < subs.size(); ++j) {
      const index_type g = first + static_cast<index_type>(j);
      auto levels =
          detail::ulv_tree_levels(subs[j], top_ls.row_rank_host(g), top_ls.col_rank_host(g), !spd);
      detail::ulv_eliminate_tree<T>(exec, subs[j], levels, spd, breakdown);
      f.subtrees.push_back(std::move(levels));
      f.subtree_roots.push_back(node_bases(exec, top_ls, g));
      detail::ulv_eliminate<T>(exec, subtree_root_input(f, j), f.subtrees[j][0], spd, breakdown);
      pack_reduced(exec, f.subtrees[j][0], spd, send.data() + (sq(g) - sq(first)),
                   send.data() + my_squares + (sq(g) - sq(first)),
                   spd ? nullptr : send.data() + 2 * my_squares + (vb(g) - vb(first)));
    }
    // A zero pivot here means A itself is singular: the eliminated rows of every step are rows of
    // (an orthogonal transform of) A that no other block sees.
    detail::ulv_check_breakdown(exec, breakdown, spd, context);
  });
  // One allgather; rank p's part holds the contiguous node range of its roots for each kind.
  std::vector<index_type> counts(static_cast<std::size_t>(comm.size()));
  for (int p = 0; p < comm.size(); ++p) counts[static_cast<std::size_t>(p)] = part(p).second;
  const Matrix<T> all = allgather_rows<T>(exec, comm, BlockRowLayout::from_counts(counts),
                                          ConstMatrix<T>(send.data(), my_count, 1));
  {
    index_type at = 0;
    for (int p = 0; p < comm.size(); ++p) {
      const index_type g0 = a.split().first(p), g1 = g0 + a.split().count(p);
      const index_type squares = sq(g1) - sq(g0), basis = spd ? 0 : vb(g1) - vb(g0);
      const auto piece = [&](index_type offset, index_type len) {
        return Kokkos::subview(FlatArray<T>(all.data(), all.extent(0)),
                               Kokkos::make_pair(at + offset, at + offset + len));
      };
      Kokkos::deep_copy(exec, Kokkos::subview(f.reduced.w, Kokkos::make_pair(sq(g0), sq(g1))),
                        piece(0, squares));
      Kokkos::deep_copy(exec, Kokkos::subview(f.reduced.rfactor, Kokkos::make_pair(sq(g0), sq(g1))),
                        piece(squares, squares));
      if (!spd) {
        Kokkos::deep_copy(exec, Kokkos::subview(f.reduced.vt, Kokkos::make_pair(vb(g0), vb(g1))),
                          piece(2 * squares, basis));
      }
      at += 2 * squares + basis;
    }
  }
  // Top: levels l_s - 1..1 and the root, the same on every rank.
  f.top.resize(static_cast<std::size_t>(ls));
  for (int l = ls - 1; l >= 0; --l) {
    const index_type nodes = ClusterTree::nodes_on_level(l);
    const HssLevel<T>& below = a.top_level(l + 1);
    std::vector<index_type> m(static_cast<std::size_t>(nodes)), r(m.size(), 0), c(m.size(), 0);
    for (index_type i = 0; i < nodes; ++i) {
      const auto s = static_cast<std::size_t>(i);
      m[s] = below.row_rank_host(2 * i) + below.row_rank_host(2 * i + 1);
      if (l >= 1) {
        r[s] = a.top_level(l).row_rank_host(i);
        c[s] = a.top_level(l).col_rank_host(i);
      }
    }
    f.top[static_cast<std::size_t>(l)] = detail::make_ulv_level<T>(
        nodes, m, r, c, !spd, "strata::hss::dist::ulv::top" + std::to_string(l) + "::");
  }
  f.top_pivots = Kokkos::View<int*, MemSpace>("strata::hss::dist::ulv::pivots",
                                              static_cast<std::size_t>(f.top[0].m_host(0)));
  collective(comm, [&] {
    detail::UlvBreakdown breakdown{Kokkos::View<int, MemSpace>("strata::hss::dist::ulv::bad")};
    for (int l = ls - 1; l >= 1; --l) {
      detail::ulv_eliminate<T>(exec, top_input(f, l), f.top[static_cast<std::size_t>(l)], spd,
                               breakdown);
    }
    detail::ulv_factor_root<T>(exec, top_input(f, 0), f.top[0], f.top_pivots, spd, breakdown);
    detail::ulv_check_breakdown(exec, breakdown, spd, context);
  });
  f.factor_time_s = timer.seconds();
  return f;
}

namespace {

// ulv_solve on this rank's rows in the tree's order (tree_local_rows() x k).
template <class T>
UlvSolveResult ulv_solve_tree(const ExecSpace& exec, const DistUlvFactor<T>& f,
                              const ConstMatrix<T>& b, const Matrix<T>& x, bool compute_residual) {
  kx::ScopedRegion region("strata::hss::dist::ulv_solve");
  const detail::TeamBlasThreads<ExecSpace> team_blas_threads;  // core_team_blas.hpp
  const DistHssMatrix<T>& a = f.matrix;
  const Comm& comm = a.comm();
  const int ls = a.split_level();
  const auto& subs = a.subtrees();
  const index_type nl = a.tree_local_rows(), k = static_cast<index_type>(b.extent(1));
  collective(comm, [&] {
    STRATA_REQUIRE(a.size() >= 1 && (ls == 0 ? !f.whole.levels.empty() : !f.top.empty()),
                   InvalidArgument, "hss::ulv_solve: the factor is empty (call ulv_factor first)");
    require_shape(b, nl, k, "hss::ulv_solve (distributed): this rank's rows of B");
    require_shape(x, nl, k, "hss::ulv_solve (distributed): this rank's rows of X");
    STRATA_REQUIRE(
        k == 0 || static_cast<const void*>(b.data()) != static_cast<const void*>(x.data()),
        InvalidArgument, "hss::ulv_solve: X and B share memory; X must be a separate array");
    checked_int(k, "hss::ulv_solve: number of right-hand sides");
  });
  STRATA_REQUIRE(comm.allreduce(k, ReduceOp::min) == comm.allreduce(k, ReduceOp::max),
                 ShapeMismatch,
                 "hss::ulv_solve (distributed): the ranks pass different numbers of right-hand "
                 "sides; every rank must pass the same k");
  UlvSolveResult result;
  if (k == 0) return result;
  Kokkos::Timer timer;
  const bool spd = f.variant == UlvVariant::symmetric_positive_definite;
  if (ls == 0) {
    ulv_solve<T>(exec, f.whole, b, x, false);
  } else {
    const index_type first = a.first_node();
    const HssLevel<T>& top_ls = a.top_level(ls);
    const auto& roff = top_ls.row_rank_offset_host;
    const auto& coff = top_ls.col_rank_offset_host;
    // Per rank p: [bred of its roots (row ranks) ; w (column ranks, general)], k columns.
    const auto part = [&](int p) {
      const index_type g0 = a.split().first(p), g1 = g0 + a.split().count(p);
      return std::make_pair(roff(g1) - roff(g0), spd ? 0 : coff(g1) - coff(g0));
    };
    const index_type my_r = part(comm.rank()).first, my_c = part(comm.rank()).second;
    Matrix<T> send(
        Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::dist::ulv::send_rhs"),
        my_r + my_c, k);
    // Local upward sweeps, through the subtree roots.
    std::vector<std::vector<detail::UlvSolveLevel<T>>> s(subs.size());
    for (std::size_t j = 0; j < subs.size(); ++j) {
      const index_type g = first + static_cast<index_type>(j);
      const index_type row0 = a.subtree_row_begin(j);
      const auto& levels = f.subtrees[j];
      for (const auto& lv : levels) s[j].push_back(detail::ulv_solve_buffers(exec, lv, k));
      detail::ulv_solve_up_tree<T>(exec, subs[j], levels, s[j], b, row0, spd);
      detail::ulv_solve_up<T>(exec, subtree_root_input(f, j), levels[0], s[j][0],
                              levels.size() > 1 ? s[j][1] : detail::UlvSolveLevel<T>{}, b, row0,
                              spd);
      copy_rows(exec, send, roff(g) - roff(first), s[j][0].bred);
      if (!spd) copy_rows(exec, send, my_r + coff(g) - coff(first), s[j][0].w);
    }
    // The reduced right-hand sides of every subtree root, on every rank.
    std::vector<index_type> counts(static_cast<std::size_t>(comm.size()));
    for (int p = 0; p < comm.size(); ++p) {
      const auto [rp, cp] = part(p);
      counts[static_cast<std::size_t>(p)] = rp + cp;
    }
    const Matrix<T> all = allgather_rows<T>(exec, comm, BlockRowLayout::from_counts(counts), send);
    detail::UlvSolveLevel<T> reduced;
    reduced.bred = Matrix<T>(
        Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::dist::ulv::bred"),
        roff(top_ls.nodes), k);
    reduced.w = Matrix<T>(
        Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::dist::ulv::w"),
        spd ? 0 : coff(top_ls.nodes), k);
    index_type at = 0;
    for (int p = 0; p < comm.size(); ++p) {
      const index_type g0 = a.split().first(p);
      const auto [rp, cp] = part(p);
      copy_rows(exec, reduced.bred, roff(g0),
                Kokkos::subview(all, Kokkos::make_pair(at, at + rp), Kokkos::ALL));
      if (!spd) {
        copy_rows(exec, reduced.w, coff(g0),
                  Kokkos::subview(all, Kokkos::make_pair(at + rp, at + rp + cp), Kokkos::ALL));
      }
      at += rp + cp;
    }
    // The top on every rank: upward sweep, root, downward sweep.
    std::vector<detail::UlvSolveLevel<T>> st;
    for (const auto& lv : f.top) st.push_back(detail::ulv_solve_buffers(exec, lv, k));
    const auto below = [&](int l) -> const detail::UlvSolveLevel<T>& {
      return l + 1 == ls ? reduced : st[static_cast<std::size_t>(l) + 1];
    };
    for (int l = ls - 1; l >= 1; --l) {
      detail::ulv_solve_up<T>(exec, top_input(f, l), f.top[static_cast<std::size_t>(l)],
                              st[static_cast<std::size_t>(l)], below(l), b, 0, spd);
    }
    detail::ulv_solve_root<T>(exec, top_input(f, 0), f.top[0], f.top_pivots, st[0], below(0), b,
                              spd);
    for (int l = 1; l < ls; ++l) {
      const auto i = static_cast<std::size_t>(l);
      detail::ulv_solve_down<T>(exec, top_input(f, l), f.top[i], st[i - 1].x, 0, st[i], x, 0, spd);
    }
    // Local downward sweeps from the subtree roots' kept unknowns (rows of level l_s - 1's x).
    for (std::size_t j = 0; j < subs.size(); ++j) {
      const index_type g = first + static_cast<index_type>(j);
      const index_type row0 = a.subtree_row_begin(j);
      detail::ulv_solve_down<T>(exec, subtree_root_input(f, j), f.subtrees[j][0],
                                st[static_cast<std::size_t>(ls) - 1].x, roff(g), s[j][0], x, row0,
                                spd);
      detail::ulv_solve_down_tree<T>(exec, subs[j], f.subtrees[j], s[j], x, row0, spd);
    }
  }
  exec.fence();
  result.time_s = timer.seconds();
  if (compute_residual) {
    Matrix<T> ax("strata::hss::dist::ax", nl, k);
    detail::matvec_tree<T>(exec, a, x, ax, Op::none);
    double sums[2] = {0, 0};
    Kokkos::parallel_reduce(
        "strata::hss::dist::residual",
        Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>, Kokkos::IndexType<index_type>>(
            exec, {0, 0}, {nl, k}),
        KOKKOS_LAMBDA(const index_type i, const index_type j, double& acc) {
          const double d = static_cast<double>(ax(i, j)) - static_cast<double>(b(i, j));
          acc += d * d;
        },
        sums[0]);
    Kokkos::parallel_reduce(
        "strata::hss::dist::rhs_norm",
        Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>, Kokkos::IndexType<index_type>>(
            exec, {0, 0}, {nl, k}),
        KOKKOS_LAMBDA(const index_type i, const index_type j, double& acc) {
          const double v = static_cast<double>(b(i, j));
          acc += v * v;
        },
        sums[1]);
    const double diff = comm.allreduce(sums[0], ReduceOp::sum);
    const double norm = comm.allreduce(sums[1], ReduceOp::sum);
    result.residual = norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
    // Is X meaningful (detail/conditioning.hpp)? Throws NumericalError, on every rank, for a
    // singular A: every decision below depends on global (allreduced) values only.
    const index_type non_finite = comm.allreduce(count_non_finite(exec, x), ReduceOp::sum);
    if (non_finite == 0) {
      const auto column_norm = [&](const Matrix<T>& v) {
        return std::sqrt(comm.allreduce(linalg::sum_of_squares(exec, v), ReduceOp::sum));
      };
      const double x_norm =
          std::sqrt(comm.allreduce(linalg::sum_of_squares(exec, x), ReduceOp::sum));
      const auto conditioning = detail::estimate_conditioning<T>(
          exec, nl,
          [&](const Matrix<T>& in, const Matrix<T>& out, Op op) {
            detail::matvec_tree<T>(exec, a, in, out, op);
          },
          [&](const Matrix<T>& in, const Matrix<T>& out) {
            ulv_solve_tree<T>(exec, f, in, out, false);
          },
          column_norm, static_cast<std::uint64_t>(comm.rank()),
          norm > 0 ? x_norm / std::sqrt(norm) : 0.0);
      result.condition_lower_bound = conditioning.condition();
      // The largest rank: of this rank's subtrees and of the replicated top levels.
      index_type rank = 0;
      for (const auto& sub : subs) {
        for (int l = 1; l <= sub.levels(); ++l)
          rank = std::max({rank, sub.max_row_rank(l), sub.max_col_rank(l)});
      }
      for (int l = 1; l <= ls; ++l) {
        const auto& level = a.top_level(l);
        for (std::size_t i = 0; i < level.row_rank_host.extent(0); ++i)
          rank = std::max({rank, level.row_rank_host(i), level.col_rank_host(i)});
      }
      rank = comm.allreduce(rank, ReduceOp::max);
      detail::check_solution<T>(
          "hss::ulv_solve", 0, conditioning,
          detail::ulv_chain_length(a.tree().max_leaf_size(), a.tree().levels(), rank),
          result.residual);
    } else {
      detail::check_solution<T>("hss::ulv_solve", non_finite, {}, 1.0, result.residual);
    }
  }
  return result;
}

}  // namespace

template <class T>
UlvSolveResult ulv_solve(const ExecSpace& exec, const DistUlvFactor<T>& f, const ConstMatrix<T>& b,
                         const Matrix<T>& x, bool compute_residual) {
  const DistHssMatrix<T>& a = f.matrix;
  const auto& ex = a.exchange();
  if (ex.trivial()) return ulv_solve_tree<T>(exec, f, b, x, compute_residual);
  const index_type k = static_cast<index_type>(b.extent(1));
  collective(a.comm(), [&] {
    require_shape(b, a.local_rows(), k, "hss::ulv_solve (distributed): this rank's rows of B");
    require_shape(x, a.local_rows(), k, "hss::ulv_solve (distributed): this rank's rows of X");
  });
  const index_type nt = a.tree_local_rows();
  Matrix<T> bt(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::dist::b_tree"),
               nt, k),
      xt(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::dist::x_tree"), nt, k);
  ex.template to_tree<T>(exec, a.comm(), b, bt);
  const UlvSolveResult result = ulv_solve_tree<T>(exec, f, bt, xt, compute_residual);
  ex.template to_user<T>(exec, a.comm(), xt, x);
  exec.fence();
  return result;
}

#define STRATA_HSS_DIST_ULV_INSTANTIATE(T)                                           \
  template DistUlvFactor<T> ulv_factor<T>(const ExecSpace&, const DistHssMatrix<T>&, \
                                          const UlvOptions&);                        \
  template UlvSolveResult ulv_solve<T>(const ExecSpace&, const DistUlvFactor<T>&,    \
                                       const ConstMatrix<T>&, const Matrix<T>&, bool);
STRATA_HSS_DIST_ULV_INSTANTIATE(float)
STRATA_HSS_DIST_ULV_INSTANTIATE(double)
#undef STRATA_HSS_DIST_ULV_INSTANTIATE

}  // namespace strata::hss
