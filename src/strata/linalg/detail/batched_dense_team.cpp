// Team kernels of the batched dense operations (batched_dense_backend.hpp): one Kokkos team per
// matrix (league rank = matrix index) built from the team blocks of batched_dense_team.hpp. They
// run on every backend; batched_dense.cpp selects them for device memory spaces.
#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/linalg/detail/batched_dense_backend.hpp"
#include "strata/linalg/detail/batched_dense_team.hpp"

namespace strata::linalg::detail {

namespace {

/// The scratch level for `bytes` per team: level 0 (a GPU's shared memory, about 48 KB usable per
/// block) where it fits, else level 1 (global memory). Vectors of a matrix's longer side outgrow
/// level 0 from a few thousand rows or columns on (skeletonization samples such matrices), and a
/// CUDA launch asking for more level-0 scratch than a block can have finds no valid configuration.
int scratch_level(std::size_t bytes) {
  return bytes <= static_cast<std::size_t>(TeamPolicy::scratch_size_max(0)) ? 0 : 1;
}

TeamPolicy team_policy(const ExecSpace& exec, int count, std::size_t scratch_bytes) {
  TeamPolicy policy = kx::auto_team_policy(exec, count);
  if (scratch_bytes > 0) {
    policy.set_scratch_size(scratch_level(scratch_bytes), Kokkos::PerTeam(scratch_bytes));
  }
  return policy;
}

/// Throws NumericalError naming the first failing matrix if any entry of `info` is nonzero.
void check_info(const ExecSpace& exec, const Kokkos::View<int*, MemSpace>& info,
                const char* function) {
  kx::fence(exec, "strata::linalg::batched_dense::info");
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, info);
  for (std::size_t b = 0; b < h.extent(0); ++b) {
    STRATA_REQUIRE(h(b) == 0, NumericalError, function, ": matrix ", b,
                   h(b) == 1 ? " holds NaN or Inf entries; expected finite numbers"
                             : " did not converge (one-sided Jacobi sweeps exhausted)");
  }
}

/// Shared driver of column_pivoted_qr and interpolative_decomposition.
template <class T, class Finish>
void pivoted_qr_driver(const ExecSpace& exec, const char* label, const MatrixBatch<T>& a,
                       const RankRule& rule, const Kokkos::View<int*, MemSpace>& ranks,
                       const MatrixBatch<int>& perm, Finish finish) {
  const int count = a.layout.count();
  // Every entry is overwritten by the copy below.
  auto work = MatrixBatch<T>::allocate_uninitialized("strata::linalg::pivoted_qr::work",
                                                     a.layout.host_rows, a.layout.host_cols);
  const auto a_ref = ref<T>(a), w_ref = ref<T>(work);
  const auto p_ref = ref<int>(perm);
  const int len = std::max(1, std::max(a.layout.max_rows(), a.layout.max_cols()));
  const std::size_t bytes = 2 * Scratch<T>::shmem_size(len) + Scratch<int>::shmem_size(4);
  const int level = scratch_level(bytes);
  const int max_rank = rule.max_rank;
  const double rel = rule.relative_tolerance, abs_tol = rule.absolute_tolerance;
  Kokkos::parallel_for(
      label, team_policy(exec, count, bytes), KOKKOS_LAMBDA(const Member& member) {
        const int b = member.league_rank();
        Scratch<T> tau(member.team_scratch(level), len), norms(member.team_scratch(level), len);
        Scratch<int> shared(member.team_scratch(level), 4);
        const auto src = a_ref(b), f = w_ref(b);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, f.cols), [&](const int j) {
          for (int i = 0; i < f.rows; ++i) f(i, j) = src(i, j);
        });
        member.team_barrier();
        int* pv = p_ref(b).p;
        const int k = team_pivoted_qr(member, f, pv, tau, norms, shared, max_rank, rel, abs_tol);
        Kokkos::single(Kokkos::PerTeam(member), [&]() { ranks(b) = k; });
        finish(member, b, f, tau, k, pv);
      });
}

}  // namespace

