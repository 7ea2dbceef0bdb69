// Coordinated (priority and threshold) sampling sketches for A^T B: unbiasedness, the
// (eps, delta) guarantee with k = 2/(delta eps^2) + 1, exactness when every row is kept, and bad
// input.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "strata/dist/operations.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/sketch/coordinated_sampling.hpp"
#include "support/allclose.hpp"

namespace {

using strata::index_type;
namespace sketch = strata::sketch;

/// n x d Gaussian matrix with rows scaled by 1 + 4 (i mod 5) (unequal weights), on one rank.
template <class T>
strata::DistMatrix<T> test_matrix(index_type n, index_type d, std::uint64_t seed) {
  strata::DistMatrix<T> a(strata::Comm::self(), n, d);
  strata::fill_random(strata::ExecSpace(),
                      strata::RandomStream{strata::Distribution::gaussian, seed, 0}, a);
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a.local());
  for (std::size_t i = 0; i < h.extent(0); ++i)
    for (std::size_t j = 0; j < h.extent(1); ++j) h(i, j) *= static_cast<T>(1 + 4 * (i % 5));
  Kokkos::deep_copy(a.local(), h);
  return a;
}

template <class T>
strata::HostMatrix<double> exact_product(const strata::DistMatrix<T>& a,
                                         const strata::DistMatrix<T>& b) {
  strata::Matrix<T> c("c", static_cast<std::size_t>(a.cols()), static_cast<std::size_t>(b.cols()));
  strata::inner_product(strata::ExecSpace(), a, b, c);
  const auto h = strata::testing::to_host(c);
  strata::HostMatrix<double> out("out", h.extent(0), h.extent(1));
  for (std::size_t j = 0; j < h.extent(1); ++j)
    for (std::size_t i = 0; i < h.extent(0); ++i) out(i, j) = h(i, j);
  return out;
}

double frobenius_distance(const strata::HostMatrix<double>& x,
                          const strata::HostMatrix<double>& y) {
  double s = 0;
  for (std::size_t j = 0; j < x.extent(1); ++j)
    for (std::size_t i = 0; i < x.extent(0); ++i) s += (x(i, j) - y(i, j)) * (x(i, j) - y(i, j));
  return std::sqrt(s);
}

template <class T>
strata::HostMatrix<double> estimate(const strata::DistMatrix<T>& a, const strata::DistMatrix<T>& b,
                                    const sketch::CoordinatedSamplingOptions& o) {
  const strata::ExecSpace exec;
  const auto sa = sketch::build_product_sketch(exec, a, o);
  const auto sb = sketch::build_product_sketch(exec, b, o);
  const auto w = strata::testing::to_host(sketch::estimate_product(exec, sa, sb));
  strata::HostMatrix<double> out("w", w.extent(0), w.extent(1));
  for (std::size_t j = 0; j < w.extent(1); ++j)
    for (std::size_t i = 0; i < w.extent(0); ++i) out(i, j) = w(i, j);
  return out;
}

TEST(CoordinatedSampling, EstimatesAreUnbiased) {
  // Over T seeds the mean estimate M satisfies E||M - A^T B||_F^2 = sigma^2 / T with
  // sigma^2 = E||W - A^T B||_F^2; by the CLT T ||M - A^T B||^2 / sigma^2 is a weighted chi-square
  // with weights summing to 1, which exceeds 16 with probability < 1e-4. sigma^2 is estimated
  // from the trials.
  const auto a = test_matrix<double>(300, 4, 1);
  const auto b = test_matrix<double>(300, 3, 2);
  const auto exact = exact_product(a, b);
  for (const auto scheme : {sketch::SamplingScheme::priority, sketch::SamplingScheme::threshold}) {
    const int trials = 300;
    strata::HostMatrix<double> mean("mean", 4, 3);
    double sigma2 = 0;
    for (int t = 0; t < trials; ++t) {
      sketch::CoordinatedSamplingOptions o;
      o.scheme = scheme;
      o.sample_size = 30;
      o.seed = 700 + static_cast<std::uint64_t>(t);
      const auto w = estimate(a, b, o);
      const double d = frobenius_distance(w, exact);
      sigma2 += d * d / trials;
      for (std::size_t j = 0; j < 3; ++j)
        for (std::size_t i = 0; i < 4; ++i) mean(i, j) += w(i, j) / trials;
    }
    EXPECT_LT(frobenius_distance(mean, exact), 4 * std::sqrt(sigma2 / trials))
        << sketch::sampling_scheme_name(scheme);
  }
}

