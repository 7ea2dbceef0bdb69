#include "strata/dist/tall_skinny_qr.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "strata/core/kokkos_ext.hpp"
#include "strata/dist/operations.hpp"
#include "strata/linalg/host_lapack.hpp"

namespace strata {

namespace {

template <class T>
HostMatrix<T> host_square(index_type k, const char* label) {
  return HostMatrix<T>(std::string(label), static_cast<std::size_t>(k),
                       static_cast<std::size_t>(k));
}

/// G = X^T X, replicated, on the host.
template <class T>
HostMatrix<T> gram(const ExecSpace& exec, const DistMatrix<T>& x) {
  Matrix<T> g("strata::tall_skinny_qr::gram", static_cast<std::size_t>(x.cols()),
              static_cast<std::size_t>(x.cols()));
  inner_product(exec, x, x, g);
  return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g);
}

/// X <- X M for a replicated k x k host matrix M (one local GEMM).
template <class T>
void multiply_in_place(const ExecSpace& exec, const DistMatrix<T>& x, const HostMatrix<T>& m) {
  auto device_m = Kokkos::create_mirror_view_and_copy(MemSpace(), m);
  // No zero fill: multiply_replicated overwrites every entry.
  typename DistMatrix<T>::local_type local(
      Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::tall_skinny_qr::product"),
      x.local().extent(0), x.local().extent(1));
  DistMatrix<T> product(x.comm(), x.layout(), local);
  multiply_replicated(exec, x, ConstMatrix<T>(device_m), product);
  Kokkos::deep_copy(exec, x.local(), product.local());
}

/// C = A B for upper triangular k x k host matrices (the product is upper triangular).
template <class T>
HostMatrix<T> upper_product(const HostMatrix<T>& a, const HostMatrix<T>& b) {
  const auto k = static_cast<index_type>(a.extent(0));
  auto c = host_square<T>(k, "strata::tall_skinny_qr::R");
  for (index_type j = 0; j < k; ++j)
    for (index_type i = 0; i <= j; ++i) {
      T sum = 0;
      for (index_type l = i; l <= j; ++l) sum += a(i, l) * b(l, j);
      c(i, j) = sum;
    }
  return c;
}

/// One CholeskyQR pass on G (+ shift I): X <- X R^-1, returns R. G is identical on every rank, so
/// every rank takes the same branch and throws the same error.
template <class T>
HostMatrix<T> cholesky_pass(const ExecSpace& exec, const DistMatrix<T>& x, const HostMatrix<T>& g,
                            T shift, const char* which) {
  const auto k = static_cast<index_type>(g.extent(0));
  auto r = host_square<T>(k, "strata::tall_skinny_qr::R");
  Kokkos::deep_copy(r, g);
  for (index_type i = 0; i < k; ++i) r(i, i) += shift;
  STRATA_REQUIRE(linalg::host::cholesky_upper_in_place(r), NumericalError, "tall_skinny_qr: the ",
                 which, " Cholesky factorization of the ", k, " x ", k,
                 " Gram matrix failed: X is numerically rank deficient; use "
                 "TallSkinnyQrMethod::householder for such inputs");
  auto r_inverse = host_square<T>(k, "strata::tall_skinny_qr::R_inverse");
  Kokkos::deep_copy(r_inverse, r);
  linalg::host::upper_triangular_inverse_in_place(r_inverse);
  multiply_in_place(exec, x, r_inverse);
  return r;
}

template <class T>
TallSkinnyQrResult cholesky_qr2(const ExecSpace& exec, const DistMatrix<T>& x, HostMatrix<T>& r) {
  const index_type m = x.global_rows(), k = x.cols();
  const double u = std::numeric_limits<T>::epsilon() / 2;
  TallSkinnyQrResult result;
  auto g = gram(exec, x);
  double norm2 = 0;
  for (index_type i = 0; i < k; ++i) norm2 += g(i, i);
  STRATA_REQUIRE(std::isfinite(norm2), NonFiniteInput,
                 "tall_skinny_qr: X contains NaN or Inf (its squared Frobenius norm is ", norm2,
                 ")");
  STRATA_REQUIRE(norm2 > 0, NumericalError,
                 "tall_skinny_qr: X is zero, so it has no orthonormal basis of rank ", k);

  // Try the unshifted factorization; its diagonal ratio bounds cond(X) from below. CholeskyQR2
  // needs cond(X) below ~u^-1/2 (Yamamoto et al. 2015, Thm 3.3); keep a factor 10 of margin.
  auto r1 = host_square<T>(k, "strata::tall_skinny_qr::R1");
  Kokkos::deep_copy(r1, g);
  bool unshifted_ok = linalg::host::cholesky_upper_in_place(r1);
  if (unshifted_ok) {
    double largest = 0, smallest = std::numeric_limits<double>::infinity();
    for (index_type i = 0; i < k; ++i) {
      largest = std::max(largest, static_cast<double>(std::abs(r1(i, i))));
      smallest = std::min(smallest, static_cast<double>(std::abs(r1(i, i))));
    }
    unshifted_ok = smallest > 0 && largest / smallest < 0.1 / std::sqrt(u);
  }
  HostMatrix<T> total;
  if (unshifted_ok) {
    auto r_inverse = host_square<T>(k, "strata::tall_skinny_qr::R_inverse");
    Kokkos::deep_copy(r_inverse, r1);
    linalg::host::upper_triangular_inverse_in_place(r_inverse);
    multiply_in_place(exec, x, r_inverse);
    total = r1;
    result.passes = 1;
  } else {
    // Shifted CholeskyQR (Fukaya et al. 2020, eq. 4.2): s = 11 (m k + k (k + 1)) u ||X||_F^2
    // makes G + s I numerically positive definite and leaves cond(X R^-1) <= ~u^-1/2 whenever
    // cond(X) <= ~u^-1, so the two ordinary passes that follow reach O(u) orthogonality.
    const T shift = static_cast<T>(
        11.0 * (static_cast<double>(m) * k + static_cast<double>(k) * (k + 1)) * u * norm2);
    total = cholesky_pass(exec, x, g, shift, "shifted");
    result.shifted = true;
    result.passes = 1;
  }
  const int remaining = result.shifted ? 2 : 1;
  for (int pass = 0; pass < remaining; ++pass) {
    auto g_next = gram(exec, x);
    auto r_next = cholesky_pass(exec, x, g_next, T(0), result.shifted ? "second" : "repeated");
    total = upper_product(r_next, total);
    ++result.passes;
  }
  r = total;
  return result;
}

template <class T>
TallSkinnyQrResult householder_tsqr(const ExecSpace& exec, const DistMatrix<T>& x,
                                    HostMatrix<T>& r) {
  kx::fence(exec, "strata::tall_skinny_qr::stage_to_host");
  const index_type k = x.cols(), local_rows = x.local_rows();
  const Comm& comm = x.comm();
  const int ranks = comm.size();

  // Local Householder QR on the host. A block with fewer than k rows is padded with zero rows, so
  // every rank contributes a k x k triangle and the local Q keeps the block's rows only.
  auto local = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x.local());
  const index_type padded = std::max(local_rows, k);
  HostMatrix<T> q_local("strata::tall_skinny_qr::Q_local", static_cast<std::size_t>(padded),
                        static_cast<std::size_t>(k));
  for (index_type j = 0; j < k; ++j)
    for (index_type i = 0; i < local_rows; ++i) q_local(i, j) = local(i, j);
  // Finite data is checked before the collective gather so that every rank agrees on the error.
  bool finite = true;
  for (index_type j = 0; j < k && finite; ++j)
    for (index_type i = 0; i < local_rows; ++i) finite = finite && std::isfinite(local(i, j));
  const int all_finite = comm.allreduce(finite ? 1 : 0, ReduceOp::min);
  STRATA_REQUIRE(all_finite == 1, NonFiniteInput, "tall_skinny_qr: X contains NaN or Inf",
                 finite ? " (on another rank)" : " (on this rank)");
  HostMatrix<T> r_local = local_rows > 0 || k == 0 ? linalg::host::qr_in_place(q_local)
                                                   : host_square<T>(k, "strata::tall_skinny_qr::0");
  if (local_rows == 0) Kokkos::deep_copy(q_local, T(0));

