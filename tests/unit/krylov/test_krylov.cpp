// GMRES and CG (krylov/) on a replicated operator, in float and double, against LAPACK dense
// solves and against what Krylov theory says exactly: the iteration counts of a matrix with k
// distinct eigenvalues, of an exact preconditioner, and of the CG convergence bound; then
// non-convergence, breakdowns, several right-hand sides and input errors, and an HSS
// preconditioner for the exact kernel operator of a built-in problem.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/hss/compress_matvec.hpp"
#include "strata/hss/hss_operator.hpp"
#include "strata/hss/problems.hpp"
#include "strata/krylov/cg.hpp"
#include "strata/krylov/gmres.hpp"
#include "strata/krylov/mixed_precision.hpp"
#include "support/krylov_matrices.hpp"

namespace {

namespace krylov = strata::krylov;
namespace t = strata::testing;
using strata::HostMatrix;
using strata::index_type;

constexpr index_type n = 64;

template <class T>
double eps() {
  return std::numeric_limits<T>::epsilon();
}

/// The operator of a host matrix, with its data kept alive.
template <class T>
struct Dense {
  explicit Dense(const HostMatrix<double>& host) : a(host), device(t::to_device<T>(host)) {}
  HostMatrix<double> a;
  strata::Matrix<T> device;
  strata::DenseOperator<T> op{device};
};

template <class T>
strata::DistMatrix<T> block(const HostMatrix<double>& host) {
  strata::DistMatrix<T> x(strata::Comm::self(), static_cast<index_type>(host.extent(0)),
                          static_cast<index_type>(host.extent(1)));
  Kokkos::deep_copy(x.local(), t::to_device<T>(host));
  return x;
}

template <class T>
strata::DistMatrix<T> zeros(index_type rows, index_type cols) {
  return strata::DistMatrix<T>(strata::Comm::self(), rows, cols);
}

template <class T>
class Krylov : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Krylov, Types);

TYPED_TEST(Krylov, GmresMatchesLapackOnNonsymmetricMatrix) {
  using T = TypeParam;
  const double kappa = 100;
  Dense<T> a(t::nonsymmetric(n, kappa, 11));
  const auto b_host = t::host_gaussian(n, 1, 12);
  const auto b = block<T>(b_host);
  const auto reference = t::lapack_solve(a.a, b_host);
  // A backward-stable GMRES (MGS or CGS2 Arnoldi) attains ||b - A x|| <~ n eps ||A|| ||x||, i.e.
  // a relative residual of up to n eps kappa: the tolerance asks for exactly that.
  for (const auto orth : {krylov::Orthogonalization::cgs2, krylov::Orthogonalization::mgs}) {
    krylov::KrylovOptions o;
    o.tolerance = n * kappa * eps<T>();
    o.restart = static_cast<int>(n);
    o.orthogonalization = orth;
    auto x = zeros<T>(n, 1);
    const auto r = krylov::gmres(strata::ExecSpace(), a.op, b, x, o);
    ASSERT_EQ(r.columns.size(), 1u);
    EXPECT_TRUE(r.converged) << krylov::orthogonalization_name(orth);
    EXPECT_EQ(r.columns[0].stop, krylov::StopReason::converged);
    // Full GMRES terminates within n steps in exact arithmetic.
    EXPECT_LE(r.iterations, n);
    const auto xh = t::to_host(x.local());
    // The reported residual is the true one: recomputed here in long double from the stored x it
    // differs only by the rounding of b - A x in T (n eps ||A|| ||x|| / ||b|| <= n eps kappa).
    const double residual = t::relative_residual(a.a, b_host, xh, 0);
    EXPECT_LE(residual, o.tolerance + n * eps<T>() * kappa);
    EXPECT_NEAR(r.relative_residual, residual, n * eps<T>() * kappa);
    // Forward error <= kappa x backward error (plus the rounding of A in T, eps kappa).
    EXPECT_LE(t::relative_error(xh, reference, 0), kappa * (residual + 2 * eps<T>()));
    EXPECT_EQ(r.columns[0].residual_history.size(), static_cast<std::size_t>(r.iterations) + 1);
    EXPECT_EQ(r.operator_applies, r.iterations + 1);  // + the true residual of the one cycle
  }
}

