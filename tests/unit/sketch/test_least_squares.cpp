// Sketch-and-precondition (Blendenpik/LSRN + LSQR) and sketch-and-solve least squares against the
// solution from LAPACK's Householder QR of the whole matrix, on matrices with known condition
// numbers.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "lowrank_fixtures.hpp"
#include "strata/sketch/least_squares.hpp"

namespace {

using strata::HostMatrix;
namespace sketch = strata::sketch;
namespace st = strata::testing;

std::vector<double> log_spaced(std::size_t n, double cond) {
  std::vector<double> s(n);
  for (std::size_t j = 0; j < n; ++j) s[j] = std::pow(cond, -static_cast<double>(j) / (n - 1));
  return s;
}

/// min ||A x - b|| by LAPACK QR (xGEQRF + xORGQR through host_lapack) and back substitution.
HostMatrix<double> reference_solution(const HostMatrix<double>& a, const HostMatrix<double>& b) {
  HostMatrix<double> q("q", a.extent(0), a.extent(1));
  Kokkos::deep_copy(q, a);
  const auto r = strata::linalg::host::qr_in_place(q);
  const std::size_t n = a.extent(1);
  HostMatrix<double> x("x", n, b.extent(1));
  for (std::size_t c = 0; c < b.extent(1); ++c) {
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t l = 0; l < a.extent(0); ++l) x(i, c) += q(l, i) * b(l, c);
    for (std::size_t i = n; i-- > 0;) {
      for (std::size_t j = i + 1; j < n; ++j) x(i, c) -= r(i, j) * x(j, c);
      x(i, c) /= r(i, i);
    }
  }
  return x;
}

double column_norm(const HostMatrix<double>& x, std::size_t c) {
  double s = 0;
  for (std::size_t i = 0; i < x.extent(0); ++i) s += x(i, c) * x(i, c);
  return std::sqrt(s);
}

/// b = A x_true + a residual of relative size `noise` (columns of a Gaussian matrix).
HostMatrix<double> right_hand_sides(const HostMatrix<double>& a, std::size_t k, double noise) {
  HostMatrix<double> x("x_true", a.extent(1), k), e("e", a.extent(0), k), b("b", a.extent(0), k);
  strata::fill_random(strata::HostExecSpace(),
                      strata::RandomStream{strata::Distribution::gaussian, 5, 1}, x);
  strata::fill_random(strata::HostExecSpace(),
                      strata::RandomStream{strata::Distribution::gaussian, 5, 2}, e);
  for (std::size_t c = 0; c < k; ++c)
    for (std::size_t i = 0; i < a.extent(0); ++i) {
      for (std::size_t j = 0; j < a.extent(1); ++j) b(i, c) += a(i, j) * x(j, c);
      b(i, c) += noise * e(i, c);
    }
  return b;
}

template <class T>
class LeastSquares : public ::testing::Test {
 protected:
  static double u() { return std::numeric_limits<T>::epsilon() / 2; }
};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(LeastSquares, Scalars);

