// The distributed HSS matrix (tree split over the ranks) gives the single-rank results to rounding
// at any rank count: matvec and transpose matvec of a distributed random HSS matrix, construction
// from products with a distributed operator, and the ULV solve.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "strata/hss/distributed.hpp"
#include "strata/hss/problems.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "support/allclose.hpp"

namespace {

namespace hss = strata::hss;
using strata::ConstMatrix;
using strata::index_type;
using strata::Matrix;
using strata::testing::AllClose;

template <class T>
class HssDistributed : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(HssDistributed, Scalars);

template <class T>
double unit_roundoff() {
  return std::numeric_limits<T>::epsilon() / 2;
}

// This rank's rows [begin, end) of a replicated matrix.
template <class T>
Matrix<T> local_rows(const Matrix<T>& a, const strata::BlockRowLayout& layout, int rank) {
  const auto rows = std::make_pair(static_cast<std::size_t>(layout.row_begin(rank)),
                                   static_cast<std::size_t>(layout.row_end(rank)));
  Matrix<T> out("local", rows.second - rows.first, a.extent(1));
  Kokkos::deep_copy(out, Kokkos::subview(a, rows, Kokkos::ALL));
  return out;
}

template <class T>
double frobenius_t(const Matrix<T>& a) {
  double s = 0;
  const auto h = strata::testing::to_host(a);
  for (std::size_t j = 0; j < h.extent(1); ++j)
    for (std::size_t i = 0; i < h.extent(0); ++i) s += double(h(i, j)) * double(h(i, j));
  return std::sqrt(s);
}

template <class T>
void expect_matvec_matches(const hss::ClusterTree& tree, index_type rank, bool symmetric) {
  SCOPED_TRACE(::testing::Message()
               << "n = " << tree.size() << ", L = " << tree.levels() << ", rank " << rank);
  const strata::Comm comm;
  const strata::ExecSpace exec;
  hss::RandomHssOptions ro;
  ro.symmetric = symmetric;
  const auto a = hss::make_random_hss<T>(exec, tree, rank, 77, ro);
  const auto dist = hss::distribute<T>(exec, comm, a);
  const auto layout = hss::split_layout(tree, comm);
  EXPECT_EQ(dist.layout(), layout);
  const index_type n = tree.size(), k = 3;
  Matrix<T> x("x", n, k), y("y", n, k);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 5, 0}, x);
  // ||A||_F from the dense form bounds every product's size.
  const auto dense = hss::to_dense<T>(exec, a);
  const double scale = frobenius_t(dense) * frobenius_t(x);
  for (const auto op : {hss::Op::none, hss::Op::transpose}) {
    hss::matvec<T>(exec, a, x, y, op);
    const auto xl = local_rows(x, layout, comm.rank());
    Matrix<T> yl("yl", xl.extent(0), k);
    hss::matvec<T>(exec, dist, xl, yl, op);
    // The same per-node products as the single-rank matvec; only the grouping of the sums of
    // each row differs (the subtree's own couplings and the top's contribution are added to the
    // leaf rows separately). Each entry sums <= m + 2 r (L + 1) products of nested-basis terms
    // bounded by ||A||_F ||X||_F, so the difference is <= 2 (m + 2 r (L + 1)) u ||A||_F ||X||_F.
    const double m = static_cast<double>(tree.max_leaf_size());
    const double tol = 2 * (m + 2.0 * rank * (tree.levels() + 1)) * unit_roundoff<T>() * scale;
    EXPECT_THAT(yl, AllClose(local_rows(y, layout, comm.rank()), 0.0, tol));
  }
}

TYPED_TEST(HssDistributed, MatvecMatchesSingleRank) {
  using T = TypeParam;
  // 5 levels (32 leaves of <= 10 rows), ranks capped at small nodes.
  expect_matvec_matches<T>(hss::ClusterTree::uniform(300, 10), 4, false);
  expect_matvec_matches<T>(hss::ClusterTree::uniform(300, 10), 4, true);
  // Exactly as many levels as the split needs at 4 ranks: the subtree roots are leaves.
  expect_matvec_matches<T>(hss::ClusterTree::with_levels(61, 2), 3, false);
}

