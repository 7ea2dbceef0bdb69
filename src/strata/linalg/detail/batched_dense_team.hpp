// Team-level building blocks of the batched dense kernels (batched_dense.hpp): each function is
// called by every thread of one team and works on one column-major matrix. Only TeamThreadRange
// loops, team barriers and Kokkos::single are used (team_jacobi_svd also uses vector lanes), so the
// code is the same on every backend.
#pragma once

#include "strata/core/kokkos_ext/math.hpp"
#include "strata/core/types.hpp"

namespace strata::linalg::detail {

/// One column-major matrix inside a flat array.
template <class T>
struct MatRef {
  T* p = nullptr;
  int rows = 0, cols = 0, ld = 1;
  KOKKOS_INLINE_FUNCTION T& operator()(int i, int j) const {
    return p[i + static_cast<index_type>(j) * ld];
  }
};

/// Device-copyable view of a MatrixBatch (the host vectors of BatchLayout stay behind).
template <class T>
struct BatchRef {
  Kokkos::View<T*, MemSpace> values;
  Kokkos::View<index_type*, MemSpace> offset;
  Kokkos::View<int*, MemSpace> rows, cols, ld;
  KOKKOS_INLINE_FUNCTION MatRef<T> operator()(int b) const {
    MatRef<T> m;
    m.p = values.data() + offset(b);
    m.rows = rows(b);
    m.cols = cols(b);
    m.ld = ld(b);
    return m;
  }
};

template <class T, class Batch>
BatchRef<T> ref(const Batch& batch) {
  return {batch.values, batch.layout.offset, batch.layout.rows, batch.layout.cols, batch.layout.ld};
}

using TeamPolicy = Kokkos::TeamPolicy<ExecSpace>;
using Member = TeamPolicy::member_type;
template <class T>
using Scratch =
    Kokkos::View<T*, ExecSpace::scratch_memory_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

/// The scalars of the Householder reflector that maps (alpha, x), ||x||^2 = tail, to (beta, 0)
/// (LAPACK xLARFG convention without rescaling): beta, tau, and the factor `scale` that turns x
/// into v's tail (v = (1, scale x)). tau = 0 (H = I, beta = alpha) only when tail is exactly
/// zero: a test `tail > 0` would also give H = I for a NaN below the diagonal, and the NaN would
/// vanish from the factors; here NaN beta, tau and scale carry it into them (NaN in, NaN out).
template <class T>
struct ReflectorScalars {
  T beta, tau, scale;
};

template <class T>
KOKKOS_INLINE_FUNCTION ReflectorScalars<T> reflector_scalars(T alpha, T tail) {
  if (tail == T(0)) return {alpha, T(0), T(1)};
  const T norm = kx::sqrt(alpha * alpha + tail);
  const T beta = alpha >= T(0) ? -norm : norm;
  return {beta, (beta - alpha) / beta, T(1) / (alpha - beta)};
}

/// Householder reflector H = I - tau v v^T with v = (1, a(k+1:m, k) / (alpha - beta)) that maps
/// a(k:m, k) to (beta, 0, ..., 0) (LAPACK xLARFG convention without rescaling). Overwrites the
/// column with beta and v's tail; returns tau through `tau_k`. tau = 0 (H = I) when the part below
/// the diagonal is zero.
template <class T>
KOKKOS_INLINE_FUNCTION void team_reflector(const Member& member, const MatRef<T>& a, int k,
                                           T* tau_k) {
  T tail = 0;
  Kokkos::parallel_reduce(
      Kokkos::TeamThreadRange(member, k + 1, a.rows),
      [&](const int i, T& s) { s += a(i, k) * a(i, k); }, tail);
  // Plain names: the lambdas below capture them (C++17 lambdas cannot capture structured bindings).
  const ReflectorScalars<T> h = reflector_scalars(a(k, k), tail);
  const T beta = h.beta, tau = h.tau, scale = h.scale;
  member.team_barrier();
  Kokkos::parallel_for(Kokkos::TeamThreadRange(member, k + 1, a.rows),
                       [&](const int i) { a(i, k) *= scale; });
  Kokkos::single(Kokkos::PerTeam(member), [&]() {
    a(k, k) = beta;
    *tau_k = tau;
  });
  member.team_barrier();
}

/// Applies H_k^T = H_k (reflector k stored below a(k, k)) to columns [first, last) of a.
template <class T>
KOKKOS_INLINE_FUNCTION void team_apply_reflector(const Member& member, const MatRef<T>& a, int k,
                                                 T tau, int first, int last) {
  if (tau != T(0)) {
    Kokkos::parallel_for(Kokkos::TeamThreadRange(member, first, last), [&](const int j) {
      T w = a(k, j);
      for (int i = k + 1; i < a.rows; ++i) w += a(i, k) * a(i, j);
      w *= tau;
      a(k, j) -= w;
      for (int i = k + 1; i < a.rows; ++i) a(i, j) -= w * a(i, k);
    });
  }
  member.team_barrier();
}

/// Unpivoted Householder QR of a in place (R on and above the diagonal, reflectors below):
/// min(m, n) steps, tau in `tau` (scratch of length >= min(m, n)).
template <class T>
KOKKOS_INLINE_FUNCTION void team_householder_qr(const Member& member, const MatRef<T>& a,
                                                const Scratch<T>& tau) {
  const int steps = kx::min(a.rows, a.cols);
  for (int k = 0; k < steps; ++k) {
    team_reflector(member, a, k, &tau(k));
    team_apply_reflector(member, a, k, tau(k), k + 1, a.cols);
  }
}

/// Columns [first, first + q.cols) of the full orthogonal factor H_0 H_1 ... H_{s-1} whose
/// reflectors are stored below the diagonal of `f` (rows f.rows = q.rows).
template <class T>
KOKKOS_INLINE_FUNCTION void team_form_q(const Member& member, const MatRef<T>& f,
                                        const Scratch<T>& tau, int reflectors, int first,
                                        const MatRef<T>& q) {
  Kokkos::parallel_for(Kokkos::TeamThreadRange(member, q.cols), [&](const int c) {
    for (int i = 0; i < q.rows; ++i) q(i, c) = i == first + c ? T(1) : T(0);
  });
  member.team_barrier();
  for (int k = reflectors - 1; k >= 0; --k) {
    const T t = tau(k);
    if (t == T(0)) continue;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(member, q.cols), [&](const int c) {
      T w = q(k, c);
      for (int i = k + 1; i < q.rows; ++i) w += f(i, k) * q(i, c);
      w *= t;
      q(k, c) -= w;
      for (int i = k + 1; i < q.rows; ++i) q(i, c) -= w * f(i, k);
    });
    member.team_barrier();
  }
}

