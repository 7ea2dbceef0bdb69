// Lanczos-FA: approximations y_k ~ f(A) b from k products with a symmetric A.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "strata/core/progress.hpp"
#include "strata/dist/linear_operator.hpp"

namespace strata::sketch {

enum class MatrixFunction {
  inverse,       ///< f(x) = 1/x (Lanczos-FA is then CG started from 0)
  inverse_sqrt,  ///< f(x) = x^{-1/2}
  sqrt,          ///< f(x) = x^{1/2}
  exp,           ///< f(x) = e^x
  log,           ///< f(x) = ln x
  custom,        ///< LanczosOptions::function
};

/// "inverse", "inverse-sqrt", "sqrt", "exp", "log", "custom".
const char* matrix_function_name(MatrixFunction f);

struct LanczosOptions {
  /// Number k of Lanczos steps (= products with A), >= 1. Fewer are taken if the Krylov space
  /// becomes invariant (then y is exact up to rounding).
  int steps = 30;
  MatrixFunction function = MatrixFunction::inverse;
  /// f for MatrixFunction::custom, evaluated on the host at the k Ritz values.
  std::function<double(double)> custom;
  /// Full reorthogonalization of each new Lanczos vector against all previous ones, done twice
  /// ("twice is enough"; as the authors' code NoahAmsel/lanczos-optimality does). Costs O(n k^2)
  /// more flops and k small allreduces, and keeps the basis orthonormal to working precision, so
  /// that y_k matches the exact-arithmetic Lanczos-FA iterate.
  bool reorthogonalize = true;
};

struct LanczosResult {
  int steps = 0;                    ///< Lanczos steps taken (k, or fewer on an invariant subspace)
  index_type matvecs = 0;           ///< products with A (= steps)
  bool invariant_subspace = false;  ///< the recurrence stopped early with beta ~ 0
  double ritz_min = 0, ritz_max = 0;  ///< smallest and largest eigenvalue of T_k
  /// ||y_k - y_{k-1}||_2, computed from the small problems as ||b|| ||c_k - [c_{k-1}; 0]||, where
  /// y_j = Q_j c_j (exact for an orthonormal basis). A cheap a-posteriori convergence indicator;
  /// NaN after one step.
  double last_change = 0;
  std::vector<double> alpha, beta;  ///< the recurrence coefficients (T_k's diagonals)
  PhaseTimer timings;
};

/// y = ||b|| Q_k f(T_k) e_1 ~ f(A) b for symmetric A (Amsel, Chen, Greenbaum, Musco & Musco,
/// "Near-optimality guarantees for approximating rational matrix functions by the Lanczos method",
/// arXiv 2303.03358, eq. (1.2)), with T_k = S Theta S^T from LAPACK dstev. b and y are n x 1
/// blocks in A's layout (A's row and column layouts must agree). Guarantee (their Theorem 1) for
/// f = 1/x with spectrum in [lmin, lmax], 0 < lmin: ||A^{-1} b - y_k|| <= (lmax/lmin) min over x
/// in K_k(A, b) of ||A^{-1} b - x||; Theorems 2-3 give analogous bounds for x^{-1/2} and x^{1/2}.
/// Cost: k products with A, O(n k) vector work (O(n k^2) with reorthogonalization) and memory
/// n (k + 1) for the basis, plus O(k^3) on the host. Collective.
/// Throws ShapeMismatch (b or y not n x 1, A not square), NonFiniteInput (b), InvalidArgument
/// (steps < 1, custom without a function), NumericalError (f is NaN or Inf at a Ritz value, e.g.
/// log or sqrt of a matrix that is not positive definite).
template <class T>
LanczosResult lanczos_function(const ExecSpace& exec, const LinearOperator<T>& a,
                               const DistMatrix<T>& b, const DistMatrix<T>& y,
                               const LanczosOptions& options = {});

#define STRATA_LANCZOS_DECLARE(T)                                                               \
  extern template LanczosResult lanczos_function<T>(const ExecSpace&, const LinearOperator<T>&, \
                                                    const DistMatrix<T>&, const DistMatrix<T>&, \
                                                    const LanczosOptions&);
STRATA_LANCZOS_DECLARE(float)
STRATA_LANCZOS_DECLARE(double)
#undef STRATA_LANCZOS_DECLARE

}  // namespace strata::sketch
