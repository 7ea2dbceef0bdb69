#include "strata/dist/tall_skinny_qr.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "strata/core/kokkos_ext.hpp"
#include "strata/core/scratch.hpp"
#include "strata/dist/operations.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/linalg/cholesky.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "strata/linalg/norms.hpp"

namespace strata {

namespace {

template <class T>
HostMatrix<T> host_square(index_type k, const char* label) {
  return HostMatrix<T>(std::string(label), static_cast<std::size_t>(k),
                       static_cast<std::size_t>(k));
}

template <class T>
Matrix<T> device_square(index_type k, const char* label) {
  return Matrix<T>(std::string(label), static_cast<std::size_t>(k), static_cast<std::size_t>(k));
}

/// G = X^T X (a symmetric rank-k product, exactly symmetric), replicated, where X lives.
template <class T>
Matrix<T> gram(const ExecSpace& exec, const DistMatrix<T>& x) {
  auto g = device_square<T>(x.cols(), "strata::tall_skinny_qr::gram");
  strata::gram(exec, x, g);
  return g;
}

/// The smallest over the largest |R_ii| of a triangular R, in double.
template <class T>
double diagonal_ratio(const ExecSpace& exec, const Matrix<T>& r) {
  double largest = 0, smallest = 0;
  Kokkos::parallel_reduce(
      "strata::tall_skinny_qr::largest_diagonal",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, r.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i, double& v) {
        const double d = static_cast<double>(r(i, i));
        const double magnitude = d < 0 ? -d : d;
        if (magnitude > v) v = magnitude;
      },
      Kokkos::Max<double>(largest));
  Kokkos::parallel_reduce(
      "strata::tall_skinny_qr::smallest_diagonal",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, r.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i, double& v) {
        const double d = static_cast<double>(r(i, i));
        const double magnitude = d < 0 ? -d : d;
        if (magnitude < v) v = magnitude;
      },
      Kokkos::Min<double>(smallest));
  return smallest > 0 ? largest / smallest : std::numeric_limits<double>::infinity();
}

/// R = G + shift I, a copy.
template <class T>
Matrix<T> shifted_copy(const ExecSpace& exec, const Matrix<T>& g, T shift) {
  auto r = device_square<T>(static_cast<index_type>(g.extent(0)), "strata::tall_skinny_qr::R");
  const auto k = g.extent(0);
  Kokkos::parallel_for(
      "strata::tall_skinny_qr::shift", Kokkos::RangePolicy<ExecSpace>(exec, 0, k * k),
      KOKKOS_LAMBDA(const std::size_t t) {
        const std::size_t i = t % k, j = t / k;
        r(i, j) = g(i, j) + (i == j ? shift : T(0));
      });
  return r;
}

/// C = A B for upper triangular k x k A and B (the product is upper triangular: the zeros below
/// the diagonals give exact zeros).
template <class T>
Matrix<T> upper_product(const ExecSpace& exec, const Matrix<T>& a, const Matrix<T>& b) {
  auto c = device_square<T>(static_cast<index_type>(a.extent(0)), "strata::tall_skinny_qr::R");
  linalg::gemm(exec, "N", "N", T(1), a, b, T(0), c);
  return c;
}

/// The workspace of multiply_by_inverse: taken from the call's scratch on first use, reused by the
/// later passes of the same factorization.
template <class T>
struct InverseWorkspace {
  strata::detail::Scratch& scratch;
  Matrix<T> z, product;
};

/// X <- X R^-1 as X Z, Z = R^-1 (InverseApply::inverse_gemm): Z from the triangular solve Z R = I
/// (k x k; Z is upper triangular with exact zeros below the diagonal), then one GEMM into a scratch
/// block and a copy back.
template <class T>
void multiply_by_inverse(const ExecSpace& exec, const Matrix<T>& r, const Matrix<T>& x,
                         InverseWorkspace<T>& work) {
  const std::size_t k = r.extent(0), m = x.extent(0);
  if (m == 0 || k == 0) return;
  if (work.z.extent(0) != k) work.z = work.scratch.template uninitialized<Matrix<T>>(k, k);
  if (work.product.extent(0) != m || work.product.extent(1) != k)
    work.product = work.scratch.template uninitialized<Matrix<T>>(m, k);
  const auto z = work.z;
  Kokkos::parallel_for(
      "strata::tall_skinny_qr::identity", Kokkos::RangePolicy<ExecSpace>(exec, 0, k * k),
      KOKKOS_LAMBDA(const std::size_t t) { z(t % k, t / k) = (t % k == t / k) ? T(1) : T(0); });
  linalg::solve_upper_right(exec, ConstMatrix<T>(r), z);
  const auto product = work.product;
  linalg::gemm(exec, "N", "N", T(1), ConstMatrix<T>(x), ConstMatrix<T>(z), T(0), product);
  Kokkos::deep_copy(exec, x, product);
}

/// One CholeskyQR pass on G (+ shift I): X <- X R^-1 (a triangular solve where X lives, or with
/// `by_inverse` an explicit inverse and a GEMM) and R returned, or false with X untouched when the
/// Cholesky factorization fails. G is identical on every rank, so every rank takes the same
/// branch.
template <class T>
bool cholesky_pass(const ExecSpace& exec, const DistMatrix<T>& x, const Matrix<T>& g, T shift,
                   Matrix<T>& r, bool by_inverse, InverseWorkspace<T>& work) {
  // Factor a copy and hand it out only on success: `r` may be the R of the earlier passes, which
  // the fallback composes with (a failed partial factor there would corrupt the returned R).
  auto factor = shifted_copy(exec, g, shift);
  if (!linalg::cholesky_upper(exec, factor)) return false;
  if (by_inverse) {
    multiply_by_inverse(exec, factor, x.local(), work);
  } else {
    linalg::solve_upper_right(exec, ConstMatrix<T>(factor), x.local());
  }
  r = factor;
  return true;
}

