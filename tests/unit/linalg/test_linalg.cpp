// Dense building blocks against independent references: gemm against a long-double triple loop,
// LAPACK wrappers against matrices with known spectra.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/linalg/cholesky.hpp"
#include "strata/linalg/detail/host_gemm.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "strata/linalg/small_svd.hpp"
#include "strata/linalg/syrk.hpp"
#include "support/allclose.hpp"

namespace {

template <class T>
strata::Matrix<T> random_matrix(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  strata::Matrix<T> a("a", rows, cols);
  strata::fill_random(strata::ExecSpace(),
                      strata::RandomStream{strata::Distribution::gaussian, seed, 0}, a);
  return a;
}

// |C - (alpha op(A) op(B) + beta C0)| against a long-double triple loop, entry by entry, within
// Higham's bound (Accuracy and Stability, eq. (3.13)): gamma_{k + extra} (|alpha| |A||B| + |beta
// C0|), where `extra` counts the additions beyond a plain dot product (2 for the alpha/beta
// update, plus one per partial product summed by an inner split).
template <class T>
void expect_gemm_within_bound(const strata::HostMatrix<T>& ha, const strata::HostMatrix<T>& hb,
                              const strata::HostMatrix<T>& hc, const strata::HostMatrix<T>& result,
                              bool trans_a, bool trans_b, T alpha, T beta, std::size_t extra) {
  const std::size_t m = result.extent(0), n = result.extent(1);
  const std::size_t k = trans_a ? ha.extent(0) : ha.extent(1);
  const double u = std::numeric_limits<T>::epsilon() / 2;
  const double gamma = (k + extra) * u / (1 - (k + extra) * u);
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t i = 0; i < m; ++i) {
      long double exact = 0, magnitude = 0;
      for (std::size_t l = 0; l < k; ++l) {
        const long double x = trans_a ? ha(l, i) : ha(i, l);
        const long double y = trans_b ? hb(j, l) : hb(l, j);
        exact += x * y;
        magnitude += std::fabs(x * y);
      }
      exact = alpha * exact + beta * static_cast<long double>(hc(i, j));
      const double bound = gamma * (std::fabs(alpha) * magnitude + std::fabs(beta * hc(i, j))) +
                           std::numeric_limits<T>::min();
      ASSERT_LE(std::fabs(static_cast<double>(result(i, j) - exact)), bound)
          << (trans_a ? 'T' : 'N') << (trans_b ? 'T' : 'N') << " entry (" << i << ", " << j << ")";
    }
  }
}

template <class T>
class Gemm : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Gemm, Scalars);

TYPED_TEST(Gemm, MatchesLongDoubleReferenceWithinTheStandardBound) {
  using T = TypeParam;
  for (const char* ta : {"N", "T"}) {
    for (const char* tb : {"N", "T"}) {
      const std::size_t m = 37, n = 23, k = 71;
      const bool trans_a = ta[0] == 'T', trans_b = tb[0] == 'T';
      auto a = random_matrix<T>(trans_a ? k : m, trans_a ? m : k, 1);
      auto b = random_matrix<T>(trans_b ? n : k, trans_b ? k : n, 2);
      auto c = random_matrix<T>(m, n, 3);
      const T alpha = T(0.75), beta = T(-0.5);
      auto ha = strata::testing::to_host(a);
      auto hb = strata::testing::to_host(b);
      auto hc = strata::testing::to_host(c);
      strata::linalg::gemm(strata::ExecSpace(), ta, tb, alpha, a, b, beta, c);
      auto result = strata::testing::to_host(c);
      expect_gemm_within_bound<T>(ha, hb, hc, result, trans_a, trans_b, alpha, beta, 2);
    }
  }
}

TYPED_TEST(Gemm, EmptyInnerDimensionScalesCAndBadShapesThrow) {
  using T = TypeParam;
  strata::Matrix<T> a("a", 4, 0), b("b", 0, 3);
  auto c = random_matrix<T>(4, 3, 9);
  auto before = strata::testing::to_host(c);
  strata::linalg::gemm(strata::ExecSpace(), "N", "N", T(1), a, b, T(2), c);
  auto after = strata::testing::to_host(c);
  for (std::size_t j = 0; j < 3; ++j)
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(after(i, j), T(2) * before(i, j));
  strata::Matrix<T> wrong("w", 5, 3);
  EXPECT_THROW(strata::linalg::gemm(strata::ExecSpace(), "N", "N", T(1), random_matrix<T>(4, 2, 1),
                                    random_matrix<T>(3, 3, 2), T(0), c),
               strata::ShapeMismatch);
  EXPECT_THROW(strata::linalg::gemm(strata::ExecSpace(), "N", "N", T(1), random_matrix<T>(4, 2, 1),
                                    random_matrix<T>(2, 3, 2), T(0), wrong),
               strata::ShapeMismatch);
}

