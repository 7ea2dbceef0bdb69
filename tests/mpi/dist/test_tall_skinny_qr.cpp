// Distributed tall-skinny QR against LAPACK's Householder QR of the whole matrix, at any rank
// count.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/dist/operations.hpp"
#include "strata/dist/tall_skinny_qr.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "support/allclose.hpp"

namespace {

using strata::DistMatrix;
using strata::HostMatrix;
using strata::TallSkinnyQrMethod;

template <class T>
double unit_roundoff() {
  return std::numeric_limits<T>::epsilon() / 2;
}

/// X = G M with G (m x k) Gaussian from the counter-based stream and M = diag(10^(-e j/(k-1))) W,
/// W a fixed well-conditioned mixing, so cond(X) ~ 10^e. Each rank builds its own rows.
template <class T>
DistMatrix<T> conditioned_matrix(const strata::Comm& comm, std::size_t m, std::size_t k,
                                 double exponent, std::uint64_t seed) {
  const strata::ExecSpace exec;
  DistMatrix<T> g(comm, m, k), x(comm, m, k);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, seed, 0}, g);
  HostMatrix<T> mix("mix", k, k);
  for (std::size_t j = 0; j < k; ++j)
    for (std::size_t i = 0; i < k; ++i) {
      const double scale = std::pow(10.0, -exponent * static_cast<double>(i) / (k - 1));
      mix(i, j) = static_cast<T>(scale * ((i == j ? 2.0 : 0.0) + 1.0 / (1.0 + i + 2.0 * j)));
    }
  auto device_mix = Kokkos::create_mirror_view_and_copy(strata::MemSpace(), mix);
  strata::multiply_replicated(exec, g, strata::ConstMatrix<T>(device_mix), x);
  return x;
}

template <class T>
HostMatrix<T> gathered(const DistMatrix<T>& x) {
  return strata::testing::to_host(strata::allgather_rows(strata::ExecSpace(), x));
}

template <class T>
double orthogonality_error(const HostMatrix<T>& q) {
  const std::size_t m = q.extent(0), k = q.extent(1);
  double sum = 0;
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j) {
      long double dot = 0;
      for (std::size_t r = 0; r < m; ++r) dot += static_cast<long double>(q(r, i)) * q(r, j);
      const double e = static_cast<double>(dot) - (i == j ? 1.0 : 0.0);
      sum += e * e;
    }
  return std::sqrt(sum);
}

/// ||Q R - X||_F / ||X||_F.
template <class T>
double reconstruction_error(const HostMatrix<T>& q, const HostMatrix<T>& r,
                            const HostMatrix<T>& x) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < x.extent(0); ++i)
    for (std::size_t j = 0; j < x.extent(1); ++j) {
      long double s = 0;
      for (std::size_t l = 0; l <= j; ++l) s += static_cast<long double>(q(i, l)) * r(l, j);
      num += std::pow(static_cast<double>(s) - x(i, j), 2);
      den += std::pow(static_cast<double>(x(i, j)), 2);
    }
  return std::sqrt(num / den);
}

struct Case {
  TallSkinnyQrMethod method;
  double log10_condition;
  bool expect_shift;
  strata::InverseApply apply = strata::InverseApply::automatic;
};

/// How many cases compared Q and R with LAPACK (each method must have some).
int comparisons_with_lapack = 0;