TEST(HssDistributedErrors, FewerLeavesThanRanks) {
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const auto tree = hss::ClusterTree::with_levels(20, 0);
  const auto a = hss::make_random_hss<double>(exec, tree, 2, 3);
  if (comm.size() == 1) {
    EXPECT_NO_THROW(hss::distribute<double>(exec, comm, a));
  } else {
    EXPECT_THROW(hss::distribute<double>(exec, comm, a), strata::InvalidArgument);
    EXPECT_THROW(hss::split_layout(tree, comm), strata::InvalidArgument);
  }
}

TEST(HssDistributedErrors, MatvecShapesAgreedOnEveryRank) {
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const auto tree = hss::ClusterTree::uniform(64, 8);
  const auto a = hss::make_random_hss<double>(exec, tree, 2, 3);
  const auto dist = hss::distribute<double>(exec, comm, a);
  // Rank 0 passes one row too many: every rank must throw (no deadlock).
  const index_type rows = dist.local_rows() + (comm.rank() == 0 ? 1 : 0);
  Matrix<double> x("x", rows, 2), y("y", rows, 2);
  EXPECT_THROW(hss::matvec<double>(exec, dist, x, y), strata::ShapeMismatch);
}

// A distributed operator whose products are this rank's rows of the distributed HSS matvec: the
// user's callback on each rank's row block.
template <class T>
strata::CallbackOperator<T> callback_operator(const hss::DistHssMatrix<T>& h) {
  const auto apply = [&h](const strata::ExecSpace& e, const ConstMatrix<T>& x, const Matrix<T>& y) {
    hss::matvec<T>(e, h, x, y);
  };
  const auto apply_t = [&h](const strata::ExecSpace& e, const ConstMatrix<T>& x,
                            const Matrix<T>& y) {
    hss::matvec<T>(e, h, x, y, hss::Op::transpose);
  };
  return strata::CallbackOperator<T>(h.comm(), h.layout(), h.layout(), apply, apply_t);
}

// Relative difference ||H_dist X - H_ref X||_F / ||H_ref X||_F (local rows compared, sums over
// ranks) and the same for the reference against `expected` (A X, replicated).
template <class T>
std::pair<double, double> compare_products(const hss::DistHssMatrix<T>& dist,
                                           const hss::HssMatrix<T>& ref, const Matrix<T>& ax) {
  const strata::Comm& comm = dist.comm();
  const strata::ExecSpace exec;
  const index_type n = dist.size(), k = 4;
  Matrix<T> x("x", n, k), y("y", n, k);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 9, 0}, x);
  hss::matvec<T>(exec, ref, x, y);
  const auto xl = local_rows(x, dist.layout(), comm.rank());
  Matrix<T> yl("yl", xl.extent(0), k);
  hss::matvec<T>(exec, dist, xl, yl);
  const auto yh = strata::testing::to_host(yl);
  const auto rh = strata::testing::to_host(local_rows(y, dist.layout(), comm.rank()));
  double diff = 0, norm = 0;
  for (std::size_t j = 0; j < yh.extent(1); ++j) {
    for (std::size_t i = 0; i < yh.extent(0); ++i) {
      diff += std::pow(double(yh(i, j)) - double(rh(i, j)), 2);
      norm += std::pow(double(rh(i, j)), 2);
    }
  }
  diff = comm.allreduce(diff, strata::ReduceOp::sum);
  norm = comm.allreduce(norm, strata::ReduceOp::sum);
  double err = 0, anorm = 0;
  if (ax.extent(0) > 0) {
    Matrix<T> axx("axx", n, k);
    strata::linalg::gemm(exec, "N", "N", T(1), ax, x, T(0), axx);
    const auto ah = strata::testing::to_host(axx);
    const auto yr = strata::testing::to_host(y);
    for (std::size_t j = 0; j < ah.extent(1); ++j) {
      for (std::size_t i = 0; i < ah.extent(0); ++i) {
        err += std::pow(double(yr(i, j)) - double(ah(i, j)), 2);
        anorm += std::pow(double(ah(i, j)), 2);
      }
    }
  }
  return {std::sqrt(diff / norm), anorm > 0 ? std::sqrt(err / anorm) : 0.0};
}