// syrk: both triangles of alpha op(A)^T op(A) + beta C0 within the same GEMM bound (a SYRK entry is
// one dot product of length k plus the alpha/beta update), and the result exactly symmetric.
TYPED_TEST(Gemm, SyrkMatchesTheReferenceAndIsExactlySymmetric) {
  using T = TypeParam;
  // k = 83: xSYRK everywhere; k = 8 n = 232 and 8 n - 1: either side of the tall-skinny switch
  // to a GEMM on CUDA (syrk.hpp).
  for (const auto& [trans, k] :
       {std::pair<char, std::size_t>{'T', 83}, {'N', 83}, {'T', 232}, {'T', 231}, {'N', 232}}) {
    const std::size_t n = 29;
    const bool t = trans == 'T';
    auto a = random_matrix<T>(t ? k : n, t ? n : k, 4);
    // A symmetric C0, as syrk requires for beta != 0.
    auto c = random_matrix<T>(n, n, 5);
    auto hc = strata::testing::to_host(c);
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < j; ++i) hc(i, j) = hc(j, i);
    Kokkos::deep_copy(c, hc);
    auto ha = strata::testing::to_host(a);
    const T alpha = T(0.75), beta = T(-0.5);
    strata::linalg::syrk(strata::ExecSpace(), trans, alpha, strata::ConstMatrix<T>(a), beta, c);
    auto result = strata::testing::to_host(c);
    // op(A)^T op(A) as the GEMM (op(A)^T) (op(A)): A^T A for 'T', A A^T for 'N'.
    expect_gemm_within_bound<T>(ha, ha, hc, result, t, !t, alpha, beta, 2);
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < j; ++i) ASSERT_EQ(result(i, j), result(j, i)) << i << ", " << j;
  }
  // beta = 0 does not read C (NaN stays out), k = 0 gives beta C, bad shapes throw.
  auto a = random_matrix<T>(7, 4, 6);
  strata::Matrix<T> c("c", 4, 4);
  Kokkos::deep_copy(c, std::numeric_limits<T>::quiet_NaN());
  strata::linalg::syrk(strata::ExecSpace(), 'T', T(1), strata::ConstMatrix<T>(a), T(0), c);
  auto result = strata::testing::to_host(c);
  for (std::size_t j = 0; j < 4; ++j)
    for (std::size_t i = 0; i < 4; ++i) EXPECT_TRUE(std::isfinite(result(i, j)));
  strata::Matrix<T> empty("e", 0, 4);
  strata::linalg::syrk(strata::ExecSpace(), 'T', T(1), strata::ConstMatrix<T>(empty), T(2), c);
  auto doubled = strata::testing::to_host(c);
  for (std::size_t j = 0; j < 4; ++j)
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(doubled(i, j), T(2) * result(i, j));
  strata::Matrix<T> wrong("w", 5, 4);
  EXPECT_THROW(
      strata::linalg::syrk(strata::ExecSpace(), 'T', T(1), strata::ConstMatrix<T>(a), T(0), wrong),
      strata::ShapeMismatch);
}

