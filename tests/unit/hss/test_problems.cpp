// Built-in HSS test problems: products agree with products by the dense matrix, entry blocks agree
// with the dense matrix, the dense matrices agree with their definitions (host formulas for kernel
// matrices; dense LAPACK references for the grid Schur complement and the banded inverse), and the
// registry rejects bad requests.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/hss/detail/band_lapack.hpp"
#include "strata/hss/problems.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "support/allclose.hpp"

namespace {

namespace hss = strata::hss;
using strata::HostMatrix;
using strata::index_type;
using strata::Matrix;
using strata::testing::AllClose;
using strata::testing::to_host;

template <class T>
class Problems : public ::testing::Test {
 protected:
  static double u() { return std::numeric_limits<T>::epsilon() / 2; }
};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Problems, Scalars);

const std::vector<std::string> kernel_problems = {
    "laplace-1d", "laplace-2d",     "laplace-3d",     "gaussian-2d", "cauchy-1d",
    "cauchy-3d",  "exponential-3d", "exponential-1d", "curve-2d",    "gaussian-curve"};

template <class T>
Matrix<T> random_block(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  Matrix<T> x("x", rows, cols);
  strata::fill_random(strata::ExecSpace(), {strata::Distribution::gaussian, seed, 0}, x);
  return x;
}

// max_ij (|A| |X|)_ij, the scale of the rounding error of a product A X.
template <class T>
double abs_product_max(const Matrix<T>& a, const Matrix<T>& x, bool transpose) {
  const auto ah = to_host(a);
  const auto xh = to_host(x);
  double worst = 0;
  for (std::size_t v = 0; v < xh.extent(1); ++v) {
    for (std::size_t i = 0; i < ah.extent(0); ++i) {
      double s = 0;
      for (std::size_t j = 0; j < ah.extent(1); ++j) {
        s += std::abs(static_cast<double>(transpose ? ah(j, i) : ah(i, j))) *
             std::abs(static_cast<double>(xh(j, v)));
      }
      worst = std::max(worst, s);
    }
  }
  return worst;
}

TYPED_TEST(Problems, KernelProductsAgreeWithDenseProducts) {
  using T = TypeParam;
  const strata::ExecSpace exec;
  // N = 300 and k = 11 are not multiples of the 128-row/column tiles and the 8-vector chunks.
  const index_type n = 300;
  const std::size_t k = 11;
  for (const auto& name : kernel_problems) {
    SCOPED_TRACE(name);
    const auto problem = hss::make_problem<T>(name, n);
    const auto a = problem->dense(exec);
    const auto x = random_block<T>(n, k, 3);
    Matrix<T> y("y", n, k), expected("e", n, k);
    problem->apply(exec, x, y);
    strata::linalg::gemm(exec, "N", "N", T(1), a, x, T(0), expected);
    // Both are sums of the same N rounded products in different orders: each differs from the
    // exact sum by at most gamma_N (|A||X|)_ij ~ N u (|A||X|)_ij.
    const double tol = 2 * n * TestFixture::u() * abs_product_max(a, x, false);
    EXPECT_THAT(y, AllClose(expected, 0.0, tol));
    problem->apply_transpose(exec, x, y);
    strata::linalg::gemm(exec, "T", "N", T(1), a, x, T(0), expected);
    EXPECT_THAT(y, AllClose(expected, 0.0, tol));
    // A row range: rows [37, 187) of A X.
    Matrix<T> part("part", 150, k);
    problem->apply_rows(exec, strata::Op::none, 37, x, part);
    strata::linalg::gemm(exec, "N", "N", T(1), a, x, T(0), expected);
    EXPECT_THAT(part, AllClose(Kokkos::subview(expected, Kokkos::make_pair(37, 187), Kokkos::ALL),
                               0.0, tol));
    // Through the LinearOperator wrapper.
    const auto op = hss::make_operator<T>(problem);
    op->apply(exec, x, y);
    EXPECT_THAT(y, AllClose(expected, 0.0, tol));
  }
}

