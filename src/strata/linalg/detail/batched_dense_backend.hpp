// The two implementations of the batched dense kernels of batched_dense.hpp, and the one place that
// chooses between them. The public functions (batched_dense.cpp) check shapes and arguments and
// then call Backend::<kernel>; the kernels below may assume valid, non-empty batches.
//
// - HostKernels (batched_dense_host.cpp): when the batch memory is host-accessible (Serial,
//   OpenMP, Threads; CUDA UVM), every matrix goes to host LAPACK/BLAS (xGEQRF/xORGQR/xORMQR,
//   xGEQP3 + xTRSM for the ID, xGESDD with xGESVD fallback, xTRCON/xTRSM or xGELSD, xGEMM)
//   through linalg/detail/lapack.hpp,
//   in a Kokkos::DefaultHostExecutionSpace range over the matrices with one workspace per thread.
// - TeamKernels (batched_dense_team.cpp): one Kokkos team per matrix with the team building blocks
//   of batched_dense_team.hpp; runs on every backend and is what device memory spaces use.
//
// Where a team kernel is measured to beat LAPACK on the host, HostKernels forwards to it (see the
// comment at each forwarding function in batched_dense_host.cpp).
#pragma once

#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "strata/core/kokkos_ext/spaces.hpp"
#include "strata/linalg/batched_dense.hpp"

