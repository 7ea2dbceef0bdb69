// HSS construction from entries by recursive skeletonization (skeletonization.hpp), checked
// against the dense matrices: the achieved error meets the tolerance without being orders of
// magnitude below it, the entry evaluations (counted by the evaluator) grow like N k and stay far
// below N^2, the sampled certificate is within a small factor of the true error, matvec and ULV
// solve on the result agree with dense products and LAPACK solves, exact low-rank structure is
// recovered to rounding, fp32 meets its tolerances, an evaluator whose entries cannot be
// compressed reproducibly (noisy) gives met_tolerance = false, and bad input is refused.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/hss/compress_matvec.hpp"
#include "strata/hss/matvec.hpp"
#include "strata/hss/problems.hpp"
#include "strata/hss/skeletonization.hpp"
#include "strata/hss/ulv.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "support/allclose.hpp"

namespace {

namespace hss = strata::hss;
using strata::ExecSpace;
using strata::HostMatrix;
using strata::index_type;
using strata::Matrix;
using strata::testing::relative_frobenius_error;

// Counts every entry the construction reads (the sum of the blocks' sizes).
struct Counting {
  std::shared_ptr<index_type> count = std::make_shared<index_type>(0);
  hss::EntryEvaluator<double> wrap(hss::EntryEvaluator<double> inner) const {
    auto c = count;
    return [c, inner](const ExecSpace& exec, const hss::EntryBlocks<double>& blocks) {
      const auto ro = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), blocks.row_offsets);
      const auto co = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), blocks.col_offsets);
      for (index_type b = 0; b < blocks.count(); ++b)
        *c += (ro(b + 1) - ro(b)) * (co(b + 1) - co(b));
      inner(exec, blocks);
    };
  }
};

hss::HostPoints host_points(const hss::Problem<double>& p) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), p.points());
  return hss::HostPoints(h);
}

Matrix<double> gaussian(index_type rows, index_type cols, std::uint64_t stream) {
  Matrix<double> g("g", rows, cols);
  strata::fill_random(ExecSpace(), strata::RandomStream{strata::Distribution::gaussian, 5, stream},
                      g);
  return g;
}

Matrix<double> product(const Matrix<double>& a, const Matrix<double>& b) {
  Matrix<double> c("c", a.extent(0), b.extent(1));
  strata::linalg::gemm(ExecSpace(), "N", "N", 1.0, a, b, 0.0, c);
  ExecSpace().fence();
  return c;
}

double frobenius_difference(const Matrix<double>& a, const Matrix<double>& b) {
  const auto ha = strata::testing::to_host(a), hb = strata::testing::to_host(b);
  double s = 0;
  for (std::size_t j = 0; j < ha.extent(1); ++j)
    for (std::size_t i = 0; i < ha.extent(0); ++i)
      s += (ha(i, j) - hb(i, j)) * (ha(i, j) - hb(i, j));
  return std::sqrt(s);
}

double frobenius(const Matrix<double>& a) {
  return frobenius_difference(a, Matrix<double>("zero", a.extent(0), a.extent(1)));
}

struct Built {
  std::shared_ptr<const hss::Problem<double>> problem;
  hss::ClusterTree tree;
  hss::SkeletonizationResult<double> result;
  Matrix<double> dense;
  double error = 0;
  index_type counted = 0;
};

Built build(const std::string& name, index_type n, double tol) {
  Built b;
  b.problem = hss::make_problem<double>(name, n);
  const auto points = host_points(*b.problem);
  b.tree = hss::ClusterTree::geometric(points, 64);
  hss::SkeletonizationOptions o;
  o.tolerance = tol;
  o.points = points;
  Counting counting;
  b.result = hss::compress_by_skeletonization<double>(
      ExecSpace(), b.tree, counting.wrap(b.problem->entry_evaluator()), o);
  b.counted = *counting.count;
  b.dense = b.problem->dense(ExecSpace());
  b.error = relative_frobenius_error(hss::to_dense(ExecSpace(), b.result.matrix), b.dense);
  return b;
}

index_type max_rank(const hss::HssMatrix<double>& h) {
  index_type k = 0;
  for (int l = 1; l <= h.levels(); ++l) k = std::max({k, h.max_row_rank(l), h.max_col_rank(l)});
  return k;
}

