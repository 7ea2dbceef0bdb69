// The polar factor in bfloat16: bf16 storage of every matrix, GEMMs with fp32 accumulation
// (tensor cores on CUDA), scalars and norms in double. The setting of Muon-type optimizers and of
// the Polar Express paper's GPU experiments. Available where STRATA_HAVE_BF16 is 1 (Kokkos >= 3.7
// with a backend that has a real bf16 type); elsewhere callers get Unsupported.
#pragma once

#include "strata/linalg/mixed_gemm.hpp"
#include "strata/polar/newton_schulz.hpp"

namespace strata::polar {

/// Whether this build can run bf16 iterations.
constexpr bool bf16_available() {
  return kx::has_bf16;
}

#if STRATA_HAVE_BF16
/// Q = polar(A) for bf16 A (m x n, any aspect ratio; Q m x n, not aliasing A), same options as
/// polar_factor. The attainable orthogonality is set by bf16 rounding (unit roundoff 2^-9):
/// ||Q^T Q - I||_F of order sqrt(n) 2^-8, so use fixed steps or a tolerance above that floor.
IterationResult polar_factor_bf16(const ExecSpace& exec, const ConstMatrix<kx::bf16>& a,
                                  const Matrix<kx::bf16>& q, const IterationOptions& options = {});
#endif

}  // namespace strata::polar