TYPED_TEST(LeastSquares, PreconditionedLsqrMatchesLapack) {
  using T = TypeParam;
  const std::size_t m = 400, n = 30, k = 3;
  const double cond = std::is_same_v<T, double> ? 1e6 : 1e2;
  const auto a_host = st::with_spectrum(m, n, log_spaced(n, cond), 81);
  const auto b_host = right_hand_sides(a_host, k, 1e-3);
  const auto x_ref = reference_solution(a_host, b_host);
  sketch::LeastSquaresOptions o;
  o.sketch_operator = sketch::OperatorKind::gaussian;  // the setting of the LSRN bound below
  const auto r = sketch::least_squares<T>(strata::ExecSpace(), st::to_device_as<T>(a_host),
                                          st::to_device_as<T>(b_host), o);
  EXPECT_TRUE(r.converged);
  EXPECT_EQ(r.sketch_rows, static_cast<strata::index_type>(2 * n));
  EXPECT_GT(r.iterations, 0);
  // A Gaussian sketch with d = 2n gives kappa = cond_2(A R^-1) <~ (1 + 1/sqrt 2) / (1 - 1/sqrt 2)
  // = 5.8 (LSRN). The solver's own estimate (Frobenius, <= n cond_2) is only a report; the
  // observable consequence is the iteration count: LSQR (= CG on the normal equations) reduces
  // the error by 2 ((kappa - 1) / (kappa + 1))^j, so reaching atol = 10 eps(T) on a criterion
  // that is up to kappa times the error takes at most log(10 eps / (2 kappa)) / log(0.706)
  // iterations (double: 104, float: 41); +5 for the start-up and the stopping test's lag.
  EXPECT_LT(r.preconditioned_condition, 5.8 * double(n));
  const double kappa = 5.8, eps = std::numeric_limits<T>::epsilon();
  const double max_iterations =
      std::log(10 * eps / (2 * kappa)) / std::log((kappa - 1) / (kappa + 1)) + 5;
  EXPECT_LE(double(r.iterations), max_iterations);
  const auto x = st::to_host_double(r.x);
  // A and b as the solver saw them (rounded to T), for the residuals below.
  const auto a_t = st::to_host_double(st::to_device_as<T>(a_host));
  const auto b_t = st::to_host_double(st::to_device_as<T>(b_host));
  for (std::size_t c = 0; c < k; ++c) {
    // Both solutions carry the forward error of a backward-stable solver,
    //   ||dx|| / ||x|| <~ c_mn u (cond + cond^2 ||r|| / (||A|| ||x||)),
    // with c_mn taken as n; the data themselves were rounded to T (same order).
    double diff = 0;
    for (std::size_t i = 0; i < n; ++i) diff += (x(i, c) - x_ref(i, c)) * (x(i, c) - x_ref(i, c));
    const double xnorm = column_norm(x_ref, c);
    const double rnorm = r.residual_norm[c];
    const double bound = double(n) * this->u() * (cond + cond * cond * rnorm / xnorm);
    EXPECT_LE(std::sqrt(diff) / xnorm, bound) << "column " << c;
    // The normal-equation residual, computed here in double from the returned x (not the solver's
    // report): a backward-stable x solves a problem with ||dA|| <= c u ||A||, so ||A^T (b - A x)||
    // <~ c u ||A|| (||A|| ||x|| + ||r||) with ||A|| = 1; c = 10 n. Storing x in T adds u ||x||.
    std::vector<double> res(m), normal(n, 0.0);
    for (std::size_t i = 0; i < m; ++i) {
      res[i] = b_t(i, c);
      for (std::size_t j = 0; j < n; ++j) res[i] -= a_t(i, j) * x(j, c);
    }
    double normal_norm = 0;
    for (std::size_t j = 0; j < n; ++j) {
      for (std::size_t i = 0; i < m; ++i) normal[j] += a_t(i, j) * res[i];
      normal_norm += normal[j] * normal[j];
    }
    normal_norm = std::sqrt(normal_norm);
    EXPECT_LE(normal_norm, double(n) * this->u() * (xnorm + rnorm) * 10) << "column " << c;
    // The report agrees with it to within the same rounding level.
    EXPECT_NEAR(r.normal_residual_norm[c], normal_norm,
                double(n) * this->u() * (xnorm + rnorm) * 10);
  }
}

TEST(LeastSquaresSolve, SketchAndSolveIsNearlyOptimal) {
  const std::size_t m = 600, n = 20;
  const auto a_host = st::with_spectrum(m, n, log_spaced(n, 1e3), 91);
  const auto b_host = right_hand_sides(a_host, 1, 1.0);
  const auto x_ref = reference_solution(a_host, b_host);
  double best = 0;
  for (std::size_t i = 0; i < m; ++i) {
    double ri = -b_host(i, 0);
    for (std::size_t j = 0; j < n; ++j) ri += a_host(i, j) * x_ref(j, 0);
    best += ri * ri;
  }
  best = std::sqrt(best);
  sketch::LeastSquaresOptions o;
  o.method = sketch::LeastSquaresMethod::sketch_and_solve;
  o.sketch_operator = sketch::OperatorKind::gaussian;  // the exact expectation below is Gaussian
  const auto r = sketch::least_squares<double>(
      strata::ExecSpace(), st::to_device_as<double>(a_host), st::to_device_as<double>(b_host), o);
  EXPECT_EQ(r.iterations, 0);
  EXPECT_EQ(r.sketch_rows, 4 * static_cast<strata::index_type>(n));
  // Gaussian S with d rows: E ||A x_s - b||^2 = (1 + n / (d - n - 1)) ||r*||^2 (exact for Gaussian
  // sketches); allow three times the expected excess (Markov: probability <= 1/3, fixed seed).
  const double d = 4.0 * n;
  EXPECT_LE(r.residual_norm[0], best * std::sqrt(1 + 3 * n / (d - n - 1)));
  EXPECT_GE(r.residual_norm[0], best * (1 - 1e-12));
}

