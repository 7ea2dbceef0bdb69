#include "strata/linalg/detail/host_gemm.hpp"

#include <algorithm>
#include <memory>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/linalg/detail/lapack.hpp"

namespace strata::linalg::detail {

HostBlasThreads::HostBlasThreads() {
  if constexpr (kx::threaded_host<HostExecSpace>)
    guard_ = std::make_unique<lapack::SingleThreadedBlas>();
}
HostBlasThreads::~HostBlasThreads() = default;

GemmPlan plan_host_gemm(index_type m, index_type n, index_type k, int threads) {
  // The cost of the product in multiply-adds: its m n k multiply-adds, plus every value it reads
  // or writes (m k + k n + 2 m n) counted as `per_value` multiply-adds. One core streams a value
  // from memory in about the time a register-tiled BLAS-3 kernel does 8 multiply-adds, so the
  // second term keeps memory-bound products (matrix-vector-like, n or k in the tens) from looking
  // cheap: A v with A 200000 x 32 is 6.4e6 multiply-adds but 5.1e7 bytes to stream.
  constexpr double per_value = 8;
  // A part below about 2^20 of these (~0.1 ms on one core) does not repay the fork and join of
  // a parallel region; 16 rows or columns per part keep each BLAS call in its blocked
  // (register-tiled) regime.
  constexpr double min_work = 1 << 20;
  constexpr index_type min_extent = 16;
  // Inner split: k-parts of at least 128 and of at least 2^17 multiply-adds keep the partial
  // products BLAS-3 sized; at most 64 parts and 2^22 partial values bound the extra memory.
  constexpr double min_inner_work = 1 << 17;
  constexpr index_type min_inner = 128, max_inner_parts = 64;
  constexpr index_type max_partial_values = index_type(1) << 22;
  GemmPlan plan;
  if (threads <= 1 || m == 0 || n == 0 || k == 0) return plan;
  const double dm = static_cast<double>(m), dn = static_cast<double>(n);
  const double dk = static_cast<double>(k);
  const double work = dm * dn * dk + per_value * (dm * dk + dk * dn + 2 * dm * dn);
  const int by_work = static_cast<int>(std::min<double>(threads, std::max(1.0, work / min_work)));
  if (by_work <= 1) return plan;
  const index_type wide = std::max(m, n);
  // Gram-type products (k much larger than m and n, e.g. X^T X of a tall-skinny X): split k.
  // Whether and in how many parts depends on the shape alone (for two threads or more), so the
  // summation order, and with it the result, is the same for every thread count. The number of
  // parts is a power of two, so that it is a multiple of the usual thread counts (2, 4, 8, 16,
  // 32, 64) when at least as large: every thread then gets the same number of parts.
  if (k >= 8 * wide) {
    const index_type limit =
        std::min({max_inner_parts, k / min_inner, static_cast<index_type>(work / min_inner_work),
                  std::max<index_type>(1, max_partial_values / (m * n))});
    index_type inner_parts = 1;
    while (2 * inner_parts <= limit) inner_parts *= 2;
    if (inner_parts >= 2) return {GemmSplit::inner, static_cast<int>(inner_parts)};
  }
  const index_type wide_parts = std::min<index_type>(by_work, wide / min_extent);
  if (wide_parts >= 2)
    return {n >= m ? GemmSplit::columns : GemmSplit::rows, static_cast<int>(wide_parts)};
  return plan;
}

template <class T>
void host_gemm(const HostExecSpace& host, const GemmPlan& plan, char trans_a, char trans_b,
               index_type m, index_type n, index_type k, T alpha, const T* a, index_type lda,
               const T* b, index_type ldb, T beta, T* c, index_type ldc) {
  const bool ta = trans_a == 'T' || trans_a == 't', tb = trans_b == 'T' || trans_b == 't';
  const char op_a[2] = {ta ? 'T' : 'N', '\0'}, op_b[2] = {tb ? 'T' : 'N', '\0'};
  checked_int(std::max({m, n, k}), "gemm: matrix dimension");
  const int ilda = checked_int(lda, "gemm: lda"), ildb = checked_int(ldb, "gemm: ldb");
  const int ildc = checked_int(ldc, "gemm: ldc");
  // Entry (i, j) of op(A) and of op(B) in the column-major storage.
  auto at_a = [&](index_type i, index_type j) {
    return ta ? a + j + i * lda : a + i + j * lda;
  };
  auto at_b = [&](index_type i, index_type j) {
    return tb ? b + j + i * ldb : b + i + j * ldb;
  };
  // One BLAS call: rows [i0, i1) and columns [j0, j1) of C, inner range [l0, l1).
  auto block = [&](index_type i0, index_type i1, index_type j0, index_type j1, index_type l0,
                   index_type l1, T block_beta, T* out, int ldo) {
    const int bm = static_cast<int>(i1 - i0), bn = static_cast<int>(j1 - j0);
    const int bk = static_cast<int>(l1 - l0);
    if (bm == 0 || bn == 0) return;
    lapack::gemm(op_a, op_b, &bm, &bn, &bk, &alpha, at_a(i0, l0), &ilda, at_b(l0, j0), &ildb,
                 &block_beta, out, &ldo);
  };
  const lapack::SingleThreadedBlas single_threaded_blas;
  const int parts = plan.split == GemmSplit::none ? 1 : plan.parts;
  auto bound = [parts](index_type extent, int p) {
    return extent * p / parts;
  };
  if (parts == 1) {
    block(0, m, 0, n, 0, k, beta, c, ildc);
    return;
  }
  if (plan.split == GemmSplit::columns || plan.split == GemmSplit::rows) {
    const bool columns = plan.split == GemmSplit::columns;
    Kokkos::parallel_for("strata::linalg::gemm::host_blocks",
                         Kokkos::RangePolicy<HostExecSpace>(host, 0, parts), [&](const int p) {
                           if (columns) {
                             const index_type j0 = bound(n, p), j1 = bound(n, p + 1);
                             block(0, m, j0, j1, 0, k, beta, c + j0 * ldc, ildc);
                           } else {
                             const index_type i0 = bound(m, p), i1 = bound(m, p + 1);
                             block(i0, i1, 0, n, 0, k, beta, c + i0, ildc);
                           }
                         });
    kx::fence(host, "strata::linalg::gemm::host_blocks");
    return;
  }
  // Inner split: part 0 accumulates into C (with beta), part p > 0 into its own m x n buffer;
  // the buffers are then added to C in the order p = 1, 2, ...
  const index_type values = m * n;
  const std::unique_ptr<T[]> partial(new T[static_cast<std::size_t>(values * (parts - 1))]);
  const int ldp = static_cast<int>(m);
  Kokkos::parallel_for("strata::linalg::gemm::host_inner_parts",
                       Kokkos::RangePolicy<HostExecSpace>(host, 0, parts), [&](const int p) {
                         const index_type l0 = bound(k, p), l1 = bound(k, p + 1);
                         if (p == 0) {
                           block(0, m, 0, n, l0, l1, beta, c, ildc);
                         } else {
                           block(0, m, 0, n, l0, l1, T(0), partial.get() + (p - 1) * values, ldp);
                         }
                       });
  Kokkos::parallel_for("strata::linalg::gemm::host_inner_sum",
                       Kokkos::RangePolicy<HostExecSpace>(host, 0, n), [&](const index_type j) {
                         T* cj = c + j * ldc;
                         for (int p = 1; p < parts; ++p) {
                           const T* pj = partial.get() + (p - 1) * values + j * m;
                           for (index_type i = 0; i < m; ++i) cj[i] += pj[i];
                         }
                       });
  kx::fence(host, "strata::linalg::gemm::host_inner_parts");
}

template void host_gemm<float>(const HostExecSpace&, const GemmPlan&, char, char, index_type,
                               index_type, index_type, float, const float*, index_type,
                               const float*, index_type, float, float*, index_type);
template void host_gemm<double>(const HostExecSpace&, const GemmPlan&, char, char, index_type,
                                index_type, index_type, double, const double*, index_type,
                                const double*, index_type, double, double*, index_type);

}  // namespace strata::linalg::detail
