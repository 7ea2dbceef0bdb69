// Polar factor, sign and square roots against independent references built from known
// factorizations (orthonormal factors from LAPACK QR) and LAPACK SVD / eigenvalues; the distributed
// polar factor agrees with the single-rank one at 1, 2 and 4 ranks.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "strata/dist/operations.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "strata/polar/muon.hpp"
#include "strata/polar/newton_schulz.hpp"
#include "support/allclose.hpp"

namespace {

using strata::HostMatrix;
using strata::index_type;
namespace polar = strata::polar;

// Orthonormal m x k factor from the QR of a Gaussian matrix (double, host).
HostMatrix<double> orthonormal(std::size_t m, std::size_t k, std::uint64_t seed) {
  strata::Matrix<double> g("g", m, k);
  strata::fill_random(strata::ExecSpace(),
                      strata::RandomStream{strata::Distribution::gaussian, seed, 0}, g);
  auto h = strata::testing::to_host(g);
  strata::linalg::host::qr_in_place(h);
  return h;
}

// U diag(s) V^T in double on the host.
HostMatrix<double> product(const HostMatrix<double>& u, const std::vector<double>& s,
                           const HostMatrix<double>& v) {
  HostMatrix<double> a("a", u.extent(0), v.extent(0));
  for (std::size_t j = 0; j < v.extent(0); ++j)
    for (std::size_t l = 0; l < s.size(); ++l)
      for (std::size_t i = 0; i < u.extent(0); ++i) a(i, j) += u(i, l) * s[l] * v(j, l);
  return a;
}

template <class T>
strata::Matrix<T> to_device(const HostMatrix<double>& a) {
  HostMatrix<T> cast("cast", a.extent(0), a.extent(1));
  for (std::size_t j = 0; j < a.extent(1); ++j)
    for (std::size_t i = 0; i < a.extent(0); ++i) cast(i, j) = static_cast<T>(a(i, j));
  strata::Matrix<T> d("d", a.extent(0), a.extent(1));
  Kokkos::deep_copy(d, cast);
  return d;
}

template <class T>
HostMatrix<double> to_double(const strata::Matrix<T>& a) {
  const auto h = strata::testing::to_host(a);
  HostMatrix<double> out("out", h.extent(0), h.extent(1));
  for (std::size_t j = 0; j < h.extent(1); ++j)
    for (std::size_t i = 0; i < h.extent(0); ++i) out(i, j) = static_cast<double>(h(i, j));
  return out;
}

double relative_error(const HostMatrix<double>& a, const HostMatrix<double>& b) {
  return strata::testing::relative_frobenius_error(a, b);
}

std::vector<double> spread(std::size_t n, double smallest) {
  std::vector<double> s(n);
  for (std::size_t i = 0; i < n; ++i) s[i] = std::pow(smallest, static_cast<double>(i) / (n - 1));
  return s;
}

template <class T>
class Polar : public ::testing::Test {
 protected:
  static double u() { return std::numeric_limits<T>::epsilon() / 2; }
};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Polar, Scalars);