/// Column-pivoted Householder QR of a in place, stopped at the first pivot norm d_k <=
/// max(abs_tol, rel_tol * d_0) or at max_rank steps (max_rank < 0: min(m, n)). The pivot order
/// goes to perm (length n), tau to tau, the squared trailing column norms use `norms` (length n).
/// Returns the rank.
template <class T>
KOKKOS_INLINE_FUNCTION int team_pivoted_qr(const Member& member, const MatRef<T>& a, int* perm,
                                           const Scratch<T>& tau, const Scratch<T>& norms,
                                           const Scratch<int>& shared, int max_rank, double rel_tol,
                                           double abs_tol) {
  const int m = a.rows, n = a.cols;
  const int steps = max_rank < 0 ? kx::min(m, n) : kx::min(max_rank, kx::min(m, n));
  Kokkos::parallel_for(Kokkos::TeamThreadRange(member, n), [&](const int j) { perm[j] = j; });
  member.team_barrier();
  double first = 0;
  int rank = 0;
  for (int k = 0; k < steps; ++k) {
    Kokkos::parallel_for(Kokkos::TeamThreadRange(member, k, n), [&](const int j) {
      T s = 0;
      for (int i = k; i < m; ++i) s += a(i, j) * a(i, j);
      norms(j) = s;
    });
    member.team_barrier();
    Kokkos::single(Kokkos::PerTeam(member), [&]() {
      int p = k;
      for (int j = k + 1; j < n; ++j)
        if (norms(j) > norms(p)) p = j;
      shared(0) = p;
      if (p != k) {
        for (int i = 0; i < m; ++i) kx::swap(a(i, k), a(i, p));
        kx::swap(perm[k], perm[p]);
      }
    });
    member.team_barrier();
    const double pivot = kx::sqrt(static_cast<double>(norms(shared(0))));
    if (k == 0) first = pivot;
    if (!(pivot > kx::max(abs_tol, rel_tol * first)) || pivot == 0) break;
    team_reflector(member, a, k, &tau(k));
    team_apply_reflector(member, a, k, tau(k), k + 1, n);
    rank = k + 1;
  }
  return rank;
}

