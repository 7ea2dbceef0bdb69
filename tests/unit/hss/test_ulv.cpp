// ULV factorization and solve against LAPACK's dense solve (xGESV) of the same matrix (to_dense).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/hss/detail/ulv_steps.hpp"
#include "strata/hss/hss_matrix.hpp"
#include "strata/hss/ulv.hpp"
#include "strata/linalg/detail/lapack.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "support/allclose.hpp"
#include "support/hss_ranks.hpp"

namespace {

namespace hss = strata::hss;
using strata::index_type;
using strata::Matrix;

// X = A^{-1} B by LAPACK dgesv in double (the reference).
strata::HostMatrix<double> dense_solve(const strata::HostMatrix<double>& a,
                                       const strata::HostMatrix<double>& b) {
  const int n = static_cast<int>(a.extent(0)), k = static_cast<int>(b.extent(1));
  strata::HostMatrix<double> lu("lu", n, n), x("x", n, k);
  Kokkos::deep_copy(lu, a);
  Kokkos::deep_copy(x, b);
  std::vector<int> piv(static_cast<std::size_t>(n));
  int info = 0;
  strata::linalg::lapack::gesv(&n, &k, lu.data(), &n, piv.data(), x.data(), &n, &info);
  EXPECT_EQ(info, 0);
  return x;
}

template <class T>
strata::HostMatrix<double> as_double(const Matrix<T>& a) {
  const auto h = strata::testing::to_host(a);
  strata::HostMatrix<double> d("d", h.extent(0), h.extent(1));
  for (std::size_t j = 0; j < h.extent(1); ++j) {
    for (std::size_t i = 0; i < h.extent(0); ++i) d(i, j) = static_cast<double>(h(i, j));
  }
  return d;
}

// Solves with the ULV factor and checks against dgesv on to_dense(A) (A's entries rounded to T, so
// both solve the same matrix). Backward stability of ULV (orthogonal transforms, triangular solves,
// pivoted LU / Cholesky on blocks of size <= max(m, 2r)) gives a backward error <= c_n u with c_n
// ~ the longest chain of inner products, K = m + 2 (L + 1) max(m, 2 r); the forward error is then
// <= cond(A) K u / (1 - cond(A) K u) (Higham, Thm. 7.2), and the residual ||AX - B|| / ||B|| <=
// K u ||A|| ||X|| / ||B|| <= K u cond(A). A factor 4 covers the dgesv reference's own error and the
// matvec that measures the residual.
template <class T>
void expect_solve_matches(const hss::HssMatrix<T>& a, index_type k, hss::UlvVariant variant,
                          std::uint64_t seed) {
  strata::ExecSpace exec;
  const index_type n = a.size();
  const auto dense = as_double(hss::to_dense(exec, a));
  Matrix<T> b("b", n, k), x("x", n, k);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, seed, 0}, b);
  const auto f = hss::ulv_factor(exec, a, hss::UlvOptions{variant});
  const auto result = hss::ulv_solve<T>(exec, f, b, x);
  const auto ref = dense_solve(dense, as_double(b));
  const auto s = strata::linalg::host::singular_values(dense);
  const double cond = s.front() / s.back();
  index_type rmax = 0;
  for (int l = 1; l <= a.levels(); ++l)
    rmax = std::max({rmax, a.max_row_rank(l), a.max_col_rank(l)});
  const double m = static_cast<double>(a.tree().max_leaf_size());
  const double chain = m + 2.0 * (a.levels() + 1) * std::max(m, 2.0 * rmax);
  const double u = std::numeric_limits<T>::epsilon() / 2;
  const double bound = 4 * cond * chain * u / (1 - cond * chain * u);
  const auto xd = as_double(x);
  double diff = 0, norm = 0;
  for (index_type j = 0; j < k; ++j) {
    for (index_type i = 0; i < n; ++i) {
      diff += (xd(i, j) - ref(i, j)) * (xd(i, j) - ref(i, j));
      norm += ref(i, j) * ref(i, j);
    }
  }
  EXPECT_LE(std::sqrt(diff / norm), bound) << "cond " << cond << " levels " << a.levels();
  EXPECT_GE(result.residual, 0.0);
  EXPECT_LE(result.residual, bound);
  EXPECT_GT(f.factor_time_s, 0.0);
}

using strata::testing::variable_ranks;

template <class T>
class Ulv : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Ulv, Scalars);