TYPED_TEST(HssDistributed, CompressionFromProductsMatchesSingleRank) {
  using T = TypeParam;
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const auto tree = hss::ClusterTree::uniform(256, 16);  // 4 levels, 16 leaves of 16
  const index_type rank = 4;
  const auto a = hss::make_random_hss<T>(exec, tree, rank, 123);
  const auto dist_a = hss::distribute<T>(exec, comm, a);
  const auto op = callback_operator(dist_a);
  hss::CompressOptions options;
  options.rank = rank;
  options.seed = 2024;
  options.error_probes = 4;
  const auto dist = hss::compress_from_matvecs_distributed<T>(exec, op, tree, options);
  const strata::CallbackOperator<T> replicated(
      tree.size(), tree.size(),
      [&](const strata::ExecSpace& e, const ConstMatrix<T>& x, const Matrix<T>& y) {
        hss::matvec<T>(e, a, x, y);
      },
      [&](const strata::ExecSpace& e, const ConstMatrix<T>& x, const Matrix<T>& y) {
        hss::matvec<T>(e, a, x, y, hss::Op::transpose);
      });
  const auto ref = hss::compress_from_matvecs<T>(exec, replicated, tree, options);
  EXPECT_EQ(dist.samples, ref.samples);
  EXPECT_EQ(dist.products, ref.products);
  EXPECT_EQ(dist.max_rank_per_level, ref.max_rank_per_level);
  const auto dense = hss::to_dense<T>(exec, a);
  const auto [diff, err] = compare_products(dist.matrix, ref.matrix, dense);
  // Exact rank-4 HSS: Levitt-Martinsson recovers it to rounding, O(kappa u) with kappa the
  // conditioning of the sketches' pseudo-inverses and SVDs (Omega_tau is 16 x 30 Gaussian,
  // kappa ~ 10); the distributed run differs from the single one only by the rounding of the
  // products (summation order) propagated the same way. 1e3 u leaves a margin of ~10 x kappa.
  const double u = unit_roundoff<T>();
  EXPECT_LT(err, 1e3 * u);
  EXPECT_LT(diff, 1e3 * u);
  EXPECT_LT(dist.relative_error_estimate, 1e3 * u);
}

TYPED_TEST(HssDistributed, CompressionOfAKernelMatrixMatchesSingleRank) {
  using T = TypeParam;
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const index_type n = 256;
  const auto tree = hss::ClusterTree::uniform(n, 32);  // 3 levels, 8 leaves of 32
  const auto problem = hss::make_problem<T>("cauchy-1d", n);
  const auto op = hss::make_operator<T>(problem, comm, hss::split_layout(tree, comm));
  hss::CompressOptions options;
  options.rank = 10;
  options.seed = 5;
  options.error_probes = 0;
  const auto dist = hss::compress_from_matvecs_distributed<T>(exec, *op, tree, options);
  const auto ref =
      hss::compress_from_matvecs<T>(exec, *hss::make_operator<T>(problem), tree, options);
  const auto dense = problem->dense(exec);
  const auto [diff, err] = compare_products(dist.matrix, ref.matrix, dense);
  // The approximation error of rank 10 on the Cauchy kernel (far below 1e-3 in double; float
  // is limited by its rounding, amplified by the sketches' conditioning), and the distributed
  // result equals the single-rank one to the rounding of the products amplified the same way
  // (1e3 u, as above; truncation makes the bases depend smoothly on the samples).
  const double u = unit_roundoff<T>();
  EXPECT_LT(err, std::max(1e-3, 1e3 * u));
  EXPECT_LT(diff, 1e3 * u);
}