// Kernel matrices on 1-D points and on a closed curve in the plane. Requirements checked:
//  - met_tolerance and the true error <= tol (the construction's target), and >= tol / 100: the
//    budget is spent (not 100 x below it);
//  - after one round, the true error <= budget_fraction * tol, the sum of the per-node budgets:
//    the error of an upper-level ID is bounded where it reaches the block row (scaled by the
//    children's nested-basis norms; without that, 2.2 to 3.4 x the budget on cauchy-1d here);
//  - the certificate's point estimate within a factor 3 of the true error, and the true error
//    inside [lower, upper] (a statistical statement at nominal 0.997; with these fixed seeds it
//    is deterministic);
//  - entries: the counting evaluator agrees with the result; entries <= 16 N (m + k) (m = 64 the
//    leaf size, k the largest rank): per index the leaf's D (m), then per kind the leaf's sample
//    (near leaves: 1 or 2 per side, <= 4 m; 32 far and 16 check, each rounded up to a multiple of
//    the rings (<= L): ~ 4 m + 48 + 2 L) and the inner levels'
//    (candidates 2 k per node, summed over a level ~ N 2k / m rows per level against ~ 4 (2 k) +
//    48 columns); measured 6 to 10 (m + k) per index here, 16 leaves room for growth passes and a
//    second round;
//  - below N^2 / 3 (the same count is linear in N: perf/hss_skeletonization.cpp).
TEST(Skeletonization, KernelMatricesMeetTheToleranceWithLinearlyManyEntries) {
  const index_type n = 4096;
  for (const std::string name : {"cauchy-1d", "gaussian-1d", "laplace-curve"}) {
    for (const double tol : {1e-4, 1e-8}) {
      const Built b = build(name, n, tol);
      const auto& r = b.result;
      const auto& c = r.certificate;
      const index_type k = max_rank(r.matrix);
      SCOPED_TRACE(name + " tol " + std::to_string(tol) + ": error " + std::to_string(b.error) +
                   ", certificate " + std::to_string(c.estimate) + " [" + std::to_string(c.lower) +
                   ", " + std::to_string(c.upper) + "], entries " + std::to_string(r.entries) +
                   ", max rank " + std::to_string(k) + ", rounds " + std::to_string(r.rounds));
      EXPECT_TRUE(r.met_tolerance);
      EXPECT_LE(b.error, tol);
      EXPECT_GE(b.error, tol / 100);
      if (r.rounds == 1) {
        EXPECT_LE(b.error, hss::SkeletonizationOptions{}.budget_fraction * tol);
      }
      EXPECT_LE(c.estimate, 3 * b.error);
      EXPECT_GE(c.estimate, b.error / 3);
      EXPECT_LE(c.lower, b.error);
      EXPECT_GE(c.upper, b.error);
      EXPECT_EQ(b.counted, r.entries);
      EXPECT_LE(r.entries, 16 * n * (64 + k));
      EXPECT_LE(r.entries, n * n / 3);
    }
  }
}

// The geometric near field follows near_ratio: on the curve (leaves whose boxes are close but
// not touching, across the star's arms and along its bends) the default 0.25 reads fewer entries
// than 0.5 (the leaves' samples hold fewer whole near leaves: 20% fewer per index at N = 2^16),
// and both meet the one-round budget budget_fraction * tol in the true error. On 1-D points the
// leaves two apart have a gap of one diameter, far under both ratios: the same entries.
TEST(Skeletonization, NearRatioSetsTheGeometricNearField) {
  const index_type n = 4096;
  const double tol = 1e-6;
  for (const std::string name : {"laplace-curve", "cauchy-1d"}) {
    const auto problem = hss::make_problem<double>(name, n);
    const auto points = host_points(*problem);
    const auto tree = hss::ClusterTree::geometric(points, 64);
    const auto dense = problem->dense(ExecSpace());
    std::vector<index_type> entries;
    for (const double ratio : {0.5, 0.25}) {
      hss::SkeletonizationOptions o;
      o.tolerance = tol;
      o.points = points;
      o.near_ratio = ratio;
      const auto r = hss::compress_by_skeletonization<double>(ExecSpace(), tree,
                                                              problem->entry_evaluator(), o);
      const double error = relative_frobenius_error(hss::to_dense(ExecSpace(), r.matrix), dense);
      SCOPED_TRACE(name + " near_ratio " + std::to_string(ratio) + ": error " +
                   std::to_string(error) + ", entries " + std::to_string(r.entries));
      EXPECT_EQ(r.rounds, 1);
      EXPECT_LE(error, o.budget_fraction * tol);
      entries.push_back(r.construction_entries);
    }
    if (name == "laplace-curve") {
      EXPECT_LT(entries[1], 0.9 * static_cast<double>(entries[0]));
    } else {
      EXPECT_EQ(entries[1], entries[0]);
    }
  }
}

