// Batched polar factors equal the one-at-a-time ones, matrix by matrix; batched GEMM equals a loop
// of GEMMs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/linalg/batched_gemm.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/polar/batched.hpp"
#include "support/allclose.hpp"

namespace {

using strata::Batch;
namespace polar = strata::polar;

template <class T>
Batch<T> random_batch(std::size_t m, std::size_t n, std::size_t batch, std::uint64_t seed) {
  Batch<T> a("a", m, n, batch);
  for (std::size_t b = 0; b < batch; ++b) {
    strata::fill_random(strata::ExecSpace(),
                        strata::RandomStream{strata::Distribution::gaussian, seed, b},
                        Kokkos::subview(a, Kokkos::ALL, Kokkos::ALL, b));
  }
  return a;
}

template <class T>
strata::Matrix<T> slice(const Batch<T>& a, std::size_t b) {
  strata::Matrix<T> out("slice", a.extent(0), a.extent(1));
  Kokkos::deep_copy(out, Kokkos::subview(a, Kokkos::ALL, Kokkos::ALL, b));
  return out;
}

template <class T>
class Batched : public ::testing::Test {
 protected:
  static double u() { return std::numeric_limits<T>::epsilon() / 2; }
};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Batched, Scalars);

TYPED_TEST(Batched, GemmBatchedEqualsALoopOfGemms) {
  using T = TypeParam;
  const auto a = random_batch<T>(9, 7, 4, 1), b = random_batch<T>(9, 5, 4, 2);
  Batch<T> c("c", 7, 5, 4);
  strata::linalg::gemm_batched<T>(strata::ExecSpace(), 'T', 'N', T(1), a, b, T(0), c);
  for (std::size_t i = 0; i < 4; ++i) {
    strata::Matrix<T> expected("e", 7, 5);
    strata::linalg::gemm(strata::ExecSpace(), "T", "N", T(1), slice(a, i), slice(b, i), T(0),
                         expected);
    // Same products, possibly another summation order: gamma_9 sum |a||b| <= 9 u * 9 * 16.
    EXPECT_THAT(slice(c, i),
                strata::testing::AllClose(expected, 0.0, 2 * 9 * 9 * 16 * TestFixture::u()));
  }
  Batch<T> wrong("w", 7, 5, 3);
  EXPECT_THROW(
      strata::linalg::gemm_batched<T>(strata::ExecSpace(), 'T', 'N', T(1), a, b, T(0), wrong),
      strata::ShapeMismatch);
}

TYPED_TEST(Batched, PolarFactorsMatchSingleCallsForTallAndWide) {
  using T = TypeParam;
  // 5000 x 6 and its transpose: more than the 4096 rows one team takes in the elementwise kernels
  // (scale, store), so a column spans two row blocks.
  for (const auto& [m, n] :
       std::vector<std::pair<std::size_t, std::size_t>>{{40, 12}, {12, 40}, {5000, 6}, {6, 5000}}) {
    const std::size_t batch = 5;
    const auto a = random_batch<T>(m, n, batch, 3);
    Batch<T> q("q", m, n, batch);
    const auto result = polar::polar_factor_batched<T>(strata::ExecSpace(), a, q);
    ASSERT_EQ(result.errors.size(), batch);
    const std::size_t k = std::min(m, n), big = std::max(m, n);
    const double floor = 4.0 * k * std::sqrt(static_cast<double>(big)) * TestFixture::u();
    EXPECT_LE(result.max_error, floor);
    for (std::size_t b = 0; b < batch; ++b) {
      strata::Matrix<T> single("single", m, n);
      polar::IterationOptions same;
      same.steps = result.iterations;  // the batch runs until its slowest matrix converges
      polar::polar_factor<T>(strata::ExecSpace(), slice(a, b), single, same);
      // Gaussian 40 x 12 matrices have condition numbers ~ 10 (5000 x 6 ones ~ 1.1), which bounds
      // the amplification.
      EXPECT_LE(strata::testing::relative_frobenius_error(slice(q, b), single), 10 * floor)
          << m << "x" << n << " #" << b;
      EXPECT_LE(result.errors[b], floor);
    }
  }
}

