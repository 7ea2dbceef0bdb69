#include "strata/linalg/host_lapack.hpp"

#include <algorithm>
#include <exception>
#include <string>
#include <vector>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/linalg/detail/host_gemm.hpp"
#include "strata/linalg/detail/lapack.hpp"

namespace strata::linalg::host {

namespace {
template <class T>
HostMatrix<T> copy_of(const HostMatrix<T>& a) {
  HostMatrix<T> c(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::host_lapack::copy"),
                  a.extent(0), a.extent(1));
  Kokkos::deep_copy(c, a);
  return c;
}
}  // namespace

template <class T>
std::vector<T> singular_values(const HostMatrix<T>& a) {
  const detail::HostBlasThreads host_blas_threads;  // detail/host_gemm.hpp
  const int m = checked_int(static_cast<index_type>(a.extent(0)), "singular_values: rows");
  const int n = checked_int(static_cast<index_type>(a.extent(1)), "singular_values: cols");
  std::vector<T> s(static_cast<std::size_t>(std::min(m, n)));
  if (s.empty()) return s;
  auto work_a = copy_of(a);
  const int lda = std::max(1, m), one = 1;
  int info = 0, lwork = -1;
  T query = 0, dummy = 0;
  lapack::gesvd("N", "N", &m, &n, work_a.data(), &lda, s.data(), &dummy, &one, &dummy, &one, &query,
                &lwork, &info);
  lwork = static_cast<int>(query);
  std::vector<T> work(static_cast<std::size_t>(std::max(lwork, 1)));
  lapack::gesvd("N", "N", &m, &n, work_a.data(), &lda, s.data(), &dummy, &one, &dummy, &one,
                work.data(), &lwork, &info);
  STRATA_REQUIRE(info == 0, NumericalError, "LAPACK gesvd failed (info = ", info, ")");
  return s;
}

template <class T>
std::vector<T> symmetric_eigenvalues(const HostMatrix<T>& a) {
  const detail::HostBlasThreads host_blas_threads;  // detail/host_gemm.hpp
  const int n = checked_int(static_cast<index_type>(a.extent(0)), "symmetric_eigenvalues: rows");
  STRATA_REQUIRE(a.extent(0) == a.extent(1), ShapeMismatch, "symmetric_eigenvalues: A is ",
                 a.extent(0), " x ", a.extent(1), "; expected a square matrix");
  std::vector<T> w(static_cast<std::size_t>(n));
  if (n == 0) return w;
  auto work_a = copy_of(a);
  int info = 0, lwork = -1;
  T query = 0;
  lapack::syev("N", "L", &n, work_a.data(), &n, w.data(), &query, &lwork, &info);
  lwork = static_cast<int>(query);
  std::vector<T> work(static_cast<std::size_t>(std::max(lwork, 1)));
  lapack::syev("N", "L", &n, work_a.data(), &n, w.data(), work.data(), &lwork, &info);
  STRATA_REQUIRE(info == 0, NumericalError, "LAPACK syev failed (info = ", info, ")");
  return w;
}

namespace {
// Householder QR of the m x n column-major block at `a` (leading dimension lda, m >= n): A is
// overwritten by Q, R (n x n, leading dimension ldr) receives the triangle. The calling thread's
// BLAS settings apply.
template <class T>
void householder_qr_block(int m, int n, T* a, int lda, T* r, int ldr) {
  std::vector<T> tau(static_cast<std::size_t>(n));
  int info = 0, lwork = -1;
  T query = 0;
  lapack::geqrf(&m, &n, a, &lda, tau.data(), &query, &lwork, &info);
  lwork = std::max(static_cast<int>(query), n);
  std::vector<T> work(static_cast<std::size_t>(lwork));
  lapack::geqrf(&m, &n, a, &lda, tau.data(), work.data(), &lwork, &info);
  STRATA_REQUIRE(info == 0, NumericalError, "LAPACK geqrf failed (info = ", info, ")");
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < n; ++i)
      r[i + static_cast<std::size_t>(ldr) * j] =
          i <= j ? a[i + static_cast<std::size_t>(lda) * j] : T(0);
  }
  // Query ORGQR's own workspace (it may want more than GEQRF's).
  lwork = -1;
  lapack::orgqr(&m, &n, &n, a, &lda, tau.data(), &query, &lwork, &info);
  if (static_cast<int>(query) > static_cast<int>(work.size()))
    work.resize(static_cast<std::size_t>(query));
  lwork = static_cast<int>(work.size());
  lapack::orgqr(&m, &n, &n, a, &lda, tau.data(), work.data(), &lwork, &info);
  STRATA_REQUIRE(info == 0, NumericalError, "LAPACK orgqr failed (info = ", info, ")");
}
}  // namespace