// fp32 (the cheap preconditioner of issue 13): the same construction on float entries, N = 1024,
// tol 1e-3 and 1e-4. Requirements as in fp64: met_tolerance, the true error against the float
// dense matrix (evaluated in double) <= tol, and the certificate's interval contains it. Why
// these tolerances hold in fp32: the float entries themselves carry relative rounding u = 2^-24
// = 6e-8, the IDs work in float (pivot threshold ~ 0.1 tol ||A||_F / sqrt(2 L 2^l |C|), above
// u ||A||_F for tol >= 1e-4 at L = 4), and H's reconstruction in float adds about L k u ~ 4 * 40
// * 6e-8 = 1e-5 relative per entry, a tenth of the smaller tolerance; the certificate evaluates
// H's entries in double from the float generators.
TEST(Skeletonization, SinglePrecisionMeetsTheTolerance) {
  const index_type n = 1024;
  for (const std::string name : {"cauchy-1d", "laplace-curve"}) {
    const auto problem = hss::make_problem<float>(name, n);
    const auto points = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), problem->points());
    const auto tree = hss::ClusterTree::geometric(points, 64);
    const auto dense = problem->dense(ExecSpace());
    for (const double tol : {1e-3, 1e-4}) {
      hss::SkeletonizationOptions o;
      o.tolerance = tol;
      o.points = points;
      const auto r =
          hss::compress_by_skeletonization<float>(ExecSpace(), tree, problem->entry_evaluator(), o);
      const double error = relative_frobenius_error(hss::to_dense(ExecSpace(), r.matrix), dense);
      SCOPED_TRACE(name + " tol " + std::to_string(tol) + ": error " + std::to_string(error) +
                   ", certificate " + std::to_string(r.certificate.estimate) + " [" +
                   std::to_string(r.certificate.lower) + ", " +
                   std::to_string(r.certificate.upper) + "]");
      EXPECT_TRUE(r.met_tolerance);
      EXPECT_LE(error, tol);
      EXPECT_LE(r.certificate.lower, error);
      EXPECT_GE(r.certificate.upper, error);
    }
  }
}

// Products and solves with the result against the dense matrix (N = 1024, tol 1e-8):
//  matvec: ||H X - A X||_F <= ||H - A||_F ||X||_2 <= ||H - A||_F ||X||_F (plus rounding of the
//    two products, ~ N u ||A||_F ||X||_F, negligible at this error);
//  ULV solve: x solves H x = b to rounding, so ||A x - b|| <= ||(A - H) x|| + ||H x - b|| and the
//    LAPACK solution x_A of A x_A = b satisfies ||x - x_A|| <= ||A^{-1}||_2 ||A x - b||, with
//    ||A^{-1}||_2 = 1 / sigma_min(A) from LAPACK's singular values; factor 2 for rounding in the
//    solves (the ULV residual of H is ~ 1e-15 relative).
TEST(Skeletonization, MatvecAndUlvSolveAgreeWithDense) {
  const index_type n = 1024;
  for (const std::string name : {"cauchy-1d", "laplace-curve"}) {
    SCOPED_TRACE(name);
    const Built b = build(name, n, 1e-8);
    const auto h = hss::to_dense(ExecSpace(), b.result.matrix);
    const double diff = frobenius_difference(h, b.dense);
    const auto x = gaussian(n, 3, 1);
    Matrix<double> y("y", n, 3);
    hss::matvec<double>(ExecSpace(), b.result.matrix, x, y);
    EXPECT_LE(frobenius_difference(y, product(b.dense, x)), 1.01 * diff * frobenius(x));

    const auto rhs = gaussian(n, 1, 2);
    Matrix<double> sol("x", n, 1);
    const auto factor = hss::ulv_factor<double>(ExecSpace(), b.result.matrix);
    const auto solved = hss::ulv_solve<double>(ExecSpace(), factor, rhs, sol);
    EXPECT_LE(solved.residual, 1e-12);
    const double residual_a = frobenius_difference(product(b.dense, sol), rhs);
    HostMatrix<double> a_host("a", n, n), rhs_host("b", n, 1);
    Kokkos::deep_copy(a_host, b.dense);
    Kokkos::deep_copy(rhs_host, rhs);
    const auto sigma = strata::linalg::host::singular_values(a_host);
    strata::linalg::host::solve_in_place(a_host, rhs_host);
    Matrix<double> reference("reference", n, 1);
    Kokkos::deep_copy(reference, rhs_host);
    EXPECT_LE(frobenius_difference(sol, reference), 2 * residual_a / sigma.back());
    EXPECT_LE(residual_a, 2 * diff * frobenius(sol) + 1e-12 * frobenius(rhs));
  }
}

