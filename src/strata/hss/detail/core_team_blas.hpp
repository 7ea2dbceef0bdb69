// Small dense operations on column-major blocks given by pointer and leading dimension, executed
// by one Kokkos team (the HSS kernels run a team per tree node, and node blocks have per-node
// sizes, so they cannot use the fixed-shape batched BLAS).
//
// Host fast path: on host backends a team is one thread (core/kokkos_ext/launch.hpp), and the
// team loops below are scalar loops. There team_gemm, team_householder_qr and team_form_q hand
// the block to the host BLAS/LAPACK (xGEMM, xGEQRF, xORGQR through linalg/detail/lapack.hpp) when
// the team has one thread and the scalar is float or double; wider host teams (OpenMP with
// STRATA_HOST_TEAM_SIZE) and GPU teams run the team loops (the *_loops functions). The BLAS calls
// are compiled for host member types in host compilation passes only (core/kokkos_ext/
// host_code.hpp), so GPU kernels are unchanged. The callers' host launches hold a TeamBlasThreads,
// so that these calls, issued inside parallel regions, run single-threaded. Both paths follow the
// xGEQR2 conventions (reflectors, tau, signs), so factors from either are interchangeable.
#pragma once

#include <Kokkos_Core.hpp>
#include <optional>
#include <type_traits>
#include <vector>

#include "strata/core/kokkos_ext/host_code.hpp"
#include "strata/core/kokkos_ext/math.hpp"
#include "strata/linalg/detail/batched_dense_team.hpp"
#include "strata/linalg/detail/lapack.hpp"

namespace strata::hss::detail {

/// While alive on a host execution space, the host BLAS runs single-threaded (the team kernels'
/// fast path calls it from inside parallel regions, once per tree node, on blocks of tens to a few
/// hundred rows: parallelism is over the nodes, as in linalg/detail/batched_dense_host.cpp).
/// Nothing on GPU spaces. Construct it outside parallel regions, around the kernel launches.
template <class ExecutionSpace>
class TeamBlasThreads {
 public:
  TeamBlasThreads() {
    if constexpr (kx::runs_on_host<ExecutionSpace>) guard_.emplace();
  }