  // Gather the P triangles and factor the stacked (P k) x k matrix, the same on every rank.
  std::vector<T> stacked_buffer(static_cast<std::size_t>(ranks * k * k));
  std::vector<std::int64_t> counts(static_cast<std::size_t>(ranks), k * k);
  comm.allgatherv_raw(r_local.data(), k * k, stacked_buffer.data(), counts,
                      detail::mpi_type_tag<T>());
  HostMatrix<T> stacked("strata::tall_skinny_qr::stacked", static_cast<std::size_t>(ranks * k),
                        static_cast<std::size_t>(k));
  for (int p = 0; p < ranks; ++p)
    for (index_type j = 0; j < k; ++j)
      for (index_type i = 0; i < k; ++i)
        stacked(p * k + i, j) = stacked_buffer[static_cast<std::size_t>((p * k + j) * k + i)];
  r = linalg::host::qr_in_place(stacked);
  // Nonnegative diagonal of R: the factorization is then unique (for full rank X), so Q does not
  // depend on the rank count or on the method.
  for (index_type j = 0; j < k; ++j) {
    if (r(j, j) < 0) {
      for (index_type l = j; l < k; ++l) r(j, l) = -r(j, l);
      for (index_type i = 0; i < ranks * k; ++i) stacked(i, j) = -stacked(i, j);
    }
  }
  // Q = Q_local * (this rank's k x k block of the stacked Q).
  auto block = host_square<T>(k, "strata::tall_skinny_qr::Q_block");
  for (index_type j = 0; j < k; ++j)
    for (index_type i = 0; i < k; ++i) block(i, j) = stacked(comm.rank() * k + i, j);
  for (index_type i = 0; i < local_rows; ++i) {
    std::vector<T> row(static_cast<std::size_t>(k), T(0));
    for (index_type l = 0; l < k; ++l) {
      const T q = q_local(i, l);
      for (index_type j = 0; j < k; ++j) row[static_cast<std::size_t>(j)] += q * block(l, j);
    }
    for (index_type j = 0; j < k; ++j) local(i, j) = row[static_cast<std::size_t>(j)];
  }
  Kokkos::deep_copy(x.local(), local);
  TallSkinnyQrResult result;
  result.passes = 1;
  return result;
}

}  // namespace

