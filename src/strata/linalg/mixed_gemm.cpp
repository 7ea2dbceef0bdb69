#include "strata/linalg/mixed_gemm.hpp"

#include "strata/core/checks.hpp"
#include "strata/linalg/blas.hpp"

#if defined(KOKKOS_ENABLE_CUDA)
#include "strata/linalg/detail/batched_gemm_cuda.hpp"
#endif

namespace strata::linalg {

namespace {
/// fp32 copy of a bf16 matrix (any strides).
Matrix<float> to_float(const ExecSpace& exec, const ConstMatrix<kx::bf16>& x) {
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

/// fp32 copy of a bf16 batch (contiguous: the layout every batched GEMM here assumes).
Batch<float> to_float(const ExecSpace& exec, const ConstBatch<kx::bf16>& x) {
  Batch<float> out(
      Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::gemm_batched_bf16::convert"),
      x.extent(0), x.extent(1), x.extent(2));
  const kx::bf16* in = x.data();
  float* values = out.data();
  Kokkos::parallel_for(
      "strata::linalg::gemm_batched_bf16::convert",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, x.size()),
      KOKKOS_LAMBDA(const std::size_t k) { values[k] = kx::from_bf16(in[k]); });
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

void gemm_batched_bf16(const ExecSpace& exec, char trans_a, char trans_b, float alpha,
                       const ConstBatch<kx::bf16>& a, const ConstBatch<kx::bf16>& b, float beta,
                       const Batch<kx::bf16>& c) {
  const bool ta = trans_a == 'T' || trans_a == 't', tb = trans_b == 'T' || trans_b == 't';
  const auto m = static_cast<index_type>(ta ? a.extent(1) : a.extent(0));
  const auto k = static_cast<index_type>(ta ? a.extent(0) : a.extent(1));
  const auto kb = static_cast<index_type>(tb ? b.extent(1) : b.extent(0));
  const auto n = static_cast<index_type>(tb ? b.extent(0) : b.extent(1));
  STRATA_REQUIRE(k == kb && static_cast<index_type>(c.extent(0)) == m &&
                     static_cast<index_type>(c.extent(1)) == n,
                 ShapeMismatch, "gemm_batched_bf16: op(A) is ", m, " x ", k, ", op(B) is ", kb,
                 " x ", n, ", C is ", c.extent(0), " x ", c.extent(1), "; shapes do not fit");
  STRATA_REQUIRE(a.extent(2) == c.extent(2) && b.extent(2) == c.extent(2), ShapeMismatch,
                 "gemm_batched_bf16: batch sizes differ (A ", a.extent(2), ", B ", b.extent(2),
                 ", C ", c.extent(2), ")");
  if (c.size() == 0) return;
#if defined(KOKKOS_ENABLE_CUDA)
  if constexpr (std::is_same_v<MemSpace, Kokkos::CudaSpace>) {
    if (k > 0) {
      detail::gemm_strided_batched_bf16_cuda(
          exec.cuda_stream(), trans_a, trans_b, checked_int(m, "gemm_batched_bf16: m"),
          checked_int(n, "gemm_batched_bf16: n"), checked_int(k, "gemm_batched_bf16: k"), alpha,
          a.data(), std::max(1, static_cast<int>(a.extent(0))),
          static_cast<long long>(a.extent(0) * a.extent(1)), b.data(),
          std::max(1, static_cast<int>(b.extent(0))),
          static_cast<long long>(b.extent(0) * b.extent(1)), beta, c.data(),
          std::max(1, static_cast<int>(c.extent(0))),
          static_cast<long long>(c.extent(0) * c.extent(1)),
          checked_int(static_cast<index_type>(c.extent(2)), "gemm_batched_bf16: batch"));
      return;
    }
  }
#endif
  const auto af = to_float(exec, a), bf = to_float(exec, b);
  // beta = 0: C is not read (BLAS semantics); a zeroed buffer keeps every backend's GEMM from
  // touching uninitialized memory.
  const Batch<float> cf = beta == 0.0f ? Batch<float>("strata::gemm_batched_bf16::C", c.extent(0),
                                                      c.extent(1), c.extent(2))
                                       : to_float(exec, c);
  gemm_batched<float>(exec, ta ? 'T' : 'N', tb ? 'T' : 'N', alpha, af, bf, beta, cf);
  const float* in = cf.data();
  kx::bf16* out = c.data();
  Kokkos::parallel_for(
      "strata::linalg::gemm_batched_bf16::round", Kokkos::RangePolicy<ExecSpace>(exec, 0, c.size()),
      KOKKOS_LAMBDA(const std::size_t k) { out[k] = kx::to_bf16(in[k]); });
}

}  // namespace strata::linalg
