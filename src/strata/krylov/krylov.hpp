// Options and results shared by the Krylov solvers of Strata (gmres.hpp, cg.hpp): iterative
// solutions of A x = b on a LinearOperator, with an optional preconditioner that is itself a
// LinearOperator applying M^{-1} (typically hss::HssOperator in inverse mode: a loosely compressed
// HSS matrix, factored by ULV, preconditioning the exact operator).
//
// Several right-hand sides (a block of nrhs columns) are solved column by column: each column runs
// its own iteration with its own convergence test, iteration count and residual history, and the
// block results are summarized over the columns. A block Krylov method would share products
// between columns; solving them one by one keeps every column's iteration identical to a
// single-vector solve, which is what the tests and the residual histories rely on.
#pragma once

#include <string>
#include <vector>

#include "strata/core/progress.hpp"
#include "strata/core/types.hpp"

namespace strata::krylov {

/// How GMRES orthogonalizes a new Krylov vector against the basis.
enum class Orthogonalization {
  /// Classical Gram-Schmidt done twice ("twice is enough", Giraud, Langou, Rozloznik, Comput.
  /// Math. Appl. 50, 2005): two block products V^T w and two allreduces per iteration, as stable as
  /// modified Gram-Schmidt with reorthogonalization.
  cgs2,
  /// Modified Gram-Schmidt: one inner product (and one allreduce) per basis vector per iteration;
  /// backward stable for GMRES (Paige, Rozloznik, Strakos, SIMAX 28, 2006).
  mgs,
};

/// Why the iteration of one right-hand side stopped.
enum class StopReason {
  converged,       ///< the true relative residual met the tolerance
  max_iterations,  ///< the iteration limit was reached first
  /// GMRES: a restart cycle did not reduce the true residual (GMRES(m) then stagnates forever, or
  /// rounding limits the attainable accuracy above the tolerance). CG: the residual recurrence
  /// met the tolerance but the recomputed residual did not improve after a residual replacement.
  stagnation,
  /// CG: p^T A p <= 0 for a search direction p: A is not positive definite.
  indefinite,
  /// CG: r^T M^{-1} r <= 0 for a residual r: the preconditioner is not positive definite.
  preconditioner_indefinite,
};

/// "converged", "max-iterations", "stagnation", "indefinite", "preconditioner-indefinite".
const char* stop_reason_name(StopReason reason);
/// "cgs2", "mgs".
const char* orthogonalization_name(Orthogonalization o);

struct KrylovOptions {
  /// Stop a column once its true relative residual ||b - A x|| / ||b|| is <= tolerance (> 0).
  /// Below about 10 eps(T) cond(A) the tolerance may be unattainable; the solver then stops with
  /// StopReason::stagnation (GMRES) or max_iterations and converged = false.
  double tolerance = 1e-8;
  /// Most iterations (products with A inside the Krylov recurrence) per column, >= 1. The true
  /// residual checks add one product per GMRES cycle and per CG residual replacement.
  int max_iterations = 1000;
  /// GMRES(m): the Krylov basis is restarted after m = restart iterations (>= 1). Memory: m + 1
  /// vectors. Not used by CG.
  int restart = 30;
  /// x holds the initial guess on entry (checked finite); false: start from x = 0 (x's entries on
  /// entry are ignored).
  bool use_initial_guess = false;
  Orthogonalization orthogonalization = Orthogonalization::cgs2;
};

/// The iteration of one right-hand side.
struct ColumnResult {
  int iterations = 0;  ///< Krylov iterations (products with A in the recurrence)
  bool converged = false;
  StopReason stop = StopReason::max_iterations;
  /// The true relative residual ||b - A x|| / ||b|| of the returned x, recomputed from a product
  /// with A (0 for b = 0, solved by x = 0).
  double relative_residual = 0;
  /// The recurrence's relative residual, the initial one first and then one per iteration: GMRES
  /// the least-squares residual |g_{j+1}| / ||b|| (with right preconditioning the residual of the
  /// unpreconditioned system, in exact arithmetic), CG ||r_j|| / ||b|| of the updated residual.
  std::vector<double> residual_history;
  /// True relative residuals: GMRES at the end of every restart cycle, CG at every residual
  /// replacement and at the end.
  std::vector<double> true_residual_history;
};

struct KrylovResult {
  int iterations = 0;            ///< the most iterations any column took
  bool converged = false;        ///< every column converged
  double relative_residual = 0;  ///< the largest true relative residual over the columns
  std::vector<ColumnResult> columns;
  index_type operator_applies = 0;        ///< products of A with one vector
  index_type preconditioner_applies = 0;  ///< products of M^{-1} with one vector
  /// Seconds per phase: "operator" (products with A), "preconditioner" (M^{-1}),
  /// "orthogonalization" (GMRES: Gram-Schmidt and norms), "update" (the small least-squares
  /// problem, vector updates, inner products outside the orthogonalization).
  PhaseTimer timings;
};

}  // namespace strata::krylov
