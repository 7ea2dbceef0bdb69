// Strided batched GEMM: C_i = alpha op(A_i) op(B_i) + beta C_i for every matrix i of a batch, as
// one call. A batch is a 3-D view (rows, cols, batch) in LayoutLeft, so each matrix is a contiguous
// column-major block (the layout of cuBLAS' strided batched GEMM).
//
// Dispatch: CUDA -> cublas<T>gemmStridedBatched on the execution space instance's stream (one
// launch for the whole batch); host memory -> one BLAS call per matrix (each uses the BLAS's own
// threads); other devices -> a Kokkos team per matrix (KokkosBatched::TeamGemm).
#pragma once

#include "strata/core/types.hpp"

namespace strata {

template <class T, class M = MemSpace>
using Batch = Kokkos::View<T***, Kokkos::LayoutLeft, M>;
template <class T, class M = MemSpace>
using ConstBatch = Kokkos::View<const T***, Kokkos::LayoutLeft, M>;

namespace linalg {

template <class T>
void gemm_batched(const ExecSpace& exec, char trans_a, char trans_b, T alpha,
                  const ConstBatch<T>& a, const ConstBatch<T>& b, T beta, const Batch<T>& c);

extern template void gemm_batched<float>(const ExecSpace&, char, char, float,
                                         const ConstBatch<float>&, const ConstBatch<float>&, float,
                                         const Batch<float>&);
extern template void gemm_batched<double>(const ExecSpace&, char, char, double,
                                          const ConstBatch<double>&, const ConstBatch<double>&,
                                          double, const Batch<double>&);

}  // namespace linalg
}  // namespace strata
