// The per-level steps of the HSS construction from products (compress_matvec.hpp), used by its one
// driver for 1..P ranks (dist_compress.cpp): every step works on a list of nodes (a whole level,
// or the nodes of one rank's subtrees) in one batched call.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/hss/compress_matvec.hpp"
#include "strata/hss/hss_matrix.hpp"
#include "strata/linalg/batched_dense.hpp"
#include "strata/linalg/detail/batched_dense_backend.hpp"

namespace strata::hss::detail::compress {

using linalg::BatchLayout;
using linalg::MatrixBatch;

/// Tolerance mode: how the target ||A - H||_F <= tol ||A||_F is split into per-node budgets, and
/// how the sample count and the budgets change between rounds: decisions from global quantities
/// only, so every rank count takes the same ones.
///
/// Error model (derivation). In telescoping form H = U (H~) V^T + D with orthonormal U, V, the
/// error splits orthogonally, level by level:
///   ||A - H||_F^2 = ||(I - UU^T)(A - D)||_F^2 + ||UU^T (A - D)(I - VV^T)||_F^2 + ||A~ - H~||_F^2,
/// because the three terms have orthogonal ranges (I - UU^T, U) or co-ranges (I - VV^T, V).
/// Block row tau of the first term is (I - U_t U_t^T) A(I_t, I_t^c) plus the error of D_t, which
/// is (I - U_t U_t^T) A(I_t, I_t^c) Omega(I_t^c,:) Omega_t^+: for a Gaussian Omega its expected
/// square is the block-row residual times E||Omega_t^+||_F^2 = c / (s_d - c - 1) (Omega_t is
/// c x s_d). The second term is at most the block-column residuals. So
///   ||A - H||_F^2 <~ sum over all non-root nodes of (1 + amp) (row residual + column residual).
/// The budget is split equally over the L levels and, within level l, over its 2^l nodes and their
/// two residuals: b_l^2 = tol^2 ||A||_F^2 / (2 L 2^l), which sums to tol^2 ||A||_F^2. (An equal
/// split over all nodes would starve the few large nodes near the root, whose block rows also
/// carry the lower levels' residuals in Levitt-Martinsson's recycled samples.) Each node's rank is
/// the smallest whose estimated residual (rank_for_budget) fits its budget, so each residual lies
/// between (decay) b_l^2 and b_l^2: the achieved error is a modest fraction of tol, not orders of
/// magnitude below it.
struct ToleranceSchedule {
  /// compress_entries.cpp's acceptance: its point estimate over ~10 probes scatters by ~+-25%
  /// around the true error (chi-square with ~10 degrees of freedom in ||A G||_F^2), so it accepts
  /// at 0.75 tol.
  static constexpr double kEstimateMargin = 0.75;
  /// The product methods' first aim, as a fraction of tol. Their rounds stop when the upper
  /// confidence bound (detail/error_bound.hpp) is <= tol; with 10 probes that bound lies 1.1-1.9x
  /// above the point estimate (effective ranks of the error 2-100). 0.5 lets the first round
  /// pass on the 1-D and curve kernels (measured: cauchy-1d, laplace-curve, exponential-1d at
  /// N = 1024 and 4096, tol 1e-6 and 1e-8), where 0.75 needed a second round, a whole pass, on
  /// laplace-curve (N = 1024 both tols; N = 4096 tol 1e-6, two). On laplace-2d the achieved error
  /// lies up to ~2x above the aim (the model is optimistic near the root) and a second round
  /// remains. A miss costs a second pass (and, for quasi-optimal, all its products again).
  static constexpr double kBoundAim = 0.5;
  ToleranceSchedule(const CompressOptions& options, index_type n, index_type s)
      : s_max(options.max_samples > 0 ? options.max_samples : std::max(n, s)),
        budget_scale(kBoundAim * options.tolerance / std::sqrt(2.0)),
        tolerance(options.tolerance) {}
  /// After a round whose bound missed the tolerance: if some node's rank was capped by the
  /// samples, raise s to what the capped nodes asked for (grown_samples), and keep the budgets;
  /// otherwise the model was optimistic: shrink the budgets by the square of the miss (0.8 tol /
  /// bound)^2, at least to 0.64x. The error follows the budgets sub-linearly (ranks move in
  /// integer steps; measured on laplace-curve N = 4096, tol 1e-6: budgets x 0.70 lowered the
  /// error x 0.82 only, and a third pass followed), so the square usually makes the next round
  /// the last.
  void after_missed_round(bool hit_cap, index_type s_needed, double bound, index_type& s) {
    if (hit_cap && s < s_max) {
      s = grown_samples(s, s_needed, s_max, capped_rounds++);
      return;
    }
    const double miss = 0.8 * tolerance / bound;
    budget_scale *= std::clamp(miss * miss, 0.05, 0.64);
  }
  /// The samples after the attempt-th (0, 1, ...) capped attempt with s samples: what the capped
  /// nodes predict, at least s + max(8, s / 8), s / 4, s / 2 for attempts 0, 1, >= 2. The
  /// in-sample prediction uses the last, least oversampled singular values and can fall short
  /// (in Levitt-Martinsson, whose recycled samples carry the lower levels' residuals, again and
  /// again): small steps first keep the overshoot small, the doubling floor bounds the attempts.
  static index_type grown_samples(index_type s, index_type needed, index_type s_max, int attempt) {
    const index_type step = std::max<index_type>(8, s >> std::max(1, 3 - attempt));
    return std::min(s_max, std::max(needed, s + step));
  }
  index_type s_max;
  int capped_rounds = 0;
  double budget_scale;  // node budget b_l = budget_scale ||A||_F / sqrt(L 2^l)
  double tolerance;
};

struct Block {
  index_type offset;
  int rows, cols, ld;
};

/// A batch of `count` blocks of `storage` described by f(i) -> Block.
template <class T, class F>
MatrixBatch<T> carve(const Kokkos::View<T*, MemSpace>& storage, int count, F f) {
  std::vector<index_type> off(static_cast<std::size_t>(count));
  std::vector<int> rows(off.size()), cols(off.size()), ld(off.size());
  for (int i = 0; i < count; ++i) {
    const Block b = f(i);
    off[i] = b.offset;
    rows[i] = b.rows;
    cols[i] = b.cols;
    ld[i] = std::max(1, b.ld);
  }
  return MatrixBatch<T>(storage, BatchLayout::strided(off, rows, cols, ld));
}

template <class T>
Kokkos::View<T*, MemSpace> flat(const Matrix<T>& m) {
  return Kokkos::View<T*, MemSpace>(m.data(), m.span());
}

/// Dimensions of the nodes of one level: row space (rows of U, of Y) and column space (rows of V,
/// of Omega), with the stacked offsets of the level's vectors.
struct LevelDims {
  int nodes = 0;
  std::vector<int> row_dim, col_dim;
  std::vector<index_type> row_off, col_off;  // length nodes + 1
  index_type rows() const { return row_off.back(); }
  index_type cols() const { return col_off.back(); }
  static LevelDims from(const std::vector<int>& r, const std::vector<int>& c) {
    LevelDims d;
    d.nodes = static_cast<int>(r.size());
    d.row_dim = r;
    d.col_dim = c;
    d.row_off.assign(r.size() + 1, 0);
    d.col_off.assign(c.size() + 1, 0);
    for (std::size_t i = 0; i < r.size(); ++i) {
      d.row_off[i + 1] = d.row_off[i] + r[i];
      d.col_off[i + 1] = d.col_off[i] + c[i];
    }
    return d;
  }
  /// The parent level: node p's rows are the ranks of children 2p, 2p+1.
  static LevelDims parent_of(const std::vector<int>& r, const std::vector<int>& c) {
    std::vector<int> pr(r.size() / 2), pc(c.size() / 2);
    for (std::size_t p = 0; p < pr.size(); ++p) {
      pr[p] = r[2 * p] + r[2 * p + 1];
      pc[p] = c[2 * p] + c[2 * p + 1];
    }
    return from(pr, pc);
  }
};

/// Generators of one level in telescoping form: U_i (row_dim x r_i), V_i (col_dim x c_i),
/// D_i (row_dim x col_dim).
template <class T>
struct LevelFactors {
  LevelDims dims;
  std::vector<int> r, c;
  MatrixBatch<T> u, v, d;
};

/// Row blocks of a stacked matrix m (rows = Σ dims, `cols` columns starting at column `col0`).
template <class T>
MatrixBatch<T> row_blocks(const Matrix<T>& m, const std::vector<index_type>& off,
                          const std::vector<int>& dim, index_type col0, int cols) {
  const int ld = static_cast<int>(m.stride(1));
  return carve<T>(flat(m), static_cast<int>(dim.size()), [&](int i) {
    return Block{off[i] + col0 * ld, dim[i], cols, ld};
  });
}

/// Settings of the per-level factorization.
struct RankChoice {
  index_type fixed = 0;  // > 0: fixed rank
  double budget = 0;     // tolerance mode: budget_scale ||A||_F (ToleranceSchedule)
  int levels = 0;        // L: node budget at level l is budget / sqrt(L 2^l)
  index_type oversampling = 0;
  bool hit_cap = false;     // set when some node's rank was capped by the samples
  index_type s_needed = 0;  // the samples (of this level's sketch) the capped nodes predict
  index_type max_rank = 0;  // largest rank chosen (both sides) on the levels factored
  // Set by callers that throw away a level on which some node was capped (they grow the samples
  // and factor it again): factor_level then returns after the ranks, without the discrepancy
  // blocks' products (with a shared sketch, Levitt-Martinsson, Y Omega^+ is already solved with
  // the null space: its xGEQRF is the one the null space needs) and with f.d empty.
  bool discard_if_capped = false;
  // With discard_if_capped, on a level expected to be capped (the first pass's leaves, whose
  // samples cover only the default rank p: build_distributed): decide the ranks from the singular
  // values alone (xGESDD without vectors) and from the null-space products alone, and form X =
  // Y Omega^+ (from the kept QR factors) and the bases only if no node is capped. A capped level
  // then costs neither (measured: the first pass's leaves were ~30% of the level work on
  // cauchy-1d N = 4096, tol 1e-6, all of it thrown away but the QR factors); an uncapped one
  // costs one singular-value computation more. Host kernels only (elsewhere the kept factors
  // that make the later X cheap do not exist).
  bool values_first = false;
};

/// Tolerance-mode rank of one node from the singular values sigma (non-increasing, all
/// min(rows, k) of them) of its projected sample Y P = B G (B the block row, G a k-column
/// Gaussian). E ||M G||_F^2 = k ||M||_F^2, and the residual of B's best rank-r approximation is
/// seen by only the k - r columns of G that the top r directions do not use:
/// sum_{j > r} sigma_j^2 / (k - r) estimates ||B - B_r||_F^2 (unbiased for a flat tail). The rank
/// is the smallest r with (1 + amp) * that estimate <= budget^2, at most the cap k - p (p columns
/// of oversampling left) and at most rows. A node capped below the rank it wants predicts the
/// extra rank from the decay of its last singular values, in `extra` (0 if not capped).
inline int rank_for_budget(const double* sigma, int count, int k, int rows, index_type p,
                           double amp, double budget, index_type& extra) {
  extra = 0;
  std::vector<double> tail(static_cast<std::size_t>(count) + 1, 0.0);
  for (int j = count - 1; j >= 0; --j) tail[j] = tail[j + 1] + sigma[j] * sigma[j];
  const int cap = static_cast<int>(std::max<index_type>(1, std::min<index_type>(rows, k - p)));
  const double b2 = budget * budget;
  auto fits = [&](int r) {
    return r >= count || (1 + amp) * tail[r] / static_cast<double>(k - r) <= b2;
  };
  int r = 1;
  while (r < cap && !fits(r)) ++r;
  if (fits(r) || cap >= rows) return r;
  // Capped. The estimate still works, with less oversampling, beyond the cap: the rank that fits
  // there; else extrapolate: with geometric decay rho per index, each rank divides the residual
  // by rho^2, at most 2 max(r, 4) ranks further. (The bound was max(r, 4): a first pass with
  // s = m + 2p caps at r = p, so every prediction stopped at m + 3p and a node whose rank exceeds
  // 2p took a second capped pass, the whole first pass's level work thrown away twice: measured
  // on laplace-curve N = 1024, tol 1e-6, 84 -> 94 -> 117 samples in three passes; with 2 max(r,
  // 4), 84 -> 104, one pass fewer and 218 products instead of 244 (+10 probes).)
  for (int q = r + 1; q < std::min(count, k); ++q) {
    if (fits(q)) {
      extra = q - r;
      return r;
    }
  }
  const double ratio = (1 + amp) * tail[r] / static_cast<double>(k - r) / b2;
  const int d = std::min(r - 1, 4);
  double rho = 0.9;
  if (d >= 1 && sigma[r - 1] > 0 && sigma[r - 1 - d] > 0)
    rho = std::clamp(std::pow(sigma[r - 1] / sigma[r - 1 - d], 1.0 / d), 0.05, 0.95);
  const double steps = std::ceil(std::log(ratio) / (-2.0 * std::log(rho)));
  extra = std::clamp<index_type>(static_cast<index_type>(steps), 1, 2 * std::max(r, 4));
  return r;
}

/// Sample blocks of one level: (Y, Omega) in row/col space, (Z, Psi) in col/row space, and the
/// (possibly identical) pair used for D.
template <class T>
struct Samples {
  Matrix<T> y, omega, z, psi;
  index_type s = 0;       // columns used for the bases (columns [0, s))
  index_type d_col0 = 0;  // the D sketch: columns [d_col0, d_col0 + s_d)
  index_type s_d = 0;
};

/// Storage for temporaries reused by every level and round of one construction: one flat array per
/// slot, grown to the largest request it served (usually the leaves') and then taken again, so
/// that after the first level the temporaries cost no allocation and no first-touch page faults
/// (those faults were ~7% of the time outside the products on the host: perf, laplace-curve
/// N = 4096, tol 1e-6). factor_level's temporaries (projected samples, singular values,
/// Z Psi^+, the discrepancy products' intermediates) use slots [0, kReducedSlots); callers use
/// slots from kReducedSlots on for the reduced samples that go up the tree. The factors kept (U,
/// V, D) are not scratch. What is taken from a slot is valid until that slot is taken again.
template <class T>
class LevelScratch {
 public:
  static constexpr std::size_t kReducedSlots = 16;

