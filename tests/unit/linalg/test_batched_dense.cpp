// Batched dense kernels (QR, null space, column-pivoted QR / ID, Jacobi SVD, pseudo-inverse,
// variable GEMM) on batches of different sizes, rank-deficient and zero matrices, checked against
// host LAPACK (singular values, QR) and against the defining identities.
//
// Tolerances: u is the unit roundoff of T and n the largest dimension in the batch. Householder QR
// and one-sided Jacobi are backward stable with constants growing like n u (Higham, Accuracy and
// Stability, Thm 19.4 and 19.10; Demmel & Veselic 1992 for Jacobi): we allow c n u with c = 20,
// relative to ||A||_F for residuals and to sigma_1 for singular values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/linalg/batched_dense.hpp"
#include "strata/linalg/host_lapack.hpp"

namespace {

using strata::HostMatrix;
using strata::linalg::MatrixBatch;
namespace la = strata::linalg;

constexpr double c_stable = 20;

template <class T>
double unit_roundoff() {
  return std::numeric_limits<T>::epsilon() / 2;
}

/// Gaussian host matrix from a counter-based stream.
HostMatrix<double> gaussian(int m, int n, std::uint64_t seed) {
  HostMatrix<double> a("g", m, n);
  const strata::RandomStream s{strata::Distribution::gaussian, seed, 7};
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) a(i, j) = s.entry<double>(i, j);
  return a;
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

double frobenius(const HostMatrix<double>& a) {
  double s = 0;
  for (std::size_t j = 0; j < a.extent(1); ++j)
    for (std::size_t i = 0; i < a.extent(0); ++i) s += a(i, j) * a(i, j);
  return std::sqrt(s);
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

/// A device batch holding copies (rounded to T) of the given host matrices.
template <class T>
MatrixBatch<T> to_batch(const std::vector<HostMatrix<double>>& mats) {
  std::vector<int> rows, cols;
  for (const auto& m : mats) {
    rows.push_back(static_cast<int>(m.extent(0)));
    cols.push_back(static_cast<int>(m.extent(1)));
  }
  auto batch = MatrixBatch<T>::allocate("batch", rows, cols);
  auto h = Kokkos::create_mirror_view(batch.values);
  for (std::size_t b = 0; b < mats.size(); ++b)
    for (int j = 0; j < cols[b]; ++j)
      for (int i = 0; i < rows[b]; ++i)
        h(batch.layout.host_offset[b] + i +
          static_cast<std::int64_t>(j) * batch.layout.host_ld[b]) = static_cast<T>(mats[b](i, j));
  Kokkos::deep_copy(batch.values, h);
  return batch;
}

/// Matrix b of a device batch, as a double host matrix.
template <class T>
HostMatrix<double> matrix(const MatrixBatch<T>& batch, int b) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, batch.values);
  const int m = batch.layout.host_rows[b], n = batch.layout.host_cols[b];
  HostMatrix<double> out("m", m, n);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i)
      out(i, j) = static_cast<double>(h(batch.layout.host_offset[b] + i +
                                        static_cast<std::int64_t>(j) * batch.layout.host_ld[b]));
  return out;
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

TYPED_TEST(BatchedDense, SvdMatchesLapackSingularValues) {
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  const auto mats = test_matrices();
  const auto a = to_batch<T>(mats);
  std::vector<int> m, n, k, one;
  for (const auto& x : mats) {
    m.push_back(x.extent(0));
    n.push_back(x.extent(1));
    k.push_back(std::min<int>(x.extent(0), x.extent(1)));
    one.push_back(1);
  }
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
      if (j > 0) EXPECT_LE(sb(j, 0), sb(j - 1, 0));
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

}  // namespace
