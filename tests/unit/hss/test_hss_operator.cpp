// HssOperator: an HSS matrix (or its ULV inverse) as a LinearOperator, checked against the dense
// matrix (to_dense + GEMM / LAPACK) and through two sketching drivers that are exact at a full
// budget (Hutch++ trace with 3n products, randomized SVD with l = n), so any error in apply /
// apply_transpose would show at rounding level.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/random.hpp"
#include "strata/hss/hss_matrix.hpp"
#include "strata/hss/hss_operator.hpp"
#include "strata/hss/matvec.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "strata/sketch/low_rank.hpp"
#include "strata/sketch/trace.hpp"
#include "support/allclose.hpp"

namespace {

namespace hss = strata::hss;
using strata::HostMatrix;
using strata::index_type;
using strata::Matrix;

template <class T>
Matrix<T> gaussian(index_type rows, index_type cols, std::uint64_t seed) {
  Matrix<T> x("x", rows, cols);
  strata::fill_random(strata::ExecSpace(),
                      strata::RandomStream{strata::Distribution::gaussian, seed, 0}, x);
  strata::ExecSpace().fence();
  return x;
}

template <class A, class B>
double frobenius_difference(const A& a, const B& b) {
  const auto ha = strata::testing::to_host(a);
  const auto hb = strata::testing::to_host(b);
  double s = 0;
  for (std::size_t j = 0; j < ha.extent(1); ++j) {
    for (std::size_t i = 0; i < ha.extent(0); ++i) {
      const double d = double(ha(i, j)) - double(hb(i, j));
      s += d * d;
    }
  }
  return std::sqrt(s);
}

template <class A>
double frobenius(const A& a) {
  const auto h = strata::testing::to_host(a);
  double s = 0;
  for (std::size_t j = 0; j < h.extent(1); ++j) {
    for (std::size_t i = 0; i < h.extent(0); ++i) s += double(h(i, j)) * double(h(i, j));
  }
  return std::sqrt(s);
}

template <class T>
HostMatrix<double> dense_double(const hss::HssMatrix<T>& a) {
  const auto h = strata::testing::to_host(hss::to_dense(strata::ExecSpace(), a));
  HostMatrix<double> d("d", h.extent(0), h.extent(1));
  for (std::size_t j = 0; j < h.extent(1); ++j) {
    for (std::size_t i = 0; i < h.extent(0); ++i) d(i, j) = static_cast<double>(h(i, j));
  }
  return d;
}

// Longest chain of inner products in one HSS product (leaf D x, then up and down the tree): the
// K of the gamma_K bounds below (same derivation as tests/unit/hss/test_hss_core.cpp).
template <class T>
double chain_length(const hss::HssMatrix<T>& a) {
  index_type rmax = 0;
  for (int l = 1; l <= a.levels(); ++l)
    rmax = std::max({rmax, a.max_row_rank(l), a.max_col_rank(l)});
  const double m = static_cast<double>(a.tree().max_leaf_size());
  return m + (2.0 * a.levels() + 1) * std::max(m, 2.0 * rmax);
}

// A geometric tree over scrambled 1-D points, so the operator's permutation path is exercised.
hss::ClusterTree scrambled_tree(index_type n, index_type leaf) {
  HostMatrix<double> pts("pts", n, 1);
  for (index_type i = 0; i < n; ++i) pts(i, 0) = static_cast<double>((i * 37) % n);
  return hss::ClusterTree::geometric(pts, leaf);
}

template <class T>
class HssOperatorTest : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(HssOperatorTest, Scalars);

// apply / apply_transpose against GEMM with to_dense(A) in the same precision. Each entry is a
// chain of inner products of total length K = chain_length: |error| <= gamma_K |A||X| for the HSS
// product and for the GEMM (Higham Thm. 3.5), and || |A||X| ||_F <= ||A||_F ||X||_F; factor 2 for
// the two computations.
TYPED_TEST(HssOperatorTest, MatrixModeMatchesDenseProducts) {
  using T = TypeParam;
  strata::ExecSpace exec;
  const auto a = hss::make_random_hss<T>(exec, scrambled_tree(300, 24), 6, 11);
  const hss::HssOperator<T> op(exec, a);
  EXPECT_EQ(op.rows(), 300);
  EXPECT_EQ(op.cols(), 300);
  EXPECT_FALSE(op.distributed());
  EXPECT_EQ(op.mode(), hss::HssOperatorMode::matrix);
  EXPECT_THROW(op.factor(), strata::InvalidArgument);
  const Matrix<T> dense = hss::to_dense(exec, a);
  const auto x = gaussian<T>(300, 5, 3);
  const double u = std::numeric_limits<T>::epsilon() / 2;
  const double chain = chain_length(a);
  const double bound = 2 * chain * u / (1 - chain * u);
  for (const bool transposed : {false, true}) {
    Matrix<T> y("y", 300, 5), ref("ref", 300, 5);
    if (transposed) {
      op.apply_transpose(exec, x, y);
    } else {
      op.apply(exec, x, y);
    }
    strata::linalg::gemm(exec, transposed ? "T" : "N", "N", T(1), dense, x, T(0), ref);
    exec.fence();
    EXPECT_LE(frobenius_difference(y, ref) / (frobenius(dense) * frobenius(x)), bound)
        << (transposed ? "A^T X" : "A X");
  }
  // Wrong shapes are rejected by the LinearOperator interface.
  Matrix<T> bad("bad", 299, 5), y("y", 300, 5);
  EXPECT_THROW(op.apply(exec, bad, y), strata::ShapeMismatch);
}

// transpose() only moves generator entries, so to_dense(transpose(A)) and to_dense(A)^T differ only
// by the summation order inside to_dense (double on the host): a few units of rounding in double
// of the chain above, relative to ||A||_F.
TYPED_TEST(HssOperatorTest, TransposedGeneratorsGiveTheTransposedMatrix) {
  using T = TypeParam;
  strata::ExecSpace exec;
  hss::HssRanks ranks = hss::uniform_ranks(hss::ClusterTree::uniform(200, 20), 5);
  // Different row and column ranks on one level, so swapping them matters.
  for (auto& r : ranks.col[2]) r = 3;
  const auto a = hss::make_random_hss<T>(exec, hss::ClusterTree::uniform(200, 20), ranks, 5);
  const auto t = hss::transpose(exec, a);
  EXPECT_EQ(t.ranks().row, a.ranks().col);
  EXPECT_EQ(t.ranks().col, a.ranks().row);
  const auto da = dense_double(a), dt = dense_double(t);
  double diff = 0;
  for (index_type j = 0; j < 200; ++j) {
    for (index_type i = 0; i < 200; ++i) diff = std::max(diff, std::abs(dt(i, j) - da(j, i)));
  }
  const double u = std::numeric_limits<T>::epsilon() / 2;
  EXPECT_LE(diff, 4 * chain_length(a) * u * frobenius(da));
}

// trace(A) = sum of the leaf D diagonals; compared with the diagonal of to_dense (same numbers
// added in a different order: n u |tr| bound) and with Hutch++ through the operator at a budget of
// 3n products, where Q spans the whole space and the estimate is tr(Q^T A Q) up to rounding:
// |error| <= (orthogonality loss + products) ~ n K u ||A||_F (K the product chain), with a
// factor 4.
TYPED_TEST(HssOperatorTest, TraceMatchesDenseAndFullBudgetHutchPlusPlus) {
  using T = TypeParam;
  strata::ExecSpace exec;
  const index_type n = 256;
  const auto a = hss::make_random_hss<T>(exec, scrambled_tree(n, 32), 8, 17);
  const auto dense = dense_double(a);
  double dense_trace = 0, abs_trace = 0;
  for (index_type i = 0; i < n; ++i) {
    dense_trace += dense(i, i);
    abs_trace += std::abs(dense(i, i));
  }
  const double u = std::numeric_limits<T>::epsilon() / 2;
  const double exact = hss::trace(exec, a);
  EXPECT_LE(std::abs(exact - dense_trace), 2 * n * u * abs_trace);

  const hss::HssOperator<T> op(exec, a);
  strata::sketch::TraceOptions options;
  options.method = strata::sketch::TraceMethod::hutch_plus_plus;
  options.matvecs = 3 * n;
  options.seed = 4;
  const auto estimate = strata::sketch::estimate_trace(exec, op, options);
  EXPECT_EQ(estimate.matvecs, 3 * n);
  EXPECT_LE(std::abs(estimate.estimate - exact), 4 * n * chain_length(a) * u * frobenius(dense))
      << "Hutch++ " << estimate.estimate << " vs trace " << exact;
}

// Randomized SVD with l = n columns is an exact SVD up to rounding (Q spans everything); it uses
// both apply and apply_transpose. Singular values agree with LAPACK on to_dense(A) to within
// O(n K u) ||A||_2 (Weyl: a perturbation E moves each singular value by <= ||E||_2), factor 4.
TEST(HssOperator, FullRankRandomizedSvdMatchesLapack) {
  strata::ExecSpace exec;
  const index_type n = 160;
  const auto a = hss::make_random_hss<double>(exec, hss::ClusterTree::uniform(n, 20), 5, 23);
  const hss::HssOperator<double> op(exec, a);
  strata::sketch::LowRankOptions options;
  options.rank = n;
  options.oversample = 0;
  options.error_probes = 0;
  const auto svd = strata::sketch::randomized_svd(exec, op, options);
  const auto ref = strata::linalg::host::singular_values(dense_double(a));
  ASSERT_EQ(svd.s.size(), ref.size());
  const double u = std::numeric_limits<double>::epsilon() / 2;
  const double bound = 4 * n * chain_length(a) * u * ref.front();
  for (std::size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(svd.s[i], ref[i], bound) << i;
}

// Inverse mode as a preconditioner: A (A^{-1} X) = X and A^T (A^{-T} X) = X up to the ULV residual
// bound of tests/unit/hss/test_ulv.cpp: K' u cond(A) with K' = m + 2 (L + 1) max(m, 2r) (backward
// stability of the orthogonal ULV steps), plus the matvec's K u cond(A); factor 4.
TYPED_TEST(HssOperatorTest, InverseTimesMatrixIsIdentity) {
  using T = TypeParam;
  strata::ExecSpace exec;
  const auto a = hss::make_random_hss<T>(exec, scrambled_tree(400, 32), 8, 29);
  hss::HssOperatorOptions options;
  options.mode = hss::HssOperatorMode::inverse;
  const hss::HssOperator<T> inverse(exec, a, options);
  const hss::HssOperator<T> forward(exec, a);
  EXPECT_GT(inverse.factor_time_s(), 0.0);
  const auto s = strata::linalg::host::singular_values(dense_double(a));
  const double cond = s.front() / s.back();
  const double m = static_cast<double>(a.tree().max_leaf_size());
  const double ulv_chain = m + 2.0 * (a.levels() + 1) * std::max(m, 16.0);
  const double u = std::numeric_limits<T>::epsilon() / 2;
  const double bound = 4 * cond * (ulv_chain + chain_length(a)) * u;
  const auto x = gaussian<T>(400, 3, 8);
  for (const bool transposed : {false, true}) {
    Matrix<T> z("z", 400, 3), back("back", 400, 3);
    if (transposed) {
      inverse.apply_transpose(exec, x, z);
      forward.apply_transpose(exec, z, back);
    } else {
      inverse.apply(exec, x, z);
      forward.apply(exec, z, back);
    }
    exec.fence();
    EXPECT_LE(frobenius_difference(back, x) / frobenius(x), bound)
        << (transposed ? "A^T A^{-T}" : "A A^{-1}") << ", cond " << cond;
  }
}

// SPD variant: one Cholesky-based factor serves apply and apply_transpose; a factor passed in is
// used as is. Without the transposed factor, the general inverse's apply_transpose is refused.
TEST(HssOperator, SpdInverseFromAnExistingFactorAndMissingTranspose) {
  strata::ExecSpace exec;
  hss::RandomHssOptions spd;
  spd.symmetric = true;
  const auto a = hss::make_random_hss<double>(exec, hss::ClusterTree::uniform(300, 30), 6, 31, spd);
  auto factor =
      hss::ulv_factor(exec, a, hss::UlvOptions{hss::UlvVariant::symmetric_positive_definite});
  const hss::HssOperator<double> inverse(exec, factor);
  EXPECT_EQ(inverse.mode(), hss::HssOperatorMode::inverse);
  EXPECT_EQ(inverse.factor().variant, hss::UlvVariant::symmetric_positive_definite);
  const auto x = gaussian<double>(300, 2, 41);
  Matrix<double> z1("z1", 300, 2), z2("z2", 300, 2), back("back", 300, 2);
  inverse.apply(exec, x, z1);
  inverse.apply_transpose(exec, x, z2);
  hss::matvec<double>(exec, a, z1, back);
  exec.fence();
  EXPECT_EQ(frobenius_difference(z1, z2), 0.0);  // the same solve, bit for bit
  const auto s = strata::linalg::host::singular_values(dense_double(a));
  const double m = 30, u = std::numeric_limits<double>::epsilon() / 2;
  const double chain = m + 2.0 * (a.levels() + 1) * std::max(m, 12.0) + chain_length(a);
  EXPECT_LE(frobenius_difference(back, x) / frobenius(x), 4 * (s.front() / s.back()) * chain * u);

  hss::HssOperatorOptions no_transpose;
  no_transpose.mode = hss::HssOperatorMode::inverse;
  no_transpose.factor_transpose = false;
  const hss::HssOperator<double> general(exec, a, no_transpose);
  EXPECT_NO_THROW(general.apply(exec, x, z1));
  EXPECT_THROW(general.apply_transpose(exec, x, z2), strata::Unsupported);
}

}  // namespace
