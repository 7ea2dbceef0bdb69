#include "strata/sketch/detail/small_dense.hpp"

#include <algorithm>
#include <string>
#include <type_traits>

#include "strata/core/checks.hpp"
#include "strata/linalg/detail/host_gemm.hpp"
#include "strata/linalg/detail/lapack.hpp"
#include "strata/linalg/small_svd.hpp"

namespace strata::sketch::detail {

namespace {

template <class T>
HostMatrix<T> copy_of(const HostMatrix<T>& a, const char* label) {
  HostMatrix<T> c(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)), a.extent(0),
                  a.extent(1));
  Kokkos::deep_copy(c, a);
  return c;
}

int lda(int rows) {
  return std::max(1, rows);
}

}  // namespace

template <class T>
SmallSvd<T> small_svd(const HostMatrix<T>& a) {
  const int m = checked_int(static_cast<index_type>(a.extent(0)), "small_svd: rows");
  const int n = checked_int(static_cast<index_type>(a.extent(1)), "small_svd: cols");
  const int r = std::min(m, n);
  SmallSvd<T> out{HostMatrix<T>("strata::sketch::svd::U", m, r), std::vector<T>(r),
                  HostMatrix<T>("strata::sketch::svd::Vt", r, n)};
  if (r == 0) return out;
  linalg::detail::host_thin_svd(m, n, a.data(), std::max(lda(m), static_cast<int>(a.stride(1))),
                                out.s.data(), out.u.data(), lda(m), out.vt.data(), lda(r));
  return out;
}

template <class T>
SmallEig<T> small_symmetric_eig(const HostMatrix<T>& a) {
  const linalg::detail::HostBlasThreads host_blas_threads;  // host_gemm.hpp
  const int n = checked_int(static_cast<index_type>(a.extent(0)), "small_symmetric_eig: size");
  STRATA_REQUIRE(a.extent(1) == a.extent(0), ShapeMismatch, "small_symmetric_eig: the matrix is ",
                 a.extent(0), " x ", a.extent(1), "; expected a square matrix");
  SmallEig<T> out{std::vector<T>(n), copy_of(a, "strata::sketch::eig::W")};
  if (n == 0) return out;
  int info = 0, lwork = -1, liwork = -1, iquery = 0;
  T query = 0;
  const int ld = lda(n);
  linalg::lapack::syevd("V", "L", &n, out.vectors.data(), &ld, out.values.data(), &query, &lwork,
                        &iquery, &liwork, &info);
  lwork = static_cast<int>(query);
  liwork = iquery;
  std::vector<T> work(static_cast<std::size_t>(std::max(lwork, 1)));
  std::vector<int> iwork(static_cast<std::size_t>(std::max(liwork, 1)));
  linalg::lapack::syevd("V", "L", &n, out.vectors.data(), &ld, out.values.data(), work.data(),
                        &lwork, iwork.data(), &liwork, &info);
  STRATA_REQUIRE(info == 0, NumericalError, "LAPACK xSYEVD failed on a ", n, " x ", n,
                 " matrix (info = ", info, "); is the input finite?");
  return out;
}

template <class T>
bool small_cholesky_upper(const HostMatrix<T>& a, const HostMatrix<T>& c) {
  const linalg::detail::HostBlasThreads host_blas_threads;  // host_gemm.hpp
  const int n = checked_int(static_cast<index_type>(a.extent(0)), "small_cholesky: size");
  Kokkos::deep_copy(c, a);
  if (n == 0) return true;
  int info = 0;
  const int ld = lda(n);
  linalg::lapack::potrf("U", &n, c.data(), &ld, &info);
  for (int j = 0; j < n; ++j)
    for (int i = j + 1; i < n; ++i) c(i, j) = T(0);
  return info == 0;
}

template <class T>
void small_triangular_solve(char trans, const HostMatrix<T>& r, const HostMatrix<T>& b) {
  const linalg::detail::HostBlasThreads host_blas_threads;  // host_gemm.hpp
  const int n = checked_int(static_cast<index_type>(r.extent(0)), "small_triangular_solve: size");
  const int k = checked_int(static_cast<index_type>(b.extent(1)), "small_triangular_solve: rhs");
  STRATA_REQUIRE(r.extent(1) == r.extent(0) && b.extent(0) == r.extent(0), ShapeMismatch,
                 "small_triangular_solve: R is ", r.extent(0), " x ", r.extent(1), " and B is ",
                 b.extent(0), " x ", b.extent(1), "; expected a square R with as many rows as B");
  if (n == 0 || k == 0) return;
  const T one = 1;
  const char t[2] = {trans, 0};
  const int ld = lda(n);
  linalg::lapack::trsm("L", "U", t, "N", &n, &k, &one, r.data(), &ld, b.data(), &ld);
}

