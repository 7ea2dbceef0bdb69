#include "strata/linalg/cholesky.hpp"

#include <algorithm>
#include <type_traits>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/core/kokkos_ext/spaces.hpp"
#include "strata/linalg/detail/host_gemm.hpp"
#include "strata/linalg/detail/lapack.hpp"

#if defined(KOKKOS_ENABLE_CUDA)
#include "strata/linalg/detail/cholesky_cuda.hpp"
#endif

namespace strata::linalg {

namespace {

int leading_dimension(std::size_t stride, std::size_t rows) {
  return static_cast<int>(std::max<std::size_t>({1, stride, rows}));
}

/// Zero the strictly lower triangle of a square A.
template <class T>
void zero_lower(const ExecSpace& exec, const Matrix<T>& a) {
  const auto n = a.extent(0);
  Kokkos::parallel_for(
      "strata::linalg::cholesky::zero_lower", Kokkos::RangePolicy<ExecSpace>(exec, 0, n * n),
      KOKKOS_LAMBDA(const std::size_t k) {
        const std::size_t i = k % n, j = k / n;
        if (i > j) a(i, j) = T(0);
      });
}

/// xPOTRF (upper) on a host array; info as LAPACK returns it.
template <class T>
int host_potrf(int n, T* a, int lda) {
  const detail::HostBlasThreads host_blas_threads;  // host_gemm.hpp
  int info = 0;
  lapack::potrf("U", &n, a, &lda, &info);
  return info;
}

/// X <- X R^-1 on host arrays: rows of X are independent, so row blocks go to the host threads.
template <class T>
void host_trsm(int m, int n, const T* r, int ldr, T* x, int ldx) {
  const T one = 1;
  auto block = [&](int row0, int rows) {
    if (rows > 0) lapack::trsm("R", "U", "N", "N", &rows, &n, &one, r, &ldr, x + row0, &ldx);
  };
  if constexpr (kx::threaded_host<HostExecSpace>) {
    // Blocks of >= 256 rows keep each call BLAS-3 sized.
    const int parts = std::max(1, std::min(kx::concurrency(HostExecSpace()), m / 256));
    if (parts > 1) {
      const lapack::SingleThreadedBlas single_threaded_blas;
      Kokkos::parallel_for(
          "strata::linalg::solve_upper_right::host_blocks",
          Kokkos::RangePolicy<HostExecSpace>(HostExecSpace(), 0, parts), [&](const int p) {
            const int row0 = static_cast<int>(static_cast<long long>(m) * p / parts);
            const int row1 = static_cast<int>(static_cast<long long>(m) * (p + 1) / parts);
            block(row0, row1 - row0);
          });
      kx::fence(HostExecSpace(), "strata::linalg::solve_upper_right::host_blocks");
      return;
    }
  }
  const detail::HostBlasThreads host_blas_threads;
  block(0, m);
}

}  // namespace

template <class T>
bool cholesky_upper(const ExecSpace& exec, const Matrix<T>& a) {
  STRATA_REQUIRE(a.extent(0) == a.extent(1), ShapeMismatch, "cholesky_upper: A is ", a.extent(0),
                 " x ", a.extent(1), "; expected a square matrix");
  const auto n = static_cast<index_type>(a.extent(0));
  if (n == 0) return true;
  const int in = checked_int(n, "cholesky_upper: n");
  int info = 0;
#if defined(KOKKOS_ENABLE_CUDA)
  if constexpr (std::is_same_v<MemSpace, Kokkos::CudaSpace>) {
    info = detail::potrf_upper_cuda(exec.cuda_stream(), in, a.data(),
                                    leading_dimension(a.stride(1), a.extent(0)));
    if (info != 0) return false;
    zero_lower(exec, a);
    return true;
  }
#endif
  if constexpr (kx::host_accessible<MemSpace>) {
    kx::fence(exec, "strata::linalg::cholesky_upper::host");
    info = host_potrf(in, a.data(), leading_dimension(a.stride(1), a.extent(0)));
  } else {
    // Other device backends: through a host copy of the small matrix.
    auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a);
    info = host_potrf(in, host.data(), leading_dimension(host.stride(1), host.extent(0)));
    Kokkos::deep_copy(exec, a, host);
  }
  if (info != 0) return false;
  zero_lower(exec, a);
  return true;
}

template <class T>
void solve_upper_right(const ExecSpace& exec, const ConstMatrix<T>& r, const Matrix<T>& x) {
  const auto n = static_cast<index_type>(r.extent(0));
  require_shape(r, n, n, "solve_upper_right: R");
  require_shape(x, static_cast<index_type>(x.extent(0)), n, "solve_upper_right: X");
  const auto m = static_cast<index_type>(x.extent(0));
  if (m == 0 || n == 0) return;
  const int im = checked_int(m, "solve_upper_right: m"),
            in = checked_int(n, "solve_upper_right: n");
  const int ldr = leading_dimension(r.stride(1), r.extent(0));
  const int ldx = leading_dimension(x.stride(1), x.extent(0));
#if defined(KOKKOS_ENABLE_CUDA)
  if constexpr (std::is_same_v<MemSpace, Kokkos::CudaSpace>) {
    detail::trsm_upper_right_cuda(exec.cuda_stream(), im, in, r.data(), ldr, x.data(), ldx);
    return;
  }
#endif
  if constexpr (kx::host_accessible<MemSpace>) {
    kx::fence(exec, "strata::linalg::solve_upper_right::host");
    host_trsm(im, in, r.data(), ldr, x.data(), ldx);
  } else {
    auto host_r = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), r);
    auto host_x = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
    host_trsm(im, in, host_r.data(), leading_dimension(host_r.stride(1), host_r.extent(0)),
              host_x.data(), leading_dimension(host_x.stride(1), host_x.extent(0)));
    Kokkos::deep_copy(exec, x, host_x);
  }
}

#define STRATA_CHOLESKY_INSTANTIATE(T)                                 \
  template bool cholesky_upper<T>(const ExecSpace&, const Matrix<T>&); \
  template void solve_upper_right<T>(const ExecSpace&, const ConstMatrix<T>&, const Matrix<T>&);
STRATA_CHOLESKY_INSTANTIATE(float)
STRATA_CHOLESKY_INSTANTIATE(double)
#undef STRATA_CHOLESKY_INSTANTIATE

}  // namespace strata::linalg
