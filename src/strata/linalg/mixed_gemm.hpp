// GEMM on bfloat16 storage with fp32 accumulation (the arithmetic of tensor-core bf16 GEMMs), for
// one matrix or a strided batch. bf16 storage exists in every build (kokkos_ext/scalar.hpp).
#pragma once

#include "strata/core/kokkos_ext/scalar.hpp"
#include "strata/core/types.hpp"
#include "strata/linalg/batched_gemm.hpp"

namespace strata::linalg {

/// C = alpha op(A) op(B) + beta C, bf16 in and out, products summed in fp32 and rounded once. CUDA:
/// cublasGemmEx (tensor cores); other backends: fp32 copies, an fp32 GEMM, and rounding to bf16.
void gemm_bf16(const ExecSpace& exec, char trans_a, char trans_b, float alpha,
               const ConstMatrix<kx::bf16>& a, const ConstMatrix<kx::bf16>& b, float beta,
               const Matrix<kx::bf16>& c);

/// C_i = alpha op(A_i) op(B_i) + beta C_i for every matrix i of bf16 batches (see
/// batched_gemm.hpp), products summed in fp32 and rounded once. CUDA: one
/// cublasGemmStridedBatchedEx (tensor cores); other backends: fp32 copies of the batches, the
/// fp32 gemm_batched, and rounding to bf16.
void gemm_batched_bf16(const ExecSpace& exec, char trans_a, char trans_b, float alpha,
                       const ConstBatch<kx::bf16>& a, const ConstBatch<kx::bf16>& b, float beta,
                       const Batch<kx::bf16>& c);

}  // namespace strata::linalg
