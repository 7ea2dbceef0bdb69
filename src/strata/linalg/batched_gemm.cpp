#include "strata/linalg/batched_gemm.hpp"

#include <KokkosBatched_Gemm_Decl.hpp>
#include <KokkosBatched_Gemm_Team_Impl.hpp>
#include <algorithm>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/core/kokkos_ext/spaces.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/linalg/detail/host_gemm.hpp"
#include "strata/linalg/detail/lapack.hpp"

#if defined(KOKKOS_ENABLE_CUDA)
#include "strata/linalg/detail/batched_gemm_cuda.hpp"
#endif

namespace strata::linalg {

namespace {
template <class TA, class TB, class T>
void team_gemm(const ExecSpace& exec, T alpha, const ConstBatch<T>& a, const ConstBatch<T>& b,
               T beta, const Batch<T>& c) {
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  Kokkos::parallel_for(
      "strata::linalg::gemm_batched::team",
      kx::auto_team_policy(exec, static_cast<int>(c.extent(2))),
      KOKKOS_LAMBDA(const typename Policy::member_type& member) {
        const int i = member.league_rank();
        auto ai = Kokkos::subview(a, Kokkos::ALL, Kokkos::ALL, i);
        auto bi = Kokkos::subview(b, Kokkos::ALL, Kokkos::ALL, i);
        auto ci = Kokkos::subview(c, Kokkos::ALL, Kokkos::ALL, i);
        KokkosBatched::TeamGemm<typename Policy::member_type, TA, TB,
                                KokkosBatched::Algo::Gemm::Unblocked>::invoke(member, alpha, ai, bi,
                                                                              beta, ci);
      });
}
}  // namespace

template <class T>
void gemm_batched(const ExecSpace& exec, char trans_a, char trans_b, T alpha,
                  const ConstBatch<T>& a, const ConstBatch<T>& b, T beta, const Batch<T>& c) {
  const bool ta = trans_a == 'T' || trans_a == 't', tb = trans_b == 'T' || trans_b == 't';
  const auto m = static_cast<index_type>(ta ? a.extent(1) : a.extent(0));
  const auto k = static_cast<index_type>(ta ? a.extent(0) : a.extent(1));
  const auto kb = static_cast<index_type>(tb ? b.extent(1) : b.extent(0));
  const auto n = static_cast<index_type>(tb ? b.extent(0) : b.extent(1));
  STRATA_REQUIRE(k == kb && static_cast<index_type>(c.extent(0)) == m &&
                     static_cast<index_type>(c.extent(1)) == n,
                 ShapeMismatch, "gemm_batched: op(A) is ", m, " x ", k, ", op(B) is ", kb, " x ", n,
                 ", C is ", c.extent(0), " x ", c.extent(1), "; shapes do not fit");
  STRATA_REQUIRE(a.extent(2) == c.extent(2) && b.extent(2) == c.extent(2), ShapeMismatch,
                 "gemm_batched: batch sizes differ (A ", a.extent(2), ", B ", b.extent(2), ", C ",
                 c.extent(2), ")");
  if (c.size() == 0) return;
#if defined(KOKKOS_ENABLE_CUDA)
  if constexpr (std::is_same_v<MemSpace, Kokkos::CudaSpace>) {
    const int lda = std::max(1, static_cast<int>(a.extent(0))),
              ldb = std::max(1, static_cast<int>(b.extent(0)));
    const int ldc = std::max(1, static_cast<int>(c.extent(0)));
    detail::gemm_strided_batched_cuda(
        exec.cuda_stream(), trans_a, trans_b, checked_int(m, "gemm_batched: m"),
        checked_int(n, "gemm_batched: n"), checked_int(k, "gemm_batched: k"), alpha, a.data(), lda,
        static_cast<long long>(a.extent(0) * a.extent(1)), b.data(), ldb,
        static_cast<long long>(b.extent(0) * b.extent(1)), beta, c.data(), ldc,
        static_cast<long long>(c.extent(0) * c.extent(1)),
        checked_int(static_cast<index_type>(c.extent(2)), "gemm_batched: batch"));
    return;
  }
#endif
  if constexpr (kx::host_accessible<MemSpace>) {
    const char ta_s[2] = {ta ? 'T' : 'N', 0}, tb_s[2] = {tb ? 'T' : 'N', 0};
    const int count = checked_int(static_cast<index_type>(c.extent(2)), "gemm_batched: batch");
    if (k == 0 || count < kx::concurrency(exec)) {
      // Fewer matrices than threads: one after the other, each split over the threads by gemm.
      for (int i = 0; i < count; ++i) {
        gemm(exec, ta_s, tb_s, alpha, Kokkos::subview(a, Kokkos::ALL, Kokkos::ALL, i),
             Kokkos::subview(b, Kokkos::ALL, Kokkos::ALL, i), beta,
             Kokkos::subview(c, Kokkos::ALL, Kokkos::ALL, i));
      }
      return;
    }
    // The matrices in parallel over the host threads, one single-threaded BLAS call each (the
    // rule of detail/host_gemm.hpp).
    kx::fence(exec, "strata::linalg::gemm_batched::inputs");
    const int im = checked_int(m, "gemm_batched: m"), in = checked_int(n, "gemm_batched: n");
    const int ik = checked_int(k, "gemm_batched: k");
    const int lda = std::max(1, static_cast<int>(a.extent(0)));
    const int ldb = std::max(1, static_cast<int>(b.extent(0)));
    const int ldc = std::max(1, static_cast<int>(c.extent(0)));
    const std::size_t sa = a.extent(0) * a.extent(1), sb = b.extent(0) * b.extent(1),
                      sc = c.extent(0) * c.extent(1);
    const T* const pa = a.data();
    const T* const pb = b.data();
    T* const pc = c.data();
    const detail::HostBlasThreads single_threaded_blas;
    const HostExecSpace host;
    Kokkos::parallel_for("strata::linalg::gemm_batched::host",
                         Kokkos::RangePolicy<HostExecSpace>(host, 0, count), [&](const int i) {
                           const auto u = static_cast<std::size_t>(i);
                           lapack::gemm(ta_s, tb_s, &im, &in, &ik, &alpha, pa + u * sa, &lda,
                                        pb + u * sb, &ldb, &beta, pc + u * sc, &ldc);
                         });
    kx::fence(host, "strata::linalg::gemm_batched::host");
  } else {
    using N = KokkosBatched::Trans::NoTranspose;
    using Tr = KokkosBatched::Trans::Transpose;
    if (!ta && !tb) team_gemm<N, N>(exec, alpha, a, b, beta, c);
    if (!ta && tb) team_gemm<N, Tr>(exec, alpha, a, b, beta, c);
    if (ta && !tb) team_gemm<Tr, N>(exec, alpha, a, b, beta, c);
    if (ta && tb) team_gemm<Tr, Tr>(exec, alpha, a, b, beta, c);
  }
}

template void gemm_batched<float>(const ExecSpace&, char, char, float, const ConstBatch<float>&,
                                  const ConstBatch<float>&, float, const Batch<float>&);
template void gemm_batched<double>(const ExecSpace&, char, char, double, const ConstBatch<double>&,
                                   const ConstBatch<double>&, double, const Batch<double>&);

}  // namespace strata::linalg