int tall_qr_parts(index_type m, index_type n) {
  // Blocks of at least max(8 n, 4096) rows, at most 32 of them: the stacked triangle
  // (parts n x n) stays small against A, and the block count depends on the shape alone.
  if (n <= 0) return 1;
  const index_type block = std::max<index_type>(8 * n, 4096);
  return static_cast<int>(std::clamp<index_type>(m / block, 1, 32));
}

template <class T>
HostMatrix<T> qr_in_place(const HostMatrix<T>& a) {
  // Under a serial host backend the one LAPACK call keeps the BLAS's own threads (HostBlasThreads).
  const int parts = kx::threaded_host<HostExecSpace>
                        ? tall_qr_parts(static_cast<index_type>(a.extent(0)),
                                        static_cast<index_type>(a.extent(1)))
                        : 1;
  return tall_qr_in_place(a, parts);
}

template <class T>
HostMatrix<T> tall_qr_in_place(const HostMatrix<T>& a, int parts) {
  const detail::HostBlasThreads host_blas_threads;  // detail/host_gemm.hpp
  const int m = checked_int(static_cast<index_type>(a.extent(0)), "qr_in_place: rows");
  const int n = checked_int(static_cast<index_type>(a.extent(1)), "qr_in_place: cols");
  STRATA_REQUIRE(m >= n, ShapeMismatch, "qr_in_place: A is ", m, " x ", n,
                 "; expected rows >= cols");
  STRATA_REQUIRE(
      parts >= 1 && (parts == 1 || static_cast<long long>(m) >= static_cast<long long>(parts) * n),
      InvalidArgument, "tall_qr_in_place: ", parts, " row blocks of a ", m, " x ", n,
      " matrix; each block needs at least ", n, " rows");
  HostMatrix<T> r("strata::host_lapack::R", static_cast<std::size_t>(n),
                  static_cast<std::size_t>(n));
  if (n == 0) return r;
  const int lda = std::max(1, m);
  if (parts == 1) {
    householder_qr_block(m, n, a.data(), lda, r.data(), n);
    return r;
  }
  // Flat TSQR over the host threads (Demmel, Grigori, Hoemmen & Langou, SISC 34 (2012)): block p
  // of rows (m_p >= 8 n) is factored as Q_p R_p in parallel; the stacked [R_0; ...; R_{P-1}]
  // (P n x n) is factored as Q_S R; then Q's block p is Q_p Q_S(p), one GEMM per block, again in
  // parallel. Same backward stability as Householder QR (ibid., Sec. 5). Each LAPACK/BLAS call
  // runs single-threaded (lapack.hpp); the blocks depend on the shape only, so the result does not
  // change with the thread count.
  const lapack::SingleThreadedBlas single_threaded_blas;
  std::vector<int> begin(static_cast<std::size_t>(parts) + 1);
  for (int p = 0; p <= parts; ++p)
    begin[static_cast<std::size_t>(p)] = static_cast<int>(static_cast<long long>(m) * p / parts);
  const int sn = parts * n;
  std::vector<T> stacked(static_cast<std::size_t>(sn) * n), qs;
  std::vector<std::vector<T>> q(static_cast<std::size_t>(parts));
  std::vector<std::string> failure(static_cast<std::size_t>(parts));
  const HostExecSpace host;
  Kokkos::parallel_for("strata::host_lapack::tsqr_blocks",
                       Kokkos::RangePolicy<HostExecSpace>(host, 0, parts), [&](const int p) {
                         const int b0 = begin[static_cast<std::size_t>(p)];
                         const int mp = begin[static_cast<std::size_t>(p) + 1] - b0;
                         auto& qp = q[static_cast<std::size_t>(p)];
                         qp.resize(static_cast<std::size_t>(mp) * n);
                         for (int j = 0; j < n; ++j)
                           for (int i = 0; i < mp; ++i)
                             qp[i + static_cast<std::size_t>(mp) * j] =
                                 a.data()[b0 + i + static_cast<std::size_t>(lda) * j];
                         try {  // exceptions must not cross the parallel region
                           householder_qr_block(mp, n, qp.data(), mp,
                                                stacked.data() + static_cast<std::size_t>(p) * n,
                                                sn);
                         } catch (const std::exception& e) {
                           failure[static_cast<std::size_t>(p)] = e.what();
                         }
                       });
  host.fence();
  for (const auto& f : failure) STRATA_REQUIRE(f.empty(), NumericalError, f);
  householder_qr_block(sn, n, stacked.data(), sn, r.data(), n);  // stacked now holds Q_S
  Kokkos::parallel_for("strata::host_lapack::tsqr_q",
                       Kokkos::RangePolicy<HostExecSpace>(host, 0, parts), [&](const int p) {
                         const int b0 = begin[static_cast<std::size_t>(p)];
                         const int mp = begin[static_cast<std::size_t>(p) + 1] - b0;
                         const T one = 1, zero = 0;
                         lapack::gemm("N", "N", &mp, &n, &n, &one,
                                      q[static_cast<std::size_t>(p)].data(), &mp,
                                      stacked.data() + static_cast<std::size_t>(p) * n, &sn, &zero,
                                      a.data() + b0, &lda);
                       });
  host.fence();
  return r;
}

