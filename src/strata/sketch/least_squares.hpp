// Overdetermined least squares min_x ||A x - b||_2 (A m x n, m >= n, full column rank) by
// randomized sketching, for one or several right-hand sides (the columns of b).
//
// A and b are block-row distributed (a DistMatrix; a local matrix is the one-rank case). The
// sketch S is a d x m operator of operator.hpp (sparse sign by default; gaussian, rademacher or
// srht on request) applied by sketch_rows: each rank multiplies its rows by the matching column
// block of S, and one allreduce of d x (n + k) sums them, so the result does not depend on the
// number of ranks (to rounding).
#pragma once

#include <vector>

#include "strata/core/progress.hpp"
#include "strata/dist/dist_matrix.hpp"
#include "strata/sketch/operator.hpp"
#include "strata/sketch/range_finder.hpp"

namespace strata::sketch {

enum class LeastSquaresMethod {
  /// Blendenpik (Avron, Maymounkov & Toledo, SISC 2010) / LSRN (Meng, Saunders & Mahoney, SISC
  /// 2014): QR of the sketch S A = Q R, then LSQR (Paige & Saunders, ACM TOMS 1982) on the
  /// well-conditioned A R^{-1}, x = R^{-1} y. Converges to the exact solution; for a Gaussian S
  /// with d = gamma n rows, cond(A R^{-1}) <= (1 + 1/sqrt(gamma)) / (1 - 1/sqrt(gamma)) with high
  /// probability for large n (LSRN Thm. 4.4 / Marchenko-Pastur), so LSQR gains a factor about
  /// 1/sqrt(gamma) per iteration whatever cond(A) is.
  sketch_and_precondition,
  /// x = argmin ||S A x - S b|| (Householder QR of S A on the host). One pass over A; residual
  /// ||A x - b|| <= (1 + eps) min ||A x - b|| with eps ~ sqrt(n / d) (Sarlos 2006; Woodruff 2014,
  /// Thm. 2.14), not the exact solution.
  sketch_and_solve,
};

struct LeastSquaresOptions {
  LeastSquaresMethod method = LeastSquaresMethod::sketch_and_precondition;
  /// The sketching operator S (d x m). The default, sparse sign with 8 nonzeros per column and
  /// d = 4n (LSRN / Blendenpik-style sparse embedding: Meng & Mahoney 2013, Clarkson & Woodruff
  /// 2013), was the fastest at equal accuracy measured on CPU (Serial, 100000 x 200 Gaussian A,
  /// `strata sketch lstsq`): sketch 0.28 s / 38 LSQR iterations / 2.5 s total, against srht 0.36 s
  /// / 38 / 2.5 s and gaussian (d = 2n) 4.1 s / 64 / 8.0 s; the same residual to 14 digits. Its
  /// sketch costs 2 nnz m n flops (gaussian: 2 d m n); srht m log2(m) n adds (Blendenpik).
  /// hadamard (d = padded m) is rejected.
  OperatorKind sketch_operator = OperatorKind::sparse_sign;
  /// sparse_sign: nonzeros per column of S, capped at d.
  index_type sparse_nnz = 8;
  /// Sketch rows d (>= n). 0: sketch_and_precondition: 4n for sparse sign and srht (their cheap
  /// sketch makes the better conditioning of gamma = 4, about 1/2 per LSQR iteration, a net
  /// gain), 2n for gaussian/rademacher (LSRN's choice: cond(A R^{-1}) <~ 5.8);
  /// sketch_and_solve: 4n (eps ~ 1/2). srht: capped at the padded m.
  index_type sketch_rows = 0;
  /// LSQR stopping tolerances (Paige & Saunders Sec. 6): stop when
  ///   ||r|| <= btol ||b|| + atol ||A R^-1|| ||y||        (a compatible system), or
  ///   ||(A R^-1)^T r|| <= atol ||A R^-1|| ||r||           (a least-squares solution),
  /// with the norms estimated by LSQR's recurrences. 0: 10 eps(T).
  double atol = 0;
  double btol = 0;
  /// LSQR iteration limit (>= 1). With gamma = 2 LSQR needs about 100 iterations to reach
  /// double precision, so the default leaves a wide margin.
  int max_iterations = 1000;
  /// Only the seed and stream are used (S = {sketch_operator, d, m, seed, stream, sparse_nnz}).
  TestMatrixOptions test_matrix;
};

template <class T>
struct LeastSquaresResult {
  Matrix<T> x;         ///< n x k solution, replicated on every rank
  int iterations = 0;  ///< LSQR iterations (0 for sketch_and_solve)
  index_type sketch_rows = 0;
  index_type matvecs = 0;  ///< products with A or A^T with one vector (the sketch counts d)
  std::vector<double> residual_norm;         ///< ||A x_j - b_j|| per right-hand side, recomputed
  std::vector<double> normal_residual_norm;  ///< ||A^T (A x_j - b_j)|| per right-hand side
  std::vector<bool> column_converged;        ///< LSQR stopping test met, per right-hand side
  bool converged = true;                     ///< all right-hand sides (sketch_and_solve: true)
  /// LSQR's estimate of cond(A R^{-1}) (largest over right-hand sides); 0 for sketch_and_solve.
  double preconditioned_condition = 0;
  /// Phases: "sketch" (S A and S b), "factor" (host QR), "iterate" (LSQR), "residual".
  PhaseTimer timings;
};

/// Solves min ||A X - B||_F column by column. A: m x n DistMatrix with m >= n; B: m x k with the
/// same row layout. Collective. Throws ShapeMismatch (m < n, B's rows or layout differ from A's),
/// InvalidArgument (d < n, negative tolerances, the hadamard operator, srht with d above the
/// padded m), NonFiniteInput (NaN/Inf in A or B), NumericalError (A numerically rank deficient:
/// the sketch's R is singular to working precision).
/// Cost: the sketch S [A B]: 2 nnz m (n + k) flops for sparse sign, m log2(m) (n + k) adds for
/// srht, 2 d m (n + k) flops plus generating S for gaussian/rademacher; one d x (n + k)
/// allreduce; host QR of d x n (2 d n^2); LSQR 4 m n k + 4 n^2 k flops and one n x k allreduce
/// per iteration.
template <class T>
LeastSquaresResult<T> least_squares(const ExecSpace& exec, const DistMatrix<T>& a,
                                    const DistMatrix<T>& b,
                                    const LeastSquaresOptions& options = {});

/// The same for A and B held whole on this rank (no communication).
template <class T>
LeastSquaresResult<T> least_squares(const ExecSpace& exec, const ConstMatrix<T>& a,
                                    const ConstMatrix<T>& b,
                                    const LeastSquaresOptions& options = {});

#define STRATA_LEAST_SQUARES_DECLARE(T)                                                          \
  extern template LeastSquaresResult<T> least_squares<T>(                                        \
      const ExecSpace&, const DistMatrix<T>&, const DistMatrix<T>&, const LeastSquaresOptions&); \
  extern template LeastSquaresResult<T> least_squares<T>(                                        \
      const ExecSpace&, const ConstMatrix<T>&, const ConstMatrix<T>&, const LeastSquaresOptions&);
STRATA_LEAST_SQUARES_DECLARE(float)
STRATA_LEAST_SQUARES_DECLARE(double)
#undef STRATA_LEAST_SQUARES_DECLARE

}  // namespace strata::sketch