template <class T>
void TeamKernels::householder_qr(const ExecSpace& exec, const MatrixBatch<T>& a,
                                 const MatrixBatch<T>& q, const MatrixBatch<T>& r) {
  const int count = a.layout.count();
  const bool want_r = r.layout.count() > 0;
  // Factor a packed copy (the input stays intact).
  auto work = MatrixBatch<T>::allocate("strata::linalg::householder_qr::work", a.layout.host_rows,
                                       a.layout.host_cols);
  const auto a_ref = ref<T>(a), w_ref = ref<T>(work), q_ref = ref<T>(q), r_ref = ref<T>(r);
  const int len = std::max(1, std::min(a.layout.max_rows(), a.layout.max_cols()));
  const int level = scratch_level(Scratch<T>::shmem_size(len));
  Kokkos::parallel_for(
      "strata::linalg::householder_qr", team_policy(exec, count, Scratch<T>::shmem_size(len)),
      KOKKOS_LAMBDA(const Member& member) {
        const int b = member.league_rank();
        Scratch<T> tau(member.team_scratch(level), len);
        const auto src = a_ref(b), f = w_ref(b);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, f.cols), [&](const int j) {
          for (int i = 0; i < f.rows; ++i) f(i, j) = src(i, j);
        });
        member.team_barrier();
        team_householder_qr(member, f, tau);
        const int steps = kx::min(f.rows, f.cols);
        team_form_q(member, f, tau, steps, 0, q_ref(b));
        if (want_r) {
          const auto rr = r_ref(b);
          Kokkos::parallel_for(Kokkos::TeamThreadRange(member, rr.cols), [&](const int j) {
            for (int i = 0; i < rr.rows; ++i) rr(i, j) = i <= j ? f(i, j) : T(0);
          });
        }
      });
}

template <class T>
void TeamKernels::null_space(const ExecSpace& exec, const MatrixBatch<T>& a,
                             const MatrixBatch<T>& n) {
  const int count = a.layout.count();
  auto work = MatrixBatch<T>::allocate("strata::linalg::null_space::work", a.layout.host_cols,
                                       a.layout.host_rows);
  const auto a_ref = ref<T>(a), w_ref = ref<T>(work), n_ref = ref<T>(n);
  const int len = std::max(1, a.layout.max_rows());
  const int level = scratch_level(Scratch<T>::shmem_size(len));
  Kokkos::parallel_for(
      "strata::linalg::null_space", team_policy(exec, count, Scratch<T>::shmem_size(len)),
      KOKKOS_LAMBDA(const Member& member) {
        const int b = member.league_rank();
        Scratch<T> tau(member.team_scratch(level), len);
        const auto src = a_ref(b), f = w_ref(b);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, f.cols), [&](const int j) {
          for (int i = 0; i < f.rows; ++i) f(i, j) = src(j, i);
        });
        member.team_barrier();
        team_householder_qr(member, f, tau);
        const int steps = kx::min(f.rows, f.cols);
        team_form_q(member, f, tau, steps, f.cols, n_ref(b));
      });
}

template <class T>
void TeamKernels::column_pivoted_qr(const ExecSpace& exec, const MatrixBatch<T>& a,
                                    const RankRule& rule, const Kokkos::View<int*, MemSpace>& ranks,
                                    const MatrixBatch<int>& perm, const MatrixBatch<T>& q,
                                    const MatrixBatch<T>& r) {
  const bool want_q = q.layout.count() > 0, want_r = r.layout.count() > 0;
  const auto q_ref = ref<T>(q), r_ref = ref<T>(r);
  pivoted_qr_driver(
      exec, "strata::linalg::column_pivoted_qr", a, rule, ranks, perm,
      KOKKOS_LAMBDA(const Member& member, const int b, const MatRef<T>& f, const Scratch<T>& tau,
                    const int k, int*) {
        if (want_q) {
          const auto qq = q_ref(b);
          team_form_q(member, f, tau, k, 0, qq);
        }
        if (want_r) {
          const auto rr = r_ref(b);
          Kokkos::parallel_for(Kokkos::TeamThreadRange(member, rr.cols), [&](const int j) {
            for (int i = 0; i < rr.rows; ++i) rr(i, j) = (i <= j && i < k) ? f(i, j) : T(0);
          });
        }
      });
}