  /// At least n entries of slot `slot` (entries indeterminate).
  Kokkos::View<T*, MemSpace> flat(std::size_t slot, const char* label, index_type n) {
    if (slots_.size() <= slot) slots_.resize(slot + 1);
    auto& storage = slots_[slot];
    if (static_cast<index_type>(storage.extent(0)) < n) {
      storage = Kokkos::View<T*, MemSpace>();  // released before the larger one is allocated
      storage = Kokkos::View<T*, MemSpace>(
          Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)),
          static_cast<std::size_t>(n));
    }
    return storage;
  }

  /// A packed batch with the given shapes over slot `slot` (entries indeterminate).
  MatrixBatch<T> take(std::size_t slot, const char* label, const std::vector<int>& rows,
                      const std::vector<int>& cols) {
    auto layout = BatchLayout::packed(rows, cols);
    return MatrixBatch<T>(flat(slot, label, layout.span), std::move(layout));
  }

  /// A rows x cols matrix over slot `slot` (entries indeterminate; a view of the slot's storage).
  Matrix<T> matrix(std::size_t slot, const char* label, index_type rows, index_type cols) {
    return Matrix<T>(flat(slot, label, rows * cols).data(), rows, cols);
  }

  /// Levitt-Martinsson: the QR factors of level `level`'s Omega_t^T and Psi_t^T (with Q^T Y_t^T,
  /// Q^T Z_t^T) from its last factorization (host kernels; empty elsewhere), for a next pass whose
  /// samples of that level extend those by columns (factor_level's `extend`).
  using Factors = linalg::detail::NullSpaceProjectFactors<T>;
  std::array<Factors, 2>& factors(int level) {
    if (static_cast<int>(factors_.size()) <= level) factors_.resize(level + 1);
    return factors_[level];
  }
  /// Frees the kept factors of every level but `level`.
  void keep_factors_of(int level) {
    for (int l = 0; l < static_cast<int>(factors_.size()); ++l)
      if (l != level) factors_[l] = {};
  }

 private:
  std::vector<Kokkos::View<T*, MemSpace>> slots_;
  std::vector<std::array<Factors, 2>> factors_;
};

