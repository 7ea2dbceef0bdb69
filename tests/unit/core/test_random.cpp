// Counter-based random streams: block independence (bitwise, fp64 and fp32), the fp32 stream's
// float Box-Muller against a double evaluation on the same uniforms, moments and distribution
// shape against the exact laws (fp64 and fp32), and independence between seeds, streams and
// neighbours.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "strata/core/random.hpp"

namespace {

using strata::Distribution;
using strata::RandomStream;

template <class T>
strata::HostMatrix<T> generate(const RandomStream& s, std::size_t rows, std::size_t cols,
                               strata::index_type row_offset = 0,
                               strata::index_type col_offset = 0) {
  strata::Matrix<T> d("d", rows, cols);
  strata::fill_random(strata::ExecSpace(), s, d, row_offset, col_offset);
  return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d);
}

// entry(i, j) evaluated in a kernel on the default execution space.
template <class T = double>
strata::HostMatrix<T> entries_on_device(const RandomStream& s, std::size_t rows, std::size_t cols,
                                        strata::index_type row_offset = 0,
                                        strata::index_type col_offset = 0) {
  strata::Matrix<T> d("d", rows, cols);
  Kokkos::parallel_for(
      "test::entries",
      Kokkos::MDRangePolicy<strata::ExecSpace, Kokkos::Rank<2>>({0, 0}, {rows, cols}),
      KOKKOS_LAMBDA(const std::size_t i, const std::size_t j) {
        d(i, j) = s.entry<T>(row_offset + static_cast<strata::index_type>(i),
                             col_offset + static_cast<strata::index_type>(j));
      });
  return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d);
}

class RandomBlocks : public ::testing::TestWithParam<Distribution> {};

TEST_P(RandomBlocks, AnySubBlockIsBitwiseTheSameAsCutFromTheWhole) {
  const RandomStream s{GetParam(), 20261122, 7};
  const std::size_t rows = 53, cols = 301;  // spans several Rademacher groups of 256 columns
  const auto whole = generate<double>(s, rows, cols);
  // Offsets chosen to start and end inside column groups.
  const std::vector<std::array<std::size_t, 4>> blocks = {{0, 0, 53, 301},   {5, 3, 17, 9},
                                                          {10, 250, 20, 51}, {52, 300, 1, 1},
                                                          {0, 1, 53, 255},   {31, 4, 22, 4}};
  for (const auto& [r0, c0, nr, nc] : blocks) {
    const auto block = generate<double>(s, nr, nc, static_cast<strata::index_type>(r0),
                                        static_cast<strata::index_type>(c0));
    for (std::size_t j = 0; j < nc; ++j) {
      for (std::size_t i = 0; i < nr; ++i) {
        ASSERT_EQ(block(i, j), whole(r0 + i, c0 + j)) << "block at (" << r0 << ", " << c0 << ")";
      }
    }
  }
  // The scalar entry function, evaluated on the same backend, agrees with the kernel bitwise.
  const auto scalar = entries_on_device(s, rows, cols);
  for (std::size_t j = 0; j < cols; ++j)
    for (std::size_t i = 0; i < rows; ++i)
      ASSERT_EQ(scalar(i, j), whole(i, j)) << "(" << i << ", " << j << ")";
  // Across backends (host libm vs the device's log/sin/cos) Gaussian entries agree to a few ulps:
  // Box-Muller composes sqrt(-2 log u) and cos/sin(2 pi u), each within 2 ulps on both sides.
  for (std::size_t j = 0; j < cols; j += 7) {
    for (std::size_t i = 0; i < rows; i += 5) {
      const double host =
          s.entry<double>(static_cast<strata::index_type>(i), static_cast<strata::index_type>(j));
      ASSERT_NEAR(host, whole(i, j),
                  16 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::fabs(host)));
    }
  }
}

