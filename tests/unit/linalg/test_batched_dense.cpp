// Batched dense kernels (QR, null space, column-pivoted QR / ID, SVD, pseudo-inverse, variable
// GEMM, copy) on batches of different sizes, rank-deficient, zero, empty and strided (ld > rows)
// matrices, checked against host LAPACK (singular values, QR), against known factorizations and
// against the defining identities. The same tests cover whichever backend the build dispatches
// to (host LAPACK for host memory, team kernels for device memory).
//
// Tolerances: u is the unit roundoff of T and n the largest dimension in the batch. Householder QR
// and one-sided Jacobi are backward stable with constants growing like n u (Higham, Accuracy and
// Stability, Thm 19.4 and 19.10; Demmel & Veselic 1992 for Jacobi; LAPACK Users' Guide Sec. 4.9
// for xGESDD/xGELSD): we allow c n u with c = 20,
// relative to ||A||_F for residuals and to sigma_1 for singular values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "strata/core/kokkos_ext/spaces.hpp"
#include "strata/core/random.hpp"
#include "strata/linalg/batched_dense.hpp"
#include "strata/linalg/detail/batched_dense_backend.hpp"
#include "strata/linalg/detail/lapack.hpp"
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

template <class T>
double unit_roundoff() {
  return std::numeric_limits<T>::epsilon() / 2;
}

/// Gaussian host matrix from a counter-based stream.
HostMatrix<double> gaussian(int m, int n, std::uint64_t seed) {
  return strata::testing::gaussian_matrix(m, n, seed, 7);
}

HostMatrix<double> multiply(const HostMatrix<double>& a, const HostMatrix<double>& b,
                            bool ta = false, bool tb = false) {
  const int m = ta ? a.extent(1) : a.extent(0), k = ta ? a.extent(0) : a.extent(1);
  const int n = tb ? b.extent(0) : b.extent(1);
  HostMatrix<double> c("c", m, n);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double s = 0;
      for (int l = 0; l < k; ++l) s += (ta ? a(l, i) : a(i, l)) * (tb ? b(j, l) : b(l, j));
      c(i, j) = s;
    }
  return c;
}

/// m x n matrix with singular values `sigma` (the rest zero): U diag(sigma) V^T with U, V the
/// orthonormal factors of LAPACK QRs of Gaussian matrices.
HostMatrix<double> with_singular_values(int m, int n, const std::vector<double>& sigma,
                                        std::uint64_t seed) {
  const int k = static_cast<int>(sigma.size());
  auto u = gaussian(m, k, seed), v = gaussian(n, k, seed + 1000);
  strata::linalg::host::qr_in_place(u);
  strata::linalg::host::qr_in_place(v);
  for (int j = 0; j < k; ++j)
    for (int i = 0; i < m; ++i) u(i, j) *= sigma[j];
  return multiply(u, v, false, true);
}

double distance(const HostMatrix<double>& a, const HostMatrix<double>& b) {
  double s = 0;
  for (std::size_t j = 0; j < a.extent(1); ++j)
    for (std::size_t i = 0; i < a.extent(0); ++i) s += (a(i, j) - b(i, j)) * (a(i, j) - b(i, j));
  return std::sqrt(s);
}

/// ||Q^T Q - I||_F.
double orthogonality(const HostMatrix<double>& q) {
  const auto g = multiply(q, q, true, false);
  for (std::size_t i = 0; i < g.extent(0); ++i) g(i, i) -= 1;
  return frobenius(g);
}

/// The rounded-to-T version of a host matrix (what the kernels actually see).
template <class T>
HostMatrix<double> rounded(const HostMatrix<double>& a) {
  HostMatrix<double> r("r", a.extent(0), a.extent(1));
  for (std::size_t j = 0; j < a.extent(1); ++j)
    for (std::size_t i = 0; i < a.extent(0); ++i) r(i, j) = static_cast<T>(a(i, j));
  return r;
}

/// Mixed batch: tall, wide, square, vectors, a zero matrix, rank-deficient and graded matrices.
std::vector<HostMatrix<double>> test_matrices() {
  std::vector<HostMatrix<double>> mats;
  mats.push_back(gaussian(12, 5, 1));
  mats.push_back(gaussian(5, 9, 2));
  mats.push_back(gaussian(16, 16, 3));
  mats.push_back(gaussian(1, 7, 4));
  mats.push_back(gaussian(7, 1, 5));
  mats.push_back(HostMatrix<double>("zero", 6, 4));
  mats.push_back(with_singular_values(10, 10, {3, 2, 1}, 6));  // rank 3
  mats.push_back(with_singular_values(20, 8, {1, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7}, 7));
  mats.push_back(with_singular_values(9, 30, {5, 4, 3, 2}, 8));  // wide, rank 4
  return mats;
}

template <class T>
class BatchedDense : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(BatchedDense, Scalars);

TYPED_TEST(BatchedDense, HouseholderQrThinAndFull) {
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  const auto mats = test_matrices();
  const auto a = to_batch<T>(mats);
  std::vector<int> m, n, k;
  for (const auto& x : mats) {
    m.push_back(x.extent(0));
    n.push_back(x.extent(1));
    k.push_back(std::min<int>(x.extent(0), x.extent(1)));
  }
  for (const bool full : {false, true}) {
    auto q = MatrixBatch<T>::allocate("q", m, full ? m : k);
    auto r = MatrixBatch<T>::allocate("r", k, n);
    la::householder_qr(strata::ExecSpace(), a, q, r);
    for (int b = 0; b < a.layout.count(); ++b) {
      const auto qb = matrix(q, b), rb = matrix(r, b), ab = rounded<T>(mats[b]);
      const double tol = c_stable * std::max(m[b], n[b]) * u;
      EXPECT_LE(orthogonality(qb), tol * std::sqrt(double(qb.extent(1)))) << "matrix " << b;
      HostMatrix<double> q1("q1", m[b], k[b]);
      for (int j = 0; j < k[b]; ++j)
        for (int i = 0; i < m[b]; ++i) q1(i, j) = qb(i, j);
      EXPECT_LE(distance(multiply(q1, rb), ab), tol * std::max(1.0, frobenius(ab)))
          << "matrix " << b;
      for (int j = 0; j < n[b]; ++j)
        for (int i = j + 1; i < k[b]; ++i) EXPECT_EQ(rb(i, j), 0.0);
    }
  }
}

TYPED_TEST(BatchedDense, QrMatchesLapackUpToSigns) {
  // R is unique up to the signs of its rows for a full-column-rank A: |R| = |R_lapack|.
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  std::vector<HostMatrix<double>> mats = {gaussian(14, 6, 11), gaussian(9, 9, 12)};
  const auto a = to_batch<T>(mats);
  auto q = MatrixBatch<T>::allocate("q", {14, 9}, {6, 9});
  auto r = MatrixBatch<T>::allocate("r", {6, 9}, {6, 9});
  la::householder_qr(strata::ExecSpace(), a, q, r);
  for (int b = 0; b < 2; ++b) {
    HostMatrix<T> copy("copy", mats[b].extent(0), mats[b].extent(1));
    for (std::size_t j = 0; j < copy.extent(1); ++j)
      for (std::size_t i = 0; i < copy.extent(0); ++i) copy(i, j) = static_cast<T>(mats[b](i, j));
    const auto r_ref = strata::linalg::host::qr_in_place(copy);
    const auto rb = matrix(r, b);
    // Both R's are backward stable: |R - R_ref| <= c n u ||A|| kappa-free for the leading rows
    // of a well-conditioned Gaussian matrix (kappa ~ 10 here).
    const double tol = c_stable * 14 * u * frobenius(mats[b]) * 10;
    for (std::size_t j = 0; j < rb.extent(1); ++j)
      for (std::size_t i = 0; i <= j && i < rb.extent(0); ++i)
        EXPECT_NEAR(std::abs(rb(i, j)), std::abs(static_cast<double>(r_ref(i, j))), tol);
  }
}

TYPED_TEST(BatchedDense, NullSpaceOfWideMatrices) {
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  std::vector<HostMatrix<double>> mats = {gaussian(6, 18, 21), gaussian(10, 12, 22),
                                          HostMatrix<double>("zero", 4, 9),
                                          with_singular_values(8, 20, {2, 1}, 23)};
  const auto a = to_batch<T>(mats);
  auto n = MatrixBatch<T>::allocate("n", {18, 12, 9, 20}, {12, 2, 5, 12});
  la::null_space(strata::ExecSpace(), a, n);
  for (int b = 0; b < 4; ++b) {
    const auto nb = matrix(n, b);
    const double tol = c_stable * nb.extent(0) * u;
    EXPECT_LE(orthogonality(nb), tol * std::sqrt(double(nb.extent(1))));
    EXPECT_LE(frobenius(multiply(rounded<T>(mats[b]), nb)), tol * frobenius(mats[b]) + 0.0);
  }
  auto too_many = MatrixBatch<T>::allocate("bad", {18, 12, 9, 20}, {13, 2, 5, 12});
  EXPECT_THROW(la::null_space(strata::ExecSpace(), a, too_many), strata::ShapeMismatch);
}

/// The batch shapes of a thin SVD of `mats`: rows m, columns n, k = min(m, n), and ones.
struct SvdShapes {
  std::vector<int> m, n, k, one;
};
SvdShapes svd_shapes(const std::vector<HostMatrix<double>>& mats) {
  SvdShapes sh;
  for (const auto& x : mats) {
    sh.m.push_back(x.extent(0));
    sh.n.push_back(x.extent(1));
    sh.k.push_back(std::min<int>(x.extent(0), x.extent(1)));
    sh.one.push_back(1);
  }
  return sh;
}

TYPED_TEST(BatchedDense, SvdMatchesLapackSingularValues) {
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  const auto mats = test_matrices();
  const auto a = to_batch<T>(mats);
  const auto [m, n, k, one] = svd_shapes(mats);
  auto uu = MatrixBatch<T>::allocate("u", m, k);
  auto s = MatrixBatch<T>::allocate("s", k, one);
  auto v = MatrixBatch<T>::allocate("v", n, k);
  la::svd(strata::ExecSpace(), a, uu, s, v);
  for (int b = 0; b < a.layout.count(); ++b) {
    const auto ab = rounded<T>(mats[b]);
    const auto ref = strata::linalg::host::singular_values(ab);
    const auto ub = matrix(uu, b), sb = matrix(s, b), vb = matrix(v, b);
    const double tol = c_stable * std::max(m[b], n[b]) * u;
    const double s1 = ref.empty() ? 0 : ref[0];
    for (int j = 0; j < k[b]; ++j) {
      EXPECT_NEAR(sb(j, 0), ref[j], tol * s1) << "matrix " << b << " sigma " << j;
      if (j > 0) {
        EXPECT_LE(sb(j, 0), sb(j - 1, 0));
      }
    }
    EXPECT_LE(orthogonality(ub), tol * std::sqrt(double(k[b]))) << "matrix " << b;
    EXPECT_LE(orthogonality(vb), tol * std::sqrt(double(k[b]))) << "matrix " << b;
    HostMatrix<double> us("us", m[b], k[b]);
    for (int j = 0; j < k[b]; ++j)
      for (int i = 0; i < m[b]; ++i) us(i, j) = ub(i, j) * sb(j, 0);
    EXPECT_LE(distance(multiply(us, vb, false, true), ab), tol * std::max(frobenius(ab), 1e-300))
        << "matrix " << b;
  }
}