// cholesky_upper and solve_upper_right (the k x k steps of CholeskyQR where the data live) by their
// backward errors (Higham, Accuracy and Stability, Thm. 10.3 and Thm. 8.5): R^T R = A + E with
// |E| <= gamma_{n+1} |R|^T |R|, and each row x of the solution of x R = y satisfies
// |x R - y| <= gamma_n |x| |R|. Both checked entry by entry in long double; an indefinite matrix
// is refused. X has 600 rows: more than one row block of the threaded host path.
TYPED_TEST(Gemm, CholeskyAndTriangularSolveWithinTheirBackwardErrors) {
  using T = TypeParam;
  const strata::ExecSpace exec;
  const std::size_t n = 9, m = 600;
  const double u = std::numeric_limits<T>::epsilon() / 2;
  auto gamma = [u](double k) {
    return k * u / (1 - k * u);
  };
  auto b = random_matrix<T>(40, n, 7);
  strata::Matrix<T> a("a", n, n);
  strata::linalg::gemm(exec, "T", "N", T(1), b, b, T(0), a);
  const auto ha = strata::testing::to_host(a);
  strata::Matrix<T> r("r", n, n);
  Kokkos::deep_copy(r, a);
  ASSERT_TRUE(strata::linalg::cholesky_upper(exec, r));
  const auto hr = strata::testing::to_host(r);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < n; ++i) {
      if (i > j) {
        ASSERT_EQ(hr(i, j), T(0)) << i << ", " << j;
        continue;
      }
      long double rtr = 0, magnitude = 0;
      for (std::size_t l = 0; l < n; ++l) {
        rtr += static_cast<long double>(hr(l, i)) * hr(l, j);
        magnitude += std::fabs(static_cast<long double>(hr(l, i)) * hr(l, j));
      }
      ASSERT_LE(std::fabs(static_cast<double>(rtr - ha(i, j))),
                gamma(n + 1) * static_cast<double>(magnitude))
          << i << ", " << j;
    }
  // Y = X R (rounded to T), then X <- Y R^-1 in place.
  auto x0 = random_matrix<T>(m, n, 8);
  strata::Matrix<T> y("y", m, n);
  strata::linalg::gemm(exec, "N", "N", T(1), x0, r, T(0), y);
  const auto hy = strata::testing::to_host(y);
  strata::linalg::solve_upper_right(exec, strata::ConstMatrix<T>(r), y);
  const auto hx = strata::testing::to_host(y);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      long double xr = 0, magnitude = 0;
      for (std::size_t l = 0; l <= j; ++l) {
        xr += static_cast<long double>(hx(i, l)) * hr(l, j);
        magnitude += std::fabs(static_cast<long double>(hx(i, l)) * hr(l, j));
      }
      ASSERT_LE(std::fabs(static_cast<double>(xr - hy(i, j))),
                gamma(n) * static_cast<double>(magnitude) + std::numeric_limits<T>::min())
          << i << ", " << j;
    }
  // diag(1, -1) is not positive definite.
  strata::Matrix<T> indefinite("indefinite", 2, 2);
  auto hi = Kokkos::create_mirror_view(indefinite);
  hi(0, 0) = 1;
  hi(1, 1) = -1;
  hi(0, 1) = hi(1, 0) = 0;
  Kokkos::deep_copy(indefinite, hi);
  EXPECT_FALSE(strata::linalg::cholesky_upper(exec, indefinite));
  strata::Matrix<T> wrong("wrong", m, n + 1);
  EXPECT_THROW(strata::linalg::solve_upper_right(exec, strata::ConstMatrix<T>(r), wrong),
               strata::ShapeMismatch);
}

// The host split of linalg/detail/host_gemm.hpp (used on threaded host backends), every split
// forced on whatever host backend runs the test: each must be an ordinary GEMM.
TYPED_TEST(Gemm, EveryHostSplitMatchesTheLongDoubleReference) {
  using T = TypeParam;
  namespace d = strata::linalg::detail;
  const std::size_t m = 37, n = 23, k = 71;
  const T alpha = T(0.75), beta = T(-0.5);
  for (const d::GemmPlan plan :
       {d::GemmPlan{d::GemmSplit::none, 1}, d::GemmPlan{d::GemmSplit::columns, 4},
        d::GemmPlan{d::GemmSplit::rows, 5}, d::GemmPlan{d::GemmSplit::inner, 6}}) {
    for (const bool trans_a : {false, true}) {
      for (const bool trans_b : {false, true}) {
        const auto ha =
            strata::testing::to_host(random_matrix<T>(trans_a ? k : m, trans_a ? m : k, 1));
        const auto hb =
            strata::testing::to_host(random_matrix<T>(trans_b ? n : k, trans_b ? k : n, 2));
        const auto hc = strata::testing::to_host(random_matrix<T>(m, n, 3));
        strata::HostMatrix<T> c("c", m, n);
        Kokkos::deep_copy(c, hc);
        d::host_gemm<T>(strata::HostExecSpace(), plan, trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m,
                        n, k, alpha, ha.data(), static_cast<strata::index_type>(ha.stride(1)),
                        hb.data(), static_cast<strata::index_type>(hb.stride(1)), beta, c.data(),
                        static_cast<strata::index_type>(c.stride(1)));
        SCOPED_TRACE("split " + std::to_string(static_cast<int>(plan.split)) + " in " +
                     std::to_string(plan.parts) + " parts");
        expect_gemm_within_bound<T>(ha, hb, hc, c, trans_a, trans_b, alpha, beta,
                                    2 + static_cast<std::size_t>(plan.parts));
      }
    }
  }
}