template <class T>
void TeamKernels::interpolative_decomposition(const ExecSpace& exec, const MatrixBatch<T>& a,
                                              const RankRule& rule,
                                              const Kokkos::View<int*, MemSpace>& ranks,
                                              const MatrixBatch<int>& skeleton,
                                              const MatrixBatch<T>& x) {
  const auto x_ref = ref<T>(x);
  pivoted_qr_driver(
      exec, "strata::linalg::interpolative_decomposition", a, rule, ranks, skeleton,
      KOKKOS_LAMBDA(const Member& member, const int b, const MatRef<T>& f, const Scratch<T>&,
                    const int k, int* pv) {
        // T = R11^{-1} R12 by back substitution, in place over R12 (one column per thread).
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, k, f.cols), [&](const int j) {
          for (int i = k - 1; i >= 0; --i) {
            T s = f(i, j);
            for (int l = i + 1; l < k; ++l) s -= f(i, l) * f(l, j);
            f(i, j) = s / f(i, i);
          }
        });
        member.team_barrier();
        const auto xx = x_ref(b);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, f.cols), [&](const int j) {
          const int c = pv[j];
          for (int i = 0; i < xx.rows; ++i) {
            xx(i, c) = i >= k ? T(0) : (j < k ? (i == j ? T(1) : T(0)) : f(i, j));
          }
        });
      });
}

