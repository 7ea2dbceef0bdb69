#include "strata/hss/ulv.hpp"

#include <algorithm>
#include <string>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/hss/detail/conditioning.hpp"
#include "strata/hss/detail/core_team_blas.hpp"
#include "strata/hss/detail/tree_sweep.hpp"
#include "strata/hss/detail/ulv_steps.hpp"
#include "strata/linalg/norms.hpp"

namespace strata::hss {

namespace {

using TeamPolicy = Kokkos::TeamPolicy<ExecSpace>;
using Member = TeamPolicy::member_type;
using detail::team_gemm;

IndexArray to_device(const HostIndexArray& h, const std::string& label) {
  IndexArray d(label, h.extent(0));
  Kokkos::deep_copy(d, h);
  return d;
}

template <class T>
UlvLevel<T> make_level(index_type nodes, const std::vector<index_type>& m,
                       const std::vector<index_type>& r, const std::vector<index_type>& c,
                       bool general, const std::string& tag) {
  UlvLevel<T> lv;
  lv.nodes = nodes;
  const auto table = [&](const std::string& name, index_type n) {
    return HostIndexArray(tag + name, static_cast<std::size_t>(n));
  };
  lv.m_host = table("m", nodes);
  lv.r_host = table("r", nodes);
  lv.c_host = table("c", nodes);
  lv.square_offset_host = table("square_offset", nodes + 1);
  lv.rank_square_offset_host = table("rank_square_offset", nodes + 1);
  lv.basis_offset_host = table("basis_offset", nodes + 1);
  lv.m_offset_host = table("m_offset", nodes + 1);
  lv.r_offset_host = table("r_offset", nodes + 1);
  lv.e_offset_host = table("e_offset", nodes + 1);
  lv.c_offset_host = table("c_offset", nodes + 1);
  lv.square_offset_host(0) = lv.rank_square_offset_host(0) = lv.basis_offset_host(0) = 0;
  lv.m_offset_host(0) = lv.r_offset_host(0) = lv.e_offset_host(0) = lv.c_offset_host(0) = 0;
  for (index_type i = 0; i < nodes; ++i) {
    const auto s = static_cast<std::size_t>(i);
    lv.m_host(i) = m[s];
    lv.r_host(i) = r[s];
    lv.c_host(i) = c[s];
    lv.square_offset_host(i + 1) = lv.square_offset_host(i) + m[s] * m[s];
    lv.rank_square_offset_host(i + 1) = lv.rank_square_offset_host(i) + r[s] * r[s];
    lv.basis_offset_host(i + 1) = lv.basis_offset_host(i) + m[s] * c[s];
    lv.m_offset_host(i + 1) = lv.m_offset_host(i) + m[s];
    lv.r_offset_host(i + 1) = lv.r_offset_host(i) + r[s];
    lv.e_offset_host(i + 1) = lv.e_offset_host(i) + m[s] - r[s];
    lv.c_offset_host(i + 1) = lv.c_offset_host(i) + c[s];
  }
  lv.m = to_device(lv.m_host, tag + "m");
  lv.r = to_device(lv.r_host, tag + "r");
  lv.c = to_device(lv.c_host, tag + "c");
  lv.square_offset = to_device(lv.square_offset_host, tag + "square_offset");
  lv.rank_square_offset = to_device(lv.rank_square_offset_host, tag + "rank_square_offset");
  lv.basis_offset = to_device(lv.basis_offset_host, tag + "basis_offset");
  lv.m_offset = to_device(lv.m_offset_host, tag + "m_offset");
  lv.r_offset = to_device(lv.r_offset_host, tag + "r_offset");
  lv.e_offset = to_device(lv.e_offset_host, tag + "e_offset");
  lv.c_offset = to_device(lv.c_offset_host, tag + "c_offset");
  const auto sq = static_cast<std::size_t>(lv.square_offset_host(nodes));
  lv.q = FlatArray<T>(tag + "Q", sq);
  lv.w = FlatArray<T>(tag + "W", sq);
  lv.rfactor = FlatArray<T>(tag + "R", static_cast<std::size_t>(lv.rank_square_offset_host(nodes)));
  if (general) {
    lv.p = FlatArray<T>(tag + "P", sq);
    lv.vt = FlatArray<T>(tag + "Vt", static_cast<std::size_t>(lv.basis_offset_host(nodes)));
  }
  return lv;
}

// Pointer to the column basis V^ (r x c) of child node a of a factored level, and its leading
// dimension: rows m-r.. of P^T V (general) or R (SPD, where V^ = R).
template <class T>
KOKKOS_INLINE_FUNCTION const T* reduced_v(const UlvLevel<T>& cl, index_type a, bool spd, long& ld) {
  if (spd) {
    ld = static_cast<long>(cl.r(a));
    return cl.rfactor.data() + cl.rank_square_offset(a);
  }
  ld = static_cast<long>(cl.m(a));
  return cl.vt.data() + cl.basis_offset(a) + (cl.m(a) - cl.r(a));
}

// The reduced block of parent p from its factored children a = 2p, b = 2p + 1 (level cl, with
// the HSS couplings of that level in hl):
//   M = [[D^_a, R_a B_ab V^_b^T], [R_b B_ba V^_a^T, D^_b]],  D^ = W(0:r, m-r:m) (general) or the
//   Schur complement W(0:r, 0:r) (SPD). `scratch` holds >= 2 r_a r_b entries.
template <class T>
KOKKOS_INLINE_FUNCTION void assemble_reduced_block(const Member& team, const UlvLevel<T>& cl,
                                                   const HssLevel<T>& hl, index_type p, bool spd,
                                                   T* mat, long ldm, T* scratch) {
  for (int side = 0; side < 2; ++side) {
    const index_type a = 2 * p + side, b = 2 * p + 1 - side;
    const int ma = static_cast<int>(cl.m(a)), ra = static_cast<int>(cl.r(a));
    const int rb = static_cast<int>(cl.r(b)), cb = static_cast<int>(cl.c(b));
    const int row0 = side == 0 ? 0 : static_cast<int>(cl.r(2 * p));
    const int col_other = side == 0 ? ra : 0;
    const T* w = cl.w.data() + cl.square_offset(a);
    const int dcol = spd ? 0 : ma - ra;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, ra * ra), [&](const int idx) {
      const int i = idx % ra, j = idx / ra;
      mat[(row0 + i) + (row0 + j) * ldm] = w[i + (dcol + j) * ma];
    });
    long ldv = 0;
    const T* vb = reduced_v(cl, b, spd, ldv);
    T* tmp = scratch + side * ra * rb;
    // tmp = B_ab V^_b^T (r_a x r_b), then M_ab = R_a tmp.
    team_gemm(team, false, true, ra, rb, cb, T(1), hl.b.data() + hl.b_offset(a),
              static_cast<long>(ra), vb, ldv, T(0), tmp, static_cast<long>(ra));
    team.team_barrier();
    team_gemm(team, false, false, ra, rb, ra, T(1), cl.rfactor.data() + cl.rank_square_offset(a),
              static_cast<long>(ra), tmp, static_cast<long>(ra), T(0), mat + row0 + col_other * ldm,
              ldm);
    team.team_barrier();
  }
}

}  // namespace