TYPED_TEST(Polar, PolarFactorOfKnownMatricesReachesThePrecisionFloor) {
  using T = TypeParam;
  const std::size_t m = 120, n = 40;
  for (const double smallest : {1e-3, 1e-6}) {
    const auto u = orthonormal(m, n, 1), v = orthonormal(n, n, 2);
    const auto s = spread(n, smallest);
    const auto a = to_device<T>(product(u, s, v));
    strata::Matrix<T> q("q", m, n), h("h", n, n);
    const auto result = polar::polar_factor<T>(strata::ExecSpace(), a, q, {}, h);
    // Orthogonality floor: the Gram matrix of an m x n matrix carries rounding of about sqrt(m) u
    // per entry, so ||Q^T Q - I||_F settles near n sqrt(m) u; the singular values of Q are then
    // within that of 1. We allow 4 n sqrt(m) u.
    const double floor = 4.0 * n * std::sqrt(static_cast<double>(m)) * TestFixture::u();
    EXPECT_LE(result.error, floor) << "smallest " << smallest;
    const auto sigma = strata::linalg::host::singular_values(to_double(q));
    for (const double sv : sigma) EXPECT_NEAR(sv, 1.0, floor) << "smallest " << smallest;
    // Forward error vs U V^T: the polar factor's condition number is ~ 1 / sigma_min (after scaling
    // sigma_max = 1), so the rounding floor is amplified by it.
    const double forward = relative_error(to_double(q), product(u, std::vector<double>(n, 1.0), v));
    EXPECT_LE(forward, floor / smallest) << "smallest " << smallest;
    // And against LAPACK's SVD-based polar factor U V^T of the same (rounded) A, whose own error is
    // of the same order.
    const auto lapack = strata::linalg::host::polar_via_svd(to_double(a));
    EXPECT_LE(relative_error(to_double(q), lapack), 2 * floor / smallest)
        << "smallest " << smallest;
    // H = Q^T A is symmetric positive semidefinite and Q H reproduces A (backward error).
    const auto hh = to_double(h);
    const auto eig = strata::linalg::host::symmetric_eigenvalues(hh);
    EXPECT_GE(eig.front(), -floor);
    strata::Matrix<T> qh("qh", m, n);
    strata::linalg::gemm(strata::ExecSpace(), "N", "N", T(1), q, h, T(0), qh);
    EXPECT_LE(relative_error(to_double(qh), to_double(a)), floor);
    EXPECT_GT(result.iterations, 3);
  }
}

TYPED_TEST(Polar, WideMatricesAndFixedStepsAndTolerance) {
  using T = TypeParam;
  const std::size_t m = 20, n = 70;  // wide: orthonormal rows
  const auto u = orthonormal(m, m, 3), v = orthonormal(n, m, 4);
  const auto a = to_device<T>(product(u, spread(m, 1e-2), v));
  strata::Matrix<T> q("q", m, n);
  polar::IterationOptions fixed;
  fixed.steps = 5;
  fixed.lower = 1e-3;  // below sigma_min / (1.01 ||A||_F) ~ 2e-3 for this A
  const auto r = polar::polar_factor<T>(strata::ExecSpace(), a, q, fixed);
  EXPECT_EQ(r.iterations, 5);
  EXPECT_EQ(r.error_history.size(), 6u);
  // After T fixed steps the singular values of Q lie within the schedule's worst-case bound of 1
  // (Q Q^T = I for a wide Q up to that bound), plus the rounding floor.
  polar::ScheduleOptions so;
  so.steps = 5;
  const double bound = polar::make_schedule(so).final_bound();
  const double floor = 4.0 * m * std::sqrt(static_cast<double>(n)) * TestFixture::u();
  for (const double sv : strata::linalg::host::singular_values(to_double(q)))
    EXPECT_NEAR(sv, 1.0, bound + floor);
  polar::IterationOptions tol;
  tol.tolerance = std::is_same_v<T, double> ? 1e-10 : 1e-3;
  const auto rt = polar::polar_factor<T>(strata::ExecSpace(), a, q, tol);
  EXPECT_LE(rt.error, tol.tolerance);
  tol.tolerance = 1e-30;  // below any precision floor: reported, not silently returned
  EXPECT_THROW(polar::polar_factor<T>(strata::ExecSpace(), a, q, tol), strata::NumericalError);
}

TYPED_TEST(Polar, DistributedTallSkinnyAgreesWithOneRank) {
  using T = TypeParam;
  const strata::Comm comm;
  const std::size_t m = 301, n = 17;
  const auto u = orthonormal(m, n, 5), v = orthonormal(n, n, 6);
  const auto a_host = product(u, spread(n, 1e-3), v);
  const auto a = to_device<T>(a_host);
  strata::Matrix<T> q_single("q", m, n);
  const auto single = polar::polar_factor<T>(strata::ExecSpace(), a, q_single);
  strata::DistMatrix<T> da(comm, static_cast<index_type>(m), static_cast<index_type>(n));
  strata::DistMatrix<T> dq(comm, static_cast<index_type>(m), static_cast<index_type>(n));
  Kokkos::deep_copy(
      da.local(),
      Kokkos::subview(a,
                      Kokkos::make_pair(static_cast<std::size_t>(da.row_begin()),
                                        static_cast<std::size_t>(da.row_begin() + da.local_rows())),
                      Kokkos::ALL));
  polar::IterationOptions options;
  options.steps = single.iterations;  // the same number of steps as the single-rank run
  const auto dist = polar::polar_factor<T>(strata::ExecSpace(), da, dq, options);
  const auto gathered = strata::allgather_rows(strata::ExecSpace(), dq);
  // Only the summation order of the Gram allreduce differs: rounding-level differences, amplified
  // at most by the conditioning 1 / sigma_min = 1e3.
  const double floor = 4.0 * n * std::sqrt(static_cast<double>(m)) * TestFixture::u();
  EXPECT_LE(relative_error(to_double(gathered), to_double(q_single)), floor * 1e3);
  EXPECT_LE(dist.error, floor);
  // Errors are collective: a wide distributed input is refused on every rank.
  strata::DistMatrix<T> wide(comm, 4, 9), wide_q(comm, 4, 9);
  EXPECT_THROW(polar::polar_factor<T>(strata::ExecSpace(), wide, wide_q), strata::ShapeMismatch);
  EXPECT_EQ(comm.allreduce(1, strata::ReduceOp::sum), comm.size());
}