TYPED_TEST(Batched, LargeMatricesSpreadOverSeveralTeamsAndScaleSafely) {
  // 400 x 300 matrices: the per-matrix norms and errors are reduced in several column blocks per
  // matrix. The second batch is the first times 2^e (e = 990 in fp64, 100 in fp32: squares of its
  // entries overflow T): the polar factor is scale-invariant, and scaling by a power of two is
  // exact, so the two runs see the same scaled input up to the rounding of the norm (relative
  // ~ 300 u): their factors agree to what that perturbation can move in a 8-step map.
  using T = TypeParam;
  const std::size_t m = 400, n = 300, batch = 2;
  const auto a = random_batch<T>(m, n, batch, 11);
  const int e = std::is_same_v<T, double> ? 990 : 100;
  Batch<T> big("big", m, n, batch);
  {
    auto h = strata::testing::to_host(a);
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t i = 0; i < m; ++i) h(i, j, b) = std::ldexp(h(i, j, b), e);
    Kokkos::deep_copy(big, h);
  }
  polar::IterationOptions o;
  o.steps = 8;
  Batch<T> q("q", m, n, batch), q_big("q_big", m, n, batch);
  const auto r = polar::polar_factor_batched<T>(strata::ExecSpace(), a, q, o);
  const auto r_big = polar::polar_factor_batched<T>(strata::ExecSpace(), big, q_big, o);
  for (std::size_t b = 0; b < batch; ++b) {
    EXPECT_TRUE(std::isfinite(r_big.errors[b]));
    // Each of the 8 steps is Lipschitz with constant <= max |p'(x)| <~ 3 on [0, 1] (the schedule's
    // polynomials), so a relative input perturbation delta = 300 u grows to at most 3^8 delta.
    EXPECT_LE(strata::testing::relative_frobenius_error(slice(q_big, b), slice(q, b)),
              6561 * 300 * TestFixture::u())
        << b;
    // The reported error is ||Q^T Q - I||_F of the result, recomputed here on the host.
    const auto qb = strata::testing::to_host(slice(q, b));
    double sum = 0;
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < n; ++i) {
        double d = 0;
        for (std::size_t k = 0; k < m; ++k) d += double(qb(k, i)) * double(qb(k, j));
        d -= i == j ? 1.0 : 0.0;
        sum += d * d;
      }
    // The iteration's Gram is formed in T: it differs from the double one by ~ m u per entry.
    EXPECT_NEAR(r.errors[b], std::sqrt(sum), 2 * m * n * TestFixture::u() + 1e-3 * std::sqrt(sum))
        << b;
  }
  // The first entry of the history is the distance of the scaled input X_0 = A / (safety ||A||_F)
  // (fixed-step mode reduces it in the polynomial's pass over G): the largest over the batch of
  // ||A^T A / (safety ||A||_F)^2 - I||_F, recomputed here in double, to the same rounding.
  ASSERT_EQ(r.max_error_history.size(), 9u);
  const auto ah = strata::testing::to_host(a);
  double worst = 0;
  for (std::size_t b = 0; b < batch; ++b) {
    double norm2 = 0;
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < m; ++i) norm2 += double(ah(i, j, b)) * double(ah(i, j, b));
    const double scale = o.safety * o.safety * norm2;
    double sum = 0;
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < n; ++i) {
        double d = 0;
        for (std::size_t k = 0; k < m; ++k) d += double(ah(k, i, b)) * double(ah(k, j, b));
        d = d / scale - (i == j ? 1.0 : 0.0);
        sum += d * d;
      }
    worst = std::max(worst, std::sqrt(sum));
  }
  EXPECT_NEAR(r.max_error_history.front(), worst, 2 * m * n * TestFixture::u() + 1e-3 * worst);
}

TYPED_TEST(Batched, BadMatricesAreNamed) {
  using T = TypeParam;
  auto a = random_batch<T>(6, 3, 4, 4);
  Batch<T> q("q", 6, 3, 4);
  Kokkos::deep_copy(Kokkos::subview(a, Kokkos::ALL, Kokkos::ALL, 2), T(0));
  try {
    polar::polar_factor_batched<T>(strata::ExecSpace(), a, q);
    FAIL();
  } catch (const strata::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("matrix 2 of the batch is zero"), std::string::npos)
        << e.what();
  }
  auto h = strata::testing::to_host(a);
  h(1, 1, 3) = std::numeric_limits<T>::infinity();
  Kokkos::deep_copy(a, h);
  EXPECT_THROW(polar::polar_factor_batched<T>(strata::ExecSpace(), a, q), strata::NonFiniteInput);
  Batch<T> wrong("w", 6, 3, 5);
  EXPECT_THROW(polar::polar_factor_batched<T>(strata::ExecSpace(), a, wrong),
               strata::ShapeMismatch);
}

}  // namespace