// Large enough that linalg::gemm splits it on a threaded host backend (a tall-skinny Gram product
// X^T X, split along k, and a wide product, split along the columns); Serial runs the same check
// through Kokkos Kernels.
TYPED_TEST(Gemm, LargeProductsMatchTheLongDoubleReference) {
  using T = TypeParam;
  const T alpha = T(1), beta = T(0.5);
  struct Shape {
    std::size_t m, n, k;
    const char *ta, *tb;
  };
  for (const Shape s : {Shape{24, 24, 6000, "T", "N"}, Shape{64, 700, 48, "N", "N"}}) {
    const bool trans_a = s.ta[0] == 'T', trans_b = s.tb[0] == 'T';
    auto a = random_matrix<T>(trans_a ? s.k : s.m, trans_a ? s.m : s.k, 4);
    auto b = random_matrix<T>(trans_b ? s.n : s.k, trans_b ? s.k : s.n, 5);
    auto c = random_matrix<T>(s.m, s.n, 6);
    const auto ha = strata::testing::to_host(a), hb = strata::testing::to_host(b);
    const auto hc = strata::testing::to_host(c);
    strata::linalg::gemm(strata::ExecSpace(), s.ta, s.tb, alpha, a, b, beta, c);
    // At most 64 inner parts (plan_host_gemm).
    expect_gemm_within_bound<T>(ha, hb, hc, strata::testing::to_host(c), trans_a, trans_b, alpha,
                                beta, 2 + 64);
  }
}

TEST(HostGemmPlan, SplitsDependOnShapeAndInnerPartsNotOnThreads) {
  namespace d = strata::linalg::detail;
  // One thread, or a product too small to repay a parallel region: one call.
  EXPECT_EQ(d::plan_host_gemm(4000, 4000, 4000, 1).split, d::GemmSplit::none);
  EXPECT_EQ(d::plan_host_gemm(37, 23, 71, 16).split, d::GemmSplit::none);
  // Wide and tall products: columns or rows, one part per thread.
  const auto wide = d::plan_host_gemm(512, 4096, 512, 16);
  EXPECT_EQ(wide.split, d::GemmSplit::columns);
  EXPECT_EQ(wide.parts, 16);
  EXPECT_EQ(d::plan_host_gemm(4096, 512, 512, 8).split, d::GemmSplit::rows);
  // A Gram product X^T X of a tall-skinny X: split along k, in the same parts for 2 and 16
  // threads (the summation order, and so the result, does not depend on the thread count).
  const auto gram2 = d::plan_host_gemm(64, 64, 100000, 2);
  const auto gram16 = d::plan_host_gemm(64, 64, 100000, 16);
  EXPECT_EQ(gram2.split, d::GemmSplit::inner);
  EXPECT_EQ(gram16.split, d::GemmSplit::inner);
  EXPECT_EQ(gram2.parts, gram16.parts);
  EXPECT_GE(gram16.parts, 16);
}

