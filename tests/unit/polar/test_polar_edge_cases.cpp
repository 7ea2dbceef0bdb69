// Issue 10: polar/sign/sqrt of 1 x 1 and exactly converged inputs, inputs scaled to the ends of the
// floating-point range, rank-deficient inputs, and a missed tolerance reported instead of thrown.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/random.hpp"
#include "strata/polar/batched.hpp"
#include "strata/polar/newton_schulz.hpp"
#include "support/allclose.hpp"

namespace {

namespace polar = strata::polar;
using strata::Matrix;

template <class T>
Matrix<T> from_rows(const std::vector<std::vector<double>>& rows, double scale = 1) {
  Matrix<T> a("a", rows.size(), rows[0].size());
  auto h = Kokkos::create_mirror_view(a);
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = 0; j < rows[0].size(); ++j) h(i, j) = static_cast<T>(scale * rows[i][j]);
  Kokkos::deep_copy(a, h);
  return a;
}

template <class T>
double max_difference(const Matrix<T>& a, const Matrix<T>& b, double scale_b = 1) {
  const auto ha = strata::testing::to_host(a);
  const auto hb = strata::testing::to_host(b);
  double d = 0;
  for (std::size_t i = 0; i < ha.extent(0); ++i)
    for (std::size_t j = 0; j < ha.extent(1); ++j)
      d = std::max(
          d, std::abs(static_cast<double>(ha(i, j)) - scale_b * static_cast<double>(hb(i, j))));
  return d;
}

template <class T>
class PolarEdgeCases : public ::testing::Test {
 protected:
  static double u() { return std::numeric_limits<T>::epsilon() / 2; }
};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(PolarEdgeCases, Types);

// 1 x 1 and 2 x 1 inputs: the iteration reaches ||X^T X - I|| = 0 exactly, which used to be taken
// for "no progress" until max_steps ("no convergence in 60 steps (error 0, tolerance 0)"). The
// answers are exact; the iteration ends at error 0 or at the stagnation floor 16 sqrt(n) u, so
// |q - exact| <= 16 u.
TYPED_TEST(PolarEdgeCases, OneByOneAndTwoByOne) {
  using T = TypeParam;
  const strata::ExecSpace exec;
  const double tol = 16 * TestFixture::u();
  struct Case {
    std::vector<std::vector<double>> a, q;
  };
  for (const auto& c : std::vector<Case>{{{{2.0}}, {{1.0}}},
                                         {{{-3.0}}, {{-1.0}}},
                                         {{{1.0}, {0.0}}, {{1.0}, {0.0}}},
                                         {{{0.0, 5.0}}, {{0.0, 1.0}}}}) {
    const auto a = from_rows<T>(c.a);
    Matrix<T> q("q", a.extent(0), a.extent(1));
    const auto r = polar::polar_factor<T>(exec, a, q);
    EXPECT_LE(max_difference(q, from_rows<T>(c.q)), tol) << "polar of " << c.a[0][0];
    EXPECT_LE(r.error, tol);
    EXPECT_TRUE(r.converged);
  }
  Matrix<T> s("s", 1, 1), root("root", 1, 1), inverse("inverse", 1, 1);
  polar::matrix_sign<T>(exec, from_rows<T>({{2.0}}), s);
  EXPECT_LE(max_difference(s, from_rows<T>({{1.0}})), tol);
  polar::matrix_sign<T>(exec, from_rows<T>({{-3.0}}), s);
  EXPECT_LE(max_difference(s, from_rows<T>({{-1.0}})), tol);
  polar::sqrt_and_inverse_sqrt<T>(exec, from_rows<T>({{2.0}}), root, inverse);
  EXPECT_LE(max_difference(root, from_rows<T>({{std::sqrt(2.0)}})), 2 * tol);
  EXPECT_LE(max_difference(inverse, from_rows<T>({{1 / std::sqrt(2.0)}})), 2 * tol);
}