namespace detail {

template <class T>
UlvLevel<T> make_ulv_level(index_type nodes, const std::vector<index_type>& m,
                           const std::vector<index_type>& r, const std::vector<index_type>& c,
                           bool general, const std::string& tag) {
  return make_level<T>(nodes, m, r, c, general, tag);
}

template <class T>
UlvLevelInput<T> ulv_tree_input(const HssMatrix<T>& a, const std::vector<UlvLevel<T>>& levels,
                                int l) {
  UlvLevelInput<T> in;
  in.leaf = l == a.levels();
  if (l >= 1) in.own = a.level(l);
  if (in.leaf) {
    in.d = a.d();
    in.d_offset = a.d_offset();
    in.begin = a.tree().begin();
    in.first = ClusterTree::heap_index(a.levels(), 0);
  } else {
    in.children = a.level(l + 1);
    in.factored = levels[static_cast<std::size_t>(l) + 1];
  }
  return in;
}

template <class T>
std::vector<UlvLevel<T>> ulv_tree_levels(const HssMatrix<T>& a, index_type root_r,
                                         index_type root_c, bool general) {
  const int levels = a.levels();
  std::vector<UlvLevel<T>> out(static_cast<std::size_t>(levels) + 1);
  // Sizes: m of a leaf is its size, of an inner node the sum of its children's row ranks.
  for (int l = levels; l >= 0; --l) {
    const index_type nodes = ClusterTree::nodes_on_level(l);
    std::vector<index_type> m(static_cast<std::size_t>(nodes)), r(m.size()), c(m.size());
    for (index_type i = 0; i < nodes; ++i) {
      const auto s = static_cast<std::size_t>(i);
      m[s] = l == levels
                 ? a.tree().node_size(l, i)
                 : a.level(l + 1).row_rank_host(2 * i) + a.level(l + 1).row_rank_host(2 * i + 1);
      r[s] = l == 0 ? root_r : a.level(l).row_rank_host(i);
      c[s] = l == 0 ? root_c : a.level(l).col_rank_host(i);
    }
    out[static_cast<std::size_t>(l)] = make_level<T>(
        nodes, m, r, c, general, "strata::hss::ulv::level" + std::to_string(l) + "::");
  }
  return out;
}

// Factors every node of the level (team per node): the nodes' own generators in in.own (U, V),
// below them D (leaves) or the factored children (in.factored, couplings in.children).
template <class T>
void ulv_eliminate(const ExecSpace& exec, const UlvLevelInput<T>& in, const UlvLevel<T>& lv,
                   bool spd, const UlvBreakdown& breakdown) {
  const bool leaf = in.leaf;
  const HssLevel<T>& hl = in.own;
  const HssLevel<T>& chl = in.children;
  const UlvLevel<T>& cl = in.factored;
  const index_type sq_total = lv.square_offset_host(lv.nodes);
  FlatArray<T> mbuf(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::ulv::M"),
                    sq_total);
  FlatArray<T> tbuf(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::ulv::T"),
                    sq_total);
  FlatArray<T> ubuf(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::ulv::U"),
                    hl.u_offset_host(hl.nodes));
  FlatArray<T> vbuf(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::ulv::V"),
                    spd ? 0 : lv.basis_offset_host(lv.nodes));
  FlatArray<T> tau(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::ulv::tau"),
                   lv.m_offset_host(lv.nodes));
  const IndexArray d_offset = in.d_offset;
  const FlatArray<T> d = in.d;
  Kokkos::parallel_for(
      "strata::hss::ulv::factor_level", kx::auto_team_policy(exec, lv.nodes),
      KOKKOS_LAMBDA(const Member& team) {
        const index_type t = team.league_rank();
        const int m = static_cast<int>(lv.m(t)), r = static_cast<int>(lv.r(t)),
                  c = static_cast<int>(lv.c(t)), e = m - r;
        T* mat = mbuf.data() + lv.square_offset(t);
        T* tmp = tbuf.data() + lv.square_offset(t);
        T* u = ubuf.data() + hl.u_offset(t);
        T* v = spd ? nullptr : vbuf.data() + lv.basis_offset(t);
        T* q = lv.q.data() + lv.square_offset(t);
        T* w = lv.w.data() + lv.square_offset(t);
        T* rf = lv.rfactor.data() + lv.rank_square_offset(t);
        T* tv = tau.data() + lv.m_offset(t);
        // 1. The node's block M, row basis U and column basis V.
        if (leaf) {
          const T* dt = d.data() + d_offset(t);
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, m * m),
                               [&](const int idx) { mat[idx] = dt[idx]; });
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, m * r),
                               [&](const int idx) { u[idx] = hl.u(hl.u_offset(t) + idx); });
          if (!spd) {
            Kokkos::parallel_for(Kokkos::TeamThreadRange(team, m * c),
                                 [&](const int idx) { v[idx] = hl.v(hl.v_offset(t) + idx); });
          }
        } else {
          assemble_reduced_block(team, cl, chl, t, spd, mat, static_cast<long>(m), q);
          for (int side = 0; side < 2; ++side) {
            const index_type ch = 2 * t + side;
            const int rc = static_cast<int>(cl.r(ch)), cc = static_cast<int>(cl.c(ch));
            const int row0 = side == 0 ? 0 : static_cast<int>(cl.r(2 * t));
            const int vrow0 = side == 0 ? 0 : static_cast<int>(cl.c(2 * t));
            // U rows of the child: R_ch U_t(rows of ch); V rows: V^_ch V_t(rows of ch).
            team_gemm(team, false, false, rc, r, rc, T(1),
                      cl.rfactor.data() + cl.rank_square_offset(ch), static_cast<long>(rc),
                      hl.u.data() + hl.u_offset(t) + row0, static_cast<long>(m), T(0), u + row0,
                      static_cast<long>(m));
            if (!spd) {
              long ldv = 0;
              const T* vc = reduced_v(cl, ch, spd, ldv);
              team_gemm(team, false, false, rc, c, cc, T(1), vc, ldv,
                        hl.v.data() + hl.v_offset(t) + vrow0, static_cast<long>(hl.v_rows(t)), T(0),
                        v + row0, static_cast<long>(m));
            }
          }
        }
        team.team_barrier();
        // 2. Q^T U = [R; 0].
        detail::team_householder_qr(team, m, r, u, static_cast<long>(m), tv);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, r * r), [&](const int idx) {
          const int i = idx % r, j = idx / r;
          rf[idx] = i <= j ? u[i + j * m] : T(0);
        });
        detail::team_form_q(team, m, r, u, static_cast<long>(m), tv, q, static_cast<long>(m));
        // tmp = Q^T M.
        team_gemm(team, true, false, m, m, m, T(1), q, static_cast<long>(m), mat,
                  static_cast<long>(m), T(0), tmp, static_cast<long>(m));
        team.team_barrier();
        int bad = 0;
        if (!spd) {
          // 3. LQ of the eliminated rows: QR of tmp(r:m, :)^T (m x e) in w, P = its full Q.
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, m * e), [&](const int idx) {
            const int i = idx % m, j = idx / m;
            w[i + j * m] = tmp[(r + j) + i * m];
          });
          team.team_barrier();
          detail::team_householder_qr(team, m, e, w, static_cast<long>(m), tv);
          T* pm = lv.p.data() + lv.square_offset(t);
          detail::team_form_q(team, m, e, w, static_cast<long>(m), tv, pm, static_cast<long>(m));
          // W = Q^T M P, Vt = P^T V.
          team_gemm(team, false, false, m, m, m, T(1), tmp, static_cast<long>(m), pm,
                    static_cast<long>(m), T(0), w, static_cast<long>(m));
          team_gemm(team, true, false, m, c, m, T(1), pm, static_cast<long>(m), v,
                    static_cast<long>(m), T(0), lv.vt.data() + lv.basis_offset(t),
                    static_cast<long>(m));
          team.team_barrier();
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(team, e),
              [&](const int i, int& n) { n += w[(r + i) + i * m] == T(0) ? 1 : 0; }, bad);
        } else {
          // 3'. W = Q^T M Q; Cholesky of the eliminated block, Schur complement on the kept one.
          team_gemm(team, false, false, m, m, m, T(1), tmp, static_cast<long>(m), q,
                    static_cast<long>(m), T(0), w, static_cast<long>(m));
          team.team_barrier();
          bad = detail::team_cholesky(team, e, w + r + r * m, static_cast<long>(m));
          detail::team_lower_solve(team, false, false, e, r, w + r + r * m, static_cast<long>(m),
                                   w + r, static_cast<long>(m));
          team.team_barrier();
          team_gemm(team, true, false, r, r, e, T(-1), w + r, static_cast<long>(m), w + r,
                    static_cast<long>(m), T(1), w, static_cast<long>(m));
        }
        Kokkos::single(Kokkos::PerTeam(team), [&]() { breakdown.add(bad); });
      });
}