 private:
  std::optional<linalg::lapack::SingleThreadedBlas> guard_;
};

namespace host_team_blas {

/// True for the scalars the host BLAS/LAPACK takes.
template <class T>
inline constexpr bool blas_scalar = std::is_same_v<T, float> || std::is_same_v<T, double>;

/// True when every dimension and leading dimension fits the BLAS' int and each leading dimension
/// is at least max(1, rows): the BLAS rejects (xerbla) what the team loops accept for empty blocks.
inline bool fits(long rows_a, long lda, long rows_b, long ldb, long rows_c, long ldc) {
  constexpr long most = 2147483647L;
  const auto ok = [](long rows, long ld) {
    return ld >= (rows > 1 ? rows : 1) && ld <= most;
  };
  return ok(rows_a, lda) && ok(rows_b, ldb) && ok(rows_c, ldc);
}

/// This thread's LAPACK workspace of at least n entries (grows, never shrinks).
template <class T>
T* workspace(long n) {
  thread_local std::vector<T> work;
  if (static_cast<long>(work.size()) < n) work.resize(static_cast<std::size_t>(n));
  return work.data();
}

/// Work entries per column handed to xGEQRF and xORGQR: above the block size they ask for
/// (ilaenv: 32 in reference LAPACK and OpenBLAS), so they may run blocked; with less they would
/// still be correct, with a smaller block.
constexpr long work_per_column = 64;

template <class T>
bool gemm(bool trans_a, bool trans_b, int m, int n, int k, T alpha, const T* a, long lda,
          const T* b, long ldb, T beta, T* c, long ldc) {
  if (!fits(trans_a ? k : m, lda, trans_b ? n : k, ldb, m, ldc)) return false;
  if (m == 0 || n == 0) return true;
  const int ilda = static_cast<int>(lda), ildb = static_cast<int>(ldb),
            ildc = static_cast<int>(ldc);
  linalg::lapack::gemm(trans_a ? "T" : "N", trans_b ? "T" : "N", &m, &n, &k, &alpha, a, &ilda, b,
                       &ildb, &beta, c, &ildc);
  return true;
}

template <class T>
bool householder_qr(int m, int n, T* a, long lda, T* tau) {
  if (!fits(m, lda, 0, 1, 0, 1)) return false;
  if (m == 0 || n == 0) return true;
  const int ilda = static_cast<int>(lda);
  const int lwork = static_cast<int>(work_per_column * n);
  int info = 0;
  linalg::lapack::geqrf(&m, &n, a, &ilda, tau, workspace<T>(lwork), &lwork, &info);
  return true;
}

template <class T>
bool form_q(int m, int k, const T* a, long lda, const T* tau, T* q, long ldq) {
  if (k > m || !fits(m, lda, m, ldq, 0, 1)) return false;
  if (m == 0) return true;
  // xORGQR builds Q in place from the reflectors, so they go to q first.
  if (q != a) {
    for (int j = 0; j < k; ++j)
      for (int i = j + 1; i < m; ++i) q[i + j * ldq] = a[i + j * lda];
  }
  const int ildq = static_cast<int>(ldq);
  const int lwork = static_cast<int>(work_per_column * m);
  int info = 0;
  linalg::lapack::orgqr(&m, &m, &k, q, &ildq, tau, workspace<T>(lwork), &lwork, &info);
  return true;
}

}  // namespace host_team_blas

/// team_gemm below by the team loops alone (what GPU and wide host teams run).
template <class Member, class T>
KOKKOS_INLINE_FUNCTION void team_gemm_loops(const Member& team, bool trans_a, bool trans_b, int m,
                                            int n, int k, T alpha, const T* a, long lda, const T* b,
                                            long ldb, T beta, T* c, long ldc) {
  const long sa_i = trans_a ? lda : 1, sa_p = trans_a ? 1 : lda;
  const long sb_p = trans_b ? ldb : 1, sb_j = trans_b ? 1 : ldb;
  Kokkos::parallel_for(Kokkos::TeamThreadRange(team, m * n), [&](const int idx) {
    const int i = idx % m, j = idx / m;
    T sum = 0;
    for (int p = 0; p < k; ++p) sum += a[i * sa_i + p * sa_p] * b[p * sb_p + j * sb_j];
    T& out = c[i + j * ldc];
    out = beta == T(0) ? alpha * sum : alpha * sum + beta * out;
  });
}

/// C (m x n) = alpha op(A) op(B) + beta C with op(A) m x k (A itself k x m when trans_a), op(B)
/// k x n (B itself n x k when trans_b). beta = 0 overwrites C without reading it. Each team
/// thread computes whole entries of C; a one-thread host team calls xGEMM.
template <class Member, class T>
KOKKOS_INLINE_FUNCTION void team_gemm(const Member& team, bool trans_a, bool trans_b, int m, int n,
                                      int k, T alpha, const T* a, long lda, const T* b, long ldb,
                                      T beta, T* c, long ldc) {
  if constexpr (kx::host_team_member<Member> && host_team_blas::blas_scalar<T>) {
    if (team.team_size() == 1) {
      STRATA_KX_IF_ON_HOST((if (host_team_blas::gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b,
                                                     ldb, beta, c, ldc)) return;))
    }
  }
  team_gemm_loops(team, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace strata::hss::detail

namespace strata::hss::detail {

/// team_householder_qr below by the team loops alone (what GPU and wide host teams run).
template <class Member, class T>
KOKKOS_INLINE_FUNCTION void team_householder_qr_loops(const Member& team, int m, int n, T* a,
                                                      long lda, T* tau) {
  const int steps = m < n ? m : n;
  for (int j = 0; j < steps; ++j) {
    T* col = a + j * lda;
    T tail = 0;
    Kokkos::parallel_reduce(
        Kokkos::TeamThreadRange(team, j + 1, m), [&](const int i, T& s) { s += col[i] * col[i]; },
        tail);
    // tau = 0 only for an exactly zero tail: a NaN below the diagonal reaches beta, tau and the
    // reflector (linalg::detail::reflector_scalars), as it does in xGEQRF.
    const linalg::detail::ReflectorScalars<T> h = linalg::detail::reflector_scalars(col[j], tail);
    const T beta = h.beta, t = h.tau, scale = h.scale;
    team.team_barrier();
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, j + 1, m),
                         [&](const int i) { col[i] *= scale; });
    team.team_barrier();
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, j + 1, n), [&](const int c) {
      T* target = a + c * lda;
      T s = target[j];
      for (int i = j + 1; i < m; ++i) s += col[i] * target[i];
      s *= t;
      target[j] -= s;
      for (int i = j + 1; i < m; ++i) target[i] -= s * col[i];
    });
    Kokkos::single(Kokkos::PerTeam(team), [&]() {
      col[j] = beta;
      tau[j] = t;
    });
    team.team_barrier();
  }
}

