// HSS approximation of a square operator from products with A and A^T (and, for the entries
// method, entries of A).
//
// One construction serves 1..P ranks: compress_from_matvecs_distributed (distributed.hpp) on the
// operator's communicator; compress_from_matvecs below is the same code on a replicated operator
// (a one-rank communicator), returning the replicated HssMatrix. Vectors are always in the
// user's order. Three methods; the two product-only ones, both bottom-up over the levels of a
// ClusterTree with every per-level step one batched kernel over all nodes of the level
// (linalg/batched_dense.hpp):
//
//  * Levitt & Martinsson, "Linear-complexity black-box randomized compression of rank-structured
//    matrices", SISC 2024 (arXiv 2205.02990), Alg. 4.1: ONE batch of products Y = A Omega,
//    Z = A^T Psi (s columns each). Per node: P = null(Omega_tau), U = leading left singular vectors
//    of Y_tau P (likewise V from Z_tau null(Psi_tau)), the discrepancy
//    D = (I - UU^T) Y Omega^+ + UU^T [(I - VV^T) Z Psi^+]^T, then the no-new-products update
//    Y <- U^T (Y - D Omega), Omega <- V^T Omega (same for Z, Psi) moves one level up; the root
//    block is Y Omega^+. Needs s >= max(m + r, 3r) (m leaf size, r rank). Products: s with A and s
//    with A^T.
//  * Amsel, Chen, Halikias, Keles, Musco & Musco, "Quasi-optimal hierarchically semi-separable
//    matrix approximation" (arXiv 2505.16937): fresh Gaussian sketches at every level, applied to
//    the already-reduced operator through lifted test vectors (V^(L) ... V^(l+1) Omega^(l), then A,
//    then the reductions U^T (. - D .)), and an independent sketch pair for D. Widths per level
//    follow the ranks: c + r + p for the bases (c the level's largest node: the leaf size, or the
//    sum of the children's ranks; r the rank found one level down, or the fixed rank) and c + p
//    for D (only D for the root); a tolerance-mode level whose nodes are capped by the samples
//    appends columns. Products: about sum over levels of (2c + r + 2p) ~ (5r + 2p) L with A and
//    as many with A^T, i.e. O(r log(N/r)) as in their Thm 4.1 -- roughly L times
//    Levitt-Martinsson's single batch, the price of fresh sketches. Guarantee (their Thm 4.1,
//    for s >= 3k + 2): E ||A - H||_F^2 <= O(log(N/k)) min over HSS rank-k C of ||A - C||_F^2.
//
// The telescoping factorization A = U^(L) (... U^(1) D^(0) V^(1)T + D^(1) ...) V^(L)T + D^(L) that
// both methods produce is converted to standard generators (ALGORITHMS.md "HSS"): transfer matrices
// are the parents' U, V; B_ab = the (a, b) block of the parent's reduced block; leaf D = D_tau +
// U_tau G_tau V_tau^T with G_tau the diagonal block of the reduced matrix.
//
// Ranks: fixed (every basis keeps min(rank, rows) columns) or by tolerance: the target
// ||A - H||_F <= tol ||A||_F is split into equal per-node budgets (the error splits orthogonally
// over the levels and nodes, with D's sketch error as a computable factor: ToleranceSchedule in
// detail/compress_levels.hpp), and each node keeps the smallest rank whose residual, estimated
// from the singular values of its projected samples, fits its budget. The achieved error is
// therefore a modest fraction of tol (not orders of magnitude below it). A node whose rank is
// capped by the samples (k - p for a k-dimensional null space) predicts the samples it needs;
// Levitt-Martinsson then appends that many columns to its batch (old products reused) and
// repeats the pass, quasi-optimal appends columns to that level's sketch only. Finally an upper
// confidence bound of ||A - H||_F / ||A||_F from Gaussian probes G (||(A - H) G||, and ||A G||
// with the other Gaussian product columns of A for the denominator; nominal confidence 99% for
// any spectrum, detail/error_bound.hpp) must meet the tolerance; if not (no node capped), the
// budgets shrink and the pass is repeated. So "met" means: the bound, not only the point
// estimate, is <= tol.
//
// The third method, entries (skeletonization.hpp), reads entries of A only: recursive
// skeletonization (Martinsson 2011, Ho & Greengard 2012) on sampled submatrices, O(N k) entry
// evaluations, no products. Its tolerance is checked by a sampled certificate of ||A - H||_F /
// ||A||_F (stratified entry samples, nominal 99.7% interval): rebuilt with a tighter budget while
// the interval's upper end exceeds tol, for at most max_rounds rounds; met_tolerance reports the
// outcome. (compress_entries.hpp keeps the older ID construction from products and entries.)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "strata/core/progress.hpp"
#include "strata/dist/linear_operator.hpp"
#include "strata/hss/callbacks.hpp"
#include "strata/hss/hss_matrix.hpp"
#include "strata/hss/skeletonization.hpp"