/// Whether InverseApply::inverse_gemm is chosen (where it is safe) on this backend.
bool inverse_by_gemm(InverseApply apply) {
  if (apply == InverseApply::automatic) return !kx::runs_on_host<ExecSpace>;
  return apply == InverseApply::inverse_gemm;
}

template <class T>
TallSkinnyQrResult householder_tsqr(const ExecSpace& exec, const DistMatrix<T>& x,
                                    HostMatrix<T>& r);

/// CholeskyQR2 / shifted CholeskyQR3 on the device: the Gram products, the k x k Cholesky factors
/// and the triangular solves stay where X lives; only scalars (tr G, the Cholesky's success and
/// its diagonal ratio) reach the host. A failed pass throws NumericalError, or with `fallback`
/// hands X as the earlier passes left it (X R_total^-1) to householder TSQR and composes the R.
template <class T>
TallSkinnyQrResult cholesky_qr2(const ExecSpace& exec, const DistMatrix<T>& x, Matrix<T>& r,
                                bool fallback, bool span_only, bool wants_r, InverseApply apply) {
  const index_type m = x.global_rows(), k = x.cols();
  const double u = std::numeric_limits<T>::epsilon() / 2;
  const bool gemm_apply = inverse_by_gemm(apply);
  strata::detail::Scratch scratch(exec);
  InverseWorkspace<T> work{scratch, {}, {}};
  TallSkinnyQrResult result;
  Matrix<T> total;  // R of the passes so far (empty before the first)
  const auto fail_or_fall_back = [&](const char* which) {
    STRATA_REQUIRE(fallback, NumericalError, "tall_skinny_qr: the ", which,
                   " Cholesky factorization of the ", k, " x ", k,
                   " Gram matrix failed: X is numerically rank deficient; use "
                   "TallSkinnyQrMethod::householder for such inputs");
    HostMatrix<T> host_r;
    householder_tsqr(exec, x, host_r);
    auto last = device_square<T>(k, "strata::tall_skinny_qr::R");
    Kokkos::deep_copy(exec, last, host_r);
    r = total.extent(0) == 0 ? last : upper_product(exec, last, total);
    result.fell_back = true;
    ++result.passes;
    return result;
  };
  auto g = gram(exec, x);
  const double norm2 = linalg::trace(exec, g);
  STRATA_REQUIRE(std::isfinite(norm2), NonFiniteInput,
                 "tall_skinny_qr: X contains NaN or Inf (its squared Frobenius norm is ", norm2,
                 ")");
  if (!(norm2 > 0)) {
    if (fallback) return fail_or_fall_back("first");
    STRATA_THROW(NumericalError,
                 "tall_skinny_qr: X is zero, so it has no orthonormal basis of rank ", k);
  }

  // Try the unshifted factorization; its diagonal ratio bounds cond(X) from below. CholeskyQR2
  // needs cond(X) below ~u^-1/2 (Yamamoto et al. 2015, Thm 3.3); keep a factor 10 of margin.
  auto r1 = shifted_copy(exec, g, T(0));
  const bool unshifted_ok =
      linalg::cholesky_upper(exec, r1) && diagonal_ratio(exec, r1) < 0.1 / std::sqrt(u);
  if (unshifted_ok) {
    // A span-only pass whose R nobody sees may use the explicit inverse (see InverseApply).
    if (span_only && !wants_r && gemm_apply) {
      multiply_by_inverse(exec, r1, x.local(), work);
      ++result.inverse_passes;
    } else {
      linalg::solve_upper_right(exec, ConstMatrix<T>(r1), x.local());
    }
    total = r1;
    result.passes = 1;
    if (span_only) {
      r = total;
      return result;
    }
  } else {
    // Shifted CholeskyQR (Fukaya et al. 2020, eq. 4.2): s = 11 (m k + k (k + 1)) u ||X||_F^2
    // makes G + s I numerically positive definite and leaves cond(X R^-1) <= ~u^-1/2 whenever
    // cond(X) <= ~u^-1, so the two ordinary passes that follow reach O(u) orthogonality.
    const T shift = static_cast<T>(
        11.0 * (static_cast<double>(m) * k + static_cast<double>(k) * (k + 1)) * u * norm2);
    result.shifted = true;
    if (!cholesky_pass(exec, x, g, shift, total, false, work)) return fail_or_fall_back("shifted");
    result.passes = 1;
  }
  const int remaining = result.shifted ? 2 : 1;
  for (int pass = 0; pass < remaining; ++pass) {
    auto g_next = gram(exec, x);
    // The explicit inverse only where R is within 10% of orthonormal, measured (see InverseApply).
    const bool by_inverse = gemm_apply && linalg::distance_to_identity(exec, g_next) <= 0.1;
    Matrix<T> r_next;
    if (!cholesky_pass(exec, x, g_next, T(0), r_next, by_inverse, work))
      return fail_or_fall_back(result.shifted ? "second" : "repeated");
    total = upper_product(exec, r_next, total);
    ++result.passes;
    if (by_inverse) ++result.inverse_passes;
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
  TallSkinnyQrResult result;
  if (options.method == TallSkinnyQrMethod::householder) {
    HostMatrix<T> host_r;
    result = householder_tsqr(exec, x, host_r);
    if (r.extent(0) != 0) Kokkos::deep_copy(exec, r, host_r);
  } else {
    Matrix<T> device_r;
    result = cholesky_qr2(exec, x, device_r, options.householder_fallback, options.span_only,
                          r.extent(0) != 0, options.inverse_apply);
    if (r.extent(0) != 0) Kokkos::deep_copy(exec, r, device_r);
  }
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
