#include "strata/linalg/small_svd.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/spaces.hpp"
#include "strata/linalg/detail/host_gemm.hpp"
#include "strata/linalg/detail/lapack.hpp"

#if defined(KOKKOS_ENABLE_CUDA)
#include "strata/linalg/detail/svd_cuda.hpp"
#endif

namespace strata::linalg {

namespace {

[[maybe_unused]] int leading_dimension(std::size_t stride, std::size_t rows) {
  return static_cast<int>(std::max<std::size_t>({1, stride, rows}));
}

constexpr bool have_cuda_memory() {
#if defined(KOKKOS_ENABLE_CUDA)
  return std::is_same_v<MemSpace, Kokkos::CudaSpace>;
#else
  return false;
#endif
}

/// Host path: xGESDD on host copies; U and V written back into the execution space's memory.
/// Strided device views are staged through contiguous device copies (a host-to-device copy into a
/// non-contiguous view would need a temporary that Kokkos refuses to make).
template <class T>
std::vector<T> host_small_svd(const ExecSpace& exec, const ConstMatrix<T>& a, const Matrix<T>& u,
                              const Matrix<T>& v) {
  const int m = checked_int(static_cast<index_type>(a.extent(0)), "small_svd: rows");
  const int n = checked_int(static_cast<index_type>(a.extent(1)), "small_svd: cols");
  Matrix<T> packed(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::linalg::svd::A"), m, n);
  Kokkos::deep_copy(exec, packed, a);
  auto ha = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), packed);
  HostMatrix<T> hu(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::linalg::svd::U"), m, n);
  HostMatrix<T> hvt(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::linalg::svd::Vt"), n,
                    n);
  std::vector<T> s(static_cast<std::size_t>(n));
  detail::host_thin_svd(m, n, ha.data(), std::max(1, m), s.data(), hu.data(), std::max(1, m),
                        hvt.data(), std::max(1, n));
  HostMatrix<T> hv(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::linalg::svd::V"), n, n);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i) hv(i, j) = hvt(j, i);
  // Contiguous copies where U and V live (the host views themselves on host memory), then into
  // the possibly strided outputs within that memory space.
  const auto du = Kokkos::create_mirror_view_and_copy(MemSpace(), hu);
  const auto dv = Kokkos::create_mirror_view_and_copy(MemSpace(), hv);
  Kokkos::deep_copy(exec, u, du);
  Kokkos::deep_copy(exec, v, dv);
  kx::fence(exec, "strata::linalg::small_svd::host");
  return s;
}

#if defined(KOKKOS_ENABLE_CUDA)
template <class T>
std::vector<T> cuda_small_svd(const ExecSpace& exec, const ConstMatrix<T>& a, const Matrix<T>& u,
                              const Matrix<T>& v, char method) {
  const int m = static_cast<int>(a.extent(0)), n = static_cast<int>(a.extent(1));
  // The solvers overwrite A: a contiguous copy.
  Matrix<T> work(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::linalg::svd::A"),
                 a.extent(0), a.extent(1));
  Kokkos::deep_copy(exec, work, a);
  Kokkos::View<T*, MemSpace> s(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::linalg::svd::s"),
      static_cast<std::size_t>(n));
  // Xgesvdp writes U beyond its first m rows when ldu > m (seen on an H100, CUDA 13.0: the test's
  // border rows of a strided U were overwritten), so it gets contiguous U and V, copied into the
  // caller's possibly strided views afterwards. gesvdj keeps to the documented m x n.
  const bool packed = method == 'p' && (leading_dimension(u.stride(1), u.extent(0)) != m ||
                                        leading_dimension(v.stride(1), v.extent(0)) != n);
  Matrix<T> pu = u, pv = v;
  if (packed) {
    pu = Matrix<T>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::linalg::svd::U"),
                   a.extent(0), a.extent(1));
    pv = Matrix<T>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::linalg::svd::V"),
                   a.extent(1), a.extent(1));
  }
  double err_sigma = 0;
  const int info =
      detail::thin_svd_cuda(exec.cuda_stream(), method, m, n, work.data(), std::max(1, m), s.data(),
                            pu.data(), leading_dimension(pu.stride(1), pu.extent(0)), pv.data(),
                            leading_dimension(pv.stride(1), pv.extent(0)), &err_sigma);
  STRATA_REQUIRE(info == 0, NumericalError, "small_svd: the cuSOLVER SVD of a ", m, " x ", n,
                 " matrix failed (info = ", info, "); is the input finite?");
  auto hs = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), s);
  std::vector<T> out(hs.data(), hs.data() + n);
  if (packed) {
    Kokkos::deep_copy(exec, u, pu);
    Kokkos::deep_copy(exec, v, pv);
    kx::fence(exec, "strata::linalg::small_svd::unpack");
  }
  if (method == 'p' && n > 0) {
    // Xgesvdp perturbs numerically rank-deficient inputs by err_sigma and the singular values
    // move by as much: beyond the backward error n u ||A||_2 of a stable SVD, redo by Jacobi.
    // cuSOLVER does not say whether err_sigma is absolute or relative to ||A||_2: the bound
    // n u min(1, ||A||_2) is below n u ||A||_2 under either reading (a redo is never skipped
    // where it is due; at worst it runs where it was not needed).
    const double bound =
        n * (std::numeric_limits<T>::epsilon() / 2) * std::min(1.0, static_cast<double>(out[0]));
    if (!(err_sigma <= bound)) return cuda_small_svd(exec, a, u, v, 'j');
  }
  return out;
}
#endif

}  // namespace

SmallSvdMethod resolve(SmallSvdMethod method) {
  if (method != SmallSvdMethod::automatic) return method;
  return have_cuda_memory() ? SmallSvdMethod::device_polar : SmallSvdMethod::host_lapack;
}