template <class T>
void TeamKernels::svd(const ExecSpace& exec, const MatrixBatch<T>& a, const MatrixBatch<T>& u,
                      const MatrixBatch<T>& sigma, const MatrixBatch<T>& v) {
  const int count = a.layout.count();
  const bool want_u = u.layout.count() > 0, want_v = v.layout.count() > 0;
  // Per matrix, team_jacobi_svd works on W = A (tall, m >= n) or A^T (wide), p x q with p = max(m,
  // n) and q = min(m, n): W's columns become U (tall) or V (wide), and the accumulated rotations
  // (q x q) V (tall) or U (wide). What nobody asked for is not computed.
  // Where W's own vectors are not asked for (values only; U only of a wide matrix), the Jacobi
  // sweeps run on X = R^T (q x q) from W = Q R instead (Drmac & Veselic 2008, the QR
  // preconditioning of xGEJSV): X has W's singular values, and its left vectors are W's right
  // ones, so no rotations need accumulating; on graded spectra it takes about a third of the
  // sweeps (27 -> 10 on a 64 x 94 matrix with sigma from 1 to 1e-14, fp64).
  std::size_t w_len = 1, j_len = 1;
  int p_max = 1, q_max = 1;
  bool any_normalize = false, any_second = false, all_preconditioned = true;
  for (int b = 0; b < count; ++b) {
    const int m = a.layout.host_rows[b], n = a.layout.host_cols[b];
    const bool tall = m >= n;
    const int p = std::max(m, n), q = std::min(m, n);
    const bool vectors = tall ? want_u : want_v, rotations = tall ? want_v : want_u;
    w_len = std::max(w_len, static_cast<std::size_t>(p) * static_cast<std::size_t>(q));
    p_max = std::max(p_max, p);
    q_max = std::max(q_max, q);
    any_normalize = any_normalize || vectors || rotations;
    all_preconditioned = all_preconditioned && !vectors;
    // The second q x q matrix: J, or X when preconditioned.
    if (rotations || !vectors) {
      any_second = true;
      j_len = std::max(j_len, static_cast<std::size_t>(q) * static_cast<std::size_t>(q));
    }
  }
  // Team scratch: the squared column norms, R's diagonal, the Gram-Schmidt vectors (only where
  // some matrix's columns are normalized) and the sort's swaps always; W and the second matrix
  // too where they fit in level 0 (a GPU's shared memory: every round reads and writes them, so
  // there a round is two shared-memory passes rather than global-memory ones). Otherwise they
  // stay in global memory: in the outputs, or where there is none in `work`.
  const int work_len = any_normalize ? p_max + q_max : 0;
  const std::size_t vector_bytes = 2 * Scratch<T>::shmem_size(q_max) +
                                   Scratch<T>::shmem_size(work_len) +
                                   Scratch<int>::shmem_size(q_max + 1);
  const std::size_t w_bytes = Scratch<T>::shmem_size(w_len);
  const std::size_t j_bytes = any_second ? Scratch<T>::shmem_size(j_len) : 0;
  const auto level0 = static_cast<std::size_t>(TeamPolicy::scratch_size_max(0));
  // The matrix the sweeps run on first: X where every matrix is preconditioned (W is then only
  // read by the QR), else W.
  bool w_in_scratch = false, j_in_scratch = false;
  if (all_preconditioned) {
    j_in_scratch = vector_bytes + j_bytes <= level0;
    w_in_scratch = vector_bytes + (j_in_scratch ? j_bytes : 0) + w_bytes <= level0;
  } else {
    w_in_scratch = vector_bytes + w_bytes <= level0;
    j_in_scratch = any_second && vector_bytes + (w_in_scratch ? w_bytes : 0) + j_bytes <= level0;
  }
  const std::size_t bytes =
      vector_bytes + (w_in_scratch ? w_bytes : 0) + (j_in_scratch ? j_bytes : 0);
  const int level = scratch_level(bytes);
  std::vector<int> work_rows(static_cast<std::size_t>(count), 0), work_cols = work_rows;
  bool any_work = false;
  for (int b = 0; b < count; ++b) {
    const int m = a.layout.host_rows[b], n = a.layout.host_cols[b];
    const bool tall = m >= n;
    const bool vectors = tall ? want_u : want_v, rotations = tall ? want_v : want_u;
    const int q = std::min(m, n);
    // W without an output (then preconditioned), and X without one (values only).
    const int cols =
        (!w_in_scratch && !vectors ? q : 0) + (!j_in_scratch && !vectors && !rotations ? q : 0);
    work_rows[static_cast<std::size_t>(b)] = cols > 0 ? std::max(m, n) : 0;
    work_cols[static_cast<std::size_t>(b)] = cols;
    any_work = any_work || cols > 0;
  }
  MatrixBatch<T> work;
  if (any_work) {
    // Every entry is written (the copy of A, X from R) before it is read.
    work = MatrixBatch<T>::allocate_uninitialized("strata::linalg::svd::w", work_rows, work_cols);
  }
  const auto a_ref = ref<T>(a), u_ref = ref<T>(u), s_ref = ref<T>(sigma), v_ref = ref<T>(v),
             x_ref = ref<T>(work);
  const T tiny = std::numeric_limits<T>::min() / std::numeric_limits<T>::epsilon();
  Kokkos::View<int*, MemSpace> info("strata::linalg::svd::info", count);
  // team_jacobi_svd gives each rotation's columns to the vector lanes of one team thread: 16 lanes
  // on a GPU (the columns here have tens to a few hundred rows).
  constexpr int lanes = 16;
  auto policy = kx::auto_team_policy(exec, count, lanes);
  policy.set_scratch_size(level, Kokkos::PerTeam(bytes));
  Kokkos::parallel_for(
      "strata::linalg::svd", policy, KOKKOS_LAMBDA(const Member& member) {
        const int b = member.league_rank();
        Scratch<T> norm2(member.team_scratch(level), q_max),
            diagonal(member.team_scratch(level), q_max);
        Scratch<T> normalize_work(member.team_scratch(level), work_len);
        Scratch<int> shared(member.team_scratch(level), q_max + 1);
        T* const w_buffer =
            w_in_scratch ? Scratch<T>(member.team_scratch(level), w_len).data() : nullptr;
        T* const j_buffer =
            j_in_scratch ? Scratch<T>(member.team_scratch(level), j_len).data() : nullptr;
        const auto src = a_ref(b);
        const bool tall = src.rows >= src.cols;
        const int p = tall ? src.rows : src.cols, q = tall ? src.cols : src.rows;
        const bool vectors = tall ? want_u : want_v, rotations = tall ? want_v : want_u;
        const bool precondition = !vectors;
        const MatRef<T> w_out = vectors ? (tall ? u_ref(b) : v_ref(b)) : MatRef<T>{};
        const MatRef<T> j_out = rotations ? (tall ? v_ref(b) : u_ref(b)) : MatRef<T>{};
        // `work` holds W where it has no place (precondition: no output for it), and after it X
        // where X has none (values only). An empty matrix (q = 0) has no work columns, and with
        // none in the batch `work` is empty: x_ref is not read for it.
        const bool x_in_work = precondition && !j_in_scratch && !rotations;
        const MatRef<T> spare =
            precondition && q > 0 && (!w_in_scratch || x_in_work) ? x_ref(b) : MatRef<T>{};
        const MatRef<T> w = w_in_scratch ? MatRef<T>{w_buffer, p, q, kx::max(p, 1)}
                            : vectors    ? w_out
                                         : MatRef<T>{spare.p, p, q, spare.ld};
        // J, or X: in scratch, else in the output (J; X that ends as U), else in `work` after W.
        MatRef<T> second;
        if (rotations || precondition) {
          if (j_in_scratch) {
            second = MatRef<T>{j_buffer, q, q, kx::max(q, 1)};
          } else if (rotations) {
            second = j_out;
          } else {
            second = MatRef<T>{spare.p + (w_in_scratch ? 0 : q) * static_cast<index_type>(spare.ld),
                               q, q, spare.ld};
          }
        }
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, q), [&](const int c) {
          Kokkos::parallel_for(Kokkos::ThreadVectorRange(member, p),
                               [&](const int i) { w(i, c) = tall ? src(i, c) : src(c, i); });
          if (rotations && !precondition) {
            Kokkos::parallel_for(Kokkos::ThreadVectorRange(member, q),
                                 [&](const int i) { second(i, c) = i == c ? T(1) : T(0); });
          }
        });
        // The QR, and otherwise team_jacobi_svd's first pass, read whole columns of W.
        member.team_barrier();
        int status = 0;
        if (precondition) {
          team_vector_qr_r(member, w, diagonal);
          // X = R^T: lower triangular, R's diagonal from `diagonal`, strict lower part from W's
          // strict upper triangle (team_vector_qr_r ends with a team barrier).
          Kokkos::parallel_for(Kokkos::TeamThreadRange(member, q), [&](const int c) {
            Kokkos::parallel_for(Kokkos::ThreadVectorRange(member, q), [&](const int i) {
              second(i, c) = i > c ? w(c, i) : (i == c ? diagonal(c) : T(0));
            });
          });
          // team_jacobi_svd's first pass reads whole columns of X.
          member.team_barrier();
          status = team_jacobi_svd(member, second, MatRef<T>{}, rotations, s_ref(b).p, norm2,
                                   normalize_work, shared, tiny, 60);
        } else {
          status = team_jacobi_svd(member, w, rotations ? second : MatRef<T>{}, true, s_ref(b).p,
                                   norm2, normalize_work, shared, tiny, 60);
        }
        // team_jacobi_svd ends with a team barrier: its results are complete.
        if (w_in_scratch && vectors) {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(member, q), [&](const int c) {
            Kokkos::parallel_for(Kokkos::ThreadVectorRange(member, p),
                                 [&](const int i) { w_out(i, c) = w(i, c); });
          });
        }
        if (j_in_scratch && rotations) {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(member, q), [&](const int c) {
            Kokkos::parallel_for(Kokkos::ThreadVectorRange(member, q),
                                 [&](const int i) { j_out(i, c) = second(i, c); });
          });
        }
        Kokkos::single(Kokkos::PerTeam(member), [&]() { info(b) = status; });
      });
  check_info(exec, info, "svd");
}