TYPED_TEST(Polar, SignOfSymmetricAndNonsymmetricMatrices) {
  using T = TypeParam;
  const std::size_t n = 30;
  const auto v = orthonormal(n, n, 7);
  std::vector<double> lambda(n), signs(n);
  for (std::size_t i = 0; i < n; ++i) {
    lambda[i] = (i % 3 == 0 ? -1.0 : 1.0) * std::pow(1e-2, static_cast<double>(i) / (n - 1));
    signs[i] = lambda[i] > 0 ? 1.0 : -1.0;
  }
  const auto a = to_device<T>(product(v, lambda, v));
  strata::Matrix<T> s("s", n, n);
  const auto r = polar::matrix_sign<T>(strata::ExecSpace(), a, s);
  const double floor = 4.0 * n * std::sqrt(static_cast<double>(n)) * TestFixture::u();
  EXPECT_LE(r.error, floor);
  EXPECT_LE(relative_error(to_double(s), product(v, signs, v)), floor / 1e-2);
  // Nonsymmetric: an upper triangular matrix with eigenvalues +-1..2 on the diagonal. sign(A)^2 = I
  // and sign(A) commutes with A.
  HostMatrix<double> tri("tri", n, n);
  for (std::size_t j = 0; j < n; ++j) {
    tri(j, j) = (j % 2 ? -1.0 : 1.0) * (1.0 + static_cast<double>(j) / n);
    for (std::size_t i = 0; i < j; ++i) tri(i, j) = 0.1 * std::cos(static_cast<double>(i * n + j));
  }
  const auto at = to_device<T>(tri);
  EXPECT_NO_THROW(polar::matrix_sign<T>(strata::ExecSpace(), at, s));
  strata::Matrix<T> as("as", n, n), sa("sa", n, n);
  strata::linalg::gemm(strata::ExecSpace(), "N", "N", T(1), at, s, T(0), as);
  strata::linalg::gemm(strata::ExecSpace(), "N", "N", T(1), s, at, T(0), sa);
  EXPECT_LE(relative_error(to_double(as), to_double(sa)), 100 * floor);
  strata::Matrix<T> rect("rect", 3, 4), out("out", 3, 4);
  EXPECT_THROW(polar::matrix_sign<T>(strata::ExecSpace(), rect, out), strata::ShapeMismatch);
}