template <class T>
void ulv_eliminate_tree(const ExecSpace& exec, const HssMatrix<T>& a,
                        const std::vector<UlvLevel<T>>& levels, bool spd,
                        const UlvBreakdown& breakdown) {
  const detail::TeamBlasThreads<ExecSpace> team_blas_threads;  // core_team_blas.hpp
  for (int l = a.levels(); l >= 1; --l) {
    ulv_eliminate<T>(exec, ulv_tree_input(a, levels, l), levels[static_cast<std::size_t>(l)], spd,
                     breakdown);
  }
}

template <class T>
void ulv_factor_root(const ExecSpace& exec, const UlvLevelInput<T>& in, const UlvLevel<T>& root,
                     const Kokkos::View<int*, MemSpace>& pivots, bool spd,
                     const UlvBreakdown& breakdown) {
  const detail::TeamBlasThreads<ExecSpace> team_blas_threads;  // core_team_blas.hpp
  const bool leaf = in.leaf;
  const HssLevel<T>& chl = in.children;
  const UlvLevel<T>& cl = in.factored;
  const FlatArray<T> d = in.d;
  FlatArray<T> scratch("strata::hss::ulv::root_scratch", root.square_offset_host(1));
  Kokkos::parallel_for(
      "strata::hss::ulv::factor_root", kx::auto_team_policy(exec, 1),
      KOKKOS_LAMBDA(const Member& team) {
        const int m = static_cast<int>(root.m(0));
        T* mat = root.w.data();
        if (leaf) {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, m * m),
                               [&](const int idx) { mat[idx] = d(idx); });
        } else {
          assemble_reduced_block(team, cl, chl, 0, spd, mat, static_cast<long>(m), scratch.data());
        }
        team.team_barrier();
        const int bad = spd ? detail::team_cholesky(team, m, mat, static_cast<long>(m))
                            : detail::team_lu(team, m, mat, static_cast<long>(m), pivots);
        Kokkos::single(Kokkos::PerTeam(team), [&]() { breakdown.add(bad); });
      });
}

