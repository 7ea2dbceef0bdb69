// HSS compression from products with A and A^T (Levitt-Martinsson and the quasi-optimal
// variant of Amsel et al.): exact HSS matrices are recovered to rounding from the predicted number
// of products, the tolerance mode meets its target on a Cauchy-type kernel matrix measured against
// the dense matrix, the quasi-optimal error is within a modest factor of the explicit-entries
// greedy algorithm (Amsel et al. Alg. 3.1, computed densely here with LAPACK SVDs), and bad input
// is rejected with clear errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/hss/compress_matvec.hpp"
#include "strata/hss/detail/error_bound.hpp"
#include "strata/hss/hss_matrix.hpp"
#include "strata/hss/problems.hpp"
#include "strata/linalg/detail/lapack.hpp"
#include "support/allclose.hpp"

namespace {

namespace hss = strata::hss;
using strata::HostMatrix;
using strata::index_type;
using strata::Matrix;

double relative_difference(const Matrix<double>& a, const Matrix<double>& b) {
  const auto ha = strata::testing::to_host(a), hb = strata::testing::to_host(b);
  double num = 0, den = 0;
  for (std::size_t j = 0; j < ha.extent(1); ++j)
    for (std::size_t i = 0; i < ha.extent(0); ++i) {
      num += (ha(i, j) - hb(i, j)) * (ha(i, j) - hb(i, j));
      den += hb(i, j) * hb(i, j);
    }
  return std::sqrt(num / den);
}

/// Dense 1/(|x_i - x_j| + delta) on sorted uniform points of [0, 1]: a smooth kernel whose
/// off-diagonal blocks have rapidly decaying singular values (HSS-compressible to any tolerance).
Matrix<double> cauchy_kernel(index_type n, double delta, std::uint64_t seed) {
  std::vector<double> x(static_cast<std::size_t>(n));
  const strata::RandomStream s{strata::Distribution::gaussian, seed, 3};
  for (index_type i = 0; i < n; ++i)
    x[i] = 0.5 * (1 + std::erf(s.entry<double>(i, 0) / std::sqrt(2.0)));
  std::sort(x.begin(), x.end());
  HostMatrix<double> h("kernel", n, n);
  for (index_type j = 0; j < n; ++j)
    for (index_type i = 0; i < n; ++i) h(i, j) = 1.0 / (std::abs(x[i] - x[j]) + delta);
  Matrix<double> a("kernel", n, n);
  Kokkos::deep_copy(a, h);
  return a;
}

TEST(CompressMatvec, LevittMartinssonRecoversExactHssFrom3rProducts) {
  const index_type n = 512, r = 8;
  const auto tree = hss::ClusterTree::uniform(n, 2 * r);  // leaves of m = 2r = 16, L = 5
  const auto exact = hss::make_random_hss<double>(strata::ExecSpace(), tree, r, 11);
  const auto dense = hss::to_dense(strata::ExecSpace(), exact);
  const strata::DenseOperator<double> op(dense);
  hss::CompressOptions opt;
  opt.rank = r;
  opt.oversampling = 0;
  opt.error_probes = 0;
  const auto res = hss::compress_from_matvecs(strata::ExecSpace(), op, tree, opt);
  EXPECT_EQ(res.samples, 3 * r);
  EXPECT_EQ(res.products, 3 * r);
  EXPECT_EQ(res.transpose_products, 3 * r);
  EXPECT_EQ(res.relative_error_estimate, -1);
  for (int l = 1; l <= tree.levels(); ++l) EXPECT_EQ(res.max_rank_per_level[l], r);
  // Exact recovery up to rounding. Each level solves with Omega_tau (2r x 3r Gaussian, condition
  // number ~ (sqrt(3r) + sqrt(2r)) / (sqrt(3r) - sqrt(2r)) ~ 10), and with s = 3r exactly the
  // projected sample Y P is the block row times an r x r Gaussian, whose condition number exceeds
  // x r with probability < ~2/x (Edelman 1988): allowing x = 100 and adding the L + 1 levels gives
  // 100 (L + 1) * 10 * 100 r u = 100 * 6 * 10 * 100 * 8 * 1.11e-16 = 5.3e-10 here (3e-11
  // observed).
  const double u = std::numeric_limits<double>::epsilon() / 2;
  EXPECT_LE(relative_difference(hss::to_dense(strata::ExecSpace(), res.matrix), dense),
            100.0 * (tree.levels() + 1) * 10 * 100 * r * u);
}

TEST(CompressMatvec, QuasiOptimalRecoversExactHssWithFreshSketchesPerLevel) {
  const index_type n = 256, r = 6;
  const auto tree = hss::ClusterTree::uniform(n, 2 * r + 4);  // leaves of 16, L = 4
  const auto exact = hss::make_random_hss<double>(strata::ExecSpace(), tree, r, 12);
  const auto dense = hss::to_dense(strata::ExecSpace(), exact);
  const strata::DenseOperator<double> op(dense);
  hss::CompressOptions opt;
  opt.method = hss::CompressMethod::quasi_optimal;
  opt.rank = r;
  opt.oversampling = 2;
  opt.error_probes = 4;
  const auto res = hss::compress_from_matvecs(strata::ExecSpace(), op, tree, opt);
  // Per-level widths track the rank (SketchPlan): a basis sketch of c + r + p and a D sketch of
  // c + p, with c = m = 16 on the leaves and c = 2r on the levels above; the root needs only D.
  const index_type m = 16, p = 2;
  const index_type leaf = (m + r + p) + (m + p), parent = (3 * r + p) + (2 * r + p),
                   root = 2 * r + p;
  EXPECT_EQ(res.samples, m + r + p);  // the widest sketch
  const index_type expected = leaf + (tree.levels() - 1) * parent + root;
  EXPECT_EQ(res.products, expected);
  EXPECT_EQ(res.transpose_products, expected);
  ASSERT_EQ(res.products_per_level.size(), static_cast<std::size_t>(tree.levels() + 1));
  EXPECT_EQ(res.products_per_level.front(), leaf);
  EXPECT_EQ(res.products_per_level[1], parent);
  EXPECT_EQ(res.products_per_level.back(), root);
  EXPECT_EQ(res.probe_products, 4);
  const double u = std::numeric_limits<double>::epsilon() / 2;
  const double err = relative_difference(hss::to_dense(strata::ExecSpace(), res.matrix), dense);
  EXPECT_LE(err, 100.0 * (tree.levels() + 1) * 10 * u);
  EXPECT_LE(res.relative_error_estimate, 100.0 * (tree.levels() + 1) * 10 * u);
}

TEST(CompressMatvec, GeometricTreePermutationIsRespected) {
  // Points in reverse order: the geometric tree permutes them; the exact HSS matrix is built on
  // that tree, so compressing its dense form must recover it.
  const index_type n = 128, r = 4;
  HostMatrix<double> pts("pts", n, 1);
  for (index_type i = 0; i < n; ++i) pts(i, 0) = static_cast<double>((i * 37) % n);
  const auto tree = hss::ClusterTree::geometric(pts, 2 * r);
  const auto exact = hss::make_random_hss<double>(strata::ExecSpace(), tree, r, 13);
  const auto dense = hss::to_dense(strata::ExecSpace(), exact);
  const strata::DenseOperator<double> op(dense);
  hss::CompressOptions opt;
  opt.rank = r;
  opt.oversampling = 0;
  const auto res = hss::compress_from_matvecs(strata::ExecSpace(), op, tree, opt);
  // Same bound as for the uniform tree (s = 3r exactly).
  const double u = std::numeric_limits<double>::epsilon() / 2;
  EXPECT_LE(relative_difference(hss::to_dense(strata::ExecSpace(), res.matrix), dense),
            100.0 * (tree.levels() + 1) * 10 * 100 * r * u);
}

TEST(CompressMatvec, ToleranceModeMeetsTargetOnCauchyKernel) {
  const index_type n = 512;
  const auto a = cauchy_kernel(n, 1e-3, 21);
  const strata::DenseOperator<double> op(a);
  const auto tree = hss::ClusterTree::uniform(n, 32);
  for (const auto method :
       {hss::CompressMethod::levitt_martinsson, hss::CompressMethod::quasi_optimal}) {
    for (const double tol : {1e-4, 1e-8}) {
      hss::CompressOptions opt;
      opt.method = method;
      opt.tolerance = tol;
      const auto res = hss::compress_from_matvecs(strata::ExecSpace(), op, tree, opt);
      const double err = relative_difference(hss::to_dense(strata::ExecSpace(), res.matrix), a);
      // The estimate over 10 Gaussian probes: ||(A - H) G||_F^2 / ||A G||_F^2 concentrates within
      // a factor ~2 of the true ratio (chi-square with >= 10 degrees of freedom each); the
      // adaptive loop stops once the estimate is <= tol, so the true error is <= ~3 tol.
      EXPECT_LE(err, 3 * tol) << hss::compress_method_name(method) << " tol " << tol;
      EXPECT_LE(res.relative_error_estimate, tol);
      EXPECT_GT(res.products, 0);
      if (method == hss::CompressMethod::levitt_martinsson) {
        // One batch, extended in place: far fewer products than columns.
        EXPECT_EQ(res.products, res.samples);
        EXPECT_LT(res.products, n / 4);
      } else {
        // Fresh sketches per level, every product accounted to one level.
        index_type sum = 0;
        for (const auto k : res.products_per_level) sum += k;
        EXPECT_EQ(res.products, sum);
      }
      RecordProperty(std::string(hss::compress_method_name(method)) + "_tol_" +
                         std::to_string(tol) + "_products",
                     std::to_string(res.products));
    }
  }
}

// The entries method (recursive skeletonization, entries only) through the same CompressOptions:
// the tolerance means the same thing (the certificate meets tol and the true error, against the
// dense matrix, stays within the certificate's spread), no products are used, and a fixed rank
// bounds every basis. Without an entry evaluator it is refused.
TEST(CompressMatvec, EntriesMethodMeetsTheSameTolerance) {
  const index_type n = 512;
  const auto a = cauchy_kernel(n, 1e-3, 21);
  const strata::DenseOperator<double> op(a);
  const auto tree = hss::ClusterTree::uniform(n, 32);
  const auto entries = hss::dense_entry_evaluator<double>(a);
  for (const double tol : {1e-4, 1e-8}) {
    hss::CompressOptions opt;
    opt.method = hss::CompressMethod::entries;
    opt.tolerance = tol;
    const auto res = hss::compress_from_matvecs(strata::ExecSpace(), op, tree, opt, entries);
    const double err = relative_difference(hss::to_dense(strata::ExecSpace(), res.matrix), a);
    // The rounds stop once the certificate's upper end is <= tol (met_tolerance); the true
    // error lies below that upper end (test_skeletonization.cpp checks the interval itself).
    EXPECT_TRUE(res.met_tolerance) << "tol " << tol;
    EXPECT_LE(res.relative_error_estimate, tol) << "tol " << tol;
    EXPECT_LE(err, res.certificate.upper) << "tol " << tol;
    EXPECT_GT(res.entries, 0);
    EXPECT_EQ(res.products + res.transpose_products + res.probe_products, 0);
  }
  hss::CompressOptions fixed;
  fixed.method = hss::CompressMethod::entries;
  fixed.rank = 6;
  fixed.error_probes = 0;
  const auto res = hss::compress_from_matvecs(strata::ExecSpace(), op, tree, fixed, entries);
  for (int l = 1; l <= tree.levels(); ++l) EXPECT_LE(res.max_rank_per_level[l], 6);
  EXPECT_TRUE(res.met_tolerance);
  EXPECT_THROW(hss::compress_from_matvecs(strata::ExecSpace(), op, tree, fixed),
               strata::InvalidArgument);
  EXPECT_EQ(hss::parse_compress_method("entries"), hss::CompressMethod::entries);
  EXPECT_STREQ(hss::compress_method_name(hss::CompressMethod::entries), "entries");
}

// The tolerance is a target, not a loose upper bound: on kernel matrices of three kinds the
// achieved error (against the dense matrix) lies within a small factor below tol, and the products
// stay near the minimum that the ranks found impose.
TEST(CompressMatvec, ToleranceModeErrorIsCloseToTargetWithFewProducts) {
  const index_type n = 1024, p = 10;  // p: the default oversampling
  struct Case {
    const char* name;
    std::vector<double> tols;
  };
  for (const Case& c : {Case{"cauchy-1d", {1e-4, 1e-7}}, Case{"laplace-curve", {1e-4, 1e-7}},
                        Case{"gaussian-2d", {1e-4}}}) {
    const auto problem = hss::make_problem<double>(c.name, n);
    const auto a = problem->dense(strata::ExecSpace());
    const strata::DenseOperator<double> op(a);
    // Leaves of <= 64, as the CLI builds the tree.
    const auto tree = hss::ClusterTree::geometric(strata::testing::to_host(problem->points()), 64);
    const index_type m = tree.max_leaf_size();
    for (const auto method :
         {hss::CompressMethod::levitt_martinsson, hss::CompressMethod::quasi_optimal}) {
      for (const double tol : c.tols) {
        SCOPED_TRACE(::testing::Message()
                     << c.name << " " << hss::compress_method_name(method) << " tol " << tol);
        hss::CompressOptions opt;
        opt.method = method;
        opt.tolerance = tol;
        opt.seed = 5;
        const auto res = hss::compress_from_matvecs(strata::ExecSpace(), op, tree, opt);
        const double err = relative_difference(hss::to_dense(strata::ExecSpace(), res.matrix), a);
        index_type r = 0;
        for (int l = 1; l <= tree.levels(); ++l) r = std::max(r, res.max_rank_per_level[l]);
        // Accurate enough: the loop stops once the estimate over 10 probes is <= tol; for the
        // true error to exceed 2 tol, ||(A - H) G||_F^2 / ||A G||_F^2 would have to fall 4x below
        // its mean (chi-square ratios with 10 degrees of freedom: probability < 1e-3).
        EXPECT_LE(res.relative_error_estimate, tol);
        EXPECT_LE(err, 2 * tol);
        // Not wastefully accurate: the node budgets sum to (0.75 tol)^2 and each node's residual
        // lies between its budget times the decay of one rank step and the budget (the old
        // threshold rule ended 5-18x below tol); tol / 5 leaves a 2x margin below the lowest
        // error seen (0.44 tol).
        EXPECT_GE(err, tol / 5);
        // Few products. Levitt-Martinsson: one batch of s columns; each node needs s >= c + r + p
        // (c = m on the leaves, the children's ranks above, r its rank), so s >= max(m, 2r) + r +
        // p at most. Growth (ToleranceSchedule::grown_samples) steps from s < need by at most
        // max(8, s / 2) unless a capped node's prediction asks for more: s < 1.5 need + 8 when
        // predictions do not overshoot; 2 need is checked (seen: up to 1.48 need on gaussian-2d,
        // where the recycled samples carry the lower levels' residuals and upper levels cap
        // again and again).
        const index_type need = std::max(m, 2 * r) + r + p;
        if (method == hss::CompressMethod::levitt_martinsson) {
          EXPECT_EQ(res.products, res.samples);
          EXPECT_LE(res.samples, 2 * need);
        } else {
          // Quasi-optimal: per level c + r + p (bases) and c + p (D), the root 2r + p: at most
          // L (2 max(m, 2r) + r + 2p) + 2r + p = O(r log(N / r)) (Amsel et al. Thm 4.1) per
          // round, with growth slack s / 2 per level; a round whose estimate misses tol starts
          // afresh (seen once: gaussian-2d). The old fixed widths (2s per level, s = m + 2p = 84
          // here, and a fresh start every round) took more than this bound in a single round.
          index_type sum = 0;
          for (const auto k : res.products_per_level) sum += k;
          EXPECT_EQ(res.products_per_level.size(), static_cast<std::size_t>(tree.levels() + 1));
          EXPECT_LE(res.rounds, 2);
          const index_type bound = tree.levels() * (2 * std::max(m, 2 * r) + r + 2 * p) + 2 * r + p;
          EXPECT_LE(sum, bound + bound / 2);  // the last round
          EXPECT_LE(res.products, res.rounds * (bound + bound / 2));
        }
        std::printf(
            "[tolerance] %s %s tol %.0e: err %.3e est %.3e products %lld samples %lld "
            "max rank %lld rounds %d\n",
            c.name, hss::compress_method_name(method), tol, err, res.relative_error_estimate,
            static_cast<long long>(res.products), static_cast<long long>(res.samples),
            static_cast<long long>(r), res.rounds);
      }
    }
  }
}

// ---- explicit-entries greedy reference (Amsel et al. Alg. 3.1), dense on the host ----

/// Leading k left singular vectors of a (rows x cols) by LAPACK dgesvd.
HostMatrix<double> top_left_vectors(const HostMatrix<double>& a, int k) {
  const int m = a.extent(0), n = a.extent(1), mn = std::min(m, n);
  HostMatrix<double> copy("copy", m, n), u("u", m, mn);
  Kokkos::deep_copy(copy, a);
  std::vector<double> s(mn);
  double vt = 0, query = 0;
  int info = 0, lwork = -1, one = 1, ldu = std::max(1, m);
  strata::linalg::lapack::gesvd("S", "N", &m, &n, copy.data(), &m, s.data(), u.data(), &ldu, &vt,
                                &one, &query, &lwork, &info);
  lwork = static_cast<int>(query);
  std::vector<double> work(lwork);
  strata::linalg::lapack::gesvd("S", "N", &m, &n, copy.data(), &m, s.data(), u.data(), &ldu, &vt,
                                &one, work.data(), &lwork, &info);
  EXPECT_EQ(info, 0);
  HostMatrix<double> out("uk", m, std::min(k, mn));
  for (std::size_t j = 0; j < out.extent(1); ++j)
    for (int i = 0; i < m; ++i) out(i, j) = u(i, j);
  return out;
}

/// Greedy HSS approximation of the dense a with uniform leaves and rank k; returns its dense form.
HostMatrix<double> greedy_hss(const HostMatrix<double>& a, int levels, int k) {
  // Current reduced matrix and the sizes of its diagonal blocks.
  const int n = a.extent(0);
  HostMatrix<double> m("m", n, n);
  Kokkos::deep_copy(m, a);
  std::vector<int> sizes(1 << levels, n >> levels);
  struct Level {
    std::vector<HostMatrix<double>> u, v, d;
    std::vector<int> sizes;
  };
  std::vector<Level> lev;
  for (int l = levels; l >= 1; --l) {
    Level L;
    L.sizes = sizes;
    const int nodes = sizes.size();
    std::vector<int> off(nodes + 1, 0), ranks(nodes);
    for (int i = 0; i < nodes; ++i) off[i + 1] = off[i] + sizes[i];
    const int dim = off[nodes];
    for (int i = 0; i < nodes; ++i) {
      const int b = off[i], sz = sizes[i];
      HostMatrix<double> row("row", sz, dim - sz), colt("colt", sz, dim - sz), d("d", sz, sz);
      for (int j = 0, c = 0; j < dim; ++j) {
        if (j >= b && j < b + sz) continue;
        for (int q = 0; q < sz; ++q) {
          row(q, c) = m(b + q, j);
          colt(q, c) = m(j, b + q);
        }
        ++c;
      }
      for (int q = 0; q < sz; ++q)
        for (int p = 0; p < sz; ++p) d(p, q) = m(b + p, b + q);
      L.u.push_back(top_left_vectors(row, k));
      L.v.push_back(top_left_vectors(colt, k));
      L.d.push_back(d);
      ranks[i] = L.u.back().extent(1);
    }
    // Next reduced matrix U^T (M - D) V.
    std::vector<int> roff(nodes + 1, 0);
    for (int i = 0; i < nodes; ++i) roff[i + 1] = roff[i] + ranks[i];
    HostMatrix<double> next("next", roff[nodes], roff[nodes]);
    for (int i = 0; i < nodes; ++i)
      for (int j = 0; j < nodes; ++j) {
        if (i == j) continue;
        for (int p = 0; p < ranks[i]; ++p)
          for (int q = 0; q < ranks[j]; ++q) {
            double s = 0;
            for (int x = 0; x < sizes[i]; ++x)
              for (int y = 0; y < sizes[j]; ++y)
                s += L.u[i](x, p) * m(off[i] + x, off[j] + y) * L.v[j](y, q);
            next(roff[i] + p, roff[j] + q) = s;
          }
      }
    lev.push_back(L);
    m = next;
    sizes.assign(nodes / 2, 0);
    for (int i = 0; i < nodes / 2; ++i) sizes[i] = ranks[2 * i] + ranks[2 * i + 1];
  }
  // Expand the telescoping form from the root: H = U (H_reduced) V^T + D, level by level.
  HostMatrix<double> h = m;
  for (auto it = lev.rbegin(); it != lev.rend(); ++it) {
    const auto& L = *it;
    const int nodes = L.sizes.size();
    std::vector<int> off(nodes + 1, 0), roff(nodes + 1, 0);
    for (int i = 0; i < nodes; ++i) {
      off[i + 1] = off[i] + L.sizes[i];
      roff[i + 1] = roff[i] + static_cast<int>(L.u[i].extent(1));
    }
    HostMatrix<double> big("big", off[nodes], off[nodes]);
    for (int i = 0; i < nodes; ++i)
      for (int j = 0; j < nodes; ++j)
        for (int x = 0; x < L.sizes[i]; ++x)
          for (int y = 0; y < L.sizes[j]; ++y) {
            double s = i == j ? L.d[i](x, y) : 0.0;
            for (std::size_t p = 0; p < L.u[i].extent(1); ++p)
              for (std::size_t q = 0; q < L.v[j].extent(1); ++q)
                if (i != j) s += L.u[i](x, p) * h(roff[i] + p, roff[j] + q) * L.v[j](y, q);
            big(off[i] + x, off[j] + y) = s;
          }
    h = big;
  }
  return h;
}

TEST(CompressMatvec, QuasiOptimalIsWithinModestFactorOfGreedyReference) {
  const index_type n = 128, k = 4;
  const int levels = 3;  // leaves of 16
  const auto a = cauchy_kernel(n, 1e-2, 31);
  const auto ha = strata::testing::to_host(a);
  const auto greedy = greedy_hss(ha, levels, k);
  double num = 0, den = 0;
  for (index_type j = 0; j < n; ++j)
    for (index_type i = 0; i < n; ++i) {
      num += (greedy(i, j) - ha(i, j)) * (greedy(i, j) - ha(i, j));
      den += ha(i, j) * ha(i, j);
    }
  const double greedy_err = std::sqrt(num / den);
  ASSERT_GT(greedy_err, 1e-8);  // rank 4 is not enough: a meaningful comparison
  const strata::DenseOperator<double> op(a);
  const auto tree = hss::ClusterTree::with_levels(n, levels);
  hss::CompressOptions opt;
  opt.method = hss::CompressMethod::quasi_optimal;
  opt.rank = k;
  opt.samples = 5 * k + 16;  // Amsel et al. suggest s ~ 5k beyond the leaf size
  opt.error_probes = 0;
  double worst = 0;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    opt.seed = seed;
    const auto res = hss::compress_from_matvecs(strata::ExecSpace(), op, tree, opt);
    worst = std::max(worst, relative_difference(hss::to_dense(strata::ExecSpace(), res.matrix), a));
  }
  // Amsel et al. Thm 4.1: E ||A - H||^2 <= (1 + O(k / (s - 2k))) O(log(N/k)) OPT, and the greedy
  // error is >= OPT: with s - 2k >> k a factor 3 in the norm over three seeds is a safe margin.
  EXPECT_LE(worst, 3 * greedy_err) << "greedy " << greedy_err;
  RecordProperty("greedy_error", std::to_string(greedy_err));
  RecordProperty("quasi_optimal_worst_error", std::to_string(worst));
}