TYPED_TEST(Ulv, GeneralUniformRankSeveralRightHandSides) {
  const auto a = hss::make_random_hss<TypeParam>(strata::ExecSpace(),
                                                 hss::ClusterTree::uniform(1000, 50), 12, 21);
  expect_solve_matches(a, 3, hss::UlvVariant::general, 1);
  // A small diagonal shift: an unstructured random D, far less well conditioned (pivoting matters).
  hss::RandomHssOptions unshifted;
  unshifted.diagonal_shift = 1;
  const auto b = hss::make_random_hss<TypeParam>(
      strata::ExecSpace(), hss::ClusterTree::uniform(500, 40), 8, 32, unshifted);
  expect_solve_matches(b, 2, hss::UlvVariant::general, 9);
}

TYPED_TEST(Ulv, GeneralVariableRanks) {
  const auto tree = hss::ClusterTree::uniform(613, 30);
  const auto a =
      hss::make_random_hss<TypeParam>(strata::ExecSpace(), tree, variable_ranks(tree), 22);
  expect_solve_matches(a, 2, hss::UlvVariant::general, 2);
}

TYPED_TEST(Ulv, GeometricTreeInUserOrder) {
  const index_type n = 400;
  Kokkos::View<double**, Kokkos::LayoutLeft, Kokkos::HostSpace> points("points", n, 2);
  const strata::RandomStream s{strata::Distribution::gaussian, 23, 0};
  for (index_type i = 0; i < n; ++i) {
    for (int c = 0; c < 2; ++c) points(i, c) = s.entry<double>(i, c);
  }
  const auto a = hss::make_random_hss<TypeParam>(strata::ExecSpace(),
                                                 hss::ClusterTree::geometric(points, 30), 7, 24);
  expect_solve_matches(a, 2, hss::UlvVariant::general, 3);
  hss::RandomHssOptions sym;
  sym.symmetric = true;
  const auto b = hss::make_random_hss<TypeParam>(
      strata::ExecSpace(), hss::ClusterTree::geometric(points, 30), 7, 25, sym);
  expect_solve_matches(b, 2, hss::UlvVariant::symmetric_positive_definite, 4);
}

TYPED_TEST(Ulv, SymmetricPositiveDefiniteVariant) {
  hss::RandomHssOptions sym;
  sym.symmetric = true;
  const auto a = hss::make_random_hss<TypeParam>(strata::ExecSpace(),
                                                 hss::ClusterTree::uniform(777, 40), 10, 26, sym);
  const auto dense = as_double(hss::to_dense(strata::ExecSpace(), a));
  EXPECT_GT(strata::linalg::host::symmetric_eigenvalues(dense).front(), 0.0);  // really SPD
  expect_solve_matches(a, 4, hss::UlvVariant::symmetric_positive_definite, 5);
  expect_solve_matches(a, 1, hss::UlvVariant::general, 6);
}

TYPED_TEST(Ulv, FullRankNodesAndSingleLeaf) {
  // Leaves of 10 with rank 10: nothing to eliminate at the leaves (Q = P = I up to signs).
  const auto a = hss::make_random_hss<TypeParam>(strata::ExecSpace(),
                                                 hss::ClusterTree::with_levels(40, 2), 10, 27);
  expect_solve_matches(a, 2, hss::UlvVariant::general, 7);
  const auto b = hss::make_random_hss<TypeParam>(strata::ExecSpace(),
                                                 hss::ClusterTree::uniform(33, 64), 4, 28);
  expect_solve_matches(b, 3, hss::UlvVariant::general, 8);
}