template <class T>
HostMatrix<T> polar_via_svd(const HostMatrix<T>& a) {
  const detail::HostBlasThreads host_blas_threads;  // detail/host_gemm.hpp
  const int m = checked_int(static_cast<index_type>(a.extent(0)), "polar_via_svd: rows");
  const int n = checked_int(static_cast<index_type>(a.extent(1)), "polar_via_svd: cols");
  STRATA_REQUIRE(m >= n && n > 0, ShapeMismatch, "polar_via_svd: A is ", m, " x ", n,
                 "; expected rows >= cols > 0");
  auto work_a = copy_of(a);
  HostMatrix<T> u("strata::host_lapack::U", a.extent(0), a.extent(1));
  HostMatrix<T> vt("strata::host_lapack::VT", a.extent(1), a.extent(1));
  std::vector<T> s(static_cast<std::size_t>(n));
  int info = 0, lwork = -1;
  T query = 0;
  lapack::gesvd("S", "S", &m, &n, work_a.data(), &m, s.data(), u.data(), &m, vt.data(), &n, &query,
                &lwork, &info);
  lwork = static_cast<int>(query);
  std::vector<T> work(static_cast<std::size_t>(std::max(lwork, 1)));
  lapack::gesvd("S", "S", &m, &n, work_a.data(), &m, s.data(), u.data(), &m, vt.data(), &n,
                work.data(), &lwork, &info);
  STRATA_REQUIRE(info == 0, NumericalError, "LAPACK gesvd failed (info = ", info, ")");
  HostMatrix<T> q("strata::host_lapack::Q", a.extent(0), a.extent(1));
  const T one = 1, zero = 0;
  lapack::gemm("N", "N", &m, &n, &n, &one, u.data(), &m, vt.data(), &n, &zero, q.data(), &m);
  return q;
}