struct CallbackFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- the acceptance bound (hss/detail/error_bound.hpp) ----

// Wilson-Hilferty against tabulated chi-square quantiles (Abramowitz & Stegun Table 26.8): within
// 3% for k >= 10 and, at the lower tail where the acceptance uses it, not above the exact value
// (the conservative side).
TEST(CompressErrorBound, ChiSquareQuantileIsAccurateAndConservativeAtTheLowerTail) {
  namespace d = hss::detail;
  struct Q {
    double k, z, exact;
  };
  // z = +-2.5758: the 0.5% and 99.5% points.
  for (const Q& q : {Q{10, -2.5758, 2.15586}, Q{10, 2.5758, 25.1882}, Q{100, -2.5758, 67.3276},
                     Q{100, 2.5758, 140.169}, Q{30, -2.5758, 13.7867}}) {
    const double wh = d::chi_square_quantile(q.k, q.z);
    EXPECT_NEAR(wh, q.exact, 0.03 * q.exact) << "k " << q.k << " z " << q.z;
    if (q.z < 0) {
      EXPECT_LE(wh, q.exact) << "k " << q.k;
    }
  }
  // z = +-kTailZ, the levels the bound uses (0.25% and 99.75%; exact values from the regularized
  // incomplete gamma function): conservative at both tails (lower below, upper above the exact).
  for (const Q& q :
       {Q{3, -d::kTailZ, 0.0449}, Q{3, d::kTailZ, 14.3203}, Q{10, -d::kTailZ, 1.8274},
        Q{10, d::kTailZ, 27.1122}, Q{100, -d::kTailZ, 64.8574}, Q{100, d::kTailZ, 144.2928}}) {
    const double wh = d::chi_square_quantile(q.k, q.z);
    if (q.k >= 10) {
      EXPECT_NEAR(wh, q.exact, 0.05 * q.exact) << "k " << q.k << " z " << q.z;
    }
    if (q.z < 0) {
      EXPECT_LE(wh, q.exact) << "k " << q.k;
    } else {
      EXPECT_GE(wh, q.exact) << "k " << q.k;
    }
  }
  EXPECT_EQ(d::chi_square_quantile(1, -3.0), 0.0);  // the cube's base is negative: 0, not < 0
}

