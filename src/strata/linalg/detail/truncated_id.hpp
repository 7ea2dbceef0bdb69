// Host column interpolative decomposition by a column-pivoted Householder QR that stops at the
// rank (truncated QRCP), for batches in host-accessible memory.
//
// linalg::interpolative_decomposition on host memory runs LAPACK xGEQP3, which factors all
// min(m, n) columns and only then reads the rank off the pivots |R_jj|. The HSS skeletonization's
// IDs (sample rows x candidates, e.g. 183 x 64 or 412 x 64 at the leaves and 2k x k above them)
// have ranks well below the candidate counts (26-27 of 64 at cauchy-1d's leaves, tol 1e-6), and
// xGEQP3 with n below its crossover (ILAENV: 128) is unblocked anyway (xLAQP2: one xLARF, i.e.
// xGEMV + xGER, per column): stopping the same loop at the rank saves the trailing steps. Here, per
// step j (Golub & Van Loan Alg. 5.4.1 with the norm downdating of LAPACK's xLAQP2, recomputed when
// cancellation would leave fewer than half the digits):
//   p = argmax_{i >= j} ||A_j(j:m, i)||  (the downdated norms),
//   stop if the pivot column's norm (recomputed, not downdated) is <= the rule's cut, or zero,
//   else swap, reflect (xLARFG), apply to the trailing columns (xLARF), downdate their norms.
// The rank rule is RankRule's, read off the same quantity: |R_jj| of a column-pivoted QR is the
// norm of the pivot column of the trailing matrix, so k = #{j : |R_jj| > max(absolute, relative
// |R_00|)} (capped by max_rank) is what xGEQP3 + the pivot scan returns, up to rounding and the
// tie-breaking of near-equal norms (both are valid pivoted QRs). On return every trailing column
// norm is <= the cut (up to the downdating's rounding, recomputed below sqrt(u) relative), so
// ||A - A(:, J) X||_F^2 <= (n - k) cut^2, the bound the skeletonization uses.
// X = [I, R11^{-1} R12] P^T by xTRSM, as in the xGEQP3 path. Column norms are sums of squares in
// double (xNRM2's scaling only when the plain sum would under- or overflow: OpenBLAS's xNRM2,
// which xGEQP3 calls for its norms, took 7% of a laplace-curve N = 65536 construction's profile).
// Measured (strata_hss_skeletonization, tol 1e-6, leaf 64, 2-core host, process CPU time, medians
// of 3 alternating runs): cauchy-1d 0.74 -> 0.49 s (N = 2^16), 2.56 -> 1.69 s (2^18);
// laplace-curve 1.79 -> 1.44 s, 8.26 -> 6.43 s; ranks, entries and certificates unchanged.
//
// TODO(issue 13): this belongs in HostKernels::interpolative_decomposition
// (batched_dense_host.cpp), where it would replace the xGEQP3 path; kept here while that file is
// being changed elsewhere.
#pragma once

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/spaces.hpp"
#include "strata/linalg/batched_dense.hpp"
#include "strata/linalg/detail/lapack.hpp"

namespace strata::linalg::detail {

/// Scratch of one thread: grows, never shrinks.
template <class T>
struct TruncatedIdWorkspace {
  std::vector<T> f, work;
  std::vector<double> norms, reference_norms;
  std::vector<int> perm;
};

/// ||x||_2 of n entries: the plain sum of squares in double, scaled by max |x_i| only when that
/// sum is not finite or below the smallest normal number over the unit roundoff.
template <class T>
double column_norm(const T* x, int n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const double a = x[i], b = x[i + 1], c = x[i + 2], d = x[i + 3];
    s0 += a * a, s1 += b * b, s2 += c * c, s3 += d * d;
  }
  for (; i < n; ++i) s0 += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  const double s = (s0 + s1) + (s2 + s3);
  constexpr double tiny =
      std::numeric_limits<double>::min() / std::numeric_limits<double>::epsilon();
  if (std::isfinite(s) && s >= tiny) return std::sqrt(s);
  double scale = 0;
  for (int t = 0; t < n; ++t) scale = std::max(scale, std::abs(static_cast<double>(x[t])));
  if (scale == 0 || !std::isfinite(scale)) return scale;
  double sum = 0;
  for (int t = 0; t < n; ++t) {
    const double v = static_cast<double>(x[t]) / scale;
    sum += v * v;
  }
  return scale * std::sqrt(sum);
}

