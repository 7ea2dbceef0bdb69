// Host kernels of the batched dense operations (batched_dense_backend.hpp): every matrix of a
// batch goes to host LAPACK/BLAS (through linalg/detail/lapack.hpp), and the matrices are spread
// over the threads of Kokkos::DefaultHostExecutionSpace (a plain loop under Serial). Each thread
// owns one workspace that grows to the largest request and is reused for every matrix it handles,
// so the hot loop allocates only while a workspace grows. The BLAS runs single-threaded inside
// (lapack::SingleThreadedBlas). Used when the batch memory is host-accessible; the raw pointers
// below are then valid on the host.
//
// Routines (LAPACK Users' Guide, 3rd ed.): Householder QR xGEQRF + xORGQR (explicit Q) or xORMQR
// (null-space columns of the full Q without forming it); SVD by divide and conquer xGESDD with
// the QR-iteration xGESVD as fallback if it does not converge (U and sigma alone of non-square
// matrices: xGESVD without V, see svd_without_v_by_gesvd); B A^+ for wide or square A through
// the QR of A^T (xGEQRF, xTRCON, xORMQR, xTRSM) when R is well enough conditioned for that to be
// the rcond-truncated pseudo-inverse (qr_gives_truncated_pinv), else (and for tall A) as the
// minimum-norm least-squares solution of A^T X^T = B^T by xGELSD (SVD-based, singular values <=
// rcond sigma_1 dropped: the rcond semantics of batched_dense.hpp) with xGELSS as fallback; GEMM
// by xGEMM.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/linalg/detail/batched_dense_backend.hpp"
#include "strata/linalg/detail/lapack.hpp"