// The kernels and diagonals as documented in problems.hpp, evaluated on the host.
double documented_entry(const std::string& name, const HostMatrix<double>& p, index_type i,
                        index_type j) {
  const index_type n = static_cast<index_type>(p.extent(0));
  const int dim = static_cast<int>(p.extent(1));
  double r2 = 0;
  for (int d = 0; d < dim; ++d) r2 += (p(i, d) - p(j, d)) * (p(i, d) - p(j, d));
  const double r = std::sqrt(r2);
  const std::string kernel = name == "curve-2d" ? "laplace" : name.substr(0, name.find('-'));
  const bool curve = name.find("curve") != std::string::npos;
  if (kernel == "gaussian") return std::exp(-r2 / (0.25 * 0.25));
  if (kernel == "exponential") return std::exp(-r / 0.25);
  if (kernel == "cauchy") return i == j ? 1e3 : 1 / (r + 1e-3);
  if (i != j) return dim == 3 ? 1 / r : -std::log(r);
  const double pi = 3.141592653589793;
  if (curve) {
    const double t = 2 * pi * (i + 0.5) / n;
    const double rho = 0.35 * (1 + 0.3 * std::cos(5 * t)), drho = -0.525 * std::sin(5 * t);
    return -std::log(std::sqrt(rho * rho + drho * drho) * 2 * pi / n / 2) + 1;
  }
  if (dim == 1) return -std::log(0.5 / n) + 1;
  if (dim == 2) return -std::log(std::sqrt(1.0 / n) / std::sqrt(pi)) + 0.5;
  return 1.5 / (std::cbrt(1.0 / n) * std::cbrt(3 / (4 * pi)));
}

TYPED_TEST(Problems, KernelMatricesFollowTheirDefinitions) {
  using T = TypeParam;
  const strata::ExecSpace exec;
  const index_type n = 150;
  for (const auto& name : kernel_problems) {
    SCOPED_TRACE(name);
    const auto problem = hss::make_problem<T>(name, n);
    ASSERT_TRUE(problem->symmetric());
    const auto p = to_host(problem->points());
    const auto a = to_host(problem->dense(exec));
    HostMatrix<double> expected("expected", n, n);
    for (index_type j = 0; j < n; ++j) {
      for (index_type i = 0; i < n; ++i) {
        expected(i, j) = documented_entry(name, p, i, j);
        // Symmetric entry by entry, exactly.
        EXPECT_EQ(a(i, j), a(j, i));
      }
    }
    // The entries are evaluated in double and rounded to T: relative error u(T), plus a few
    // ulps of double for library differences in log/exp/sqrt; -log r near r = 1 has an
    // absolute error of a few u(double) (that of r^2 passed through log), hence the atol.
    EXPECT_THAT(a, AllClose(expected, 2 * TestFixture::u() + 1e-14, 1e-15));
    // Points are in the unit box; 2-D/3-D ones are random, not all on a grid.
    for (std::size_t i = 0; i < p.extent(0); ++i) {
      for (std::size_t d = 0; d < p.extent(1); ++d) {
        EXPECT_GT(p(i, d), 0.0);
        EXPECT_LT(p(i, d), 1.0);
      }
    }
  }
}

template <class T>
void expect_entry_blocks_match_dense(const hss::Problem<T>& problem) {
  const strata::ExecSpace exec;
  const index_type n = problem.size();
  std::vector<std::vector<index_type>> rows, cols;
  // Contiguous, strided, repeated, single and empty index lists.
  rows.push_back({0, 1, 2, 3});
  cols.push_back({n - 1, n - 2});
  rows.push_back({5});
  cols.push_back({5});
  rows.push_back({});
  cols.push_back({1, 2});
  std::vector<index_type> strided, mixed;
  for (index_type i = 0; i < n; i += 7) strided.push_back(i);
  for (index_type i = 0; i < 20; ++i) mixed.push_back((i * 37 + 11) % n);
  mixed.push_back(mixed.front());
  rows.push_back(strided);
  cols.push_back(mixed);
  rows.push_back(mixed);
  cols.push_back(strided);
  const auto blocks = hss::make_entry_blocks<T>(rows, cols);
  problem.entries(exec, blocks);
  const auto values = to_host(blocks.values);
  const auto a = to_host(problem.dense(exec));
  std::size_t offset = 0;
  for (std::size_t b = 0; b < rows.size(); ++b) {
    for (std::size_t c = 0; c < cols[b].size(); ++c) {
      for (std::size_t r = 0; r < rows[b].size(); ++r) {
        // Same evaluation as the dense matrix: equal bit for bit.
        EXPECT_EQ(values(offset + r + rows[b].size() * c), a(rows[b][r], cols[b][c]))
            << "block " << b << " entry (" << r << ", " << c << ")";
      }
    }
    offset += rows[b].size() * cols[b].size();
  }
}

