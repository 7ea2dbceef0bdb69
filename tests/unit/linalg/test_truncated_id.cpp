// The host ID by truncated column-pivoted QR (linalg/detail/truncated_id.hpp, what the HSS
// skeletonization runs on host memory) against independent references on the same matrices:
// LAPACK xGEQP3 (a full column-pivoted QR, its rank read off its pivots with the same rule) and
// the dense SVD (xGESDD).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "strata/core/kokkos_ext/spaces.hpp"
#include "strata/core/random.hpp"
#include "strata/linalg/batched_dense.hpp"
#include "strata/linalg/detail/lapack.hpp"
#include "strata/linalg/detail/truncated_id.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "support/batch_matrices.hpp"

namespace {

using strata::HostMatrix;
using strata::linalg::MatrixBatch;
namespace la = strata::linalg;
using strata::testing::frobenius;
using strata::testing::matrix;
using strata::testing::to_batch;

constexpr double c_stable = 20;

HostMatrix<double> gaussian(int m, int n, std::uint64_t seed) {
  return strata::testing::gaussian_matrix(m, n, seed, 11);
}

// U diag(sigma) V^T with U, V orthonormal (QRs of Gaussian matrices).
HostMatrix<double> with_singular_values(int m, int n, const std::vector<double>& sigma,
                                        std::uint64_t seed) {
  const int k = static_cast<int>(sigma.size());
  auto u = gaussian(m, k, seed), v = gaussian(n, k, seed + 1000);
  la::host::qr_in_place(u);
  la::host::qr_in_place(v);
  HostMatrix<double> a("a", m, n);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double s = 0;
      for (int t = 0; t < k; ++t) s += u(i, t) * sigma[static_cast<std::size_t>(t)] * v(j, t);
      a(i, j) = s;
    }
  return a;
}

// sigma_j = 10^(-j / per_decade), j < count.
std::vector<double> decaying(int count, double per_decade) {
  std::vector<double> s(static_cast<std::size_t>(count));
  for (int j = 0; j < count; ++j) s[static_cast<std::size_t>(j)] = std::pow(10.0, -j / per_decade);
  return s;
}

// |R_jj| of LAPACK's xGEQP3 (double) of a.
std::vector<double> geqp3_pivots(const HostMatrix<double>& a) {
  int m = static_cast<int>(a.extent(0)), n = static_cast<int>(a.extent(1)), ld = std::max(1, m);
  std::vector<double> f(static_cast<std::size_t>(ld) * static_cast<std::size_t>(n));
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) f[static_cast<std::size_t>(i + j * ld)] = a(i, j);
  std::vector<int> jpvt(static_cast<std::size_t>(n), 0);
  std::vector<double> tau(static_cast<std::size_t>(std::max(1, std::min(m, n))));
  int info = 0, lwork = -1;
  double query = 0;
  la::lapack::geqp3(&m, &n, f.data(), &ld, jpvt.data(), tau.data(), &query, &lwork, &info);
  lwork = static_cast<int>(query);
  std::vector<double> work(static_cast<std::size_t>(std::max(1, lwork)));
  la::lapack::geqp3(&m, &n, f.data(), &ld, jpvt.data(), tau.data(), work.data(), &lwork, &info);
  std::vector<double> pivots;
  for (int j = 0; j < std::min(m, n); ++j)
    pivots.push_back(std::abs(f[static_cast<std::size_t>(j + j * ld)]));
  return pivots;
}

template <class T>
class TruncatedId : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(TruncatedId, Scalars);