// svd with an empty V batch (U and sigma only; on the host xGESVD without V for the non-square
// shapes here, 12 x 5, 5 x 9, 20 x 8, 9 x 30, 1 x 7 and 7 x 1, xGESDD for the others): sigma as
// LAPACK's singular values and as the call with V, U orthonormal, and U the left singular
// vectors: U^T A = diag(sigma) V^T has row norms sigma_j (for repeated sigma_j as well: any
// orthonormal basis of that singular subspace), and U U^T A = A. Tolerances as in
// SvdMatchesLapackSingularValues (backward stable SVDs: O(max(m, n) u ||A||)).
TYPED_TEST(BatchedDense, SvdWithoutVGivesLeftSingularVectors) {
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  const auto mats = test_matrices();
  const auto a = to_batch<T>(mats);
  const auto [m, n, k, one] = svd_shapes(mats);
  auto uu = MatrixBatch<T>::allocate("u", m, k), uv = MatrixBatch<T>::allocate("uv", m, k);
  auto s = MatrixBatch<T>::allocate("s", k, one), sv = MatrixBatch<T>::allocate("sv", k, one);
  auto v = MatrixBatch<T>::allocate("v", n, k);
  la::svd(strata::ExecSpace(), a, uu, s, MatrixBatch<T>{});
  la::svd(strata::ExecSpace(), a, uv, sv, v);
  for (int b = 0; b < a.layout.count(); ++b) {
    const auto ab = rounded<T>(mats[b]);
    const auto ref = strata::linalg::host::singular_values(ab);
    const auto ub = matrix(uu, b), sb = matrix(s, b), svb = matrix(sv, b);
    const double tol = c_stable * std::max(m[b], n[b]) * u;
    const double s1 = ref.empty() ? 0 : ref[0];
    const auto uta = multiply(ub, ab, true, false);
    for (int j = 0; j < k[b]; ++j) {
      EXPECT_NEAR(sb(j, 0), ref[j], tol * s1) << "matrix " << b << " sigma " << j;
      EXPECT_NEAR(sb(j, 0), svb(j, 0), tol * s1) << "matrix " << b << " sigma " << j;
      double row = 0;
      for (int c = 0; c < n[b]; ++c) row += uta(j, c) * uta(j, c);
      EXPECT_NEAR(std::sqrt(row), ref[j], tol * s1) << "matrix " << b << " row " << j;
    }
    EXPECT_LE(orthogonality(ub), tol * std::sqrt(double(k[b]))) << "matrix " << b;
    EXPECT_LE(distance(multiply(ub, uta), ab), tol * std::max(frobenius(ab), 1e-300))
        << "matrix " << b;
  }
}

TYPED_TEST(BatchedDense, TruncationRanks) {
  using T = TypeParam;
  std::vector<HostMatrix<double>> sig = {HostMatrix<double>("a", 4, 1),
                                         HostMatrix<double>("b", 3, 1)};
  const double va[] = {10, 1, 0.1, 0.01}, vb[] = {0, 0, 0};
  for (int i = 0; i < 4; ++i) sig[0](i, 0) = va[i];
  for (int i = 0; i < 3; ++i) sig[1](i, 0) = vb[i];
  const auto d = to_batch<T>(sig);
  auto ranks = [&](la::RankRule rule) {
    return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{},
                                               la::truncation_ranks(strata::ExecSpace(), d, rule));
  };
  auto r1 = ranks({-1, 0.005, 0});
  EXPECT_EQ(r1(0), 3);
  EXPECT_EQ(r1(1), 0);
  auto r2 = ranks({2, 0, 0});
  EXPECT_EQ(r2(0), 2);
  auto r3 = ranks({-1, 0, 0.5});
  EXPECT_EQ(r3(0), 2);
}

TYPED_TEST(BatchedDense, ColumnPivotedQrFindsRankAndReconstructs) {
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  std::vector<HostMatrix<double>> mats = {with_singular_values(15, 11, {4, 3, 2, 1}, 31),
                                          with_singular_values(8, 14, {1, 0.5}, 32),
                                          HostMatrix<double>("zero", 5, 6), gaussian(9, 7, 33)};
  const auto a = to_batch<T>(mats);
  const std::vector<int> m = {15, 8, 5, 9}, n = {11, 14, 6, 7};
  Kokkos::View<int*, strata::MemSpace> ranks("ranks", 4);
  auto perm = MatrixBatch<int>::allocate("perm", n, {1, 1, 1, 1});
  auto q = MatrixBatch<T>::allocate("q", m, {11, 8, 5, 7});
  auto r = MatrixBatch<T>::allocate("r", {11, 8, 5, 7}, n);
  // Relative tolerance well above rounding (c n u) and well below the smallest nonzero sigma
  // over sqrt(n) (the pivots of a rank-k matrix stay above sigma_k / sqrt(n k) in practice).
  const double rel = std::is_same_v<T, float> ? 1e-4 : 1e-10;
  la::column_pivoted_qr(strata::ExecSpace(), a, la::RankRule{-1, rel, 0}, ranks, perm, q, r);
  auto hr = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, ranks);
  EXPECT_EQ(hr(0), 4);
  EXPECT_EQ(hr(1), 2);
  EXPECT_EQ(hr(2), 0);
  EXPECT_EQ(hr(3), 7);
  for (int b = 0; b < 4; ++b) {
    const auto pb = matrix(perm, b), qb = matrix(q, b), rb = matrix(r, b);
    const auto ab = rounded<T>(mats[b]);
    HostMatrix<double> ap("ap", m[b], n[b]);
    for (int j = 0; j < n[b]; ++j)
      for (int i = 0; i < m[b]; ++i) ap(i, j) = ab(i, static_cast<int>(pb(j, 0)));
    const int kb = hr(b);
    HostMatrix<double> q1("q1", m[b], kb), r1("r1", kb, n[b]);
    for (int j = 0; j < kb; ++j)
      for (int i = 0; i < m[b]; ++i) q1(i, j) = qb(i, j);
    for (int j = 0; j < n[b]; ++j)
      for (int i = 0; i < kb; ++i) r1(i, j) = rb(i, j);
    const double tol = c_stable * std::max(m[b], n[b]) * u;
    EXPECT_LE(distance(multiply(q1, r1), ap), tol * std::max(frobenius(ab), 1.0)) << b;
    for (int i = 1; i < kb; ++i)
      EXPECT_LE(std::abs(rb(i, i)), std::abs(rb(i - 1, i - 1)) * (1 + tol));
  }
  // Rank by count.
  la::column_pivoted_qr(strata::ExecSpace(), a, la::RankRule{2, 0, 0}, ranks, perm, q, r);
  hr = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, ranks);
  EXPECT_EQ(hr(0), 2);
  EXPECT_EQ(hr(2), 0);
  EXPECT_EQ(hr(3), 2);
}

TYPED_TEST(BatchedDense, InterpolativeDecompositionOfLowRankMatrices) {
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  std::vector<HostMatrix<double>> mats = {with_singular_values(12, 20, {3, 2, 1}, 41),
                                          with_singular_values(10, 6, {1, 1, 1, 1, 1}, 42)};
  const auto a = to_batch<T>(mats);
  Kokkos::View<int*, strata::MemSpace> ranks("ranks", 2);
  auto skel = MatrixBatch<int>::allocate("skel", {20, 6}, {1, 1});
  auto x = MatrixBatch<T>::allocate("x", {12, 6}, {20, 6});
  const double rel = std::is_same_v<T, float> ? 1e-4 : 1e-10;
  la::interpolative_decomposition(strata::ExecSpace(), a, la::RankRule{-1, rel, 0}, ranks, skel, x);
  auto hr = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, ranks);
  EXPECT_EQ(hr(0), 3);
  EXPECT_EQ(hr(1), 5);
  for (int b = 0; b < 2; ++b) {
    const auto ab = rounded<T>(mats[b]), sb = matrix(skel, b), xb = matrix(x, b);
    const int kb = hr(b), mb = ab.extent(0), nb = ab.extent(1);
    HostMatrix<double> cols("cols", mb, kb), xk("xk", kb, nb);
    for (int j = 0; j < kb; ++j)
      for (int i = 0; i < mb; ++i) cols(i, j) = ab(i, static_cast<int>(sb(j, 0)));
    for (int j = 0; j < nb; ++j)
      for (int i = 0; i < kb; ++i) xk(i, j) = xb(i, j);
    // Exact rank k: the residual is R22 (O(n u ||A||)) plus the back-substitution error
    // (O(k u kappa(R11) ||T||)); kappa(R11) <= kappa of the rank-k factor (<= 3 here) times the
    // pivoting growth, bounded by 2^k = 8: c n u ||A|| (1 + 8 ||X||).
    const double tol = c_stable * nb * u * frobenius(ab) * (1 + 8 * frobenius(xk));
    EXPECT_LE(distance(multiply(cols, xk), ab), tol) << b;
    for (int j = 0; j < kb; ++j)
      for (int i = 0; i < kb; ++i) EXPECT_EQ(xb(i, static_cast<int>(sb(j, 0))), i == j ? 1.0 : 0.0);
  }
}

TYPED_TEST(BatchedDense, TeamKernelsWithScratchBeyondSharedMemory) {
  // The team kernels keep vectors of a matrix's longer side in team scratch: 2 x 3500 values for
  // this ID (28 KB in fp32, 56 KB in fp64) and 3506 for the SVD, beyond the level-0 limit of the
  // host backends (32 KB) in fp64 and of a GPU block (48 KB) for the ID, so they run from level-1
  // scratch. Called directly (not through the dispatch) so that a host build covers them too.
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  const std::vector<HostMatrix<double>> mats = {with_singular_values(6, 3500, {3, 2, 1}, 51)};
  const auto a = to_batch<T>(mats);
  Kokkos::View<int*, strata::MemSpace> ranks("ranks", 1);
  auto skel = MatrixBatch<int>::allocate("skel", {3500}, {1});
  auto x = MatrixBatch<T>::allocate("x", {6}, {3500});
  const double rel = std::is_same_v<T, float> ? 1e-4 : 1e-10;
  la::detail::TeamKernels::interpolative_decomposition<T>(strata::ExecSpace(), a,
                                                          la::RankRule{-1, rel, 0}, ranks, skel, x);
  auto hr = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, ranks);
  ASSERT_EQ(hr(0), 3);
  const auto ab = rounded<T>(mats[0]), sb = matrix(skel, 0), xb = matrix(x, 0);
  const int nb = 3500;
  HostMatrix<double> cols("cols", 6, 3), xk("xk", 3, nb);
  for (int j = 0; j < 3; ++j)
    for (int i = 0; i < 6; ++i) cols(i, j) = ab(i, static_cast<int>(sb(j, 0)));
  for (int j = 0; j < nb; ++j)
    for (int i = 0; i < 3; ++i) xk(i, j) = xb(i, j);
  // As in InterpolativeDecompositionOfLowRankMatrices: c n u ||A|| (1 + 8 ||X||).
  EXPECT_LE(distance(multiply(cols, xk), ab),
            c_stable * nb * u * frobenius(ab) * (1 + 8 * frobenius(xk)));

  auto uu = MatrixBatch<T>::allocate("u", {6}, {6});
  auto s = MatrixBatch<T>::allocate("s", {6}, {1});
  auto v = MatrixBatch<T>::allocate("v", {3500}, {6});
  la::detail::TeamKernels::svd<T>(strata::ExecSpace(), a, uu, s, v);
  const auto ref = strata::linalg::host::singular_values(ab);
  const auto sv = matrix(s, 0);
  for (int j = 0; j < 6; ++j) EXPECT_NEAR(sv(j, 0), ref[j], c_stable * nb * u * ref[0]) << j;
}