/// The R factor of an unpivoted Householder QR of a (p x q, p >= q), for team_jacobi_svd's
/// preconditioning: R's diagonal goes to `diagonal` (length >= q), its strict upper triangle
/// overwrites a's; below the diagonal a is left unspecified (the reflectors are not kept). Uses
/// the vector lanes as team_jacobi_svd does: reflector k's norm is one team reduction, and each
/// later column j is updated by one team thread, its lanes taking the rows (one reduction for v^T
/// a_j over rows k..p-1, v_k = 1, then the update of the same rows, each lane its own rows).
/// Column k is only read while reflector k is applied, so R's diagonal is written apart.
template <class T>
KOKKOS_INLINE_FUNCTION void team_vector_qr_r(const Member& member, const MatRef<T>& a,
                                             const Scratch<T>& diagonal) {
  const int p = a.rows, q = a.cols;
  for (int k = 0; k < q; ++k) {
    T tail = 0;
    Kokkos::parallel_reduce(
        Kokkos::TeamThreadRange(member, 1),
        [&](const int, T& s) {
          T t = 0;
          Kokkos::parallel_reduce(
              Kokkos::ThreadVectorRange(member, k + 1, p),
              [&](const int i, T& u) { u += a(i, k) * a(i, k); }, t);
          s += t;
        },
        tail);
    // A NaN below the diagonal reaches R through beta (reflector_scalars), so that the sweep
    // reports it: column k's tail is never read again after this step.
    const ReflectorScalars<T> h = reflector_scalars(a(k, k), tail);
    const T beta = h.beta, tau = h.tau, scale = h.scale;
    Kokkos::single(Kokkos::PerTeam(member), [&]() { diagonal(k) = beta; });
    if (tau != T(0)) {
      Kokkos::parallel_for(Kokkos::TeamThreadRange(member, k + 1, q), [&](const int j) {
        T dot = 0;
        Kokkos::parallel_reduce(
            Kokkos::ThreadVectorRange(member, k, p),
            [&](const int i, T& u) { u += (i == k ? T(1) : scale * a(i, k)) * a(i, j); }, dot);
        const T wj = tau * dot;
        Kokkos::parallel_for(Kokkos::ThreadVectorRange(member, k, p), [&](const int i) {
          a(i, j) -= wj * (i == k ? T(1) : scale * a(i, k));
        });
      });
    }
    // Column k + 1, updated by one thread above, is reduced by every thread next.
    member.team_barrier();
  }
}

