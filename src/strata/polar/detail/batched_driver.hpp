// The batched polar driver shared by polar_factor_batched (fp32/fp64), the bf16 entry points and
// the batched Muon update.
#pragma once

#include "strata/core/kokkos_ext/scalar.hpp"
#include "strata/polar/batched.hpp"

namespace strata::polar::detail {

struct BatchedDriverOptions {
  /// Receives the scale of matrix 0 (its Frobenius norm times the safety factor) when non-null.
  double* first_scale = nullptr;
  /// Zero matrices give zero (error 0, ignored by the stopping rule) instead of InvalidArgument:
  /// a zero Muon update is a valid, if idle, optimizer step.
  bool zero_matrices_give_zero = false;
};

/// Q_i = polar(A_i) for a batch stored as S (float, double, or bf16 computed in fp32): checks,
/// per-matrix scaling into the tall orientation, run_iteration over strided batched products, and
/// the store back (transposing wide matrices). `what` names the caller in errors.
template <class S>
BatchedIterationResult batched_polar(const ExecSpace& exec, const ConstBatch<S>& a,
                                     const Batch<S>& q, const IterationOptions& o, const char* what,
                                     const BatchedDriverOptions& driver);

}  // namespace strata::polar::detail