TEST_P(RandomBlocks, Fp32SubBlocksAreBitwiseTheSameAsCutFromTheWhole) {
  const RandomStream s{GetParam(), 20261206, 3};
  const std::size_t rows = 37, cols = 290;
  const auto whole = generate<float>(s, rows, cols);
  const std::vector<std::array<std::size_t, 4>> blocks = {
      {0, 0, 37, 290}, {5, 3, 17, 9}, {10, 250, 20, 40}, {36, 289, 1, 1}, {3, 1, 30, 255}};
  for (const auto& [r0, c0, nr, nc] : blocks) {
    const auto block = generate<float>(s, nr, nc, static_cast<strata::index_type>(r0),
                                       static_cast<strata::index_type>(c0));
    for (std::size_t j = 0; j < nc; ++j)
      for (std::size_t i = 0; i < nr; ++i)
        ASSERT_EQ(block(i, j), whole(r0 + i, c0 + j)) << "block at (" << r0 << ", " << c0 << ")";
  }
  // The scalar entry function, evaluated on the same backend, agrees with the kernel bitwise.
  const auto scalar = entries_on_device<float>(s, rows, cols);
  for (std::size_t j = 0; j < cols; ++j)
    for (std::size_t i = 0; i < rows; ++i)
      ASSERT_EQ(scalar(i, j), whole(i, j)) << "(" << i << ", " << j << ")";
  // Across backends (host libm vs a GPU's logf/sqrtf/cosf/sinf) the float Box-Muller values differ
  // by what each side's float evaluation errs: at most 20 R 2^-24 on either side (see
  // Fp32IsBoxMullerInFloatOnTheTop32BitsOfTheSameWords), R = sqrt(-2 ln u) <= 6.77, so at most
  // 40 * 6.77 * 2^-24 apart. On a host backend both sides are the same code and agree bitwise.
  const double across = 40 * 6.77 * std::ldexp(1.0, -24);
  for (std::size_t j = 0; j < cols; ++j)
    for (std::size_t i = 0; i < rows; ++i)
      ASSERT_NEAR(
          s.entry<float>(static_cast<strata::index_type>(i), static_cast<strata::index_type>(j)),
          whole(i, j), across)
          << "(" << i << ", " << j << ")";
}

TEST(RandomGaussian, Fp32IsBoxMullerInFloatOnTheTop32BitsOfTheSameWords) {
  // Reference: Box-Muller in double on the fp32 stream's own uniforms (float values, so exact in
  // double: (k + 1/2) 2^-32 rounded to float, k the top 32 bits of each Philox word). The float
  // evaluation errs by a few
  // ulps in each of logf, sqrtf (relative, on the radius R), 2 pi u and cosf/sinf (absolute, on an
  // angle of at most 2 pi): |x32 - x| <= R (4 + 4 pi + 2) 2^-24 < 20 R 2^-24; 32 R 2^-24 leaves
  // room for a libm a couple of ulps worse. Rademacher entries are signs in both types.
  const RandomStream s{Distribution::gaussian, 1, 2};
  const auto f = generate<float>(s, 40, 40);
  const auto d = generate<double>(s, 40, 40);
  double largest_gap = 0;
  for (std::size_t j = 0; j < 40; ++j)
    for (std::size_t i = 0; i < 40; ++i) {
      const auto r =
          s.bits(static_cast<strata::index_type>(i), static_cast<strata::index_type>(j / 4));
      const int slot = static_cast<int>(j % 4), pair = slot / 2;
      const double u1 = static_cast<double>(RandomStream::uniform_open_float(r.v[2 * pair]));
      const double u2 = static_cast<double>(RandomStream::uniform_open_float(r.v[2 * pair + 1]));
      const double radius = std::sqrt(-2.0 * std::log(u1)),
                   angle = 2.0 * strata::kx::pi<double> * u2;
      const double expected = radius * (slot % 2 == 0 ? std::cos(angle) : std::sin(angle));
      ASSERT_NEAR(f(i, j), expected, 32 * radius * std::ldexp(1.0, -24))
          << "(" << i << ", " << j << ")";
      if (u1 >= std::ldexp(1.0, -20))
        largest_gap = std::max(largest_gap, std::fabs(f(i, j) - d(i, j)));
    }
  // The fp64 stream uses 53 bits of the same words: its uniforms differ from the float ones by at
  // most 2^-24 u + 2^-33 (float rounding of k, then of k + 1/2, and the dropped low bits), so
  // R = sqrt(-2 ln u) moves by |dR| = du / (u R) <= 2^-24 / R (+ 2^-33 / (u R), negligible
  // beside it for u >= 2^-20, the entries compared: in the far tail, u < 2^-20 (P = 1e-6), the
  // fp32 stream's coarser start of the grid dominates) and is at most R itself;
  // min(2^-24 / R, R) <= 2^-12. The angle moves
  // by 2 pi 2^-24 and the float evaluation adds its 32 R 2^-24 (above): the streams are within
  // 2^-12 + 40 R 2^-24 of each other, and they are not the same numbers.
  EXPECT_GT(largest_gap, 0.0);
  EXPECT_LE(largest_gap, std::ldexp(1.0, -12) + 40 * 6.8 * std::ldexp(1.0, -24));
  const RandomStream signs{Distribution::rademacher, 1, 2};
  const auto fs = generate<float>(signs, 40, 40);
  const auto ds = generate<double>(signs, 40, 40);
  for (std::size_t j = 0; j < 40; ++j)
    for (std::size_t i = 0; i < 40; ++i) ASSERT_EQ(static_cast<double>(fs(i, j)), ds(i, j));
}

