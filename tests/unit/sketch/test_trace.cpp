// Trace (Hutchinson, Hutch++, NA-Hutch++) and diagonal (BKS, Diag++) estimators on matrices with
// known spectra: accuracy against the theory, exactness where the methods are exact, and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "estimators_test_matrices.hpp"
#include "strata/sketch/diagonal.hpp"
#include "strata/sketch/trace.hpp"

namespace {

using strata::HostMatrix;
using strata::index_type;
namespace sketch = strata::sketch;
using strata::testing::median;
using strata::testing::symmetric_with_spectrum;
using strata::testing::to_device_as;

template <class T>
class Estimators : public ::testing::Test {
 protected:
  static double eps() { return std::numeric_limits<T>::epsilon(); }
};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Estimators, Scalars);

double trace_of(const HostMatrix<double>& a) {
  double t = 0;
  for (std::size_t i = 0; i < a.extent(0); ++i) t += a(i, i);
  return t;
}

template <class T>
std::vector<double> relative_errors(const strata::LinearOperator<T>& op, double exact,
                                    sketch::TraceMethod method, index_type m, int trials) {
  std::vector<double> errors;
  for (int s = 0; s < trials; ++s) {
    sketch::TraceOptions o;
    o.method = method;
    o.matvecs = m;
    o.seed = 1000 + static_cast<std::uint64_t>(s);
    const auto r = sketch::estimate_trace(strata::ExecSpace(), op, o);
    EXPECT_EQ(r.matvecs, m);
    errors.push_back(std::abs(r.estimate - exact) / exact);
  }
  return errors;
}

TEST(Trace, HutchPlusPlusBeatsHutchinsonOnADecayingSpectrumAndMeetsItsBound) {
  // lambda_i = i^-2 (PSD, fast decay): the low-rank part captures most of the trace.
  const std::size_t n = 200;
  const index_type m = 30;
  std::vector<double> lambda(n);
  for (std::size_t i = 0; i < n; ++i) lambda[i] = 1.0 / static_cast<double>((i + 1) * (i + 1));
  const auto a = symmetric_with_spectrum(lambda, 7);
  const strata::DenseOperator<double> op(to_device_as<double>(a));
  const double exact = trace_of(a);
  const auto hutch = relative_errors(op, exact, sketch::TraceMethod::hutchinson, m, 30);
  const auto plus = relative_errors(op, exact, sketch::TraceMethod::hutch_plus_plus, m, 30);
  const auto na = relative_errors(op, exact, sketch::TraceMethod::na_hutch_plus_plus, m, 30);
  EXPECT_LT(median(plus), median(hutch) / 5)
      << "Hutch++ " << median(plus) << " Hutchinson " << median(hutch);
  EXPECT_LT(median(na), median(hutch)) << "NA-Hutch++ " << median(na);
  // Bound: Hutch++ adds Rademacher Hutchinson with l = m - 2 floor(m/3) probes on
  // R = (I - QQ^T) A (I - QQ^T), so E|err| <= sqrt(2/l) sqrt(E||A - QQ^T A||_F^2) and, with
  // k + p = floor(m/3) sketch columns, E||A - QQ^T A||_F^2 <= (1 + k/(p-1)) ||A - A_k||_F^2
  // (Halko, Martinsson & Tropp 2011, Thm 10.5). Markov: P(|err| > 4 E|err|) <= 1/4, so the
  // median of 30 trials exceeds 4 E|err| with probability < 0.3%.
  const index_type s = m / 3, l = m - 2 * s, k = s / 2, p = s - k;
  double tail = 0;
  for (std::size_t i = static_cast<std::size_t>(k); i < n; ++i) tail += lambda[i] * lambda[i];
  const double bound = 4 * std::sqrt(2.0 / static_cast<double>(l)) *
                       std::sqrt(1.0 + static_cast<double>(k) / static_cast<double>(p - 1)) *
                       std::sqrt(tail) / exact;
  EXPECT_LT(median(plus), bound);
}