template <class T>
void TeamKernels::pseudo_inverse_apply(const ExecSpace& exec, const MatrixBatch<T>& b,
                                       const MatrixBatch<T>& a, const MatrixBatch<T>& x,
                                       double rcond) {
  const int count = a.layout.count();
  const auto& ar = a.layout.host_rows;
  const auto& ac = a.layout.host_cols;
  const auto& br = b.layout.host_rows;
  std::vector<int> k(static_cast<std::size_t>(count)), ones(static_cast<std::size_t>(count), 1);
  for (int i = 0; i < count; ++i) k[i] = std::min(ar[i], ac[i]);
  auto u = MatrixBatch<T>::allocate("strata::linalg::pinv::u", ar, k);
  auto s = MatrixBatch<T>::allocate("strata::linalg::pinv::sigma", k, ones);
  auto v = MatrixBatch<T>::allocate("strata::linalg::pinv::v", ac, k);
  svd(exec, a, u, s, v);
  auto t = MatrixBatch<T>::allocate("strata::linalg::pinv::bv", br, k);
  const auto b_ref = ref<T>(b), x_ref = ref<T>(x), u_ref = ref<T>(u), s_ref = ref<T>(s),
             v_ref = ref<T>(v), t_ref = ref<T>(t);
  const double cut_factor = rcond;
  Kokkos::parallel_for(
      "strata::linalg::pseudo_inverse_apply", team_policy(exec, count, 0),
      KOKKOS_LAMBDA(const Member& member) {
        const int i = member.league_rank();
        const auto bb = b_ref(i), uu = u_ref(i), vv = v_ref(i), tt = t_ref(i), xx = x_ref(i);
        const T* sg = s_ref(i).p;
        const int kk = uu.cols;
        const T cut = kk > 0 ? static_cast<T>(cut_factor) * sg[0] : T(0);
        // T = B V diag(1/sigma) with the singular values <= cut dropped.
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, tt.rows * kk), [&](const int e) {
          const int r = e % tt.rows, l = e / tt.rows;
          T acc = 0;
          if (sg[l] > cut) {
            for (int c = 0; c < bb.cols; ++c) acc += bb(r, c) * vv(c, l);
            acc /= sg[l];
          }
          tt(r, l) = acc;
        });
        member.team_barrier();
        // X = T U^T.
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, xx.rows * xx.cols), [&](const int e) {
          const int r = e % xx.rows, c = e / xx.rows;
          T acc = 0;
          for (int l = 0; l < kk; ++l) acc += tt(r, l) * uu(c, l);
          xx(r, c) = acc;
        });
      });
}