hss::EntryEvaluator<double> dense_evaluator(const Matrix<double>& a) {
  return hss::dense_entry_evaluator<double>(a);
}

// Exact structure is recovered to rounding: a rank-6 matrix G1 G2^T (every block rank <= 6), an
// exact random HSS matrix of rank 5 (no points: index-neighbour near field), and the exponential
// kernel exp(-|x - y| / l) on 1-D points, whose off-diagonal block rows have rank 2 (semiseparable:
// exp(-(x - y)/l) = exp(-x/l) exp(y/l) for x > y, one rank-1 term per side of the node). The error
// bound 1e-11: the IDs interpolate with
// ||X|| = O(k) entries and the skeleton entries are exact, so the reconstruction error is a few
// k u ||A|| per level (u = 1.1e-16, k <= 6, L <= 5).
TEST(Skeletonization, ExactLowRankStructureIsRecoveredToRounding) {
  const index_type n = 1024;
  const auto tree = hss::ClusterTree::uniform(n, 64);
  const auto low = product(gaussian(n, 6, 3), [&] {
    Matrix<double> t("t", 6, n);
    strata::fill_random(ExecSpace(), strata::RandomStream{strata::Distribution::gaussian, 5, 4}, t);
    return t;
  }());
  const auto exact = hss::make_random_hss<double>(ExecSpace(), tree, 5, 17);
  const auto exact_dense = hss::to_dense(ExecSpace(), exact);
  const auto exponential = hss::make_problem<double>("exponential-1d", n)->dense(ExecSpace());
  for (const auto& [a, rank] :
       {std::pair{low, index_type(6)}, std::pair{exact_dense, index_type(5)},
        std::pair{exponential, index_type(2)}}) {
    hss::SkeletonizationOptions o;
    o.tolerance = 1e-10;
    const auto r =
        hss::compress_by_skeletonization<double>(ExecSpace(), tree, dense_evaluator(a), o);
    EXPECT_LE(relative_frobenius_error(hss::to_dense(ExecSpace(), r.matrix), a), 1e-11);
    EXPECT_LE(max_rank(r.matrix), rank);
    EXPECT_TRUE(r.met_tolerance) << "certificate " << r.certificate.estimate << " ["
                                 << r.certificate.lower << ", " << r.certificate.upper << "]";
    EXPECT_EQ(r.unverified_nodes, 0);
    // Fixed rank: the same result at rank 6.
    hss::SkeletonizationOptions f;
    f.rank = 6;
    const auto rf =
        hss::compress_by_skeletonization<double>(ExecSpace(), tree, dense_evaluator(a), f);
    EXPECT_LE(relative_frobenius_error(hss::to_dense(ExecSpace(), rf.matrix), a), 1e-11);
    EXPECT_LE(max_rank(rf.matrix), 6);
  }
}

// v += N(0, 1) noise from stream `call` (a named function: nvcc allows no device lambda inside a
// lambda).
void add_noise(const ExecSpace& exec, const Kokkos::View<double*, strata::MemSpace>& v,
               std::uint64_t call) {
  const strata::RandomStream s{strata::Distribution::gaussian, 9, call};
  Kokkos::parallel_for(
      "test::noise", Kokkos::RangePolicy<ExecSpace>(exec, 0, v.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) {
        v(i) += s.entry<double>(static_cast<index_type>(i), 0);
      });
  exec.fence();
}