void ulv_check_breakdown(const ExecSpace& exec, const UlvBreakdown& breakdown, bool spd,
                         const char* context) {
  int bad = 0;
  Kokkos::deep_copy(exec, bad, breakdown.count);
  exec.fence();
  if (bad == 0) return;
  if (spd) {
    STRATA_THROW(NumericalError, context, ": ", bad,
                 " non-positive pivots in the Cholesky factors; the matrix is not symmetric "
                 "positive definite to working precision (use UlvVariant::general)");
  }
  STRATA_THROW(NumericalError, context, ": ", bad,
               " zero pivots; the HSS matrix is singular to working precision");
}

}  // namespace detail

template <class T>
UlvFactor<T> ulv_factor(const ExecSpace& exec, const HssMatrix<T>& a, const UlvOptions& options) {
  kx::ScopedRegion region("strata::hss::ulv_factor");
  Kokkos::Timer timer;
  STRATA_REQUIRE(a.size() >= 1, InvalidArgument, "hss::ulv_factor: the HSS matrix is empty");
  const bool spd = options.variant == UlvVariant::symmetric_positive_definite;
  if (spd) {
    STRATA_REQUIRE(a.ranks().row == a.ranks().col, InvalidArgument,
                   "hss::ulv_factor: the SPD variant needs a symmetric HSS matrix (V = U), but "
                   "its row and column ranks differ; use UlvVariant::general");
  }
  UlvFactor<T> f;
  f.matrix = a;
  f.variant = options.variant;
  f.levels = detail::ulv_tree_levels(a, 0, 0, !spd);
  detail::UlvBreakdown breakdown{Kokkos::View<int, MemSpace>("strata::hss::ulv::breakdown")};
  detail::ulv_eliminate_tree<T>(exec, a, f.levels, spd, breakdown);
  f.root_pivots = Kokkos::View<int*, MemSpace>("strata::hss::ulv::pivots",
                                               static_cast<std::size_t>(f.levels[0].m_host(0)));
  detail::ulv_factor_root<T>(exec, detail::ulv_tree_input(a, f.levels, 0), f.levels[0],
                             f.root_pivots, spd, breakdown);
  detail::ulv_check_breakdown(exec, breakdown, spd, "hss::ulv_factor");
  f.factor_time_s = timer.seconds();
  return f;
}

namespace {

// Right-hand side of parent p from its children's reduced ones (level cl, solve data of that
// level): rows of a = bred_a - R_a B_ab w_b (general) or bred_a (SPD). `scratch`: r_a x k each.
template <class T>
KOKKOS_INLINE_FUNCTION void assemble_reduced_rhs(const Member& team, const UlvLevel<T>& cl,
                                                 const HssLevel<T>& hl, index_type p, bool spd,
                                                 int k, const Matrix<T>& bred, const Matrix<T>& w,
                                                 T* rhs, long ldr, T* scratch) {
  const long ldb = static_cast<long>(bred.stride(1)), ldw = static_cast<long>(w.stride(1));
  for (int side = 0; side < 2; ++side) {
    const index_type a = 2 * p + side, b = 2 * p + 1 - side;
    const int ra = static_cast<int>(cl.r(a)), cb = static_cast<int>(cl.c(b));
    const int row0 = side == 0 ? 0 : static_cast<int>(cl.r(2 * p));
    const T* src = bred.data() + cl.r_offset(a);
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, ra * k), [&](const int idx) {
      const int i = idx % ra, j = idx / ra;
      rhs[row0 + i + j * ldr] = src[i + j * ldb];
    });
    if (!spd) {
      T* tmp = scratch + row0;
      team_gemm(team, false, false, ra, k, cb, T(1), hl.b.data() + hl.b_offset(a),
                static_cast<long>(ra), w.data() + cl.c_offset(b), ldw, T(0), tmp, ldr);
      team.team_barrier();
      team_gemm(team, false, false, ra, k, ra, T(-1), cl.rfactor.data() + cl.rank_square_offset(a),
                static_cast<long>(ra), tmp, ldr, T(1), rhs + row0, ldr);
    }
    team.team_barrier();
  }
}

}  // namespace

namespace detail {

template <class T>
UlvSolveLevel<T> ulv_solve_buffers(const ExecSpace& exec, const UlvLevel<T>& lv, index_type k) {
  const auto alloc = [&](const char* name, index_type rows) {
    return Matrix<T>(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, std::string(name)), rows,
                     k);
  };
  const index_type n = lv.nodes;
  return {alloc("strata::hss::ulv::rhs", lv.m_offset_host(n)),
          alloc("strata::hss::ulv::x", lv.m_offset_host(n)),
          alloc("strata::hss::ulv::z", lv.e_offset_host(n)),
          alloc("strata::hss::ulv::bred", lv.r_offset_host(n)),
          alloc("strata::hss::ulv::w", lv.c_offset_host(n))};
}