/// Misses of the bound over `trials` samples of `count` values x = sum_j w_j z_j^2 (mean
/// sum_j w_j = 1): upper (the bound is < 1) or lower (> 1).
double bound_misses(const std::vector<double>& w, int count, int trials, bool upper,
                    std::uint64_t seed) {
  namespace d = hss::detail;
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal;
  int misses = 0;
  for (int t = 0; t < trials; ++t) {
    d::SquaredNormSample x;
    for (int i = 0; i < count; ++i) {
      double v = 0;
      for (const double wj : w) {
        const double z = normal(gen);
        v += wj * z * z;
      }
      x.add(v);
    }
    if (upper ? d::mean_upper_bound(x) < 1 : d::mean_lower_bound(x) > 1) ++misses;
  }
  return static_cast<double>(misses) / trials;
}

// The bounds of ||M||_F^2 hold at their nominal rate (kTailProbability on nu plus as much on the
// mean: 0.5% per side) for spectra from one direction to flat rank 100, including the skewed one
// large direction over a flat tail (the worst seen: 0.34% upper misses with 10 probes). A bound
// from the point estimate of nu (plain Satterthwaite) misses 1.5% to 7.6% of the time on the same
// spectra, and the 0.75% threshold checked here (about 5 standard deviations of a 0.5% binomial
// rate over 20000 trials, sd 0.05%, above 0.5%) catches that.
TEST(CompressErrorBound, BoundsHoldAtTheirNominalRateOnManySpectra) {
  auto flat = [](int k) {
    return std::vector<double>(static_cast<std::size_t>(k), 1.0 / k);
  };
  auto spike = [](double top, int tail) {
    std::vector<double> w(static_cast<std::size_t>(tail) + 1, (1 - top) / tail);
    w[0] = top;
    return w;
  };
  std::vector<double> geometric(60);
  double sum = 0;
  for (std::size_t j = 0; j < geometric.size(); ++j) sum += (geometric[j] = std::pow(0.8, j));
  for (auto& v : geometric) v /= sum;
  const std::vector<std::vector<double>> spectra = {flat(1),        flat(2),       flat(20),
                                                    flat(100),      geometric,     spike(0.5, 100),
                                                    spike(0.8, 40), spike(0.6, 10)};
  std::uint64_t seed = 1;
  for (const auto& w : spectra) {
    SCOPED_TRACE(::testing::Message() << "spectrum of " << w.size() << " values, top " << w[0]);
    EXPECT_LE(bound_misses(w, 10, 20000, true, seed++), 0.0075);
    // The denominator's sample: every product column (~100 and more).
    EXPECT_LE(bound_misses(w, 100, 2000, false, seed++), 0.015);
  }
}

