// bfloat16 iterations: the accuracy floor on matrices with known spectra where the build has a real
// bf16 type, and a clear "not available" everywhere else (Debian's Kokkos 3.4 has none).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "strata/polar/bf16.hpp"
#include "support/allclose.hpp"

namespace {

#if STRATA_HAVE_BF16
using strata::kx::bf16;

strata::HostMatrix<double> orthonormal(std::size_t m, std::size_t k, std::uint64_t seed) {
  strata::Matrix<double> g("g", m, k);
  strata::fill_random(strata::ExecSpace(),
                      strata::RandomStream{strata::Distribution::gaussian, seed, 0}, g);
  auto h = strata::testing::to_host(g);
  strata::linalg::host::qr_in_place(h);
  return h;
}

strata::Matrix<bf16> to_bf16(const strata::HostMatrix<double>& a) {
  strata::Matrix<float> f("f", a.extent(0), a.extent(1));
  auto hf = Kokkos::create_mirror_view(f);
  for (std::size_t j = 0; j < a.extent(1); ++j)
    for (std::size_t i = 0; i < a.extent(0); ++i) hf(i, j) = static_cast<float>(a(i, j));
  Kokkos::deep_copy(f, hf);
  strata::Matrix<bf16> out("bf16", a.extent(0), a.extent(1));
  const auto rows = a.extent(0);
  Kokkos::parallel_for(
      "test::to_bf16", Kokkos::RangePolicy<strata::ExecSpace>(0, a.extent(0) * a.extent(1)),
      KOKKOS_LAMBDA(const std::size_t k) {
        out(k % rows, k / rows) = strata::kx::to_bf16(f(k % rows, k / rows));
      });
  return out;
}

strata::HostMatrix<double> to_double(const strata::Matrix<bf16>& a) {
  strata::Matrix<float> f("f", a.extent(0), a.extent(1));
  const auto rows = a.extent(0);
  Kokkos::parallel_for(
      "test::from_bf16", Kokkos::RangePolicy<strata::ExecSpace>(0, a.extent(0) * a.extent(1)),
      KOKKOS_LAMBDA(const std::size_t k) {
        f(k % rows, k / rows) = strata::kx::from_bf16(a(k % rows, k / rows));
      });
  const auto hf = strata::testing::to_host(f);
  strata::HostMatrix<double> out("d", a.extent(0), a.extent(1));
  for (std::size_t j = 0; j < a.extent(1); ++j)
    for (std::size_t i = 0; i < a.extent(0); ++i) out(i, j) = hf(i, j);
  return out;
}

TEST(PolarBf16, ReachesTheBf16AccuracyFloor) {
  EXPECT_TRUE(strata::polar::bf16_available());
  const std::size_t m = 96, n = 32;
  for (const double smallest : {1e-3, 1e-6}) {
    const auto u = orthonormal(m, n, 1), v = orthonormal(n, n, 2);
    strata::HostMatrix<double> a("a", m, n);
    for (std::size_t l = 0; l < n; ++l) {
      const double s = std::pow(smallest, static_cast<double>(l) / (n - 1));
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t i = 0; i < m; ++i) a(i, j) += u(i, l) * s * v(j, l);
    }
    strata::Matrix<bf16> q("q", m, n);
    const auto result = strata::polar::polar_factor_bf16(strata::ExecSpace(), to_bf16(a), q);
    // Every step rounds X to bf16 (unit roundoff 2^-9): a perturbation of spectral norm at most
    // 2^-9 ||X||_F = 2^-9 sqrt(n); the singular values of Q settle within a few times that of 1.
    const double floor = 4.0 * std::sqrt(static_cast<double>(n)) * std::ldexp(1.0, -9);
    for (const double s : strata::linalg::host::singular_values(to_double(q))) {
      EXPECT_NEAR(s, 1.0, floor) << "spectrum down to " << smallest;
    }
    EXPECT_LE(result.error, 2 * floor * std::sqrt(static_cast<double>(n)));
  }
}

TEST(PolarBf16, FixedStepsAndBadInput) {
  const auto a = to_bf16(orthonormal(40, 10, 3));
  strata::Matrix<bf16> q("q", 40, 10);
  strata::polar::IterationOptions o;
  o.steps = 6;
  EXPECT_EQ(strata::polar::polar_factor_bf16(strata::ExecSpace(), a, q, o).iterations, 6);
  strata::Matrix<bf16> zero("zero", 40, 10), wrong("wrong", 10, 40);
  EXPECT_THROW(strata::polar::polar_factor_bf16(strata::ExecSpace(), zero, q),
               strata::InvalidArgument);
  EXPECT_THROW(strata::polar::polar_factor_bf16(strata::ExecSpace(), a, wrong),
               strata::ShapeMismatch);
}
#else
TEST(PolarBf16, ReportedUnavailableWithoutARealBf16Type) {
  EXPECT_FALSE(strata::polar::bf16_available());
}
#endif

}  // namespace