// The upward step of one node t (ulv_solve_up).
template <class T>
struct SolveUp {
  UlvLevelInput<T> in;
  UlvLevel<T> lv;
  UlvSolveLevel<T> s, cs;
  ConstMatrix<T> b;
  index_type row0;
  bool spd;
  template <class TeamMember>
  KOKKOS_INLINE_FUNCTION void operator()(const TeamMember& team, index_type t) const {
    const bool leaf = in.leaf;
    const HssLevel<T>& hl = in.own;
    const HssLevel<T>& chl = in.children;
    const UlvLevel<T>& cl = in.factored;
    const int k = static_cast<int>(b.extent(1));
    const long ldb = static_cast<long>(b.stride(1)), ld = static_cast<long>(s.rhs.stride(1)),
               ldz = static_cast<long>(s.z.stride(1)), ldr = static_cast<long>(s.bred.stride(1)),
               ldw = static_cast<long>(s.w.stride(1));
    const long ldcw = leaf ? 0 : static_cast<long>(cs.w.stride(1));
    const int m = static_cast<int>(lv.m(t)), r = static_cast<int>(lv.r(t)),
              c = static_cast<int>(lv.c(t)), e = m - r;
    T* rhs = s.rhs.data() + lv.m_offset(t);
    T* bt = s.x.data() + lv.m_offset(t);
    if (leaf) {
      const T* src = b.data() + row0 + (in.begin(in.first + t) - in.begin(in.first));
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, m * k), [&](const int idx) {
        const int i = idx % m, j = idx / m;
        rhs[i + j * ld] = src[i + j * ldb];
      });
    } else {
      assemble_reduced_rhs(team, cl, chl, t, spd, k, cs.bred, cs.w, rhs, ld, bt);
    }
    team.team_barrier();
    const T* q = lv.q.data() + lv.square_offset(t);
    const T* w = lv.w.data() + lv.square_offset(t);
    team_gemm(team, true, false, m, k, m, T(1), q, static_cast<long>(m), rhs, ld, T(0), bt, ld);
    team.team_barrier();
    // Eliminated unknowns: L z = bt(r:m) (L = W(r:m, 0:e) general, W(r:m, r:m) SPD).
    const T* l_factor = spd ? w + r + r * m : w + r;
    detail::team_lower_solve(team, false, false, e, k, l_factor, static_cast<long>(m), bt + r, ld);
    team.team_barrier();
    T* z = s.z.data() + lv.e_offset(t);
    T* bred = s.bred.data() + lv.r_offset(t);
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, e * k), [&](const int idx) {
      const int i = idx % e, j = idx / e;
      z[i + j * ldz] = bt[r + i + j * ld];
    });
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, r * k), [&](const int idx) {
      const int i = idx % r, j = idx / r;
      bred[i + j * ldr] = bt[i + j * ld];
    });
    team.team_barrier();
    if (!spd) {
      // bred -= W(0:r, 0:e) z; w = Vt(0:e, :)^T z (+ V_t^T [w_a; w_b] above the leaves).
      team_gemm(team, false, false, r, k, e, T(-1), w, static_cast<long>(m), z, ldz, T(1), bred,
                ldr);
      T* wt = s.w.data() + lv.c_offset(t);
      team_gemm(team, true, false, c, k, e, T(1), lv.vt.data() + lv.basis_offset(t),
                static_cast<long>(m), z, ldz, T(0), wt, ldw);
      if (!leaf) {
        team.team_barrier();
        team_gemm(team, true, false, c, k, static_cast<int>(hl.v_rows(t)), T(1),
                  hl.v.data() + hl.v_offset(t), static_cast<long>(hl.v_rows(t)),
                  cs.w.data() + cl.c_offset(2 * t), ldcw, T(1), wt, ldw);
      }
    } else {
      // bred -= W(r:m, 0:r)^T z with W(r:m, 0:r) = L^{-1} W_ek.
      team_gemm(team, true, false, r, k, e, T(-1), w + r, static_cast<long>(m), z, ldz, T(1), bred,
                ldr);
    }
  }
};

/// One kernel over the nodes of a level: step(team, t) for node t (SolveUp or SolveDown).
template <class Step>
void launch_level_step(const ExecSpace& exec, const char* label, const Step& step) {
  Kokkos::parallel_for(
      label, kx::auto_team_policy(exec, step.lv.nodes),
      KOKKOS_LAMBDA(const Member& team) { step(team, team.league_rank()); });
}

template <class T>
void ulv_solve_up(const ExecSpace& exec, const UlvLevelInput<T>& in, const UlvLevel<T>& lv,
                  const UlvSolveLevel<T>& s, const UlvSolveLevel<T>& cs, const ConstMatrix<T>& b,
                  index_type row0, bool spd) {
  launch_level_step(exec, "strata::hss::ulv::solve_up", SolveUp<T>{in, lv, s, cs, b, row0, spd});
}