template <class T>
bool cholesky_upper_in_place(const HostMatrix<T>& a) {
  const detail::HostBlasThreads host_blas_threads;  // detail/host_gemm.hpp
  const int n = checked_int(static_cast<index_type>(a.extent(0)), "cholesky_upper_in_place: rows");
  STRATA_REQUIRE(a.extent(0) == a.extent(1), ShapeMismatch, "cholesky_upper_in_place: A is ",
                 a.extent(0), " x ", a.extent(1), "; expected a square matrix");
  if (n == 0) return true;
  int info = 0;
  lapack::potrf("U", &n, a.data(), &n, &info);
  STRATA_REQUIRE(info >= 0, InternalError, "LAPACK potrf: bad argument ", -info);
  if (info > 0) return false;
  for (int j = 0; j < n; ++j) {
    for (int i = j + 1; i < n; ++i) a(i, j) = 0;
  }
  return true;
}

template <class T>
void upper_triangular_inverse_in_place(const HostMatrix<T>& r) {
  const detail::HostBlasThreads host_blas_threads;  // detail/host_gemm.hpp
  const int n = checked_int(static_cast<index_type>(r.extent(0)), "triangular_inverse: rows");
  STRATA_REQUIRE(r.extent(0) == r.extent(1), ShapeMismatch, "upper_triangular_inverse: R is ",
                 r.extent(0), " x ", r.extent(1), "; expected a square matrix");
  if (n == 0) return;
  int info = 0;
  lapack::trtri("U", "N", &n, r.data(), &n, &info);
  STRATA_REQUIRE(info == 0, NumericalError, "upper_triangular_inverse: R(", info, ", ", info,
                 ") is exactly zero; R is singular");
}

template <class T>
void solve_in_place(const HostMatrix<T>& a, const HostMatrix<T>& b) {
  const detail::HostBlasThreads host_blas_threads;  // detail/host_gemm.hpp
  const int n = checked_int(static_cast<index_type>(a.extent(0)), "solve_in_place: rows");
  const int k = checked_int(static_cast<index_type>(b.extent(1)), "solve_in_place: columns of B");
  STRATA_REQUIRE(a.extent(0) == a.extent(1) && b.extent(0) == a.extent(0), ShapeMismatch,
                 "solve_in_place: A is ", a.extent(0), " x ", a.extent(1), " and B is ",
                 b.extent(0), " x ", b.extent(1), "; expected A square and B with A's rows");
  if (n == 0 || k == 0) return;
  std::vector<int> pivots(static_cast<std::size_t>(n));
  int info = 0;
  lapack::gesv(&n, &k, a.data(), &n, pivots.data(), b.data(), &n, &info);
  STRATA_REQUIRE(info >= 0, InternalError, "LAPACK gesv: bad argument ", -info);
  STRATA_REQUIRE(info == 0, NumericalError, "solve_in_place: U(", info, ", ", info,
                 ") is exactly zero; A is singular");
}

template void solve_in_place<float>(const HostMatrix<float>&, const HostMatrix<float>&);
template void solve_in_place<double>(const HostMatrix<double>&, const HostMatrix<double>&);
template bool cholesky_upper_in_place<float>(const HostMatrix<float>&);
template bool cholesky_upper_in_place<double>(const HostMatrix<double>&);
template void upper_triangular_inverse_in_place<float>(const HostMatrix<float>&);
template void upper_triangular_inverse_in_place<double>(const HostMatrix<double>&);
template HostMatrix<float> polar_via_svd<float>(const HostMatrix<float>&);
template HostMatrix<double> polar_via_svd<double>(const HostMatrix<double>&);
template std::vector<float> singular_values<float>(const HostMatrix<float>&);
template std::vector<double> singular_values<double>(const HostMatrix<double>&);
template std::vector<float> symmetric_eigenvalues<float>(const HostMatrix<float>&);
template std::vector<double> symmetric_eigenvalues<double>(const HostMatrix<double>&);
template HostMatrix<float> qr_in_place<float>(const HostMatrix<float>&);
template HostMatrix<double> qr_in_place<double>(const HostMatrix<double>&);
template HostMatrix<float> tall_qr_in_place<float>(const HostMatrix<float>&, int);
template HostMatrix<double> tall_qr_in_place<double>(const HostMatrix<double>&, int);

}  // namespace strata::linalg::host