const char* to_string(SmallSvdMethod method) {
  switch (method) {
    case SmallSvdMethod::automatic:
      return "automatic";
    case SmallSvdMethod::host_lapack:
      return "host-lapack";
    case SmallSvdMethod::device_jacobi:
      return "device-jacobi";
    case SmallSvdMethod::device_polar:
      return "device-polar";
  }
  return "?";
}

SmallSvdMethod parse_small_svd_method(const std::string& name) {
  for (auto m : {SmallSvdMethod::automatic, SmallSvdMethod::host_lapack,
                 SmallSvdMethod::device_jacobi, SmallSvdMethod::device_polar})
    if (name == to_string(m)) return m;
  STRATA_THROW(InvalidArgument, "unknown small SVD method '", name,
               "'; expected automatic, host-lapack, device-jacobi or device-polar");
}

template <class T>
std::vector<T> small_svd(const ExecSpace& exec, const ConstMatrix<T>& a, const Matrix<T>& u,
                         const Matrix<T>& v, SmallSvdMethod method) {
  const auto m = static_cast<index_type>(a.extent(0)), n = static_cast<index_type>(a.extent(1));
  STRATA_REQUIRE(m >= n, ShapeMismatch, "small_svd: A is ", m, " x ", n,
                 "; expected at least as many rows as columns (pass A^T and swap U and V)");
  require_shape(u, m, n, "small_svd: U");
  require_shape(v, n, n, "small_svd: V");
  checked_int(m, "small_svd: rows");
  method = resolve(method);
  if (method == SmallSvdMethod::device_jacobi || method == SmallSvdMethod::device_polar) {
    STRATA_REQUIRE(have_cuda_memory(), InvalidArgument, "small_svd: method ", to_string(method),
                   " needs a CUDA build (this build's memory space is ", MemSpace::name(), ")");
  }
  if (n == 0) return {};
#if defined(KOKKOS_ENABLE_CUDA)
  if constexpr (have_cuda_memory()) {
    if (method != SmallSvdMethod::host_lapack)
      return cuda_small_svd(exec, a, u, v, method == SmallSvdMethod::device_polar ? 'p' : 'j');
  }
#endif
  return host_small_svd(exec, a, u, v);
}

namespace detail {

namespace {
/// A LAPACK workspace query's answer as an int, rounded up (a float query above 2^24 may have
/// been rounded down to a value below the size LAPACK checks for).
template <class T>
int workspace_size(T query) {
  const double q =
      std::ceil(static_cast<double>(query) * (1.0 + 4 * std::numeric_limits<T>::epsilon()));
  return static_cast<int>(std::min<double>(q, std::numeric_limits<int>::max()));
}
}  // namespace

template <class T>
void host_thin_svd(int m, int n, const T* a0, int lda0, T* s, T* u, int ldu, T* vt, int ldvt) {
  const detail::HostBlasThreads host_blas_threads;  // host_gemm.hpp
  const int r = std::min(m, n);
  if (r == 0) return;
  std::vector<T> a(static_cast<std::size_t>(m) * n);
  auto load = [&] {
    for (int j = 0; j < n; ++j)
      std::copy(a0 + static_cast<std::size_t>(j) * lda0,
                a0 + static_cast<std::size_t>(j) * lda0 + m,
                a.begin() + static_cast<std::size_t>(j) * m);
  };
  load();
  const int lda = std::max(1, m);
  int info = 0, lwork = -1;
  T query = 0;
  // Divide and conquer (xGESDD) is several times faster than xGESVD for the l x l core of a
  // randomized SVD, with the same backward error (Demmel, Applied NLA, Sec. 5.4.3); xGESVD stays
  // as the fallback for the rare inputs where it does not converge.
  std::vector<int> iwork(static_cast<std::size_t>(8 * r));
  lapack::gesdd("S", &m, &n, a.data(), &lda, s, u, &ldu, vt, &ldvt, &query, &lwork, iwork.data(),
                &info);
  lwork = workspace_size(query);
  std::vector<T> work(static_cast<std::size_t>(std::max(lwork, 1)));
  lapack::gesdd("S", &m, &n, a.data(), &lda, s, u, &ldu, vt, &ldvt, work.data(), &lwork,
                iwork.data(), &info);
  if (info > 0) {
    load();
    lwork = -1;
    lapack::gesvd("S", "S", &m, &n, a.data(), &lda, s, u, &ldu, vt, &ldvt, &query, &lwork, &info);
    lwork = workspace_size(query);
    work.assign(static_cast<std::size_t>(std::max(lwork, 1)), T(0));
    lapack::gesvd("S", "S", &m, &n, a.data(), &lda, s, u, &ldu, vt, &ldvt, work.data(), &lwork,
                  &info);
  }
  STRATA_REQUIRE(info >= 0, InternalError, "LAPACK SVD of a ", m, " x ", n,
                 " matrix rejected argument ", -info);
  STRATA_REQUIRE(info == 0, NumericalError, "LAPACK SVD failed on a ", m, " x ", n,
                 " matrix (info = ", info, "); is the input finite?");
}

}  // namespace detail

#define STRATA_SMALL_SVD_INSTANTIATE(T)                                                           \
  template std::vector<T> small_svd<T>(const ExecSpace&, const ConstMatrix<T>&, const Matrix<T>&, \
                                       const Matrix<T>&, SmallSvdMethod);                         \
  template void detail::host_thin_svd<T>(int, int, const T*, int, T*, T*, int, T*, int);
STRATA_SMALL_SVD_INSTANTIATE(float)
STRATA_SMALL_SVD_INSTANTIATE(double)
#undef STRATA_SMALL_SVD_INSTANTIATE

}  // namespace strata::linalg