// The ULV solve's host sweep by subtrees (detail/tree_sweep.hpp, what ulv_solve runs on host
// backends) against the per-level route (what GPUs run): the same per-node steps on the same
// operands, so the solutions agree bit for bit (the tests above check the automatic route against
// dgesv). A uniform tree (no permutation) of at least 4 levels with variable ranks, both variants.
// `sweep` is the host route compared: automatic, or host_split_at_leaves (which also runs the
// single-team top kernel of the sweep on one or two threads, where the automatic split is level 1).
template <class T>
void expect_sweeps_agree(const hss::HssMatrix<T>& a, hss::UlvVariant variant, index_type k,
                         hss::detail::TreeSweep sweep) {
  strata::ExecSpace exec;
  namespace detail = hss::detail;
  ASSERT_TRUE(a.tree().is_identity());
  const index_type n = a.size();
  const auto f = hss::ulv_factor(exec, a, hss::UlvOptions{variant});
  const bool spd = variant == hss::UlvVariant::symmetric_positive_definite;
  Matrix<T> b("b", n, k), x_sweep("x_sweep", n, k), x_levels("x_levels", n, k);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 41, 0}, b);
  for (const auto route : {sweep, detail::TreeSweep::per_level}) {
    const Matrix<T>& x = route == sweep ? x_sweep : x_levels;
    std::vector<detail::UlvSolveLevel<T>> s(static_cast<std::size_t>(a.levels()) + 1);
    for (int l = 0; l <= a.levels(); ++l)
      s[static_cast<std::size_t>(l)] =
          detail::ulv_solve_buffers(exec, f.levels[static_cast<std::size_t>(l)], k);
    detail::ulv_solve_up_tree<T>(exec, a, f.levels, s, b, 0, spd, route);
    detail::ulv_solve_root<T>(exec, detail::ulv_tree_input(a, f.levels, 0), f.levels[0],
                              f.root_pivots, s[0], s[1], b, spd);
    detail::ulv_solve_down_tree<T>(exec, a, f.levels, s, x, 0, spd, route);
  }
  // The public solve takes the automatic route too.
  Matrix<T> x_public("x_public", n, k);
  hss::ulv_solve<T>(exec, f, b, x_public, false);
  const auto hs = strata::testing::to_host(x_sweep), hl = strata::testing::to_host(x_levels),
             hp = strata::testing::to_host(x_public);
  index_type differ = 0, differ_public = 0;
  double norm = 0;
  for (index_type j = 0; j < k; ++j) {
    for (index_type i = 0; i < n; ++i) {
      differ += hs(i, j) != hl(i, j) ? 1 : 0;
      differ_public += hs(i, j) != hp(i, j) ? 1 : 0;
      norm += static_cast<double>(hs(i, j)) * static_cast<double>(hs(i, j));
    }
  }
  EXPECT_EQ(differ, 0);
  EXPECT_EQ(differ_public, 0);
  EXPECT_GT(norm, 0.0);
}

TYPED_TEST(Ulv, HostSweepAndPerLevelRouteAgreeBitForBit) {
  const auto tree = hss::ClusterTree::uniform(613, 19);
  ASSERT_GE(tree.levels(), 4);
  const auto a =
      hss::make_random_hss<TypeParam>(strata::ExecSpace(), tree, variable_ranks(tree), 42);
  hss::RandomHssOptions sym;
  sym.symmetric = true;
  const auto s = hss::make_random_hss<TypeParam>(strata::ExecSpace(), tree, 6, 43, sym);
  for (const auto sweep :
       {hss::detail::TreeSweep::automatic, hss::detail::TreeSweep::host_split_at_leaves}) {
    expect_sweeps_agree(a, hss::UlvVariant::general, 3, sweep);
    expect_sweeps_agree(a, hss::UlvVariant::general, 1, sweep);
    expect_sweeps_agree(s, hss::UlvVariant::symmetric_positive_definite, 2, sweep);
  }
}

/// Adds `shift` to every stored entry of the leaf blocks D (a free function: CUDA lambdas cannot
/// live in a gtest body).
void shift_leaf_blocks(const strata::ExecSpace& exec, const hss::HssMatrix<double>& a,
                       double shift) {
  const auto d = a.d();
  Kokkos::parallel_for(
      "shift_leaf_blocks", Kokkos::RangePolicy<strata::ExecSpace>(exec, 0, d.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) { d(i) += shift; });
  exec.fence();
}

TEST(UlvErrors, NotSpdAndShapes) {
  strata::ExecSpace exec;
  hss::RandomHssOptions neg;
  neg.symmetric = true;
  neg.diagonal_shift = 0;
  auto a = hss::make_random_hss<double>(exec, hss::ClusterTree::uniform(200, 25), 5, 29, neg);
  // Negate the diagonal blocks: the matrix becomes far from positive definite.
  shift_leaf_blocks(exec, a, -20.0);
  EXPECT_THROW(hss::ulv_factor(exec, a, {hss::UlvVariant::symmetric_positive_definite}),
               strata::NumericalError);
  const auto g = hss::make_random_hss<double>(exec, hss::ClusterTree::uniform(200, 25), 5, 30);
  const auto f = hss::ulv_factor(exec, g);
  Matrix<double> b("b", 200, 2), x("x", 199, 2);
  EXPECT_THROW(hss::ulv_solve<double>(exec, f, b, x), strata::ShapeMismatch);
  EXPECT_THROW(hss::ulv_solve<double>(exec, f, b, b), strata::InvalidArgument);
  hss::HssRanks ranks = hss::uniform_ranks(g.tree(), 5);
  ranks.col[g.levels()][0] = 4;
  const auto ns = hss::make_random_hss<double>(exec, g.tree(), ranks, 31);
  EXPECT_THROW(hss::ulv_factor(exec, ns, {hss::UlvVariant::symmetric_positive_definite}),
               strata::InvalidArgument);
}

}  // namespace