/// Returns the computed Q (gathered).
template <class T>
HostMatrix<T> check_against_lapack(const Case& c, std::size_t m, std::size_t k) {
  const strata::Comm comm;
  const strata::ExecSpace exec;
  auto x = conditioned_matrix<T>(comm, m, k, c.log10_condition, 7);
  const auto x_host = gathered(x);
  strata::Matrix<T> r("r", k, k);
  strata::TallSkinnyQrOptions options;
  options.method = c.method;
  options.inverse_apply = c.apply;
  const auto result = strata::tall_skinny_qr(exec, x, r, options);
  EXPECT_EQ(result.shifted, c.expect_shift);
  // Which passes took the explicit inverse (InverseApply): with inverse_gemm exactly the last one
  // (CholeskyQR2's second pass; after a shift the third, the second's G being far from I); with
  // the triangular solve none; automatic: the GEMM on GPU backends only.
  if (c.method == TallSkinnyQrMethod::cholesky_qr2) {
    const bool gemm = c.apply == strata::InverseApply::inverse_gemm ||
                      (c.apply == strata::InverseApply::automatic &&
                       !strata::kx::runs_on_host<strata::ExecSpace>);
    EXPECT_EQ(result.inverse_passes, gemm ? 1 : 0) << "cond 1e" << c.log10_condition;
  } else {
    EXPECT_EQ(result.inverse_passes, 0);
  }
  const auto q = gathered(x);
  const auto r_host = strata::testing::to_host(r);
  const double u = unit_roundoff<T>();

  // Orthogonality: CholeskyQR2 gives ||Q^T Q - I||_F <= 6 (m k u + k (k + 1) u) (Yamamoto et al.
  // 2015, Thm 3.2) for cond(X) < u^-1/2, shifted CholeskyQR3 the same order (Fukaya et al. 2020);
  // Householder QR is O(m k u) (Higham, Thm 19.4) with a small constant.
  const double orthogonality_bound = 6.0 * (m * k + k * (k + 1)) * u;
  EXPECT_LE(orthogonality_error(q), orthogonality_bound);
  // Backward error ||Q R - X||_F / ||X||_F is O(m k u) for both (same references).
  EXPECT_LE(reconstruction_error(q, r_host, x_host), orthogonality_bound);

  // Against LAPACK's Householder QR of the whole matrix, signs normalized to diag(R) > 0: the Q
  // factor of a full-rank X is unique, and its perturbation is bounded by ~cond(X) times the
  // backward errors of both factorizations (Stewart 1977; Higham, Thm 19.4 + §19.9).
  HostMatrix<T> q_ref("q_ref", m, k);
  Kokkos::deep_copy(q_ref, x_host);
  auto r_ref = strata::linalg::host::qr_in_place(q_ref);
  for (std::size_t j = 0; j < k; ++j) {
    if (r_ref(j, j) < 0)
      for (std::size_t i = 0; i < m; ++i) q_ref(i, j) = -q_ref(i, j);
  }
  // Both factorizations have backward errors of ~sqrt(m k) u on random inputs (the m k u of the
  // bounds above is the worst case, pessimistic by ~sqrt(m k): Higham, Sec. 19.3 and 3.4); the
  // unique Q and R of a full-rank X then move by at most ~2 cond(X) times that (Stewart 1977).
  // A factor 10 covers the constants. For cond(X) near u^-1 the bound exceeds 1 and Q is not
  // determined by X to any digit: the comparison is then skipped (it must run in the
  // well-conditioned cases, which every method has below).
  const double q_bound =
      std::pow(10.0, c.log10_condition) * 2 * 10 * std::sqrt(static_cast<double>(m * k)) * u;
  if (q_bound < 1e-2) {
    ++comparisons_with_lapack;
    EXPECT_LE(strata::testing::relative_frobenius_error(q, q_ref), q_bound);
    HostMatrix<T> r_ref_positive("r_ref_positive", k, k);
    for (std::size_t j = 0; j < k; ++j)
      for (std::size_t i = 0; i <= j; ++i)
        r_ref_positive(i, j) = r_ref(i, i) < 0 ? -r_ref(i, j) : r_ref(i, j);
    EXPECT_LE(strata::testing::relative_frobenius_error(r_host, r_ref_positive), q_bound);
  }
  return q;
}

TEST(TallSkinnyQr, CholeskyQr2OnAWellConditionedMatrixNeedsNoShift) {
  const int before = comparisons_with_lapack;
  check_against_lapack<double>({TallSkinnyQrMethod::cholesky_qr2, 3, false}, 1003, 12);
  check_against_lapack<float>({TallSkinnyQrMethod::cholesky_qr2, 1, false}, 1003, 12);
  EXPECT_EQ(comparisons_with_lapack - before, 2);
}

TEST(TallSkinnyQr, BothWaysOfApplyingTheInverseMeetTheSameBounds) {
  // Every bound of check_against_lapack (orthogonality, backward error, Q and R against LAPACK)
  // with the triangular solve and with the explicit inverse + GEMM (InverseApply), unshifted and
  // shifted. The GEMM is taken only in passes whose Gram matrix is within 0.1 of I; that it was
  // taken shows in Q, which then differs from the solve's in the last bits.
  using strata::InverseApply;
  for (const double e : {3.0, 11.0}) {
    const bool shift = e > 7;
    const auto solve = check_against_lapack<double>(
        {TallSkinnyQrMethod::cholesky_qr2, e, shift, InverseApply::triangular_solve}, 1003, 12);
    const auto gemm = check_against_lapack<double>(
        {TallSkinnyQrMethod::cholesky_qr2, e, shift, InverseApply::inverse_gemm}, 1003, 12);
    EXPECT_GT(strata::testing::relative_frobenius_error(gemm, solve), 0.0) << "cond 1e" << e;
  }
  for (const double e : {1.0, 5.0}) {
    const bool shift = e > 3;
    const auto solve = check_against_lapack<float>(
        {TallSkinnyQrMethod::cholesky_qr2, e, shift, InverseApply::triangular_solve}, 1003, 12);
    const auto gemm = check_against_lapack<float>(
        {TallSkinnyQrMethod::cholesky_qr2, e, shift, InverseApply::inverse_gemm}, 1003, 12);
    EXPECT_GT(strata::testing::relative_frobenius_error(gemm, solve), 0.0) << "cond 1e" << e;
  }
}