// The acceptance is on the upper bound: on kernel matrices and seeds where the old rule (accept
// when the point estimate ||(A - H) G||_F / ||A G||_F <= tol) reported a value below the true
// error, the bound lies above the true error, and "met" implies the true error is <= tol.
TEST(CompressMatvec, AcceptanceBoundCoversTheDenseError) {
  const index_type n = 1024;
  const double tol = 1e-6;
  int old_estimate_below = 0, cases = 0;
  for (const char* name : {"cauchy-1d", "laplace-curve", "laplace-2d"}) {
    const auto problem = hss::make_problem<double>(name, n);
    const auto a = problem->dense(strata::ExecSpace());
    const strata::DenseOperator<double> op(a);
    const auto tree = hss::ClusterTree::geometric(strata::testing::to_host(problem->points()), 64);
    for (const std::uint64_t seed : {0, 1, 2, 3}) {
      SCOPED_TRACE(::testing::Message() << name << " seed " << seed);
      hss::CompressOptions opt;
      opt.tolerance = tol;
      opt.seed = seed;
      const auto res = hss::compress_from_matvecs(strata::ExecSpace(), op, tree, opt);
      const double err = relative_difference(hss::to_dense(strata::ExecSpace(), res.matrix), a);
      // The old estimate on the final H: the same probes (stream (seed + rounds, 0x9e57)).
      const double old = hss::estimate_relative_error<double>(
          strata::ExecSpace(), op, res.matrix, opt.error_probes,
          seed + static_cast<std::uint64_t>(res.rounds));
      old_estimate_below += old < err;
      ++cases;
      EXPECT_TRUE(res.met_tolerance);
      EXPECT_LE(res.relative_error_bound, tol);
      EXPECT_GE(res.relative_error_bound, err);
      EXPECT_GE(res.relative_error_bound, res.relative_error_estimate);
      EXPECT_LE(err, tol);
    }
  }
  // The cases include ones where the old rule's estimate was below the true error.
  std::printf("[acceptance] old estimate below the dense error in %d of %d cases\n",
              old_estimate_below, cases);
  EXPECT_GE(old_estimate_below, 2) << "of " << cases;
}