template <class T>
void TeamKernels::gemm_batched(const ExecSpace& exec, bool ta, bool tb, T alpha,
                               const MatrixBatch<T>& a, const MatrixBatch<T>& b, T beta,
                               const MatrixBatch<T>& c) {
  const int count = c.layout.count();
  const auto a_ref = ref<T>(a), b_ref = ref<T>(b), c_ref = ref<T>(c);
  Kokkos::parallel_for(
      "strata::linalg::gemm_batched::variable", team_policy(exec, count, 0),
      KOKKOS_LAMBDA(const Member& member) {
        const int i = member.league_rank();
        const auto aa = a_ref(i), bb = b_ref(i), cc = c_ref(i);
        const int inner = ta ? aa.rows : aa.cols;
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, cc.rows * cc.cols), [&](const int e) {
          const int r = e % cc.rows, col = e / cc.rows;
          T acc = 0;
          for (int l = 0; l < inner; ++l)
            acc += (ta ? aa(l, r) : aa(r, l)) * (tb ? bb(col, l) : bb(l, col));
          cc(r, col) = beta == T(0) ? alpha * acc : alpha * acc + beta * cc(r, col);
        });
      });
}

template <class T>
void TeamKernels::copy_batched(const ExecSpace& exec, bool t, const MatrixBatch<T>& a,
                               const MatrixBatch<T>& b) {
  const int count = a.layout.count();
  const auto a_ref = ref<T>(a), b_ref = ref<T>(b);
  Kokkos::parallel_for(
      "strata::linalg::copy_batched", team_policy(exec, count, 0),
      KOKKOS_LAMBDA(const Member& member) {
        const int i = member.league_rank();
        const auto aa = a_ref(i), bb = b_ref(i);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, bb.rows * bb.cols), [&](const int e) {
          const int r = e % bb.rows, c = e / bb.rows;
          bb(r, c) = t ? aa(c, r) : aa(r, c);
        });
      });
}

#define STRATA_TEAM_KERNELS_DEFINE(T)                                                              \
  template void TeamKernels::householder_qr<T>(const ExecSpace&, const MatrixBatch<T>&,            \
                                               const MatrixBatch<T>&, const MatrixBatch<T>&);      \
  template void TeamKernels::null_space<T>(const ExecSpace&, const MatrixBatch<T>&,                \
                                           const MatrixBatch<T>&);                                 \
  template void TeamKernels::column_pivoted_qr<T>(                                                 \
      const ExecSpace&, const MatrixBatch<T>&, const RankRule&,                                    \
      const Kokkos::View<int*, MemSpace>&, const MatrixBatch<int>&, const MatrixBatch<T>&,         \
      const MatrixBatch<T>&);                                                                      \
  template void TeamKernels::interpolative_decomposition<T>(                                       \
      const ExecSpace&, const MatrixBatch<T>&, const RankRule&,                                    \
      const Kokkos::View<int*, MemSpace>&, const MatrixBatch<int>&, const MatrixBatch<T>&);        \
  template void TeamKernels::svd<T>(const ExecSpace&, const MatrixBatch<T>&,                       \
                                    const MatrixBatch<T>&, const MatrixBatch<T>&,                  \
                                    const MatrixBatch<T>&);                                        \
  template void TeamKernels::pseudo_inverse_apply<T>(const ExecSpace&, const MatrixBatch<T>&,      \
                                                     const MatrixBatch<T>&, const MatrixBatch<T>&, \
                                                     double);                                      \
  template void TeamKernels::gemm_batched<T>(const ExecSpace&, bool, bool, T,                      \
                                             const MatrixBatch<T>&, const MatrixBatch<T>&, T,      \
                                             const MatrixBatch<T>&);                               \
  template void TeamKernels::copy_batched<T>(const ExecSpace&, bool, const MatrixBatch<T>&,        \
                                             const MatrixBatch<T>&);
STRATA_TEAM_KERNELS_DEFINE(float)
STRATA_TEAM_KERNELS_DEFINE(double)
#undef STRATA_TEAM_KERNELS_DEFINE

}  // namespace strata::linalg::detail
