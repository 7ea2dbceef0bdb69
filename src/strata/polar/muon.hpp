// The Muon optimizer update for one weight matrix, for training codes written in C++.
//
// Follows the reference implementation (K. Jordan et al., github.com/KellerJordan/Muon, muon.py,
// `muon_update` and `Muon.step`):
//   B <- beta B + (1 - beta) G                        (momentum buffer, an exponential average)
//   U  = (1 - beta) G + beta B   (Nesterov)  or  B
//   O  = orthogonalize(U)                             (polar factor by a Newton-Schulz schedule)
//   O <- O * sqrt(max(1, rows / cols))                (shape-aware scale)
//   W <- W (1 - lr * weight_decay) - lr O
// The reference orthogonalizes with 5 steps of the fixed Muon quintic; `orthogonalize` defaults to
// that and can be switched to Polar Express (PolarGrad-style updates use the same structure).
#pragma once

#include "strata/polar/batched.hpp"
#include "strata/polar/newton_schulz.hpp"

namespace strata::polar {

struct MuonOptions {
  double learning_rate = 0.02;
  double beta = 0.95;  ///< momentum
  bool nesterov = true;
  double weight_decay = 0;
  IterationOptions orthogonalize = [] {
    IterationOptions o;
    o.method = Method::muon;
    o.steps = 5;
    o.safety = 1.0;  // the reference scales by ||U||_F alone
    o.report_error = false;
    return o;
  }();
  /// Orthogonalize in bf16 storage with fp32 accumulation, as the reference does
  /// (`X = G.bfloat16()`); the momentum, the weights and the update stay in T.
  bool bf16 = false;
};

/// One Muon step on weight W (m x n) with gradient G and momentum buffer B (both m x n, B updated
/// in place). Returns the orthogonalization's result. A zero update (e.g. a zero gradient on the
/// first step) leaves W changed by weight decay only. Cost: one polar iteration plus O(m n)
/// elementwise work.
template <class T>
IterationResult muon_update(const ExecSpace& exec, const Matrix<T>& weight,
                            const ConstMatrix<T>& gradient, const Matrix<T>& momentum,
                            const MuonOptions& options = {});

/// One Muon step on a batch of same-shape weights W_i (m x n x batch, LayoutLeft) with gradients
/// G_i and momentum buffers B_i (same shape, B updated in place): the per-matrix formulas of
/// muon_update, with one batched polar iteration for the whole batch (polar_factor_batched, or its
/// bf16 form with options.bf16) and one kernel for each elementwise step. A zero update matrix
/// leaves its W_i changed by weight decay only (its error is reported as 0).
template <class T>
BatchedIterationResult muon_update_batched(const ExecSpace& exec, const Batch<T>& weight,
                                           const ConstBatch<T>& gradient, const Batch<T>& momentum,
                                           const MuonOptions& options = {});

extern template IterationResult muon_update<float>(const ExecSpace&, const Matrix<float>&,
                                                   const ConstMatrix<float>&, const Matrix<float>&,
                                                   const MuonOptions&);
extern template IterationResult muon_update<double>(const ExecSpace&, const Matrix<double>&,
                                                    const ConstMatrix<double>&,
                                                    const Matrix<double>&, const MuonOptions&);

extern template BatchedIterationResult muon_update_batched<float>(const ExecSpace&,
                                                                  const Batch<float>&,
                                                                  const ConstBatch<float>&,
                                                                  const Batch<float>&,
                                                                  const MuonOptions&);
extern template BatchedIterationResult muon_update_batched<double>(const ExecSpace&,
                                                                   const Batch<double>&,
                                                                   const ConstBatch<double>&,
                                                                   const Batch<double>&,
                                                                   const MuonOptions&);

}  // namespace strata::polar