TEST(LeastSquaresOperators, EveryOperatorMatchesLapack) {
  // Sketch-and-precondition converges to the exact solution whatever the sketch, provided S A has
  // full rank: every operator kind must give LAPACK's solution to the backward-stable forward
  // error bound of PreconditionedLsqrMatchesLapack; sketch-and-solve must give a residual within
  // the subspace-embedding factor. For sparse sign with d = 4n and nnz = 8 and SRHT with d = 4n
  // the embedding distortion eps satisfies (1 + eps)/(1 - eps) <= 3 with high probability for
  // these sizes (Meng & Mahoney 2013 Thm. 1; Tropp 2011 Thm. 3.1); sketch-and-solve then gives
  // ||A x_s - b|| <= (1 + eps)/(1 - eps) ||r*|| (Woodruff 2014, Thm. 2.14 proof), so 3 ||r*||.
  const std::size_t m = 500, n = 25;
  const double cond = 1e6;
  const auto a_host = st::with_spectrum(m, n, log_spaced(n, cond), 83);
  const auto b_host = right_hand_sides(a_host, 2, 1e-3);
  const auto x_ref = reference_solution(a_host, b_host);
  const double u = std::numeric_limits<double>::epsilon() / 2;
  for (const auto kind : {sketch::OperatorKind::gaussian, sketch::OperatorKind::rademacher,
                          sketch::OperatorKind::srht, sketch::OperatorKind::sparse_sign}) {
    sketch::LeastSquaresOptions o;
    o.sketch_operator = kind;
    const auto r = sketch::least_squares<double>(
        strata::ExecSpace(), st::to_device_as<double>(a_host), st::to_device_as<double>(b_host), o);
    EXPECT_TRUE(r.converged) << sketch::operator_name(kind);
    EXPECT_LT(r.iterations, 200) << sketch::operator_name(kind);
    const auto x = st::to_host_double(r.x);
    for (std::size_t c = 0; c < 2; ++c) {
      double diff = 0;
      for (std::size_t i = 0; i < n; ++i) diff += (x(i, c) - x_ref(i, c)) * (x(i, c) - x_ref(i, c));
      const double xnorm = column_norm(x_ref, c);
      const double bound = double(n) * u * (cond + cond * cond * r.residual_norm[c] / xnorm);
      EXPECT_LE(std::sqrt(diff) / xnorm, bound) << sketch::operator_name(kind) << " column " << c;
    }
    o.method = sketch::LeastSquaresMethod::sketch_and_solve;
    const auto s = sketch::least_squares<double>(
        strata::ExecSpace(), st::to_device_as<double>(a_host), st::to_device_as<double>(b_host), o);
    for (std::size_t c = 0; c < 2; ++c) {
      double best = 0;
      for (std::size_t i = 0; i < m; ++i) {
        double ri = -b_host(i, c);
        for (std::size_t j = 0; j < n; ++j) ri += a_host(i, j) * x_ref(j, c);
        best += ri * ri;
      }
      best = std::sqrt(best);
      EXPECT_LE(s.residual_norm[c], 3 * best) << sketch::operator_name(kind);
      EXPECT_GE(s.residual_norm[c], best * (1 - 1e-9)) << sketch::operator_name(kind);
    }
  }
  // The square rotation is not a sketch.
  sketch::LeastSquaresOptions o;
  o.sketch_operator = sketch::OperatorKind::hadamard;
  EXPECT_THROW(sketch::least_squares<double>(strata::ExecSpace(), st::to_device_as<double>(a_host),
                                             st::to_device_as<double>(b_host), o),
               strata::InvalidArgument);
}

TEST(LeastSquaresErrors, BadInputIsRejectedClearly) {
  const strata::ExecSpace exec;
  const auto a_host = st::with_spectrum(50, 10, log_spaced(10, 10), 101);
  const auto b_host = right_hand_sides(a_host, 1, 0.1);
  const auto a = st::to_device_as<double>(a_host);
  const auto b = st::to_device_as<double>(b_host);
  // m < n.
  const auto wide = st::to_device_as<double>(st::with_spectrum(5, 10, log_spaced(5, 10), 102));
  EXPECT_THROW(sketch::least_squares<double>(exec, wide, strata::Matrix<double>("b", 5, 1)),
               strata::ShapeMismatch);
  // b with the wrong number of rows.
  EXPECT_THROW(sketch::least_squares<double>(exec, a, strata::Matrix<double>("b", 49, 1)),
               strata::ShapeMismatch);
  // Fewer sketch rows than columns.
  sketch::LeastSquaresOptions o;
  o.sketch_rows = 5;
  EXPECT_THROW(sketch::least_squares<double>(exec, a, b, o), strata::InvalidArgument);
  // NaN in b.
  auto bad = st::to_device_as<double>(b_host);
  Kokkos::deep_copy(Kokkos::subview(bad, 7, 0), std::numeric_limits<double>::quiet_NaN());
  EXPECT_THROW(sketch::least_squares<double>(exec, a, bad), strata::NonFiniteInput);
  // Rank-deficient A: two equal columns.
  auto deficient_host = a_host;
  HostMatrix<double> copy("copy", 50, 10);
  Kokkos::deep_copy(copy, a_host);
  for (std::size_t i = 0; i < 50; ++i) copy(i, 9) = copy(i, 0);
  EXPECT_THROW(sketch::least_squares<double>(exec, st::to_device_as<double>(copy), b),
               strata::NumericalError);
}

}  // namespace