/// Column ID of one m x n matrix A (leading dimension lda) by the truncated QRCP above. Outputs:
/// skeleton[0..n) the column order (the first k the skeleton J, the others after), x (x_rows x n,
/// leading dimension ldx, x_rows >= the rank): rows [0, k) X with X(:, J) = I, the rest zero.
/// Returns the rank k, or -1 if A holds NaN or Inf (then nothing is written).
template <class T>
int truncated_interpolative_decomposition(int m, int n, const T* a, int lda, const RankRule& rule,
                                          int* skeleton, T* x, int ldx, int x_rows,
                                          TruncatedIdWorkspace<T>& ws) {
  const int ld = std::max(1, m);
  const auto size = static_cast<std::size_t>(ld) * static_cast<std::size_t>(std::max(n, 1));
  if (ws.f.size() < size) ws.f.resize(size);
  if (ws.work.size() < static_cast<std::size_t>(std::max(n, 1)))
    ws.work.resize(static_cast<std::size_t>(std::max(n, 1)));
  if (ws.norms.size() < static_cast<std::size_t>(std::max(n, 1))) {
    ws.norms.resize(static_cast<std::size_t>(std::max(n, 1)));
    ws.reference_norms.resize(ws.norms.size());
    ws.perm.resize(ws.norms.size());
  }
  T* f = ws.f.data();
  double* norm = ws.norms.data();
  double* reference = ws.reference_norms.data();
  int* perm = ws.perm.data();
  const auto col = [&](int j) {
    return f + static_cast<std::size_t>(j) * ld;
  };
  for (int j = 0; j < n; ++j) {
    const T* src = a + static_cast<std::size_t>(j) * lda;
    std::copy(src, src + m, col(j));
    norm[j] = reference[j] = column_norm(col(j), m);
    if (!std::isfinite(norm[j])) return -1;
    perm[j] = j;
  }
  const int steps = rule.max_rank < 0 ? std::min(m, n) : std::min(rule.max_rank, std::min(m, n));
  // Recompute a downdated norm once it has lost half of its digits (xLAQP2's tol3z).
  const double recompute_below = std::sqrt(static_cast<double>(std::numeric_limits<T>::epsilon()));
  double cut = rule.absolute_tolerance;
  int k = 0;
  const int one = 1;
  while (k < steps) {
    int p = k;
    for (int j = k + 1; j < n; ++j)
      if (norm[j] > norm[p]) p = j;
    if (p != k) {
      std::swap_ranges(col(p), col(p) + m, col(k));
      std::swap(perm[p], perm[k]);
      norm[p] = norm[k], reference[p] = reference[k];
    }
    T* v = col(k) + k;
    const int len = m - k;
    const double pivot = column_norm(v, len);
    if (k == 0) cut = std::max(cut, rule.relative_tolerance * pivot);
    if (!(pivot > cut) || pivot == 0) break;
    lapack::larfg(&len, v, v + 1, &one, &ws.work[0]);
    const T tau = ws.work[0];
    int rest = n - k - 1;
    if (rest > 0) {
      const T beta = v[0];
      v[0] = 1;
      lapack::larf("L", &len, &rest, v, &one, &tau, col(k + 1) + k, &ld, ws.work.data());
      v[0] = beta;
    }
    for (int j = k + 1; j < n; ++j) {
      if (norm[j] == 0) continue;
      const double r = std::abs(static_cast<double>(col(j)[k])) / norm[j];
      const double left = std::max(0.0, (1 + r) * (1 - r));
      const double ratio = norm[j] / reference[j];
      if (left * ratio * ratio <= recompute_below) {
        norm[j] = reference[j] = len > 1 ? column_norm(col(j) + k + 1, len - 1) : 0.0;
      } else {
        norm[j] *= std::sqrt(left);
      }
    }
    ++k;
  }
  // T = R11^{-1} R12 in place over R12 (k x (n - k)).
  int rest = n - k;
  if (k > 0 && rest > 0) {
    const T t_one = 1;
    lapack::trsm("L", "U", "N", "N", &k, &rest, &t_one, f, &ld, col(k), &ld);
  }
  for (int j = 0; j < n; ++j) skeleton[j] = perm[j];
  for (int j = 0; j < n; ++j) {
    T* xc = x + static_cast<std::size_t>(perm[j]) * ldx;
    for (int i = 0; i < x_rows; ++i)
      xc[i] = i >= k ? T(0) : (j < k ? (i == j ? T(1) : T(0)) : col(j)[i]);
  }
  return k;
}