/// One level of the bottom-up construction: null spaces, projected samples, truncated SVD bases
/// and the discrepancy blocks, each step one batched call over all nodes of the level.
/// Temporaries come from `scratch`. A Levitt-Martinsson pass that may be discarded (shared sketch,
/// choice.discard_if_capped) keeps the QR factors of the samples in `scratch`; `extend` says that
/// this level's samples extend by columns those of the level's last factorization on `scratch`
/// (the next pass with grown samples resumes at the capped level, through the same factors
/// below), so that only the new columns are factored (null_space_project_pseudo_inverse_apply).
template <class T>
LevelFactors<T> factor_level(const ExecSpace& exec, const LevelDims& dims, const Samples<T>& smp,
                             int level, RankChoice& choice, LevelScratch<T>& scratch,
                             bool extend = false) {
  namespace la = linalg;
  const int n = dims.nodes, s = static_cast<int>(smp.s);
  const auto y = row_blocks(smp.y, dims.row_off, dims.row_dim, 0, s);
  const auto om = row_blocks(smp.omega, dims.col_off, dims.col_dim, 0, s);
  const auto z = row_blocks(smp.z, dims.col_off, dims.col_dim, 0, s);
  const auto ps = row_blocks(smp.psi, dims.row_off, dims.row_dim, 0, s);
  std::vector<int> kp(n), kq(n), sv(n, s), ku(n), kv(n), ones(n, 1);
  for (int i = 0; i < n; ++i) {
    kp[i] = s - dims.col_dim[i];
    kq[i] = s - dims.row_dim[i];
    STRATA_REQUIRE(kp[i] >= 1 && kq[i] >= 1, InvalidArgument, "hss::compress: ", s,
                   " samples leave no null space for a node with ",
                   std::max(dims.row_dim[i], dims.col_dim[i]),
                   " rows; the null-space step needs more samples than rows (s >= m + r)");
    ku[i] = std::min(dims.row_dim[i], kp[i]);
    kv[i] = std::min(dims.col_dim[i], kq[i]);
  }
  // Projected samples Y P, Z Q onto the null spaces P = null(Omega_tau), Q = null(Psi_tau)
  // (Levitt & Martinsson Alg. 4.1 step 3).
  // Levitt-Martinsson's D sketch is the bases' sketch (columns [0, s)): one QR of Omega_tau^T
  // (Psi_tau^T) then gives both Y P and the pseudo-inverse Y Omega^+ of step 5 (P not formed on
  // the host).
  const bool shared_sketch = smp.d_col0 == 0 && smp.s_d == smp.s;
  auto d_full = MatrixBatch<T>::allocate_uninitialized("strata::hss::compress::D", dims.row_dim,
                                                       dims.col_dim);
  enum Slot : std::size_t {
    slot_zp,
    slot_yp,
    slot_zq,
    slot_p,
    slot_q,
    slot_su,
    slot_sv,
    slot_h,
    slot_g,
    slot_k
  };
  auto zp = scratch.take(slot_zp, "strata::hss::compress::Zp", dims.col_dim, dims.row_dim);
  auto yp = scratch.take(slot_yp, "strata::hss::compress::YP", dims.row_dim, kp);
  auto zq = scratch.take(slot_zq, "strata::hss::compress::ZQ", dims.col_dim, kq);
  const bool values_first = std::is_same_v<la::detail::Backend, la::detail::HostKernels> &&
                            shared_sketch && choice.values_first && choice.discard_if_capped &&
                            choice.fixed == 0 && !extend;
  if (shared_sketch) {
    // Kept for a pass that may be discarded (a next pass then extends them), used when extending.
    auto& kept = scratch.factors(level);
    const bool keep = choice.discard_if_capped || extend;
    if (!keep) kept = {};
    const MatrixBatch<T> later;  // values_first: X once the ranks are known (below)
    la::detail::null_space_project_pseudo_inverse_apply(
        exec, om, y, yp, values_first ? later : d_full, 0, keep ? &kept[0] : nullptr, extend);
    la::detail::null_space_project_pseudo_inverse_apply(exec, ps, z, zq, values_first ? later : zp,
                                                        0, keep ? &kept[1] : nullptr, extend);
  } else {
    auto p = scratch.take(slot_p, "strata::hss::compress::P", sv, kp);
    auto q = scratch.take(slot_q, "strata::hss::compress::Q", sv, kq);
    la::null_space(exec, om, p);
    la::null_space(exec, ps, q);
    la::gemm_batched(exec, 'N', 'N', T(1), y, p, T(0), yp);
    la::gemm_batched(exec, 'N', 'N', T(1), z, q, T(0), zq);
  }
  // Bases: leading left singular vectors (step 4; top-k SVD as in Amsel et al.); the right ones
  // are not needed (an empty V batch: not computed where that is cheaper).
  auto uf =
      MatrixBatch<T>::allocate_uninitialized("strata::hss::compress::Ufull", dims.row_dim, ku);
  auto vf =
      MatrixBatch<T>::allocate_uninitialized("strata::hss::compress::Vfull", dims.col_dim, kv);
  auto su = scratch.take(slot_su, "strata::hss::compress::sigmaU", ku, ones);
  auto svv = scratch.take(slot_sv, "strata::hss::compress::sigmaV", kv, ones);
  LevelFactors<T> f;
  f.dims = dims;
  f.r.resize(n);
  f.c.resize(n);
  bool capped_here = false;
  // f.r, f.c from the singular values in su, svv (tolerance mode: rank_for_budget; sets
  // choice.hit_cap, choice.s_needed and capped_here for a node capped by the samples).
  auto choose_ranks = [&] {
    if (choice.fixed > 0) {
      for (int i = 0; i < n; ++i) {
        f.r[i] = static_cast<int>(std::min<index_type>(choice.fixed, ku[i]));
        f.c[i] = static_cast<int>(std::min<index_type>(choice.fixed, kv[i]));
      }
    } else {
      // The D sketch's error amplification (ToleranceSchedule): U's residual enters D through
      // Omega_t^+ (col_dim x s_d), V's through Psi_t^+ (row_dim x s_d).
      const double node_budget =
          choice.budget / std::sqrt(std::max(choice.levels, 1) * std::ldexp(1.0, level));
      const double s_dd = static_cast<double>(smp.s_d);
      auto amp = [&](int c) {
        return s_dd > c + 1 ? c / (s_dd - c - 1) : 1e6;
      };
      auto by_budget = [&](const MatrixBatch<T>& sigma, const std::vector<int>& k,
                           const std::vector<int>& rows, const std::vector<int>& other,
                           std::vector<int>& out) {
        const auto sh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, sigma.values);
        std::vector<double> sg;
        for (int i = 0; i < n; ++i) {
          const int avail = sigma.layout.host_rows[i];
          sg.resize(static_cast<std::size_t>(avail));
          for (int j = 0; j < avail; ++j)
            sg[j] = static_cast<double>(sh(sigma.layout.host_offset[i] + j));
          index_type extra = 0;
          out[i] = rank_for_budget(sg.data(), avail, k[i], rows[i], choice.oversampling,
                                   amp(other[i]), node_budget, extra);
          if (extra > 0) {
            choice.hit_cap = capped_here = true;
            // Node i needs k - p >= r + extra, k = s - other (its null-space dimension).
            choice.s_needed = std::max<index_type>(choice.s_needed,
                                                   other[i] + out[i] + extra + choice.oversampling);
          }
        }
      };
      by_budget(su, kp, dims.row_dim, dims.col_dim, f.r);
      by_budget(svv, kq, dims.col_dim, dims.row_dim, f.c);
    }
  };
  if (values_first) {
    la::svd(exec, yp, MatrixBatch<T>{}, su, MatrixBatch<T>{});
    la::svd(exec, zq, MatrixBatch<T>{}, svv, MatrixBatch<T>{});
    choose_ranks();
    if (capped_here) {
      for (int i = 0; i < n; ++i)
        choice.max_rank = std::max<index_type>(choice.max_rank, std::max(f.r[i], f.c[i]));
      return f;
    }
    // Not capped: X from the kept factors (no new columns), then the bases; the ranks are taken
    // again from the singular values that come with them, as on every other level.
    auto& kept = scratch.factors(level);
    la::detail::null_space_project_pseudo_inverse_apply(exec, om, y, yp, d_full, 0, &kept[0], true);
    la::detail::null_space_project_pseudo_inverse_apply(exec, ps, z, zq, zp, 0, &kept[1], true);
  }
  la::svd(exec, yp, uf, su, MatrixBatch<T>{});
  la::svd(exec, zq, vf, svv, MatrixBatch<T>{});
  choose_ranks();
  for (int i = 0; i < n; ++i)
    choice.max_rank = std::max<index_type>(choice.max_rank, std::max(f.r[i], f.c[i]));
  if (capped_here && choice.discard_if_capped) return f;
  f.u = carve<T>(uf.values, n, [&](int i) {
    return Block{uf.layout.host_offset[i], dims.row_dim[i], f.r[i], uf.layout.host_ld[i]};
  });
  f.v = carve<T>(vf.values, n, [&](int i) {
    return Block{vf.layout.host_offset[i], dims.col_dim[i], f.c[i], vf.layout.host_ld[i]};
  });
  // Discrepancy D = (I - UU^T) Y Om^+ + UU^T [(I - VV^T) Z Psi^+]^T (step 5), written as
  // D = Yp + U (H - U^T Yp) - U (H V) V^T with Yp = Y Om^+, H = U^T Zp^T, Zp = Z Psi^+.
  const int sd = static_cast<int>(smp.s_d);
  const auto yd = row_blocks(smp.y, dims.row_off, dims.row_dim, smp.d_col0, sd);
  const auto omd = row_blocks(smp.omega, dims.col_off, dims.col_dim, smp.d_col0, sd);
  const auto zd = row_blocks(smp.z, dims.col_off, dims.col_dim, smp.d_col0, sd);
  const auto psd = row_blocks(smp.psi, dims.row_off, dims.row_dim, smp.d_col0, sd);
  f.d = d_full;
  if (!shared_sketch) {
    la::pseudo_inverse_apply(exec, yd, omd, f.d);
    la::pseudo_inverse_apply(exec, zd, psd, zp);
  }
  auto h = scratch.take(slot_h, "strata::hss::compress::H", f.r, dims.col_dim);
  auto g = scratch.take(slot_g, "strata::hss::compress::G", f.r, f.c);
  auto k = scratch.take(slot_k, "strata::hss::compress::K", f.r, dims.col_dim);
  la::gemm_batched(exec, 'T', 'T', T(1), f.u, zp, T(0), h);
  la::gemm_batched(exec, 'N', 'N', T(1), h, f.v, T(0), g);
  la::gemm_batched(exec, 'N', 'T', T(1), g, f.v, T(0), k);
  la::gemm_batched(exec, 'T', 'N', T(-1), f.u, f.d, T(1), h);  // h = H - U^T Yp
  la::gemm_batched(exec, 'N', 'N', T(1), f.u, h, T(1), f.d);
  la::gemm_batched(exec, 'N', 'N', T(-1), f.u, k, T(1), f.d);
  return f;
}