// Runs the quasi-optimal construction (Amsel et al.) distributed and single-rank with the same
// options and checks that they took the same decisions (samples, rounds, products, every node's
// rank); returns {||H_dist X - H_ref X|| / ||H_ref X||, ||H_ref X - A X|| / ||A X||}.
template <class T>
std::pair<double, double> quasi_optimal_matches(const strata::LinearOperator<T>& dist_op,
                                                const strata::LinearOperator<T>& ref_op,
                                                const hss::ClusterTree& tree,
                                                const hss::CompressOptions& options,
                                                const Matrix<T>& dense) {
  const strata::ExecSpace exec;
  const auto dist = hss::compress_from_matvecs_distributed<T>(exec, dist_op, tree, options);
  const auto ref = hss::compress_from_matvecs<T>(exec, ref_op, tree, options);
  EXPECT_EQ(dist.samples, ref.samples);
  EXPECT_EQ(dist.rounds, ref.rounds);
  EXPECT_EQ(dist.products, ref.products);
  EXPECT_EQ(dist.transpose_products, ref.transpose_products);
  EXPECT_EQ(dist.probe_products, ref.probe_products);
  EXPECT_EQ(dist.products_per_level, ref.products_per_level);
  EXPECT_EQ(dist.max_rank_per_level, ref.max_rank_per_level);
  const auto gathered = hss::gather<T>(exec, dist.matrix);
  EXPECT_EQ(gathered.ranks().row, ref.matrix.ranks().row);
  EXPECT_EQ(gathered.ranks().col, ref.matrix.ranks().col);
  if (options.error_probes > 0) {
    // The same probes on the same matrices up to the rounding of the construction (1e3 u).
    EXPECT_NEAR(dist.relative_error_estimate, ref.relative_error_estimate,
                1e3 * unit_roundoff<T>() * std::max(1.0, ref.relative_error_estimate));
  }
  const auto result = compare_products(dist.matrix, ref.matrix, dense);
  if (dist.matrix.comm().is_root()) {
    std::printf("[dist quasi-optimal] ranks=%d s=%lld rounds=%d products=%lld diff %.3e err %.3e\n",
                dist.matrix.comm().size(), static_cast<long long>(dist.samples), dist.rounds,
                static_cast<long long>(dist.products), result.first, result.second);
  }
  return result;
}

TYPED_TEST(HssDistributed, QuasiOptimalMatchesSingleRankOnExactHss) {
  using T = TypeParam;
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const auto tree = hss::ClusterTree::uniform(256, 16);  // 4 levels, 16 leaves of 16
  const index_type rank = 4;
  const auto a = hss::make_random_hss<T>(exec, tree, rank, 321);
  const auto dist_a = hss::distribute<T>(exec, comm, a);
  const auto op = callback_operator(dist_a);
  const strata::CallbackOperator<T> replicated(
      tree.size(), tree.size(),
      [&](const strata::ExecSpace& e, const ConstMatrix<T>& x, const Matrix<T>& y) {
        hss::matvec<T>(e, a, x, y);
      },
      [&](const strata::ExecSpace& e, const ConstMatrix<T>& x, const Matrix<T>& y) {
        hss::matvec<T>(e, a, x, y, hss::Op::transpose);
      });
  hss::CompressOptions options;
  options.method = hss::CompressMethod::quasi_optimal;
  options.rank = rank;
  options.seed = 77;
  options.error_probes = 4;
  const auto [diff, err] =
      quasi_optimal_matches<T>(op, replicated, tree, options, hss::to_dense<T>(exec, a));
  // Exact rank-4 HSS: the fresh per-level sketches recover it to rounding, O(kappa u) with kappa
  // the conditioning of the Gaussian sketches' pseudo-inverses and SVDs (~10, as for
  // Levitt-Martinsson); the distributed run differs from the single one only by the summation
  // order of the products (and of the lifted sketches' local parts), propagated through the same
  // steps. 1e3 u leaves a margin of ~10 x kappa.
  const double u = unit_roundoff<T>();
  EXPECT_LT(err, 1e3 * u);
  EXPECT_LT(diff, 1e3 * u);
}