/// Graded singular values 1, ..., 1e-14 (geometric), k of them.
std::vector<double> graded(int k) {
  std::vector<double> s(static_cast<std::size_t>(k));
  for (int j = 0; j < k; ++j) s[j] = std::pow(1e-14, k > 1 ? double(j) / (k - 1) : 0.0);
  return s;
}

// The Jacobi team kernel (called directly, so that a host build covers it) against LAPACK's
// singular values, for each choice of outputs: values only, U only, U and V. Each batch holds tall
// and wide Gaussian matrices, graded spectra (1 to 1e-14) and exactly rank-deficient ones; the
// batch's largest block decides what lives in level-0 team scratch (32 KB on the host), so the
// batches and calls cover W and the second matrix (J, or X = R^T) both there (24 x 16), X alone
// (values only from 60 x 50 in fp64 and 64 x 94 in fp32), W alone (U from 60 x 50 in fp64 and
// 64 x 94 in fp32), J or X alone (U from 120 x 80 in fp32) and neither (64 x 94 in fp64).
// Tolerances as in SvdMatchesLapackSingularValues: one-sided Jacobi is backward stable
// with a constant growing like n u (Demmel & Veselic 1992; Higham Thm 19.10), so c n u sigma_1
// for the values, c n u ||A||_F for the residuals and c n u sqrt(k) for ||Q^T Q - I||_F (k
// columns), c = 20, n = max(m, n) (the QR preconditioning is backward stable as well, Higham Thm
// 19.4). The sweeps run on W where W's vectors are asked for (tall with U, wide with U and V),
// else on X = R^T from W = Q R; whether the rotations are accumulated changes no rotation, so the
// calls that sweep the same matrix give the same bits.
TYPED_TEST(BatchedDense, TeamSvdMatchesLapackForEveryOutputChoice) {
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  const std::vector<std::vector<HostMatrix<double>>> batches = {
      {gaussian(24, 16, 61), gaussian(16, 24, 62), with_singular_values(20, 12, graded(12), 63),
       with_singular_values(12, 20, graded(12), 64), with_singular_values(24, 16, {3, 2, 1}, 65),
       with_singular_values(16, 24, {1, 1, 1e-3}, 66)},
      {gaussian(60, 50, 67), with_singular_values(50, 60, graded(50), 68),
       with_singular_values(60, 50, {1, 0.5, 0.25, 1e-6}, 69)},
      {gaussian(64, 94, 70), gaussian(94, 64, 71), with_singular_values(64, 94, graded(64), 72),
       with_singular_values(94, 64, graded(64), 73), with_singular_values(64, 94, graded(20), 74),
       with_singular_values(94, 64, graded(20), 75)},
      {with_singular_values(120, 80, graded(80), 76),
       with_singular_values(80, 120, graded(30), 77)}};
  for (std::size_t batch = 0; batch < batches.size(); ++batch) {
    const auto& mats = batches[batch];
    const auto a = to_batch<T>(mats);
    const auto [m, n, k, one] = svd_shapes(mats);
    auto s0 = MatrixBatch<T>::allocate("s0", k, one), s1 = MatrixBatch<T>::allocate("s1", k, one),
         s2 = MatrixBatch<T>::allocate("s2", k, one);
    auto u1 = MatrixBatch<T>::allocate("u1", m, k), u2 = MatrixBatch<T>::allocate("u2", m, k);
    auto v2 = MatrixBatch<T>::allocate("v2", n, k);
    la::detail::TeamKernels::svd<T>(strata::ExecSpace(), a, MatrixBatch<T>{}, s0, MatrixBatch<T>{});
    la::detail::TeamKernels::svd<T>(strata::ExecSpace(), a, u1, s1, MatrixBatch<T>{});
    la::detail::TeamKernels::svd<T>(strata::ExecSpace(), a, u2, s2, v2);
    for (int b = 0; b < a.layout.count(); ++b) {
      const auto ab = rounded<T>(mats[b]);
      const auto ref = strata::linalg::host::singular_values(ab);
      const auto sb0 = matrix(s0, b), sb1 = matrix(s1, b), sb2 = matrix(s2, b);
      const auto ub1 = matrix(u1, b), ub2 = matrix(u2, b), vb2 = matrix(v2, b);
      const double tol = c_stable * std::max(m[b], n[b]) * u;
      const std::string where = "batch " + std::to_string(batch) + " matrix " + std::to_string(b);
      for (int j = 0; j < k[b]; ++j) {
        EXPECT_NEAR(sb0(j, 0), ref[j], tol * ref[0]) << where << " sigma " << j;
        EXPECT_GE(sb0(j, 0), 0.0) << where;
        if (j > 0) {
          EXPECT_LE(sb0(j, 0), sb0(j - 1, 0)) << where;
        }
        EXPECT_NEAR(sb1(j, 0), ref[j], tol * ref[0]) << where << " sigma " << j;
        EXPECT_NEAR(sb2(j, 0), ref[j], tol * ref[0]) << where << " sigma " << j;
        // The same sweeps: on W (tall, U asked for) or on X = R^T (values only; wide, U only).
        EXPECT_EQ(sb1(j, 0), m[b] >= n[b] ? sb2(j, 0) : sb0(j, 0)) << where << " sigma " << j;
      }
      if (m[b] >= n[b]) {
        EXPECT_EQ(distance(ub1, ub2), 0.0) << where;
      }
      // U only: orthonormal, U U^T A = A, and the rows of U^T A have norms sigma_j.
      const auto uta = multiply(ub1, ab, true, false);
      for (int j = 0; j < k[b]; ++j) {
        double row = 0;
        for (int c = 0; c < n[b]; ++c) row += uta(j, c) * uta(j, c);
        EXPECT_NEAR(std::sqrt(row), ref[j], tol * ref[0]) << where << " row " << j;
      }
      EXPECT_LE(orthogonality(ub1), tol * std::sqrt(double(k[b]))) << where;
      EXPECT_LE(distance(multiply(ub1, uta), ab), tol * frobenius(ab)) << where;
      // U and V: both orthonormal and U diag(sigma) V^T = A.
      EXPECT_LE(orthogonality(vb2), tol * std::sqrt(double(k[b]))) << where;
      HostMatrix<double> us("us", m[b], k[b]);
      for (int j = 0; j < k[b]; ++j)
        for (int i = 0; i < m[b]; ++i) us(i, j) = ub2(i, j) * sb2(j, 0);
      EXPECT_LE(distance(multiply(us, vb2, false, true), ab), tol * frobenius(ab)) << where;
    }
  }
}

TYPED_TEST(BatchedDense, PseudoInverseOfWideMatrixMatchesLapackQr) {
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  // X = B A^+ = B Q R^{-T} for A^T = Q R (LAPACK), A p x s of full row rank.
  std::vector<HostMatrix<double>> as = {gaussian(6, 15, 51), gaussian(4, 4, 52),
                                        HostMatrix<double>("zero", 3, 7)};
  std::vector<HostMatrix<double>> bs = {gaussian(6, 15, 53), gaussian(9, 4, 54),
                                        gaussian(2, 7, 55)};
  const auto a = to_batch<T>(as), bb = to_batch<T>(bs);
  auto x = MatrixBatch<T>::allocate("x", {6, 9, 2}, {6, 4, 3});
  la::pseudo_inverse_apply(strata::ExecSpace(), bb, a, x);
  for (int b = 0; b < 2; ++b) {
    const auto ab = rounded<T>(as[b]), bbh = rounded<T>(bs[b]);
    const int p = ab.extent(0), s = ab.extent(1);
    HostMatrix<double> at("at", s, p);
    for (int i = 0; i < p; ++i)
      for (int j = 0; j < s; ++j) at(j, i) = ab(i, j);
    const auto r = strata::linalg::host::qr_in_place(at);  // at <- Q
    auto y = multiply(bbh, at);                            // B Q, q x p
    for (int row = 0; row < static_cast<int>(y.extent(0)); ++row)
      for (int j = p - 1; j >= 0; --j) {  // solve X R^T = B Q: (X R^T)_j = sum_{l>=j} X_l R_jl
        double v = y(row, j);
        for (int l = j + 1; l < p; ++l) v -= y(row, l) * r(j, l);
        y(row, j) = v / r(j, j);
      }
    const auto xb = matrix(x, b);
    const auto sv = strata::linalg::host::singular_values(ab);
    const double kappa = sv.front() / sv.back();
    // Perturbation bound for B A^+ with A of full row rank: kappa(A) c n u ||B|| ||A^+||.
    const double tol = c_stable * s * u * kappa * frobenius(bbh) / sv.back();
    EXPECT_LE(distance(xb, y), tol) << b;
  }
  const auto x0 = matrix(x, 2);
  EXPECT_EQ(frobenius(x0), 0.0);
}

TYPED_TEST(BatchedDense, VariableGemmMatchesHostProducts) {
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  std::vector<HostMatrix<double>> as = {gaussian(5, 7, 61), gaussian(9, 3, 62), gaussian(1, 1, 63)};
  std::vector<HostMatrix<double>> bs = {gaussian(4, 7, 64), gaussian(6, 3, 65), gaussian(1, 1, 66)};
  const auto a = to_batch<T>(as), b = to_batch<T>(bs);
  auto c = MatrixBatch<T>::allocate("c", {5, 9, 1}, {4, 6, 1});
  la::gemm_batched(strata::ExecSpace(), 'N', 'T', T(2), a, b, T(0), c);
  for (int i = 0; i < 3; ++i) {
    const auto ai = rounded<T>(as[i]), bi = rounded<T>(bs[i]);
    auto expected = multiply(ai, bi, false, true);
    const auto got = matrix(c, i);
    // Entrywise error <= k u sum |a||b| <= k u ||a_i|| ||b_j||: bound by k u ||A||_F ||B||_F.
    const double k = ai.extent(1);
    for (std::size_t q = 0; q < got.extent(1); ++q)
      for (std::size_t p = 0; p < got.extent(0); ++p)
        EXPECT_NEAR(got(p, q), 2 * expected(p, q), 2 * 2 * k * u * frobenius(ai) * frobenius(bi));
  }
  EXPECT_THROW(la::gemm_batched(strata::ExecSpace(), 'T', 'N', T(1), a, b, T(0), c),
               strata::ShapeMismatch);
}

