// Randomized range finders: an orthonormal basis Q (m x l) with A ~ Q Q^T A, from products with A
// and A^T only. The building block of the randomized SVD, symmetric EVD and Nystrom drivers in
// low_rank.hpp.
//
// The random test matrix Omega is the reproducible stream of core/random.hpp: entry (i, j) depends
// only on (distribution, seed, stream, i, j), so a rank generates exactly its rows and the result
// does not depend on the number of ranks. Basis columns use stream 2 * test_matrix.stream, the
// Gaussian probes of the posterior error estimate stream 2 * test_matrix.stream + 1.
#pragma once

#include <cstdint>
#include <string>

#include "strata/core/progress.hpp"
#include "strata/core/random.hpp"
#include "strata/dist/linear_operator.hpp"
#include "strata/dist/tall_skinny_qr.hpp"
#include "strata/linalg/small_svd.hpp"

namespace strata::sketch {

/// Distribution of the test matrix Omega (cols() x l). The dense i.i.d. kinds are generated entry
/// by entry; the structured kinds are Omega = S^T for a sketch operator S (l x cols(), see
/// operator.hpp, unscaled entries: the basis does not depend on a scaling of Omega), with
/// this rank's rows of Omega materialized from S's matching column block (O(l n_local) work, no
/// communication), then applied like any Omega, so every operator kind works for any
/// LinearOperator and distribution and the result does not depend on the number of ranks.
enum class TestMatrixKind {
  gaussian,     ///< i.i.d. N(0, 1) (the setting of the HMT bounds)
  rademacher,   ///< i.i.d. +-1
  srht,         ///< subsampled randomized Hadamard transform (Tropp 2011; HMT Sec. 4.6)
  sparse_sign,  ///< nnz signs per row of Omega (Martinsson & Tropp 2020, Sec. 9.2)
};

struct TestMatrixOptions {
  TestMatrixKind kind = TestMatrixKind::gaussian;
  std::uint64_t seed = 0;
  std::uint64_t stream = 0;
  /// sparse_sign: nonzeros per row of Omega, capped at l (Martinsson & Tropp recommend 8).
  index_type nnz = 8;
};

/// "gaussian", "rademacher", "srht", "sparse-sign".
const char* test_matrix_name(TestMatrixKind kind);
/// Inverse of test_matrix_name; throws InvalidArgument on anything else.
TestMatrixKind parse_test_matrix(const std::string& name);

/// How the posterior error estimate turns r probe residuals z_i = (A - A_approx) w_i (w_i
/// independent standard Gaussian vectors) into a number.
enum class ErrorEstimator {
  /// 10 sqrt(2/pi) max_i ||z_i||: an upper bound on the spectral norm ||A - A_approx||_2 with
  /// probability at least 1 - 10^-r (Halko, Martinsson & Tropp 2011, eq. (4.3), Lemma 4.1).
  spectral_bound,
  /// sqrt(mean_i ||z_i||^2): an unbiased estimate of ||A - A_approx||_F^2 under the root (each
  /// E ||z_i||^2 = ||A - A_approx||_F^2), relative spread ~ sqrt(2 / r).
  frobenius,
};

/// Options shared by the range finders and the low-rank drivers built on them.
struct LowRankOptions {
  /// Target rank k (fixed-rank mode). With tolerance > 0 the rank is chosen adaptively and this
  /// must be 0.
  index_type rank = 0;
  /// Oversampling p: the basis has l = k + p columns, reduced to min(m, n) if k + p exceeds it.
  index_type oversample = 10;
  /// Steps q of subspace (power) iteration (HMT Alg. 4.4), each re-orthonormalized.
  int power_iterations = 0;
  /// > 0: adaptive mode, grow the basis until the posterior estimate is <= tolerance (absolute,
  /// in the norm the estimator measures).
  double tolerance = 0;
  /// Adaptive mode: columns added per step, and the largest rank allowed (0: min(m, n)).
  index_type block_size = 16;
  index_type max_rank = 0;
  /// r Gaussian probes for the posterior error estimate (r extra products with A). 0 in fixed-rank
  /// mode: no estimate (error_estimate = -1). Adaptive mode needs r >= 1.
  int error_probes = 10;
  ErrorEstimator estimator = ErrorEstimator::spectral_bound;
  TestMatrixOptions test_matrix;
  /// Orthonormalization. cholesky_qr2 (the default) falls back to householder TSQR when the block
  /// is numerically rank deficient (for example when A has exact rank < l).
  TallSkinnyQrOptions qr;
  /// The SVD of the l x l core in randomized_svd: automatic is cuSOLVER's polar-decomposition SVD
  /// (Xgesvdp) on CUDA memory and LAPACK xGESDD on the host (linalg/small_svd.hpp).
  linalg::SmallSvdMethod small_svd = linalg::SmallSvdMethod::automatic;
};

template <class T>
struct RangeFinderResult {
  /// Q: rows() x l with orthonormal columns, distributed like the operator's rows.
  DistMatrix<T> basis;
  /// Number of products of A or A^T with a single vector.
  index_type matvecs = 0;
  /// Posterior estimate of ||(I - Q Q^T) A|| (see ErrorEstimator); -1 when not computed.
  double error_estimate = -1;
  /// Adaptive mode: whether the estimate met the tolerance (false if max_rank stopped it).
  bool converged = true;
  /// Phases: "sketch" (products with A), "qr", "estimate".
  PhaseTimer timings;
};

/// Fixed-rank randomized range finder with subspace iteration (Halko, Martinsson & Tropp 2011,
/// Alg. 4.1 and Alg. 4.4): Y = A Omega, Q = orth(Y), then q times W = orth(A^T Q), Q = orth(A W).
/// Omega is cols() x l, l = k + p (capped at min(m, n)).
/// Guarantee (HMT Thm. 10.6 for Gaussian Omega, q = 0, p >= 2):
///   E ||(I - Q Q^T) A||_2 <= (1 + sqrt(k / (p - 1))) sigma_{k+1}
///                            + e sqrt(k + p) / p * sqrt(sum_{j > k} sigma_j^2),
/// and with q steps the same bound holds with sigma_j replaced by sigma_j^(2q+1) and taken to the
/// power 1/(2q+1) (HMT Cor. 10.10).
/// Structured test matrices (q = 0): for SRHT Omega with 4 (sqrt(k) + sqrt(8 log(k n)))^2 log k
/// <= l <= n, ||(I - Q Q^T) A||_2 <= (1 + sqrt(7 n / l)) sigma_{k+1} with failure probability
/// O(1/k) (HMT Thm. 11.2, from Tropp 2011, "Improved analysis of the subsampled randomized
/// Hadamard transform"). Sparse sign maps have no bound this sharp at small nnz; in practice they
/// behave like Gaussian ones (Martinsson & Tropp 2020, Sec. 9.2; Tropp, Yurtsever, Udell &
/// Cevher 2017, Sec. 3.3).
/// Cost: (2q + 1) l products with A or A^T, (2q + 1) tall-skinny QRs of m x l or n x l
/// (4 m l^2 flops each), plus r products if error_probes = r > 0. Collective for distributed
/// operators. Throws InvalidArgument (k < 1, k > min(m, n), negative p, q), NonFiniteInput (A
/// produced NaN/Inf), Unsupported (a callback operator without apply_transpose when q > 0).
template <class T>
RangeFinderResult<T> randomized_range_finder(const ExecSpace& exec, const LinearOperator<T>& a,
                                             const LowRankOptions& options);

/// Adaptive blocked range finder (Martinsson & Tropp 2020, "Randomized numerical linear algebra:
/// foundations and algorithms", Acta Numerica, Sec. 12.4, blocked randQB; HMT Alg. 4.2 for the
/// posterior test): repeat Y = A Omega_i (b = block_size new columns, optionally q power steps),
/// Y <- orth((I - Q Q^T) Y) twice (block Gram-Schmidt with re-orthogonalization: twice is
/// enough), Q <- [Q, Y], until the posterior estimate of ||(I - Q Q^T) A|| from r Gaussian probes
/// is <= tolerance or the rank reaches max_rank. The probe images A w_i are formed once and
/// deflated with each new block (r products in all).
/// Guarantee: with the spectral_bound estimator, when it stops below the tolerance,
/// ||(I - Q Q^T) A||_2 <= tolerance with probability >= 1 - 10^-r (HMT eq. (4.3)); the rank
/// exceeds the numerical rank at tolerance / (10 sqrt(2/pi) sqrt(min(m, n))) by at most a block.
/// The test matrix must be gaussian or rademacher (blocks of one global matrix, drawn as the
/// rank grows); InvalidArgument otherwise.
/// Cost per block: (2q + 1) b products, two projections (4 m rank b flops) and two QRs of m x b.
template <class T>
RangeFinderResult<T> adaptive_range_finder(const ExecSpace& exec, const LinearOperator<T>& a,
                                           const LowRankOptions& options);

#define STRATA_RANGE_FINDER_DECLARE(T)                                    \
  extern template RangeFinderResult<T> randomized_range_finder<T>(        \
      const ExecSpace&, const LinearOperator<T>&, const LowRankOptions&); \
  extern template RangeFinderResult<T> adaptive_range_finder<T>(          \
      const ExecSpace&, const LinearOperator<T>&, const LowRankOptions&);
STRATA_RANGE_FINDER_DECLARE(float)
STRATA_RANGE_FINDER_DECLARE(double)
#undef STRATA_RANGE_FINDER_DECLARE

}  // namespace strata::sketch