// The products of issue 15's thread-scaling drivers at 16 threads: each is split into at least 16
// parts (one per thread), where the previous plan gave 6 (A v with A 200000 x 32: 6.4e6
// multiply-adds, but bound by streaming A from memory) and 3 (the rsvd and Hutch++ Gram products
// with k = 4000, where parts had to be 1024 deep).
TEST(HostGemmPlan, IssueFifteenShapesUseEveryThread) {
  namespace d = strata::linalg::detail;
  struct Shape {
    strata::index_type m, n, k;
    d::GemmSplit split;
  };
  for (const Shape s : {
           Shape{32, 32, 200000, d::GemmSplit::inner},   // gram X^T X, 200000 x 32
           Shape{200000, 1, 32, d::GemmSplit::rows},     // operator A v
           Shape{32, 1, 200000, d::GemmSplit::inner},    // operator A^T (A v)
           Shape{64, 64, 100000, d::GemmSplit::inner},   // polar X^T X, 100000 x 64
           Shape{100000, 64, 64, d::GemmSplit::rows},    // polar X B
           Shape{42, 42, 4000, d::GemmSplit::inner},     // rsvd Gram of the 4000 x 42 basis
           Shape{4000, 42, 1000, d::GemmSplit::rows},    // rsvd A Omega
           Shape{1000, 42, 4000, d::GemmSplit::rows},    // rsvd A^T Q
           Shape{32, 32, 4000, d::GemmSplit::inner},     // Hutch++ Gram of the 4000 x 32 sketch
           Shape{4000, 32, 4000, d::GemmSplit::rows},    // Hutch++ A S
           Shape{256, 32, 100000, d::GemmSplit::inner},  // Gaussian sketch S A
       }) {
    SCOPED_TRACE(std::to_string(s.m) + " x " + std::to_string(s.n) + " x " + std::to_string(s.k));
    const auto plan = d::plan_host_gemm(s.m, s.n, s.k, 16);
    EXPECT_EQ(plan.split, s.split);
    EXPECT_GE(plan.parts, 16);
    if (s.split == d::GemmSplit::inner) {
      // A power of two (a multiple of 16 here, so every thread sums the same number of parts),
      // the same for every thread count from 2 on, and each part at least 128 deep.
      EXPECT_EQ(plan.parts & (plan.parts - 1), 0);
      EXPECT_GE(s.k / plan.parts, 128);
      for (const int threads : {2, 3, 4, 8, 64}) {
        const auto other = d::plan_host_gemm(s.m, s.n, s.k, threads);
        EXPECT_EQ(other.split, d::GemmSplit::inner) << threads << " threads";
        EXPECT_EQ(other.parts, plan.parts) << threads << " threads";
      }
    } else {
      // Output splits: one part per thread at most.
      EXPECT_EQ(plan.parts, 16);
      EXPECT_EQ(d::plan_host_gemm(s.m, s.n, s.k, 4).parts, 4);
    }
  }
  // Small products stay in one call at any thread count (a 64^3 step of the polar iteration).
  EXPECT_EQ(d::plan_host_gemm(64, 64, 64, 16).split, d::GemmSplit::none);
}

// The rsvd Gram product Q^T Q (Q 4000 x 42) through host_gemm in the parts its plan gives, with a
// depth no part count divides: the partial products and their fixed-order sum are an ordinary
// GEMM within the bound of expect_gemm_within_bound (one extra addition per partial product).
TYPED_TEST(Gemm, PlannedInnerSplitOfAGramProductMatchesTheLongDoubleReference) {
  using T = TypeParam;
  namespace d = strata::linalg::detail;
  const std::size_t m = 42, k = 4001;
  const auto plan = d::plan_host_gemm(m, m, k, 16);
  ASSERT_EQ(plan.split, d::GemmSplit::inner);
  ASSERT_GE(plan.parts, 16);
  const auto hq = strata::testing::to_host(random_matrix<T>(k, m, 7));
  const auto hc = strata::testing::to_host(random_matrix<T>(m, m, 8));
  strata::HostMatrix<T> c("c", m, m);
  Kokkos::deep_copy(c, hc);
  const T alpha = T(1), beta = T(0.25);
  const auto ld = static_cast<strata::index_type>(hq.stride(1));
  d::host_gemm<T>(strata::HostExecSpace(), plan, 'T', 'N', m, m, k, alpha, hq.data(), ld, hq.data(),
                  ld, beta, c.data(), static_cast<strata::index_type>(c.stride(1)));
  expect_gemm_within_bound<T>(hq, hq, hc, c, true, false, alpha, beta,
                              2 + static_cast<std::size_t>(plan.parts));
}

// A = Q1 diag(s) Q2^T with Q1, Q2 orthonormal from LAPACK QR of Gaussian matrices.
strata::HostMatrix<double> with_singular_values(const std::vector<double>& s, std::size_t m,
                                                std::size_t n) {
  auto q1 = strata::testing::to_host(random_matrix<double>(m, s.size(), 21));
  auto q2 = strata::testing::to_host(random_matrix<double>(n, s.size(), 22));
  strata::linalg::host::qr_in_place(q1);
  strata::linalg::host::qr_in_place(q2);
  strata::HostMatrix<double> a("a", m, n);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t l = 0; l < s.size(); ++l) a(i, j) += q1(i, l) * s[l] * q2(j, l);
  return a;
}

