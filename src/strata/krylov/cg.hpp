// Preconditioned conjugate gradients for symmetric positive definite operators.
#pragma once

#include "strata/dist/linear_operator.hpp"
#include "strata/krylov/krylov.hpp"

namespace strata::krylov {

/// Solves A x = b for symmetric positive definite A by preconditioned CG (Hestenes & Stiefel 1952;
/// Saad, "Iterative Methods for Sparse Linear Systems", 2nd ed., Alg. 9.1), `preconditioner`
/// applying M^{-1} for a symmetric positive definite M (e.g. hss::HssOperator in inverse mode with
/// the SPD ULV variant). With M^{-1} = A^{-1} it converges in one iteration.
///
/// Breakdowns are detected, never divided by: p^T A p <= 0 stops the column with
/// StopReason::indefinite (A is not positive definite), r^T M^{-1} r <= 0 with
/// preconditioner_indefinite. When the updated residual meets the tolerance the true residual
/// b - A x is recomputed (one product); if it misses the tolerance the iteration continues from the
/// true residual (residual replacement, restarting the search direction), and stops with
/// StopReason::stagnation if a replacement brought no improvement. converged is only reported
/// when the true relative residual meets options.tolerance.
///
/// b and x are n x nrhs blocks in A's layout, solved column by column (krylov.hpp); inner products
/// are summed in double and allreduced over A's communicator. options.restart and
/// options.orthogonalization are not used. Cost per iteration: one product with A, one with M^{-1},
/// 10 n flops and three allreduces of one value. Collective when A is distributed.
///
/// Throws as gmres() does (gmres.hpp).
template <class T>
KrylovResult cg(const ExecSpace& exec, const LinearOperator<T>& a,
                const LinearOperator<T>& preconditioner, const DistMatrix<T>& b,
                const DistMatrix<T>& x, const KrylovOptions& options = {});

/// Unpreconditioned CG (M = I), otherwise as above.
template <class T>
KrylovResult cg(const ExecSpace& exec, const LinearOperator<T>& a, const DistMatrix<T>& b,
                const DistMatrix<T>& x, const KrylovOptions& options = {});

#define STRATA_KRYLOV_CG_DECLARE(T)                                                  \
  extern template KrylovResult cg<T>(const ExecSpace&, const LinearOperator<T>&,     \
                                     const LinearOperator<T>&, const DistMatrix<T>&, \
                                     const DistMatrix<T>&, const KrylovOptions&);    \
  extern template KrylovResult cg<T>(const ExecSpace&, const LinearOperator<T>&,     \
                                     const DistMatrix<T>&, const DistMatrix<T>&,     \
                                     const KrylovOptions&);
STRATA_KRYLOV_CG_DECLARE(float)
STRATA_KRYLOV_CG_DECLARE(double)
#undef STRATA_KRYLOV_CG_DECLARE

}  // namespace strata::krylov