TYPED_TEST(Polar, SquareRootsOfSpdMatrices) {
  using T = TypeParam;
  const std::size_t n = 32;
  const auto v = orthonormal(n, n, 8);
  std::vector<double> lambda(n), roots(n), inverse_roots(n);
  for (std::size_t i = 0; i < n; ++i) {
    lambda[i] = 5.0 * std::pow(1e-3, static_cast<double>(i) / (n - 1));  // kappa = 1e3
    roots[i] = std::sqrt(lambda[i]);
    inverse_roots[i] = 1 / roots[i];
  }
  const auto a = to_device<T>(product(v, lambda, v));
  strata::Matrix<T> root("root", n, n), inverse("inverse", n, n);
  polar::IterationOptions o;
  o.lower = 1e-2;  // sqrt(lambda_min / ||A||_F) >= 1e-2
  const auto r = polar::sqrt_and_inverse_sqrt<T>(strata::ExecSpace(), a, root, inverse, o);
  // The coupled iteration's forward error grows with sqrt(kappa) ~ 32 (Higham, Functions of
  // Matrices, sec. 6.7); on top of the n sqrt(n) u floor of the products.
  const double floor = 4.0 * n * std::sqrt(static_cast<double>(n)) * TestFixture::u();
  EXPECT_LE(relative_error(to_double(root), product(v, roots, v)), floor * 32);
  EXPECT_LE(relative_error(to_double(inverse), product(v, inverse_roots, v)), floor * 32 * 32);
  EXPECT_GT(r.iterations, 2);
  // Not positive definite: the iteration diverges, which is detected and reported.
  lambda[5] = -0.5;
  const auto indefinite = to_device<T>(product(v, lambda, v));
  EXPECT_THROW(polar::sqrt_and_inverse_sqrt<T>(strata::ExecSpace(), indefinite, root, inverse, o),
               strata::NumericalError);
  // Not symmetric.
  auto skewed = product(v, roots, v);
  skewed(0, 1) += 0.5;
  EXPECT_THROW(
      polar::sqrt_and_inverse_sqrt<T>(strata::ExecSpace(), to_device<T>(skewed), root, inverse, o),
      strata::InvalidArgument);
}

TYPED_TEST(Polar, SpectralScalingSavesIterations) {
  using T = TypeParam;
  // Flat spectrum: ||A||_F = sqrt(n) ||A||_2, so Frobenius scaling puts every singular value near
  // 1 / sqrt(n) while a spectral estimate puts them near 1.
  const std::size_t m = 200, n = 100;
  std::vector<double> s(n, 1.0);
  s[n - 1] = 0.5;
  const auto a = to_device<T>(product(orthonormal(m, n, 11), s, orthonormal(n, n, 12)));
  strata::Matrix<T> q("q", m, n);
  const auto frob = polar::polar_factor<T>(strata::ExecSpace(), a, q);
  polar::IterationOptions spectral;
  spectral.scaling = polar::Scaling::spectral_estimate;
  const auto spec = polar::polar_factor<T>(strata::ExecSpace(), a, q, spectral);
  const double floor = 4.0 * n * std::sqrt(static_cast<double>(m)) * TestFixture::u();
  EXPECT_LE(spec.error, floor);
  EXPECT_LE(spec.iterations, frob.iterations);
  // The estimate lies within a few percent below ||A||_2 = 1 (scale = 1.01 sigma).
  EXPECT_NEAR(spec.scale / 1.01, 1.0, 0.05);
}

TYPED_TEST(Polar, InversePthRootsOfSpdMatrices) {
  using T = TypeParam;
  const std::size_t n = 24;
  const auto v = orthonormal(n, n, 13);
  std::vector<double> lambda(n);
  for (std::size_t i = 0; i < n; ++i)
    lambda[i] = 3.0 * std::pow(1e-2, static_cast<double>(i) / (n - 1));  // kappa 100
  const auto a = to_device<T>(product(v, lambda, v));
  const double floor = 4.0 * n * std::sqrt(static_cast<double>(n)) * TestFixture::u();
  for (const int p : {1, 2, 4}) {
    std::vector<double> expected(n);
    for (std::size_t i = 0; i < n; ++i) expected[i] = std::pow(lambda[i], -1.0 / p);
    strata::Matrix<T> root("root", n, n);
    const auto r = polar::inverse_pth_root<T>(strata::ExecSpace(), a, p, root);
    // Forward error of A^{-1/p}: amplified at most by kappa (the p = 1 inverse is the worst case).
    EXPECT_LE(relative_error(to_double(root), product(v, expected, v)), floor * 100) << "p = " << p;
    EXPECT_LE(r.error, floor * 100) << "p = " << p;
  }
  strata::Matrix<T> root("root", n, n);
  EXPECT_THROW(polar::inverse_pth_root<T>(strata::ExecSpace(), a, 0, root),
               strata::InvalidArgument);
  lambda[3] = -1.0;
  EXPECT_THROW(
      polar::inverse_pth_root<T>(strata::ExecSpace(), to_device<T>(product(v, lambda, v)), 2, root),
      strata::NumericalError);
}