/// One-sided Jacobi SVD of W (p x q, p >= q): on return sigma holds the singular values,
/// non-increasing, and, with `vectors`, W = U diag(sigma) with U orthonormal (columns of zero
/// singular values, and of singular values <= eps ||W||_F, completed by Gram-Schmidt); with J (q x
/// q, the identity on entry) the rotations are accumulated into it (sorted as U), so that the
/// original W equals U diag(sigma) J^T + O(eps ||W||_F). J may be empty (j.p == nullptr): then the
/// rotations are not accumulated. Without `vectors`, W ends holding its rotated columns unsorted
/// and unscaled (sigma alone is the result). Scratch: `norm2` length >= q, `work` length >= p + q
/// with `vectors` (else unused), `shared` >= q + 1. Returns 0 on success, 1 for non-finite values,
/// 2 if max_sweeps did not suffice.
///
/// Unlike the blocks above, this one uses the vector lanes of the team's threads (a launch with
/// vector length > 1 on a GPU, kx::auto_team_policy(exec, league, lanes)): the column pairs of a
/// rotation round go to the team threads and each pair's dot product and rotation to the lanes
/// of its thread; every loop that writes runs over distinct (thread, lane) indices
/// (ThreadVectorRange inside a pair, TeamVectorRange otherwise). With one lane (host) it is the
/// scalar algorithm (the rotations in the same order; norms summed column by column).
///
/// The squared column norms are kept in `norm2` (Hestenes; Demmel & Veselic 1992, LAPACK xGESVJ):
/// computed exactly at the start of every sweep, and after a rotation updated as alpha' = alpha -
/// t gamma, beta' = beta + t gamma (for the rotation below:
/// ||c x - s y||^2 = c^2 (alpha - 2 t gamma + t^2 beta) and t^2 + 2 zeta t = 1 give alpha - t
/// gamma; the trace is invariant). The update loses relative accuracy eps alpha / alpha' where it
/// cancels, so as in xGESVJ a norm that drops below sqrt(eps) of its value before the rotation is
/// computed again from the column. A round is then one dependent pass for gamma and one for the
/// rotation of the W and J rows (was five: alpha, beta, gamma, W, J), plus the team barrier; the
/// sweep adds one pass for the norms.
template <class T>
KOKKOS_INLINE_FUNCTION int team_jacobi_svd(const Member& member, const MatRef<T>& w,
                                           const MatRef<T>& j, bool vectors, T* sigma,
                                           const Scratch<T>& norm2, const Scratch<T>& work,
                                           const Scratch<int>& shared, T tiny, int max_sweeps) {
  const int p = w.rows, q = w.cols;
  const bool accumulate = j.p != nullptr;
  const T eps = kx::epsilon<T>();
  const T tol = kx::sqrt(T(p)) * eps;
  const T root_eps = kx::sqrt(eps);
  const int players = q + (q % 2);
  // The squared norm of column c of w (a vector reduction over the lanes of the calling thread;
  // every lane gets the sum).
  const auto column_norm2 = [&](const int c) {
    T s = 0;
    Kokkos::parallel_reduce(
        Kokkos::ThreadVectorRange(member, p), [&](const int i, T& t) { t += w(i, c) * w(i, c); },
        s);
    return s;
  };
  // A column of norm <= eps ||W||_F is rounding noise of the rotations of the large columns: its
  // angle to any other column is then O(1) noise, so rotating it never converges (observed in
  // fp32 on rank-deficient matrices). Such columns are left alone and treated as zero at the end
  // (an error <= eps ||W||_F <= sqrt(q) eps sigma_1 in the singular values).
  T negligible = 0;
  int status = 2;
  for (int sweep = 0; sweep < max_sweeps; ++sweep) {
    Kokkos::parallel_for(Kokkos::TeamThreadRange(member, q), [&](const int c) {
      const T s = column_norm2(c);
      Kokkos::single(Kokkos::PerThread(member), [&]() { norm2(c) = s; });
    });
    // The pairs of the first round (and the sum below) read norms other threads wrote.
    member.team_barrier();
    if (sweep == 0) {
      T frobenius2 = 0;
      Kokkos::parallel_reduce(
          Kokkos::TeamThreadRange(member, q), [&](const int c, T& s) { s += norm2(c); },
          frobenius2);
      negligible = eps * eps * frobenius2;
    }
    int rotations = 0;
    for (int round = 0; round + 1 < players; ++round) {
      int rotated = 0;
      Kokkos::parallel_reduce(
          Kokkos::TeamThreadRange(member, players / 2),
          [&](const int pair, int& count) {
            const int c1 = pair == 0 ? round : (round + pair) % (players - 1);
            const int c2 = pair == 0 ? players - 1 : (round - pair + players - 1) % (players - 1);
            if (c1 >= q || c2 >= q) return;
            const T alpha = norm2(c1), beta = norm2(c2);
            if (!(alpha > negligible && beta > negligible)) return;
            T gamma = 0;
            Kokkos::parallel_reduce(
                Kokkos::ThreadVectorRange(member, p),
                [&](const int i, T& t) { t += w(i, c1) * w(i, c2); }, gamma);
            if (!(kx::abs(gamma) > tol * kx::sqrt(alpha) * kx::sqrt(beta))) return;
            const T zeta = (beta - alpha) / (T(2) * gamma);
            const T t = kx::abs(zeta) > T(1) / eps
                            ? T(1) / (T(2) * zeta)
                            : (zeta >= T(0) ? T(1) : T(-1)) /
                                  (kx::abs(zeta) + kx::sqrt(T(1) + zeta * zeta));
            const T c = T(1) / kx::sqrt(T(1) + t * t), s = c * t;
            // W and J rows in one pass (q <= p).
            Kokkos::parallel_for(Kokkos::ThreadVectorRange(member, p), [&](const int i) {
              const T x = w(i, c1), y = w(i, c2);
              w(i, c1) = c * x - s * y;
              w(i, c2) = s * x + c * y;
              if (accumulate && i < q) {
                const T xj = j(i, c1), yj = j(i, c2);
                j(i, c1) = c * xj - s * yj;
                j(i, c2) = s * xj + c * yj;
              }
            });
            // A recomputed norm reads the rows this lane wrote just above (ThreadVectorRange
            // hands the lanes the same rows in both loops), so no synchronization is needed.
            T alpha_new = alpha - t * gamma, beta_new = beta + t * gamma;
            if (!(alpha_new >= root_eps * alpha)) alpha_new = column_norm2(c1);
            if (!(beta_new >= root_eps * beta)) beta_new = column_norm2(c2);
            Kokkos::single(Kokkos::PerThread(member), [&]() {
              norm2(c1) = alpha_new;
              norm2(c2) = beta_new;
            });
            ++count;
          },
          rotated);
      // The next round pairs these columns (and their norms) with columns other threads rotated.
      member.team_barrier();
      rotations += rotated;
    }
    if (rotations == 0) {
      status = 0;
      break;
    }
  }
  // Singular values and descending order. One thread chooses the swaps of a selection sort (the
  // largest remaining value to position c; shared(1 + c) = its column) and sorts sigma; then every
  // row of W and J takes the same swaps in the same order, rows in parallel.
  Kokkos::parallel_for(Kokkos::TeamThreadRange(member, q), [&](const int c) {
    const T s = column_norm2(c);
    Kokkos::single(Kokkos::PerThread(member), [&]() { sigma[c] = kx::sqrt(s); });
  });
  // The single below reads every sigma.
  member.team_barrier();
  Kokkos::single(Kokkos::PerTeam(member), [&]() {
    for (int c = 0; c < q; ++c) {
      int best = c;
      for (int d = c + 1; d < q; ++d)
        if (sigma[d] > sigma[best]) best = d;
      shared(1 + c) = best;
      kx::swap(sigma[c], sigma[best]);
    }
  });
  // Every thread reads the swaps and the sorted sigma from here on.
  member.team_barrier();
  const int swap_rows = kx::max(vectors ? p : 0, accumulate ? q : 0);
  if (swap_rows > 0) {
    Kokkos::parallel_for(Kokkos::TeamVectorRange(member, swap_rows), [&](const int i) {
      for (int c = 0; c < q; ++c) {
        const int best = shared(1 + c);
        if (best == c) continue;
        if (vectors) kx::swap(w(i, c), w(i, best));
        if (accumulate && i < q) kx::swap(j(i, c), j(i, best));
      }
    });
    // The normalization below reads whole columns.
    member.team_barrier();
  }
  for (int c = 0; c < q; ++c) {
    if (!kx::isfinite(sigma[c])) return 1;
  }
  // Values at or below zero_below are zero; the columns before them (sigma is sorted) are
  // normalized in one pass. Without `vectors` that is all.
  const T zero_below = kx::max(tiny, kx::sqrt(negligible));
  int kept = 0;
  while (kept < q && sigma[kept] > zero_below) ++kept;
  // Every thread has counted `kept` from sigma before the single below zeroes the rest.
  member.team_barrier();
  Kokkos::single(Kokkos::PerTeam(member), [&]() {
    for (int c = kept; c < q; ++c) sigma[c] = T(0);
  });
  if (!vectors) {
    // The caller may read sigma (or copy W and J out) next.
    member.team_barrier();
    return status;
  }
  Kokkos::parallel_for(Kokkos::TeamThreadRange(member, kept), [&](const int c) {
    const T sc = sigma[c];
    Kokkos::parallel_for(Kokkos::ThreadVectorRange(member, p), [&](const int i) { w(i, c) /= sc; });
  });
  // The completion reads the normalized columns (and the zeroed sigma).
  member.team_barrier();
  // Complete the columns of (numerically) zero singular values: take the unit vector e_r least
  // covered by the columns before (1 - sum_k U(r,k)^2 is largest; the sum over r of these
  // residuals is p - c >= 1, so the best one is >= 1/p), orthogonalize twice, normalize.
  for (int c = kept; c < q; ++c) {
    Kokkos::parallel_for(Kokkos::TeamVectorRange(member, p), [&](const int r) {
      T covered = 0;
      for (int k = 0; k < c; ++k) covered += w(r, k) * w(r, k);
      work(r) = T(1) - covered;
    });
    // The single below scans every row's residual.
    member.team_barrier();
    Kokkos::single(Kokkos::PerTeam(member), [&]() {
      int best = 0;
      for (int r = 1; r < p; ++r)
        if (work(r) > work(best)) best = r;
      shared(0) = best;
    });
    // Every thread reads the chosen row e (the next write of shared(0) is a column later, after
    // several more barriers).
    member.team_barrier();
    const int e = shared(0);
    Kokkos::parallel_for(Kokkos::TeamVectorRange(member, p), [&](const int i) {
      T x = i == e ? T(1) : T(0);
      for (int k = 0; k < c; ++k) x -= w(e, k) * w(i, k);
      w(i, c) = x;
    });
    // The projections below read all of column c.
    member.team_barrier();
    Kokkos::parallel_for(Kokkos::TeamThreadRange(member, c), [&](const int k) {
      T h = 0;
      Kokkos::parallel_reduce(
          Kokkos::ThreadVectorRange(member, p), [&](const int i, T& t) { t += w(i, k) * w(i, c); },
          h);
      Kokkos::single(Kokkos::PerThread(member), [&]() { work(p + k) = h; });
    });
    // Every row's update reads all c projections (written by different threads).
    member.team_barrier();
    Kokkos::parallel_for(Kokkos::TeamVectorRange(member, p), [&](const int i) {
      T x = w(i, c);
      for (int k = 0; k < c; ++k) x -= work(p + k) * w(i, k);
      w(i, c) = x;
    });
    // The norm below reads all of column c.
    member.team_barrier();
    T norm2_c = 0;
    Kokkos::parallel_reduce(
        Kokkos::TeamThreadRange(member, 1), [&](const int, T& s) { s += column_norm2(c); },
        norm2_c);
    const T inv = T(1) / kx::sqrt(norm2_c);
    Kokkos::parallel_for(Kokkos::TeamVectorRange(member, p), [&](const int i) { w(i, c) *= inv; });
    // The next column's residuals (or the caller) read column c.
    member.team_barrier();
  }
  return status;
}

}  // namespace strata::linalg::detail
