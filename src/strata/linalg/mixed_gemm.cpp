#include "strata/linalg/mixed_gemm.hpp"

#if STRATA_HAVE_BF16
#include "strata/core/checks.hpp"
#include "strata/linalg/blas.hpp"

#if defined(KOKKOS_ENABLE_CUDA)
#include "strata/linalg/detail/batched_gemm_cuda.hpp"
#endif

namespace strata::linalg {

namespace {
template <class From>
Matrix<float> to_float(const ExecSpace& exec, const From& x) {
  Matrix<float> out(
      Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::gemm_bf16::convert"),
      x.extent(0), x.extent(1));
  const auto rows = x.extent(0);
  Kokkos::parallel_for(
      "strata::linalg::gemm_bf16::convert",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, x.extent(0) * x.extent(1)),
      KOKKOS_LAMBDA(const std::size_t k) {
        out(k % rows, k / rows) = kx::from_bf16(x(k % rows, k / rows));
      });
  return out;
}
}  // namespace

void gemm_bf16(const ExecSpace& exec, char trans_a, char trans_b, float alpha,
               const ConstMatrix<kx::bf16>& a, const ConstMatrix<kx::bf16>& b, float beta,
               const Matrix<kx::bf16>& c) {
  const bool ta = trans_a == 'T' || trans_a == 't', tb = trans_b == 'T' || trans_b == 't';
  const auto m = static_cast<index_type>(ta ? a.extent(1) : a.extent(0));
  const auto k = static_cast<index_type>(ta ? a.extent(0) : a.extent(1));
  const auto kb = static_cast<index_type>(tb ? b.extent(1) : b.extent(0));
  const auto n = static_cast<index_type>(tb ? b.extent(0) : b.extent(1));
  STRATA_REQUIRE(k == kb, ShapeMismatch, "gemm_bf16: op(A) is ", m, " x ", k, " but op(B) is ", kb,
                 " x ", n);
  require_shape(c, m, n, "gemm_bf16: C");
  if (m == 0 || n == 0) return;
#if defined(KOKKOS_ENABLE_CUDA)
  if constexpr (std::is_same_v<MemSpace, Kokkos::CudaSpace>) {
    if (k > 0) {
      detail::gemm_bf16_cuda(exec.cuda_stream(), trans_a, trans_b, checked_int(m, "gemm_bf16: m"),
                             checked_int(n, "gemm_bf16: n"), checked_int(k, "gemm_bf16: k"), alpha,
                             a.data(), std::max(1, static_cast<int>(a.extent(0))), b.data(),
                             std::max(1, static_cast<int>(b.extent(0))), beta, c.data(),
                             std::max(1, static_cast<int>(c.extent(0))));
      return;
    }
  }
#endif
  const auto af = to_float(exec, a), bf = to_float(exec, b), cf = to_float(exec, c);
  const char ta_s[2] = {ta ? 'T' : 'N', 0}, tb_s[2] = {tb ? 'T' : 'N', 0};
  gemm(exec, ta_s, tb_s, alpha, af, bf, beta, cf);
  const auto rows = c.extent(0);
  Kokkos::parallel_for(
      "strata::linalg::gemm_bf16::round",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, c.extent(0) * c.extent(1)),
      KOKKOS_LAMBDA(const std::size_t i) {
        c(i % rows, i / rows) = kx::to_bf16(cf(i % rows, i / rows));
      });
}

}  // namespace strata::linalg
#endif