namespace strata::hss {

enum class CompressMethod { levitt_martinsson, quasi_optimal, entries };

/// "levitt-martinsson" / "quasi-optimal" / "entries".
const char* compress_method_name(CompressMethod method);
/// Parses the names above; throws InvalidArgument otherwise.
CompressMethod parse_compress_method(const std::string& name);

struct CompressOptions;
/// The skeletonization options the entries method uses for `options` (fixed rank or tolerance,
/// samples as the far samples, rounds, seed, points; the rest at their defaults): the same
/// construction through compress_from_matvecs and compress_by_skeletonization_distributed.
SkeletonizationOptions skeletonization_options(const CompressOptions& options);

struct CompressOptions {
  CompressMethod method = CompressMethod::levitt_martinsson;
  /// Fixed-rank mode when > 0: every basis keeps min(rank, rows) columns. 0: tolerance mode.
  index_type rank = 0;
  /// Tolerance mode (rank = 0): target for ||A - H||_F / ||A||_F, the same for every method (met
  /// by the a-posteriori estimate, see the file comment); must be > 0.
  double tolerance = 0;
  /// Samples beyond the minimum. Fixed rank: s = max(m + r, 3 r) + oversampling (m = largest
  /// leaf; entries: r + oversampling). Tolerance mode: the initial s is m + 2 oversampling
  /// (entries: 64) and ranks stay <= k - oversampling (k = s - rows of Omega_tau: the null-space
  /// dimension), so the kept singular vectors are always oversampled. Quasi-optimal: per-level
  /// widths (file comment).
  index_type oversampling = 10;
  /// Samples per sketch (overrides the automatic choice; fixed rank needs s >= m + r and s >= 3r;
  /// quasi-optimal: every sketch of every level, tolerance mode: the first width; entries: no
  /// doubling).
  index_type samples = 0;
  /// Tolerance mode: largest sample count tried (0: N).
  index_type max_samples = 0;
  /// Gaussian probes of the a-posteriori error estimate (tolerance mode needs >= 5: it accepts on
  /// a 99% upper bound, which is 3.4x the estimate at 5 probes, 1.2x at 10, and infinite below
  /// 3; 0 in fixed rank mode: no estimate, no extra products).
  int error_probes = 10;
  /// Tolerance mode: most rounds that end with an error estimate (rounds stopped early because a
  /// node was capped by the samples, which grow s geometrically up to max_samples, not counted).
  int max_rounds = 8;
  std::uint64_t seed = 0;
  /// Entries method: the points (n x d, the user's order) for the geometric near field; empty:
  /// the tree's index neighbours.
  HostPoints points;
};

template <class T>
struct CompressResult {
  HssMatrix<T> matrix;
  /// Products used to build the HSS matrix: columns multiplied by A and by A^T.
  index_type products = 0, transpose_products = 0;
  /// Products with A spent on the error estimate (not included above).
  index_type probe_products = 0;
  /// Entries of A evaluated (entries method; 0 otherwise).
  index_type entries = 0;
  /// Entries method: nodes kept after their sampled check failed max_growth times in the final
  /// round (unverified_nodes of skeletonization.hpp); 0 otherwise.
  index_type saturated_nodes = 0;
  /// Products with A (and, equally many, with A^T) per level, leaves first then up to the root
  /// (quasi-optimal: fresh per level; Levitt-Martinsson: one entry, the single batch; entries:
  /// empty).
  std::vector<index_type> products_per_level;
  /// Largest row rank on level l = 1..L (index 0 unused, 0).
  std::vector<index_type> max_rank_per_level;
  index_type samples = 0;  ///< samples per sketch in the final round (quasi-optimal: widest;
                           ///< entries: first far-field columns per node)
  int rounds = 1;          ///< adaptive rounds (tolerance mode)
  /// Point estimate of ||A - H||_F / ||A||_F: ||(A - H) G||_F / sqrt(g) over g = error_probes
  /// Gaussian vectors, over the estimate of ||A||_F from every Gaussian product column of A (the
  /// probes' and the construction's own: Levitt-Martinsson's A Omega, quasi-optimal's leaf
  /// sketches); -1 if not estimated. Entries method: the certificate's point estimate (no
  /// products).
  double relative_error_estimate = -1;
  /// Upper confidence bound of ||A - H||_F / ||A||_F, nominal confidence 99% for any spectrum of
  /// A - H and A (detail/error_bound.hpp); entries method: the certificate's upper end (nominal
  /// 99.7%, normal approximation); -1 if not estimated.
  double relative_error_bound = -1;
  /// Tolerance mode: the target was met, relative_error_bound <= tol (the rounds stop there).
  /// Fixed rank: true.
  bool met_tolerance = true;
  /// Entries method: the sampled error certificate (skeletonization.hpp); estimate -1 otherwise.
  ErrorCertificate certificate;
  PhaseTimer timings;  ///< phases: products, levels, assemble, estimate (entries: norm,
                       ///< construction, certificate)
};

/// Builds an HSS approximation of the square operator A (n x n, replicated, n = tree.size(); X
/// and Y of its products in the user's order) on `tree` (see the file comment for the methods and
/// their costs; extra work O(N s^2) flops, all in batched per-level kernels). Levitt-Martinsson
/// and quasi-optimal run compress_from_matvecs_distributed on the operator's one-rank
/// communicator and gather the result; the entries method needs `entries` (A's entries in the
/// user's order). Errors: ShapeMismatch (A not square or not tree-sized), Unsupported (distributed
/// operator), InvalidArgument (no rank and no positive tolerance, rank above the smallest leaf,
/// too few samples for the null-space step, no probes in tolerance mode, entries method without
/// an evaluator), NonFiniteInput (NaN/Inf in the products). Exceptions thrown by the operator
/// propagate unchanged.
template <class T>
CompressResult<T> compress_from_matvecs(const ExecSpace& exec, const LinearOperator<T>& a,
                                        const ClusterTree& tree, const CompressOptions& options,
                                        const EntryEvaluator<T>& entries = {});

/// ||(A - H) G||_F / ||A G||_F for `probes` Gaussian columns G from stream (seed, 0x9e57) (rows by
/// the user's index): an unbiased-in-square randomized estimate of ||A - H||_F / ||A||_F. Costs
/// `probes` products with A and with H. A replicated; the distributed form is in distributed.hpp.
template <class T>
double estimate_relative_error(const ExecSpace& exec, const LinearOperator<T>& a,
                               const HssMatrix<T>& h, int probes, std::uint64_t seed);

#define STRATA_HSS_COMPRESS_DECLARE(T)                                                          \
  extern template CompressResult<T> compress_from_matvecs<T>(                                   \
      const ExecSpace&, const LinearOperator<T>&, const ClusterTree&, const CompressOptions&,   \
      const EntryEvaluator<T>&);                                                                \
  extern template double estimate_relative_error<T>(const ExecSpace&, const LinearOperator<T>&, \
                                                    const HssMatrix<T>&, int, std::uint64_t);
STRATA_HSS_COMPRESS_DECLARE(float)
STRATA_HSS_COMPRESS_DECLARE(double)
#undef STRATA_HSS_COMPRESS_DECLARE

}  // namespace strata::hss