TYPED_TEST(Problems, EntryBlocksAgreeWithTheDenseMatrix) {
  using T = TypeParam;
  for (const auto& name : hss::problem_names()) {
    SCOPED_TRACE(name);
    hss::ProblemOptions options;
    options.grid_rows = 5;
    expect_entry_blocks_match_dense(*hss::make_problem<T>(name, 97, options));
  }
}

TYPED_TEST(Problems, EntryIndicesOutOfRangeAreRejected) {
  using T = TypeParam;
  const auto problem = hss::make_problem<T>("laplace-1d", 50);
  EXPECT_THROW(problem->entries(strata::ExecSpace(), hss::make_entry_blocks<T>({{0, 50}}, {{1}})),
               strata::InvalidArgument);
  EXPECT_THROW(problem->entries(strata::ExecSpace(), hss::make_entry_blocks<T>({{0}}, {{-1}})),
               strata::InvalidArgument);
}

// The grid Schur complement from a dense 5-point Laplacian and a dense LU solve.
HostMatrix<double> dense_schur_reference(int grid_rows, index_type n) {
  const index_type unknowns = grid_rows * n;
  const int middle = (grid_rows - 1) / 2;
  // Unknown (row, col) of the grid at col * grid_rows + row.
  auto id = [&](index_type r, index_type c) {
    return c * grid_rows + r;
  };
  HostMatrix<double> laplacian("L", unknowns, unknowns);
  for (index_type c = 0; c < n; ++c) {
    for (index_type r = 0; r < grid_rows; ++r) {
      laplacian(id(r, c), id(r, c)) = 4;
      if (r > 0) laplacian(id(r, c), id(r - 1, c)) = -1;
      if (r + 1 < grid_rows) laplacian(id(r, c), id(r + 1, c)) = -1;
      if (c > 0) laplacian(id(r, c), id(r, c - 1)) = -1;
      if (c + 1 < n) laplacian(id(r, c), id(r, c + 1)) = -1;
    }
  }
  std::vector<index_type> line, rest;
  for (index_type c = 0; c < n; ++c) {
    for (index_type r = 0; r < grid_rows; ++r) (r == middle ? line : rest).push_back(id(r, c));
  }
  const auto nr = static_cast<index_type>(rest.size());
  HostMatrix<double> l_rr("Lrr", nr, nr), l_rs("Lrs", nr, n), s("S", n, n);
  for (index_type j = 0; j < nr; ++j) {
    for (index_type i = 0; i < nr; ++i) l_rr(i, j) = laplacian(rest[i], rest[j]);
  }
  for (index_type j = 0; j < n; ++j) {
    for (index_type i = 0; i < nr; ++i) l_rs(i, j) = laplacian(rest[i], line[j]);
  }
  hss::detail::dense_solve(l_rr, l_rs);  // L_rr^{-1} L_rs
  for (index_type j = 0; j < n; ++j) {
    for (index_type i = 0; i < n; ++i) {
      double v = laplacian(line[i], line[j]);
      for (index_type q = 0; q < nr; ++q) v -= laplacian(line[i], rest[q]) * l_rs(q, j);
      s(i, j) = v;
    }
  }
  return s;
}