// ---- Cases added with the host LAPACK path: empty, strided, rank-deficient and non-finite
// inputs through every function, and the conventions the HSS construction relies on.

/// A batch whose matrix b is the leading rows[b] x cols[b] block of a (rows[b] + pad) x (cols[b])
/// column-major array (ld = rows + pad), filled with `fill` outside the blocks so that a kernel
/// that ignores ld reads or writes the wrong entries.
template <class T>
MatrixBatch<T> padded(const std::vector<HostMatrix<double>>& mats, int pad, double fill) {
  std::vector<std::int64_t> off;
  std::vector<int> rows, cols, ld;
  std::int64_t next = 0;
  for (const auto& m : mats) {
    off.push_back(next);
    rows.push_back(static_cast<int>(m.extent(0)));
    cols.push_back(static_cast<int>(m.extent(1)));
    ld.push_back(std::max(1, rows.back() + pad));
    next += static_cast<std::int64_t>(ld.back()) * std::max(1, cols.back());
  }
  auto layout = la::BatchLayout::strided(off, rows, cols, ld);
  Kokkos::View<T*, strata::MemSpace> values("padded", static_cast<std::size_t>(next));
  auto h = Kokkos::create_mirror_view(values);
  for (std::int64_t i = 0; i < next; ++i) h(i) = static_cast<T>(fill);
  for (std::size_t b = 0; b < mats.size(); ++b)
    for (int j = 0; j < cols[b]; ++j)
      for (int i = 0; i < rows[b]; ++i)
        h(off[b] + i + static_cast<std::int64_t>(j) * ld[b]) = static_cast<T>(mats[b](i, j));
  Kokkos::deep_copy(values, h);
  return MatrixBatch<T>(values, layout);
}

TYPED_TEST(BatchedDense, EmptyMatricesThroughEveryFunction) {
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  const strata::ExecSpace exec;
  // 0 x 3, 3 x 0, 0 x 0 and a regular 4 x 2 in one batch.
  std::vector<HostMatrix<double>> mats = {HostMatrix<double>("e1", 0, 3),
                                          HostMatrix<double>("e2", 3, 0),
                                          HostMatrix<double>("e3", 0, 0), gaussian(4, 2, 71)};
  const std::vector<int> m = {0, 3, 0, 4}, n = {3, 0, 0, 2}, k = {0, 0, 0, 2}, one = {1, 1, 1, 1};
  const auto a = to_batch<T>(mats);
  // QR with the full Q: the Q of a matrix without columns is the identity.
  auto q = MatrixBatch<T>::allocate("q", m, m);
  auto r = MatrixBatch<T>::allocate("r", k, n);
  la::householder_qr(exec, a, q, r);
  const auto q1 = matrix(q, 1);
  for (int j = 0; j < 3; ++j)
    for (int i = 0; i < 3; ++i) EXPECT_EQ(q1(i, j), i == j ? 1.0 : 0.0);
  EXPECT_LE(orthogonality(matrix(q, 3)), c_stable * 4 * u * 2);
  // SVD: k = 0 for the empty ones; the regular one must still be right.
  auto uu = MatrixBatch<T>::allocate("u", m, k);
  auto sg = MatrixBatch<T>::allocate("s", k, one);
  auto v = MatrixBatch<T>::allocate("v", n, k);
  la::svd(exec, a, uu, sg, v);
  const auto ref = strata::linalg::host::singular_values(rounded<T>(mats[3]));
  for (int j = 0; j < 2; ++j) EXPECT_NEAR(matrix(sg, 3)(j, 0), ref[j], c_stable * 4 * u * ref[0]);
  // Null space of a matrix without rows: an orthonormal basis of the whole space.
  const auto an = to_batch<T>({HostMatrix<double>("e", 0, 3), gaussian(2, 5, 74)});
  auto ns = MatrixBatch<T>::allocate("n", {3, 5}, {2, 3});
  la::null_space(exec, an, ns);
  EXPECT_LE(orthogonality(matrix(ns, 0)), c_stable * 3 * u);
  EXPECT_LE(orthogonality(matrix(ns, 1)), c_stable * 5 * u * std::sqrt(3.0));
  // X = B A^+ with A p x 0: A^+ = 0, so X = 0 whatever X held before; p = 0 or q = 0: empty X.
  std::vector<HostMatrix<double>> bs = {HostMatrix<double>("b1", 2, 3), gaussian(5, 0, 72),
                                        HostMatrix<double>("b3", 0, 0), gaussian(3, 2, 73)};
  const auto bb = to_batch<T>(bs);
  auto x = MatrixBatch<T>::allocate("x", {2, 5, 0, 3}, m);
  Kokkos::deep_copy(x.values, T(7));
  la::pseudo_inverse_apply(exec, bb, a, x);
  EXPECT_EQ(frobenius(matrix(x, 1)), 0.0);
  // GEMM with an empty inner dimension: C = beta C, and beta = 0 does not read C (NaN stays out).
  auto c = MatrixBatch<T>::allocate("c", {3, 2}, {2, 3});
  Kokkos::deep_copy(c.values, std::numeric_limits<T>::quiet_NaN());
  const auto ea = to_batch<T>({HostMatrix<double>("ea", 3, 0), HostMatrix<double>("eb", 2, 0)});
  const auto eb = to_batch<T>({HostMatrix<double>("ec", 0, 2), HostMatrix<double>("ed", 0, 3)});
  la::gemm_batched(exec, 'N', 'N', T(1), ea, eb, T(0), c);
  EXPECT_EQ(frobenius(matrix(c, 0)), 0.0);
  EXPECT_EQ(frobenius(matrix(c, 1)), 0.0);
  Kokkos::deep_copy(c.values, T(2));
  la::gemm_batched(exec, 'N', 'N', T(1), ea, eb, T(3), c);
  EXPECT_EQ(matrix(c, 1)(1, 2), 6.0);
  // Transposed copies: the empty ones are no-ops, the regular one is exact.
  auto copy = MatrixBatch<T>::allocate("copy", n, m);
  la::copy_batched(exec, 'T', a, copy);
  const auto c3 = matrix(copy, 3), a3 = matrix(a, 3);
  for (int j = 0; j < 4; ++j)
    for (int i = 0; i < 2; ++i) EXPECT_EQ(c3(i, j), a3(j, i));
}

TYPED_TEST(BatchedDense, SvdConventionsOnRankDeficientAndStridedMatrices) {
  // What the HSS construction relies on: sigma non-increasing and >= 0, U and V orthonormal also
  // for zero singular values, A = U diag(sigma) V^T, and inputs/outputs with ld > rows.
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  HostMatrix<double> dup("dup", 7, 3), wide1("wide1", 3, 8);
  for (int i = 0; i < 7; ++i)
    for (int j = 0; j < 3; ++j) dup(i, j) = 1.0 + i;  // three equal columns: rank 1
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 8; ++j) wide1(i, j) = (i + 1) * (j % 3 - 1.0);  // rank 1
  std::vector<HostMatrix<double>> mats = {HostMatrix<double>("zero", 5, 5),
                                          HostMatrix<double>("zero1", 1, 1),
                                          dup,
                                          wide1,
                                          with_singular_values(9, 6, {1, 1, 1}, 81),
                                          gaussian(6, 11, 82)};
  const auto a = padded<T>(mats, 3, 1e30);
  const auto [m, n, k, one] = svd_shapes(mats);
  std::vector<HostMatrix<double>> u0, v0;
  for (std::size_t b = 0; b < mats.size(); ++b) {
    u0.emplace_back("u0", m[b], k[b]);
    v0.emplace_back("v0", n[b], k[b]);
  }
  auto uu = padded<T>(u0, 2, -1e30);
  auto v = padded<T>(v0, 1, -1e30);
  auto s = MatrixBatch<T>::allocate("s", k, one);
  la::svd(strata::ExecSpace(), a, uu, s, v);
  for (int b = 0; b < a.layout.count(); ++b) {
    const auto ab = rounded<T>(mats[b]);
    const auto ub = matrix(uu, b), sb = matrix(s, b), vb = matrix(v, b);
    const auto ref = strata::linalg::host::singular_values(ab);
    const double tol = c_stable * std::max(m[b], n[b]) * u;
    for (int j = 0; j < k[b]; ++j) {
      EXPECT_GE(sb(j, 0), 0.0) << b;
      EXPECT_NEAR(sb(j, 0), ref[j], tol * std::max(ref[0], 1e-300)) << b << " sigma " << j;
      if (j > 0) {
        EXPECT_LE(sb(j, 0), sb(j - 1, 0)) << b;
      }
    }
    EXPECT_LE(orthogonality(ub), tol * std::sqrt(double(k[b]))) << "matrix " << b;
    EXPECT_LE(orthogonality(vb), tol * std::sqrt(double(k[b]))) << "matrix " << b;
    HostMatrix<double> us("us", m[b], k[b]);
    for (int j = 0; j < k[b]; ++j)
      for (int i = 0; i < m[b]; ++i) us(i, j) = ub(i, j) * sb(j, 0);
    EXPECT_LE(distance(multiply(us, vb, false, true), ab), tol * std::max(frobenius(ab), 1e-300))
        << "matrix " << b;
  }
  // The padding around the blocks is untouched.
  auto hu = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, uu.values);
  EXPECT_EQ(static_cast<double>(hu(uu.layout.host_offset[0] + 5)), static_cast<double>(T(-1e30)));
}

