#include "strata/hss/detail/band_lapack.hpp"

#include "strata/core/checks.hpp"
#include "strata/linalg/detail/host_gemm.hpp"
#include "strata/linalg/detail/lapack.hpp"

namespace strata::hss::detail {

BandCholesky::BandCholesky(HostMatrix<double> lower_band) : ab_(std::move(lower_band)) {
  const int n = checked_int(static_cast<index_type>(ab_.extent(1)), "BandCholesky: order");
  const int kd = checked_int(static_cast<index_type>(ab_.extent(0)) - 1, "BandCholesky: band");
  const int ldab = kd + 1;
  const linalg::detail::HostBlasThreads host_blas_threads;  // detail/host_gemm.hpp
  int info = 0;
  linalg::lapack::pbtrf("L", &n, &kd, ab_.data(), &ldab, &info);
  STRATA_REQUIRE(info == 0, NumericalError, "BandCholesky: dpbtrf failed with info = ", info,
                 " (the band matrix is not positive definite)");
}

void BandCholesky::solve(const HostMatrix<double>& b) const {
  const int n = static_cast<int>(ab_.extent(1));
  const int kd = static_cast<int>(ab_.extent(0)) - 1;
  const int ldab = kd + 1;
  require_shape(b, n, static_cast<index_type>(b.extent(1)), "BandCholesky::solve: B");
  const int k = checked_int(static_cast<index_type>(b.extent(1)), "BandCholesky::solve: columns");
  if (n == 0 || k == 0) return;
  const int ldb = checked_int(static_cast<index_type>(b.stride(1)), "BandCholesky: ldb");
  const linalg::detail::HostBlasThreads host_blas_threads;  // detail/host_gemm.hpp
  int info = 0;
  linalg::lapack::pbtrs("L", &n, &kd, &k, ab_.data(), &ldab, b.data(), &ldb, &info);
  STRATA_REQUIRE(info == 0, InternalError, "BandCholesky: dpbtrs failed with info = ", info);
}

BandLU::BandLU(const HostMatrix<double>& band, int kl, int ku) : kl_(kl), ku_(ku) {
  STRATA_REQUIRE(kl >= 0 && ku >= 0 && static_cast<int>(band.extent(0)) == kl + ku + 1,
                 ShapeMismatch, "BandLU: band storage has ", band.extent(0),
                 " rows; expected kl + ku + 1 = ", kl + ku + 1);
  const int n = checked_int(static_cast<index_type>(band.extent(1)), "BandLU: order");
  const int ldab = 2 * kl + ku + 1;
  ab_ = HostMatrix<double>("strata::hss::BandLU", static_cast<std::size_t>(ldab),
                           static_cast<std::size_t>(n));
  for (int j = 0; j < n; ++j) {
    for (int r = 0; r < kl + ku + 1; ++r) ab_(kl + r, j) = band(r, j);
  }
  pivots_.assign(static_cast<std::size_t>(n), 0);
  const linalg::detail::HostBlasThreads host_blas_threads;  // detail/host_gemm.hpp
  int info = 0;
  linalg::lapack::gbtrf(&n, &n, &kl_, &ku_, ab_.data(), &ldab, pivots_.data(), &info);
  STRATA_REQUIRE(info == 0, NumericalError, "BandLU: dgbtrf failed with info = ", info,
                 " (the band matrix is singular)");
}

void BandLU::solve(const HostMatrix<double>& b, bool transpose) const {
  const int n = static_cast<int>(ab_.extent(1));
  const int ldab = static_cast<int>(ab_.extent(0));
  require_shape(b, n, static_cast<index_type>(b.extent(1)), "BandLU::solve: B");
  const int k = checked_int(static_cast<index_type>(b.extent(1)), "BandLU::solve: columns");
  if (n == 0 || k == 0) return;
  const int ldb = checked_int(static_cast<index_type>(b.stride(1)), "BandLU: ldb");
  const linalg::detail::HostBlasThreads host_blas_threads;  // detail/host_gemm.hpp
  int info = 0;
  linalg::lapack::gbtrs(transpose ? "T" : "N", &n, &kl_, &ku_, &k, ab_.data(), &ldab,
                        pivots_.data(), b.data(), &ldb, &info);
  STRATA_REQUIRE(info == 0, InternalError, "BandLU: dgbtrs failed with info = ", info);
}

void dense_solve(const HostMatrix<double>& a, const HostMatrix<double>& b) {
  const int n = checked_int(static_cast<index_type>(a.extent(0)), "dense_solve: order");
  require_shape(a, n, n, "dense_solve: A");
  require_shape(b, n, static_cast<index_type>(b.extent(1)), "dense_solve: B");
  const int k = checked_int(static_cast<index_type>(b.extent(1)), "dense_solve: columns");
  if (n == 0 || k == 0) return;
  HostMatrix<double> lu("strata::hss::dense_solve", a.extent(0), a.extent(1));
  Kokkos::deep_copy(lu, a);
  std::vector<int> pivots(static_cast<std::size_t>(n));
  const int lda = n;
  const int ldb = checked_int(static_cast<index_type>(b.stride(1)), "dense_solve: ldb");
  const linalg::detail::HostBlasThreads host_blas_threads;  // detail/host_gemm.hpp
  int info = 0;
  linalg::lapack::gesv(&n, &k, lu.data(), &lda, pivots.data(), b.data(), &ldb, &info);
  STRATA_REQUIRE(info == 0, NumericalError, "dense_solve: dgesv failed with info = ", info,
                 " (singular matrix)");
}

}  // namespace strata::hss::detail