// An evaluator that adds fresh N(0, 1) noise on every call (||A||_F ~ 3e4 at N = 512, so ~2e-2
// relative): no H reproduces the entries the certificate reads to 1e-6, so after max_rounds the
// result says met_tolerance = false and the certificate's interval lies above the tolerance.
TEST(Skeletonization, UnreachableToleranceIsReported) {
  const auto problem = hss::make_problem<double>("cauchy-1d", 512);
  const auto inner = problem->entry_evaluator();
  auto calls = std::make_shared<std::uint64_t>(0);
  const hss::EntryEvaluator<double> noisy = [inner, calls](const ExecSpace& exec,
                                                           const hss::EntryBlocks<double>& blocks) {
    inner(exec, blocks);
    add_noise(exec, blocks.values, ++*calls);
  };
  const auto tree = hss::ClusterTree::uniform(512, 32);
  hss::SkeletonizationOptions o;
  o.tolerance = 1e-6;
  o.max_rounds = 2;
  const auto r = hss::compress_by_skeletonization<double>(ExecSpace(), tree, noisy, o);
  EXPECT_FALSE(r.met_tolerance);
  EXPECT_EQ(r.rounds, 2);
  EXPECT_GT(r.certificate.lower, 1e-6);
  EXPECT_GE(r.certificate.upper, r.certificate.estimate);

  // Through the one driver: the entries method reports the same.
  hss::CompressOptions co;
  co.method = hss::CompressMethod::entries;
  co.tolerance = 1e-6;
  co.max_rounds = 2;
  const auto op = hss::make_operator<double>(problem);
  const auto d = hss::compress_from_matvecs<double>(ExecSpace(), *op, tree, co, noisy);
  EXPECT_FALSE(d.met_tolerance);
  EXPECT_GT(d.relative_error_estimate, 1e-6);
  EXPECT_EQ(d.products + d.transpose_products + d.probe_products, 0);
}

TEST(Skeletonization, BadInputIsRefused) {
  const auto problem = hss::make_problem<double>("cauchy-1d", 256);
  const auto tree = hss::ClusterTree::uniform(256, 32);
  const auto entries = problem->entry_evaluator();
  hss::SkeletonizationOptions o;
  o.tolerance = 1e-6;
  EXPECT_THROW(hss::compress_by_skeletonization<double>(ExecSpace(), tree, {}, o),
               strata::InvalidArgument);
  hss::SkeletonizationOptions none;
  EXPECT_THROW(hss::compress_by_skeletonization<double>(ExecSpace(), tree, entries, none),
               strata::InvalidArgument);
  hss::SkeletonizationOptions bad = o;
  bad.far_samples = 0;
  EXPECT_THROW(hss::compress_by_skeletonization<double>(ExecSpace(), tree, entries, bad),
               strata::InvalidArgument);
  for (const double fraction : {0.0, 1.5}) {
    bad = o;
    bad.budget_fraction = fraction;
    EXPECT_THROW(hss::compress_by_skeletonization<double>(ExecSpace(), tree, entries, bad),
                 strata::InvalidArgument);
  }
  for (const double ratio :
       {-0.25, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    bad = o;
    bad.near_ratio = ratio;
    EXPECT_THROW(hss::compress_by_skeletonization<double>(ExecSpace(), tree, entries, bad),
                 strata::InvalidArgument);
  }
  bad = o;
  HostMatrix<double> wrong("wrong", 100, 1);
  bad.points = hss::HostPoints(wrong);
  EXPECT_THROW(hss::compress_by_skeletonization<double>(ExecSpace(), tree, entries, bad),
               strata::InvalidArgument);
  const auto r = hss::compress_by_skeletonization<double>(ExecSpace(), tree, entries, o);
  EXPECT_THROW(hss::certify_relative_error<double>(ExecSpace(), entries, r.matrix, 1, 0),
               strata::InvalidArgument);
  // The one driver: no evaluator, and a tree of another size.
  hss::CompressOptions co;
  co.method = hss::CompressMethod::entries;
  co.tolerance = 1e-6;
  const auto op = hss::make_operator<double>(problem);
  EXPECT_THROW(hss::compress_from_matvecs<double>(ExecSpace(), *op, tree, co),
               strata::InvalidArgument);
  EXPECT_THROW(hss::compress_from_matvecs<double>(ExecSpace(), *op,
                                                  hss::ClusterTree::uniform(128, 32), co, entries),
               strata::ShapeMismatch);
}

}  // namespace