TEST(TallSkinnyQr, SpanOnlyByTheInverseKeepsTheSpan) {
  // orthonormalize with span_only and the explicit inverse (no R returned): one pass, Q
  // conditioned as one CholeskyQR pass leaves it (Yamamoto et al. 2015, Thm 3.1), and the span of
  // X to O(k u cond(X)): ||(I - P) Q||_F with P the projector on range(X) from LAPACK's QR.
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const std::size_t m = 1003, k = 12;
  const double u = unit_roundoff<double>();
  auto x = conditioned_matrix<double>(comm, m, k, 5, 11);
  const auto x_host = gathered(x);
  const auto sigma = strata::linalg::host::singular_values(HostMatrix<double>(x_host));
  const double cond = sigma.front() / sigma.back();
  strata::TallSkinnyQrOptions options;
  options.span_only = true;
  options.inverse_apply = strata::InverseApply::inverse_gemm;
  const auto result = strata::orthonormalize(exec, x, options);
  EXPECT_EQ(result.passes, 1);
  EXPECT_EQ(result.inverse_passes, 1);
  EXPECT_FALSE(result.shifted);
  const auto q = gathered(x);
  const double full_bound = 6.0 * (m * k + k * (k + 1)) * u;
  EXPECT_LE(orthogonality_error(q), full_bound * cond * cond);
  HostMatrix<double> q_ref("q_ref", m, k);
  Kokkos::deep_copy(q_ref, x_host);
  strata::linalg::host::qr_in_place(q_ref);
  // (I - Q_ref Q_ref^T) Q, in long double.
  double outside = 0;
  for (std::size_t j = 0; j < k; ++j) {
    std::vector<long double> c(k, 0);
    for (std::size_t l = 0; l < k; ++l)
      for (std::size_t i = 0; i < m; ++i) c[l] += static_cast<long double>(q_ref(i, l)) * q(i, j);
    for (std::size_t i = 0; i < m; ++i) {
      long double v = q(i, j);
      for (std::size_t l = 0; l < k; ++l) v -= q_ref(i, l) * c[l];
      outside += static_cast<double>(v * v);
    }
  }
  // Both the GEMM's rounding (|X| |Z| k u) and LAPACK's Q (m k u) move the span by at most about
  // cond(X) times their backward errors; 10 (m k) u cond(X) covers both with room.
  EXPECT_LE(std::sqrt(outside), 10.0 * m * k * u * cond);
  // With R asked for, the span-only pass keeps the solve (R must satisfy X = Q R to O(m k u)).
  auto x_r = conditioned_matrix<double>(comm, m, k, 5, 11);
  strata::Matrix<double> r("r", k, k);
  EXPECT_EQ(strata::tall_skinny_qr(exec, x_r, r, options).inverse_passes, 0);
  // The same pass by the triangular solve: the same bounds, other rounding.
  auto x_solve = conditioned_matrix<double>(comm, m, k, 5, 11);
  options.inverse_apply = strata::InverseApply::triangular_solve;
  EXPECT_EQ(strata::orthonormalize(exec, x_solve, options).inverse_passes, 0);
  EXPECT_GT(strata::testing::relative_frobenius_error(q, gathered(x_solve)), 0.0);
}

TEST(TallSkinnyQr, CholeskyQr2ShiftsForAnIllConditionedMatrix) {
  // cond ~ 1e11 > u^-1/2 ~ 6.7e7: plain CholeskyQR2 loses orthogonality, the shifted pass holds.
  check_against_lapack<double>({TallSkinnyQrMethod::cholesky_qr2, 11, true}, 1003, 12);
  check_against_lapack<float>({TallSkinnyQrMethod::cholesky_qr2, 5, true}, 1003, 12);
}

