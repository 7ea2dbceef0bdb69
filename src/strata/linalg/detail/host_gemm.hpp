// GEMM on a threaded Kokkos host backend (OpenMP, Threads, HPX), split over Kokkos' threads.
//
// The rule for BLAS threads versus Kokkos threads (one rule for the library): where the
// Kokkos host backend has its own thread pool, Kokkos owns the cores and the BLAS runs
// single-threaded (lapack::SingleThreadedBlas) in every call Strata makes; a large GEMM issued
// from the host is cut into independent blocks, one single-threaded BLAS call each, run over the
// Kokkos threads. Two pools on one set of cores (OpenBLAS' pthreads next to Kokkos' OpenMP
// threads) spin against each other: each pool's idle threads keep polling while the other works,
// so adding threads made whole drivers slower (issue 15). Under Kokkos Serial the BLAS keeps its
// own threads, as it is then the only pool.
#pragma once

#include <memory>

#include "strata/core/types.hpp"

namespace strata::linalg::lapack {
class SingleThreadedBlas;
}

namespace strata::linalg::detail {

/// The rule above for one host BLAS/LAPACK call (or a sequence of them) issued outside parallel
/// regions: while alive, the BLAS runs single-threaded (lapack::SingleThreadedBlas) when the Kokkos
/// host backend is threaded; under Kokkos Serial the BLAS keeps its threads. Construct it outside
/// parallel regions (the OpenBLAS setting is process-wide).
class HostBlasThreads {
 public:
  HostBlasThreads();
  ~HostBlasThreads();
  HostBlasThreads(const HostBlasThreads&) = delete;
  HostBlasThreads& operator=(const HostBlasThreads&) = delete;

 private:
  std::unique_ptr<lapack::SingleThreadedBlas> guard_;
};

/// How host_gemm splits C = alpha op(A) op(B) + beta C (m x n, inner dimension k): along the
/// columns of C, along its rows, or along k (partial products summed in a fixed order).
enum class GemmSplit { none, columns, rows, inner };

struct GemmPlan {
  GemmSplit split = GemmSplit::none;
  int parts = 1;
};

/// The split of an m x n x k GEMM over `threads` threads: none on one thread or below about 2^21
/// multiply-adds (values read and written count 8 multiply-adds each: memory-bound products such
/// as a matrix-vector product split as finely as their memory traffic warrants); along k when
/// k >= 8 max(m, n) (Gram-type products such as X^T X with X tall and skinny), in a power-of-two
/// number of parts (at most 64, each at least 128 deep) that depends on the shape alone, so that
/// the result does not change with the thread count; else along the longer of the columns and
/// rows of C, at least 16 per part and at most one part per thread.
GemmPlan plan_host_gemm(index_type m, index_type n, index_type k, int threads);

/// C = alpha op(A) op(B) + beta C for column-major host arrays (op = 'N' or 'T', BLAS argument
/// conventions), executed as plan.parts single-threaded BLAS calls in parallel over `host`.
template <class T>
void host_gemm(const HostExecSpace& host, const GemmPlan& plan, char trans_a, char trans_b,
               index_type m, index_type n, index_type k, T alpha, const T* a, index_type lda,
               const T* b, index_type ldb, T beta, T* c, index_type ldc);

}  // namespace strata::linalg::detail
