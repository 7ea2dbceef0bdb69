// Small dense operations on column-major blocks given by pointer and leading dimension, executed
// by one Kokkos team (the HSS kernels run a team per tree node, and node blocks have per-node
// sizes, so they cannot use the fixed-shape batched BLAS).
#pragma once

#include <Kokkos_Core.hpp>

namespace strata::hss::detail {

/// C (m x n) = alpha op(A) B + beta C with op(A) = A (m x k, leading dim lda) or A^T (A is k x m).
/// beta = 0 overwrites C without reading it. Each team thread computes whole entries of C.
template <class Member, class T>
KOKKOS_INLINE_FUNCTION void team_gemm(const Member& team, bool trans_a, int m, int n, int k,
                                      T alpha, const T* a, long lda, const T* b, long ldb, T beta,
                                      T* c, long ldc) {
  Kokkos::parallel_for(Kokkos::TeamThreadRange(team, m * n), [&](const int idx) {
    const int i = idx % m, j = idx / m;
    T sum = 0;
    if (trans_a) {
      for (int p = 0; p < k; ++p) sum += a[p + i * lda] * b[p + j * ldb];
    } else {
      for (int p = 0; p < k; ++p) sum += a[i + p * lda] * b[p + j * ldb];
    }
    T& out = c[i + j * ldc];
    out = beta == T(0) ? alpha * sum : alpha * sum + beta * out;
  });
}

}  // namespace strata::hss::detail