template <class T>
void ulv_solve_root(const ExecSpace& exec, const UlvLevelInput<T>& in, const UlvLevel<T>& root,
                    const Kokkos::View<int*, MemSpace>& pivots, const UlvSolveLevel<T>& s,
                    const UlvSolveLevel<T>& cs, const ConstMatrix<T>& b, bool spd) {
  const detail::TeamBlasThreads<ExecSpace> team_blas_threads;  // core_team_blas.hpp
  const bool leaf = in.leaf;
  const UlvLevel<T>& cl = in.factored;
  const HssLevel<T>& chl = in.children;
  const int k = static_cast<int>(s.x.extent(1));
  const long ld = static_cast<long>(s.x.stride(1)), ldb = static_cast<long>(b.stride(1));
  Kokkos::parallel_for(
      "strata::hss::ulv::solve_root", kx::auto_team_policy(exec, 1),
      KOKKOS_LAMBDA(const Member& team) {
        const int m = static_cast<int>(root.m(0));
        T* x = s.x.data();
        if (leaf) {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, m * k), [&](const int idx) {
            const int i = idx % m, j = idx / m;
            x[i + j * ld] = b.data()[i + j * ldb];
          });
        } else {
          assemble_reduced_rhs(team, cl, chl, 0, spd, k, cs.bred, cs.w, x, ld, s.rhs.data());
        }
        team.team_barrier();
        const T* lu = root.w.data();
        if (spd) {
          detail::team_lower_solve(team, false, false, m, k, lu, static_cast<long>(m), x, ld);
          team.team_barrier();
          detail::team_lower_solve(team, true, false, m, k, lu, static_cast<long>(m), x, ld);
        } else {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, k), [&](const int j) {
            for (int i = 0; i < m; ++i) kx::swap(x[i + j * ld], x[pivots(i) + j * ld]);
          });
          team.team_barrier();
          detail::team_lower_solve(team, false, true, m, k, lu, static_cast<long>(m), x, ld);
          team.team_barrier();
          detail::team_upper_solve(team, m, k, lu, static_cast<long>(m), x, ld);
        }
      });
}

// The downward step of one node t (ulv_solve_down).
template <class T>
struct SolveDown {
  UlvLevelInput<T> in;
  UlvLevel<T> lv;
  Matrix<T> parent_x;
  index_type parent_row0;
  UlvSolveLevel<T> s;
  Matrix<T> y;
  index_type row0;
  bool spd;
  template <class TeamMember>
  KOKKOS_INLINE_FUNCTION void operator()(const TeamMember& team, index_type t) const {
    const bool leaf = in.leaf;
    const int k = static_cast<int>(parent_x.extent(1));
    const long ld = static_cast<long>(s.rhs.stride(1)), ldz = static_cast<long>(s.z.stride(1)),
               ldp = static_cast<long>(parent_x.stride(1)), ldy = static_cast<long>(y.stride(1));
    const int m = static_cast<int>(lv.m(t)), r = static_cast<int>(lv.r(t)), e = m - r;
    const T* z2 = parent_x.data() + parent_row0 + lv.r_offset(t);
    const T* z = s.z.data() + lv.e_offset(t);
    T* v = s.rhs.data() + lv.m_offset(t);
    T* out = leaf ? y.data() + row0 + (in.begin(in.first + t) - in.begin(in.first))
                  : s.x.data() + lv.m_offset(t);
    const long ldo = leaf ? ldy : ld;
    const T* w = lv.w.data() + lv.square_offset(t);
    if (!spd) {
      // v = [z1; z2], x = P v.
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, m * k), [&](const int idx) {
        const int i = idx % m, j = idx / m;
        v[i + j * ld] = i < e ? z[i + j * ldz] : z2[(i - e) + j * ldp];
      });
      team.team_barrier();
      team_gemm(team, false, false, m, k, m, T(1), lv.p.data() + lv.square_offset(t),
                static_cast<long>(m), v, ld, T(0), out, ldo);
    } else {
      // v = [y_k; y_e] with y_k = z2, y_e = L^{-T} (z - (L^{-1} W_ek) y_k); x = Q v.
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, m * k), [&](const int idx) {
        const int i = idx % m, j = idx / m;
        v[i + j * ld] = i < r ? z2[i + j * ldp] : z[(i - r) + j * ldz];
      });
      team.team_barrier();
      team_gemm(team, false, false, e, k, r, T(-1), w + r, static_cast<long>(m), v, ld, T(1), v + r,
                ld);
      team.team_barrier();
      detail::team_lower_solve(team, true, false, e, k, w + r + r * m, static_cast<long>(m), v + r,
                               ld);
      team.team_barrier();
      team_gemm(team, false, false, m, k, m, T(1), lv.q.data() + lv.square_offset(t),
                static_cast<long>(m), v, ld, T(0), out, ldo);
    }
  }
};

template <class T>
void ulv_solve_down(const ExecSpace& exec, const UlvLevelInput<T>& in, const UlvLevel<T>& lv,
                    const Matrix<T>& parent_x, index_type parent_row0, const UlvSolveLevel<T>& s,
                    const Matrix<T>& y, index_type row0, bool spd) {
  launch_level_step(exec, "strata::hss::ulv::solve_down",
                    SolveDown<T>{in, lv, parent_x, parent_row0, s, y, row0, spd});
}

// The steps of every level of a tree sweep, by level (index l: level l), in one host lambda
// (tree_sweep.hpp). A template on the space, so that device builds never instantiate it.
template <class Exec, class Step>
void host_ulv_sweep(const Exec& exec, const char* label, int levels, bool upward,
                    const std::vector<Step>& steps, bool split_at_leaves) {
  using TeamMember = typename Kokkos::TeamPolicy<Exec>::member_type;
  host_tree_sweep(
      exec, label, 1, levels, upward,
      [&](const TeamMember& team, int l, index_type t) {
        steps[static_cast<std::size_t>(l)](team, t);
      },
      split_at_leaves);
}

