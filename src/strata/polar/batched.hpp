// Polar factors of many same-shape matrices in one call. Every step is a fixed sequence of batched
// kernels for the whole batch (strided batched GEMMs, one elementwise kernel, one team reduction),
// never a loop of per-matrix launches on a GPU.
#pragma once

#include <vector>

#include "strata/linalg/batched_gemm.hpp"
#include "strata/polar/newton_schulz.hpp"

namespace strata::polar {

struct BatchedIterationResult {
  int iterations = 0;
  std::vector<double> errors;  ///< final ||Q_i^T Q_i - I||_F per matrix
  double max_error = 0;
  std::vector<double> max_error_history;  ///< max over the batch, entering each step
  bool converged = true;  ///< false: stopped short of the tolerance (throw_if_not_converged off)
  PhaseTimer timings;
};

/// Q_i = polar(A_i) for A of shape (m, n, batch) (LayoutLeft: each matrix contiguous,
/// column-major). Same options and stopping rules as polar_factor; a tolerance must be met by every
/// matrix. Each matrix is scaled by its own Frobenius norm. Throws if any matrix is zero or has
/// NaN/Inf.
template <class T>
BatchedIterationResult polar_factor_batched(const ExecSpace& exec, const ConstBatch<T>& a,
                                            const Batch<T>& q,
                                            const IterationOptions& options = {});

extern template BatchedIterationResult polar_factor_batched<float>(const ExecSpace&,
                                                                   const ConstBatch<float>&,
                                                                   const Batch<float>&,
                                                                   const IterationOptions&);
extern template BatchedIterationResult polar_factor_batched<double>(const ExecSpace&,
                                                                    const ConstBatch<double>&,
                                                                    const Batch<double>&,
                                                                    const IterationOptions&);

}  // namespace strata::polar
