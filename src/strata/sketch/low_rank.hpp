// Randomized low-rank factorizations from products with an operator: the SVD A ~ U diag(S) V^T,
// the symmetric eigendecomposition A ~ Q diag(lambda) Q^T, and the Nystrom approximation of a
// positive semidefinite A ~ U diag(lambda) U^T. All run on a LinearOperator (a DistMatrix through
// DistDenseOperator); distributed operators give distributed factors: U like A's rows, V like its
// columns, singular values / eigenvalues replicated. The results do not depend on the number of
// ranks (the test matrices are rank-count independent), up to rounding.
#pragma once

#include <vector>

#include "strata/sketch/range_finder.hpp"

namespace strata::sketch {

template <class T>
struct SvdResult {
  DistMatrix<T> u;         ///< rows() x k, orthonormal columns, laid out like A's rows
  std::vector<T> s;        ///< k singular values, descending, replicated
  DistMatrix<T> v;         ///< cols() x k, orthonormal columns, laid out like A's columns
  index_type rank = 0;     ///< k (chosen by the tolerance in adaptive mode)
  index_type matvecs = 0;  ///< products of A or A^T with one vector
  /// Posterior estimate of ||A - U diag(S) V^T|| (the estimator's norm); -1 if not computed.
  double error_estimate = -1;
  bool converged = true;  ///< adaptive mode: the tolerance was met
  /// Phases: "sketch", "qr", "estimate" (range finder), "project" (A^T Q), "svd" (small dense
  /// SVD), "assemble" (U and V).
  PhaseTimer timings;
};

template <class T>
struct EigResult {
  DistMatrix<T> vectors;  ///< n x k, orthonormal columns, laid out like A's rows
  std::vector<T> values;  ///< k eigenvalues (evd: by decreasing magnitude; nystrom: decreasing)
  index_type rank = 0;
  index_type matvecs = 0;
  double error_estimate = -1;  ///< posterior estimate of ||A - Q diag(lambda) Q^T||
  bool converged = true;
  /// Nystrom: the shift nu added and removed for stability.
  double shift = 0;
  PhaseTimer timings;
};

/// Randomized SVD (Halko, Martinsson & Tropp 2011, Alg. 5.1 on top of Alg. 4.4, or of the adaptive
/// range finder when options.tolerance > 0): Q from the range finder (m x l), B^T = A^T Q (n x l),
/// B^T = Q2 R2 (tall-skinny QR), R2^T = U_r S V_r^T (l x l host SVD), U = Q U_r, V = Q2 V_r,
/// truncated to the k leading triplets (no truncation in adaptive mode).
/// Guarantee: ||A - U S V^T||_2 <= ||(I - Q Q^T) A||_2 + sigma_{k+1}(Q^T A), the first term bounded
/// as in range_finder.hpp (HMT Thm. 10.6 / Cor. 10.10; eq. (4.3) in adaptive mode); with
/// error_probes = r > 0 the result carries a posterior estimate of ||A - U S V^T|| itself.
/// Cost: the range finder + l products with A^T + one n x l QR + O(l^3) host work + 2 (m + n) l k
/// flops + r products for the estimate. Collective for distributed operators. Throws as the range
/// finder, Unsupported if the operator has no transpose product.
template <class T>
SvdResult<T> randomized_svd(const ExecSpace& exec, const LinearOperator<T>& a,
                            const LowRankOptions& options);

/// The same for a block-row distributed matrix (through DistDenseOperator, columns balanced).
template <class T>
SvdResult<T> randomized_svd(const ExecSpace& exec, const DistMatrix<T>& a,
                            const LowRankOptions& options);

/// Randomized eigendecomposition of a symmetric operator (HMT Alg. 5.3): Q from the range finder
/// (products with A only, A^T = A), B = Q^T A Q (l products + an l x l allreduce), B = W L W^T
/// (host LAPACK), Q <- Q W, keeping the k eigenpairs of largest |lambda|.
/// Guarantee: ||A - Q L Q^T||_2 <= 2 ||(I - Q Q^T) A||_2 + |lambda_{k+1}(B)| (HMT Sec. 5.3), the
/// first term bounded as for the range finder. Requires rows() == cols() and equal row and column
/// layouts (ShapeMismatch otherwise). Symmetry itself is the caller's promise (not checked).
/// Cost: the range finder + l products + 2 n l^2 + O(l^3) flops + r products for the estimate.
template <class T>
EigResult<T> randomized_symmetric_eig(const ExecSpace& exec, const LinearOperator<T>& a,
                                      const LowRankOptions& options);

/// Nystrom approximation of a positive semidefinite operator with the stabilizing shift (Tropp,
/// Yurtsever, Udell & Cevher, SIMAX 2017, "Fixed-rank approximation of a positive-semidefinite
/// matrix from streaming data", Alg. 3): Omega (n x l) Gaussian, orthonormalized; Y = A Omega;
/// nu = sqrt(n) eps(||Y||_2); Y_nu = Y + nu Omega; C = chol(Omega^T Y_nu) (upper, symmetrized);
/// E = Y_nu C^{-1}; E = U Sigma V^T (thin SVD through a tall-skinny QR); lambda = max(0,
/// Sigma^2 - nu). Keeps the k leading eigenpairs of the l computed.
/// Guarantee (Tropp et al. Thm. 4.1, Gaussian Omega, p >= 2, before truncation):
///   E ||A - A_nys||_* <= (1 + k / (p - 1)) * sum_{j > k} lambda_j (nuclear norm),
/// up to the O(nu) perturbation of the shift. Power iterations and adaptive ranks are not part of
/// this algorithm (InvalidArgument if requested). Requires a square operator with equal layouts;
/// throws NumericalError if the Cholesky factor fails (A is not positive semidefinite).
/// Cost: l products with A, two tall-skinny QRs of n x l, 4 n l^2 + O(l^3) flops, r products for
/// the estimate.
template <class T>
EigResult<T> nystrom(const ExecSpace& exec, const LinearOperator<T>& a,
                     const LowRankOptions& options);

#define STRATA_LOW_RANK_DECLARE(T)                                                           \
  extern template SvdResult<T> randomized_svd<T>(const ExecSpace&, const LinearOperator<T>&, \
                                                 const LowRankOptions&);                     \
  extern template SvdResult<T> randomized_svd<T>(const ExecSpace&, const DistMatrix<T>&,     \
                                                 const LowRankOptions&);                     \
  extern template EigResult<T> randomized_symmetric_eig<T>(                                  \
      const ExecSpace&, const LinearOperator<T>&, const LowRankOptions&);                    \
  extern template EigResult<T> nystrom<T>(const ExecSpace&, const LinearOperator<T>&,        \
                                          const LowRankOptions&);
STRATA_LOW_RANK_DECLARE(float)
STRATA_LOW_RANK_DECLARE(double)
#undef STRATA_LOW_RANK_DECLARE

}  // namespace strata::sketch