/// In-place Householder QR of A (m x n, LAPACK xGEQR2 convention): R on and above the diagonal,
/// reflector j (v_j = 1 implicit) below it, tau(j) its scale, for j < min(m, n). A NaN anywhere in
/// a column reaches R, the reflectors and tau. A one-thread host team calls xGEQRF.
template <class Member, class T>
KOKKOS_INLINE_FUNCTION void team_householder_qr(const Member& team, int m, int n, T* a, long lda,
                                                T* tau) {
  if constexpr (kx::host_team_member<Member> && host_team_blas::blas_scalar<T>) {
    if (team.team_size() == 1) {
      STRATA_KX_IF_ON_HOST((if (host_team_blas::householder_qr(m, n, a, lda, tau)) return;))
    }
  }
  team_householder_qr_loops(team, m, n, a, lda, tau);
}

/// team_form_q below by the team loops alone (what GPU and wide host teams run).
template <class Member, class T>
KOKKOS_INLINE_FUNCTION void team_form_q_loops(const Member& team, int m, int k, const T* a,
                                              long lda, const T* tau, T* q, long ldq) {
  Kokkos::parallel_for(Kokkos::TeamThreadRange(team, m * m), [&](const int idx) {
    const int i = idx % m, c = idx / m;
    q[i + c * ldq] = i == c ? T(1) : T(0);
  });
  team.team_barrier();
  for (int j = k - 1; j >= 0; --j) {
    const T* v = a + j * lda;
    const T t = tau[j];
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, m), [&](const int c) {
      T* target = q + c * ldq;
      T s = target[j];
      for (int i = j + 1; i < m; ++i) s += v[i] * target[i];
      s *= t;
      target[j] -= s;
      for (int i = j + 1; i < m; ++i) target[i] -= s * v[i];
    });
    team.team_barrier();
  }
}

/// The full m x m orthogonal Q = H_0 H_1 ... H_{k-1} of team_householder_qr's reflectors (stored
/// in A below the diagonal, m x k, leading dim lda), written to q (leading dim ldq). A one-thread
/// host team calls xORGQR.
template <class Member, class T>
KOKKOS_INLINE_FUNCTION void team_form_q(const Member& team, int m, int k, const T* a, long lda,
                                        const T* tau, T* q, long ldq) {
  if constexpr (kx::host_team_member<Member> && host_team_blas::blas_scalar<T>) {
    if (team.team_size() == 1) {
      STRATA_KX_IF_ON_HOST((if (host_team_blas::form_q(m, k, a, lda, tau, q, ldq)) return;))
    }
  }
  team_form_q_loops(team, m, k, a, lda, tau, q, ldq);
}

/// B (n x k) <- L^{-1} B for L lower triangular (n x n, leading dim ldl) (unit_diagonal: ones
/// assumed), or <- L^{-T} B with transpose. One team thread per right-hand side.
template <class Member, class T>
KOKKOS_INLINE_FUNCTION void team_lower_solve(const Member& team, bool transpose, bool unit_diagonal,
                                             int n, int k, const T* l, long ldl, T* b, long ldb) {
  Kokkos::parallel_for(Kokkos::TeamThreadRange(team, k), [&](const int c) {
    T* x = b + c * ldb;
    if (!transpose) {
      for (int i = 0; i < n; ++i) {
        T s = x[i];
        for (int p = 0; p < i; ++p) s -= l[i + p * ldl] * x[p];
        x[i] = unit_diagonal ? s : s / l[i + i * ldl];
      }
    } else {
      for (int i = n - 1; i >= 0; --i) {
        T s = x[i];
        for (int p = i + 1; p < n; ++p) s -= l[p + i * ldl] * x[p];
        x[i] = unit_diagonal ? s : s / l[i + i * ldl];
      }
    }
  });
}