TYPED_TEST(HssDistributed, QuasiOptimalMatchesSingleRankOnAKernelMatrix) {
  using T = TypeParam;
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const index_type n = 256;
  const auto tree = hss::ClusterTree::uniform(n, 32);  // 3 levels, 8 leaves of 32
  const auto problem = hss::make_problem<T>("cauchy-1d", n);
  const auto op = hss::make_operator<T>(problem, comm, hss::split_layout(tree, comm));
  const auto ref_op = hss::make_operator<T>(problem);
  const auto dense = problem->dense(exec);
  const double u = unit_roundoff<T>();
  {
    SCOPED_TRACE("fixed rank 10");
    hss::CompressOptions options;
    options.method = hss::CompressMethod::quasi_optimal;
    options.rank = 10;
    options.seed = 5;
    options.error_probes = 0;
    const auto [diff, err] = quasi_optimal_matches<T>(*op, *ref_op, tree, options, dense);
    // Rank-10 truncation error of the Cauchy kernel (far below 1e-3 in double; float is limited
    // by its rounding amplified by the sketches), and agreement to the rounding of the products
    // amplified the same way (1e3 u, as for Levitt-Martinsson: the truncated bases depend
    // smoothly on the samples when the singular values at the cut are separated).
    EXPECT_LT(err, std::max(1e-3, 1e3 * u));
    EXPECT_LT(diff, 1e3 * u);
  }
  // Tolerance mode: targets well above the precision's floor.
  const std::vector<double> tolerances =
      std::is_same_v<T, float> ? std::vector<double>{1e-3} : std::vector<double>{1e-6};
  for (const double tol : tolerances) {
    SCOPED_TRACE(::testing::Message() << "tolerance " << tol);
    hss::CompressOptions options;
    options.method = hss::CompressMethod::quasi_optimal;
    options.rank = 0;
    options.tolerance = tol;
    options.seed = 13;
    const auto [diff, err] = quasi_optimal_matches<T>(*op, *ref_op, tree, options, dense);
    // The estimate over 10 probes is within a factor ~2 of the true ratio (chi-square), so the
    // true error is <= ~3 tol; identical ranks leave only the rounding of the products (1e3 u).
    EXPECT_LE(err, 3 * tol);
    EXPECT_LT(diff, 1e3 * u);
  }
}

TYPED_TEST(HssDistributed, GatherInvertsDistribute) {
  using T = TypeParam;
  const strata::Comm comm;
  const strata::ExecSpace exec;
  // Varying ranks (capped at the small leaves of a non-power-of-two size) and a tree whose split
  // level is the leaf level at 4 ranks.
  for (const auto& tree :
       {hss::ClusterTree::uniform(300, 10), hss::ClusterTree::with_levels(61, 2)}) {
    const auto a = hss::make_random_hss<T>(exec, tree, 4, 19);
    const auto g = hss::gather<T>(exec, hss::distribute<T>(exec, comm, a));
    EXPECT_EQ(g.ranks().row, a.ranks().row);
    EXPECT_EQ(g.ranks().col, a.ranks().col);
    // Pure copies of the generators: the dense forms agree exactly.
    EXPECT_THAT(hss::to_dense<T>(exec, g), AllClose(hss::to_dense<T>(exec, a), 0.0, 0.0));
  }
}

TYPED_TEST(HssDistributed, CompressionToleranceModeMatchesSingleRank) {
  using T = TypeParam;
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const index_type n = 256;
  const auto tree = hss::ClusterTree::uniform(n, 32);  // 3 levels, 8 leaves of 32
  const auto problem = hss::make_problem<T>("cauchy-1d", n);
  const auto op = hss::make_operator<T>(problem, comm, hss::split_layout(tree, comm));
  const auto ref_op = hss::make_operator<T>(problem);
  const auto dense = problem->dense(exec);
  const double u = unit_roundoff<T>();
  // Targets well above the precision's floor (the sketches' pseudo-inverses amplify the
  // rounding of the products by ~1e2 to 1e3).
  const std::vector<double> tolerances =
      std::is_same_v<T, float> ? std::vector<double>{1e-3} : std::vector<double>{1e-4, 1e-8};
  for (const double tol : tolerances) {
    SCOPED_TRACE(::testing::Message() << "tolerance " << tol);
    hss::CompressOptions options;
    options.rank = 0;
    options.tolerance = tol;
    options.seed = 11;
    const auto dist = hss::compress_from_matvecs_distributed<T>(exec, *op, tree, options);
    const auto ref = hss::compress_from_matvecs<T>(exec, *ref_op, tree, options);
    // The same decisions as the single-rank run: samples, rounds, products, every node's rank.
    EXPECT_EQ(dist.samples, ref.samples);
    EXPECT_EQ(dist.rounds, ref.rounds);
    EXPECT_EQ(dist.products, ref.products);
    EXPECT_EQ(dist.transpose_products, ref.transpose_products);
    EXPECT_EQ(dist.probe_products, ref.probe_products);
    EXPECT_EQ(dist.products_per_level, ref.products_per_level);
    EXPECT_EQ(dist.max_rank_per_level, ref.max_rank_per_level);
    const auto gathered = hss::gather<T>(exec, dist.matrix);
    EXPECT_EQ(gathered.ranks().row, ref.matrix.ranks().row);
    EXPECT_EQ(gathered.ranks().col, ref.matrix.ranks().col);
    const auto [diff, err] = compare_products(dist.matrix, ref.matrix, dense);
    // The estimate over 10 probes concentrates within a factor ~2 of the true ratio
    // (chi-square, >= 10 degrees of freedom), so the true error is <= ~3 tol once it is <= tol.
    EXPECT_LE(dist.relative_error_estimate, tol);
    EXPECT_LE(err, 3 * tol);
    // With identical ranks the two runs differ only by the rounding of the products (summation
    // order over the row blocks) propagated through the same steps: 1e3 u as for fixed rank.
    EXPECT_LT(diff, 1e3 * u);
    // The estimates are computed from the same probes and differ by the same rounding.
    EXPECT_NEAR(dist.relative_error_estimate, ref.relative_error_estimate,
                1e3 * u * std::max(1.0, ref.relative_error_estimate));
    if (comm.is_root()) {
      std::printf(
          "[dist tol] tol %.0e ranks=%d s=%lld rounds=%d products=%lld err %.3e diff "
          "%.3e\n",
          tol, comm.size(), static_cast<long long>(dist.samples), dist.rounds,
          static_cast<long long>(dist.products), err, diff);
    }
  }
}