TEST(HostLapack, SingularValuesOfAMatrixWithAKnownSpectrum) {
  const std::size_t m = 60, n = 40;
  std::vector<double> s(n);
  for (std::size_t i = 0; i < n; ++i)
    s[i] = std::pow(10.0, -6.0 * static_cast<double>(i) / (n - 1));
  const auto a = with_singular_values(s, m, n);
  const auto computed = strata::linalg::host::singular_values(a);
  ASSERT_EQ(computed.size(), n);
  // Backward-stable SVD plus the rounding of forming A: |sigma_i - s_i| <= c n eps ||A||_2, c = 10.
  const double bound = 10.0 * n * std::numeric_limits<double>::epsilon() * s[0];
  for (std::size_t i = 0; i < n; ++i) EXPECT_NEAR(computed[i], s[i], bound) << "sigma_" << i;
}

// linalg::small_svd by every method this build has, in fp64 and fp32, on a tall and a square
// matrix with known singular values s_1 .. 1e-6 s_1 (fp32: .. 1e-3 s_1) and on rank-deficient
// square ones (half the values zero, where Xgesvdp perturbs its input) at ||A||_2 = 1, 1e3 and
// 1e-3, staged into the execution space's memory, with U and V strided subviews of wider storage.
// Each method is backward stable: U S V^T is the SVD of A + E, ||E||_2 <= c n u ||A||_2, and
// forming A (in double, then rounded to T) adds as much again, so (Weyl) |sigma_i - s_i| <=
// 2 c n u s_1; U and V are orthonormal within 2 c n u per entry of U^T U - I; and
// ||A - U S V^T||_max <= 2 c n u s_1 (c = 10, as for LAPACK above; u of T).
template <class T>
class SmallSvd : public ::testing::Test {};
using SmallSvdTypes = ::testing::Types<double, float>;
TYPED_TEST_SUITE(SmallSvd, SmallSvdTypes);