template <class T>
TallSkinnyQrResult tall_skinny_qr(const ExecSpace& exec, const DistMatrix<T>& x, const Matrix<T>& r,
                                  const TallSkinnyQrOptions& options) {
  kx::ScopedRegion region("strata::tall_skinny_qr");
  const index_type k = x.cols();
  STRATA_REQUIRE(x.global_rows() >= k, ShapeMismatch, "tall_skinny_qr: X is ", x.global_rows(),
                 " x ", k, "; expected at least as many rows as columns");
  STRATA_REQUIRE(r.extent(0) == 0 || (static_cast<index_type>(r.extent(0)) == k &&
                                      static_cast<index_type>(r.extent(1)) == k),
                 ShapeMismatch, "tall_skinny_qr: R is ", r.extent(0), " x ", r.extent(1),
                 "; expected ", k, " x ", k, " (or empty to skip it)");
  if (k == 0) return {};
  HostMatrix<T> host_r;
  const auto result = options.method == TallSkinnyQrMethod::householder
                          ? householder_tsqr(exec, x, host_r)
                          : cholesky_qr2(exec, x, host_r);
  if (r.extent(0) != 0) Kokkos::deep_copy(exec, r, host_r);
  kx::fence(exec, "strata::tall_skinny_qr::done");
  return result;
}

template <class T>
TallSkinnyQrResult orthonormalize(const ExecSpace& exec, const DistMatrix<T>& x,
                                  const TallSkinnyQrOptions& options) {
  return tall_skinny_qr(exec, x, Matrix<T>(), options);
}

#define STRATA_TALL_SKINNY_QR_INSTANTIATE(T)                                                   \
  template TallSkinnyQrResult tall_skinny_qr<T>(const ExecSpace&, const DistMatrix<T>&,        \
                                                const Matrix<T>&, const TallSkinnyQrOptions&); \
  template TallSkinnyQrResult orthonormalize<T>(const ExecSpace&, const DistMatrix<T>&,        \
                                                const TallSkinnyQrOptions&);
STRATA_TALL_SKINNY_QR_INSTANTIATE(float)
STRATA_TALL_SKINNY_QR_INSTANTIATE(double)

}  // namespace strata