// For every matrix and rank rule, with cut = max(absolute, relative |R_00|):
// - structure: the skeleton is a permutation, X(:, J) = I, X's spare rows are zero;
// - the ID's guarantee that the skeletonization relies on: after k steps of a column-pivoted QR
//   stopped at the first pivot <= cut, every column of R22 has norm <= cut, so
//   ||A - A(:, J) X||_F = ||R22||_F <= sqrt(n - k) cut, plus rounding c max(m, n) u ||A||_F (1 +
//   ||X||_F) (backward error of the Householder QR and of the triangular solve);
// - the rank equals LAPACK xGEQP3's (in double, on the same rounded matrix) read off its pivots
//   with the same rule, except where one of xGEQP3's pivots next to the cut lies within the
//   rounding c max(m, n) u ||A||_F of it (then either side is a valid answer);
// - the SVD: sigma_{k+1} <= ||A - A(:, J) X||_2 <= the bound above (an ID of rank k cannot do
//   better than the best rank-k approximation), so a rank stopped short fails here too.
TYPED_TEST(TruncatedId, MatchesLapackQrcpRankAndMeetsTheResidualBound) {
  using T = TypeParam;
  if constexpr (!Kokkos::SpaceAccessibility<Kokkos::HostSpace, strata::MemSpace>::accessible) {
    GTEST_SKIP() << "the truncated ID runs on host-accessible memory";
  } else {
    const double u = std::numeric_limits<T>::epsilon() / 2;
    HostMatrix<double> graded = gaussian(30, 20, 5);
    for (int j = 0; j < 20; ++j)
      for (int i = 0; i < 30; ++i) graded(i, j) = std::ldexp(graded(i, j), -j);
    // The skeletonization's shapes (sample rows x candidates: leaves 183 x 64 and 412 x 64, upper
    // levels about 2k x k) with smooth-kernel-like decay, an exactly low-rank matrix, wide,
    // Gaussian, graded and zero matrices.
    const std::vector<HostMatrix<double>> mats = {
        with_singular_values(183, 64, decaying(64, 4), 1),
        with_singular_values(412, 64, decaying(64, 6), 2),
        with_singular_values(60, 52, decaying(52, 3), 3),
        with_singular_values(40, 30, {4, 3, 2, 1, 0.5}, 4),
        graded,
        with_singular_values(20, 50, decaying(20, 2), 6),
        gaussian(25, 10, 7),
        HostMatrix<double>("zero", 6, 4),
        gaussian(1, 9, 8)};
    const int count = static_cast<int>(mats.size());
    std::vector<int> m, n, ones(mats.size(), 1), xr;
    for (const auto& a : mats) {
      m.push_back(static_cast<int>(a.extent(0)));
      n.push_back(static_cast<int>(a.extent(1)));
      xr.push_back(std::max(1, std::min(m.back(), n.back())));
    }
    const auto a = to_batch<T>(mats);
    std::vector<HostMatrix<double>> rounded;
    for (int b = 0; b < count; ++b) rounded.push_back(matrix(a, b));
    // Cuts from 1e-1 to 1e-5 times ||A||_2-sized entries, far above float rounding (~1e-7
    // relative); a relative rule; a rank cap.
    const std::vector<la::RankRule> rules = {la::RankRule{-1, 0, 1e-1}, la::RankRule{-1, 0, 1e-3},
                                             la::RankRule{-1, 0, 1e-5}, la::RankRule{-1, 1e-4, 0},
                                             la::RankRule{7, 0, 0}};
    for (const auto& rule : rules) {
      Kokkos::View<int*, strata::MemSpace> ranks("ranks", count);
      auto skel = MatrixBatch<int>::allocate("skel", n, ones);
      auto x = MatrixBatch<T>::allocate_uninitialized("x", xr, n);
      Kokkos::deep_copy(x.values, T(7));
      la::detail::host_truncated_interpolative_decomposition(strata::ExecSpace(), a, rule, ranks,
                                                             skel, x);
      const auto kh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, ranks);
      for (int b = 0; b < count; ++b) {
        const auto& ab = rounded[static_cast<std::size_t>(b)];
        const int k = kh(b);
        const auto sb = matrix(skel, b), xb = matrix(x, b);
        std::vector<int> seen(static_cast<std::size_t>(n[b]), 0);
        for (int j = 0; j < n[b]; ++j) ++seen[static_cast<std::size_t>(sb(j, 0))];
        ASSERT_EQ(std::count(seen.begin(), seen.end(), 1), n[b]) << "matrix " << b;
        for (int j = 0; j < k; ++j)
          for (int i = 0; i < k; ++i)
            EXPECT_EQ(xb(i, static_cast<int>(sb(j, 0))), i == j ? 1.0 : 0.0) << "matrix " << b;
        for (int j = 0; j < n[b]; ++j)
          for (int i = k; i < xr[b]; ++i) EXPECT_EQ(xb(i, j), 0.0) << "matrix " << b;
        // Residual A - A(:, J) X.
        HostMatrix<double> e("e", m[b], n[b]);
        double x_norm = 0;
        for (int j = 0; j < n[b]; ++j)
          for (int i = 0; i < m[b]; ++i) {
            double s = ab(i, j);
            for (int t = 0; t < k; ++t) s -= ab(i, static_cast<int>(sb(t, 0))) * xb(t, j);
            e(i, j) = s;
          }
        for (int j = 0; j < n[b]; ++j)
          for (int t = 0; t < k; ++t) x_norm += xb(t, j) * xb(t, j);
        const double norm_a = frobenius(ab);
        const double rounding = c_stable * std::max(m[b], n[b]) * u * norm_a;
        const auto pivots = geqp3_pivots(ab);
        const double first = pivots.empty() ? 0.0 : pivots.front();
        const double cut = std::max(rule.absolute_tolerance, rule.relative_tolerance * first);
        const double residual = frobenius(e);
        if (rule.max_rank < 0) {
          EXPECT_LE(residual, std::sqrt(n[b] - k) * cut + rounding * (1 + std::sqrt(x_norm)))
              << "matrix " << b << " cut " << cut << " rank " << k;
        }
        // xGEQP3's rank under the same rule.
        const int steps = static_cast<int>(pivots.size());
        const int cap = rule.max_rank < 0 ? steps : std::min(rule.max_rank, steps);
        int k_ref = 0;
        while (k_ref < cap && pivots[static_cast<std::size_t>(k_ref)] > cut) ++k_ref;
        const auto near_cut = [&](int j) {
          return j >= 0 && j < steps &&
                 std::abs(pivots[static_cast<std::size_t>(j)] - cut) <= rounding;
        };
        if (!near_cut(k_ref) && !near_cut(k_ref - 1)) {
          EXPECT_EQ(k, k_ref) << "matrix " << b << " cut " << cut;
        } else {
          EXPECT_LE(std::abs(k - k_ref), 1) << "matrix " << b << " cut " << cut;
        }
        // The best rank-k approximation's error bounds the ID's from below.
        const auto sigma = la::host::singular_values(ab);
        if (k < static_cast<int>(sigma.size())) {
          EXPECT_LE(sigma[static_cast<std::size_t>(k)] - rounding, residual)
              << "matrix " << b << " rank " << k;
          if (rule.max_rank < 0) {
            EXPECT_LE(sigma[static_cast<std::size_t>(k)],
                      std::sqrt(n[b] - k) * cut + rounding * (1 + std::sqrt(x_norm)))
                << "matrix " << b << " rank " << k;
          }
        }
      }
    }
    // NaN and Inf are reported.
    for (const double bad :
         {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
      auto with_bad = gaussian(4, 6, 9);
      with_bad(1, 2) = bad;
      const auto batch = to_batch<T>({gaussian(3, 3, 10), with_bad});
      Kokkos::View<int*, strata::MemSpace> r("r", 2);
      auto s = MatrixBatch<int>::allocate("s", {3, 6}, {1, 1});
      auto xx = MatrixBatch<T>::allocate("x", {3, 4}, {3, 6});
      EXPECT_THROW(la::detail::host_truncated_interpolative_decomposition(
                       strata::ExecSpace(), batch, la::RankRule{}, r, s, xx),
                   strata::NumericalError);
    }
  }
}

}  // namespace