/// B (n x k) <- U^{-1} B for the upper triangle U of an n x n array (leading dim ldu).
template <class Member, class T>
KOKKOS_INLINE_FUNCTION void team_upper_solve(const Member& team, int n, int k, const T* u, long ldu,
                                             T* b, long ldb) {
  Kokkos::parallel_for(Kokkos::TeamThreadRange(team, k), [&](const int c) {
    T* x = b + c * ldb;
    for (int i = n - 1; i >= 0; --i) {
      T s = x[i];
      for (int p = i + 1; p < n; ++p) s -= u[i + p * ldu] * x[p];
      x[i] = s / u[i + i * ldu];
    }
  });
}

/// In-place LU with partial pivoting of A (n x n): A = P L U, L unit lower. piv(j) is the row
/// swapped with row j. Returns (to every team thread) the number of zero pivots met.
template <class Member, class T, class Pivots>
KOKKOS_INLINE_FUNCTION int team_lu(const Member& team, int n, T* a, long lda, Pivots piv) {
  int zero_pivots = 0;
  for (int j = 0; j < n; ++j) {
    int p = j;
    T best = kx::abs(a[j + j * lda]);
    for (int i = j + 1; i < n; ++i) {
      const T v = kx::abs(a[i + j * lda]);
      if (v > best) {
        best = v;
        p = i;
      }
    }
    // Every thread scans column j itself; all must be done before the row swap changes it, or a
    // slow thread finds another pivot and the team diverges (skipped swap or barrier mismatch).
    team.team_barrier();
    Kokkos::single(Kokkos::PerTeam(team), [&]() { piv(j) = p; });
    if (p != j) {
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, n),
                           [&](const int c) { kx::swap(a[j + c * lda], a[p + c * lda]); });
    }
    team.team_barrier();
    if (best == T(0)) {
      ++zero_pivots;
      continue;
    }
    const T inv = T(1) / a[j + j * lda];
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, j + 1, n),
                         [&](const int i) { a[i + j * lda] *= inv; });
    team.team_barrier();
    const int rest = n - j - 1;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, rest * rest), [&](const int idx) {
      const int i = j + 1 + idx % rest, c = j + 1 + idx / rest;
      a[i + c * lda] -= a[i + j * lda] * a[j + c * lda];
    });
    team.team_barrier();
  }
  return zero_pivots;
}

/// In-place Cholesky A = L L^T of an n x n symmetric positive definite A (lower triangle used and
/// overwritten). Returns the number of non-positive pivots met (then A is not SPD to working
/// precision).
template <class Member, class T>
KOKKOS_INLINE_FUNCTION int team_cholesky(const Member& team, int n, T* a, long lda) {
  int bad = 0;
  for (int j = 0; j < n; ++j) {
    const T d = a[j + j * lda];
    if (!(d > T(0))) {
      ++bad;
      team.team_barrier();
      Kokkos::single(Kokkos::PerTeam(team), [&]() { a[j + j * lda] = T(1); });
      team.team_barrier();
      continue;
    }
    const T root = kx::sqrt(d);
    team.team_barrier();
    Kokkos::single(Kokkos::PerTeam(team), [&]() { a[j + j * lda] = root; });
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, j + 1, n),
                         [&](const int i) { a[i + j * lda] /= root; });
    team.team_barrier();
    const int rest = n - j - 1;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, rest * rest), [&](const int idx) {
      const int i = j + 1 + idx % rest, c = j + 1 + idx / rest;
      if (i >= c) a[i + c * lda] -= a[i + j * lda] * a[c + j * lda];
    });
    team.team_barrier();
  }
  return bad;
}

}  // namespace strata::hss::detail