TYPED_TEST(Problems, SchurComplementAgreesWithADenseReference) {
  using T = TypeParam;
  const strata::ExecSpace exec;
  const int grid_rows = 7;
  const index_type n = 40;
  hss::ProblemOptions options;
  options.grid_rows = grid_rows;
  const auto problem = hss::make_problem<T>("schur-grid", n, options);
  EXPECT_TRUE(problem->symmetric());
  const auto expected = dense_schur_reference(grid_rows, n);
  // Both sides solve with the Laplacian of the two half grids (3 x 40 each), whose smallest
  // eigenvalue is 4 sin^2(pi/8) + 4 sin^2(pi/82) and largest < 8: kappa < 8 / lambda_min ~ 14.
  // Backward-stable solves of order m = 240 give errors <= c m kappa u |S|; in float the result is
  // rounded once more (u_float |S|).
  const double pi = 3.141592653589793;
  const double lambda_min = 4 * std::pow(std::sin(pi / 8), 2) + 4 * std::pow(std::sin(pi / 82), 2);
  const double kappa = 8 / lambda_min;
  const double u_double = std::numeric_limits<double>::epsilon() / 2;
  const double tol = 4 * 240 * kappa * u_double * 4 + 2 * TestFixture::u() * 4;  // |S| <= 4
  EXPECT_THAT(problem->dense(exec), AllClose(expected, 0.0, tol));
  // Products against S X with S from the reference.
  const auto x = random_block<T>(n, 3, 9);
  Matrix<T> y("y", n, 3);
  problem->apply(exec, x, y);
  const auto xh = to_host(x);
  HostMatrix<double> sx("sx", n, 3);
  for (std::size_t v = 0; v < 3; ++v) {
    for (index_type i = 0; i < n; ++i) {
      for (index_type j = 0; j < n; ++j) sx(i, v) += expected(i, j) * xh(j, v);
    }
  }
  EXPECT_THAT(y, AllClose(sx, 0.0, tol * 8 * n));
}

TYPED_TEST(Problems, BandedInverseAgreesWithADenseInverse) {
  using T = TypeParam;
  const strata::ExecSpace exec;
  const index_type n = 60;
  const int band = 2;
  const double skew = 0.3;
  hss::ProblemOptions options;
  options.band = band;
  options.skew = skew;
  const auto problem = hss::make_problem<T>("banded-inverse", n, options);
  EXPECT_FALSE(problem->symmetric());
  const double diagonal = 2 + 2 * 1.5 * (1 + skew);
  HostMatrix<double> b("B", n, n), inverse("inverse", n, n);
  double offdiagonal_sum = 0;
  for (index_type i = 0; i < n; ++i) {
    b(i, i) = diagonal;
    inverse(i, i) = 1;
    for (int d = 1; d <= band; ++d) {
      if (i + d < n) b(i, i + d) = -(1 + skew) / d, b(i + d, i) = -(1 - skew) / d;
    }
  }
  for (int d = 1; d <= band; ++d) offdiagonal_sum += 2.0 / d;
  hss::detail::dense_solve(b, inverse);
  // Strict diagonal dominance (Varah): ||B^{-1}||_inf <= 1 / (diagonal - off-diagonal row sum),
  // ||B||_inf <= diagonal + row sum; errors <= c n kappa u ||B^{-1}||, plus one rounding to T.
  const double inverse_norm = 1 / (diagonal - offdiagonal_sum * (1 + skew));
  const double kappa = (diagonal + offdiagonal_sum * (1 + skew)) * inverse_norm;
  const double u_double = std::numeric_limits<double>::epsilon() / 2;
  const double tol = (4 * n * kappa * u_double + 2 * TestFixture::u()) * inverse_norm;
  const auto a = problem->dense(exec);
  EXPECT_THAT(a, AllClose(inverse, 0.0, tol));
  // A^T X against the transposed reference.
  const auto x = random_block<T>(n, 4, 5);
  Matrix<T> y("y", n, 4);
  problem->apply_transpose(exec, x, y);
  const auto xh = to_host(x);
  HostMatrix<double> expected("e", n, 4);
  for (std::size_t v = 0; v < 4; ++v) {
    for (index_type i = 0; i < n; ++i) {
      for (index_type j = 0; j < n; ++j) expected(i, v) += inverse(j, i) * xh(j, v);
    }
  }
  EXPECT_THAT(y, AllClose(expected, 0.0, tol * 4 * std::sqrt(static_cast<double>(n))));
}

