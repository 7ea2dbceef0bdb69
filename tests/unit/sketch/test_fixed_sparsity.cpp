// Fixed-sparsity approximation from matvecs: the expected error s/(m - s - 1) of the paper on its
// test matrix inv(tridiag(-1, 4, -1)), exact recovery of matrices that have the pattern (least
// squares and coloring variants), and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "estimators_test_matrices.hpp"
#include "strata/sketch/fixed_sparsity.hpp"

namespace {

using strata::HostMatrix;
using strata::index_type;
namespace sketch = strata::sketch;
using strata::testing::to_device_as;

template <class T>
HostMatrix<double> densify(const sketch::SparseApproximation<T>& s) {
  HostMatrix<double> out("dense", static_cast<std::size_t>(s.rows),
                         static_cast<std::size_t>(s.cols));
  const auto offsets = strata::testing::to_host(s.row_offsets);
  const auto cols = strata::testing::to_host(s.col_indices);
  const auto values = strata::testing::to_host(s.values);
  for (std::size_t i = 0; i + 1 < offsets.extent(0); ++i)
    for (index_type e = offsets(i); e < offsets(i + 1); ++e)
      out(static_cast<std::size_t>(s.row_begin) + i, static_cast<std::size_t>(cols(e))) = values(e);
  return out;
}

/// inv(tridiag(-1, 4, -1)) by the Thomas algorithm, column by column (n x n, double).
HostMatrix<double> inverse_tridiagonal(std::size_t n) {
  HostMatrix<double> inv("inv", n, n);
  std::vector<double> c(n), d(n);
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t i = 0; i < n; ++i) {
      const double rhs = i == j ? 1.0 : 0.0;
      const double denom = 4.0 - (i ? -1.0 * c[i - 1] : 0.0);
      c[i] = -1.0 / denom;
      d[i] = (rhs - (i ? -1.0 * d[i - 1] : 0.0)) / denom;
    }
    inv(n - 1, j) = d[n - 1];
    for (std::size_t i = n - 1; i-- > 0;) inv(i, j) = d[i] - c[i] * inv(i + 1, j);
  }
  return inv;
}

/// A random matrix with exactly the band |i - j| <= b.
HostMatrix<double> random_banded(std::size_t n, std::size_t b, std::uint64_t seed) {
  strata::Matrix<double> g("g", n, n);
  strata::fill_random(strata::ExecSpace(),
                      strata::RandomStream{strata::Distribution::gaussian, seed, 7}, g);
  auto a = strata::testing::to_host(g);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < n; ++i)
      if ((i > j ? i - j : j - i) > b) a(i, j) = 0;
  return a;
}

template <class T>
class FixedSparsity : public ::testing::Test {
 protected:
  static double eps() { return std::numeric_limits<T>::epsilon(); }
};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(FixedSparsity, Scalars);

TEST(FixedSparsityError, MatchesTheExpectedRatioOnTheInverseTridiagonalMatrix) {
  // E||S o A - A~||_F^2 = sum_i s_i/(m - s_i - 1) ||a_i - (S o A)_i||^2 exactly (row residuals
  // are Gaussian and independent of G[S_i,:]; E tr((G_S G_S^T)^-1) = s/(m - s - 1)), so the
  // ratio to ||A - S o A||_F^2 has a known mean. Over T trials the sample mean is within 4
  // standard errors of it (CLT; the standard error is estimated from the trials).
  const std::size_t n = 300;
  const auto a = inverse_tridiagonal(n);
  const strata::DenseOperator<double> op(to_device_as<double>(a));
  for (const index_type b : {0, 1, 2}) {
    const auto pattern = sketch::SparsityPattern::banded(static_cast<index_type>(n), b);
    const index_type m = 24;
    double tail = 0, expected = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto s = static_cast<double>(pattern.row_offsets[i + 1] - pattern.row_offsets[i]);
      double row = 0;
      for (std::size_t j = 0; j < n; ++j) {
        const auto dist = static_cast<index_type>(i > j ? i - j : j - i);
        if (dist > b) row += a(i, j) * a(i, j);
      }
      tail += row;
      expected += s / (static_cast<double>(m) - s - 1) * row;
    }
    expected /= tail;
    const int trials = 40;
    std::vector<double> ratios;
    for (int t = 0; t < trials; ++t) {
      sketch::FixedSparsityOptions o;
      o.matvecs = m;
      o.seed = 300 + static_cast<std::uint64_t>(t);
      const auto approx =
          densify(sketch::fixed_sparsity_approximation(strata::ExecSpace(), op, pattern, o));
      double err = 0;
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t i = 0; i < n; ++i) {
          const auto dist = static_cast<index_type>(i > j ? i - j : j - i);
          if (dist <= b) err += (approx(i, j) - a(i, j)) * (approx(i, j) - a(i, j));
        }
      ratios.push_back(err / tail);
    }
    double mean = 0, var = 0;
    for (const double r : ratios) mean += r / trials;
    for (const double r : ratios) var += (r - mean) * (r - mean) / (trials - 1);
    EXPECT_NEAR(mean, expected, 4 * std::sqrt(var / trials)) << "b = " << b;
  }
}

