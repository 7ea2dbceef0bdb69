#include "strata/linalg/syrk.hpp"

#include <algorithm>
#include <type_traits>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/spaces.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/linalg/detail/host_gemm.hpp"
#include "strata/linalg/detail/lapack.hpp"

#if defined(KOKKOS_ENABLE_CUDA)
#include "strata/linalg/detail/batched_gemm_cuda.hpp"
#endif

namespace strata::linalg {

namespace {

/// Upper triangle of the square C from its lower one.
template <class T>
void fill_upper(const ExecSpace& exec, const Matrix<T>& c) {
  const auto n = c.extent(0);
  Kokkos::parallel_for(
      "strata::linalg::syrk::fill", Kokkos::RangePolicy<ExecSpace>(exec, 0, n * n),
      KOKKOS_LAMBDA(const std::size_t k) {
        const std::size_t i = k % n, j = k / n;
        if (i < j) c(i, j) = c(j, i);
      });
}

int leading_dimension(std::size_t stride, std::size_t rows) {
  return static_cast<int>(std::max<std::size_t>({1, stride, rows}));
}

}  // namespace

template <class T>
void syrk(const ExecSpace& exec, char trans, T alpha, const ConstMatrix<T>& a, T beta,
          const Matrix<T>& c) {
  const bool t = trans == 'T' || trans == 't';
  const auto n = static_cast<index_type>(t ? a.extent(1) : a.extent(0));
  const auto k = static_cast<index_type>(t ? a.extent(0) : a.extent(1));
  require_shape(c, n, n, "syrk: C");
  if (n == 0) return;
  const char* op_first = t ? "T" : "N";
  const char* op_second = t ? "N" : "T";
  if constexpr (kx::threaded_host<ExecSpace>) {
    gemm(exec, op_first, op_second, alpha, a, a, beta, c);
    fill_upper(exec, c);
    return;
  }
  if (k == 0) {
    // An empty product: C = beta C (gemm's BLAS semantics, beta = 0 does not read C).
    gemm(exec, op_first, op_second, alpha, a, a, beta, c);
    return;
  }
  const int in = checked_int(n, "syrk: n"), ik = checked_int(k, "syrk: k");
  const int lda = leading_dimension(a.stride(1), a.extent(0));
  const int ldc = leading_dimension(c.stride(1), c.extent(0));
#if defined(KOKKOS_ENABLE_CUDA)
  if constexpr (std::is_same_v<MemSpace, Kokkos::CudaSpace>) {
    if (k >= 8 * n) {
      // Tall-skinny (Gram matrices of sketches, CholeskyQR): cuBLAS xSYRK ran at ~8 TFLOP/s on an
      // H100 for 65536 x 266 (ncu), under half the rate of a GEMM doing twice its flops. The GEMM
      // forms both triangles; the upper one is then copied from the lower one, so C stays
      // exactly symmetric as with xSYRK.
      gemm(exec, op_first, op_second, alpha, a, a, beta, c);
      fill_upper(exec, c);
      return;
    }
    detail::syrk_cuda(exec.cuda_stream(), t ? 'T' : 'N', in, ik, alpha, a.data(), lda, beta,
                      c.data(), ldc);
    fill_upper(exec, c);
    return;
  }
#endif
  if constexpr (kx::host_accessible<MemSpace>) {
    // Kokkos Serial: the BLAS keeps its own threads (host_gemm.hpp); wait for earlier kernels.
    kx::fence(exec, "strata::linalg::syrk::host");
    const char uplo[2] = {'L', '\0'}, op[2] = {t ? 'T' : 'N', '\0'};
    lapack::syrk(uplo, op, &in, &ik, &alpha, a.data(), &lda, &beta, c.data(), &ldc);
    fill_upper(exec, c);
  } else {
    gemm(exec, op_first, op_second, alpha, a, a, beta, c);
    fill_upper(exec, c);
  }
}

#define STRATA_SYRK_INSTANTIATE(T) \
  template void syrk<T>(const ExecSpace&, char, T, const ConstMatrix<T>&, T, const Matrix<T>&);
STRATA_SYRK_INSTANTIATE(float)
STRATA_SYRK_INSTANTIATE(double)
#undef STRATA_SYRK_INSTANTIATE

}  // namespace strata::linalg
