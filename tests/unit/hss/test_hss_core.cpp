// Cluster trees, HSS storage, the dense reference and the HSS matvec.
//
// References: to_dense (built on the host from the generators) is checked structurally
// (off-diagonal block rows have rank <= r, by LAPACK singular values), and the batched matvec is
// compared with a dense GEMM of to_dense against the same block of vectors. One test assembles a
// small HSS matrix by hand and builds its dense form from the definition, independently of
// to_dense, and checks to_dense and matvec against it exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/hss/cluster_tree.hpp"
#include "strata/hss/hss_matrix.hpp"
#include "strata/hss/matvec.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "support/allclose.hpp"
#include "support/hss_ranks.hpp"

namespace {

namespace hss = strata::hss;
using strata::index_type;
using strata::Matrix;

template <class T>
Matrix<T> random_matrix(index_type rows, index_type cols, std::uint64_t seed) {
  Matrix<T> x("x", rows, cols);
  strata::fill_random(strata::ExecSpace(),
                      strata::RandomStream{strata::Distribution::gaussian, seed, 0}, x);
  return x;
}

template <class V>
double frobenius(const V& a) {
  const auto h = strata::testing::to_host(a);
  double s = 0;
  for (std::size_t j = 0; j < h.extent(1); ++j) {
    for (std::size_t i = 0; i < h.extent(0); ++i) s += double(h(i, j)) * double(h(i, j));
  }
  return std::sqrt(s);
}

template <class V>
double frobenius_difference(const V& a, const V& b) {
  const auto ha = strata::testing::to_host(a), hb = strata::testing::to_host(b);
  double s = 0;
  for (std::size_t j = 0; j < ha.extent(1); ++j) {
    for (std::size_t i = 0; i < ha.extent(0); ++i) {
      const double d = double(ha(i, j)) - double(hb(i, j));
      s += d * d;
    }
  }
  return std::sqrt(s);
}

// ||HSS X - dense X||_F / (||A||_F ||X||_F), and the bound it must meet. Every entry of HSS X is a
// chain of inner products: the leaf product D x (m terms) and the path up and down the tree (at
// most 2L + 1 products of length <= max(m, 2 r_max)). With K the total inner length along that
// chain, each computed entry is within gamma_K |A||X| (Higham, Thm. 3.5 applied to each product)
// and so is the dense GEMM; ||.||_F of |A||X| <= ||A||_F ||X||_F. Factor 2 for the two
// computations.
template <class T>
void expect_matvec_matches(const hss::HssMatrix<T>& a, index_type k, hss::Op op,
                           std::uint64_t seed) {
  strata::ExecSpace exec;
  const index_type n = a.size();
  const Matrix<T> dense = hss::to_dense(exec, a);
  const Matrix<T> x = random_matrix<T>(n, k, seed);
  Matrix<T> y("y", n, k), ref("ref", n, k);
  hss::matvec<T>(exec, a, x, y, op);
  strata::linalg::gemm(exec, op == hss::Op::none ? "N" : "T", "N", T(1), dense, x, T(0), ref);
  exec.fence();
  index_type rmax = 0;
  for (int l = 1; l <= a.levels(); ++l)
    rmax = std::max({rmax, a.max_row_rank(l), a.max_col_rank(l)});
  const double m = static_cast<double>(a.tree().max_leaf_size());
  const double chain = m + (2.0 * a.levels() + 1) * std::max(m, 2.0 * rmax);
  const double u = std::numeric_limits<T>::epsilon() / 2;
  const double bound = 2 * chain * u / (1 - chain * u);
  const double err = frobenius_difference(y, ref) / (frobenius(dense) * frobenius(x));
  EXPECT_LE(err, bound) << "n=" << n << " levels=" << a.levels() << " k=" << k;
  EXPECT_GT(frobenius(y), 0.0);
}

TEST(ClusterTree, UniformBisectionSizesDifferByAtMostOne) {
  const auto tree = hss::ClusterTree::uniform(1000, 64);
  ASSERT_EQ(tree.levels(), 4);  // ceil(1000 / 16) = 63 <= 64 < ceil(1000 / 8) = 125
  EXPECT_EQ(tree.size(), 1000);
  EXPECT_TRUE(tree.is_identity());
  for (int l = 0; l <= tree.levels(); ++l) {
    index_type lo = tree.size(), hi = 0, next = 0;
    for (index_type i = 0; i < hss::ClusterTree::nodes_on_level(l); ++i) {
      EXPECT_EQ(tree.node_begin(l, i), next);  // contiguous, left to right
      next += tree.node_size(l, i);
      lo = std::min(lo, tree.node_size(l, i));
      hi = std::max(hi, tree.node_size(l, i));
      if (l < tree.levels()) {
        EXPECT_EQ(tree.node_size(l + 1, 2 * i) + tree.node_size(l + 1, 2 * i + 1),
                  tree.node_size(l, i));
        EXPECT_EQ(tree.node_begin(l + 1, 2 * i), tree.node_begin(l, i));
      }
    }
    EXPECT_EQ(next, 1000);
    EXPECT_LE(hi - lo, 1) << "level " << l;
  }
  EXPECT_EQ(tree.max_leaf_size(), 63);
  EXPECT_EQ(hss::ClusterTree::uniform(64, 64).levels(), 0);
  EXPECT_EQ(hss::ClusterTree::uniform(3, 1).levels(), 1);  // no empty leaves
  EXPECT_THROW(hss::ClusterTree::uniform(0, 4), strata::InvalidArgument);
  EXPECT_THROW(hss::ClusterTree::with_levels(7, 3), strata::InvalidArgument);
}

TEST(ClusterTree, GeometricBisectionSplitsAtTheMedianOfTheWidestCoordinate) {
  const index_type n = 777;
  Kokkos::View<double**, Kokkos::LayoutLeft, Kokkos::HostSpace> points("points", n, 2);
  const strata::RandomStream s{strata::Distribution::gaussian, 5, 0};
  for (index_type i = 0; i < n; ++i) {
    points(i, 0) = 10.0 * s.entry<double>(i, 0);  // wide in x: the root splits along x
    points(i, 1) = s.entry<double>(i, 1);
  }
  const auto tree = hss::ClusterTree::geometric(points, 50);
  EXPECT_FALSE(tree.is_identity());
  const auto& perm = tree.permutation_host();
  std::vector<index_type> sorted(perm.data(), perm.data() + n);
  std::sort(sorted.begin(), sorted.end());
  for (index_type i = 0; i < n; ++i) ASSERT_EQ(sorted[static_cast<std::size_t>(i)], i);
  const auto uniform = hss::ClusterTree::uniform(n, 50);
  ASSERT_EQ(tree.levels(), uniform.levels());
  for (int l = 0; l < tree.levels(); ++l) {
    for (index_type i = 0; i < hss::ClusterTree::nodes_on_level(l); ++i) {
      EXPECT_EQ(tree.node_size(l, i), uniform.node_size(l, i));
      const index_type b = tree.node_begin(l, i), mid = tree.node_begin(l + 1, 2 * i + 1),
                       e = b + tree.node_size(l, i);
      // The widest coordinate of the node's bounding box separates the children.
      int widest = 0;
      double best = -1;
      for (int c = 0; c < 2; ++c) {
        double lo = 1e300, hi = -1e300;
        for (index_type p = b; p < e; ++p) {
          lo = std::min(lo, points(perm(p), c));
          hi = std::max(hi, points(perm(p), c));
        }
        if (hi - lo > best) {
          best = hi - lo;
          widest = c;
        }
      }
      if (l == 0) {
        EXPECT_EQ(widest, 0);
      }
      double left_max = -1e300, right_min = 1e300;
      for (index_type p = b; p < mid; ++p) left_max = std::max(left_max, points(perm(p), widest));
      for (index_type p = mid; p < e; ++p) right_min = std::min(right_min, points(perm(p), widest));
      EXPECT_LE(left_max, right_min) << "level " << l << " node " << i;
    }
  }
}

TEST(HssMatrix, StorageTablesAndFootprint) {
  const auto tree = hss::ClusterTree::uniform(1000, 64);
  const auto a = hss::make_random_hss<double>(strata::ExecSpace(), tree, 10, 1);
  EXPECT_EQ(a.levels(), 4);
  std::size_t entries = 0;
  for (int l = 1; l <= 4; ++l) {
    const auto& lv = a.level(l);
    EXPECT_EQ(a.max_row_rank(l), 10);
    for (index_type i = 0; i < lv.nodes; ++i) {
      EXPECT_EQ(lv.u_rows_host(i), l == 4 ? tree.node_size(4, i) : 20);
      EXPECT_EQ(lv.u_offset_host(i + 1) - lv.u_offset_host(i), lv.u_rows_host(i) * 10);
      EXPECT_EQ(lv.b_offset_host(i + 1) - lv.b_offset_host(i), 100);
      EXPECT_EQ(lv.row_rank_offset_host(i), 10 * i);
    }
    entries += lv.u.extent(0) + lv.v.extent(0) + lv.b.extent(0);
  }
  entries += a.d().extent(0);
  EXPECT_EQ(a.generator_bytes(), entries * sizeof(double));
  // Leaves: 1000 x 10 for each of U and V, sum of m_i^2 for D; inner levels 20 x 10 per node.
  EXPECT_EQ(a.level(4).u.extent(0), 10000u);
  EXPECT_GT(a.memory_bytes(), a.generator_bytes());
  hss::HssRanks bad = hss::uniform_ranks(tree, 10);
  bad.row[2][1] = 21;  // more columns than the 20 rows of its transfer matrix
  EXPECT_THROW(hss::HssMatrix<double>(tree, bad), strata::InvalidArgument);
}

// HssMatrix::uninitialized: the same tables, offsets and array extents as the zero-filling
// constructor (only the fill differs), and the same rank checks.
TEST(HssMatrix, UninitializedHasTheConstructorsLayout) {
  const auto tree = hss::ClusterTree::uniform(1000, 64);
  hss::HssRanks ranks = hss::uniform_ranks(tree, 10);
  ranks.col[3][5] = 7;
  const hss::HssMatrix<double> z(tree, ranks);
  const auto u = hss::HssMatrix<double>::uninitialized(tree, ranks);
  EXPECT_EQ(u.levels(), z.levels());
  EXPECT_EQ(u.generator_bytes(), z.generator_bytes());
  EXPECT_EQ(u.memory_bytes(), z.memory_bytes());
  for (int l = 1; l <= z.levels(); ++l) {
    const auto &a = z.level(l), &b = u.level(l);
    ASSERT_EQ(b.nodes, a.nodes);
    EXPECT_EQ(b.u.extent(0), a.u.extent(0));
    EXPECT_EQ(b.v.extent(0), a.v.extent(0));
    EXPECT_EQ(b.b.extent(0), a.b.extent(0));
    for (index_type i = 0; i <= a.nodes; ++i) {
      EXPECT_EQ(b.u_offset_host(i), a.u_offset_host(i));
      EXPECT_EQ(b.v_offset_host(i), a.v_offset_host(i));
      EXPECT_EQ(b.b_offset_host(i), a.b_offset_host(i));
      EXPECT_EQ(b.col_rank_offset_host(i), a.col_rank_offset_host(i));
    }
  }
  for (index_type i = 0; i < static_cast<index_type>(z.d_offset_host().extent(0)); ++i)
    EXPECT_EQ(u.d_offset_host()(i), z.d_offset_host()(i));
  EXPECT_EQ(u.d().extent(0), z.d().extent(0));
  hss::HssRanks bad = ranks;
  bad.row[2][1] = 21;  // more columns than the 20 rows of its transfer matrix
  EXPECT_THROW(hss::HssMatrix<double>::uninitialized(tree, bad), strata::InvalidArgument);
}

TEST(HssMatrix, DenseReferenceHasLowRankOffDiagonalBlockRows) {
  strata::ExecSpace exec;
  const auto tree = hss::ClusterTree::uniform(300, 40);
  const auto a = hss::make_random_hss<double>(exec, tree, 6, 3);
  const auto dense = strata::testing::to_host(hss::to_dense(exec, a));
  for (int l = 1; l <= a.levels(); ++l) {
    for (index_type i = 0; i < hss::ClusterTree::nodes_on_level(l); ++i) {
      const index_type b = tree.node_begin(l, i), m = tree.node_size(l, i);
      strata::HostMatrix<double> row("row", m, 300 - m);
      for (index_type j = 0, c = 0; j < 300; ++j) {
        if (j >= b && j < b + m) continue;
        for (index_type p = 0; p < m; ++p) row(p, c) = dense(b + p, j);
        ++c;
      }
      const auto s = strata::linalg::host::singular_values(row);
      ASSERT_GT(s.size(), 7u);
      EXPECT_GT(s[5], 1e-3 * s[0]);
      EXPECT_LT(s[6], 1e-12 * s[0]) << "block row of level " << l << " node " << i;
    }
  }
}

template <class T>
class HssMatvec : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(HssMatvec, Scalars);

TYPED_TEST(HssMatvec, UniformRankNotPowerOfTwo) {
  const auto tree = hss::ClusterTree::uniform(1000, 50);
  const auto a = hss::make_random_hss<TypeParam>(strata::ExecSpace(), tree, 12, 11);
  expect_matvec_matches(a, 5, hss::Op::none, 1);
  expect_matvec_matches(a, 3, hss::Op::transpose, 2);
}

TYPED_TEST(HssMatvec, VariableRanks) {
  const auto tree = hss::ClusterTree::uniform(613, 30);
  // Ranks between 1 and 9, different for rows and columns.
  const auto ranks = strata::testing::variable_ranks(tree);
  const auto a = hss::make_random_hss<TypeParam>(strata::ExecSpace(), tree, ranks, 12);
  EXPECT_NE(a.max_row_rank(tree.levels()), a.level(tree.levels()).row_rank_host(1));
  expect_matvec_matches(a, 4, hss::Op::none, 3);
  expect_matvec_matches(a, 4, hss::Op::transpose, 4);
}

TYPED_TEST(HssMatvec, GeometricTreeTakesVectorsInTheUserOrder) {
  const index_type n = 500;
  Kokkos::View<double**, Kokkos::LayoutLeft, Kokkos::HostSpace> points("points", n, 3);
  const strata::RandomStream s{strata::Distribution::gaussian, 21, 0};
  for (index_type i = 0; i < n; ++i) {
    for (int c = 0; c < 3; ++c) points(i, c) = s.entry<double>(i, c);
  }
  const auto tree = hss::ClusterTree::geometric(points, 40);
  const auto a = hss::make_random_hss<TypeParam>(strata::ExecSpace(), tree, 8, 13);
  expect_matvec_matches(a, 6, hss::Op::none, 5);
  expect_matvec_matches(a, 2, hss::Op::transpose, 6);
}

TYPED_TEST(HssMatvec, SingleLeafAndSingleVector) {
  const auto a = hss::make_random_hss<TypeParam>(strata::ExecSpace(),
                                                 hss::ClusterTree::uniform(37, 64), 5, 14);
  EXPECT_EQ(a.levels(), 0);
  expect_matvec_matches(a, 1, hss::Op::none, 7);
  const auto b = hss::make_random_hss<TypeParam>(strata::ExecSpace(),
                                                 hss::ClusterTree::with_levels(9, 3), 2, 15);
  expect_matvec_matches(b, 1, hss::Op::transpose, 8);
}

// The host sweep by subtrees (detail/tree_sweep.hpp: what matvec runs on host backends) and the
// per-level route (one kernel per level: what GPUs run) run the same per-node steps on the same
// operands, so their results must agree bit for bit; the tests above check the automatic route
// against a dense reference. Variable ranks and at least 4 levels. The automatic split is level 1
// on one or two threads (so its single-team top kernel has nothing to do there), deeper on more;
// host_split_at_leaves forces the split to the leaves, so the top kernel runs every level above
// them on any thread count.
TYPED_TEST(HssMatvec, HostSweepAndPerLevelRouteAgreeBitForBit) {
  using T = TypeParam;
  strata::ExecSpace exec;
  const auto tree = hss::ClusterTree::uniform(613, 19);
  ASSERT_GE(tree.levels(), 4);
  const auto a = hss::make_random_hss<T>(exec, tree, strata::testing::variable_ranks(tree), 16);
  for (const index_type k : {index_type(1), index_type(3)}) {
    for (const auto op : {hss::Op::none, hss::Op::transpose}) {
      const Matrix<T> x = random_matrix<T>(613, k, 17 + k);
      Matrix<T> levels("levels", 613, k);
      hss::detail::matvec_permuted<T>(exec, a, x, levels, op, hss::detail::TreeSweep::per_level);
      const auto hl = strata::testing::to_host(levels);
      EXPECT_GT(frobenius(levels), 0.0);
      for (const auto route :
           {hss::detail::TreeSweep::automatic, hss::detail::TreeSweep::host_split_at_leaves}) {
        Matrix<T> sweep("sweep", 613, k);
        hss::detail::matvec_permuted<T>(exec, a, x, sweep, op, route);
        const auto hs = strata::testing::to_host(sweep);
        index_type differ = 0;
        for (index_type j = 0; j < k; ++j)
          for (index_type i = 0; i < 613; ++i) differ += hs(i, j) != hl(i, j) ? 1 : 0;
        EXPECT_EQ(differ, 0) << "k=" << k << " transpose=" << (op == hss::Op::transpose)
                             << " split at leaves="
                             << (route == hss::detail::TreeSweep::host_split_at_leaves);
      }
    }
  }
}

TEST(HssTreeSweep, SplitLevelGivesEveryThreadASubtree) {
  using hss::detail::host_split_level;
  // One thread: the subtrees start at the top swept level.
  EXPECT_EQ(host_split_level(1, 7, 1), 1);
  // A power of two: exactly one subtree per thread.
  EXPECT_EQ(host_split_level(1, 7, 2), 1);
  EXPECT_EQ(host_split_level(1, 7, 16), 4);
  // Otherwise one level more, more than 2 subtrees per thread: 12 threads, 32 subtrees.
  EXPECT_EQ(host_split_level(1, 7, 12), 5);
  EXPECT_EQ(host_split_level(1, 7, 3), 3);
  // Never below the leaves: 64 threads on a 3-level tree cut at the leaves.
  EXPECT_EQ(host_split_level(1, 3, 64), 3);
}

// An independent reference for to_dense and matvec: a 2-level HSS matrix of size 12 (uniform
// tree, leaves of 3 indices) assembled by hand through the public level arrays, with variable
// ranks (leaves r = 2, c = 1; level 1 r = 1, c = 2, so every B is non-square), and its dense form
// built here directly from the definition (hss_matrix.hpp; Xia et al. 2010, eq. (2.1)-(2.3)):
//   A(I_i, I_i) = D_i at the leaves,
//   A(I_a, I_b) = U_a B_ab V_b^T for leaf siblings a, b,
//   A(I_p, I_q) = Ubig_p B_pq Vbig_q^T on level 1, Ubig_p = diag(U_2p, U_2p+1) U_p (likewise V).
// Generators are small integers and X is integer, so every entry of the dense matrix and of A X
// is an integer of magnitude far below 2^24: exact in float and in double, whatever the order of
// the sums. The comparison is therefore exact (tolerance 0).
template <class T>
T hand_generator(int kind, int level, index_type node, index_type i, index_type j) {
  return static_cast<T>((kind * 5 + level * 3 + node * 7 + i * 2 + j * 3) % 5 - 2);
}

TYPED_TEST(HssMatvec, HandAssembledTwoLevelMatrixMatchesItsDefinition) {
  using T = TypeParam;
  enum Kind { kD = 0, kU = 1, kV = 2, kB = 3 };
  const index_type n = 12, m = 3;
  const auto tree = hss::ClusterTree::uniform(n, m);
  ASSERT_EQ(tree.levels(), 2);
  ASSERT_TRUE(tree.is_identity());
  hss::HssRanks ranks;
  ranks.row = {{}, {1, 1}, {2, 2, 2, 2}};
  ranks.col = {{}, {2, 2}, {1, 1, 1, 1}};
  hss::HssMatrix<T> a(tree, ranks);
  const auto rr = [&](int l, index_type i) {
    return ranks.row[l][static_cast<std::size_t>(i)];
  };
  const auto cr = [&](int l, index_type i) {
    return ranks.col[l][static_cast<std::size_t>(i)];
  };
  const auto urows = [&](int l, index_type i) {
    return l == 2 ? m : rr(2, 2 * i) + rr(2, 2 * i + 1);
  };
  const auto vrows = [&](int l, index_type i) {
    return l == 2 ? m : cr(2, 2 * i) + cr(2, 2 * i + 1);
  };
  // Write the generators through the documented column-major flat layout.
  for (int l = 1; l <= 2; ++l) {
    auto& lev = a.level(l);
    auto u = Kokkos::create_mirror_view(lev.u);
    auto v = Kokkos::create_mirror_view(lev.v);
    auto b = Kokkos::create_mirror_view(lev.b);
    for (index_type node = 0; node < hss::ClusterTree::nodes_on_level(l); ++node) {
      ASSERT_EQ(lev.u_rows_host(node), urows(l, node));
      ASSERT_EQ(lev.v_rows_host(node), vrows(l, node));
      for (index_type j = 0; j < rr(l, node); ++j)
        for (index_type i = 0; i < urows(l, node); ++i)
          u(lev.u_offset_host(node) + i + j * urows(l, node)) =
              hand_generator<T>(kU, l, node, i, j);
      for (index_type j = 0; j < cr(l, node); ++j)
        for (index_type i = 0; i < vrows(l, node); ++i)
          v(lev.v_offset_host(node) + i + j * vrows(l, node)) =
              hand_generator<T>(kV, l, node, i, j);
      for (index_type j = 0; j < cr(l, node ^ 1); ++j)
        for (index_type i = 0; i < rr(l, node); ++i)
          b(lev.b_offset_host(node) + i + j * rr(l, node)) = hand_generator<T>(kB, l, node, i, j);
    }
    Kokkos::deep_copy(lev.u, u);
    Kokkos::deep_copy(lev.v, v);
    Kokkos::deep_copy(lev.b, b);
  }
  {
    hss::FlatArray<T> d_dev = a.d();
    auto d = Kokkos::create_mirror_view(d_dev);
    for (index_type leaf = 0; leaf < 4; ++leaf)
      for (index_type j = 0; j < m; ++j)
        for (index_type i = 0; i < m; ++i)
          d(a.d_offset_host()(leaf) + i + j * m) = hand_generator<T>(kD, 2, leaf, i, j);
    Kokkos::deep_copy(d_dev, d);
  }
  // The dense matrix from the definition, in double (exact: integers).
  std::vector<double> dense(static_cast<std::size_t>(n * n), 0.0);
  const auto at = [&](index_type i, index_type j) -> double& {
    return dense[static_cast<std::size_t>(i + j * n)];
  };
  // Leaf bases as explicit m x r matrices; the level-1 nested bases Ubig (6 x r) and Vbig.
  const auto leaf_u = [&](index_type leaf, index_type i, index_type k) {
    return double(hand_generator<T>(kU, 2, leaf, i, k));
  };
  const auto leaf_v = [&](index_type leaf, index_type i, index_type k) {
    return double(hand_generator<T>(kV, 2, leaf, i, k));
  };
  const auto big_u = [&](index_type p, index_type i, index_type k) {  // i in 0..2m-1
    const index_type child = 2 * p + i / m, off = child == 2 * p ? 0 : rr(2, 2 * p);
    double s = 0;
    for (index_type t = 0; t < rr(2, child); ++t)
      s += leaf_u(child, i % m, t) * double(hand_generator<T>(kU, 1, p, off + t, k));
    return s;
  };
  const auto big_v = [&](index_type p, index_type i, index_type k) {
    const index_type child = 2 * p + i / m, off = child == 2 * p ? 0 : cr(2, 2 * p);
    double s = 0;
    for (index_type t = 0; t < cr(2, child); ++t)
      s += leaf_v(child, i % m, t) * double(hand_generator<T>(kV, 1, p, off + t, k));
    return s;
  };
  for (index_type leaf = 0; leaf < 4; ++leaf) {
    for (index_type j = 0; j < m; ++j)
      for (index_type i = 0; i < m; ++i)
        at(leaf * m + i, leaf * m + j) = double(hand_generator<T>(kD, 2, leaf, i, j));
    const index_type sib = leaf ^ 1;
    for (index_type j = 0; j < m; ++j)
      for (index_type i = 0; i < m; ++i) {
        double s = 0;
        for (index_type p = 0; p < rr(2, leaf); ++p)
          for (index_type q = 0; q < cr(2, sib); ++q)
            s += leaf_u(leaf, i, p) * double(hand_generator<T>(kB, 2, leaf, p, q)) *
                 leaf_v(sib, j, q);
        at(leaf * m + i, sib * m + j) = s;
      }
  }
  for (index_type p = 0; p < 2; ++p) {
    const index_type q = p ^ 1;
    for (index_type j = 0; j < 2 * m; ++j)
      for (index_type i = 0; i < 2 * m; ++i) {
        double s = 0;
        for (index_type x = 0; x < rr(1, p); ++x)
          for (index_type y = 0; y < cr(1, q); ++y)
            s += big_u(p, i, x) * double(hand_generator<T>(kB, 1, p, x, y)) * big_v(q, j, y);
        at(p * 2 * m + i, q * 2 * m + j) = s;
      }
  }
  // The generators are not degenerate: every off-diagonal block class is nonzero.
  double leaf_coupling = 0, top_coupling = 0;
  for (index_type j = 0; j < 3; ++j)
    for (index_type i = 0; i < 3; ++i) {
      leaf_coupling += std::abs(at(i, 3 + j));
      top_coupling += std::abs(at(i, 6 + j)) + std::abs(at(6 + i, j));
    }
  ASSERT_GT(leaf_coupling, 0.0);
  ASSERT_GT(top_coupling, 0.0);

  strata::ExecSpace exec;
  const auto got = strata::testing::to_host(hss::to_dense(exec, a));
  for (index_type j = 0; j < n; ++j)
    for (index_type i = 0; i < n; ++i)
      EXPECT_EQ(double(got(i, j)), at(i, j)) << "to_dense(" << i << ", " << j << ")";

  const index_type k = 2;
  Matrix<T> x("x", n, k), y("y", n, k);
  auto xh = Kokkos::create_mirror_view(x);
  for (index_type j = 0; j < k; ++j)
    for (index_type i = 0; i < n; ++i) xh(i, j) = static_cast<T>((3 * i + 5 * j) % 7 - 3);
  Kokkos::deep_copy(x, xh);
  for (const auto op : {hss::Op::none, hss::Op::transpose}) {
    hss::matvec<T>(exec, a, x, y, op);
    exec.fence();
    const auto yh = strata::testing::to_host(y);
    for (index_type j = 0; j < k; ++j)
      for (index_type i = 0; i < n; ++i) {
        double ref = 0;
        for (index_type t = 0; t < n; ++t)
          ref += (op == hss::Op::none ? at(i, t) : at(t, i)) * double(xh(t, j));
        EXPECT_EQ(double(yh(i, j)), ref)
            << (op == hss::Op::none ? "A X" : "A^T X") << " (" << i << ", " << j << ")";
      }
  }
}

TEST(HssMatvecErrors, ShapesAndAliasing) {
  strata::ExecSpace exec;
  const auto a = hss::make_random_hss<double>(exec, hss::ClusterTree::uniform(100, 20), 4, 1);
  Matrix<double> x("x", 100, 2), y("y", 99, 2);
  EXPECT_THROW(hss::matvec<double>(exec, a, x, y), strata::ShapeMismatch);
  EXPECT_THROW(hss::matvec<double>(exec, a, x, x), strata::InvalidArgument);
}

}  // namespace