TEST(CompressMatvec, BadInputIsRejected) {
  const auto ex = strata::ExecSpace();
  const auto tree = hss::ClusterTree::uniform(64, 16);
  const auto a = cauchy_kernel(64, 1e-2, 41);
  const strata::DenseOperator<double> op(a);
  hss::CompressOptions opt;
  opt.rank = 4;
  // Non-square operator.
  Matrix<double> wide("wide", 64, 65);
  EXPECT_THROW(hss::compress_from_matvecs(ex, strata::DenseOperator<double>(wide), tree, opt),
               strata::ShapeMismatch);
  // Operator and tree sizes differ.
  EXPECT_THROW(hss::compress_from_matvecs(ex, op, hss::ClusterTree::uniform(80, 16), opt),
               strata::ShapeMismatch);
  // Neither a rank nor a positive tolerance.
  hss::CompressOptions none;
  none.tolerance = 0;
  EXPECT_THROW(hss::compress_from_matvecs(ex, op, tree, none), strata::InvalidArgument);
  none.tolerance = -1e-3;
  EXPECT_THROW(hss::compress_from_matvecs(ex, op, tree, none), strata::InvalidArgument);
  // Tolerance mode with too few probes for its 99% bound (infinite below 3, 16x at 3).
  hss::CompressOptions probes;
  probes.tolerance = 1e-6;
  probes.error_probes = hss::detail::kMinBoundProbes - 1;
  EXPECT_THROW(hss::compress_from_matvecs(ex, op, tree, probes), strata::InvalidArgument);
  // Leaf size below the rank.
  hss::CompressOptions big = opt;
  big.rank = 20;
  EXPECT_THROW(hss::compress_from_matvecs(ex, op, tree, big), strata::InvalidArgument);
  // Too few samples for the null-space step (s < m + r).
  hss::CompressOptions few = opt;
  few.samples = 18;
  EXPECT_THROW(hss::compress_from_matvecs(ex, op, tree, few), strata::InvalidArgument);
  // NaN in the products.
  const strata::CallbackOperator<double> nan_op(
      64, 64,
      [](const strata::ExecSpace&, const strata::ConstMatrix<double>&, const Matrix<double>& y) {
        Kokkos::deep_copy(y, std::nan(""));
      },
      [](const strata::ExecSpace&, const strata::ConstMatrix<double>&, const Matrix<double>& y) {
        Kokkos::deep_copy(y, 1.0);
      });
  EXPECT_THROW(hss::compress_from_matvecs(ex, nan_op, tree, opt), strata::NonFiniteInput);
  // An operator that throws: the exception propagates unchanged.
  const strata::CallbackOperator<double> throwing(
      64, 64,
      [](const strata::ExecSpace&, const strata::ConstMatrix<double>&, const Matrix<double>&) {
        throw CallbackFailure("solver failed");
      },
      [](const strata::ExecSpace&, const strata::ConstMatrix<double>&, const Matrix<double>&) {
        throw CallbackFailure("solver failed");
      });
  EXPECT_THROW(hss::compress_from_matvecs(ex, throwing, tree, opt), CallbackFailure);
  EXPECT_THROW(hss::parse_compress_method("fastest"), strata::InvalidArgument);
}

}  // namespace