TYPED_TEST(Krylov, GmresConvergesInAsManyStepsAsDistinctEigenvalues) {
  using T = TypeParam;
  // A = S D S^{-1} with k = 4 distinct eigenvalues: its minimal polynomial has degree 4, so the
  // GMRES residual is 0 after at most 4 steps in exact arithmetic. S = I + G / (4 sqrt(n)) is well
  // conditioned (||G|| ~ 2 sqrt(n), so cond(S) <= (1 + 1/2)/(1 - 1/2) = 3).
  auto s = t::host_gaussian(n, n, 21);
  for (index_type j = 0; j < n; ++j)
    for (index_type i = 0; i < n; ++i)
      s(i, j) = (i == j ? 1.0 : 0.0) + s(i, j) / (4 * std::sqrt(double(n)));
  std::vector<double> d(static_cast<std::size_t>(n));
  const double values[] = {1.0, 2.0, 3.5, 5.0};
  for (index_type i = 0; i < n; ++i) d[static_cast<std::size_t>(i)] = values[i % 4];
  Dense<T> a(t::product(s, d, t::inverse(s)));
  const auto b = block<T>(t::host_gaussian(n, 1, 22));
  // After 4 steps the residual is rounding: cond(A) <= cond(S)^2 max|d| / min|d| = 45, and the
  // products carry n eps relative errors, so n eps cond(A) bounds what is left.
  krylov::KrylovOptions o;
  o.tolerance = 45 * n * eps<T>();
  o.restart = 10;
  auto x = zeros<T>(n, 1);
  const auto r = krylov::gmres(strata::ExecSpace(), a.op, b, x, o);
  EXPECT_TRUE(r.converged);
  EXPECT_LE(r.iterations, 4);
}

TYPED_TEST(Krylov, CgMatchesLapackAndTheIterationBound) {
  using T = TypeParam;
  const double kappa = 10;
  Dense<T> a(t::spd(n, kappa, 31));
  const auto b_host = t::host_gaussian(n, 1, 32);
  const auto b = block<T>(b_host);
  const auto reference = t::lapack_solve(a.a, b_host);
  krylov::KrylovOptions o;
  o.tolerance = std::is_same_v<T, double> ? 1e-10 : n * kappa * eps<T>();
  auto x = zeros<T>(n, 1);
  const auto r = krylov::cg(strata::ExecSpace(), a.op, b, x, o);
  EXPECT_TRUE(r.converged);
  // ||e_k||_A <= 2 q^k ||e_0||_A with q = (sqrt(kappa) - 1)/(sqrt(kappa) + 1), and ||r||/||b||
  // <= sqrt(kappa) ||e||_A / ||e_0||_A for x0 = 0: k >= ln(2 sqrt(kappa) / tol) / ln(1/q) steps
  // suffice (Saad, Thm. 6.29).
  const double q = (std::sqrt(kappa) - 1) / (std::sqrt(kappa) + 1);
  const double bound = std::ceil(std::log(2 * std::sqrt(kappa) / o.tolerance) / std::log(1 / q));
  EXPECT_LE(r.iterations, bound);
  const auto xh = t::to_host(x.local());
  const double residual = t::relative_residual(a.a, b_host, xh, 0);
  EXPECT_LE(residual, o.tolerance + n * eps<T>() * kappa);
  EXPECT_LE(t::relative_error(xh, reference, 0), kappa * (residual + 2 * eps<T>()));
}