// An exactly converged start (orthonormal input, safety 1): 0 steps, error 0.
TYPED_TEST(PolarEdgeCases, ExactlyConvergedInputTakesNoStep) {
  using T = TypeParam;
  polar::IterationOptions o;
  o.safety = 1;
  const auto a = from_rows<T>({{1.0}});
  Matrix<T> q("q", 1, 1);
  const auto r = polar::polar_factor<T>(strata::ExecSpace(), a, q, o);
  EXPECT_EQ(r.iterations, 0);
  EXPECT_EQ(r.error, 0.0);
}

// polar(c M) = polar(M), sign(c S) = sign(S), sqrt(c S) = sqrt(c) sqrt(S) for c at the ends of the
// range (1e300 and the subnormal 1e-310 in double, 1e37 and the subnormal 1e-40 in float): no
// overflow (the norm's square used to be inf) or underflow (0: "the zero matrix"). Subnormal
// entries carry fewer bits: relative input perturbation <= (smallest subnormal) / c per entry
// (5e-14 in double, 1.4e-5 in float), amplified by at most 2 / sigma_min(M) < 10 here; the rounding
// of the iteration itself is <= 100 u (the unscaled case: same iteration, same rounding).
TYPED_TEST(PolarEdgeCases, ExtremeScaling) {
  using T = TypeParam;
  const strata::ExecSpace exec;
  const std::vector<std::vector<double>> m = {
      {3.0, 1.0, 0.5}, {1.0, 2.0, -1.0}, {0.0, 1.0, 4.0}, {2.0, -1.0, 1.0}};
  const std::vector<std::vector<double>> spd = {{4.0, 1.0}, {1.0, 3.0}};
  const bool dp = std::is_same_v<T, double>;
  const double big = dp ? 1e300 : 1e37, tiny = dp ? 1e-310 : 1e-40;
  const double denorm = static_cast<double>(std::numeric_limits<T>::denorm_min());
  Matrix<T> q_ref("q_ref", 4, 3), q("q", 4, 3);
  polar::polar_factor<T>(exec, from_rows<T>(m), q_ref);
  Matrix<T> root_ref("root_ref", 2, 2), root("root", 2, 2);
  polar::sqrt_and_inverse_sqrt<T>(exec, from_rows<T>(spd), root_ref, Matrix<T>());
  for (const double c : {big, tiny}) {
    const double tol = 10 * (c < 1 ? denorm / c : 0.0) + 100 * TestFixture::u();
    const auto r = polar::polar_factor<T>(exec, from_rows<T>(m, c), q);
    EXPECT_LE(max_difference(q, q_ref), tol) << "c = " << c;
    EXPECT_TRUE(std::isfinite(r.scale) && r.scale > 0) << "c = " << c;
    polar::IterationOptions spectral;
    spectral.scaling = polar::Scaling::spectral_estimate;
    polar::polar_factor<T>(exec, from_rows<T>(m, c), q, spectral);
    EXPECT_LE(max_difference(q, q_ref), tol) << "spectral scaling, c = " << c;
    Matrix<T> s("s", 2, 2);
    polar::matrix_sign<T>(exec, from_rows<T>(spd, c), s);
    EXPECT_LE(max_difference(s, from_rows<T>({{1.0, 0.0}, {0.0, 1.0}})), tol) << "c = " << c;
    polar::sqrt_and_inverse_sqrt<T>(exec, from_rows<T>(spd, c), root, Matrix<T>());
    // root / sqrt(c) vs root_ref, relative to ||sqrt(S)|| ~ 2.
    EXPECT_LE(max_difference(root_ref, root, 1 / std::sqrt(c)), 2 * tol) << "c = " << c;
  }
  // Batched, one matrix per magnitude.
  strata::Batch<T> a("a", 4, 3, 3), qb("qb", 4, 3, 3);
  auto ha = Kokkos::create_mirror_view(a);
  const double scales[3] = {1.0, big, tiny};
  for (int b = 0; b < 3; ++b)
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 3; ++j) ha(i, j, b) = static_cast<T>(scales[b] * m[i][j]);
  Kokkos::deep_copy(a, ha);
  polar::polar_factor_batched<T>(exec, a, qb);
  for (int b = 0; b < 3; ++b) {
    Matrix<T> slice("slice", 4, 3);
    Kokkos::deep_copy(slice, Kokkos::subview(qb, Kokkos::ALL, Kokkos::ALL, b));
    const double tol = 10 * (scales[b] < 1 ? denorm / scales[b] : 0.0) + 100 * TestFixture::u();
    EXPECT_LE(max_difference(slice, q_ref), tol) << "batch entry " << b;
  }
}

