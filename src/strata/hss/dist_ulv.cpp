// Distributed solve (distributed.hpp): ULV factors of the subtrees' diagonal blocks and the
// reduced system of the split level, solved redundantly on every rank.
#include <algorithm>
#include <cmath>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "strata/hss/detail/conditioning.hpp"
#include "strata/hss/detail/dist_passes.hpp"
#include "strata/hss/distributed.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/linalg/norms.hpp"

namespace strata::hss {

namespace {

template <class T>
Matrix<T> rows_copy(const ExecSpace& exec, const ConstMatrix<T>& x, index_type begin,
                    index_type rows) {
  Matrix<T> out(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::dist::rows"),
                rows, x.extent(1));
  Kokkos::deep_copy(exec, out,
                    Kokkos::subview(x, Kokkos::make_pair(begin, begin + rows), Kokkos::ALL));
  return out;
}

// In-place LU with partial pivoting of the n x n column-major host matrix (LAPACK getrf layout).
void host_lu(std::vector<double>& a, std::vector<int>& piv, int n) {
  piv.resize(static_cast<std::size_t>(n));
  const auto at = [&](int i, int j) -> double& {
    return a[static_cast<std::size_t>(i) + static_cast<std::size_t>(j) * n];
  };
  for (int j = 0; j < n; ++j) {
    int p = j;
    for (int i = j + 1; i < n; ++i)
      if (std::abs(at(i, j)) > std::abs(at(p, j))) p = i;
    piv[static_cast<std::size_t>(j)] = p;
    STRATA_REQUIRE(at(p, j) != 0.0, NumericalError,
                   "hss::ulv_factor (distributed): the reduced system of the split level is "
                   "singular (zero pivot in column ",
                   j,
                   "); A may be singular, or the split-level blocks make it so: solve on "
                   "one rank (the single-process ULV needs only A nonsingular)");
    if (p != j)
      for (int c = 0; c < n; ++c) std::swap(at(j, c), at(p, c));
    for (int i = j + 1; i < n; ++i) at(i, j) /= at(j, j);
    for (int c = j + 1; c < n; ++c)
      for (int i = j + 1; i < n; ++i) at(i, c) -= at(i, j) * at(j, c);
  }
}

void host_lu_solve(const std::vector<double>& a, const std::vector<int>& piv, int n,
                   std::vector<double>& b, int k) {
  const auto at = [&](int i, int j) {
    return a[static_cast<std::size_t>(i) + static_cast<std::size_t>(j) * n];
  };
  for (int c = 0; c < k; ++c) {
    double* x = b.data() + static_cast<std::size_t>(c) * n;
    for (int j = 0; j < n; ++j) std::swap(x[j], x[piv[static_cast<std::size_t>(j)]]);
    for (int j = 0; j < n; ++j)
      for (int i = j + 1; i < n; ++i) x[i] -= at(i, j) * x[j];
    for (int j = n - 1; j >= 0; --j) {
      x[j] /= at(j, j);
      for (int i = 0; i < j; ++i) x[i] -= at(i, j) * x[j];
    }
  }
}

}  // namespace

template <class T>
DistUlvFactor<T> ulv_factor(const ExecSpace& exec, const DistHssMatrix<T>& a,
                            const UlvOptions& options) {
  kx::ScopedRegion region("strata::hss::dist::ulv_factor");
  const Comm& comm = a.comm();
  DistUlvFactor<T> f;
  f.matrix = a;
  const auto& subs = a.subtrees();
  const int ls = a.split_level();
  const index_type first = a.first_node();
  collective(comm, [&] {
    STRATA_REQUIRE(a.size() >= 1, InvalidArgument,
                   "hss::ulv_factor: the distributed HSS matrix is empty (not built)");
    for (std::size_t j = 0; j < subs.size(); ++j) {
      try {
        f.subtrees.push_back(ulv_factor<T>(exec, subs[j], options));
      } catch (const NumericalError& e) {
        STRATA_THROW(NumericalError,
                     "hss::ulv_factor (distributed): the diagonal block A_gg of "
                     "subtree ",
                     first + static_cast<index_type>(j), " (level ", ls,
                     ") could not be factored (", e.what(),
                     "); the distributed solve needs "
                     "every split-level diagonal block nonsingular, A alone being nonsingular "
                     "is not enough: solve on one rank (the single-process ULV needs only A "
                     "nonsingular) or on fewer ranks (a higher split level)");
      }
    }
    if (ls == 0) return;
    const HssLevel<T>& top_ls = a.top_level(ls);
    const auto& roff = top_ls.row_rank_offset_host;
    const auto& coff = top_ls.col_rank_offset_host;
    const index_type rows_total = roff(top_ls.nodes);
    f.s_local =
        Matrix<T>("strata::hss::dist::S",
                  coff(first + static_cast<index_type>(subs.size())) - coff(first), rows_total);
    for (std::size_t j = 0; j < subs.size(); ++j) {
      const index_type g = first + static_cast<index_type>(j);
      const index_type r = top_ls.row_rank_host(g), m = subs[j].size();
      // W_g = A_gg^{-1} U^big_g, S_g = V^big_g^T W_g (c_g x r_g, at columns of g's row ranks).
      Matrix<T> eye("strata::hss::dist::I", r, r), ubig("strata::hss::dist::Ubig", m, r);
      Kokkos::parallel_for(
          "strata::hss::dist::identity", Kokkos::RangePolicy<ExecSpace>(exec, 0, r),
          KOKKOS_LAMBDA(const index_type i) { eye(i, i) = T(1); });
      detail::subtree_down<T>(exec, subs[j], top_ls, g, Op::none, eye, 0, ubig);
      Matrix<T> w("strata::hss::dist::W", m, r);
      ulv_solve<T>(exec, f.subtrees[j], ubig, w, false);
      f.w.push_back(w);
      const auto dst =
          Kokkos::subview(f.s_local, Kokkos::ALL, Kokkos::make_pair(roff(g), roff(g) + r));
      detail::subtree_up<T>(exec, subs[j], top_ls, g, Op::none, w, dst, coff(g) - coff(first));
    }
    exec.fence();
  });
  if (ls == 0) return f;
  // Every rank: M = I + A~ S with S = diag(S_g) (C x R) and A~ (R x C) the top's reduced matrix.
  const HssLevel<T>& top_ls = a.top_level(ls);
  const index_type rows_total = top_ls.row_rank_offset_host(top_ls.nodes);
  const index_type cols_total = top_ls.col_rank_offset_host(top_ls.nodes);
  const Matrix<T> s = allgather_rows<T>(
      exec, comm, detail::node_block_layout(top_ls.col_rank_offset_host, a.split().first_node),
      f.s_local);
  Matrix<T> eye("strata::hss::dist::I", cols_total, cols_total);
  Kokkos::parallel_for(
      "strata::hss::dist::identity", Kokkos::RangePolicy<ExecSpace>(exec, 0, cols_total),
      KOKKOS_LAMBDA(const index_type i) { eye(i, i) = T(1); });
  const Matrix<T> reduced = detail::top_product<T>(exec, a.top(), ls, Op::none, eye);
  Matrix<T> m("strata::hss::dist::M", rows_total, rows_total);
  linalg::gemm(exec, "N", "N", T(1), reduced, s, T(0), m);
  const auto mh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, m);
  const int n = static_cast<int>(rows_total);
  f.top_lu.assign(static_cast<std::size_t>(n) * static_cast<std::size_t>(n), 0.0);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i)
      f.top_lu[static_cast<std::size_t>(i) + static_cast<std::size_t>(j) * n] =
          static_cast<double>(mh(i, j)) + (i == j ? 1.0 : 0.0);
  // The same data and arithmetic on every rank: all succeed or all throw.
  host_lu(f.top_lu, f.top_pivots, n);
  return f;
}