TEST(Trace, HutchPlusPlusIsNotMuchWorseThanHutchinsonOnAFlatSpectrum) {
  // Spectrum in [1, 2]: deflation removes little. Hutch++ spends a third of the budget on
  // Hutchinson probes, so its standard deviation is at most ~sqrt(3) times Hutchinson's; with
  // the scatter of 30-trial medians we allow 1.5 sqrt(3).
  const std::size_t n = 200;
  std::vector<double> lambda(n);
  for (std::size_t i = 0; i < n; ++i) lambda[i] = 1.0 + static_cast<double>(i) / (n - 1);
  const auto a = symmetric_with_spectrum(lambda, 8);
  const strata::DenseOperator<double> op(to_device_as<double>(a));
  const double exact = trace_of(a);
  const auto hutch = relative_errors(op, exact, sketch::TraceMethod::hutchinson, 30, 30);
  const auto plus = relative_errors(op, exact, sketch::TraceMethod::hutch_plus_plus, 30, 30);
  EXPECT_LT(median(plus), 1.5 * std::sqrt(3.0) * median(hutch));
}

TYPED_TEST(Estimators, ExactOnLowRankPsdMatrices) {
  using T = TypeParam;
  // Rank 5 with eigenvalues 1..5: Hutch++ with m = 18 (6 sketch vectors) and NA-Hutch++ with
  // m = 30 (5 = ceil(30/6) sketch vectors) capture the whole range; the Hutchinson part then
  // sees only rounding. Each quadratic form q^T A q carries an error of ~ n eps ||A||, summed over
  // the <= 10 sketch columns: tolerance 10 * 10 n eps ||A||_2 relative to tr(A) = 15.
  const std::size_t n = 100, r = 5;
  std::vector<double> lambda(n, 0.0);
  for (std::size_t i = 0; i < r; ++i) lambda[i] = static_cast<double>(i + 1);
  const auto a = symmetric_with_spectrum(lambda, 9, r);
  const strata::DenseOperator<T> op(to_device_as<T>(a));
  const double exact = trace_of(a);
  const double tol = 100.0 * n * TestFixture::eps() * 5;
  for (const auto& [method, m] : {std::make_pair(sketch::TraceMethod::hutch_plus_plus, 18),
                                  std::make_pair(sketch::TraceMethod::na_hutch_plus_plus, 30)}) {
    for (std::uint64_t seed = 0; seed < 3; ++seed) {
      sketch::TraceOptions o;
      o.method = method;
      o.matvecs = m;
      o.seed = seed;
      const auto res = sketch::estimate_trace(strata::ExecSpace(), op, o);
      EXPECT_NEAR(res.estimate, exact, tol) << sketch::trace_method_name(method);
      EXPECT_NEAR(res.low_rank_part, exact, tol) << sketch::trace_method_name(method);
    }
  }
}

TYPED_TEST(Estimators, DiagonalIsExactForDiagonalMatricesWithRademacherProbes) {
  using T = TypeParam;
  // (A g)_i g_i = a_ii g_i^2 = a_ii for diagonal A and g_i = +-1: exact up to one rounding.
  const std::size_t n = 50;
  HostMatrix<double> a("a", n, n);
  for (std::size_t i = 0; i < n; ++i) a(i, i) = std::cos(static_cast<double>(i)) * 3;
  const strata::DenseOperator<T> op(to_device_as<T>(a));
  sketch::DiagonalOptions o;
  o.method = sketch::DiagonalMethod::hutchinson;
  o.matvecs = 4;
  const auto r = sketch::estimate_diagonal(strata::ExecSpace(), op, o);
  const auto d = strata::testing::to_host(r.diagonal.local());
  for (std::size_t i = 0; i < n; ++i) EXPECT_NEAR(d(i, 0), a(i, i), 4 * 3 * TestFixture::eps());
}