// Rank deficiency: the polar factor is not unique. Detected (with the numerical rank) instead of
// running to max_steps. A full-rank matrix with sigma_min / sigma_max = 30 max(m, n) eps, far below
// the assumed lower bound 1e-3 but above the rank threshold max(m, n) eps, still converges.
TYPED_TEST(PolarEdgeCases, RankDeficiency) {
  using T = TypeParam;
  const strata::ExecSpace exec;
  // Columns 0, 1 of M and their sum.
  const auto deficient = from_rows<T>(
      {{3.0, 1.0, 4.0}, {1.0, 2.0, 3.0}, {0.0, 1.0, 1.0}, {2.0, -1.0, 1.0}, {1.0, 1.0, 2.0}});
  Matrix<T> q("q", 5, 3);
  try {
    polar::polar_factor<T>(exec, deficient, q);
    ADD_FAILURE() << "a rank-deficient input must be refused";
  } catch (const strata::NumericalError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("rank deficient"), std::string::npos) << what;
    EXPECT_NE(what.find("numerical rank 2"), std::string::npos) << what;
    EXPECT_NE(what.find("not unique"), std::string::npos) << what;
  }
  // The same matrix, wide (transposed): the same answer.
  const auto ht = strata::testing::to_host(deficient);
  Matrix<T> wide("wide", 3, 5), qw("qw", 3, 5);
  auto hw = Kokkos::create_mirror_view(wide);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 3; ++j) hw(j, i) = ht(i, j);
  Kokkos::deep_copy(wide, hw);
  EXPECT_THROW(polar::polar_factor<T>(exec, wide, qw), strata::NumericalError);
  // diag(1, 30 max(m, n) eps) embedded in 3 x 2: full rank, converges to [I; 0].
  const double small = 30 * 3 * 2 * TestFixture::u();
  Matrix<T> q2("q2", 3, 2);
  const auto r =
      polar::polar_factor<T>(exec, from_rows<T>({{1.0, 0.0}, {0.0, small}, {0.0, 0.0}}), q2);
  EXPECT_LE(max_difference(q2, from_rows<T>({{1.0, 0.0}, {0.0, 1.0}, {0.0, 0.0}})),
            16 * TestFixture::u());
  EXPECT_TRUE(r.converged);
  // Fixed steps (the ML setting) apply to rank-deficient matrices without complaint.
  polar::IterationOptions fixed;
  fixed.steps = 5;
  EXPECT_NO_THROW(polar::polar_factor<T>(exec, deficient, q, fixed));
}

// A tolerance below the rounding floor: thrown by default, reported with converged = false when
// throw_if_not_converged is off (the CLI's exit status 3), with the achieved error.
TYPED_TEST(PolarEdgeCases, MissedToleranceIsReported) {
  using T = TypeParam;
  const strata::ExecSpace exec;
  const auto a = from_rows<T>({{3.0, 1.0}, {1.0, 2.0}, {0.0, 1.0}});
  Matrix<T> q("q", 3, 2);
  polar::IterationOptions o;
  o.tolerance = 1e-30;
  EXPECT_THROW(polar::polar_factor<T>(exec, a, q, o), strata::NumericalError);
  o.throw_if_not_converged = false;
  const auto r = polar::polar_factor<T>(exec, a, q, o);
  EXPECT_FALSE(r.converged);
  EXPECT_GT(r.error, o.tolerance);
  // At the floor 16 sqrt(n) u of the stagnation test.
  EXPECT_LE(r.error, 16 * std::sqrt(2.0) * TestFixture::u());
  o.tolerance = 0;
  o.max_steps = 2;  // too few for working precision
  const auto short_run = polar::polar_factor<T>(exec, a, q, o);
  EXPECT_FALSE(short_run.converged);
  EXPECT_EQ(short_run.iterations, 2);
}