/// Where project and reduce put their result: a fresh matrix (no scratch), or slot `slot` of
/// `scratch`.
template <class T>
struct OutputSlot {
  LevelScratch<T>* scratch = nullptr;
  std::size_t slot = 0;
  Matrix<T> matrix(const char* label, index_type rows, index_type cols) const {
    if (scratch != nullptr) return scratch->matrix(slot, label, rows, cols);
    return Matrix<T>(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)), rows,
                     cols);
  }
};

/// out_i = B_i^T x_i for the node bases B (U or V) of a level: projection onto the rank space.
template <class T>
Matrix<T> project(const ExecSpace& exec, const MatrixBatch<T>& basis,
                  const std::vector<index_type>& off, const std::vector<int>& dim,
                  const std::vector<int>& rank, const Matrix<T>& x, int cols,
                  const OutputSlot<T>& where = {}) {
  const auto parent = LevelDims::from(rank, rank);
  Matrix<T> out = where.matrix("strata::hss::compress::projected", parent.rows(), cols);
  linalg::gemm_batched(exec, 'T', 'N', T(1), basis, row_blocks(x, off, dim, 0, cols), T(0),
                       row_blocks(out, parent.row_off, rank, 0, cols));
  return out;
}

/// out_i = B_i x_i (x stacked by rank, out stacked by the basis rows): lifting test vectors.
template <class T>
Matrix<T> lift(const ExecSpace& exec, const MatrixBatch<T>& basis,
               const std::vector<index_type>& off, const std::vector<int>& dim,
               const std::vector<int>& rank, const Matrix<T>& x, int cols) {
  const auto parent = LevelDims::from(rank, rank);
  Matrix<T> out(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::hss::compress::lifted"),
                off.back(), cols);
  linalg::gemm_batched(exec, 'N', 'N', T(1), basis, row_blocks(x, parent.row_off, rank, 0, cols),
                       T(0), row_blocks(out, off, dim, 0, cols));
  return out;
}