TYPED_TEST(FixedSparsity, RecoversMatricesWithThePatternExactly) {
  using T = TypeParam;
  // Z = A G has rows a_i G = a_i[S_i] G[S_i,:]: the least-squares residual is zero and the
  // solution exact up to the rounding of the normal equations, ~ cond(G_S)^2 eps ||a_i||; with
  // m = s + 4 a Gaussian 5 x 9 G_S has cond <= ~(3 + 2.2)/(3 - 2.2) ~ 7 whp, so 100 * 50 eps.
  const std::size_t n = 40, b = 2;
  const auto a = random_banded(n, b, 31);
  const strata::DenseOperator<T> op(to_device_as<T>(a));
  sketch::FixedSparsityOptions o;
  o.matvecs = 2 * b + 1 + 4;
  const auto approx = densify(sketch::fixed_sparsity_approximation(
      strata::ExecSpace(), op, sketch::SparsityPattern::banded(n, b), o));
  EXPECT_LT(strata::testing::relative_frobenius_error(approx, a), 5000 * TestFixture::eps());
  // The diagonal pattern (s = 1) recovers a diagonal matrix.
  HostMatrix<double> diag("diag", n, n);
  for (std::size_t i = 0; i < n; ++i) diag(i, i) = 1.0 + static_cast<double>(i);
  const strata::DenseOperator<T> dop(to_device_as<T>(diag));
  o.matvecs = 3;
  const auto d = densify(sketch::fixed_sparsity_approximation(
      strata::ExecSpace(), dop, sketch::SparsityPattern::diagonal(n), o));
  EXPECT_LT(strata::testing::relative_frobenius_error(d, diag), 100 * TestFixture::eps());
}

TYPED_TEST(FixedSparsity, ColoringRecoversBandedMatricesExactly) {
  using T = TypeParam;
  // Inside the band each probe of color c meets exactly one column of color c per row, so
  // (A x_l)[i] = a_ij x_l[j] and sign^2 = 1: exact up to one rounding per product term; the
  // rows have 5 terms, so 10 eps relative.
  const std::size_t n = 50, b = 2;
  const auto a = random_banded(n, b, 32);
  const strata::DenseOperator<T> op(to_device_as<T>(a));
  for (const index_type m : {5, 12}) {
    sketch::FixedSparsityOptions o;
    o.matvecs = m;
    const auto approx =
        densify(sketch::banded_coloring_approximation(strata::ExecSpace(), op, b, o));
    EXPECT_LT(strata::testing::relative_frobenius_error(approx, a), 10 * 5 * TestFixture::eps());
  }
}

TEST(FixedSparsityError, RejectsBadInput) {
  const strata::ExecSpace exec;
  strata::Matrix<double> a("a", 6, 6);
  const strata::DenseOperator<double> op(a);
  sketch::FixedSparsityOptions o;
  o.matvecs = 4;
  auto p = sketch::SparsityPattern::banded(6, 1);
  p.col_indices[2] = 6;  // out of range
  EXPECT_THROW(sketch::fixed_sparsity_approximation(exec, op, p, o), strata::InvalidArgument);
  p = sketch::SparsityPattern::banded(6, 1);
  p.col_indices[1] = 0;  // row 0 lists column 0 twice
  EXPECT_THROW(sketch::fixed_sparsity_approximation(exec, op, p, o), strata::InvalidArgument);
  p = sketch::SparsityPattern::banded(6, 2);  // s = 5 > m = 4: underdetermined
  EXPECT_THROW(sketch::fixed_sparsity_approximation(exec, op, p, o), strata::InvalidArgument);
  p = sketch::SparsityPattern::banded(5, 0);  // 5 x 5 pattern for a 6 x 6 matrix
  EXPECT_THROW(sketch::fixed_sparsity_approximation(exec, op, p, o), strata::ShapeMismatch);
  p = sketch::SparsityPattern::banded(6, 0);
  p.row_offsets.pop_back();
  EXPECT_THROW(sketch::fixed_sparsity_approximation(exec, op, p, o), strata::InvalidArgument);
  EXPECT_THROW(sketch::banded_coloring_approximation(exec, op, 2, o), strata::InvalidArgument);
  EXPECT_THROW(sketch::banded_coloring_approximation(exec, op, -1, o), strata::InvalidArgument);
  const strata::CallbackOperator<double> nan_op(
      6, 6,
      [](const strata::ExecSpace&, const strata::ConstMatrix<double>&,
         const strata::Matrix<double>& y) {
        Kokkos::deep_copy(y, std::numeric_limits<double>::infinity());
      });
  EXPECT_THROW(
      sketch::fixed_sparsity_approximation(exec, nan_op, sketch::SparsityPattern::diagonal(6), o),
      strata::NonFiniteInput);
}

}  // namespace
