#include "strata/sketch/detail/estimators_lapack.hpp"

#include <algorithm>

#include "strata/core/checks.hpp"
#include "strata/linalg/detail/host_gemm.hpp"
#include "strata/linalg/detail/lapack.hpp"

namespace strata::sketch::detail {

HostEigen tridiagonal_eigen(const std::vector<double>& diagonal,
                            const std::vector<double>& off_diagonal) {
  const linalg::detail::HostBlasThreads host_blas_threads;  // host_gemm.hpp
  const int k = checked_int(static_cast<index_type>(diagonal.size()), "tridiagonal_eigen: size");
  STRATA_REQUIRE(off_diagonal.size() + 1 == diagonal.size() || (k == 0 && off_diagonal.empty()),
                 ShapeMismatch, "tridiagonal_eigen: ", diagonal.size(), " diagonal and ",
                 off_diagonal.size(), " off-diagonal entries; expected k and k - 1");
  HostEigen result;
  result.values = diagonal;
  result.vectors = HostMatrix<double>("strata::sketch::tridiagonal_eigen::vectors",
                                      static_cast<std::size_t>(k), static_cast<std::size_t>(k));
  if (k == 0) return result;
  std::vector<double> e(off_diagonal);
  e.resize(static_cast<std::size_t>(k));  // dstev uses e as workspace of length k - 1 (>= 1)
  std::vector<double> work(static_cast<std::size_t>(std::max(1, 2 * k - 2)));
  int info = 0;
  const int ldz = k;
  linalg::lapack::stev("V", &k, result.values.data(), e.data(), result.vectors.data(), &ldz,
                       work.data(), &info);
  STRATA_REQUIRE(info == 0, NumericalError,
                 "LAPACK dstev did not converge on the Lanczos tridiagonal matrix (info = ", info,
                 ")");
  return result;
}

HostEigen symmetric_eigen(const HostMatrix<double>& a) {
  const linalg::detail::HostBlasThreads host_blas_threads;  // host_gemm.hpp
  const int n = checked_int(static_cast<index_type>(a.extent(0)), "symmetric_eigen: rows");
  STRATA_REQUIRE(a.extent(0) == a.extent(1), ShapeMismatch, "symmetric_eigen: A is ", a.extent(0),
                 " x ", a.extent(1), "; expected a square matrix");
  HostEigen result;
  result.values.resize(static_cast<std::size_t>(n));
  result.vectors =
      HostMatrix<double>("strata::sketch::symmetric_eigen::vectors", a.extent(0), a.extent(1));
  if (n == 0) return result;
  Kokkos::deep_copy(result.vectors, a);
  int info = 0, lwork = -1;
  double query = 0;
  linalg::lapack::syev("V", "L", &n, result.vectors.data(), &n, result.values.data(), &query,
                       &lwork, &info);
  lwork = std::max(static_cast<int>(query), 1);
  std::vector<double> work(static_cast<std::size_t>(lwork));
  linalg::lapack::syev("V", "L", &n, result.vectors.data(), &n, result.values.data(), work.data(),
                       &lwork, &info);
  STRATA_REQUIRE(info == 0, NumericalError, "LAPACK dsyev failed (info = ", info, ")");
  return result;
}

HostMatrix<double> pseudo_inverse(const HostMatrix<double>& a, double rcond) {
  const linalg::detail::HostBlasThreads host_blas_threads;  // host_gemm.hpp
  const int m = checked_int(static_cast<index_type>(a.extent(0)), "pseudo_inverse: rows");
  const int n = checked_int(static_cast<index_type>(a.extent(1)), "pseudo_inverse: cols");
  HostMatrix<double> pinv("strata::sketch::pseudo_inverse", a.extent(1), a.extent(0));
  const int r = std::min(m, n);
  if (r == 0) return pinv;
  HostMatrix<double> work_a("strata::sketch::pseudo_inverse::a", a.extent(0), a.extent(1));
  Kokkos::deep_copy(work_a, a);
  std::vector<double> s(static_cast<std::size_t>(r));
  HostMatrix<double> u("u", static_cast<std::size_t>(m), static_cast<std::size_t>(r));
  HostMatrix<double> vt("vt", static_cast<std::size_t>(r), static_cast<std::size_t>(n));
  int info = 0, lwork = -1;
  double query = 0;
  linalg::lapack::gesvd("S", "S", &m, &n, work_a.data(), &m, s.data(), u.data(), &m, vt.data(), &r,
                        &query, &lwork, &info);
  lwork = std::max(static_cast<int>(query), 1);
  std::vector<double> work(static_cast<std::size_t>(lwork));
  linalg::lapack::gesvd("S", "S", &m, &n, work_a.data(), &m, s.data(), u.data(), &m, vt.data(), &r,
                        work.data(), &lwork, &info);
  STRATA_REQUIRE(info == 0, NumericalError, "LAPACK dgesvd failed (info = ", info, ")");
  const double cutoff = rcond * s[0];
  for (int l = 0; l < r; ++l) {
    if (!(s[static_cast<std::size_t>(l)] > cutoff)) break;  // descending: the rest are below too
    const double inv = 1.0 / s[static_cast<std::size_t>(l)];
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) pinv(j, i) += vt(l, j) * inv * u(i, l);
  }
  return pinv;
}

}  // namespace strata::sketch::detail