/// U^T (y - D w) (transpose: V^T (y - D^T w)): one level of the reduction A -> U^T (A - D) V
/// applied to a sample pair, with no new products (Levitt & Martinsson step 6). Computed as
/// U^T y - (U^T D) w, which leaves y untouched (callers need no copy of their samples) and costs
/// r m (s + c) + r c s flops per node instead of m c s + r m s (r <= m the rank).
template <class T>
Matrix<T> reduce(const ExecSpace& exec, const LevelFactors<T>& f, const Matrix<T>& y,
                 const Matrix<T>& w, int cols, bool transpose, const OutputSlot<T>& where = {}) {
  const auto& d = f.dims;
  const auto& yo = transpose ? d.col_off : d.row_off;
  const auto& yd = transpose ? d.col_dim : d.row_dim;
  const auto& wo = transpose ? d.row_off : d.col_off;
  const auto& wd = transpose ? d.row_dim : d.col_dim;
  const auto& basis = transpose ? f.v : f.u;
  const auto& rank = transpose ? f.c : f.r;
  Matrix<T> out = project(exec, basis, yo, yd, rank, y, cols, where);
  // E = U^T D (r x col_dim), transpose: V^T D^T = (D V)^T (c x row_dim).
  auto e = linalg::MatrixBatch<T>::allocate_uninitialized("strata::hss::compress::UtD", rank, wd);
  linalg::gemm_batched(exec, 'T', transpose ? 'T' : 'N', T(1), basis, f.d, T(0), e);
  const auto parent = LevelDims::from(rank, rank);
  linalg::gemm_batched(exec, 'N', 'N', T(-1), e, row_blocks(w, wo, wd, 0, cols), T(1),
                       row_blocks(out, parent.row_off, rank, 0, cols));
  return out;
}

