// Matrix functions from matrix products only: the polar factor, the matrix sign, square roots and
// inverse square roots, by Newton-Schulz-type iterations X <- p_t(X) driven by a Schedule
// (Polar Express, classical Newton-Schulz or the Muon quintic; see schedule.hpp).
//
// Each step of the polar iteration on a tall m x n X (m >= n) costs three GEMMs:
//   G = X^T X (2 m n^2 flops; a local GEMM plus one n x n allreduce when X is distributed),
//   B = a I + b G + c G^2 (2 n^3), X <- X B (2 m n^2).
// Wide inputs are transposed (polar(A^T) = polar(A)^T). The Gram matrix G of each step also gives
// the orthogonality error ||X^T X - I||_F of the current iterate at no extra cost, which is what
// the tolerance-driven stopping rule uses.
#pragma once

#include <vector>

#include "strata/core/progress.hpp"
#include "strata/dist/dist_matrix.hpp"
#include "strata/polar/schedule.hpp"

namespace strata::polar {

enum class Scaling {
  /// X_0 = A / (safety * ||A||_F): one pass over A; ||A||_F >= ||A||_2, so the singular values of
  /// X_0
  /// are <= 1, but they can be up to sqrt(rank) times smaller than needed, costing iterations.
  frobenius,
  /// X_0 = A / (safety * sigma), sigma from `power_iterations` steps of the power method on A^T A
  /// (2 products with A each): a tighter scale that saves iterations on matrices whose singular
  /// values are spread out. The estimate is a lower bound on ||A||_2; the safety margin (and the
  /// schedules' tolerance of singular values slightly above 1) absorb the gap.
  spectral_estimate,
};

struct IterationOptions {
  Method method = Method::polar_express;
  int degree = 5;
  /// Assumed lower bound on the singular values (eigenvalue magnitudes for sign) of the scaled
  /// input.
  double lower = 1e-3;
  /// Fixed number of steps (the ML setting). 0: iterate until `tolerance`.
  int steps = 0;
  /// Stop once the orthogonality error (||X^T X - I||_F for polar, ||X^2 - I||_F for sign,
  /// ||Z Y - I||_F for square roots) is <= tolerance. 0 with steps = 0: 10 sqrt(n) eps(T).
  double tolerance = 0;
  int max_steps = 60;
  double cushion = 0.02407327424182761;
  double safety = 1.01;  ///< schedule safety factor, also the margin of the input scaling
  Scaling scaling = Scaling::frobenius;
  int power_iterations = 8;
  /// Report the final error in fixed-step mode (one more Gram product).
  bool report_error = true;
  /// Tolerance mode: throw NumericalError when the tolerance (or, with tolerance 0, working
  /// precision) cannot be reached, by stagnation at the rounding floor or within max_steps. False:
  /// stop there and return the iterate with IterationResult::converged = false.
  bool throw_if_not_converged = true;
};

struct IterationResult {
  int iterations = 0;
  double error = 0;  ///< final orthogonality error (see IterationOptions::tolerance)
  std::vector<double> error_history;  ///< error of the iterate entering each step
  double scale = 0;                   ///< the input was divided by this
  /// False when the iteration stopped short of its tolerance (see throw_if_not_converged).
  bool converged = true;
  PhaseTimer timings;
};

/// Polar factor Q of A (m x n, any aspect ratio): A = Q H with Q having orthonormal columns (m >=
/// n) or rows (m < n) and H symmetric positive semidefinite. Q must be m x n and may not alias A.
/// If `hermitian` is non-null (n x n) it receives H = Q^T A (for m >= n).
/// The input is scaled without overflow or underflow (entries anywhere in the floating-point range,
/// subnormal ones included). Throws NonFiniteInput, InvalidArgument (zero or empty A),
/// NumericalError (divergence, no convergence within max_steps, or, in tolerance mode, an input
/// that is rank deficient to working precision: its polar factor is not unique).
template <class T>
IterationResult polar_factor(const ExecSpace& exec, const ConstMatrix<T>& a, const Matrix<T>& q,
                             const IterationOptions& options = {}, const Matrix<T>& hermitian = {});

/// Distributed tall-skinny polar factor: A block-row distributed with global rows >= cols. Each
/// step is a local GEMM, one allreduce of the n x n Gram matrix, and a local GEMM; the result is
/// the same as on one rank up to rounding. Collective.
template <class T>
IterationResult polar_factor(const ExecSpace& exec, const DistMatrix<T>& a, const DistMatrix<T>& q,
                             const IterationOptions& options = {});

/// Matrix sign of a square A with real spectrum away from 0 (sign(A) = A (A^2)^{-1/2}): the
/// polar iteration with X^2 in place of the Gram matrix. S must be n x n.
template <class T>
IterationResult matrix_sign(const ExecSpace& exec, const ConstMatrix<T>& a, const Matrix<T>& s,
                            const IterationOptions& options = {});

/// Square root and inverse square root of a symmetric positive definite A by the coupled
/// iteration Y <- Y h_t(Z Y), Z <- h_t(Z Y) Z from Y_0 = A / s, Z_0 = I, with p_t(x) = x h_t(x^2)
/// the steps of the schedule (Polar Express accelerates it exactly as it does the polar factor:
/// the iteration is the sign iteration of [[0, A], [I, 0]]). `lower` bounds sqrt(lambda_min / s).
/// Either output may be empty (not wanted). A non-SPD input makes the iteration diverge; that is
/// detected and reported as NumericalError.
template <class T>
IterationResult sqrt_and_inverse_sqrt(const ExecSpace& exec, const ConstMatrix<T>& a,
                                      const Matrix<T>& sqrt_a, const Matrix<T>& inverse_sqrt_a,
                                      const IterationOptions& options = {});

/// Inverse p-th root A^{-1/p} of a symmetric positive definite A (p >= 1), as used by Shampoo-type
/// preconditioners, by the coupled Newton iteration of Guo & Higham (SIAM J. Matrix Anal. Appl. 28,
/// 2006, eq. (3.7)): X_0 = I / c, M_0 = A / c^p with c^p = ||A||_F, then T = ((p + 1) I - M) / p,
/// X <- X T, M <- T^p M until ||M - I||_F is at the tolerance (or working precision). Cost per
/// step: p + 1 GEMMs of n x n. Converges for every SPD A (the eigenvalues of M_0 lie in (0, 1]),
/// quickly once they are near 1 (quadratically) and linearly, by a factor ~e per step, while they
/// are small. The schedule options of IterationOptions are not used.
template <class T>
IterationResult inverse_pth_root(const ExecSpace& exec, const ConstMatrix<T>& a, int p,
                                 const Matrix<T>& root, const IterationOptions& options = {});

#define STRATA_POLAR_DECLARE(T)                                                                   \
  extern template IterationResult polar_factor<T>(const ExecSpace&, const ConstMatrix<T>&,        \
                                                  const Matrix<T>&, const IterationOptions&,      \
                                                  const Matrix<T>&);                              \
  extern template IterationResult polar_factor<T>(const ExecSpace&, const DistMatrix<T>&,         \
                                                  const DistMatrix<T>&, const IterationOptions&); \
  extern template IterationResult matrix_sign<T>(const ExecSpace&, const ConstMatrix<T>&,         \
                                                 const Matrix<T>&, const IterationOptions&);      \
  extern template IterationResult sqrt_and_inverse_sqrt<T>(                                       \
      const ExecSpace&, const ConstMatrix<T>&, const Matrix<T>&, const Matrix<T>&,                \
      const IterationOptions&);                                                                   \
  extern template IterationResult inverse_pth_root<T>(                                            \
      const ExecSpace&, const ConstMatrix<T>&, int, const Matrix<T>&, const IterationOptions&);
STRATA_POLAR_DECLARE(float)
STRATA_POLAR_DECLARE(double)
#undef STRATA_POLAR_DECLARE

}  // namespace strata::polar
