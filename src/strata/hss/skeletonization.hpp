// HSS construction from entries alone in O(N k) entry evaluations: recursive skeletonization with
// sampled interpolative decompositions, and a sampled a-posteriori error certificate.
//
// Construction (Martinsson, "A fast randomized algorithm for computing a hierarchically
// semiseparable representation of a matrix", SIMAX 32 (2011), Sec. 3-4 for the ID-based HSS
// generators; Ho & Greengard, "A fast direct solver for structured linear systems by recursive
// skeletonization", SISC 34 (2012), Sec. 3, for skeletonizing level by level from the children's
// skeletons). Bottom-up over the cluster tree; at level l every node tau has candidate rows
// C^r_tau (all its indices at a leaf, else the union of its children's row skeletons J) and
// candidate columns C^c_tau (likewise with the column skeletons K). Its off-diagonal block row
// A(C^r_tau, I \ I_tau) is never formed; a row ID is computed from a sampled submatrix
//   S_tau = A(C^r_tau, [near columns, far columns]) W,
// near columns: C^c_sigma of every node sigma of level l near tau (bounding boxes touching or with
//   a gap below near_ratio times the larger box diameter when points are given; else the
//   index-adjacent nodes i - 1, i + 1);
// far columns: s_far original indices from the rest of I \ I_tau, stratified in rings: ring j = 1,
//   ..., l - 1 the indices of tau's ancestor on level l - j and of that ancestor's near nodes not
//   in a closer ring (or the near field), a last ring the rest; ceil(s_far / rings) drawn
//   uniformly in each (counter-based Philox streams keyed by seed, level, node and pass:
//   reproducible, independent of threads and ranks). The closer rings are small and hold the
//   largest far entries of a decaying kernel, which uniform draws over all of I \ I_tau (the
//   former scheme) hardly ever saw once N >> s_far m;
// W scales each column by sqrt(columns it stands for / columns drawn), so that ||S_tau - P S_tau(J,
// :)||_F estimates the error of the ID on the whole block row. The ID (column-pivoted QR stopped
// at the rank: linalg/detail/truncated_id.hpp on host memory, linalg::interpolative_decomposition's
// team kernel on device memory; batched calls per level) keeps pivots above
// eps_l / sqrt(max |C_tau| over the level) (the level's largest candidate set, so that a node's ID
// depends neither on the nodes batched with it nor on the rank count), so that the weighted
// sample's residual is below eps_l, with
// eps_l^2 = beta^2 tol^2 ||A||_F^2 / (2 L 2^l) (the error budget shared by the 2^l nodes, both
// kinds and the L levels; ||A||_F estimated from sampled entries; beta = budget_fraction first).
// Above the leaves a candidate row stands for all the rows of its child: an ID error E on the
// candidates reaches the block row as diag(U_c1, U_c2) E (U_c the children's nested bases over all
// their indices), so the node's sampled rows are scaled by a_tau = max(||U_c1||_2, ||U_c2||_2)
// (from the k x k Grams U^T U, formed level by level: O(k^3) per node), which makes the pivot
// threshold and the check below bound ||diag(U_c1, U_c2) E||_F <= a_tau ||E||_F. Without it the
// error of the upper levels exceeded its budget by the factor a_tau, which grows like the square
// root of the indices per skeleton row (measured up to 230 at level 1 for N = 2^18, cauchy-1d):
// 9x the total budget there, and a second round. A
// randomized check then measures the ID on FRESH far original columns, ceil(q / rings) uniformly
// drawn in each ring not wholly in the sample (independent of the ID, so an unbiased estimate
// of the far part; the near part is in the sample, so its
// residual is at most (|C_tau| - k) times the square of the pivot threshold, read off the QR
// without a product): a node whose estimated block-row residual exceeds sqrt(2) eps_l (or whose
// rank equals its sample count)
// doubles s_far and repeats, at most max_growth times (afterwards it is kept and counted in
// unverified_nodes). Column IDs (V, K) are the same on A(rows, C^c_tau). Generators: U_tau, V_tau
// the interpolation matrices (U(J, :) = I), B_ab = A(J_a, K_b), D_tau = A(I_tau, I_tau) exact.
//
// Cost: N m (leaves D) + sum over nodes and kinds of |C_tau| (s_near + s_far + q + 2 L) + sum
// r_a r_b entry evaluations per round (the rings round s_far and q up to multiples of their
// count, at most L), i.e. O(N (m + k + L)) = O(N k) for leaf size m ~ k and bounded
// near-field counts (1-D and curve geometries: one or two neighbour nodes per side; measured 430 to
// 1200 entries per index at tol 1e-4..1e-8, N = 4096); O(N k^2) flops for the IDs and checks, per
// level and pass one batched ID and two small kernels; host work O(N) per level on index lists.
// With points in 2-D/3-D volumes the near field of a leaf holds more leaves (O(1), with a large
// constant), and the ranks of such problems grow with N: HSS (weak admissibility) compresses the
// interaction of touching boxes, whose rank grows like sqrt(N) in 2-D. Measured (Serial, tol 1e-6,
// leaf 64, near_ratio 0.5): laplace-2d max rank 297 / 579 and 8000 / 11340 entries per index at N =
// 16384 / 65536, 7.2x the CPU time for 4x N (about N^1.4); exponential-2d 383 / 693, 11864 / 15431.
// Volume problems need a strongly admissible format (H^2), which Strata does not provide.
//
// Guarantees and limits. This is a heuristic: a column-sampled ID is exact when the sample spans
// the range of the block row, and the fresh-column check makes a missed direction unlikely when it
// is spread over many columns, but a direction carried by few far columns can be missed by both
// (no sampling scheme reading o(N^2) entries can rule that out for an arbitrary matrix). For an
// exactly low-rank or exact HSS matrix whose ranks the samples exceed, the result is exact up to
// rounding. What the caller can rely on is the certificate below, and met_tolerance says whether
// it meets the tolerance.
//
// Certificate (certify_relative_error): ||A - H||_F^2 and ||A||_F^2 split into L + 2 strata: the
// main diagonal, the rest of the leaf diagonal blocks and, for each level l, the sibling blocks
// A(I_a, I_b). In each stratum m entries (i, j) are drawn (node uniformly, row and column
// uniformly inside its block), and the
// Horvitz-Thompson sums n_strata-weighted means of (A_ij - H_ij)^2 and A_ij^2 estimate the two
// squares without bias; H_ij comes from the generators (one leaf row of U times the transfer
// matrices up to the stratum's level, B, and the same for V: O(L r^2) per entry). The interval
// uses the stratified sample variances and z = 3 on each of numerator (upper) and denominator
// (lower), Bonferroni-combined: nominal confidence 0.997 UNDER THE NORMAL APPROXIMATION of the
// stratum means. It is a statistical statement, not a bound: an error concentrated on few entries
// (heavy tails) is under-represented, and then the actual coverage is lower than stated. Cost:
// (L + 2) m entries of A, O((L + 2) m L r^2) flops on the host.
#pragma once