// Off-diagonal blocks of inv(tridiagonal) and of the 1-D exponential kernel (Matern 1/2, a
// Markov covariance) have rank exactly 1: a structural check independent of any product code.
TEST(ProblemStructure, SemiseparableProblemsHaveRankOneOffDiagonalBlocks) {
  const strata::ExecSpace exec;
  for (const std::string name : {"banded-inverse", "exponential-1d"}) {
    SCOPED_TRACE(name);
    const index_type n = 64;
    const auto a = to_host(hss::make_problem<double>(name, n)->dense(exec));
    HostMatrix<double> block("block", n / 2, n / 2);
    for (index_type j = 0; j < n / 2; ++j) {
      for (index_type i = 0; i < n / 2; ++i) block(i, j) = a(i, j + n / 2);
    }
    const auto s = strata::linalg::host::singular_values(block);
    EXPECT_LT(s[1], 1e-12 * s[0]);
  }
}

TEST(ProblemRegistry, RejectsUnknownNamesAndContradictoryOptions) {
  EXPECT_THROW(hss::make_problem<double>("helmholtz-2d", 10), strata::InvalidArgument);
  EXPECT_THROW(hss::make_problem<double>("laplace-4d", 10), strata::InvalidArgument);
  hss::ProblemOptions three_d;
  three_d.dim = 3;
  EXPECT_THROW(hss::make_problem<double>("laplace-2d", 10, three_d), strata::InvalidArgument);
  EXPECT_THROW(hss::make_problem<double>("curve-2d", 10, three_d), strata::InvalidArgument);
  EXPECT_EQ(hss::make_problem<double>("gaussian", 10, three_d)->dimension(), 3);
  EXPECT_EQ(hss::make_problem<double>("gaussian", 10)->dimension(), 1);
  EXPECT_THROW(hss::make_problem<double>("laplace-1d", 1), strata::InvalidArgument);
  hss::ProblemOptions even;
  even.grid_rows = 6;
  EXPECT_THROW(hss::make_problem<double>("schur-grid", 10, even), strata::InvalidArgument);
  hss::ProblemOptions skewed;
  skewed.skew = 1;
  EXPECT_THROW(hss::make_problem<double>("banded-inverse", 10, skewed), strata::InvalidArgument);
  hss::ProblemOptions ridge;
  ridge.ridge = -1;
  EXPECT_THROW(hss::make_problem<double>("gaussian-2d", 10, ridge), strata::InvalidArgument);
  // Every registered name builds.
  for (const auto& name : hss::problem_names()) {
    EXPECT_EQ(hss::make_problem<float>(name, 16)->size(), 16) << name;
  }
}

TEST(ProblemRegistry, RandomPointsAreReproducibleAndClustered) {
  hss::ProblemOptions options;
  options.seed = 7;
  const auto a = to_host(hss::make_problem<double>("laplace-2d", 256, options)->points());
  const auto b = to_host(hss::make_problem<double>("cauchy-2d", 256, options)->points());
  for (std::size_t i = 0; i < 256; ++i) {
    EXPECT_EQ(a(i, 0), b(i, 0));
    EXPECT_EQ(a(i, 1), b(i, 1));
  }
  // Bisection order: the 16 leaves of 16 points have bounding boxes of area ~1/16 each (the
  // median splits halve the box area), far below the unit square a random order would give.
  double total_area = 0;
  for (std::size_t leaf = 0; leaf < 16; ++leaf) {
    double lo[2] = {1, 1}, hi[2] = {0, 0};
    for (std::size_t i = leaf * 16; i < leaf * 16 + 16; ++i) {
      for (int d = 0; d < 2; ++d)
        lo[d] = std::min(lo[d], a(i, d)), hi[d] = std::max(hi[d], a(i, d));
    }
    total_area += (hi[0] - lo[0]) * (hi[1] - lo[1]);
  }
  EXPECT_LT(total_area, 1.0);
  hss::ProblemOptions random_line;
  random_line.random_points = true;
  const auto line = to_host(hss::make_problem<double>("cauchy-1d", 100, random_line)->points());
  for (std::size_t i = 1; i < 100; ++i) EXPECT_LT(line(i - 1, 0), line(i, 0));
}

}  // namespace