template <class T>
void expect_solve_matches(const hss::ClusterTree& tree, index_type rank, bool spd) {
  SCOPED_TRACE(::testing::Message() << "L = " << tree.levels() << (spd ? ", SPD" : ", general"));
  const strata::Comm comm;
  const strata::ExecSpace exec;
  hss::RandomHssOptions ro;
  ro.symmetric = spd;
  const auto a = hss::make_random_hss<T>(exec, tree, rank, 31, ro);
  hss::UlvOptions uo;
  uo.variant = spd ? hss::UlvVariant::symmetric_positive_definite : hss::UlvVariant::general;
  const index_type n = tree.size(), k = 2;
  Matrix<T> b("b", n, k), x("x", n, k);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 8, 0}, b);
  const auto ref = hss::ulv_factor<T>(exec, a, uo);
  hss::ulv_solve<T>(exec, ref, b, x, false);
  const auto dist = hss::distribute<T>(exec, comm, a);
  const auto f = hss::ulv_factor<T>(exec, dist, uo);
  const auto bl = local_rows(b, dist.layout(), comm.rank());
  Matrix<T> xl("xl", bl.extent(0), k);
  const auto res = hss::ulv_solve<T>(exec, f, bl, xl, true);
  // kappa(A) from the dense matrix's singular values.
  const auto dense = hss::to_dense<T>(exec, a);
  const auto dh = strata::testing::to_host(dense);
  strata::HostMatrix<double> d64("d64", n, n);
  for (index_type j = 0; j < n; ++j)
    for (index_type i = 0; i < n; ++i) d64(i, j) = double(dh(i, j));
  const auto sv = strata::linalg::host::singular_values(d64);
  const double kappa = sv.front() / sv.back();
  // Both solves are backward stable with backward error <= gamma_n ~ n u (orthogonal transforms,
  // pivoted LU of small blocks), so each forward error is <= kappa n u and they differ by at most
  // 2 kappa n u; the distributed residual is <= n u in the same sense. Factor 5 for the constants
  // of the nested transforms.
  const double u = unit_roundoff<T>();
  const double tol = 10.0 * kappa * double(n) * u;
  EXPECT_LT(res.residual, tol);
  const auto xr = local_rows(x, dist.layout(), comm.rank());
  const double xnorm = frobenius_t(x);
  EXPECT_THAT(xl, AllClose(xr, 0.0, tol * xnorm / std::sqrt(double(n * k))));
  if (comm.is_root()) {
    std::printf("[dist ulv] %s L=%d ranks=%d residual %.3e (kappa %.2f)\n", spd ? "spd" : "general",
                tree.levels(), comm.size(), res.residual, kappa);
  }
}