TYPED_TEST(Krylov, ExactPreconditionerConvergesInOneIteration) {
  using T = TypeParam;
  const double kappa = 50;
  const auto host = t::spd(n, kappa, 41);
  Dense<T> a(host);
  Dense<T> inverse(t::inverse(host));
  const auto b = block<T>(t::host_gaussian(n, 2, 42));
  // M^{-1} = A^{-1} stored in T: A M^{-1} = I + E with ||E|| <~ n eps kappa, the residual after
  // one step.
  krylov::KrylovOptions o;
  o.tolerance = n * kappa * eps<T>();
  auto x = zeros<T>(n, 2);
  const auto r_cg = krylov::cg(strata::ExecSpace(), a.op, inverse.op, b, x, o);
  EXPECT_TRUE(r_cg.converged);
  EXPECT_EQ(r_cg.iterations, 1);
  EXPECT_EQ(r_cg.preconditioner_applies, 2);  // per column z_0 = M^{-1} r_0 only
  const auto r_gmres = krylov::gmres(strata::ExecSpace(), a.op, inverse.op, b, x, o);
  EXPECT_TRUE(r_gmres.converged);
  EXPECT_EQ(r_gmres.iterations, 1);
}

TYPED_TEST(Krylov, NonConvergenceIsReported) {
  using T = TypeParam;
  Dense<T> a(t::nonsymmetric(n, 1e3, 51));
  const auto b_host = t::host_gaussian(n, 1, 52);
  const auto b = block<T>(b_host);
  krylov::KrylovOptions o;
  o.tolerance = 1e-3;
  o.max_iterations = 3;
  auto x = zeros<T>(n, 1);
  const auto r = krylov::gmres(strata::ExecSpace(), a.op, b, x, o);
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.columns[0].stop, krylov::StopReason::max_iterations);
  EXPECT_EQ(r.iterations, 3);
  const double residual = t::relative_residual(a.a, b_host, t::to_host(x.local()), 0);
  EXPECT_GT(residual, o.tolerance);
  EXPECT_NEAR(r.relative_residual, residual, 1e3 * n * eps<T>());

  Dense<T> s(t::spd(n, 1e3, 53));
  auto y = zeros<T>(n, 1);
  const auto c = krylov::cg(strata::ExecSpace(), s.op, b, y, o);
  EXPECT_FALSE(c.converged);
  EXPECT_EQ(c.columns[0].stop, krylov::StopReason::max_iterations);
  EXPECT_EQ(c.iterations, 3);
  EXPECT_NEAR(c.relative_residual, t::relative_residual(s.a, b_host, t::to_host(y.local()), 0),
              1e3 * n * eps<T>());
}

TYPED_TEST(Krylov, GmresOneStagnatesOnARotation) {
  using T = TypeParam;
  // A = [[0, 1], [-1, 0]], b = e_1: A b is orthogonal to b, so GMRES(1) makes no progress.
  HostMatrix<double> rotation("rotation", 2, 2);
  rotation(0, 1) = 1;
  rotation(1, 0) = -1;
  Dense<T> a(rotation);
  HostMatrix<double> e1("e1", 2, 1);
  e1(0, 0) = 1;
  krylov::KrylovOptions o;
  o.restart = 1;
  auto x = zeros<T>(2, 1);
  const auto r = krylov::gmres(strata::ExecSpace(), a.op, block<T>(e1), x, o);
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.columns[0].stop, krylov::StopReason::stagnation);
  EXPECT_EQ(r.iterations, 1);
  EXPECT_DOUBLE_EQ(r.relative_residual, 1.0);
  // Full GMRES solves it in 2 steps.
  o.restart = 2;
  EXPECT_TRUE(krylov::gmres(strata::ExecSpace(), a.op, block<T>(e1), x, o).converged);
}

