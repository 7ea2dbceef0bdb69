// QR factorization of tall-skinny block-row distributed matrices: the orthonormalization under the
// randomized range finder, SVD, Nystrom, Hutch++ and least squares drivers.
#pragma once

#include "strata/dist/dist_matrix.hpp"

namespace strata {

enum class TallSkinnyQrMethod {
  /// CholeskyQR2 (Yamamoto, Nakatsukasa, Yanagisawa & Fukaya, ETNA 2015): R1 = chol(X^T X),
  /// X <- X R1^-1, repeated once. Two GEMM-shaped passes and two k x k allreduces; orthogonal to
  /// O(u) when cond(X) < ~u^-1/2. If the first Cholesky fails or cond(X) is estimated beyond
  /// u^-1/2, it switches to shifted CholeskyQR3 (Fukaya, Kannan, Nakatsukasa, Yamamoto &
  /// Yanagisawa,
  /// SISC 2020): a first pass on X^T X + s I with s = 11 (m k + k (k + 1)) u ||X||_F^2, which
  /// is stable for cond(X) up to ~u^-1, followed by CholeskyQR2.
  cholesky_qr2,
  /// TSQR with a flat reduction tree (Demmel, Grigori, Hoemmen & Langou, SISC 2012): Householder
  /// QR of each rank's block, then of the stacked k x k R factors, and Q = Q_local Q_stack(rank).
  /// Unconditionally stable (orthogonality O(u) for any X, rank-deficient included). The local
  /// Householder QR runs in host LAPACK (a device block is staged through host memory).
  householder,
};

/// How a CholeskyQR pass forms X R^-1 (cholesky_qr2 only).
enum class InverseApply {
  /// inverse_gemm on GPU backends, triangular_solve on host backends.
  automatic,
  /// A triangular solve with R where X lives (xTRSM): backward stable row by row.
  triangular_solve,
  /// Z = R^-1 from a k x k triangular solve of the identity, then X Z by one GEMM (through a
  /// scratch copy of X). On an H100, cuBLAS' trsm of a 65536 x 266 block took ~0.8 ms against
  /// ~0.2 ms for the GEMM. With Z R = I + E (|E| = O(k u |Z| |R|)), X Z = X R^-1 (I + R E R^-1):
  /// a relative error of O(k u cond(R)^2) in the worst case where a solve's is O(k u cond(R)), so
  /// it is taken only where that cannot matter: passes whose R is within 10% of orthonormal (the
  /// Gram matrix of the pass, measured: ||G - I||_F <= 0.1, cond(R) <= 1.11, e.g. CholeskyQR2's
  /// second pass), and span_only passes whose R is not returned (orthonormalize). There the span
  /// of Q is that of X up to the GEMM's rounding, O(k u cond(X)), and its loss of orthogonality
  /// stays O(k u cond(X)^2), the order that one CholeskyQR pass loses anyway.
  inverse_gemm,
};

struct TallSkinnyQrOptions {
  TallSkinnyQrMethod method = TallSkinnyQrMethod::cholesky_qr2;
  /// cholesky_qr2 only: where a Cholesky pass fails (X numerically rank deficient, or zero), finish
  /// with householder TSQR of the block as the earlier passes left it, X_p = X R_p^-1, instead of
  /// throwing: X_p has the range of X, so Q R' = X_p gives X = Q (R' R_p). No copy of X is kept;
  /// the backward error is O(u ||X_p|| ||R_p||), and ||X_p|| = O(sqrt(k)) after any (shifted)
  /// Cholesky pass, so it stays O(u sqrt(k) ||X||).
  bool householder_fallback = false;
  /// cholesky_qr2 only: stop after the first Cholesky pass when it was the unshifted one. That
  /// pass is taken only when R's diagonal ratio (a lower estimate of cond(X)) is below 0.1 u^-1/2,
  /// so Q = X R^-1 spans range(X) with ||Q^T Q - I||_2 = O(cond(X)^2 u) but is not orthonormal to
  /// O(u). For the intermediate bases of subspace iteration, where only the span and a bounded
  /// condition number matter (the last basis is always orthonormalized in full); an input that
  /// needs the shifted pass still gets all three passes. TallSkinnyQrResult::passes is then 1.
  bool span_only = false;
  /// How X R^-1 is formed where that choice is safe (see InverseApply).
  InverseApply inverse_apply = InverseApply::automatic;
};

struct TallSkinnyQrResult {
  /// Whether the shifted first pass was needed (cholesky_qr2 only).
  bool shifted = false;
  /// Number of Cholesky passes (2 or 3) or 1 for householder; with householder_fallback, the
  /// successful Cholesky passes plus 1 for the TSQR that finished.
  int passes = 0;
  /// Whether householder_fallback finished the factorization.
  bool fell_back = false;
  /// Cholesky passes that formed X R^-1 by the explicit inverse and a GEMM (InverseApply).
  int inverse_passes = 0;
};

/// X = Q R in place: on return X holds Q (global_rows x k, orthonormal columns) and, if r is not
/// empty, r (k x k, replicated on every rank) holds the upper triangular R. Requires
/// global_rows >= k. Collective over x.comm(). Throws NumericalError (on every rank) if X is
/// numerically rank deficient for cholesky_qr2 even after the shift; householder never fails for
/// finite input; with householder_fallback, cholesky_qr2 does not fail either. Cost: cholesky_qr2 4
/// m k^2 / P flops (+2 m k^2/P for the shifted pass), two or three k x k allreduces; householder 4
/// m k^2 / P flops plus a gather of P k x k factors.
template <class T>
TallSkinnyQrResult tall_skinny_qr(const ExecSpace& exec, const DistMatrix<T>& x, const Matrix<T>& r,
                                  const TallSkinnyQrOptions& options = {});

/// Replaces X by an orthonormal basis of its range (tall_skinny_qr without R).
template <class T>
TallSkinnyQrResult orthonormalize(const ExecSpace& exec, const DistMatrix<T>& x,
                                  const TallSkinnyQrOptions& options = {});

#define STRATA_TALL_SKINNY_QR_DECLARE(T)                                                       \
  extern template TallSkinnyQrResult tall_skinny_qr<T>(                                        \
      const ExecSpace&, const DistMatrix<T>&, const Matrix<T>&, const TallSkinnyQrOptions&);   \
  extern template TallSkinnyQrResult orthonormalize<T>(const ExecSpace&, const DistMatrix<T>&, \
                                                       const TallSkinnyQrOptions&);
STRATA_TALL_SKINNY_QR_DECLARE(float)
STRATA_TALL_SKINNY_QR_DECLARE(double)
#undef STRATA_TALL_SKINNY_QR_DECLARE

}  // namespace strata