TYPED_TEST(BatchedDense, PseudoInverseDropsSingularValuesAtOrBelowRcond) {
  // A = U diag(sigma) V^T with a known SVD; X = B A^+ keeps exactly the sigma_j > rcond sigma_1:
  // the reference is B V_k diag(1/sigma_k) U_k^T from the exact factors.
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  const int p = 5, s = 8, q = 4;
  auto uf = gaussian(p, 3, 91), vf = gaussian(s, 3, 92);
  strata::linalg::host::qr_in_place(uf);
  strata::linalg::host::qr_in_place(vf);
  struct Case {
    std::vector<double> sigma;
    double rcond;
    int kept;
  };
  // rcond between 1e-3 and 1e-9 drops the third value (for fp32 its rounding to ~u ||A|| too);
  // the default rcond (max(m, n) u) keeps all of {1, 0.5, 0.1} and drops an exact zero.
  const std::vector<Case> cases = {
      {{1, 1e-3, 1e-9}, 1e-6, 2}, {{1, 0.5, 0.1}, 0, 3}, {{2, 1, 0}, 0, 2}};
  for (const auto& c : cases) {
    HostMatrix<double> us("us", p, 3);
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < p; ++i) us(i, j) = uf(i, j) * c.sigma[j];
    const auto ad = multiply(us, vf, false, true);
    const auto bd = gaussian(q, s, 93);
    const auto a = to_batch<T>({ad}), b = to_batch<T>({bd});
    auto x = MatrixBatch<T>::allocate("x", {q}, {p});
    la::pseudo_inverse_apply(strata::ExecSpace(), b, a, x, c.rcond);
    HostMatrix<double> vk("vk", s, c.kept), uk("uk", p, c.kept);
    for (int j = 0; j < c.kept; ++j) {
      for (int i = 0; i < s; ++i) vk(i, j) = vf(i, j) / c.sigma[j];
      for (int i = 0; i < p; ++i) uk(i, j) = uf(i, j);
    }
    const auto expected = multiply(multiply(rounded<T>(bd), vk), uk, false, true);
    // Wedin: ||A_k^+ - Ak~^+|| <= 1.62 ||A_k^+||^2 ||dA_k||, with ||dA_k|| <= 2 ||dA|| (the
    // truncation moves by at most ||dA|| more) and ||dA|| <= c n u ||A||_F (rounding of A to T
    // and the backward error of the solver).
    const double sk = c.sigma[c.kept - 1];
    const double tol =
        1.62 * 2 * c_stable * s * u * frobenius(ad) / (sk * sk) * frobenius(rounded<T>(bd));
    EXPECT_LE(distance(matrix(x, 0), expected), tol) << "kept " << c.kept;
  }
}

/// Reference X = B A^+ (A p x s, B q x s) by LAPACK dgelsd in double on A^T X^T = B^T, singular
/// values <= rcond sigma_1 dropped; `rank` receives the number kept.
HostMatrix<double> gelsd_reference(const HostMatrix<double>& a, const HostMatrix<double>& b,
                                   double rcond, int& rank) {
  int p = a.extent(0), s = a.extent(1), q = b.extent(0), lda = s, ldb = std::max(s, p);
  std::vector<double> at(static_cast<std::size_t>(lda) * p), bt(static_cast<std::size_t>(ldb) * q),
      sv(static_cast<std::size_t>(std::min(s, p)));
  for (int i = 0; i < p; ++i)
    for (int j = 0; j < s; ++j) at[j + static_cast<std::size_t>(i) * lda] = a(i, j);
  for (int i = 0; i < q; ++i)
    for (int j = 0; j < s; ++j) bt[j + static_cast<std::size_t>(i) * ldb] = b(i, j);
  int info = 0, lwork = -1, iquery = 0;
  double query = 0;
  strata::linalg::lapack::gelsd(&s, &p, &q, at.data(), &lda, bt.data(), &ldb, sv.data(), &rcond,
                                &rank, &query, &lwork, &iquery, &info);
  lwork = static_cast<int>(query);
  std::vector<double> work(static_cast<std::size_t>(lwork));
  // LIWORK bound of the xGELSD documentation (smlsiz = 25), for LAPACKs that do not return it.
  std::vector<int> iwork(static_cast<std::size_t>(std::max(iquery, 3 * 16 * s + 11 * s + 1)));
  strata::linalg::lapack::gelsd(&s, &p, &q, at.data(), &lda, bt.data(), &ldb, sv.data(), &rcond,
                                &rank, work.data(), &lwork, iwork.data(), &info);
  EXPECT_EQ(info, 0);
  HostMatrix<double> x("x", q, p);
  for (int i = 0; i < q; ++i)
    for (int j = 0; j < p; ++j) x(i, j) = bt[j + static_cast<std::size_t>(i) * ldb];
  return x;
}

TYPED_TEST(BatchedDense, PseudoInverseQrPathAndSvdFallbackMatchLapackGelsd) {
  // Host memory solves wide and square A through the QR of A^T when R is well conditioned, and
  // through the SVD (xGELSD) otherwise. One batch holds both kinds; each X must match a double
  // LAPACK dgelsd reference with the same rcond, and (host builds) the routes taken are counted.
  // Route of the well-conditioned matrices: the criterion (batched_dense_host.cpp) takes QR when
  // rc >= 3 p 10 max(rcond, n eps) with rc >= 1 / kappa_1(R) >= 1 / (p kappa_2(A)) (the estimator
  // only overestimates rc); for kappa_2 = 10 and p <= 8 that is >= 1/80, above 3 8 10 max(1e-6, 15
  // eps) <= 4.3e-4 also in fp32. Route of the others: a zero or 1e-9 singular value (rc ~ u or
  // 1e-9), and sigma_3 = 3e-6 (kept: above rcond = 1e-6; rc <= p / kappa_2 = 9e-6, a factor 10
  // below the 3 3 10 1e-6 = 9e-5 threshold, so the estimator would have to be off by 10x).
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  const double rcond = 1e-6;
  struct Case {
    int p, s;
    std::vector<double> sigma;
    int kept;
    bool qr;
  };
  const std::vector<Case> cases = {
      {6, 15, {1, 0.8, 0.6, 0.4, 0.2, 0.1}, 6, true},
      {8, 10, {3, 2, 1, 1, 0.5, 0.5, 0.4, 0.3}, 8, true},
      {5, 5, {1, 1, 1, 0.5, 0.2}, 5, true},  // square
      {4, 9, {1, 0.5, 1e-9, 0}, 2, false},   // rank-deficient: truncated
      {3, 7, {1, 0.5, 3e-6}, 3, false},      // kept, but inside the safety margin
  };
  std::vector<HostMatrix<double>> as, bs;
  std::vector<int> xr, xc;
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const auto& k = cases[c];
    as.push_back(with_singular_values(k.p, k.s, k.sigma, 200 + 2 * c));
    bs.push_back(gaussian(3 + static_cast<int>(c), k.s, 201 + 2 * c));
    xr.push_back(3 + static_cast<int>(c));
    xc.push_back(k.p);
  }
  const auto a = to_batch<T>(as), b = to_batch<T>(bs);
  auto x = MatrixBatch<T>::allocate("x", xr, xc);
  if constexpr (strata::kx::host_accessible<strata::MemSpace>) {
    const auto paths =
        strata::linalg::detail::host_pseudo_inverse_apply(strata::ExecSpace(), b, a, x, rcond);
    EXPECT_EQ(paths.qr, 3);
    EXPECT_EQ(paths.svd, 2);
  } else {
    la::pseudo_inverse_apply(strata::ExecSpace(), b, a, x, rcond);
  }
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const auto& k = cases[c];
    const auto ah = rounded<T>(as[c]), bh = rounded<T>(bs[c]);
    int rank = -1;
    const auto expected = gelsd_reference(ah, bh, rcond, rank);
    EXPECT_EQ(rank, k.kept) << "matrix " << c;
    // Both are within Wedin's bound of the exact truncated B A_k^+ (see
    // PseudoInverseDropsSingularValuesAtOrBelowRcond): 1.62 2 c n u ||A||_F ||B||_F / sigma_k^2
    // each, so twice that between them.
    const double sk = k.sigma[static_cast<std::size_t>(k.kept - 1)];
    const double tol =
        2 * 1.62 * 2 * c_stable * k.s * u * frobenius(ah) / (sk * sk) * frobenius(bh);
    EXPECT_LE(distance(matrix(x, static_cast<int>(c)), expected), tol) << "matrix " << c;
  }
}

/// An uninitialized batch filled with NaN, so that any entry a kernel leaves unwritten shows.
template <class T>
MatrixBatch<T> nan_batch(const std::vector<int>& rows, const std::vector<int>& cols) {
  auto x = MatrixBatch<T>::allocate_uninitialized("nan", rows, cols);
  Kokkos::deep_copy(x.values, std::numeric_limits<T>::quiet_NaN());
  return x;
}

/// Entries of two batches of equal layout that differ (NaN differs from everything).
template <class T>
int differing_entries(const MatrixBatch<T>& a, const MatrixBatch<T>& b) {
  const auto ha = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, a.values);
  const auto hb = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, b.values);
  int n = 0;
  for (std::size_t e = 0; e < static_cast<std::size_t>(a.layout.span); ++e) n += !(ha(e) == hb(e));
  return n;
}

TYPED_TEST(BatchedDense, NullSpaceProjectPseudoInverseApplyMatchesTheThreeCalls) {
  // The fused call against null_space, gemm_batched and pseudo_inverse_apply, on the QR route
  // (well-conditioned wide A, including Levitt-Martinsson's leaf shape 64 x 117), on a square A
  // (no null space) and on the xGELSD route (rank-deficient A, where the host kernel forms N).
  // Outputs start as NaN, so an unwritten entry fails.
  // X: the same LAPACK calls on the same data on either route (xGEQRF, xTRCON, xORMQR of B^T,
  // xTRSM; or xGELSD), so it must equal pseudo_inverse_apply's X exactly.
  // BN: the host QR route computes rows p..p+k-1 of Q^T B^T instead of B (Q [0; I; 0]), from the
  // same xGEQRF reflectors. Applying p Householder reflectors of length s to a vector b is
  // backward stable: the computed Q^T b is Q^T (b + db), ||db||_2 <= p gamma(c s) ||b||_2
  // (Higham, Accuracy and Stability, Lemma 19.3; gamma(n) = n u / (1 - n u), c a small constant,
  // 4 here). Row r of the fused BN is thus off by at most p gamma(4 s) ||b_r||; the reference
  // N's columns (unit norm) are off by as much, and its product adds gamma(s) |b_r| |n_j| <=
  // gamma(s) ||b_r||. So |BN_fused(r, j) - (B N)(r, j)| <= (2 p gamma(4 s) + gamma(s)) ||b_r||.
  using T = TypeParam;
  struct Case {
    int p, s, q;
    std::vector<double> sigma;
  };
  std::vector<double> leaf_sigma(64);
  for (int j = 0; j < 64; ++j) leaf_sigma[static_cast<std::size_t>(j)] = std::pow(0.9, j);
  const std::vector<Case> cases = {
      {6, 15, 3, {1, 0.8, 0.6, 0.4, 0.2, 0.1}},
      {5, 5, 4, {1, 1, 1, 0.5, 0.2}},  // square: no null space
      {4, 9, 5, {1, 0.5, 1e-9, 0}},    // rank-deficient: SVD route, N formed
      {64, 117, 64, leaf_sigma},
  };
  std::vector<HostMatrix<double>> as, bs;
  std::vector<int> xr, xc, nr, nc;
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const auto& k = cases[c];
    as.push_back(with_singular_values(k.p, k.s, k.sigma, 300 + 2 * c));
    bs.push_back(gaussian(k.q, k.s, 301 + 2 * c));
    xr.push_back(k.q);
    xc.push_back(k.p);
    nr.push_back(k.s);
    nc.push_back(k.s - k.p);
  }
  const auto a = to_batch<T>(as), b = to_batch<T>(bs);
  const double rcond = 1e-6;
  const strata::ExecSpace exec;
  auto n1 = nan_batch<T>(nr, nc), bn1 = nan_batch<T>(xr, nc), bn2 = nan_batch<T>(xr, nc);
  auto x1 = nan_batch<T>(xr, xc), x2 = nan_batch<T>(xr, xc);
  la::null_space(exec, a, n1);
  la::gemm_batched(exec, 'N', 'N', T(1), b, n1, T(0), bn1);
  la::pseudo_inverse_apply(exec, b, a, x1, rcond);
  la::detail::null_space_project_pseudo_inverse_apply(exec, a, b, bn2, x2, rcond);
  EXPECT_EQ(differing_entries(x1, x2), 0);
  const double u = unit_roundoff<T>();
  auto gamma = [&](double n) {
    return n * u / (1 - n * u);
  };
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const auto& k = cases[c];
    const auto ref = matrix(bn1, static_cast<int>(c)), got = matrix(bn2, static_cast<int>(c));
    const auto bb = rounded<T>(bs[c]);
    const double factor = 2 * k.p * gamma(4.0 * k.s) + gamma(k.s);
    for (int r = 0; r < k.q; ++r) {
      double row = 0;
      for (int j = 0; j < k.s; ++j) row += bb(r, j) * bb(r, j);
      const double bound = factor * std::sqrt(row);
      for (int j = 0; j < k.s - k.p; ++j)
        EXPECT_LE(std::abs(got(r, j) - ref(r, j)), bound)
            << "case " << c << " entry (" << r << ", " << j << ")";
    }
  }
}