TYPED_TEST(Krylov, CgDetectsIndefiniteMatrixAndPreconditioner) {
  using T = TypeParam;
  HostMatrix<double> d("d", 4, 4), identity("identity", 4, 4), minus("minus", 4, 4);
  for (int i = 0; i < 4; ++i) {
    d(i, i) = i == 0 ? -1.0 : 1.0 + i;
    identity(i, i) = 1;
    minus(i, i) = -1;
  }
  HostMatrix<double> e1("e1", 4, 1);
  e1(0, 0) = 1;
  Dense<T> a(d), id(identity), m(minus);
  auto x = zeros<T>(4, 1);
  const auto r = krylov::cg(strata::ExecSpace(), a.op, block<T>(e1), x);  // p^T A p = -1
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.columns[0].stop, krylov::StopReason::indefinite);
  const auto p = krylov::cg(strata::ExecSpace(), id.op, m.op, block<T>(e1), x);  // r^T M^-1 r < 0
  EXPECT_FALSE(p.converged);
  EXPECT_EQ(p.columns[0].stop, krylov::StopReason::preconditioner_indefinite);
}

TYPED_TEST(Krylov, ColumnsAreSolvedIndependently) {
  using T = TypeParam;
  // I + G / (2 sqrt(n)): eigenvalues in the disc |z - 1| <~ 1/2 (circular law), so restarted
  // GMRES(4) converges (about a factor 2 per iteration) over several cycles. (A matrix with random
  // singular vectors, as nonsymmetric() makes, has eigenvalues around 0 and stagnates restarted.)
  auto g = t::host_gaussian(n, n, 61);
  for (index_type j = 0; j < n; ++j)
    for (index_type i = 0; i < n; ++i)
      g(i, j) = (i == j ? 1.0 : 0.0) + g(i, j) / (2 * std::sqrt(double(n)));
  Dense<T> a(g);
  auto b_host = t::host_gaussian(n, 3, 62);
  for (index_type i = 0; i < n; ++i) {
    b_host(i, 1) = 0;  // a zero right-hand side: x = 0
    b_host(i, 2) *= 1e3;
  }
  krylov::KrylovOptions o;
  o.tolerance = 1e-4;
  o.restart = 4;
  auto x = zeros<T>(n, 3);
  const auto r = krylov::gmres(strata::ExecSpace(), a.op, block<T>(b_host), x, o);
  ASSERT_EQ(r.columns.size(), 3u);
  for (const auto& c : r.columns)
    EXPECT_TRUE(c.converged) << krylov::stop_reason_name(c.stop) << " after " << c.iterations
                             << " iterations, residual " << c.relative_residual;
  EXPECT_GT(r.columns[0].true_residual_history.size(), 2u);  // restarted at least once
  EXPECT_EQ(r.columns[1].iterations, 0);
  EXPECT_EQ(r.columns[1].relative_residual, 0.0);
  const auto xh = t::to_host(x.local());
  for (index_type j : {0, 2}) {
    HostMatrix<double> bj("bj", n, 1);
    for (index_type i = 0; i < n; ++i) bj(i, 0) = b_host(i, j);
    auto xj = zeros<T>(n, 1);
    const auto single = krylov::gmres(strata::ExecSpace(), a.op, block<T>(bj), xj, o);
    EXPECT_EQ(single.iterations, r.columns[static_cast<std::size_t>(j)].iterations);
    const auto xjh = t::to_host(xj.local());
    for (index_type i = 0; i < n; ++i) EXPECT_EQ(xh(i, j), xjh(i, 0));  // the same operations
  }
  for (index_type i = 0; i < n; ++i) EXPECT_EQ(xh(i, 1), T(0));
  EXPECT_EQ(r.iterations, std::max(r.columns[0].iterations, r.columns[2].iterations));
}