template <class T>
void check_span_only(double log10_condition, std::size_t m, std::size_t k) {
  const strata::Comm comm;
  const strata::ExecSpace exec;
  auto x = conditioned_matrix<T>(comm, m, k, log10_condition, 11);
  const auto x_host = gathered(x);
  const auto sigma = strata::linalg::host::singular_values(HostMatrix<T>(x_host));
  const double cond = static_cast<double>(sigma.front()) / static_cast<double>(sigma.back());
  strata::Matrix<T> r("r", k, k);
  strata::TallSkinnyQrOptions options;
  options.span_only = true;
  const auto result = strata::tall_skinny_qr(exec, x, r, options);
  const auto q = gathered(x);
  const double u = unit_roundoff<T>();
  const double full_bound = 6.0 * (m * k + k * (k + 1)) * u;
  // X = Q R to the backward error of one triangular solve per row (Higham, Thm 8.5): the same
  // O(m k u) bound as the full factorization, whether one pass or three ran.
  EXPECT_LE(reconstruction_error(q, strata::testing::to_host(r), x_host), full_bound);
  if (cond < 0.1 / std::sqrt(u)) {
    // One unshifted pass: ||Q^T Q - I|| <= 6 (m k u + k (k + 1) u) cond(X)^2 (Yamamoto et al.
    // 2015, Thm 3.1, with the constants of the test above). It must also be visibly worse than
    // the full CholeskyQR2 of the same X where cond^2 u is far above rounding (the fp64 case,
    // cond^2 u ~ 1e-6): that shows the second pass was skipped, whatever the bounds' pessimism.
    // (fp32 allows cond < 0.1 u^-1/2 ~ 400 only, where one pass is already near rounding.)
    EXPECT_FALSE(result.shifted);
    EXPECT_EQ(result.passes, 1);
    EXPECT_LE(orthogonality_error(q), full_bound * cond * cond);
    auto x_full = conditioned_matrix<T>(comm, m, k, log10_condition, 11);
    strata::tall_skinny_qr(exec, x_full, strata::Matrix<T>());
    if (std::is_same_v<T, double>) {
      EXPECT_GT(orthogonality_error(q), 10 * orthogonality_error(gathered(x_full)));
    }
  } else {
    // Beyond u^-1/2 the shifted pass runs and span_only does not stop after it.
    EXPECT_TRUE(result.shifted);
    EXPECT_EQ(result.passes, 3);
    EXPECT_LE(orthogonality_error(q), full_bound);
  }
}

TEST(TallSkinnyQr, SpanOnlyStopsAfterOneUnshiftedPass) {
  check_span_only<double>(5, 1003, 12);  // cond^2 u ~ 1e-6: the one-pass check runs
  check_span_only<float>(2, 1003, 12);
  check_span_only<double>(11, 1003, 12);
}

TEST(TallSkinnyQr, HouseholderTsqrMatchesLapack) {
  const int before = comparisons_with_lapack;
  check_against_lapack<double>({TallSkinnyQrMethod::householder, 3, false}, 1003, 12);
  check_against_lapack<float>({TallSkinnyQrMethod::householder, 1, false}, 1003, 12);
  EXPECT_EQ(comparisons_with_lapack - before, 2);
  // Orthogonality and backward error hold at cond ~ 1e11 too.
  check_against_lapack<double>({TallSkinnyQrMethod::householder, 11, false}, 1003, 12);
}

TEST(TallSkinnyQr, FewerLocalRowsThanColumnsOnSomeRanks) {
  // 13 rows over 4 ranks leaves 3-4 rows per rank for 6 columns.
  check_against_lapack<double>({TallSkinnyQrMethod::householder, 2, false}, 13, 6);
  check_against_lapack<double>({TallSkinnyQrMethod::cholesky_qr2, 2, false}, 13, 6);
}

TEST(TallSkinnyQr, EqualsTheSingleRankResult) {
  const strata::Comm comm;
  const strata::ExecSpace exec;
  for (auto method : {TallSkinnyQrMethod::cholesky_qr2, TallSkinnyQrMethod::householder}) {
    auto x = conditioned_matrix<double>(comm, 517, 9, 4, 3);
    strata::orthonormalize(exec, x, {method});
    auto serial = conditioned_matrix<double>(strata::Comm::self(), 517, 9, 4, 3);
    strata::orthonormalize(exec, serial, {method});
    // Both are the unique Q of the same X: equal to cond(X) * O(m k u).
    EXPECT_LE(strata::testing::relative_frobenius_error(gathered(x), gathered(serial)),
              1e4 * 6.0 * (517 * 9 + 90) * unit_roundoff<double>());
  }
}