TYPED_TEST(SmallSvd, EveryMethodOfThisBuildRecoversAKnownSpectrum) {
  using T = TypeParam;
  using strata::linalg::SmallSvdMethod;
  std::vector<SmallSvdMethod> methods{SmallSvdMethod::automatic, SmallSvdMethod::host_lapack};
  const bool device =
      strata::linalg::resolve(SmallSvdMethod::automatic) != SmallSvdMethod::host_lapack;
  if (device) {
    methods.push_back(SmallSvdMethod::device_jacobi);
    methods.push_back(SmallSvdMethod::device_polar);
  } else {
    strata::Matrix<T> a("a", 4, 3), u("u", 4, 3), v("v", 3, 3);
    EXPECT_THROW(strata::linalg::small_svd(strata::ExecSpace(), strata::ConstMatrix<T>(a), u, v,
                                           SmallSvdMethod::device_jacobi),
                 strata::InvalidArgument);
    EXPECT_THROW(strata::linalg::small_svd(strata::ExecSpace(), strata::ConstMatrix<T>(a), u, v,
                                           SmallSvdMethod::device_polar),
                 strata::InvalidArgument);
  }
  EXPECT_THROW(strata::linalg::small_svd(
                   strata::ExecSpace(), strata::ConstMatrix<T>(strata::Matrix<T>("wide", 5, 7)),
                   strata::Matrix<T>("u", 5, 5), strata::Matrix<T>("v", 7, 7)),
               strata::ShapeMismatch);
  const double u_round = std::numeric_limits<T>::epsilon() / 2, c = 10;
  const double decades = std::is_same_v<T, float> ? 3.0 : 6.0;
  struct Shape {
    std::size_t m, n;
    bool rank_deficient;
    double scale;
  };
  for (const auto shape : {Shape{70, 40, false, 1}, Shape{50, 50, false, 1}, Shape{48, 48, true, 1},
                           Shape{48, 48, true, 1e3}, Shape{48, 48, true, 1e-3}}) {
    const std::size_t m = shape.m, n = shape.n;
    std::vector<double> s(n);
    for (std::size_t i = 0; i < n; ++i)
      s[i] = shape.scale * std::pow(10.0, -decades * static_cast<double>(i) / (n - 1));
    if (shape.rank_deficient)
      for (std::size_t i = n / 2; i < n; ++i) s[i] = 0;
    const auto ha = with_singular_values(s, m, n);
    strata::HostMatrix<T> ha_t("a_t", m, n);
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < m; ++i) ha_t(i, j) = static_cast<T>(ha(i, j));
    strata::Matrix<T> a("a", m, n);
    Kokkos::deep_copy(a, ha_t);
    const double bound = 2 * c * n * u_round * s[0];
    for (const auto method : methods) {
      SCOPED_TRACE(std::string(strata::linalg::to_string(method)) + " " + std::to_string(m) + "x" +
                   std::to_string(n) + " scale " + std::to_string(shape.scale));
      // U and V as column ranges of wider matrices: leading dimensions larger than their rows.
      strata::Matrix<T> uw("uw", m + 3, n + 2), vw("vw", n + 5, n + 1);
      auto u = Kokkos::subview(uw, std::make_pair(std::size_t{1}, m + 1),
                               std::make_pair(std::size_t{1}, n + 1));
      auto v = Kokkos::subview(vw, std::make_pair(std::size_t{0}, n),
                               std::make_pair(std::size_t{1}, n + 1));
      const auto sv = strata::linalg::small_svd(strata::ExecSpace(), strata::ConstMatrix<T>(a),
                                                strata::Matrix<T>(u), strata::Matrix<T>(v), method);
      ASSERT_EQ(sv.size(), n);
      for (std::size_t i = 0; i < n; ++i) {
        EXPECT_NEAR(static_cast<double>(sv[i]), s[i], bound) << "sigma_" << i;
        if (i > 0) {
          EXPECT_GE(sv[i - 1], sv[i]) << "not descending at " << i;
        }
      }
      const auto huw = strata::testing::to_host(uw);
      const auto hvw = strata::testing::to_host(vw);
      auto hu = [&](std::size_t i, std::size_t j) {
        return static_cast<double>(huw(i + 1, j + 1));
      };
      auto hv = [&](std::size_t i, std::size_t j) {
        return static_cast<double>(hvw(i, j + 1));
      };
      double orth_u = 0, orth_v = 0, residual = 0;
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t i = 0; i < n; ++i) {
          double utu = 0, vtv = 0;
          for (std::size_t l = 0; l < m; ++l) utu += hu(l, i) * hu(l, j);
          for (std::size_t l = 0; l < n; ++l) vtv += hv(l, i) * hv(l, j);
          orth_u = std::max(orth_u, std::abs(utu - (i == j ? 1.0 : 0.0)));
          orth_v = std::max(orth_v, std::abs(vtv - (i == j ? 1.0 : 0.0)));
        }
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t i = 0; i < m; ++i) {
          double usv = 0;
          for (std::size_t l = 0; l < n; ++l)
            usv += hu(i, l) * static_cast<double>(sv[l]) * hv(j, l);
          residual = std::max(residual, std::abs(usv - static_cast<double>(ha_t(i, j))));
        }
      // Singular vectors of (numerically) zero singular values are any orthonormal completion:
      // orthonormality is asserted for all of them, reconstruction covers the rest.
      EXPECT_LE(orth_u, c * n * u_round * 2);
      EXPECT_LE(orth_v, c * n * u_round * 2);
      EXPECT_LE(residual, bound);
      // Nothing outside the U and V blocks of the wider storage was written.
      for (std::size_t j = 0; j < n + 2; ++j)
        for (std::size_t i = 0; i < m + 3; ++i)
          if (i == 0 || i > m || j == 0 || j > n) {
            ASSERT_EQ(huw(i, j), T(0)) << i << "," << j;
          }
      for (std::size_t i = 0; i < n + 5; ++i) {
        ASSERT_EQ(hvw(i, 0), T(0)) << i;
        for (std::size_t j = 1; j < n + 1 && i >= n; ++j)
          ASSERT_EQ(hvw(i, j), T(0)) << i << "," << j;
      }
    }
  }
}

TEST(HostLapack, SymmetricEigenvaluesAndQr) {
  const std::size_t n = 30;
  std::vector<double> lambda(n);
  for (std::size_t i = 0; i < n; ++i) lambda[i] = -1.0 + 2.0 * static_cast<double>(i) / (n - 1);
  auto q = strata::testing::to_host(random_matrix<double>(n, n, 5));
  strata::HostMatrix<double> a_copy("a", n, n);
  Kokkos::deep_copy(a_copy, q);
  const auto r = strata::linalg::host::qr_in_place(q);
  // Q^T Q = I and Q R = the original matrix.
  const double eps = std::numeric_limits<double>::epsilon();
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t i = 0; i < n; ++i) {
      double qtq = 0, qr = 0;
      for (std::size_t l = 0; l < n; ++l) {
        qtq += q(l, i) * q(l, j);
        qr += q(i, l) * r(l, j);
      }
      EXPECT_NEAR(qtq, i == j ? 1.0 : 0.0, 10 * n * eps);
      EXPECT_NEAR(qr, a_copy(i, j), 10 * n * eps * std::sqrt(static_cast<double>(n)) * 4);
    }
  }
  strata::HostMatrix<double> a("a", n, n);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t l = 0; l < n; ++l) a(i, j) += q(i, l) * lambda[l] * q(j, l);
  const auto w = strata::linalg::host::symmetric_eigenvalues(a);
  for (std::size_t i = 0; i < n; ++i) EXPECT_NEAR(w[i], lambda[i], 10 * n * eps);
  strata::HostMatrix<double> rect("r", 3, 4);
  EXPECT_THROW(strata::linalg::host::symmetric_eigenvalues(rect), strata::ShapeMismatch);
  EXPECT_THROW(strata::linalg::host::qr_in_place(rect), strata::ShapeMismatch);
}