template <class T>
void ulv_solve_up_tree(const ExecSpace& exec, const HssMatrix<T>& a,
                       const std::vector<UlvLevel<T>>& levels,
                       const std::vector<UlvSolveLevel<T>>& s, const ConstMatrix<T>& b,
                       index_type row0, bool spd, TreeSweep sweep) {
  const detail::TeamBlasThreads<ExecSpace> team_blas_threads;  // core_team_blas.hpp
  std::vector<SolveUp<T>> steps(static_cast<std::size_t>(a.levels()) + 1);
  for (int l = a.levels(); l >= 1; --l) {
    const auto i = static_cast<std::size_t>(l);
    steps[i] = {ulv_tree_input(a, levels, l),
                levels[i],
                s[i],
                l == a.levels() ? UlvSolveLevel<T>{} : s[i + 1],
                b,
                row0,
                spd};
  }
  if constexpr (kx::runs_on_host<ExecSpace>) {
    if (sweep != TreeSweep::per_level) {
      if (a.levels() >= 1)
        host_ulv_sweep(exec, "strata::hss::ulv::solve_up", a.levels(), true, steps,
                       sweep == TreeSweep::host_split_at_leaves);
      return;
    }
  }
  for (int l = a.levels(); l >= 1; --l)
    launch_level_step(exec, "strata::hss::ulv::solve_up", steps[static_cast<std::size_t>(l)]);
}

template <class T>
void ulv_solve_down_tree(const ExecSpace& exec, const HssMatrix<T>& a,
                         const std::vector<UlvLevel<T>>& levels,
                         const std::vector<UlvSolveLevel<T>>& s, const Matrix<T>& y,
                         index_type row0, bool spd, TreeSweep sweep) {
  const detail::TeamBlasThreads<ExecSpace> team_blas_threads;  // core_team_blas.hpp
  std::vector<SolveDown<T>> steps(static_cast<std::size_t>(a.levels()) + 1);
  for (int l = 1; l <= a.levels(); ++l) {
    const auto i = static_cast<std::size_t>(l);
    steps[i] = {ulv_tree_input(a, levels, l), levels[i], s[i - 1].x, 0, s[i], y, row0, spd};
  }
  if constexpr (kx::runs_on_host<ExecSpace>) {
    if (sweep != TreeSweep::per_level) {
      if (a.levels() >= 1)
        host_ulv_sweep(exec, "strata::hss::ulv::solve_down", a.levels(), false, steps,
                       sweep == TreeSweep::host_split_at_leaves);
      return;
    }
  }
  for (int l = 1; l <= a.levels(); ++l)
    launch_level_step(exec, "strata::hss::ulv::solve_down", steps[static_cast<std::size_t>(l)]);
}

}  // namespace detail

template <class T>
UlvSolveResult ulv_solve(const ExecSpace& exec, const UlvFactor<T>& f, const ConstMatrix<T>& b,
                         const Matrix<T>& x, bool compute_residual) {
  kx::ScopedRegion region("strata::hss::ulv_solve");
  const HssMatrix<T>& a = f.matrix;
  const index_type n = a.size();
  const index_type k = static_cast<index_type>(b.extent(1));
  STRATA_REQUIRE(n >= 1 && !f.levels.empty(), InvalidArgument,
                 "hss::ulv_solve: the factor is empty (call ulv_factor first)");
  require_shape(b, n, k, "hss::ulv_solve: B");
  require_shape(x, n, k, "hss::ulv_solve: X");
  STRATA_REQUIRE(k == 0 || static_cast<const void*>(b.data()) != static_cast<const void*>(x.data()),
                 InvalidArgument,
                 "hss::ulv_solve: X and B share memory; X must be a separate array");
  checked_int(k, "hss::ulv_solve: number of right-hand sides");
  UlvSolveResult result;
  if (k == 0) return result;
  Kokkos::Timer timer;
  const bool spd = f.variant == UlvVariant::symmetric_positive_definite;
  const bool permuted = !a.tree().is_identity();
  ConstMatrix<T> bp = b;
  Matrix<T> xp = x;
  if (permuted) {
    Matrix<T> tmp(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::ulv::bp"), n,
                  k);
    detail::permute_rows<T>(exec, a.tree().permutation(), b, tmp, true);
    bp = tmp;
    xp = Matrix<T>(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::ulv::xp"), n,
                   k);
  }
  const int levels = a.levels();
  std::vector<detail::UlvSolveLevel<T>> s(static_cast<std::size_t>(levels) + 1);
  for (int l = 0; l <= levels; ++l) {
    const auto i = static_cast<std::size_t>(l);
    s[i] = detail::ulv_solve_buffers(exec, f.levels[i], k);
  }
  detail::ulv_solve_up_tree<T>(exec, a, f.levels, s, bp, 0, spd);
  detail::ulv_solve_root<T>(exec, detail::ulv_tree_input(a, f.levels, 0), f.levels[0],
                            f.root_pivots, s[0], levels == 0 ? detail::UlvSolveLevel<T>{} : s[1],
                            bp, spd);
  if (levels == 0) Kokkos::deep_copy(exec, xp, s[0].x);
  detail::ulv_solve_down_tree<T>(exec, a, f.levels, s, xp, 0, spd);
  if (permuted) detail::permute_rows<T>(exec, a.tree().permutation(), xp, x, false);
  exec.fence();
  result.time_s = timer.seconds();
  if (compute_residual) {
    Matrix<T> ax(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::ulv::ax"), n,
                 k);
    matvec<T>(exec, a, x, ax);
    double diff = 0, norm = 0;
    Kokkos::parallel_reduce(
        "strata::hss::ulv::residual",
        Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>, Kokkos::IndexType<index_type>>(
            exec, {0, 0}, {n, k}),
        KOKKOS_LAMBDA(const index_type i, const index_type j, double& acc) {
          const double dv = static_cast<double>(ax(i, j)) - static_cast<double>(b(i, j));
          acc += dv * dv;
        },
        diff);
    Kokkos::parallel_reduce(
        "strata::hss::ulv::rhs_norm",
        Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>, Kokkos::IndexType<index_type>>(
            exec, {0, 0}, {n, k}),
        KOKKOS_LAMBDA(const index_type i, const index_type j, double& acc) {
          const double bv = static_cast<double>(b(i, j));
          acc += bv * bv;
        },
        norm);
    result.residual = norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
    // Is X meaningful (detail/conditioning.hpp)? Throws NumericalError for a singular A.
    const index_type non_finite = count_non_finite(exec, x);
    if (non_finite == 0) {
      const double x_norm = static_cast<double>(linalg::frobenius_norm(exec, x));
      const auto column_norm = [&](const Matrix<T>& v) {
        return static_cast<double>(linalg::frobenius_norm(exec, v));
      };
      const auto conditioning = detail::estimate_conditioning<T>(
          exec, n,
          [&](const Matrix<T>& in, const Matrix<T>& out, Op op) {
            matvec<T>(exec, a, in, out, op);
          },
          [&](const Matrix<T>& in, const Matrix<T>& out) { ulv_solve<T>(exec, f, in, out, false); },
          column_norm, 0, norm > 0 ? x_norm / std::sqrt(norm) : 0.0);
      result.condition_lower_bound = conditioning.condition();
      index_type rank = 0;
      for (int l = 1; l <= levels; ++l)
        rank = std::max({rank, a.max_row_rank(l), a.max_col_rank(l)});
      detail::check_solution<T>("hss::ulv_solve", 0, conditioning,
                                detail::ulv_chain_length(a.tree().max_leaf_size(), levels, rank),
                                result.residual);
    } else {
      detail::check_solution<T>("hss::ulv_solve", non_finite, {}, 1.0, result.residual);
    }
  }
  return result;
}