TEST(TallSkinnyQr, AZeroColumnDefeatsCholeskyButNotHouseholder) {
  const strata::Comm comm;
  const strata::ExecSpace exec;
  for (auto method : {TallSkinnyQrMethod::cholesky_qr2, TallSkinnyQrMethod::householder}) {
    auto x = conditioned_matrix<double>(comm, 200, 5, 1, 11);
    Kokkos::deep_copy(Kokkos::subview(x.local(), Kokkos::ALL, 2), 0.0);
    if (method == TallSkinnyQrMethod::cholesky_qr2) {
      // The shifted pass succeeds, but the zero column stays zero and the next Gram matrix is
      // singular: every rank throws the same error.
      EXPECT_THROW(strata::orthonormalize(exec, x, {method}), strata::NumericalError);
    } else {
      strata::orthonormalize(exec, x, {method});
      EXPECT_LE(orthogonality_error(gathered(x)), 6.0 * (200 * 5 + 30) * unit_roundoff<double>());
    }
  }
}

TEST(TallSkinnyQr, HouseholderFallbackFinishesWhereCholeskyFails) {
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const std::size_t m = 200, k = 5;
  const double u = unit_roundoff<double>();
  strata::TallSkinnyQrOptions options;
  options.householder_fallback = true;
  // A zero column: the shifted pass succeeds and the next Gram matrix is singular, so TSQR
  // finishes on X R_1^-1 and R = R' R_1. A zero X: TSQR at once (R = 0).
  for (const bool whole : {false, true}) {
    auto x = conditioned_matrix<double>(comm, m, k, 1, 11);
    if (whole) {
      Kokkos::deep_copy(x.local(), 0.0);
    } else {
      Kokkos::deep_copy(Kokkos::subview(x.local(), Kokkos::ALL, 2), 0.0);
    }
    const auto x_host = gathered(x);
    strata::Matrix<double> r("r", k, k);
    const auto result = strata::tall_skinny_qr(exec, x, r, options);
    EXPECT_TRUE(result.fell_back);
    EXPECT_EQ(result.shifted, !whole);
    EXPECT_EQ(result.passes, whole ? 1 : 2);
    const auto q = gathered(x);
    const auto r_host = strata::testing::to_host(r);
    // Householder TSQR: ||Q^T Q - I||_F = O(m k u) (Higham, Thm 19.4), the constant 6 of the
    // CholeskyQR2 bound above is ample.
    EXPECT_LE(orthogonality_error(q), 6.0 * (m * k + k * (k + 1)) * u) << "zero X: " << whole;
    if (whole) {
      for (std::size_t i = 0; i < k * k; ++i) EXPECT_EQ(r_host.data()[i], 0.0);
    } else {
      // X = X_1 R_1 holds to the backward error of the triangular solve, O(k u |X_1| |R_1|), and
      // Q R' = X_1 to O(m k u ||X_1||) with ||X_1|| = O(sqrt(k)) after a shifted pass: with
      // ||R_1|| ~ ||X||, the relative residual is O((m + k) k u), here times a safety of 6.
      EXPECT_LE(reconstruction_error(q, r_host, x_host), 6.0 * (m + k) * k * u);
      for (std::size_t j = 0; j < k; ++j)
        for (std::size_t i = j + 1; i < k; ++i) EXPECT_EQ(r_host(i, j), 0.0);
    }
  }
}

TEST(TallSkinnyQr, BadInput) {
  const strata::Comm comm;
  const strata::ExecSpace exec;
  DistMatrix<double> wide(comm, 4, 6);
  EXPECT_THROW(strata::orthonormalize(exec, wide), strata::ShapeMismatch);
  auto x = conditioned_matrix<double>(comm, 50, 4, 1, 5);
  strata::Matrix<double> wrong_r("r", 3, 4);
  EXPECT_THROW(strata::tall_skinny_qr(exec, x, wrong_r), strata::ShapeMismatch);
  for (auto method : {TallSkinnyQrMethod::cholesky_qr2, TallSkinnyQrMethod::householder}) {
    auto y = conditioned_matrix<double>(comm, 50, 4, 1, 5);
    if (comm.rank() == comm.size() - 1)
      Kokkos::deep_copy(Kokkos::subview(y.local(), 0, Kokkos::ALL),
                        std::numeric_limits<double>::quiet_NaN());
    EXPECT_THROW(strata::orthonormalize(exec, y, {method}), strata::NonFiniteInput);
  }
}

}  // namespace
