// Issue 10: the ULV solve refuses a matrix that is singular to working precision (it used to return
// X with ||X|| = 3e16 and a relative residual of 1.67, exit 0), and its lower bound on cond_2(A)
// never exceeds the exact condition number of a nonsingular one.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "strata/core/error.hpp"
#include "strata/core/random.hpp"
#include "strata/dist/linear_operator.hpp"
#include "strata/hss/compress_matvec.hpp"
#include "strata/hss/ulv.hpp"

namespace {

namespace hss = strata::hss;
using strata::index_type;
using strata::Matrix;

constexpr index_type n = 256;

// The 1-D Laplacian tridiag(-1, 2, -1), with Neumann ends (A(0,0) = A(n-1,n-1) = 1: singular, null
// vector of ones) or Dirichlet ends (cond_2 = 1 / tan^2(pi / (2 (n + 1)))). Every off-diagonal
// block has rank 1, so a rank-2 HSS approximation from products is exact to rounding.
hss::HssMatrix<double> laplacian(bool neumann) {
  strata::HostMatrix<double> h("lap", n, n);
  for (index_type i = 0; i < n; ++i) {
    h(i, i) = 2;
    if (i > 0) h(i, i - 1) = -1;
    if (i + 1 < n) h(i, i + 1) = -1;
  }
  if (neumann) h(0, 0) = h(n - 1, n - 1) = 1;
  Matrix<double> dense("lap", n, n);
  Kokkos::deep_copy(dense, h);
  const strata::DenseOperator<double> op(dense);
  hss::CompressOptions o;
  o.rank = 2;
  o.error_probes = 0;
  return hss::compress_from_matvecs(strata::ExecSpace(), op, hss::ClusterTree::uniform(n, 16), o)
      .matrix;
}

TEST(UlvSingular, SingularMatrixIsRefused) {
  const strata::ExecSpace exec;
  const auto a = laplacian(true);
  Matrix<double> b("b", n, 2), x("x", n, 2);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 3, 0}, b);
  try {
    const auto f = hss::ulv_factor<double>(exec, a);
    hss::ulv_solve<double>(exec, f, b, x);
    ADD_FAILURE() << "a singular matrix must be refused";
  } catch (const strata::NumericalError& e) {
    EXPECT_NE(std::string(e.what()).find("singular to working precision"), std::string::npos)
        << e.what();
  }
}

TEST(UlvSingular, ConditionLowerBoundOfANonsingularMatrix) {
  const strata::ExecSpace exec;
  const auto a = laplacian(false);
  Matrix<double> b("b", n, 1), x("x", n, 1);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 4, 0}, b);
  const auto f = hss::ulv_factor<double>(exec, a);
  const auto r = hss::ulv_solve<double>(exec, f, b, x);
  const double pi = std::acos(-1.0);
  const double kappa = 1 / std::pow(std::tan(pi / (2.0 * (n + 1))), 2);
  // A lower bound (up to the rounding of the solves: relative kappa K u ~ 1e-9 here); the power
  // iterations get within a factor 2 (8 steps on A^T A from a random start for ||A||_2, whose top
  // eigenvalues cluster: >= 0.5 ||A||_2 after one step; two inverse iterations, the smallest
  // eigenvalue being 4x below the next one).
  EXPECT_LE(r.condition_lower_bound, kappa * (1 + 1e-8));
  EXPECT_GE(r.condition_lower_bound, kappa / 2);
  EXPECT_LE(r.residual, 1e-10);
  // Without the residual, nothing is checked or estimated.
  const auto quick = hss::ulv_solve<double>(exec, f, b, x, false);
  EXPECT_EQ(quick.condition_lower_bound, -1);
}

}  // namespace