TYPED_TEST(BatchedDense, NullSpaceProjectExtendedByColumnsMatchesAFreshCall) {
  // A call that keeps its factors on the first s0 columns of A (p x s) and B (q x s), then a call
  // on all s columns that extends them (the Levitt-Martinsson passes with grown samples), against
  // a fresh call on all s columns. Shapes: a small one, the leaf shape 64 x 94 -> 64 x 117, and
  // no new columns (s0 = s).
  // BN: the extended call uses another orthonormal basis of null(A), so compare the
  // basis-independent G = BN BN^T = B P B^T (P the projector on null(A)). Each route is a backward
  // stable Householder QR: its basis spans exactly the null space of some A + E with ||E||_2 <=
  // p gamma(4 s) ||A||_F (Higham, Lemma 19.3, as in the test above), which moves the projector by
  // at most ||E||_2 / sigma_min(A) (Wedin's sin theta theorem); the products B N, BN BN^T add
  // gamma(s) relative rounding each. Two routes: ||G_ext - G_fresh||_F <= ||B||_F^2 (2 kappa p
  // gamma(4 s) + 4 gamma(s)), kappa = ||A||_F / sigma_min(A).
  // X = B A^+ (A full row rank): ||(A + E)^+ - A^+||_2 <= sqrt(2) ||A^+||_2^2 ||E||_2 (Wedin) for
  // either route, so ||X_ext - X_fresh||_F <= 2 sqrt(2) ||B||_F p gamma(4 s) ||A||_F / sigma_min^2
  // (first order), doubled for the triangular solve's backward error.
  using T = TypeParam;
  struct Case {
    int p, s0, s, q;
  };
  const std::vector<Case> cases = {{6, 12, 15, 3}, {64, 94, 117, 64}, {5, 9, 9, 4}};
  std::vector<HostMatrix<double>> as, bs, as0, bs0;
  std::vector<std::vector<double>> sigmas;
  std::vector<int> xr, xc, nc, nc0;
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const auto& k = cases[c];
    std::vector<double> sigma(static_cast<std::size_t>(k.p));
    for (int j = 0; j < k.p; ++j) sigma[static_cast<std::size_t>(j)] = 1.0 - 0.5 * j / k.p;
    sigmas.push_back(sigma);
    as.push_back(with_singular_values(k.p, k.s, sigma, 500 + 2 * c));
    bs.push_back(gaussian(k.q, k.s, 501 + 2 * c));
    HostMatrix<double> a0("a0", k.p, k.s0), b0("b0", k.q, k.s0);
    for (int j = 0; j < k.s0; ++j) {
      for (int i = 0; i < k.p; ++i) a0(i, j) = as.back()(i, j);
      for (int i = 0; i < k.q; ++i) b0(i, j) = bs.back()(i, j);
    }
    as0.push_back(a0);
    bs0.push_back(b0);
    xr.push_back(k.q);
    xc.push_back(k.p);
    nc.push_back(k.s - k.p);
    nc0.push_back(k.s0 - k.p);
  }
  const double rcond = 1e-6;
  const strata::ExecSpace exec;
  la::detail::NullSpaceProjectFactors<T> factors;
  {
    auto bn0 = nan_batch<T>(xr, nc0), x0 = nan_batch<T>(xr, xc);
    la::detail::null_space_project_pseudo_inverse_apply(exec, to_batch<T>(as0), to_batch<T>(bs0),
                                                        bn0, x0, rcond, &factors);
  }
  const auto a = to_batch<T>(as), b = to_batch<T>(bs);
  auto bn1 = nan_batch<T>(xr, nc), x1 = nan_batch<T>(xr, xc);
  auto bn2 = nan_batch<T>(xr, nc), x2 = nan_batch<T>(xr, xc);
  la::detail::null_space_project_pseudo_inverse_apply(exec, a, b, bn1, x1, rcond);
  la::detail::null_space_project_pseudo_inverse_apply(exec, a, b, bn2, x2, rcond, &factors, true);
  if constexpr (std::is_same_v<la::detail::Backend, la::detail::HostKernels>) {
    // The update ran (the kept factors now describe all s columns).
    for (std::size_t c = 0; c < cases.size(); ++c) {
      ASSERT_EQ(factors.s.size(), cases.size());
      EXPECT_EQ(factors.s[c], cases[c].s) << "case " << c;
    }
  }
  const double u = unit_roundoff<T>();
  auto gamma = [&](double n) {
    return n * u / (1 - n * u);
  };
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const auto& k = cases[c];
    const auto ab = rounded<T>(as[c]), bb = rounded<T>(bs[c]);
    const double norm_a = frobenius(ab), norm_b = frobenius(bb);
    const double sigma_min = sigmas[c].back();
    const auto g1 =
        multiply(matrix(bn1, static_cast<int>(c)), matrix(bn1, static_cast<int>(c)), false, true);
    const auto g2 =
        multiply(matrix(bn2, static_cast<int>(c)), matrix(bn2, static_cast<int>(c)), false, true);
    const double kappa = norm_a / sigma_min;
    EXPECT_LE(distance(g1, g2),
              norm_b * norm_b * (2 * kappa * k.p * gamma(4.0 * k.s) + 4 * gamma(k.s)))
        << "case " << c;
    EXPECT_LE(
        distance(matrix(x1, static_cast<int>(c)), matrix(x2, static_cast<int>(c))),
        4 * std::sqrt(2.0) * norm_b * k.p * gamma(4.0 * k.s) * norm_a / (sigma_min * sigma_min))
        << "case " << c;
  }
}

// svd with empty U and V batches: the singular values alone (host: xGESDD without vectors), as
// LAPACK's and as the call with U, to the backward-stable SVD's O(max(m, n) u ||A||) (tolerance
// as in SvdMatchesLapackSingularValues); V without U is refused.
TYPED_TEST(BatchedDense, SvdValuesOnlyMatchesLapackSingularValues) {
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  const auto mats = test_matrices();
  const auto a = to_batch<T>(mats);
  const auto [m, n, k, one] = svd_shapes(mats);
  auto uu = MatrixBatch<T>::allocate("u", m, k);
  auto s = MatrixBatch<T>::allocate("s", k, one), su = MatrixBatch<T>::allocate("su", k, one);
  la::svd(strata::ExecSpace(), a, MatrixBatch<T>{}, s, MatrixBatch<T>{});
  la::svd(strata::ExecSpace(), a, uu, su, MatrixBatch<T>{});
  for (int b = 0; b < a.layout.count(); ++b) {
    const auto ref = strata::linalg::host::singular_values(rounded<T>(mats[b]));
    const auto sb = matrix(s, b), sub = matrix(su, b);
    const double tol = c_stable * std::max(m[b], n[b]) * u;
    const double s1 = ref.empty() ? 0 : ref[0];
    for (int j = 0; j < k[b]; ++j) {
      EXPECT_NEAR(sb(j, 0), ref[j], tol * s1) << "matrix " << b << " sigma " << j;
      EXPECT_NEAR(sb(j, 0), sub(j, 0), 2 * tol * s1) << "matrix " << b << " sigma " << j;
      if (j > 0) {
        EXPECT_LE(sb(j, 0), sb(j - 1, 0));
      }
    }
  }
  auto v = MatrixBatch<T>::allocate("v", n, k);
  EXPECT_THROW(la::svd(strata::ExecSpace(), a, MatrixBatch<T>{}, s, v), strata::InvalidArgument);
}

// null_space_project_pseudo_inverse_apply with an empty X batch gives BN alone (and keeps the
// factors); a second call with X and extend on the same A, B (no new columns) then gives X. Both
// against one plain call: BN through the basis-independent G = BN BN^T and X, with the two-route
// bounds of NullSpaceProjectExtendedByColumnsMatchesAFreshCall above (the host's later X comes from
// the kept R and Q^T B^T, the same Householder QR; the bounds cover any two backward-stable
// routes).
TYPED_TEST(BatchedDense, NullSpaceProjectWithXLater) {
  using T = TypeParam;
  struct Case {
    int p, s, q;
  };
  const std::vector<Case> cases = {{6, 15, 3}, {64, 84, 64}, {5, 9, 4}};
  std::vector<HostMatrix<double>> as, bs;
  std::vector<double> sigma_min;
  std::vector<int> xr, xc, nc;
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const auto& k = cases[c];
    std::vector<double> sigma(static_cast<std::size_t>(k.p));
    for (int j = 0; j < k.p; ++j) sigma[static_cast<std::size_t>(j)] = 1.0 - 0.5 * j / k.p;
    sigma_min.push_back(sigma.back());
    as.push_back(with_singular_values(k.p, k.s, sigma, 700 + 2 * c));
    bs.push_back(gaussian(k.q, k.s, 701 + 2 * c));
    xr.push_back(k.q);
    xc.push_back(k.p);
    nc.push_back(k.s - k.p);
  }
  const double rcond = 1e-6;
  const strata::ExecSpace exec;
  const auto a = to_batch<T>(as), b = to_batch<T>(bs);
  auto bn1 = nan_batch<T>(xr, nc), x1 = nan_batch<T>(xr, xc);
  auto bn2 = nan_batch<T>(xr, nc), x2 = nan_batch<T>(xr, xc), bn3 = nan_batch<T>(xr, nc);
  la::detail::null_space_project_pseudo_inverse_apply(exec, a, b, bn1, x1, rcond);
  la::detail::NullSpaceProjectFactors<T> factors;
  la::detail::null_space_project_pseudo_inverse_apply(exec, a, b, bn2, MatrixBatch<T>{}, rcond,
                                                      &factors);
  la::detail::null_space_project_pseudo_inverse_apply(exec, a, b, bn3, x2, rcond, &factors, true);
  if constexpr (std::is_same_v<la::detail::Backend, la::detail::HostKernels>) {
    // Kept by the first call, used (not factored again) by the second.
    ASSERT_EQ(factors.s.size(), cases.size());
    for (std::size_t c = 0; c < cases.size(); ++c) EXPECT_EQ(factors.s[c], cases[c].s);
  }
  const double u = unit_roundoff<T>();
  auto gamma = [&](double n) {
    return n * u / (1 - n * u);
  };
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const auto& k = cases[c];
    const int i = static_cast<int>(c);
    const auto ab = rounded<T>(as[c]), bb = rounded<T>(bs[c]);
    const double norm_a = frobenius(ab), norm_b = frobenius(bb);
    const double kappa = norm_a / sigma_min[c];
    const auto g1 = multiply(matrix(bn1, i), matrix(bn1, i), false, true);
    const double g_tol = norm_b * norm_b * (2 * kappa * k.p * gamma(4.0 * k.s) + 4 * gamma(k.s));
    for (const auto* bn : {&bn2, &bn3}) {
      EXPECT_LE(distance(g1, multiply(matrix(*bn, i), matrix(*bn, i), false, true)), g_tol)
          << "case " << c;
    }
    EXPECT_LE(distance(matrix(x1, i), matrix(x2, i)), 4 * std::sqrt(2.0) * norm_b * k.p *
                                                          gamma(4.0 * k.s) * norm_a /
                                                          (sigma_min[c] * sigma_min[c]))
        << "case " << c;
  }
}