// The Muon reference formulas (muon.py) evaluated on the host in double with plain loops.
HostMatrix<double> muon_reference(const HostMatrix<double>& w, const HostMatrix<double>& g,
                                  HostMatrix<double>& buf, double lr, double beta, double wd) {
  const std::size_t m = w.extent(0), n = w.extent(1);
  HostMatrix<double> x("x", m, n);
  double norm = 0;
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < m; ++i) {
      buf(i, j) = beta * buf(i, j) + (1 - beta) * g(i, j);
      x(i, j) = (1 - beta) * g(i, j) + beta * buf(i, j);
      norm += x(i, j) * x(i, j);
    }
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < m; ++i) x(i, j) /= std::sqrt(norm);
  // m >= n here: X <- a X + X (b A + c A^2) with A = X^T X.
  for (int step = 0; step < 5; ++step) {
    HostMatrix<double> a("A", n, n), b("B", n, n), next("next", m, n);
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t k = 0; k < m; ++k) a(i, j) += x(k, i) * x(k, j);
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < n; ++i) {
        double a2 = 0;
        for (std::size_t k = 0; k < n; ++k) a2 += a(i, k) * a(k, j);
        b(i, j) = -4.7750 * a(i, j) + 2.0315 * a2;
      }
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < m; ++i) {
        double xb = 0;
        for (std::size_t k = 0; k < n; ++k) xb += x(i, k) * b(k, j);
        next(i, j) = 3.4445 * x(i, j) + xb;
      }
    x = next;
  }
  HostMatrix<double> out("w", m, n);
  const double shape = std::sqrt(std::max(1.0, static_cast<double>(m) / n));
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < m; ++i) out(i, j) = w(i, j) * (1 - lr * wd) - lr * shape * x(i, j);
  return out;
}

TYPED_TEST(Polar, MuonUpdateMatchesTheReferenceFormulas) {
  using T = TypeParam;
  const std::size_t m = 48, n = 16;
  const auto w0 = to_double(
      to_device<T>(product(orthonormal(m, n, 14), spread(n, 0.1), orthonormal(n, n, 15))));
  HostMatrix<double> buf("buf", m, n);
  auto w_ref = w0;
  strata::Matrix<T> w = to_device<T>(w0), momentum("momentum", m, n);
  polar::MuonOptions options;
  options.weight_decay = 0.1;
  for (int step = 0; step < 3; ++step) {
    strata::Matrix<T> g("g", m, n);
    strata::fill_random(
        strata::ExecSpace(),
        strata::RandomStream{strata::Distribution::gaussian, 100, static_cast<std::uint64_t>(step)},
        g);
    const auto g_host = to_double(g);
    w_ref = muon_reference(w_ref, g_host, buf, options.learning_rate, options.beta,
                           options.weight_decay);
    polar::muon_update<T>(strata::ExecSpace(), w, g, momentum, options);
  }
  // Three steps of the same arithmetic in another order: rounding-level agreement (the quintic is
  // evaluated with O(n) terms per entry, and errors of the unconverged Muon map are not damped).
  EXPECT_LE(relative_error(to_double(w), w_ref), 1e3 * TestFixture::u() * n);
  EXPECT_LE(relative_error(to_double(momentum), buf), 10 * TestFixture::u());
}

TYPED_TEST(Polar, BadInputGivesClearErrors) {
  using T = TypeParam;
  strata::Matrix<T> a("a", 10, 4), q("q", 10, 4), wrong("wrong", 4, 10);
  EXPECT_THROW(polar::polar_factor<T>(strata::ExecSpace(), a, q),
               strata::InvalidArgument);  // zero matrix
  EXPECT_THROW(polar::polar_factor<T>(strata::ExecSpace(), a, wrong), strata::ShapeMismatch);
  auto h = strata::testing::to_host(a);
  h(3, 2) = std::numeric_limits<T>::quiet_NaN();
  Kokkos::deep_copy(a, h);
  EXPECT_THROW(polar::polar_factor<T>(strata::ExecSpace(), a, q), strata::NonFiniteInput);
  polar::IterationOptions bad;
  bad.lower = 2.0;
  Kokkos::deep_copy(a, T(1));
  EXPECT_THROW(polar::polar_factor<T>(strata::ExecSpace(), a, q, bad), strata::InvalidArgument);
}

}  // namespace