// Fixed-step mode measures every step's error without waiting for the device (run_iteration's
// deferred errors): the history must be the one the waiting loop records. Its first entry (the
// scaled input) is the same measurement as in tolerance mode; the last is ||Q^T Q - I||_F of the
// returned Q, which a long-double host computation reproduces to within the rounding of the Gram
// product, |fl(G) - G| <= gamma_m |Q|^T |Q| entrywise, so at most gamma_m ||Q||_F^2 ~ m n u
// (||Q||_F^2 ~ n) in Frobenius norm; 4 m n u covers gamma_m and the reduction. Without
// report_error the iterate is the same (bit for bit) and the last entry is 0.
TYPED_TEST(PolarEdgeCases, FixedStepsRecordTheSameHistoryWithoutWaiting) {
  using T = TypeParam;
  const strata::ExecSpace exec;
  const std::size_t m = 40, n = 12;
  Matrix<T> a("a", m, n), q("q", m, n), q_silent("q_silent", m, n), q_tol("q_tol", m, n);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 3, 0}, a);
  polar::IterationOptions fixed;
  fixed.steps = 6;
  const auto r = polar::polar_factor<T>(exec, a, q, fixed);
  ASSERT_EQ(r.iterations, 6);
  ASSERT_EQ(r.error_history.size(), 7u);
  EXPECT_EQ(r.error_history.back(), r.error);
  const auto tolerance_run = polar::polar_factor<T>(exec, a, q_tol);
  EXPECT_NEAR(r.error_history.front(), tolerance_run.error_history.front(),
              4 * m * n * TestFixture::u());
  const auto hq = strata::testing::to_host(q);
  long double sum = 0;
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < n; ++i) {
      long double g = 0;
      for (std::size_t l = 0; l < m; ++l)
        g += static_cast<long double>(hq(l, i)) * static_cast<long double>(hq(l, j));
      const long double d = g - (i == j ? 1 : 0);
      sum += d * d;
    }
  EXPECT_NEAR(r.error, static_cast<double>(std::sqrt(sum)), 4 * m * n * TestFixture::u());
  fixed.report_error = false;
  const auto silent = polar::polar_factor<T>(exec, a, q_silent, fixed);
  EXPECT_EQ(silent.iterations, 6);
  EXPECT_EQ(silent.error, 0);
  ASSERT_EQ(silent.error_history.size(), 7u);
  EXPECT_EQ(silent.error_history.back(), 0);
  for (std::size_t t = 0; t < 6; ++t) EXPECT_EQ(silent.error_history[t], r.error_history[t]) << t;
  EXPECT_EQ(max_difference(q, q_silent), 0);
  // The sign iteration takes the same path: ||S^2 - I||_F of the returned S, recomputed.
  const auto sym = from_rows<T>({{2.0, 1.0, 0.0}, {1.0, -3.0, 1.0}, {0.0, 1.0, 1.5}});
  Matrix<T> s("s", 3, 3);
  polar::IterationOptions sign_fixed;
  sign_fixed.steps = 8;
  sign_fixed.lower = 0.05;
  const auto rs = polar::matrix_sign<T>(exec, sym, s, sign_fixed);
  ASSERT_EQ(rs.error_history.size(), 9u);
  const auto hs = strata::testing::to_host(s);
  long double sign_sum = 0;
  for (std::size_t j = 0; j < 3; ++j)
    for (std::size_t i = 0; i < 3; ++i) {
      long double g = 0;
      for (std::size_t l = 0; l < 3; ++l)
        g += static_cast<long double>(hs(i, l)) * static_cast<long double>(hs(l, j));
      const long double d = g - (i == j ? 1 : 0);
      sign_sum += d * d;
    }
  EXPECT_NEAR(rs.error, static_cast<double>(std::sqrt(sign_sum)), 4 * 3 * 3 * TestFixture::u());
}

}  // namespace
