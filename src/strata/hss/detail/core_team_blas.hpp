// Small dense operations on column-major blocks given by pointer and leading dimension, executed
// by one Kokkos team (the HSS kernels run a team per tree node, and node blocks have per-node
// sizes, so they cannot use the fixed-shape batched BLAS).
#pragma once

#include <Kokkos_Core.hpp>

#include "strata/core/kokkos_ext/math.hpp"
#include "strata/linalg/detail/batched_dense_team.hpp"

namespace strata::hss::detail {

/// C (m x n) = alpha op(A) op(B) + beta C with op(A) m x k (A itself k x m when trans_a), op(B)
/// k x n (B itself n x k when trans_b). beta = 0 overwrites C without reading it. Each team
/// thread computes whole entries of C.
template <class Member, class T>
KOKKOS_INLINE_FUNCTION void team_gemm(const Member& team, bool trans_a, bool trans_b, int m, int n,
                                      int k, T alpha, const T* a, long lda, const T* b, long ldb,
                                      T beta, T* c, long ldc) {
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

}  // namespace strata::hss::detail

namespace strata::hss::detail {

/// In-place Householder QR of A (m x n, LAPACK xGEQR2 convention): R on and above the diagonal,
/// reflector j (v_j = 1 implicit) below it, tau(j) its scale, for j < min(m, n). A NaN anywhere in
/// a column reaches R, the reflectors and tau.
template <class Member, class T>
KOKKOS_INLINE_FUNCTION void team_householder_qr(const Member& team, int m, int n, T* a, long lda,
                                                T* tau) {
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

/// The full m x m orthogonal Q = H_0 H_1 ... H_{k-1} of team_householder_qr's reflectors (stored
/// in A below the diagonal, m x k, leading dim lda), written to q (leading dim ldq).
template <class Member, class T>
KOKKOS_INLINE_FUNCTION void team_form_q(const Member& team, int m, int k, const T* a, long lda,
                                        const T* tau, T* q, long ldq) {
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
