// GEMM on bfloat16 storage with fp32 accumulation (the arithmetic of tensor-core bf16 GEMMs).
// Available where Kokkos has a real bf16 type (see kokkos_ext/scalar.hpp: STRATA_HAVE_BF16).
#pragma once

#include "strata/core/kokkos_ext/scalar.hpp"
#include "strata/core/types.hpp"

#if STRATA_HAVE_BF16
namespace strata::linalg {

/// C = alpha op(A) op(B) + beta C, bf16 in and out, products summed in fp32 and rounded once. CUDA:
/// cublasGemmEx (tensor cores); other backends: fp32 copies, an fp32 GEMM, and rounding to bf16.
void gemm_bf16(const ExecSpace& exec, char trans_a, char trans_b, float alpha,
               const ConstMatrix<kx::bf16>& a, const ConstMatrix<kx::bf16>& b, float beta,
               const Matrix<kx::bf16>& c);

}  // namespace strata::linalg
#endif