TEST(CoordinatedSampling, MeetsTheEpsDeltaGuarantee) {
  // k = 2/(delta eps^2) + 1 = 41 for eps = 0.5, delta = 0.2: P(||W - A^T B||_F > eps ||A||_F
  // ||B||_F) <= delta. The failure frequency over T = 200 seeds may exceed delta only by sampling
  // noise: we allow delta + 3 sqrt(delta (1 - delta) / T).
  const double eps = 0.5, delta = 0.2;
  const auto k = static_cast<index_type>(2 / (delta * eps * eps)) + 1;
  const auto a = test_matrix<double>(400, 5, 3);
  const auto b = test_matrix<double>(400, 4, 4);
  const auto exact = exact_product(a, b);
  const double scale = strata::frobenius_norm(strata::ExecSpace(), a) *
                       strata::frobenius_norm(strata::ExecSpace(), b);
  const int trials = 200;
  int failures = 0;
  for (int t = 0; t < trials; ++t) {
    sketch::CoordinatedSamplingOptions o;
    o.sample_size = k;
    o.seed = 900 + static_cast<std::uint64_t>(t);
    if (frobenius_distance(estimate(a, b, o), exact) > eps * scale) ++failures;
  }
  EXPECT_LE(failures, delta * trials + 3 * std::sqrt(delta * (1 - delta) * trials));
}

template <class T>
class Coordinated : public ::testing::Test {
 protected:
  static double eps() { return std::numeric_limits<T>::epsilon(); }
};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Coordinated, Scalars);

TYPED_TEST(Coordinated, KeepingEveryRowIsExactAndPriorityKeepsKRows) {
  using T = TypeParam;
  const auto a = test_matrix<T>(50, 3, 5);
  const auto b = test_matrix<T>(50, 2, 6);
  sketch::CoordinatedSamplingOptions o;
  o.sample_size = 50;  // every row: tau = infinity, probabilities 1
  const auto w = estimate(a, b, o);
  // One product sum of 50 terms in T: 50 eps relative to ||A||_F ||B||_F.
  const double scale = strata::frobenius_norm(strata::ExecSpace(), a) *
                       strata::frobenius_norm(strata::ExecSpace(), b);
  EXPECT_LT(frobenius_distance(w, exact_product(a, b)), 50 * TestFixture::eps() * scale);
  o.sample_size = 10;
  const auto s = sketch::build_product_sketch(strata::ExecSpace(), a, o);
  EXPECT_EQ(s.indices.extent(0), 10u);
  EXPECT_EQ(s.values.extent(0), 10u);
  EXPECT_TRUE(std::isfinite(s.tau) && s.tau > 0);
  for (std::size_t p = 1; p < s.indices.extent(0); ++p) EXPECT_LT(s.indices(p - 1), s.indices(p));
}

TEST(CoordinatedSampling, RejectsBadInput) {
  const strata::ExecSpace exec;
  const auto a = test_matrix<double>(20, 2, 7);
  const auto b = test_matrix<double>(21, 2, 8);
  sketch::CoordinatedSamplingOptions o;
  o.sample_size = 0;
  EXPECT_THROW(sketch::build_product_sketch(exec, a, o), strata::InvalidArgument);
  o.sample_size = 5;
  const auto sa = sketch::build_product_sketch(exec, a, o);
  const auto sb = sketch::build_product_sketch(exec, b, o);
  EXPECT_THROW(sketch::estimate_product(exec, sa, sb), strata::ShapeMismatch);
  o.seed = 1;
  const auto sa1 = sketch::build_product_sketch(exec, a, o);
  EXPECT_THROW(sketch::estimate_product(exec, sa, sa1), strata::InvalidArgument);
  auto bad = test_matrix<double>(20, 2, 9);
  Kokkos::deep_copy(Kokkos::subview(bad.local(), 3, 1), std::numeric_limits<double>::quiet_NaN());
  EXPECT_THROW(sketch::build_product_sketch(exec, bad, o), strata::NonFiniteInput);
}

}  // namespace
