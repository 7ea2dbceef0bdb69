// The polar factor in bfloat16: bf16 storage of every matrix, GEMMs with fp32 accumulation
// (tensor cores on CUDA), scalars and norms in double. The setting of Muon-type optimizers and of
// the Polar Express paper's GPU experiments. bf16 storage exists in every build (on CUDA, HIP and
// SYCL Kokkos' type, elsewhere Strata's; see kokkos_ext/scalar.hpp); on the host the GEMMs run in
// fp32 on converted copies.
//
// Both entry points run the batched iteration of batched.hpp (one matrix is a batch of one), so
// the stopping rules, schedules and error reporting are those of polar_factor. The stopping rule
// places bf16's rounding floor with a unit roundoff of 2^-9 (bf16 has 8 significand bits, so
// 2^-8 would be the textbook value; the smaller value keeps the iteration going a little longer).
#pragma once

#include "strata/linalg/mixed_gemm.hpp"
#include "strata/polar/batched.hpp"
#include "strata/polar/newton_schulz.hpp"

namespace strata::polar {

/// Whether this build can run bf16 iterations (always, since bf16 storage exists everywhere).
constexpr bool bf16_available() {
  return kx::has_bf16;
}

/// Q = polar(A) for bf16 A (m x n, any aspect ratio; Q m x n, not aliasing A), same options as
/// polar_factor. The attainable orthogonality is set by bf16 rounding (unit roundoff 2^-8):
/// ||Q^T Q - I||_F of order sqrt(n) 2^-8, so use fixed steps or a tolerance above that floor.
IterationResult polar_factor_bf16(const ExecSpace& exec, const ConstMatrix<kx::bf16>& a,
                                  const Matrix<kx::bf16>& q, const IterationOptions& options = {});

/// Q_i = polar(A_i) for a bf16 batch A of shape (m, n, batch) (LayoutLeft, each matrix contiguous;
/// non-square shapes such as 128 x (4096 x 1024) included): every product is one strided batched
/// GEMM with fp32 accumulation (cublasGemmStridedBatchedEx on CUDA), every elementwise step one
/// kernel for the whole batch. Same options, stopping rules and errors as polar_factor_batched;
/// the attainable orthogonality is that of polar_factor_bf16.
BatchedIterationResult polar_factor_batched_bf16(const ExecSpace& exec,
                                                 const ConstBatch<kx::bf16>& a,
                                                 const Batch<kx::bf16>& q,
                                                 const IterationOptions& options = {});

}  // namespace strata::polar