template <class T>
UlvSolveResult ulv_solve(const ExecSpace& exec, const DistUlvFactor<T>& f, const ConstMatrix<T>& b,
                         const Matrix<T>& x, bool compute_residual) {
  kx::ScopedRegion region("strata::hss::dist::ulv_solve");
  const DistHssMatrix<T>& a = f.matrix;
  const Comm& comm = a.comm();
  const index_type nl = a.local_rows(), k = static_cast<index_type>(b.extent(1));
  collective(comm, [&] {
    STRATA_REQUIRE(!f.subtrees.empty(), InvalidArgument,
                   "hss::ulv_solve: the factor is empty (call ulv_factor first)");
    require_shape(b, nl, k, "hss::ulv_solve (distributed): this rank's rows of B");
    require_shape(x, nl, k, "hss::ulv_solve (distributed): this rank's rows of X");
    STRATA_REQUIRE(
        k == 0 || static_cast<const void*>(b.data()) != static_cast<const void*>(x.data()),
        InvalidArgument, "hss::ulv_solve: X and B share memory; X must be a separate array");
  });
  STRATA_REQUIRE(comm.allreduce(k, ReduceOp::min) == comm.allreduce(k, ReduceOp::max),
                 ShapeMismatch,
                 "hss::ulv_solve (distributed): the ranks pass different numbers of right-hand "
                 "sides; every rank must pass the same k");
  UlvSolveResult result;
  if (k == 0) return result;
  Kokkos::Timer timer;
  const auto& subs = a.subtrees();
  const int ls = a.split_level();
  const index_type first = a.first_node();
  // z_g = A_gg^{-1} b_g on every subtree.
  std::vector<Matrix<T>> z(subs.size());
  for (std::size_t j = 0; j < subs.size(); ++j) {
    const index_type row0 = a.subtree_row_begin(j), rows = subs[j].size();
    z[j] = Matrix<T>("strata::hss::dist::z", rows, k);
    ulv_solve<T>(exec, f.subtrees[j], rows_copy<T>(exec, b, row0, rows), z[j], false);
  }
  if (ls >= 1) {
    // g = V^T z (allgathered), y^ = (I + A~ S)^{-1} A~ g, x_g = z_g - W_g y^_g.
    const HssLevel<T>& top_ls = a.top_level(ls);
    const auto& roff = top_ls.row_rank_offset_host;
    const auto& coff = top_ls.col_rank_offset_host;
    Matrix<T> g_local("strata::hss::dist::g",
                      coff(first + static_cast<index_type>(subs.size())) - coff(first), k);
    for (std::size_t j = 0; j < subs.size(); ++j) {
      const index_type g = first + static_cast<index_type>(j);
      detail::subtree_up<T>(exec, subs[j], top_ls, g, Op::none, z[j], g_local,
                            coff(g) - coff(first));
    }
    const Matrix<T> gall = allgather_rows<T>(
        exec, comm, detail::node_block_layout(coff, a.split().first_node), g_local);
    const Matrix<T> h = detail::top_product<T>(exec, a.top(), ls, Op::none, gall);
    const auto hh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, h);
    const int n = static_cast<int>(h.extent(0));
    std::vector<double> rhs(static_cast<std::size_t>(n) * static_cast<std::size_t>(k));
    for (index_type c = 0; c < k; ++c)
      for (int i = 0; i < n; ++i)
        rhs[static_cast<std::size_t>(i) + static_cast<std::size_t>(c) * n] =
            static_cast<double>(hh(i, c));
    host_lu_solve(f.top_lu, f.top_pivots, n, rhs, static_cast<int>(k));
    for (std::size_t j = 0; j < subs.size(); ++j) {
      const index_type g = first + static_cast<index_type>(j);
      const index_type r = top_ls.row_rank_host(g);
      auto yg_host = HostMatrix<T>("strata::hss::dist::yhat", r, k);
      for (index_type c = 0; c < k; ++c)
        for (index_type i = 0; i < r; ++i)
          yg_host(i, c) = static_cast<T>(
              rhs[static_cast<std::size_t>(roff(g) + i) + static_cast<std::size_t>(c) * n]);
      Matrix<T> yg("strata::hss::dist::yhat", r, k);
      Kokkos::deep_copy(exec, yg, yg_host);
      linalg::gemm(exec, "N", "N", T(-1), f.w[j], yg, T(1), z[j]);
    }
  }
  for (std::size_t j = 0; j < subs.size(); ++j) {
    const index_type row0 = a.subtree_row_begin(j), rows = subs[j].size();
    Kokkos::deep_copy(exec, Kokkos::subview(x, Kokkos::make_pair(row0, row0 + rows), Kokkos::ALL),
                      z[j]);
  }
  exec.fence();
  result.time_s = timer.seconds();
  if (compute_residual) {
    Matrix<T> ax("strata::hss::dist::ax", nl, k);
    matvec<T>(exec, a, x, ax);
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
            matvec<T>(exec, a, in, out, op);
          },
          [&](const Matrix<T>& in, const Matrix<T>& out) { ulv_solve<T>(exec, f, in, out, false); },
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

#define STRATA_HSS_DIST_ULV_INSTANTIATE(T)                                           \
  template DistUlvFactor<T> ulv_factor<T>(const ExecSpace&, const DistHssMatrix<T>&, \
                                          const UlvOptions&);                        \
  template UlvSolveResult ulv_solve<T>(const ExecSpace&, const DistUlvFactor<T>&,    \
                                       const ConstMatrix<T>&, const Matrix<T>&, bool);
STRATA_HSS_DIST_ULV_INSTANTIATE(float)
STRATA_HSS_DIST_ULV_INSTANTIATE(double)
#undef STRATA_HSS_DIST_ULV_INSTANTIATE

}  // namespace strata::hss
