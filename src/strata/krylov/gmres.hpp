// Restarted GMRES(m) with right preconditioning on a LinearOperator, distributed or replicated.
#pragma once

#include "strata/dist/linear_operator.hpp"
#include "strata/krylov/krylov.hpp"

namespace strata::krylov {

/// Solves A x = b by GMRES(m) (Saad & Schultz, SISC 7, 1986; Saad, "Iterative Methods for Sparse
/// Linear Systems", 2nd ed., Alg. 9.5 for the right-preconditioned form) on A M^{-1} u = b,
/// x = M^{-1} u, where `preconditioner` applies M^{-1}. Right preconditioning minimizes the true
/// residual ||b - A x|| over x0 + M^{-1} K_j(A M^{-1}, r0), so the recurrence's residual estimate
/// is that of the original system; still, at the end of every cycle (m = options.restart
/// iterations, or earlier once the estimate meets the tolerance) the true residual b - A x is
/// recomputed with one product, and only it decides convergence: converged is never reported
/// while the true relative residual misses options.tolerance. A cycle that does not reduce the
/// true residual stops the column (StopReason::stagnation).
///
/// The Arnoldi basis is orthogonalized by CGS2 or MGS (options.orthogonalization), the Hessenberg
/// matrix reduced by Givens rotations on the host in double. b and x are n x nrhs blocks in A's
/// layout (A square with equal row and column layouts; the preconditioner likewise, with A's
/// layouts); the columns are solved one after another (krylov.hpp). Inner products are summed in
/// double and allreduced over A's communicator, so every rank takes the same decisions and the
/// iterations are those of one rank up to rounding. Collective when A is distributed.
///
/// Cost per iteration: one product with A, one with M^{-1}, O(n j) flops and two allreduces of
/// j + 1 values (CGS2; MGS: j + 1 allreduces of one value) at Arnoldi step j; per cycle one more
/// product with A and with M^{-1}. Memory: (m + 1) n + O(m^2).
///
/// Throws (on every rank) ShapeMismatch (A or M not square, b and x not n x nrhs in A's layout,
/// layouts that differ), InvalidArgument (tolerance <= 0 or not finite, max_iterations < 1,
/// restart < 1), NonFiniteInput (NaN or Inf in b, or in x with use_initial_guess), NumericalError
/// (a product with A or M^{-1} gave NaN or Inf).
template <class T>
KrylovResult gmres(const ExecSpace& exec, const LinearOperator<T>& a,
                   const LinearOperator<T>& preconditioner, const DistMatrix<T>& b,
                   const DistMatrix<T>& x, const KrylovOptions& options = {});

/// Unpreconditioned GMRES(m) (M = I), otherwise as above.
template <class T>
KrylovResult gmres(const ExecSpace& exec, const LinearOperator<T>& a, const DistMatrix<T>& b,
                   const DistMatrix<T>& x, const KrylovOptions& options = {});

#define STRATA_KRYLOV_GMRES_DECLARE(T)                                                  \
  extern template KrylovResult gmres<T>(const ExecSpace&, const LinearOperator<T>&,     \
                                        const LinearOperator<T>&, const DistMatrix<T>&, \
                                        const DistMatrix<T>&, const KrylovOptions&);    \
  extern template KrylovResult gmres<T>(const ExecSpace&, const LinearOperator<T>&,     \
                                        const DistMatrix<T>&, const DistMatrix<T>&,     \
                                        const KrylovOptions&);
STRATA_KRYLOV_GMRES_DECLARE(float)
STRATA_KRYLOV_GMRES_DECLARE(double)
#undef STRATA_KRYLOV_GMRES_DECLARE

}  // namespace strata::krylov