namespace strata::linalg::detail {

#define STRATA_BATCHED_DENSE_KERNELS                                                               \
  template <class T>                                                                               \
  static void householder_qr(const ExecSpace& exec, const MatrixBatch<T>& a,                       \
                             const MatrixBatch<T>& q, const MatrixBatch<T>& r);                    \
  template <class T>                                                                               \
  static void null_space(const ExecSpace& exec, const MatrixBatch<T>& a, const MatrixBatch<T>& n); \
  template <class T>                                                                               \
  static void column_pivoted_qr(const ExecSpace& exec, const MatrixBatch<T>& a,                    \
                                const RankRule& rule, const Kokkos::View<int*, MemSpace>& ranks,   \
                                const MatrixBatch<int>& perm, const MatrixBatch<T>& q,             \
                                const MatrixBatch<T>& r);                                          \
  template <class T>                                                                               \
  static void interpolative_decomposition(                                                         \
      const ExecSpace& exec, const MatrixBatch<T>& a, const RankRule& rule,                        \
      const Kokkos::View<int*, MemSpace>& ranks, const MatrixBatch<int>& skeleton,                 \
      const MatrixBatch<T>& x);                                                                    \
  /* Throws NumericalError for non-finite input or (team) unconverged sweeps. */                   \
  template <class T>                                                                               \
  static void svd(const ExecSpace& exec, const MatrixBatch<T>& a, const MatrixBatch<T>& u,         \
                  const MatrixBatch<T>& sigma, const MatrixBatch<T>& v);                           \
  /* rcond > 0 here: the public function resolves the default. */                                  \
  template <class T>                                                                               \
  static void pseudo_inverse_apply(const ExecSpace& exec, const MatrixBatch<T>& b,                 \
                                   const MatrixBatch<T>& a, const MatrixBatch<T>& x,               \
                                   double rcond);                                                  \
  template <class T>                                                                               \
  static void gemm_batched(const ExecSpace& exec, bool trans_a, bool trans_b, T alpha,             \
                           const MatrixBatch<T>& a, const MatrixBatch<T>& b, T beta,               \
                           const MatrixBatch<T>& c);                                               \
  template <class T>                                                                               \
  static void copy_batched(const ExecSpace& exec, bool trans, const MatrixBatch<T>& a,             \
                           const MatrixBatch<T>& b);

/// One Kokkos team per matrix; every backend.
struct TeamKernels {
  STRATA_BATCHED_DENSE_KERNELS
};

/// Host LAPACK/BLAS per matrix, threads over matrices; host-accessible memory only.
struct HostKernels {
  STRATA_BATCHED_DENSE_KERNELS
};

#undef STRATA_BATCHED_DENSE_KERNELS

/// Which route HostKernels::pseudo_inverse_apply took, counted over the matrices of a batch: the
/// QR of A^T (wide or square A, R well enough conditioned) or the SVD (xGELSD). Matrices with
/// nothing to factor (no rows in A or B, or no columns) count in neither.
struct PinvPaths {
  int qr = 0, svd = 0;
};

/// HostKernels::pseudo_inverse_apply, also reporting the routes taken (for tests). Host-accessible
/// memory only; rcond > 0.
template <class T>
PinvPaths host_pseudo_inverse_apply(const ExecSpace& exec, const MatrixBatch<T>& b,
                                    const MatrixBatch<T>& a, const MatrixBatch<T>& x, double rcond);

/// The factors of a null_space_project_pseudo_inverse_apply call kept (host kernels) for a later
/// call on the same batch whose A and B have more columns (Levitt-Martinsson's grown samples):
/// per matrix, A^T = Q R (R p x p) and C = Q^T B^T (s x q), both column-major with leading
/// dimensions p and s; empty r[i] where nothing was kept (the xGELSD route, empty shapes).
template <class T>
struct NullSpaceProjectFactors {
  /// std::allocator whose value-initialization (resize, the size constructor) leaves the entries
  /// indeterminate: the kept factors are copied in whole right after they are sized, so zeroing
  /// them first was a second pass over fresh memory (with the page faults, ~8% of
  /// Levitt-Martinsson's null-space step on the host: perf, laplace-curve N = 4096, tol 1e-6).
  template <class U>
  struct UninitializedAllocator : std::allocator<U> {
    template <class V>
    struct rebind {
      using other = UninitializedAllocator<V>;
    };
    UninitializedAllocator() = default;
    template <class V>
    UninitializedAllocator(const UninitializedAllocator<V>&) noexcept {}
    template <class V>
    void construct(V* where) noexcept {
      ::new (static_cast<void*>(where)) V;
    }
    template <class V, class... Args>
    void construct(V* where, Args&&... args) {
      ::new (static_cast<void*>(where)) V(std::forward<Args>(args)...);
    }
  };
  using Buffer = std::vector<T, UninitializedAllocator<T>>;
  std::vector<int> p, q, s;
  std::vector<Buffer> r, c;
};

/// null_space_project_pseudo_inverse_apply on host-accessible memory: one xGEQRF of A^T and one
/// xORMQR of B^T per matrix (derivation in batched_dense_host.cpp). rcond > 0. With `factors`,
/// keeps them (NullSpaceProjectFactors); with `extend` too, every matrix whose A and B extend by
/// columns those of the kept factors' call (same p and q, s >= the kept s, all s - p null-space
/// columns asked for) is updated by the new columns alone (xTPQRT, xTPMQRT) instead of factored
/// again.
template <class T>
void host_null_space_project_pseudo_inverse_apply(const ExecSpace& exec, const MatrixBatch<T>& a,
                                                  const MatrixBatch<T>& b, const MatrixBatch<T>& bn,
                                                  const MatrixBatch<T>& x, double rcond,
                                                  NullSpaceProjectFactors<T>* factors = nullptr,
                                                  bool extend = false);

/// BN_b = B_b N_b and X_b = B_b A_b^+ for A_b p x s, B_b q x s, where N_b (s x k_b, k_b = BN_b's
/// columns <= s - p) is the null-space basis that linalg::null_space(exec, a, n) returns, and X_b
/// is linalg::pseudo_inverse_apply(exec, b, a, x, rcond) (the same X and guarantees). This is
/// Levitt & Martinsson's pair Y P and Y Omega^+ for a node. Where the HostKernels serve, N is not
/// formed: one xGEQRF of A_b^T and one xORMQR of B_b^T give both (saves 2 s p^2 - 2 p^3 / 3 + 4 s p
/// k + 2 q s k flops per matrix against the three calls); elsewhere null_space, gemm_batched and
/// pseudo_inverse_apply. BN agrees with B times null_space's N to rounding (O(s p u ||B||)), not
/// bitwise. (Declared here rather than in batched_dense.hpp, which most of the library includes:
/// its one user is hss/detail/compress_levels.hpp.)
///
/// `x` may be an empty batch (no matrices): then X is not computed, only BN (and, with `factors`,
/// the kept factors): a later call with X and `extend` on the same A and B (no new columns) then
/// costs the X part alone on the host (Levitt-Martinsson's passes that may be discarded: X is
/// wanted only once the ranks show that the pass goes on).
///
/// `factors` and `extend` (host kernels only; elsewhere ignored): keep the factors, and update
/// the kept ones where A_b and B_b extend by columns those of the call that kept them (the first
/// kept-s columns equal, k_b = s - p). An update costs O((s - s_kept) p (p + q) + p^2 q) flops
/// instead of O(s p (p + q)); BN_b is then B_b N'_b for another orthonormal basis N'_b of the
/// null space of A_b (N'_b = N_b W_b, W_b orthogonal): B_b N_b N_b^T B_b^T, the singular values
/// and left singular vectors of BN_b, are the same to rounding. X_b as above, from the updated R.
template <class T>
void null_space_project_pseudo_inverse_apply(const ExecSpace& exec, const MatrixBatch<T>& a,
                                             const MatrixBatch<T>& b, const MatrixBatch<T>& bn,
                                             const MatrixBatch<T>& x, double rcond = 0,
                                             NullSpaceProjectFactors<T>* factors = nullptr,
                                             bool extend = false);

/// The dispatch point: host LAPACK where the batch memory is host-accessible, team kernels
/// elsewhere (device memory).
using Backend = std::conditional_t<kx::host_accessible<MemSpace>, HostKernels, TeamKernels>;

}  // namespace strata::linalg::detail