TYPED_TEST(BatchedDense, UninitializedOutputsAreFullyOverwritten) {
  // allocate_uninitialized is for outputs that a call overwrites entirely: svd, null_space,
  // pseudo_inverse_apply, copy_batched and gemm_batched with beta = 0 (also with an empty inner
  // dimension, where C must become zero). Outputs prefilled with NaN must come out identical,
  // entry for entry, to the same calls on zero-filled outputs.
  using T = TypeParam;
  const auto mats = test_matrices();
  const auto a = to_batch<T>(mats);
  const strata::ExecSpace exec;
  std::vector<int> m, n, k, ones, bq;
  for (const auto& x : mats) {
    m.push_back(x.extent(0));
    n.push_back(x.extent(1));
    k.push_back(std::min(m.back(), n.back()));
    ones.push_back(1);
    bq.push_back(3);
  }
  auto u0 = MatrixBatch<T>::allocate("u", m, k), un = nan_batch<T>(m, k);
  auto s0 = MatrixBatch<T>::allocate("s", k, ones), sn = nan_batch<T>(k, ones);
  auto v0 = MatrixBatch<T>::allocate("v", n, k), vn = nan_batch<T>(n, k);
  la::svd(exec, a, u0, s0, v0);
  la::svd(exec, a, un, sn, vn);
  EXPECT_EQ(differing_entries(u0, un), 0);
  EXPECT_EQ(differing_entries(s0, sn), 0);
  EXPECT_EQ(differing_entries(v0, vn), 0);
  // Null spaces of the wide matrices (p < s).
  std::vector<HostMatrix<double>> wide;
  std::vector<int> ws, wk;
  for (std::size_t i = 0; i < mats.size(); ++i)
    if (m[i] < n[i]) {
      wide.push_back(mats[i]);
      ws.push_back(n[i]);
      wk.push_back(n[i] - m[i]);
    }
  const auto aw = to_batch<T>(wide);
  auto n0 = MatrixBatch<T>::allocate("n", ws, wk), nn = nan_batch<T>(ws, wk);
  la::null_space(exec, aw, n0);
  la::null_space(exec, aw, nn);
  EXPECT_EQ(differing_entries(n0, nn), 0);
  std::vector<HostMatrix<double>> bs;
  for (std::size_t i = 0; i < mats.size(); ++i) bs.push_back(gaussian(3, n[i], 300 + i));
  const auto b = to_batch<T>(bs);
  auto x0 = MatrixBatch<T>::allocate("x", bq, m), xn = nan_batch<T>(bq, m);
  la::pseudo_inverse_apply(exec, b, a, x0);
  la::pseudo_inverse_apply(exec, b, a, xn);
  EXPECT_EQ(differing_entries(x0, xn), 0);
  auto c0 = MatrixBatch<T>::allocate("c", m, m), cn = nan_batch<T>(m, m);
  la::gemm_batched(exec, 'N', 'T', T(1), a, a, T(0), c0);
  la::gemm_batched(exec, 'N', 'T', T(1), a, a, T(0), cn);
  EXPECT_EQ(differing_entries(c0, cn), 0);
  // Empty inner dimension: C = 0.
  const std::vector<int> zeros(m.size(), 0);
  const auto e1 = MatrixBatch<T>::allocate("e1", m, zeros),
             e2 = MatrixBatch<T>::allocate("e2", zeros, n);
  auto z0 = MatrixBatch<T>::allocate("z", m, n), zn = nan_batch<T>(m, n);
  la::gemm_batched(exec, 'N', 'N', T(1), e1, e2, T(0), zn);
  EXPECT_EQ(differing_entries(z0, zn), 0);
  auto t0 = MatrixBatch<T>::allocate("t", n, m), tn = nan_batch<T>(n, m);
  la::copy_batched(exec, 'T', a, t0);
  la::copy_batched(exec, 'T', a, tn);
  EXPECT_EQ(differing_entries(t0, tn), 0);
}

TYPED_TEST(BatchedDense, NullSpaceAndQrLeadingColumnsOnStridedMatrices) {
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  const strata::ExecSpace exec;
  std::vector<HostMatrix<double>> mats = {with_singular_values(5, 12, {3, 1e-3}, 101),
                                          gaussian(3, 10, 102), gaussian(10, 6, 103)};
  const auto a = padded<T>({mats[0], mats[1]}, 4, 1e30);
  // Null spaces with N in a strided layout too.
  const auto n =
      padded<T>({HostMatrix<double>("n0", 12, 7), HostMatrix<double>("n1", 10, 5)}, 2, 0.0);
  la::null_space(exec, a, n);
  for (int b = 0; b < 2; ++b) {
    const auto nb = matrix(n, b);
    const double tol = c_stable * nb.extent(0) * u;
    EXPECT_LE(orthogonality(nb), tol * std::sqrt(double(nb.extent(1)))) << b;
    EXPECT_LE(frobenius(multiply(rounded<T>(mats[b]), nb)), tol * frobenius(mats[b])) << b;
  }
  // Q with fewer columns than min(m, n) is the leading columns of the thin Q; Q with more
  // columns than n (but < m) extends it orthonormally.
  const auto tall = to_batch<T>({mats[2]});
  auto q_thin = MatrixBatch<T>::allocate("qt", {10}, {6});
  auto q_lead = MatrixBatch<T>::allocate("ql", {10}, {3});
  auto q_more = MatrixBatch<T>::allocate("qm", {10}, {8});
  auto r = MatrixBatch<T>::allocate("r", {6}, {6});
  la::householder_qr(exec, tall, q_thin, r);
  la::householder_qr(exec, tall, q_lead, MatrixBatch<T>());
  la::householder_qr(exec, tall, q_more, MatrixBatch<T>());
  const auto qt = matrix(q_thin, 0), ql = matrix(q_lead, 0), qm = matrix(q_more, 0);
  // Same reflectors, possibly applied in a different order: c n u per entry (|Q_ij| <= 1).
  const double tol = c_stable * 10 * u;
  for (int j = 0; j < 3; ++j)
    for (int i = 0; i < 10; ++i) EXPECT_NEAR(ql(i, j), qt(i, j), tol);
  for (int j = 0; j < 6; ++j)
    for (int i = 0; i < 10; ++i) EXPECT_NEAR(qm(i, j), qt(i, j), tol);
  EXPECT_LE(orthogonality(qm), c_stable * 10 * u * std::sqrt(8.0));
}

TYPED_TEST(BatchedDense, GemmAndCopyOnStridedBlocks) {
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  const strata::ExecSpace exec;
  std::vector<HostMatrix<double>> as = {gaussian(6, 4, 111), gaussian(3, 5, 112)};
  std::vector<HostMatrix<double>> bs = {gaussian(7, 6, 113), gaussian(2, 3, 114)};
  const auto a = padded<T>(as, 3, 1e30), b = padded<T>(bs, 1, 1e30);
  // C = 1.5 A^T B^T, C pre-filled with NaN (beta = 0 must not read it).
  auto c = padded<T>({HostMatrix<double>("c0", 4, 7), HostMatrix<double>("c1", 5, 2)}, 2, 0.0);
  Kokkos::deep_copy(c.values, std::numeric_limits<T>::quiet_NaN());
  la::gemm_batched(exec, 'T', 'T', T(1.5), a, b, T(0), c);
  for (int i = 0; i < 2; ++i) {
    const auto ai = rounded<T>(as[i]), bi = rounded<T>(bs[i]);
    const auto expected = multiply(ai, bi, true, true);
    const auto got = matrix(c, i);
    const double k = ai.extent(0);
    for (std::size_t col = 0; col < got.extent(1); ++col)
      for (std::size_t row = 0; row < got.extent(0); ++row)
        EXPECT_NEAR(got(row, col), 1.5 * expected(row, col),
                    2 * 1.5 * k * u * frobenius(ai) * frobenius(bi));
  }
  // Transposed copy between strided layouts is exact.
  auto t = padded<T>({HostMatrix<double>("t0", 4, 6), HostMatrix<double>("t1", 5, 3)}, 5, 0.0);
  la::copy_batched(exec, 'T', a, t);
  for (int i = 0; i < 2; ++i) {
    const auto ai = matrix(a, i), ti = matrix(t, i);
    for (std::size_t col = 0; col < ti.extent(1); ++col)
      for (std::size_t row = 0; row < ti.extent(0); ++row) EXPECT_EQ(ti(row, col), ai(col, row));
  }
}

/// Gaussian m x n matrix with column j scaled by 2^-j: pivots separated by about a factor 2, far
/// above the differences between recomputed (team kernel) and downdated (xGEQP3) column norms.
HostMatrix<double> graded_columns(int m, int n, std::uint64_t seed) {
  auto a = gaussian(m, n, seed);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) a(i, j) = std::ldexp(a(i, j), -j);
  return a;
}