#define STRATA_HSS_ULV_INSTANTIATE(T)                                                            \
  template UlvFactor<T> ulv_factor<T>(const ExecSpace&, const HssMatrix<T>&, const UlvOptions&); \
  template UlvSolveResult ulv_solve<T>(const ExecSpace&, const UlvFactor<T>&,                    \
                                       const ConstMatrix<T>&, const Matrix<T>&, bool);
STRATA_HSS_ULV_INSTANTIATE(float)
STRATA_HSS_ULV_INSTANTIATE(double)
#undef STRATA_HSS_ULV_INSTANTIATE

namespace detail {
#define STRATA_HSS_ULV_STEPS_INSTANTIATE(T)                                                        \
  template UlvLevel<T> make_ulv_level<T>(                                                          \
      index_type, const std::vector<index_type>&, const std::vector<index_type>&,                  \
      const std::vector<index_type>&, bool, const std::string&);                                   \
  template UlvLevelInput<T> ulv_tree_input<T>(const HssMatrix<T>&,                                 \
                                              const std::vector<UlvLevel<T>>&, int);               \
  template std::vector<UlvLevel<T>> ulv_tree_levels<T>(const HssMatrix<T>&, index_type,            \
                                                       index_type, bool);                          \
  template void ulv_eliminate<T>(const ExecSpace&, const UlvLevelInput<T>&, const UlvLevel<T>&,    \
                                 bool, const UlvBreakdown&);                                       \
  template void ulv_eliminate_tree<T>(const ExecSpace&, const HssMatrix<T>&,                       \
                                      const std::vector<UlvLevel<T>>&, bool, const UlvBreakdown&); \
  template void ulv_factor_root<T>(const ExecSpace&, const UlvLevelInput<T>&, const UlvLevel<T>&,  \
                                   const Kokkos::View<int*, MemSpace>&, bool,                      \
                                   const UlvBreakdown&);                                           \
  template UlvSolveLevel<T> ulv_solve_buffers<T>(const ExecSpace&, const UlvLevel<T>&,             \
                                                 index_type);                                      \
  template void ulv_solve_up<T>(const ExecSpace&, const UlvLevelInput<T>&, const UlvLevel<T>&,     \
                                const UlvSolveLevel<T>&, const UlvSolveLevel<T>&,                  \
                                const ConstMatrix<T>&, index_type, bool);                          \
  template void ulv_solve_root<T>(const ExecSpace&, const UlvLevelInput<T>&, const UlvLevel<T>&,   \
                                  const Kokkos::View<int*, MemSpace>&, const UlvSolveLevel<T>&,    \
                                  const UlvSolveLevel<T>&, const ConstMatrix<T>&, bool);           \
  template void ulv_solve_down<T>(const ExecSpace&, const UlvLevelInput<T>&, const UlvLevel<T>&,   \
                                  const Matrix<T>&, index_type, const UlvSolveLevel<T>&,           \
                                  const Matrix<T>&, index_type, bool);                             \
  template void ulv_solve_up_tree<T>(                                                              \
      const ExecSpace&, const HssMatrix<T>&, const std::vector<UlvLevel<T>>&,                      \
      const std::vector<UlvSolveLevel<T>>&, const ConstMatrix<T>&, index_type, bool, TreeSweep);   \
  template void ulv_solve_down_tree<T>(                                                            \
      const ExecSpace&, const HssMatrix<T>&, const std::vector<UlvLevel<T>>&,                      \
      const std::vector<UlvSolveLevel<T>>&, const Matrix<T>&, index_type, bool, TreeSweep);
STRATA_HSS_ULV_STEPS_INSTANTIATE(float)
STRATA_HSS_ULV_STEPS_INSTANTIATE(double)
#undef STRATA_HSS_ULV_STEPS_INSTANTIATE
}  // namespace detail

}  // namespace strata::hss