TEST_P(RandomBlocks, HugeGlobalIndicesWork) {
  // A block far out in a 2^40 x 2^40 matrix: generated without touching anything before it.
  const RandomStream s{GetParam(), 99, 0};
  const strata::index_type far = strata::index_type(1) << 40;
  const auto block = generate<double>(s, 3, 5, far, far + 3);
  const auto scalar = entries_on_device(s, 3, 5, far, far + 3);
  for (std::size_t j = 0; j < 5; ++j)
    for (std::size_t i = 0; i < 3; ++i) ASSERT_EQ(block(i, j), scalar(i, j));
}

TEST_P(RandomBlocks, SeedsStreamsAndDistributionsGiveDifferentMatrices) {
  const auto base = generate<double>(RandomStream{GetParam(), 5, 0}, 30, 30);
  const std::vector<RandomStream> others = {{GetParam(), 6, 0}, {GetParam(), 5, 1}};
  for (const auto& other : others) {
    const auto m = generate<double>(other, 30, 30);
    int equal = 0;
    for (std::size_t j = 0; j < 30; ++j)
      for (std::size_t i = 0; i < 30; ++i) equal += m(i, j) == base(i, j);
    // Gaussian entries coincide with probability 0; Rademacher ones half the time (900 draws:
    // 450 +- 15, so [350, 550] is a >6-sigma band).
    if (GetParam() == Distribution::gaussian) {
      EXPECT_EQ(equal, 0);
    } else {
      EXPECT_GT(equal, 350);
      EXPECT_LT(equal, 550);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Distributions, RandomBlocks,
                         ::testing::Values(Distribution::gaussian, Distribution::rademacher),
                         [](const auto& info) {
                           return std::string(strata::distribution_name(info.param));
                         });

// Standard normal CDF.
double phi(double x) {
  return 0.5 * std::erfc(-x / std::sqrt(2.0));
}

template <class T>
class RandomGaussianTyped : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(RandomGaussianTyped, Scalars);

TYPED_TEST(RandomGaussianTyped, MomentsAndShapeMatchTheStandardNormal) {
  const std::size_t rows = 1000, cols = 400;  // n = 4e5 samples
  const auto m = generate<TypeParam>(RandomStream{Distribution::gaussian, 42, 3}, rows, cols);
  const double n = static_cast<double>(rows * cols);
  std::vector<double> x(m.data(), m.data() + rows * cols);
  double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
  for (const double v : x) {
    s1 += v;
    s2 += v * v;
    s3 += v * v * v;
    s4 += v * v * v * v;
  }
  // Sample moments vs exact ones; each bound is 6 standard errors of the estimator
  // (Var(x) = 1, Var(x^2) = 2, Var(x^3) = 15, Var(x^4) = 96 for N(0, 1)). The fp32 stream's
  // truncation at |x| <= 6.77 changes the 4th moment by < 1e-8, far inside the bound.
  EXPECT_NEAR(s1 / n, 0.0, 6 * std::sqrt(1.0 / n));
  EXPECT_NEAR(s2 / n, 1.0, 6 * std::sqrt(2.0 / n));
  EXPECT_NEAR(s3 / n, 0.0, 6 * std::sqrt(15.0 / n));
  EXPECT_NEAR(s4 / n, 3.0, 6 * std::sqrt(96.0 / n));
  // Kolmogorov-Smirnov distance to Phi. Critical value at significance 1e-6 is
  // sqrt(-ln(0.5e-6) / 2) / sqrt(n) = 2.69 / sqrt(n) (the fp32 uniforms' float resolution moves
  // the CDF by < 1e-6, 3 orders below it).
  std::sort(x.begin(), x.end());
  double ks = 0;
  for (std::size_t k = 0; k < x.size(); ++k) {
    const double f = phi(x[k]);
    ks = std::max({ks, f - static_cast<double>(k) / n, static_cast<double>(k + 1) / n - f});
  }
  EXPECT_LT(ks, 2.69 / std::sqrt(n));
}

TYPED_TEST(RandomGaussianTyped, NeighboursAreUncorrelated) {
  // Entries sharing a Philox call (same group of 4 columns) and entries in adjacent rows must be
  // uncorrelated: sample correlation within 6/sqrt(n) of 0.
  const std::size_t rows = 2000, cols = 200;
  const auto m = generate<TypeParam>(RandomStream{Distribution::gaussian, 11, 0}, rows, cols);
  double across = 0, down = 0;
  std::size_t na = 0, nd = 0;
  for (std::size_t j = 0; j + 1 < cols; ++j)
    for (std::size_t i = 0; i < rows; ++i) {
      across += m(i, j) * m(i, j + 1);
      ++na;
    }
  for (std::size_t j = 0; j < cols; ++j)
    for (std::size_t i = 0; i + 1 < rows; ++i) {
      down += m(i, j) * m(i + 1, j);
      ++nd;
    }
  EXPECT_NEAR(across / na, 0.0, 6.0 / std::sqrt(static_cast<double>(na)));
  EXPECT_NEAR(down / nd, 0.0, 6.0 / std::sqrt(static_cast<double>(nd)));
}

TEST(RandomRademacher, ValuesAreSignsWithBalancedCounts) {
  const std::size_t rows = 500, cols = 600;
  const auto m = generate<float>(RandomStream{Distribution::rademacher, 3, 9}, rows, cols);
  double sum = 0, lag = 0;
  for (std::size_t j = 0; j < cols; ++j)
    for (std::size_t i = 0; i < rows; ++i) {
      ASSERT_TRUE(m(i, j) == 1.0f || m(i, j) == -1.0f) << m(i, j);
      sum += m(i, j);
      if (j + 1 < cols) lag += m(i, j) * m(i, j + 1);
    }
  const double n = static_cast<double>(rows * cols);
  EXPECT_NEAR(sum / n, 0.0, 6.0 / std::sqrt(n));
  EXPECT_NEAR(lag / (rows * (cols - 1)), 0.0,
              6.0 / std::sqrt(static_cast<double>(rows * (cols - 1))));
}

TEST(RandomStreams, ParseAndErrors) {
  EXPECT_EQ(strata::parse_distribution("gaussian"), Distribution::gaussian);
  EXPECT_EQ(strata::parse_distribution("rademacher"), Distribution::rademacher);
  EXPECT_THROW(strata::parse_distribution("normal"), strata::InvalidArgument);
  strata::Matrix<double> d("d", 2, 2);
  EXPECT_THROW(strata::fill_random(strata::ExecSpace(), RandomStream{}, d, -1, 0),
               strata::InvalidArgument);
}

}  // namespace