// The host ID (xGEQP3 + xTRSM, HostKernels) against the team-kernel ID (TeamKernels, what device
// memory uses) on the same batch, and both against the dense matrix. Column-pivoted QR after k
// steps leaves every remaining column of R22 with norm <= the next pivot, and the rank rule stops
// at the first pivot <= cut = max(absolute, relative |R_00|), so
//   ||A - A(:, J) X||_F = ||R22||_F <= sqrt(n - k) cut
// in exact arithmetic, plus rounding c n u ||A||_F (1 + ||X||_F) (Householder QR backward error and
// the triangular solve, as in InterpolativeDecompositionOfLowRankMatrices). The matrices have
// well-separated pivots (graded singular values with a gap at the cut, Gaussian columns of
// distinct norms, columns graded by powers of 2), so both routes must also pick the same rank and
// skeleton; X then agrees up to rounding amplified by kappa(R11) (bound at the check).
TYPED_TEST(BatchedDense, HostInterpolativeDecompositionMatchesTeamKernels) {
  using T = TypeParam;
  if constexpr (!Kokkos::SpaceAccessibility<Kokkos::HostSpace, strata::MemSpace>::accessible) {
    GTEST_SKIP() << "the host kernels need host-accessible memory";
  } else {
    const double u = unit_roundoff<T>();
    const std::vector<HostMatrix<double>> mats = {
        with_singular_values(24, 40, {1, 0.5, 0.25, 0.125, 1e-5, 1e-6}, 141),
        gaussian(16, 30, 142),
        gaussian(30, 12, 143),
        HostMatrix<double>("zero", 5, 7),
        graded_columns(10, 20, 144),
        gaussian(1, 9, 145)};
    const int count = static_cast<int>(mats.size());
    std::vector<int> m, n, ones(mats.size(), 1), xr;
    for (const auto& a : mats) {
      m.push_back(static_cast<int>(a.extent(0)));
      n.push_back(static_cast<int>(a.extent(1)));
      xr.push_back(std::min(m.back(), n.back()));
    }
    const auto a = to_batch<T>(mats);
    // A gap of 1e-2 to 1e-5 around the relative cut 1e-3 (rank 4 in the first matrix), far above
    // float rounding (~1e-7); the absolute cut 0.5 sits between Gaussian pivots (O(sqrt(m))) and
    // zero.
    const std::vector<la::RankRule> rules = {la::RankRule{-1, 1e-3, 0}, la::RankRule{3, 0, 0},
                                             la::RankRule{-1, 0, 0.5}};
    for (const auto& rule : rules) {
      Kokkos::View<int*, strata::MemSpace> rank_host("rh", count), rank_team("rt", count);
      auto skel_host = MatrixBatch<int>::allocate("sh", n, ones);
      auto skel_team = MatrixBatch<int>::allocate("st", n, ones);
      // X with spare rows (min(m, n) >= k), which must come back zero.
      auto x_host = MatrixBatch<T>::allocate_uninitialized("xh", xr, n);
      auto x_team = MatrixBatch<T>::allocate_uninitialized("xt", xr, n);
      Kokkos::deep_copy(x_host.values, T(7));
      Kokkos::deep_copy(x_team.values, T(7));
      la::detail::HostKernels::interpolative_decomposition(strata::ExecSpace(), a, rule, rank_host,
                                                           skel_host, x_host);
      la::detail::TeamKernels::interpolative_decomposition(strata::ExecSpace(), a, rule, rank_team,
                                                           skel_team, x_team);
      const auto kh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, rank_host);
      const auto kt = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, rank_team);
      for (int b = 0; b < count; ++b) {
        ASSERT_EQ(kh(b), kt(b)) << "matrix " << b << " rule max_rank " << rule.max_rank;
        const int k = kh(b);
        const auto ab = rounded<T>(mats[static_cast<std::size_t>(b)]);
        const auto sh = matrix(skel_host, b), st = matrix(skel_team, b);
        const auto xh = matrix(x_host, b), xt = matrix(x_team, b);
        for (int j = 0; j < k; ++j) EXPECT_EQ(sh(j, 0), st(j, 0)) << b;
        // The skeleton is a permutation of the columns.
        std::vector<int> seen(static_cast<std::size_t>(n[b]), 0);
        for (int j = 0; j < n[b]; ++j) ++seen[static_cast<std::size_t>(sh(j, 0))];
        EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), n[b]) << b;
        double first = 0;
        for (int j = 0; j < n[b]; ++j) {
          double c = 0;
          for (int i = 0; i < m[b]; ++i) c += ab(i, j) * ab(i, j);
          first = std::max(first, std::sqrt(c));
        }
        const double cut = std::max(rule.absolute_tolerance, rule.relative_tolerance * first);
        for (const auto* pair : {&xh, &xt}) {
          const auto& xb = *pair;
          const auto& sb = pair == &xh ? sh : st;
          HostMatrix<double> cols("cols", m[b], k), xk("xk", k, n[b]);
          for (int j = 0; j < k; ++j)
            for (int i = 0; i < m[b]; ++i) cols(i, j) = ab(i, static_cast<int>(sb(j, 0)));
          for (int j = 0; j < n[b]; ++j) {
            for (int i = 0; i < k; ++i) xk(i, j) = xb(i, j);
            for (int i = k; i < xr[b]; ++i) EXPECT_EQ(xb(i, j), 0.0) << b;
          }
          for (int j = 0; j < k; ++j)
            for (int i = 0; i < k; ++i)
              EXPECT_EQ(xb(i, static_cast<int>(sb(j, 0))), i == j ? 1.0 : 0.0);
          const double rounding =
              c_stable * std::max(m[b], n[b]) * u * frobenius(ab) * (1 + frobenius(xk));
          if (rule.max_rank < 0) {
            EXPECT_LE(distance(multiply(cols, xk), ab), std::sqrt(n[b] - k) * cut + rounding)
                << "matrix " << b;
          }
        }
        // Same skeleton, same X: the two solves of R11 T = R12 differ by the backward errors of
        // the two QRs and solves, amplified by kappa(R11) = kappa(A(:, J)) (Q orthonormal):
        // ||X_host - X_team||_F <= c n u kappa(A(:, J)) (1 + ||X||_F) (Higham Thm 8.5 with the
        // QR's backward error).
        if (k == 0) continue;
        HostMatrix<double> xkh("xkh", k, n[b]), xkt("xkt", k, n[b]), cols("cols", m[b], k);
        for (int j = 0; j < n[b]; ++j)
          for (int i = 0; i < k; ++i) xkh(i, j) = xh(i, j), xkt(i, j) = xt(i, j);
        for (int j = 0; j < k; ++j)
          for (int i = 0; i < m[b]; ++i) cols(i, j) = ab(i, static_cast<int>(st(j, 0)));
        const auto sv = strata::linalg::host::singular_values(cols);
        const double kappa = sv.front() / sv.back();
        EXPECT_LE(distance(xkh, xkt),
                  c_stable * std::max(m[b], n[b]) * u * kappa * (1 + frobenius(xkt)))
            << "matrix " << b;
      }
    }
    // The host route reports NaN / Inf input (LAPACK's result would be meaningless).
    auto bad = gaussian(4, 6, 146);
    bad(1, 2) = std::numeric_limits<double>::quiet_NaN();
    const auto nan_batch = to_batch<T>({gaussian(3, 3, 147), bad});
    Kokkos::View<int*, strata::MemSpace> nan_ranks("nr", 2);
    auto nan_skel = MatrixBatch<int>::allocate("ns", {3, 6}, {1, 1});
    auto nan_x = MatrixBatch<T>::allocate("nx", {3, 4}, {3, 6});
    EXPECT_THROW(la::detail::HostKernels::interpolative_decomposition(
                     strata::ExecSpace(), nan_batch, la::RankRule{}, nan_ranks, nan_skel, nan_x),
                 strata::NumericalError);
  }
}

TYPED_TEST(BatchedDense, NonFiniteInputsAreReported) {
  using T = TypeParam;
  auto bad = gaussian(4, 6, 121);
  bad(2, 3) = std::numeric_limits<double>::quiet_NaN();
  auto inf = gaussian(4, 6, 122);
  inf(0, 0) = std::numeric_limits<double>::infinity();
  for (const auto& mat : {bad, inf}) {
    const auto a = to_batch<T>({gaussian(3, 3, 123), mat});
    auto uu = MatrixBatch<T>::allocate("u", {3, 4}, {3, 4});
    auto s = MatrixBatch<T>::allocate("s", {3, 4}, {1, 1});
    auto v = MatrixBatch<T>::allocate("v", {3, 6}, {3, 4});
    EXPECT_THROW(la::svd(strata::ExecSpace(), a, uu, s, v), strata::NumericalError);
    const auto b = to_batch<T>({gaussian(2, 3, 124), gaussian(2, 6, 125)});
    auto x = MatrixBatch<T>::allocate("x", {2, 2}, {3, 4});
    EXPECT_THROW(la::pseudo_inverse_apply(strata::ExecSpace(), b, a, x), strata::NumericalError);
  }
  // The team kernel's QR-preconditioned paths (values only; U only of a wide matrix) form X = R^T
  // from R alone: a NaN below the diagonal of W (A(1, 0) of a tall matrix, A(0, 1) of a wide one,
  // where W = A^T) must still reach the singular values and be reported, as on the plain path.
  const auto one_matrix = [](const std::vector<int>& rows, const std::vector<int>& cols) {
    return MatrixBatch<T>::allocate("o", rows, cols);
  };
  for (const bool wide : {false, true}) {
    auto m = gaussian(wide ? 4 : 6, wide ? 6 : 4, 126);
    (wide ? m(0, 1) : m(1, 0)) = std::numeric_limits<double>::quiet_NaN();
    const auto a = to_batch<T>({gaussian(3, 3, 127), m});
    auto s = one_matrix({3, 4}, {1, 1});
    EXPECT_THROW(la::detail::TeamKernels::svd<T>(strata::ExecSpace(), a, MatrixBatch<T>{}, s,
                                                 MatrixBatch<T>{}),
                 strata::NumericalError)
        << (wide ? "wide" : "tall") << ", values only";
    if (wide) {
      auto uu = one_matrix({3, 4}, {3, 4});
      EXPECT_THROW(la::detail::TeamKernels::svd<T>(strata::ExecSpace(), a, uu, s, MatrixBatch<T>{}),
                   strata::NumericalError)
          << "wide, U only";
    }
  }
  // The team Householder QR (device householder_qr and null_space): a NaN below the diagonal of
  // the first column must reach Q and R (it used to give tau = 0, H = I, and vanish: finite
  // factors of a NaN matrix).
  {
    auto m = gaussian(6, 4, 128);
    m(1, 0) = std::numeric_limits<double>::quiet_NaN();
    const auto a = to_batch<T>({m});
    auto q = one_matrix({6}, {4});
    auto r = one_matrix({4}, {4});
    la::detail::TeamKernels::householder_qr<T>(strata::ExecSpace(), a, q, r);
    const auto has_nan = [](const auto& values) {
      const auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, values);
      for (std::size_t i = 0; i < h.extent(0); ++i)
        if (std::isnan(static_cast<double>(h(i)))) return true;
      return false;
    };
    EXPECT_TRUE(has_nan(q.values) && has_nan(r.values)) << "team householder_qr dropped a NaN";
  }
}

}  // namespace