/// [a | b]: the columns of a, then those of b (either may have no columns).
template <class T>
Matrix<T> hcat(const ExecSpace& exec, const Matrix<T>& a, const Matrix<T>& b) {
  const index_type ca = static_cast<index_type>(a.extent(1)),
                   cb = static_cast<index_type>(b.extent(1));
  if (cb == 0) return a;
  if (ca == 0) return b;
  Matrix<T> out(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::hss::compress::hcat"),
                a.extent(0), ca + cb);
  Kokkos::deep_copy(exec, Kokkos::subview(out, Kokkos::ALL, std::make_pair(index_type(0), ca)), a);
  Kokkos::deep_copy(exec, Kokkos::subview(out, Kokkos::ALL, std::make_pair(ca, ca + cb)), b);
  return out;
}

/// Quasi-optimal (Amsel et al.) sketch widths per level. Each level has two independent sketches:
/// one for the bases (null space of Omega_t, c rows, must keep >= r + p columns: c + r + p) and
/// one for D (Omega_t^+ needs >= c columns; p more keep E||Omega_t^+||_F^2 = c / (p - 1)
/// bounded). c is the level's largest node (leaf size, or the sum of the children's ranks) and r
/// the rank expected there: the rank found one level down (ranks of neighbouring levels are
/// alike), or the given rank. A level whose nodes are capped by the samples grows its basis
/// sketch (tolerance mode), appending columns: no product is spent twice.
struct SketchPlan {
  index_type fixed_s = 0;  // > 0: every sketch has these many columns (the user's --samples)
  index_type p = 0;        // oversampling
  index_type s_max = 0;    // most columns of one sketch
  index_type basis(index_type c, index_type r) const {
    return fixed_s > 0 ? fixed_s : std::min(s_max, c + r + p);
  }
  index_type d(index_type c) const {
    return fixed_s > 0 ? fixed_s : std::min(s_max, c + std::max<index_type>(p, 2));
  }
  /// After the attempt-th capped factorization of a level (ToleranceSchedule::grown_samples).
  index_type grow(index_type s, index_type needed, int attempt) const {
    return ToleranceSchedule::grown_samples(s, needed, s_max, attempt);
  }
};