#include <cstdint>
#include <vector>

#include "strata/core/progress.hpp"
#include "strata/hss/callbacks.hpp"
#include "strata/hss/hss_matrix.hpp"

namespace strata::hss {

/// Point coordinates (n x d, the user's order) on the host, for the geometric near field.
using HostPoints = Kokkos::View<const double**, Kokkos::LayoutLeft, Kokkos::HostSpace>;

struct SkeletonizationOptions {
  /// Target for ||A - H||_F / ||A||_F (tolerance mode, rank = 0); must be > 0 then.
  double tolerance = 0;
  /// Fixed-rank mode when > 0: every ID keeps at most `rank` columns, one pass, no checks.
  index_type rank = 0;
  /// Far-field columns drawn per node and kind in the first pass (>= 1).
  index_type far_samples = 32;
  /// Fresh columns (each of near and far) of the per-node check (>= 1).
  index_type check_samples = 16;
  /// Doublings of far_samples for a node failing its check.
  int max_growth = 4;
  /// Rebuilds with a tighter budget while the certificate's upper end exceeds the tolerance.
  int max_rounds = 3;
  /// The first round's fraction beta of the tolerance in the per-node budgets (file comment), in
  /// (0, 1]: smaller raises the ranks a little (they grow like log(1 / beta)) and makes a second
  /// round (a whole rebuild) less likely. 0.5: true errors 5-9% of the tolerance on the built-in
  /// 1-D and curve kernels (tol 1e-4 and 1e-8, N = 4096 and 16384) and one round up to N = 2^18
  /// at tol 1e-6 (the bound a_tau ||E||_F of the upper levels is not tight). Before the upper
  /// levels' errors were scaled by a_tau and the far field sampled in rings, 0.1 was needed.
  double budget_fraction = 0.5;
  /// Entries sampled per stratum by the certificate (and by the ||A||_F estimate), >= 2.
  index_type certificate_samples = 512;
  std::uint64_t seed = 0;
  /// Optional points (n x d, the user's order): geometric near field. Empty: tree neighbours.
  HostPoints points;
  /// With points: nodes of a level whose bounding boxes touch, or whose gap is below near_ratio
  /// times the larger box's diameter, are near (all their candidates in the sample); the others
  /// are far (sampled in rings). Smaller reads fewer entries; too small misses strong
  /// interactions that the far sampling sees too rarely (0, touching boxes only: true error 1.7e-3
  /// at tol 1e-6 on laplace-curve, N = 16384). 0.25 (0.5 before issue 13): laplace-curve reads
  /// 20% fewer entries per index (927 against 1159 at N = 2^16), true errors unchanged (5.9e-6,
  /// 5.9e-8, 6.2e-10 at tol 1e-4, 1e-6, 1e-8, N = 16384); 0.1 reads 35% fewer with true errors
  /// up to 8% of the tolerance (same runs), less margin to the failure at 0.
  double near_ratio = 0.25;
};

/// The sampled estimate of ||A - H||_F / ||A||_F (file comment).
struct ErrorCertificate {
  double estimate = -1;    ///< point estimate (ratio of the stratified estimates)
  double upper = -1;       ///< upper end of the interval (inf if ||A||_F's lower end is <= 0)
  double lower = -1;       ///< lower end of the interval
  double confidence = 0;   ///< nominal, under the normal approximation
  index_type entries = 0;  ///< entries of A evaluated (and as many of H)
};

/// What a construction reports besides the matrix. Every count is global (the same on every
/// rank): entries that several ranks evaluate redundantly (the levels above the split) are counted
/// once, so the counts equal the one-rank run's.
struct SkeletonizationReport {
  /// Entries of A evaluated: construction (all rounds), norm estimate and certificates.
  index_type entries = 0;
  index_type construction_entries = 0;  ///< of which in the final round's construction
  int rounds = 0;
  /// Tolerance mode: certificate.upper <= tolerance. Fixed rank: true.
  bool met_tolerance = false;
  ErrorCertificate certificate;
  /// Nodes (final round, both kinds) kept after max_growth failed checks.
  index_type unverified_nodes = 0;
  /// Largest row rank per level (index 0: the root, 0).
  std::vector<index_type> max_rank_per_level;
  double norm_estimate = 0;  ///< the sampled ||A||_F used for the budget
  PhaseTimer timings;        ///< phases: norm, construction, certificate (this rank's times)
};

/// The result of a construction; M is HssMatrix<T> (SkeletonizationResult) or DistHssMatrix<T>
/// (DistSkeletonizationResult).
template <class M>
struct SkeletonizationResultOf : SkeletonizationReport {
  M matrix;
};

template <class T>
using SkeletonizationResult = SkeletonizationResultOf<HssMatrix<T>>;

/// HSS approximation of the n x n matrix whose entries `entries` returns (the user's order) on
/// `tree` (n = tree.size()), by recursive skeletonization (file comment: cost, guarantees). In
/// tolerance mode the construction is repeated (beta halved or more, up to max_rounds, stopping
/// early when a round does not halve the certificate's upper end) while that upper end exceeds the
/// tolerance; the result then has met_tolerance = false.
/// One process: compress_by_skeletonization_distributed (dist_skeletonization.hpp) on Comm::self(),
/// gathered into one HssMatrix. Throws InvalidArgument on an empty evaluator, no rank and no
/// positive tolerance, points not n x d, or options out of range.
template <class T>
SkeletonizationResult<T> compress_by_skeletonization(const ExecSpace& exec, const ClusterTree& tree,
                                                     const EntryEvaluator<T>& entries,
                                                     const SkeletonizationOptions& options);

/// The certificate of an HSS matrix h against A (file comment): `samples` entries per stratum
/// (>= 2) from stream `seed`. Cost (L + 2) samples entries of A plus O((L + 2) samples L r^2)
/// host flops. Throws InvalidArgument on samples < 2 or an empty evaluator.
template <class T>
ErrorCertificate certify_relative_error(const ExecSpace& exec, const EntryEvaluator<T>& entries,
                                        const HssMatrix<T>& h, index_type samples,
                                        std::uint64_t seed);

#define STRATA_HSS_SKELETONIZATION_DECLARE(T)                              \
  extern template SkeletonizationResult<T> compress_by_skeletonization<T>( \
      const ExecSpace&, const ClusterTree&, const EntryEvaluator<T>&,      \
      const SkeletonizationOptions&);                                      \
  extern template ErrorCertificate certify_relative_error<T>(              \
      const ExecSpace&, const EntryEvaluator<T>&, const HssMatrix<T>&, index_type, std::uint64_t);
STRATA_HSS_SKELETONIZATION_DECLARE(float)
STRATA_HSS_SKELETONIZATION_DECLARE(double)
#undef STRATA_HSS_SKELETONIZATION_DECLARE

}  // namespace strata::hss