namespace strata::linalg::detail {

namespace {

/// One column-major host matrix of a batch.
template <class T>
struct HostRef {
  T* p;
  int rows, cols, ld;
  T& operator()(int i, int j) const { return p[i + static_cast<index_type>(j) * ld]; }
};

template <class T>
HostRef<T> host_ref(const MatrixBatch<T>& batch, int b) {
  const auto i = static_cast<std::size_t>(b);
  return {batch.values.data() + batch.layout.host_offset[i], batch.layout.host_rows[i],
          batch.layout.host_cols[i], batch.layout.host_ld[i]};
}

/// Per-thread scratch: grows, never shrinks, reused across the matrices of one call.
template <class T>
struct Workspace {
  std::vector<T> a, b, c, s, tau, work;
  std::vector<int> iwork;
};

template <class V>
auto* ensure(V& v, index_type n) {
  if (static_cast<index_type>(v.size()) < std::max<index_type>(n, 1))
    v.resize(static_cast<std::size_t>(std::max<index_type>(n, 1)));
  return v.data();
}

/// Size of the work array from a LAPACK workspace query (lwork = -1) result.
template <class T>
int query_size(T q) {
  return std::max(1, static_cast<int>(std::ceil(static_cast<double>(q))));
}

// A template, so that the branch not taken is discarded (a device ExecSpace does not convert to
// HostExecSpace).
template <class Exec>
HostExecSpace host_instance(const Exec& exec) {
  // The inputs may come from asynchronous work on `exec` (e.g. CUDA with UVM memory).
  kx::fence(exec, "strata::linalg::batched_dense::host::inputs");
  if constexpr (std::is_same_v<Exec, HostExecSpace>) {
    return exec;
  } else {
    return HostExecSpace{};
  }
}

/// Calls f(b, workspace, info_b) for every matrix b of a batch, in parallel over the host
/// threads; f reports failures through info_b (exceptions must not cross the parallel region).
/// Returns the per-matrix info.
template <class T, class F>
std::vector<int> for_each_matrix(const ExecSpace& exec, const char* label, int count, F f) {
  const HostExecSpace host = host_instance(exec);
  // Parallelism is over the matrices; each LAPACK/BLAS call is small (see lapack.hpp).
  const lapack::SingleThreadedBlas single_threaded_blas;
  Kokkos::Experimental::UniqueToken<HostExecSpace> token(host);
  std::vector<Workspace<T>> ws(static_cast<std::size_t>(token.size()));
  std::vector<int> info(static_cast<std::size_t>(count), 0);
  Kokkos::parallel_for(label, Kokkos::RangePolicy<HostExecSpace>(host, 0, count), [&](const int b) {
    const int id = token.acquire();
    f(b, ws[static_cast<std::size_t>(id)], info[static_cast<std::size_t>(b)]);
    token.release(id);
  });
  kx::fence(host, std::string(label) + "::done");
  return info;
}

/// Info codes of the host kernels.
enum : int { ok = 0, not_finite = 1, no_convergence = 2 };

void check_info(const std::vector<int>& info, const char* function) {
  for (std::size_t b = 0; b < info.size(); ++b) {
    STRATA_REQUIRE(info[b] == ok, NumericalError, function, ": matrix ", b,
                   info[b] == not_finite ? " holds NaN or Inf entries; expected finite numbers"
                                         : " did not converge (LAPACK SVD failed)");
  }
}

template <class T>
bool all_finite(const HostRef<T>& a) {
  for (int j = 0; j < a.cols; ++j)
    for (int i = 0; i < a.rows; ++i)
      if (!std::isfinite(a(i, j))) return false;
  return true;
}

/// Copies op(a) (op = transpose when `trans`) into w with leading dimension ld.
template <class T>
void copy_to(const HostRef<T>& a, bool trans, T* w, int ld) {
  if (trans) {
    for (int j = 0; j < a.cols; ++j)
      for (int i = 0; i < a.rows; ++i) w[j + static_cast<index_type>(i) * ld] = a(i, j);
  } else {
    for (int j = 0; j < a.cols; ++j)
      std::copy(&a(0, j), &a(0, j) + a.rows, w + static_cast<index_type>(j) * ld);
  }
}

/// Householder QR of w (m x n, leading dimension ld) in place, tau of length min(m, n).
template <class T>
void geqrf(int m, int n, T* w, int ld, Workspace<T>& ws) {
  if (m == 0 || n == 0) return;
  T* tau = ensure(ws.tau, std::min(m, n));
  int info = 0, lwork = -1;
  T q = 0;
  lapack::geqrf(&m, &n, w, &ld, tau, &q, &lwork, &info);
  lwork = query_size(q);
  lapack::geqrf(&m, &n, w, &ld, tau, ensure(ws.work, lwork), &lwork, &info);
}

}  // namespace

template <class T>
void HostKernels::householder_qr(const ExecSpace& exec, const MatrixBatch<T>& a,
                                 const MatrixBatch<T>& q, const MatrixBatch<T>& r) {
  const bool want_r = r.layout.count() > 0;
  for_each_matrix<T>(exec, "strata::linalg::householder_qr::host", a.layout.count(),
                     [&](const int b, Workspace<T>& ws, int&) {
                       const auto src = host_ref(a, b), qq = host_ref(q, b);
                       int m = src.rows, n = src.cols, ld = std::max(1, m);
                       const int k = std::min(m, n);
                       T* f = ensure(ws.a, static_cast<index_type>(ld) * n);
                       copy_to(src, false, f, ld);
                       geqrf(m, n, f, ld, ws);
                       if (want_r) {
                         const auto rr = host_ref(r, b);
                         for (int j = 0; j < n; ++j)
                           for (int i = 0; i < k; ++i)
                             rr(i, j) = i <= j ? f[i + static_cast<index_type>(j) * ld] : T(0);
                       }
                       // Columns [0, qc) of H_0 ... H_{k-1} depend only on the first min(k, qc)
                       // reflectors.
                       int qc = qq.cols, kq = std::min(k, qc), ldq = qq.ld;
                       if (qc == 0) return;
                       for (int j = 0; j < std::min(qc, n); ++j)
                         std::copy(f + static_cast<index_type>(j) * ld,
                                   f + static_cast<index_type>(j) * ld + m, &qq(0, j));
                       int info = 0, lwork = -1;
                       T query = 0;
                       T* tau = ensure(ws.tau, std::max(kq, 1));
                       lapack::orgqr(&m, &qc, &kq, qq.p, &ldq, tau, &query, &lwork, &info);
                       lwork = query_size(query);
                       lapack::orgqr(&m, &qc, &kq, qq.p, &ldq, tau, ensure(ws.work, lwork), &lwork,
                                     &info);
                     });
}

/// N = Q [0; I_kn; 0] (s x kn, leading dimension ldn): columns p .. p + kn - 1 of the full Q of
/// the xGEQRF factors `f` (leading dimension ld, `reflectors` reflectors, tau in ws.tau) of an
/// s x p matrix. With no reflectors Q = I and N is those columns of I.
template <class T>
void form_null_basis(const T* f, int ld, int s, int p, int reflectors, int kn, T* n, int ldn,
                     Workspace<T>& ws) {
  for (int j = 0; j < kn; ++j)
    for (int i = 0; i < s; ++i) n[i + static_cast<index_type>(j) * ldn] = i == p + j ? T(1) : T(0);
  if (reflectors == 0 || kn == 0) return;
  int info = 0, lwork = -1;
  T query = 0;
  lapack::ormqr("L", "N", &s, &kn, &reflectors, f, &ld, ws.tau.data(), n, &ldn, &query, &lwork,
                &info);
  lwork = query_size(query);
  lapack::ormqr("L", "N", &s, &kn, &reflectors, f, &ld, ws.tau.data(), n, &ldn,
                ensure(ws.work, lwork), &lwork, &info);
}

template <class T>
void HostKernels::null_space(const ExecSpace& exec, const MatrixBatch<T>& a,
                             const MatrixBatch<T>& n) {
  for_each_matrix<T>(exec, "strata::linalg::null_space::host", a.layout.count(),
                     [&](const int b, Workspace<T>& ws, int&) {
                       const auto src = host_ref(a, b), nn = host_ref(n, b);
                       // QR of A^T (s x p); N = Q [0; I_k; 0] (columns p .. p + k - 1 of the full
                       // Q).
                       int p = src.rows, s = src.cols, kn = nn.cols, ld = std::max(1, s),
                           ldn = nn.ld;
                       int reflectors = std::min(s, p);
                       if (kn == 0) return;
                       T* f = nullptr;
                       if (reflectors > 0) {
                         f = ensure(ws.a, static_cast<index_type>(ld) * p);
                         copy_to(src, true, f, ld);
                         geqrf(s, p, f, ld, ws);
                       }
                       form_null_basis(f, ld, s, p, reflectors, kn, nn.p, ldn, ws);
                     });
}

// Column-pivoted QR stays on the team kernels (not on the HSS paths; not measured here).
template <class T>
void HostKernels::column_pivoted_qr(const ExecSpace& exec, const MatrixBatch<T>& a,
                                    const RankRule& rule, const Kokkos::View<int*, MemSpace>& ranks,
                                    const MatrixBatch<int>& perm, const MatrixBatch<T>& q,
                                    const MatrixBatch<T>& r) {
  TeamKernels::column_pivoted_qr(exec, a, rule, ranks, perm, q, r);
}

// The interpolative decomposition by xGEQP3 (BLAS-3 column-pivoted QR: half of its flops in xGEMM)
// and xTRSM for X = R11^{-1} R12. xGEQP3 factors all min(m, n) columns, where the team kernel stops
// at the rank; for the ID's shapes here (samples x candidates, rank a good part of the samples)
// that costs less than the team kernel's level-2 updates and per-step norm recomputation: measured
// in perf/bench_hss_strumpack (entries-products) on a 2-core host, N = 4096-8192. The rank is
// read off the pivots |R_jj| with the rule of RankRule, as the team kernel does: the first j with
// |R_jj| <= max(absolute, relative |R_00|) (or zero, or max_rank) ends it. xGEQP3 downdates the
// column norms (with LAPACK's recomputation safeguard, xLAQPS/xLAQP2), so near-ties may pivot
// differently from the team kernel, which recomputes them: both are valid pivoted QRs.
template <class T>
void HostKernels::interpolative_decomposition(const ExecSpace& exec, const MatrixBatch<T>& a,
                                              const RankRule& rule,
                                              const Kokkos::View<int*, MemSpace>& ranks,
                                              const MatrixBatch<int>& skeleton,
                                              const MatrixBatch<T>& x) {
  int* rank_out = ranks.data();
  const auto info = for_each_matrix<T>(
      exec, "strata::linalg::interpolative_decomposition::host", a.layout.count(),
      [&](const int b, Workspace<T>& ws, int& status) {
        const auto src = host_ref(a, b), xx = host_ref(x, b);
        const auto pv = host_ref(skeleton, b);
        int m = src.rows, n = src.cols, ld = std::max(1, m);
        const int steps =
            rule.max_rank < 0 ? std::min(m, n) : std::min(rule.max_rank, std::min(m, n));
        int k = 0;
        int* jpvt = ensure(ws.iwork, n);
        T* f = ensure(ws.a, static_cast<index_type>(ld) * n);
        if (m > 0 && n > 0 && all_finite(src)) {
          copy_to(src, false, f, ld);
          std::fill(jpvt, jpvt + n, 0);  // every column free
          T* tau = ensure(ws.tau, std::min(m, n));
          int lapack_info = 0, lwork = -1;
          T query = 0;
          lapack::geqp3(&m, &n, f, &ld, jpvt, tau, &query, &lwork, &lapack_info);
          lwork = query_size(query);
          lapack::geqp3(&m, &n, f, &ld, jpvt, tau, ensure(ws.work, lwork), &lwork, &lapack_info);
          const double first = std::abs(static_cast<double>(f[0]));
          const double cut = std::max(rule.absolute_tolerance, rule.relative_tolerance * first);
          while (k < steps) {
            const double pivot =
                std::abs(static_cast<double>(f[k + static_cast<index_type>(k) * ld]));
            if (!(pivot > cut) || pivot == 0) break;
            ++k;
          }
          // T = R11^{-1} R12 in place over R12 (k x (n - k)).
          int rest = n - k;
          if (k > 0 && rest > 0) {
            const T one = 1;
            lapack::trsm("L", "U", "N", "N", &k, &rest, &one, f, &ld,
                         f + static_cast<index_type>(k) * ld, &ld);
          }
        } else {
          if (m > 0 && n > 0) status = not_finite;
          for (int j = 0; j < n; ++j) jpvt[j] = j + 1;
        }
        rank_out[b] = k;
        for (int j = 0; j < n; ++j) pv(j, 0) = jpvt[j] - 1;
        for (int j = 0; j < n; ++j) {
          const int c = jpvt[j] - 1;
          for (int i = 0; i < xx.rows; ++i)
            xx(i, c) =
                i >= k ? T(0)
                       : (j < k ? (i == j ? T(1) : T(0)) : f[i + static_cast<index_type>(j) * ld]);
        }
      });
  check_info(info, "interpolative_decomposition");
}

/// Whether the thin SVD of an m x n matrix without V goes to xGESVD (JOBU = 'S', JOBVT = 'N')
/// rather than xGESDD: when max(m, n) >= 1.6 min(m, n), xGESVD's own crossover (ILAENV's MNTHR)
/// to a QR (LQ) first and the SVD of the small triangular factor, where leaving out V saves most.
/// Measured on the host with OpenBLAS's LAPACK on the HSS shapes (Levitt-Martinsson's projected
/// samples): 10-40% faster than xGESDD with vectors for 64 x 20, 64 x 30, 40 x 77, 30 x 80 and
/// 24 x 90; 5-40% slower than xGESDD for the near-square 64 x 53, 60 x 57 and 70 x 47, which
/// therefore stay on xGESDD.
namespace {
bool svd_without_v_by_gesvd(int m, int n) {
  return 10 * static_cast<index_type>(std::max(m, n)) >=
         16 * static_cast<index_type>(std::min(m, n));
}
}  // namespace

template <class T>
void HostKernels::svd(const ExecSpace& exec, const MatrixBatch<T>& a, const MatrixBatch<T>& u,
                      const MatrixBatch<T>& sigma, const MatrixBatch<T>& v) {
  const bool want_u = u.layout.count() > 0, want_v = v.layout.count() > 0;
  const auto info = for_each_matrix<T>(
      exec, "strata::linalg::svd::host", a.layout.count(),
      [&](const int b, Workspace<T>& ws, int& status) {
        const auto src = host_ref(a, b);
        const auto uu = want_u ? host_ref(u, b) : HostRef<T>{nullptr, 0, 0, 1};
        int m = src.rows, n = src.cols, k = std::min(m, n), ld = std::max(1, m), ldu = uu.ld;
        if (k == 0) return;
        if (!all_finite(src)) {
          status = not_finite;
          return;
        }
        T* f = ensure(ws.a, static_cast<index_type>(ld) * n);
        T* vt = ensure(ws.b, static_cast<index_type>(k) * n);
        T* s = host_ref(sigma, b).p;
        copy_to(src, false, f, ld);
        int info = 0, lwork = -1;
        T query = 0;
        // U and sigma by xGESVD (no V; the fallback of xGESDD too), into uu (m x k).
        auto by_gesvd = [&](const char* jobvt) {
          lwork = -1;
          lapack::gesvd("S", jobvt, &m, &n, f, &ld, s, uu.p, &ldu, vt, &k, &query, &lwork, &info);
          lwork = query_size(query);
          lapack::gesvd("S", jobvt, &m, &n, f, &ld, s, uu.p, &ldu, vt, &k, ensure(ws.work, lwork),
                        &lwork, &info);
        };
        if (!want_u) {  // singular values alone (then want_v is false too: svd's contract)
          int* iwork = ensure(ws.iwork, 8 * k);
          lapack::gesdd("N", &m, &n, f, &ld, s, vt, &ldu, vt, &k, &query, &lwork, iwork, &info);
          lwork = query_size(query);
          lapack::gesdd("N", &m, &n, f, &ld, s, vt, &ldu, vt, &k, ensure(ws.work, lwork), &lwork,
                        iwork, &info);
          if (info > 0) {
            copy_to(src, false, f, ld);
            lwork = -1;
            lapack::gesvd("N", "N", &m, &n, f, &ld, s, vt, &ldu, vt, &k, &query, &lwork, &info);
            lwork = query_size(query);
            lapack::gesvd("N", "N", &m, &n, f, &ld, s, vt, &ldu, vt, &k, ensure(ws.work, lwork),
                          &lwork, &info);
          }
        } else if (!want_v && svd_without_v_by_gesvd(m, n)) {
          by_gesvd("N");
        } else {
          int* iwork = ensure(ws.iwork, 8 * k);
          lapack::gesdd("S", &m, &n, f, &ld, s, uu.p, &ldu, vt, &k, &query, &lwork, iwork, &info);
          lwork = query_size(query);
          lapack::gesdd("S", &m, &n, f, &ld, s, uu.p, &ldu, vt, &k, ensure(ws.work, lwork), &lwork,
                        iwork, &info);
          if (info > 0) {
            copy_to(src, false, f, ld);
            by_gesvd(want_v ? "S" : "N");
          }
        }
        if (info != 0) {
          status = no_convergence;
          return;
        }
        if (!want_v) return;
        const auto vv = host_ref(v, b);
        for (int j = 0; j < n; ++j)
          for (int i = 0; i < k; ++i) vv(j, i) = vt[i + static_cast<index_type>(j) * k];
      });
  check_info(info, "svd");
}

namespace {

/// Whether the QR of A^T (s x p, s >= p) gives B A^+ as the SVD-truncated pseudo-inverse would,
/// from the 1-norm reciprocal condition estimate rc of R (xTRCON).
///
/// Derivation. (1) Exactness: if sigma_p(A) > rcond sigma_1(A), the truncation drops nothing and
/// A^+ = A^T (A A^T)^{-1} = Q R^{-T}, so X^T = R^{-1} Q^T B^T: the least-squares solution of
/// A^T X^T = B^T (unique, A^T has full column rank), which Householder QR computes backward
/// stably (Higham, Accuracy and Stability, Thm 20.3), as xGELSD does: both carry the error of
/// the problem's conditioning, O(kappa(A) u) (plus the kappa^2 u residual term of least squares).
/// (2) Agreement of the decision: xGELSD keeps sigma_j when its computed value exceeds rcond
/// times the computed sigma_1; the computed values are those of A + E with ||E||_2 <= c n u
/// ||A||_2 (n = max(s, p), c a modest constant), so it keeps all p of them whenever
/// sigma_p >= (rcond + c n u) sigma_1. With r' = max(rcond, n eps) (eps = 2u) that holds when
/// sigma_p >= M r' sigma_1 and M >= 1 + c / 2; we take M = 10.
/// (3) Estimating sigma_p / sigma_1 = 1 / kappa_2(A) from R: kappa_2(R) = kappa_2(A) up to the
/// O(s p u) backward error of the QR. xTRCON returns rc = 1 / (||R||_1 est(||R^{-1}||_1)) with
/// est a lower bound of ||R^{-1}||_1, in practice within a factor 3 of it (Higham, Sec. 15.3).
/// Norm equivalence on p x p matrices, ||M||_2 <= sqrt(p) ||M||_1 <= p ||M||_2, gives
/// kappa_2(R) <= p kappa_1(R) <= 3 p / rc. So rc >= 3 p M r' implies kappa_2(A) <= 1 / (M r'),
/// which is (2). Anything below (near-singular, rank-deficient, or the estimate unlucky) takes
/// the SVD route, which is the documented definition; a false fallback costs only time.
template <class T>
bool qr_gives_truncated_pinv(T rc, int p, int s, double rcond) {
  constexpr double margin = 10;
  const double r =
      std::max(rcond, std::max(s, p) * static_cast<double>(std::numeric_limits<T>::epsilon()));
  return static_cast<double>(rc) >= 3.0 * p * margin * r;
}

/// X = B A^+ through the QR of A^T when qr_gives_truncated_pinv (A p x s with p <= s): A^T = Q R,
/// X^T = R^{-1} (Q^T B^T)(0:p, :) by xGEQRF, xTRCON, xORMQR and xTRSM. Returns false, with x
/// untouched, when R is too ill-conditioned for that. With `bn`, also B N = rows p .. p + k - 1 of
/// Q^T B^T, transposed (host_null_space_project_pseudo_inverse_apply).
template <class T>
bool pinv_from_qr(const T* at, int lda, int p, int s, const HostRef<T>& bb, const HostRef<T>& xx,
                  double rcond, Workspace<T>& ws, const HostRef<T>* bn = nullptr,
                  typename NullSpaceProjectFactors<T>::Buffer* keep_c = nullptr);

template <class T>
bool pinv_by_qr(const HostRef<T>& aa, const HostRef<T>& bb, const HostRef<T>& xx, double rcond,
                Workspace<T>& ws) {
  const int p = aa.rows, s = aa.cols, lda = s;
  T* at = ensure(ws.a, static_cast<index_type>(lda) * p);
  copy_to(aa, true, at, lda);
  geqrf(s, p, at, lda, ws);
  return pinv_from_qr(at, lda, p, s, bb, xx, rcond, ws);
}

/// The solve part of pinv_by_qr: `at` (s x p, leading dimension lda) and ws.tau hold the xGEQRF
/// factors of A^T; ws.a is not touched. With keep_c, C = Q^T B^T (s x q) is formed there. With no
/// X (xx.p null: only B N and the kept C asked for) the condition test and the solve are left
/// out: B N is valid for any R (range(A^T) lies in the span of Q's first p columns).
template <class T>
bool pinv_from_qr(const T* at, int lda, int p, int s, const HostRef<T>& bb, const HostRef<T>& xx,
                  double rcond, Workspace<T>& ws, const HostRef<T>* bn,
                  typename NullSpaceProjectFactors<T>::Buffer* keep_c) {
  int q = bb.rows, info = 0;
  const bool want_x = xx.p != nullptr;
  T rc = 0;
  if (want_x) {
    lapack::trcon("1", "U", "N", &p, at, &lda, &rc, ensure(ws.work, 3 * p), ensure(ws.iwork, p),
                  &info);
    if (info != 0 || !(rc > 0) || !qr_gives_truncated_pinv(rc, p, s, rcond)) return false;
  }
  int ldb = s, lwork = -1;
  // Q^T B^T is formed where it is kept (no copy afterwards); the solve then works on a copy of its
  // first p rows.
  T* bt = nullptr;
  if (keep_c != nullptr) {
    keep_c->resize(static_cast<std::size_t>(ldb) * static_cast<std::size_t>(q));
    bt = keep_c->data();
  } else {
    bt = ensure(ws.b, static_cast<index_type>(ldb) * q);
  }
  copy_to(bb, true, bt, ldb);
  T query = 0;
  lapack::ormqr("L", "T", &s, &q, &p, at, &lda, ws.tau.data(), bt, &ldb, &query, &lwork, &info);
  lwork = query_size(query);
  lapack::ormqr("L", "T", &s, &q, &p, at, &lda, ws.tau.data(), bt, &ldb, ensure(ws.work, lwork),
                &lwork, &info);
  if (bn != nullptr) {
    for (int j = 0; j < bn->cols; ++j)
      for (int r = 0; r < q; ++r) (*bn)(r, j) = bt[p + j + static_cast<index_type>(r) * ldb];
  }
  if (!want_x) return true;
  T* top = bt;
  int ldt = ldb;
  if (keep_c != nullptr) {
    ldt = std::max(1, p);
    top = ensure(ws.b, static_cast<index_type>(ldt) * q);
    for (int j = 0; j < q; ++j)
      std::copy(bt + static_cast<index_type>(j) * ldb, bt + static_cast<index_type>(j) * ldb + p,
                top + static_cast<index_type>(j) * ldt);
  }
  const T one = 1;
  lapack::trsm("L", "U", "N", "N", &p, &q, &one, at, &lda, top, &ldt);
  for (int j = 0; j < p; ++j)
    for (int r = 0; r < q; ++r) xx(r, j) = top[j + static_cast<index_type>(r) * ldt];
  return true;
}

/// X = B A^+ by the SVD-based minimum-norm least-squares solver xGELSD on A^T X^T = B^T (xGELSS
/// if it does not converge). Returns the LAPACK info.
template <class T>
int pinv_by_svd(const HostRef<T>& aa, const HostRef<T>& bb, const HostRef<T>& xx, double rcond,
                Workspace<T>& ws) {
  // X A = B  <=>  A^T X^T = B^T: A^T is s x p, B^T is s x q, X^T is p x q.
  int p = aa.rows, s = aa.cols, q = bb.rows;
  const T rc = static_cast<T>(rcond);
  int lda = s, ldb = std::max(s, p), rank = 0, info = 0, lwork = -1;
  T* at = ensure(ws.a, static_cast<index_type>(lda) * p);
  T* bt = ensure(ws.b, static_cast<index_type>(ldb) * q);
  T* sv = ensure(ws.s, std::min(s, p));
  copy_to(aa, true, at, lda);
  copy_to(bb, true, bt, ldb);
  T query = 0;
  int iquery = 0;
  lapack::gelsd(&s, &p, &q, at, &lda, bt, &ldb, sv, &rc, &rank, &query, &lwork, &iquery, &info);
  lwork = query_size(query);
  // LIWORK >= 3 minmn nlvl + 11 minmn with nlvl = floor(log2(minmn / (smlsiz + 1))) + 1
  // and smlsiz = 25 (xGELSD documentation); older LAPACKs do not return it in the query.
  const int minmn = std::min(s, p);
  const int nlvl = std::max(0, static_cast<int>(std::log2(minmn / 26.0)) + 1);
  int* iwork = ensure(ws.iwork, std::max({iquery, 3 * minmn * nlvl + 11 * minmn, 1}));
  lapack::gelsd(&s, &p, &q, at, &lda, bt, &ldb, sv, &rc, &rank, ensure(ws.work, lwork), &lwork,
                iwork, &info);
  if (info > 0) {
    copy_to(aa, true, at, lda);
    copy_to(bb, true, bt, ldb);
    lwork = -1;
    lapack::gelss(&s, &p, &q, at, &lda, bt, &ldb, sv, &rc, &rank, &query, &lwork, &info);
    lwork = query_size(query);
    lapack::gelss(&s, &p, &q, at, &lda, bt, &ldb, sv, &rc, &rank, ensure(ws.work, lwork), &lwork,
                  &info);
  }
  if (info != 0) return info;
  for (int j = 0; j < p; ++j)
    for (int r = 0; r < q; ++r) xx(r, j) = bt[j + static_cast<index_type>(r) * ldb];
  return 0;
}

}  // namespace

template <class T>
PinvPaths host_pseudo_inverse_apply(const ExecSpace& exec, const MatrixBatch<T>& b,
                                    const MatrixBatch<T>& a, const MatrixBatch<T>& x,
                                    double rcond) {
  const int count = a.layout.count();
  // 1: QR of A^T, 2: SVD (xGELSD); 0: nothing to factor. One entry per matrix (no races).
  std::vector<char> path(static_cast<std::size_t>(count), 0);
  const auto info = for_each_matrix<T>(exec, "strata::linalg::pseudo_inverse_apply::host", count,
                                       [&](const int i, Workspace<T>& ws, int& status) {
                                         const auto aa = host_ref(a, i), bb = host_ref(b, i),
                                                    xx = host_ref(x, i);
                                         const int p = aa.rows, s = aa.cols, q = bb.rows;
                                         if (q == 0 || p == 0) return;
                                         if (s == 0) {
                                           for (int j = 0; j < p; ++j)
                                             for (int r = 0; r < q; ++r) xx(r, j) = T(0);
                                           return;
                                         }
                                         if (!all_finite(aa)) {
                                           status = not_finite;
                                           return;
                                         }
                                         // Wide or square A (the HSS case: Gaussian Omega_t
                                         // blocks): QR when it is accurate.
                                         if (p <= s && pinv_by_qr(aa, bb, xx, rcond, ws)) {
                                           path[static_cast<std::size_t>(i)] = 1;
                                           return;
                                         }
                                         path[static_cast<std::size_t>(i)] = 2;
                                         if (pinv_by_svd(aa, bb, xx, rcond, ws) != 0)
                                           status = no_convergence;
                                       });
  check_info(info, "pseudo_inverse_apply");
  PinvPaths paths;
  for (const char c : path) {
    paths.qr += c == 1;
    paths.svd += c == 2;
  }
  return paths;
}

// B N and B A^+ from one xGEQRF of A^T = Q R and one xORMQR of B^T (s x q): C = Q^T B^T holds
// (B A^+)^T = R^{-1} C(0:p, :) in its first p rows (pinv_from_qr) and (B N)^T in rows p..p+k-1,
// because N = Q [0; I_k; 0] gives (B N)^T = N^T B^T = [0, I_k, 0] Q^T B^T. Forming N (4 s p k
// flops) and the product B N (2 q s k) are saved; the xORMQR and xTRSM of the pseudo-inverse were
// needed anyway. When R is too ill-conditioned for the QR route (qr_gives_truncated_pinv), N is
// formed as null_space does and multiplied by xGEMM, and X comes from xGELSD.
namespace {

/// The update of kept factors by the columns s0..s-1 of A (p x s) and B (q x s), 0 < p <= s0 <= s:
/// with A(:, 0:s0)^T = Q0 [R0; 0] and C0 = Q0^T B(:, 0:s0)^T kept, A^T = diag(Q0, I) [R0; 0; W]
/// (W = A(:, s0:s)^T), and the QR of the stacked [R0; W] = Q1 [R; 0] (xTPQRT: R0 triangular, W
/// rectangular) gives A^T = Q [R; 0] with Q^T B^T = [Q1^T [C0(0:p, :); E]; C0(p:s0, :)] (E =
/// B(:, s0:s)^T, xTPMQRT) up to the order of the rows below p: those rows stay B times an
/// orthonormal basis of A's null space (the old directions, then the new ones). Then the null-space
/// product and X^T = R^{-1} (Q^T B^T)(0:p, :) as in pinv_from_qr (no X, and no condition test,
/// when xx.p is null). Returns false, with the outputs untouched and the kept factors spoiled,
/// when R is too ill-conditioned for the QR route.
template <class T>
bool extend_null_space_project(const HostRef<T>& aa, const HostRef<T>& bb, const HostRef<T>& yn,
                               const HostRef<T>& xx, double rcond, int s0,
                               typename NullSpaceProjectFactors<T>::Buffer& r,
                               typename NullSpaceProjectFactors<T>::Buffer& c, Workspace<T>& ws) {
  int p = aa.rows, s = aa.cols, q = bb.rows, d = s - s0, zero = 0, info = 0;
  const bool want_x = xx.p != nullptr;
  // Q^T B^T: the kept C itself when no columns are new (d = 0: X of an earlier call without it).
  typename NullSpaceProjectFactors<T>::Buffer cn;
  const T* ct = c.data();
  if (d > 0) {
    cn.resize(static_cast<std::size_t>(s) * static_cast<std::size_t>(q));
    for (int j = 0; j < q; ++j)
      std::copy(c.data() + static_cast<index_type>(j) * s0,
                c.data() + static_cast<index_type>(j) * s0 + s0,
                cn.data() + static_cast<index_type>(j) * s);
    T* w = ensure(ws.a, static_cast<index_type>(d) * p);
    T* e = ensure(ws.b, static_cast<index_type>(d) * q);
    for (int j = 0; j < p; ++j)
      for (int t = 0; t < d; ++t) w[t + static_cast<index_type>(j) * d] = aa(j, s0 + t);
    for (int j = 0; j < q; ++j)
      for (int t = 0; t < d; ++t) e[t + static_cast<index_type>(j) * d] = bb(j, s0 + t);
    int nb = std::min(p, 32);
    T* tf = ensure(ws.c, static_cast<index_type>(nb) * p);
    T* work = ensure(ws.work, static_cast<index_type>(nb) * std::max(p, q));
    lapack::tpqrt(&d, &p, &zero, &nb, r.data(), &p, w, &d, tf, &nb, work, &info);
    lapack::tpmqrt("L", "T", &d, &q, &p, &zero, &nb, w, &d, tf, &nb, cn.data(), &s, e, &d, work,
                   &info);
    for (int j = 0; j < q; ++j)
      std::copy(e + static_cast<index_type>(j) * d, e + static_cast<index_type>(j) * d + d,
                cn.data() + s0 + static_cast<index_type>(j) * s);
    ct = cn.data();
  }
  if (want_x) {
    T rc = 0;
    lapack::trcon("1", "U", "N", &p, r.data(), &p, &rc, ensure(ws.work, 3 * p), ensure(ws.iwork, p),
                  &info);
    if (info != 0 || !(rc > 0) || !qr_gives_truncated_pinv(rc, p, s, rcond)) return false;
  }
  for (int j = 0; j < yn.cols; ++j)
    for (int row = 0; row < q; ++row) yn(row, j) = ct[p + j + static_cast<index_type>(row) * s];
  if (want_x) {
    T* top = ensure(ws.b, static_cast<index_type>(p) * q);
    for (int j = 0; j < q; ++j)
      std::copy(ct + static_cast<index_type>(j) * s, ct + static_cast<index_type>(j) * s + p,
                top + static_cast<index_type>(j) * p);
    const T one = 1;
    lapack::trsm("L", "U", "N", "N", &p, &q, &one, r.data(), &p, top, &p);
    for (int j = 0; j < p; ++j)
      for (int row = 0; row < q; ++row) xx(row, j) = top[j + static_cast<index_type>(row) * p];
  }
  if (d > 0) c = std::move(cn);
  return true;
}

}  // namespace

template <class T>
void host_null_space_project_pseudo_inverse_apply(const ExecSpace& exec, const MatrixBatch<T>& a,
                                                  const MatrixBatch<T>& b, const MatrixBatch<T>& bn,
                                                  const MatrixBatch<T>& x, double rcond,
                                                  NullSpaceProjectFactors<T>* factors,
                                                  bool extend) {
  const int count = a.layout.count();
  const bool want_x = x.layout.count() > 0;
  // Kept factors from the earlier call, per matrix (none when the batch differs).
  const bool reuse = extend && factors != nullptr && static_cast<int>(factors->r.size()) == count &&
                     static_cast<int>(factors->p.size()) == count;
  if (factors != nullptr && !reuse) {
    const auto n = static_cast<std::size_t>(count);
    factors->p.assign(n, 0);
    factors->q.assign(n, 0);
    factors->s.assign(n, 0);
    factors->r.assign(n, {});
    factors->c.assign(n, {});
  }
  const auto info = for_each_matrix<T>(
      exec, "strata::linalg::null_space_project_pseudo_inverse_apply::host", count,
      [&](const int i, Workspace<T>& ws, int& status) {
        const auto aa = host_ref(a, i), bb = host_ref(b, i), yn = host_ref(bn, i);
        const auto xx = want_x ? host_ref(x, i) : HostRef<T>{nullptr, 0, 0, 1};
        int p = aa.rows, s = aa.cols, kn = yn.cols, q = bb.rows, ld = std::max(1, s);
        if (!all_finite(aa)) {
          status = not_finite;
          return;
        }
        const auto k = static_cast<std::size_t>(i);
        auto* keep_r = factors != nullptr ? &factors->r[k] : nullptr;
        auto* keep_c = factors != nullptr ? &factors->c[k] : nullptr;
        if (reuse && !keep_r->empty() && factors->p[k] == p && factors->q[k] == q &&
            factors->s[k] <= s && kn == s - p) {
          if (extend_null_space_project(aa, bb, yn, xx, rcond, factors->s[k], *keep_r, *keep_c,
                                        ws)) {
            factors->s[k] = s;
            return;
          }
        }
        if (keep_r != nullptr) {  // factored afresh below; kept again on the QR route only
          keep_r->clear();
          keep_c->clear();
        }
        if (q == 0) return;
        if (s == 0) {  // then kn = 0: X = 0
          for (int j = 0; j < p && want_x; ++j)
            for (int r = 0; r < q; ++r) xx(r, j) = T(0);
          return;
        }
        if (p == 0) {  // N = the first kn columns of I: B N = B(:, 0:kn); X has no columns
          for (int j = 0; j < kn; ++j)
            for (int r = 0; r < q; ++r) yn(r, j) = bb(r, j);
          return;
        }
        T* f = ensure(ws.a, static_cast<index_type>(ld) * p);
        copy_to(aa, true, f, ld);
        geqrf(s, p, f, ld, ws);
        if (p <= s && pinv_from_qr(f, ld, p, s, bb, xx, rcond, ws, &yn, keep_c)) {
          if (keep_r != nullptr) {
            // The leading p x p block; only its upper triangle R is read (xTRCON, xTRSM and
            // xTPQRT take it as upper triangular), the reflectors below stay unused.
            keep_r->resize(static_cast<std::size_t>(p) * static_cast<std::size_t>(p));
            for (int j = 0; j < p; ++j)
              std::copy(f + static_cast<index_type>(j) * ld,
                        f + static_cast<index_type>(j) * ld + p,
                        keep_r->data() + static_cast<index_type>(j) * p);
            factors->p[k] = p;
            factors->q[k] = q;
            factors->s[k] = s;
          }
          return;
        }
        if (keep_c != nullptr) keep_c->clear();
        if (kn > 0) {  // here p <= s - kn < s: p reflectors
          T* nn = ensure(ws.c, static_cast<index_type>(s) * kn);
          form_null_basis(f, ld, s, p, p, kn, nn, s, ws);
          const T one = 1, zero = 0;
          int ldb = bb.ld, ldn = yn.ld;
          lapack::gemm("N", "N", &q, &kn, &s, &one, bb.p, &ldb, nn, &s, &zero, yn.p, &ldn);
        }
        if (want_x && pinv_by_svd(aa, bb, xx, rcond, ws) != 0) status = no_convergence;
      });
  check_info(info, "null_space_project_pseudo_inverse_apply");
}

template <class T>
void HostKernels::pseudo_inverse_apply(const ExecSpace& exec, const MatrixBatch<T>& b,
                                       const MatrixBatch<T>& a, const MatrixBatch<T>& x,
                                       double rcond) {
  host_pseudo_inverse_apply(exec, b, a, x, rcond);
}

template <class T>
void HostKernels::gemm_batched(const ExecSpace& exec, bool ta, bool tb, T alpha,
                               const MatrixBatch<T>& a, const MatrixBatch<T>& b, T beta,
                               const MatrixBatch<T>& c) {
  for_each_matrix<T>(exec, "strata::linalg::gemm_batched::host", c.layout.count(),
                     [&](const int i, Workspace<T>&, int&) {
                       const auto aa = host_ref(a, i), bb = host_ref(b, i), cc = host_ref(c, i);
                       int m = cc.rows, n = cc.cols, k = ta ? aa.rows : aa.cols;
                       int lda = aa.ld, ldb = bb.ld, ldc = cc.ld;
                       if (m == 0 || n == 0) return;
                       lapack::gemm(ta ? "T" : "N", tb ? "T" : "N", &m, &n, &k, &alpha, aa.p, &lda,
                                    bb.p, &ldb, &beta, cc.p, &ldc);
                     });
}

template <class T>
void HostKernels::copy_batched(const ExecSpace& exec, bool trans, const MatrixBatch<T>& a,
                               const MatrixBatch<T>& b) {
  for_each_matrix<T>(exec, "strata::linalg::copy_batched::host", a.layout.count(),
                     [&](const int i, Workspace<T>&, int&) {
                       const auto bb = host_ref(b, i);
                       copy_to(host_ref(a, i), trans, bb.p, bb.ld);
                     });
}

#define STRATA_HOST_KERNELS_DEFINE(T)                                                              \
  template void HostKernels::householder_qr<T>(const ExecSpace&, const MatrixBatch<T>&,            \
                                               const MatrixBatch<T>&, const MatrixBatch<T>&);      \
  template void HostKernels::null_space<T>(const ExecSpace&, const MatrixBatch<T>&,                \
                                           const MatrixBatch<T>&);                                 \
  template void HostKernels::column_pivoted_qr<T>(                                                 \
      const ExecSpace&, const MatrixBatch<T>&, const RankRule&,                                    \
      const Kokkos::View<int*, MemSpace>&, const MatrixBatch<int>&, const MatrixBatch<T>&,         \
      const MatrixBatch<T>&);                                                                      \
  template void HostKernels::interpolative_decomposition<T>(                                       \
      const ExecSpace&, const MatrixBatch<T>&, const RankRule&,                                    \
      const Kokkos::View<int*, MemSpace>&, const MatrixBatch<int>&, const MatrixBatch<T>&);        \
  template void HostKernels::svd<T>(const ExecSpace&, const MatrixBatch<T>&,                       \
                                    const MatrixBatch<T>&, const MatrixBatch<T>&,                  \
                                    const MatrixBatch<T>&);                                        \
  template void HostKernels::pseudo_inverse_apply<T>(const ExecSpace&, const MatrixBatch<T>&,      \
                                                     const MatrixBatch<T>&, const MatrixBatch<T>&, \
                                                     double);                                      \
  template PinvPaths host_pseudo_inverse_apply<T>(const ExecSpace&, const MatrixBatch<T>&,         \
                                                  const MatrixBatch<T>&, const MatrixBatch<T>&,    \
                                                  double);                                         \
  template void host_null_space_project_pseudo_inverse_apply<T>(                                   \
      const ExecSpace&, const MatrixBatch<T>&, const MatrixBatch<T>&, const MatrixBatch<T>&,       \
      const MatrixBatch<T>&, double, NullSpaceProjectFactors<T>*, bool);                           \
  template void HostKernels::gemm_batched<T>(const ExecSpace&, bool, bool, T,                      \
                                             const MatrixBatch<T>&, const MatrixBatch<T>&, T,      \
                                             const MatrixBatch<T>&);                               \
  template void HostKernels::copy_batched<T>(const ExecSpace&, bool, const MatrixBatch<T>&,        \
                                             const MatrixBatch<T>&);
STRATA_HOST_KERNELS_DEFINE(float)
STRATA_HOST_KERNELS_DEFINE(double)
#undef STRATA_HOST_KERNELS_DEFINE

}  // namespace strata::linalg::detail
