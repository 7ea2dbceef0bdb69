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
};

/// One Muon step on weight W (m x n) with gradient G and momentum buffer B (both m x n, B updated
/// in place). Returns the orthogonalization's result. A zero update (e.g. a zero gradient on the
/// first step) leaves W changed by weight decay only. Cost: one polar iteration plus O(m n)
/// elementwise work.
template <class T>
IterationResult muon_update(const ExecSpace& exec, const Matrix<T>& weight,
                            const ConstMatrix<T>& gradient, const Matrix<T>& momentum,
                            const MuonOptions& options = {});

extern template IterationResult muon_update<float>(const ExecSpace&, const Matrix<float>&,
                                                   const ConstMatrix<float>&, const Matrix<float>&,
                                                   const MuonOptions&);
extern template IterationResult muon_update<double>(const ExecSpace&, const Matrix<double>&,
                                                    const ConstMatrix<double>&,
                                                    const Matrix<double>&, const MuonOptions&);

}  // namespace strata::polar