/// The batched form, with the arguments and outputs of linalg::interpolative_decomposition (its
/// shape checks are the caller's), for batches in host-accessible memory: matrices spread over
/// the default host execution space's threads, one workspace per thread, single-threaded BLAS.
/// Throws NumericalError if a matrix holds NaN or Inf.
template <class T>
void host_truncated_interpolative_decomposition(const ExecSpace& exec, const MatrixBatch<T>& a,
                                                const RankRule& rule,
                                                const Kokkos::View<int*, MemSpace>& ranks,
                                                const MatrixBatch<int>& skeleton,
                                                const MatrixBatch<T>& x) {
  if constexpr (!Kokkos::SpaceAccessibility<Kokkos::HostSpace, MemSpace>::accessible) {
    // Device memory has its own kernel (linalg::interpolative_decomposition): never called there.
    (void)exec, (void)a, (void)rule, (void)ranks, (void)skeleton, (void)x;
    STRATA_THROW(InternalError,
                 "host_truncated_interpolative_decomposition: host-accessible memory only");
  } else {
    // The inputs may come from asynchronous work on `exec`.
    kx::fence(exec, "strata::linalg::truncated_id::inputs");
    const HostExecSpace host{};
    const int count = a.layout.count();
    const lapack::SingleThreadedBlas single_threaded_blas;
    Kokkos::Experimental::UniqueToken<HostExecSpace> token(host);
    std::vector<TruncatedIdWorkspace<T>> ws(static_cast<std::size_t>(token.size()));
    std::vector<int> status(static_cast<std::size_t>(count), 0);
    T* av = a.values.data();
    T* xv = x.values.data();
    int* sv = skeleton.values.data();
    int* rv = ranks.data();
    const auto& al = a.layout;
    const auto& xl = x.layout;
    const auto& sl = skeleton.layout;
    Kokkos::parallel_for(
        "strata::linalg::truncated_id", Kokkos::RangePolicy<HostExecSpace>(host, 0, count),
        [&](const int b) {
          const auto i = static_cast<std::size_t>(b);
          const int id = token.acquire();
          const int m = al.host_rows[i], n = al.host_cols[i];
          int k = 0;
          if (m > 0 && n > 0) {
            k = truncated_interpolative_decomposition(
                m, n, av + al.host_offset[i], al.host_ld[i], rule, sv + sl.host_offset[i],
                xv + xl.host_offset[i], xl.host_ld[i], xl.host_rows[i],
                ws[static_cast<std::size_t>(id)]);
          } else {
            for (int j = 0; j < n; ++j) sv[sl.host_offset[i] + j] = j;
            for (int j = 0; j < n; ++j)
              for (int r = 0; r < xl.host_rows[i]; ++r)
                xv[xl.host_offset[i] + r + static_cast<index_type>(j) * xl.host_ld[i]] = T(0);
          }
          if (k < 0) status[i] = 1, k = 0;
          rv[b] = k;
          token.release(id);
        });
    kx::fence(host, "strata::linalg::truncated_id::done");
    for (int b = 0; b < count; ++b) {
      STRATA_REQUIRE(status[static_cast<std::size_t>(b)] == 0, NumericalError,
                     "interpolative_decomposition: matrix ", b,
                     " holds NaN or Inf entries; expected finite numbers");
    }
  }
}

}  // namespace strata::linalg::detail