TYPED_TEST(Estimators, DiagPlusPlusIsExactOnLowRankMatrices) {
  using T = TypeParam;
  // Rank 4 <= floor(15/3) = 5: diag(Q Q^T A) = diag(A) and the remainder is rounding (the same
  // n eps ||A|| per entry argument as for the trace, ||A||_2 = 4).
  const std::size_t n = 60, r = 4;
  std::vector<double> lambda(n, 0.0);
  for (std::size_t i = 0; i < r; ++i) lambda[i] = static_cast<double>(i + 1);
  const auto a = symmetric_with_spectrum(lambda, 10, r);
  const strata::DenseOperator<T> op(to_device_as<T>(a));
  sketch::DiagonalOptions o;
  o.matvecs = 15;
  const auto res = sketch::estimate_diagonal(strata::ExecSpace(), op, o);
  EXPECT_EQ(res.matvecs, 15);
  const auto d = strata::testing::to_host(res.diagonal.local());
  for (std::size_t i = 0; i < n; ++i)
    EXPECT_NEAR(d(i, 0), a(i, i), 10.0 * n * TestFixture::eps() * 4);
}

TEST(Diagonal, BksEstimatorIsUnbiased) {
  // With Rademacher probes, d_i = a_ii + (1/m) sum_j sum_{k != i} a_ik g_kj g_ij: mean a_ii and
  // variance (1/m) sum_{k != i} a_ik^2 exactly. Over T trials, z_i = (mean_i - a_ii) / sd_i *
  // sqrt(T) is ~N(0, 1); we require max |z_i| < 4.5 over 40 entries (Bonferroni: P < 40 * 7e-6).
  const std::size_t n = 40;
  std::vector<double> lambda(n);
  for (std::size_t i = 0; i < n; ++i) lambda[i] = 1.0 + static_cast<double>(i % 7);
  const auto a = symmetric_with_spectrum(lambda, 11);
  const strata::DenseOperator<double> op(to_device_as<double>(a));
  const int trials = 400;
  const index_type m = 5;
  std::vector<double> mean(n, 0.0);
  for (int t = 0; t < trials; ++t) {
    sketch::DiagonalOptions o;
    o.method = sketch::DiagonalMethod::hutchinson;
    o.matvecs = m;
    o.seed = 5000 + static_cast<std::uint64_t>(t);
    const auto d = strata::testing::to_host(
        sketch::estimate_diagonal(strata::ExecSpace(), op, o).diagonal.local());
    for (std::size_t i = 0; i < n; ++i) mean[i] += d(i, 0) / trials;
  }
  for (std::size_t i = 0; i < n; ++i) {
    double off = 0;
    for (std::size_t k = 0; k < n; ++k) off += k == i ? 0.0 : a(i, k) * a(i, k);
    const double sd = std::sqrt(off / static_cast<double>(m) / trials);
    EXPECT_LT(std::abs(mean[i] - a(i, i)) / sd, 4.5) << "entry " << i;
  }
}

TEST(Trace, RejectsBadInput) {
  const strata::ExecSpace exec;
  strata::Matrix<double> rect("rect", 5, 4);
  const strata::DenseOperator<double> non_square(rect);
  EXPECT_THROW(sketch::estimate_trace(exec, non_square), strata::ShapeMismatch);
  EXPECT_THROW(sketch::estimate_diagonal(exec, non_square), strata::ShapeMismatch);
  strata::Matrix<double> sq("sq", 5, 5);
  const strata::DenseOperator<double> square(sq);
  sketch::TraceOptions o;
  o.matvecs = 2;
  EXPECT_THROW(sketch::estimate_trace(exec, square, o), strata::InvalidArgument);
  sketch::DiagonalOptions d;
  d.matvecs = 0;
  EXPECT_THROW(sketch::estimate_diagonal(exec, square, d), strata::InvalidArgument);
  EXPECT_THROW(sketch::parse_trace_method("hutch+"), strata::InvalidArgument);
  const strata::CallbackOperator<double> nan_op(
      5, 5,
      [](const strata::ExecSpace&, const strata::ConstMatrix<double>&,
         const strata::Matrix<double>& y) {
        Kokkos::deep_copy(y, std::numeric_limits<double>::quiet_NaN());
      });
  o.matvecs = 6;
  EXPECT_THROW(sketch::estimate_trace(exec, nan_op, o), strata::NonFiniteInput);
}

}  // namespace