TYPED_TEST(Krylov, InitialGuessIsUsed) {
  using T = TypeParam;
  const double kappa = 10;
  Dense<T> a(t::spd(n, kappa, 71));
  const auto b_host = t::host_gaussian(n, 1, 72);
  krylov::KrylovOptions o;
  o.tolerance = n * kappa * eps<T>();
  o.use_initial_guess = true;
  auto x = block<T>(t::lapack_solve(a.a, b_host));  // already a solution to rounding
  for (const bool use_cg : {false, true}) {
    const auto r = use_cg ? krylov::cg(strata::ExecSpace(), a.op, block<T>(b_host), x, o)
                          : krylov::gmres(strata::ExecSpace(), a.op, block<T>(b_host), x, o);
    EXPECT_TRUE(r.converged);
    EXPECT_EQ(r.iterations, 0);
    EXPECT_EQ(r.operator_applies, 1);
  }
}

TYPED_TEST(Krylov, BadInputIsRejected) {
  using T = TypeParam;
  Dense<T> a(t::spd(8, 2, 81));
  Dense<T> small(t::spd(4, 2, 82));
  const auto b = block<T>(t::host_gaussian(8, 1, 83));
  auto x = zeros<T>(8, 1);
  const strata::ExecSpace exec;
  auto options = [](double tol, int max_iterations, int restart) {
    krylov::KrylovOptions o;
    o.tolerance = tol;
    o.max_iterations = max_iterations;
    o.restart = restart;
    return o;
  };
  EXPECT_THROW(krylov::gmres(exec, a.op, b, x, options(0, 10, 5)), strata::InvalidArgument);
  EXPECT_THROW(krylov::gmres(exec, a.op, b, x, options(-1, 10, 5)), strata::InvalidArgument);
  EXPECT_THROW(krylov::cg(exec, a.op, b, x, options(std::nan(""), 10, 5)), strata::InvalidArgument);
  EXPECT_THROW(krylov::gmres(exec, a.op, b, x, options(1e-6, 10, 0)), strata::InvalidArgument);
  EXPECT_THROW(krylov::cg(exec, a.op, b, x, options(1e-6, 0, 5)), strata::InvalidArgument);
  auto wide = zeros<T>(8, 2);
  EXPECT_THROW(krylov::gmres(exec, a.op, b, wide), strata::ShapeMismatch);
  auto short_x = zeros<T>(4, 1);
  EXPECT_THROW(krylov::cg(exec, a.op, b, short_x), strata::ShapeMismatch);
  EXPECT_THROW(krylov::gmres(exec, a.op, small.op, b, x), strata::ShapeMismatch);
  HostMatrix<double> rectangular("rectangular", 8, 4);
  Dense<T> r(rectangular);
  EXPECT_THROW(krylov::gmres(exec, r.op, b, x), strata::ShapeMismatch);
  auto bad = block<T>(t::host_gaussian(8, 1, 84));
  Kokkos::deep_copy(Kokkos::subview(bad.local(), 3, 0), std::numeric_limits<T>::quiet_NaN());
  EXPECT_THROW(krylov::gmres(exec, a.op, bad, x), strata::NonFiniteInput);
  auto o = options(1e-6, 10, 5);
  o.use_initial_guess = true;
  EXPECT_THROW(krylov::cg(exec, a.op, b, bad, o), strata::NonFiniteInput);
}