// The blocked (TSQR) thin QR against one LAPACK QR of the same matrix, on a graded tall matrix
// (singular values 1 .. 1e-8) with a row count that no block count divides. Householder QR and
// TSQR are both backward stable (Demmel et al., SISC 34 (2012), Sec. 5): each computes exact
// factors of A + E with ||E||_F <= c m n u ||A||_F, and Q with ||Q^T Q - I||_max <= c m u (c = 10
// covers the constants at these sizes). R itself is as sensitive as the QR factorization (up to
// kappa(A) = 1e8 here), so R is compared through R^T R, which equals (A + E)^T (A + E) for both:
// ||R^T R - R_ref^T R_ref||_F <= 2 (2 ||E||_F ||A||_F + ||E||_F^2) <= 5 c m n u ||A||_F^2.
TEST(HostLapack, TallQrInBlocksMatchesOneQr) {
  const std::size_t m = 5003, n = 24;
  std::vector<double> s(n);
  for (std::size_t i = 0; i < n; ++i)
    s[i] = std::pow(10.0, -8.0 * static_cast<double>(i) / (n - 1));
  const auto a = with_singular_values(s, m, n);
  double a_norm = 0;
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < m; ++i) a_norm += a(i, j) * a(i, j);
  a_norm = std::sqrt(a_norm);
  const double u = std::numeric_limits<double>::epsilon() / 2;
  strata::HostMatrix<double> ref("ref", m, n);
  Kokkos::deep_copy(ref, a);
  const auto r_ref = strata::linalg::host::tall_qr_in_place(ref, 1);
  for (const int parts : {2, 7, 32}) {
    SCOPED_TRACE("parts = " + std::to_string(parts));
    strata::HostMatrix<double> q("q", m, n);
    Kokkos::deep_copy(q, a);
    const auto r = strata::linalg::host::tall_qr_in_place(q, parts);
    double orth = 0, resid = 0;
    for (std::size_t j = 0; j < n; ++j) {
      for (std::size_t i = 0; i < n; ++i) {
        double qtq = 0;
        for (std::size_t l = 0; l < m; ++l) qtq += q(l, i) * q(l, j);
        orth = std::max(orth, std::abs(qtq - (i == j ? 1.0 : 0.0)));
        if (i > j) {
          EXPECT_EQ(r(i, j), 0.0);
        }
      }
      for (std::size_t i = 0; i < m; ++i) {
        double qr = 0;
        for (std::size_t l = 0; l <= j; ++l) qr += q(i, l) * r(l, j);
        resid += (qr - a(i, j)) * (qr - a(i, j));
      }
    }
    EXPECT_LE(orth, 10.0 * m * u);
    EXPECT_LE(std::sqrt(resid), 10.0 * m * n * u * a_norm);
    double gram = 0;
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < n; ++i) {
        double g = 0, g_ref = 0;
        for (std::size_t l = 0; l <= std::min(i, j); ++l) {
          g += r(l, i) * r(l, j);
          g_ref += r_ref(l, i) * r_ref(l, j);
        }
        gram += (g - g_ref) * (g - g_ref);
      }
    EXPECT_LE(std::sqrt(gram), 5 * 10.0 * m * n * u * a_norm * a_norm);
  }
  // Blocks of fewer than n rows are refused.
  strata::HostMatrix<double> small("small", 50, 24);
  EXPECT_THROW(strata::linalg::host::tall_qr_in_place(small, 3), strata::InvalidArgument);
  EXPECT_EQ(strata::linalg::host::tall_qr_parts(5000, 24), 1);
  EXPECT_EQ(strata::linalg::host::tall_qr_parts(200000, 32), 32);
}

}  // namespace