template <class T>
HostMatrix<T> small_triangular_inverse(const HostMatrix<T>& r) {
  HostMatrix<T> inv("strata::sketch::Rinv", r.extent(0), r.extent(0));
  for (std::size_t i = 0; i < r.extent(0); ++i) inv(i, i) = T(1);
  small_triangular_solve('N', r, inv);
  return inv;
}

template <class T>
HostMatrix<T> small_qr_r(const HostMatrix<T>& a) {
  const linalg::detail::HostBlasThreads host_blas_threads;  // host_gemm.hpp
  const int m = checked_int(static_cast<index_type>(a.extent(0)), "small_qr_r: rows");
  const int n = checked_int(static_cast<index_type>(a.extent(1)), "small_qr_r: cols");
  STRATA_REQUIRE(m >= n, ShapeMismatch, "small_qr_r: the matrix is ", m, " x ", n,
                 "; expected at least as many rows as columns");
  HostMatrix<T> r("strata::sketch::qr::R", n, n);
  if (n == 0) return r;
  auto work_a = copy_of(a, "strata::sketch::qr::A");
  std::vector<T> tau(static_cast<std::size_t>(n));
  int info = 0, lwork = -1;
  T query = 0;
  const int ld = lda(m);
  linalg::lapack::geqrf(&m, &n, work_a.data(), &ld, tau.data(), &query, &lwork, &info);
  lwork = static_cast<int>(query);
  std::vector<T> work(static_cast<std::size_t>(std::max(lwork, 1)));
  linalg::lapack::geqrf(&m, &n, work_a.data(), &ld, tau.data(), work.data(), &lwork, &info);
  STRATA_REQUIRE(info == 0, NumericalError, "LAPACK xGEQRF failed (info = ", info, ")");
  for (int j = 0; j < n; ++j)
    for (int i = 0; i <= j; ++i) r(i, j) = work_a(i, j);
  return r;
}

template <class T>
HostMatrix<T> small_least_squares(const HostMatrix<T>& a, const HostMatrix<T>& b) {
  const linalg::detail::HostBlasThreads host_blas_threads;  // host_gemm.hpp
  const int m = checked_int(static_cast<index_type>(a.extent(0)), "small_least_squares: rows");
  const int n = checked_int(static_cast<index_type>(a.extent(1)), "small_least_squares: cols");
  const int k = checked_int(static_cast<index_type>(b.extent(1)), "small_least_squares: rhs");
  STRATA_REQUIRE(m >= n && b.extent(0) == a.extent(0), ShapeMismatch, "small_least_squares: A is ",
                 m, " x ", n, " and B is ", b.extent(0), " x ", k,
                 "; expected m >= n and B with m rows");
  HostMatrix<T> x("strata::sketch::lstsq::X", n, k);
  if (n == 0 || k == 0) return x;
  auto work_a = copy_of(a, "strata::sketch::lstsq::A");
  auto work_b = copy_of(b, "strata::sketch::lstsq::B");
  int info = 0, lwork = -1;
  T query = 0;
  const int ld = lda(m);
  linalg::lapack::gels("N", &m, &n, &k, work_a.data(), &ld, work_b.data(), &ld, &query, &lwork,
                       &info);
  lwork = static_cast<int>(query);
  std::vector<T> work(static_cast<std::size_t>(std::max(lwork, 1)));
  linalg::lapack::gels("N", &m, &n, &k, work_a.data(), &ld, work_b.data(), &ld, work.data(), &lwork,
                       &info);
  STRATA_REQUIRE(info == 0, NumericalError, "LAPACK xGELS failed (info = ", info,
                 "): the sketched matrix is rank deficient, so A is (numerically) rank deficient");
  for (int j = 0; j < k; ++j)
    for (int i = 0; i < n; ++i) x(i, j) = work_b(i, j);
  return x;
}

#define STRATA_SMALL_DENSE_INSTANTIATE(T)                                                    \
  template SmallSvd<T> small_svd<T>(const HostMatrix<T>&);                                   \
  template SmallEig<T> small_symmetric_eig<T>(const HostMatrix<T>&);                         \
  template bool small_cholesky_upper<T>(const HostMatrix<T>&, const HostMatrix<T>&);         \
  template void small_triangular_solve<T>(char, const HostMatrix<T>&, const HostMatrix<T>&); \
  template HostMatrix<T> small_triangular_inverse<T>(const HostMatrix<T>&);                  \
  template HostMatrix<T> small_qr_r<T>(const HostMatrix<T>&);                                \
  template HostMatrix<T> small_least_squares<T>(const HostMatrix<T>&, const HostMatrix<T>&);
STRATA_SMALL_DENSE_INSTANTIATE(float)
STRATA_SMALL_DENSE_INSTANTIATE(double)
#undef STRATA_SMALL_DENSE_INSTANTIATE

}  // namespace strata::sketch::detail