// A loose HSS approximation (tol 1e-4) of a kernel matrix, factored by ULV, preconditions the exact
// on-the-fly kernel operator: A M^{-1} = I + E with ||E|| about cond(A) x 1e-4 (measured: a few
// 1e-3), so GMRES gains about three digits per iteration and reaches 1e-10 in a few iterations.
TEST(KrylovHss, HssPreconditionedGmresReachesFullAccuracy) {
  const strata::ExecSpace exec;
  for (const char* name : {"cauchy-1d", "exponential-1d"}) {
    const index_type size = 2048;
    const auto problem = strata::hss::make_problem<double>(name, size);
    const auto op = strata::hss::make_operator<double>(problem);
    const auto points = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), problem->points());
    const auto tree = strata::hss::ClusterTree::geometric(points, 64);
    strata::hss::CompressOptions c;
    c.tolerance = 1e-4;
    const auto compressed = strata::hss::compress_from_matvecs(exec, *op, tree, c);
    strata::hss::HssOperatorOptions h;
    h.mode = strata::hss::HssOperatorMode::inverse;
    h.factor_transpose = false;
    const strata::hss::HssOperator<double> m(exec, compressed.matrix, h);
    const auto b = block<double>(t::host_gaussian(size, 1, 91));
    auto x = zeros<double>(size, 1);
    krylov::KrylovOptions o;
    o.tolerance = 1e-10;
    const auto r = krylov::gmres(exec, *op, m, b, x, o);
    EXPECT_TRUE(r.converged) << name;
    EXPECT_LE(r.iterations, 10) << name;
    EXPECT_LE(r.relative_residual, 1e-10) << name;
    // Independent check of the true residual with a fresh product.
    auto ax = zeros<double>(size, 1);
    op->apply(exec, x.local(), ax.local());
    const auto axh = t::to_host(ax.local());
    const auto bh = t::to_host(b.local());
    double r2 = 0, b2 = 0;
    for (index_type i = 0; i < size; ++i) {
      r2 += (bh(i, 0) - axh(i, 0)) * (bh(i, 0) - axh(i, 0));
      b2 += bh(i, 0) * bh(i, 0);
    }
    EXPECT_NEAR(std::sqrt(r2 / b2), r.relative_residual, 1e-12) << name;
  }
}

// The same with the HSS approximation in float (compressed from the float kernel operator,
// factored in float) preconditioning GMRES in double: the preconditioner's own error (1e-4) is far
// above float rounding (6e-8), so the iteration converges as with a double HSS.
TEST(KrylovHss, FloatHssPreconditionsDoubleGmres) {
  const strata::ExecSpace exec;
  const index_type size = 2048;
  const auto problem = strata::hss::make_problem<double>("cauchy-1d", size);
  const auto problem_float = strata::hss::make_problem<float>("cauchy-1d", size);
  const auto op = strata::hss::make_operator<double>(problem);
  const auto op_float = strata::hss::make_operator<float>(problem_float);
  const auto points = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), problem->points());
  const auto tree = strata::hss::ClusterTree::geometric(points, 64);
  strata::hss::CompressOptions c;
  c.tolerance = 1e-4;
  const auto compressed = strata::hss::compress_from_matvecs(exec, *op_float, tree, c);
  strata::hss::HssOperatorOptions h;
  h.mode = strata::hss::HssOperatorMode::inverse;
  h.factor_transpose = false;
  const auto inverse_float =
      std::make_shared<strata::hss::HssOperator<float>>(exec, compressed.matrix, h);
  const krylov::PrecisionCastOperator<double, float> m(inverse_float);
  // The cast operator applies exactly the float operator: compare with a float product.
  const auto b_host = t::host_gaussian(size, 1, 93);
  const auto b = block<double>(b_host);
  auto y = zeros<double>(size, 1);
  m.apply(exec, b.local(), y.local());
  const auto b_float = t::to_device<float>(b_host);
  strata::Matrix<float> y_float("y_float", size, 1);
  inverse_float->apply(exec, b_float, y_float);
  const auto yh = t::to_host(y.local());
  const auto yfh = t::to_host(y_float);
  for (index_type i = 0; i < size; ++i) ASSERT_EQ(yh(i, 0), static_cast<double>(yfh(i, 0)));

  auto x = zeros<double>(size, 1);
  krylov::KrylovOptions o;
  o.tolerance = 1e-10;
  const auto r = krylov::gmres(exec, *op, m, b, x, o);
  EXPECT_TRUE(r.converged);
  EXPECT_LE(r.iterations, 10);
  EXPECT_LE(r.relative_residual, 1e-10);
}

}  // namespace