TYPED_TEST(HssDistributed, UlvSolveMatchesSingleRank) {
  using T = TypeParam;
  expect_solve_matches<T>(hss::ClusterTree::uniform(300, 10), 4, false);
  expect_solve_matches<T>(hss::ClusterTree::uniform(300, 10), 4, true);
  expect_solve_matches<T>(hss::ClusterTree::with_levels(61, 2), 3, false);
}

TEST(HssDistributedErrors, CompressionErrorsAgreedOnEveryRank) {
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const auto tree = hss::ClusterTree::uniform(128, 16);
  const auto layout = hss::split_layout(tree, comm);
  hss::CompressOptions options;
  options.rank = 3;
  options.error_probes = 0;
  const auto fill = [](const strata::ExecSpace& e, const ConstMatrix<double>& x,
                       const Matrix<double>& y) {
    Kokkos::deep_copy(e, y, x);
  };
  // A callback that throws on rank 0 only: every rank gets the error.
  const int me = comm.rank();
  const strata::CallbackOperator<double> throwing(
      comm, layout, layout,
      [me, fill](const strata::ExecSpace& e, const ConstMatrix<double>& x,
                 const Matrix<double>& y) {
        if (me == 0) throw std::runtime_error("user callback failed");
        fill(e, x, y);
      },
      fill);
  EXPECT_THROW(hss::compress_from_matvecs_distributed<double>(exec, throwing, tree, options),
               strata::InternalError);
  // NaN in the transpose products of the last rank.
  const int last = comm.size() - 1;
  const strata::CallbackOperator<double> nan_op(
      comm, layout, layout, fill,
      [me, last, fill](const strata::ExecSpace& e, const ConstMatrix<double>& x,
                       const Matrix<double>& y) {
        fill(e, x, y);
        if (me == last) Kokkos::deep_copy(y, std::numeric_limits<double>::quiet_NaN());
      });
  EXPECT_THROW(hss::compress_from_matvecs_distributed<double>(exec, nan_op, tree, options),
               strata::NonFiniteInput);
  // An operator laid out by balanced rows instead of the tree's node boundaries.
  if (comm.size() > 1) {
    std::vector<index_type> counts(static_cast<std::size_t>(comm.size()));
    for (int p = 0; p < comm.size(); ++p)
      counts[static_cast<std::size_t>(p)] = layout.local_rows(p);
    counts[0] += 1;
    counts[counts.size() - 1] -= 1;
    const auto wrong = strata::BlockRowLayout::from_counts(counts);
    const strata::CallbackOperator<double> shifted(comm, wrong, wrong, fill, fill);
    EXPECT_THROW(hss::compress_from_matvecs_distributed<double>(exec, shifted, tree, options),
                 strata::InvalidArgument);
  }
  // Tolerance mode without probes, and neither rank nor tolerance.
  const strata::CallbackOperator<double> identity(comm, layout, layout, fill, fill);
  hss::CompressOptions no_probes;
  no_probes.tolerance = 1e-6;
  no_probes.error_probes = 0;
  EXPECT_THROW(hss::compress_from_matvecs_distributed<double>(exec, identity, tree, no_probes),
               strata::InvalidArgument);
  hss::CompressOptions nothing;
  EXPECT_THROW(hss::compress_from_matvecs_distributed<double>(exec, identity, tree, nothing),
               strata::InvalidArgument);
  // The quasi-optimal method checks its inputs the same way (too few samples for the leaves).
  hss::CompressOptions quasi = options;
  quasi.method = hss::CompressMethod::quasi_optimal;
  quasi.samples = 10;
  EXPECT_THROW(hss::compress_from_matvecs_distributed<double>(exec, identity, tree, quasi),
               strata::InvalidArgument);
  // A failing callback during the quasi-optimal per-level products reaches every rank.
  quasi.samples = 0;
  EXPECT_THROW(hss::compress_from_matvecs_distributed<double>(exec, throwing, tree, quasi),
               strata::InternalError);
  // A replicated operator.
  const strata::CallbackOperator<double> replicated(tree.size(), tree.size(), fill, fill);
  EXPECT_THROW(hss::compress_from_matvecs_distributed<double>(exec, replicated, tree, options),
               strata::InvalidArgument);
}

}  // namespace