/// Largest node (rows or columns) of a level.
inline index_type largest_node(const LevelDims& d) {
  int c = 0;
  for (int i = 0; i < d.nodes; ++i) c = std::max({c, d.row_dim[i], d.col_dim[i]});
  return c;
}

/// Root block D^(0) = Y Omega^+ of the last reduced matrix.
template <class T>
MatrixBatch<T> root_block(const ExecSpace& exec, const LevelDims& dims, const Samples<T>& smp) {
  const int sd = static_cast<int>(smp.s_d);
  auto root = MatrixBatch<T>::allocate_uninitialized("strata::hss::compress::D0", dims.row_dim,
                                                     dims.col_dim);
  linalg::pseudo_inverse_apply(exec, row_blocks(smp.y, dims.row_off, dims.row_dim, smp.d_col0, sd),
                               row_blocks(smp.omega, dims.col_off, dims.col_dim, smp.d_col0, sd),
                               root);
  return root;
}

/// One level of the conversion to standard generators, top-down: for the n nodes of level l
/// (ranks r, c), G_i = the diagonal block of the reduced matrix on node i and B_{i,i^1} (written
/// into `b`), from the parent level's discrepancy blocks `dp` (the root block when l = 1), the
/// parent factors `fp` (nullptr when l = 1) and the parents' G (`g_parent`). Node i's parent is
/// node i / 2 of the parent batches. Returns the batch of G_i.
template <class T>
MatrixBatch<T> couplings_level(const ExecSpace& exec, const std::vector<int>& r,
                               const std::vector<int>& c, const MatrixBatch<T>& dp,
                               const LevelFactors<T>* fp, const MatrixBatch<T>& g_parent,
                               const MatrixBatch<T>& b) {
  namespace la = linalg;
  const int n = static_cast<int>(r.size());
  auto start_r = [&](int i) {
    return (i % 2) ? r[i - 1] : 0;
  };
  auto start_c = [&](int i) {
    return (i % 2) ? c[i - 1] : 0;
  };
  auto sub = [&](const MatrixBatch<T>& base, int i, int r0, int c0, int rows, int cols) {
    const int p = i / 2;
    const int ld = base.layout.host_ld[p];
    return Block{base.layout.host_offset[p] + r0 + static_cast<index_type>(c0) * ld, rows, cols,
                 ld};
  };
  auto g = MatrixBatch<T>::allocate_uninitialized("strata::hss::compress::Gdiag", r, c);
  la::copy_batched(
      exec, 'N',
      carve<T>(dp.values, n, [&](int i) { return sub(dp, i, start_r(i), start_c(i), r[i], c[i]); }),
      g);
  la::copy_batched(
      exec, 'N',
      carve<T>(dp.values, n,
               [&](int i) { return sub(dp, i, start_r(i), start_c(i ^ 1), r[i], c[i ^ 1]); }),
      b);
  if (fp != nullptr) {
    std::vector<int> cp(n);
    for (int i = 0; i < n; ++i) cp[i] = fp->c[i / 2];
    auto t = MatrixBatch<T>::allocate_uninitialized("strata::hss::compress::UG", r, cp);
    const auto usub = carve<T>(
        fp->u.values, n, [&](int i) { return sub(fp->u, i, start_r(i), 0, r[i], fp->r[i / 2]); });
    const auto gp = carve<T>(g_parent.values, n, [&](int i) {
      return Block{g_parent.layout.host_offset[i / 2], fp->r[i / 2], fp->c[i / 2],
                   g_parent.layout.host_ld[i / 2]};
    });
    la::gemm_batched(exec, 'N', 'N', T(1), usub, gp, T(0), t);
    const auto vsub_i = carve<T>(
        fp->v.values, n, [&](int i) { return sub(fp->v, i, start_c(i), 0, c[i], fp->c[i / 2]); });
    const auto vsub_j = carve<T>(fp->v.values, n, [&](int i) {
      return sub(fp->v, i, start_c(i ^ 1), 0, c[i ^ 1], fp->c[i / 2]);
    });
    la::gemm_batched(exec, 'N', 'T', T(1), t, vsub_i, T(1), g);
    la::gemm_batched(exec, 'N', 'T', T(1), t, vsub_j, T(1), b);
  }
  return g;
}

}  // namespace strata::hss::detail::compress
