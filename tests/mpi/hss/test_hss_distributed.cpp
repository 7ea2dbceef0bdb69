// The distributed HSS matrix (tree split over the ranks) gives the single-rank results to rounding
// at any rank count: matvec and transpose matvec of a distributed random HSS matrix, construction
// from products with a distributed operator, and the ULV solve.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "strata/dist/collective.hpp"
#include "strata/dist/linear_operator.hpp"
#include "strata/dist/operations.hpp"
#include "strata/hss/compress_matvec.hpp"
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

// The distributed construction took the single-rank run's decisions: samples, rounds, products
// (per level too), and every node's row and column rank.
template <class T>
void expect_same_decisions(const hss::DistCompressResult<T>& dist,
                           const hss::CompressResult<T>& ref) {
  EXPECT_EQ(dist.samples, ref.samples);
  EXPECT_EQ(dist.rounds, ref.rounds);
  EXPECT_EQ(dist.products, ref.products);
  EXPECT_EQ(dist.transpose_products, ref.transpose_products);
  EXPECT_EQ(dist.probe_products, ref.probe_products);
  EXPECT_EQ(dist.products_per_level, ref.products_per_level);
  EXPECT_EQ(dist.max_rank_per_level, ref.max_rank_per_level);
  const auto gathered = hss::gather<T>(strata::ExecSpace(), dist.matrix);
  EXPECT_EQ(gathered.ranks().row, ref.matrix.ranks().row);
  EXPECT_EQ(gathered.ranks().col, ref.matrix.ranks().col);
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
  expect_same_decisions(dist, ref);
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
  struct Case {
    const char* problem;
    index_type n, leaf;
  };
  // cauchy-1d: 3 levels, 8 leaves of 32. laplace-curve (double): 4 levels, leaves of 64, whose
  // Levitt-Martinsson passes stop at capped nodes above the leaves and resume there (the kept
  // levels must be the same at every rank count).
  std::vector<Case> cases = {{"cauchy-1d", 256, 32}};
  if (!std::is_same_v<T, float>) cases.push_back({"laplace-curve", 1024, 64});
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.problem << " n " << c.n);
    const index_type n = c.n;
    const auto tree = hss::ClusterTree::uniform(n, c.leaf);
    const auto problem = hss::make_problem<T>(c.problem, n);
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
      expect_same_decisions(dist, ref);
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
            "[dist tol] %s tol %.0e ranks=%d s=%lld rounds=%d products=%lld err %.3e diff "
            "%.3e\n",
            c.problem, tol, comm.size(), static_cast<long long>(dist.samples), dist.rounds,
            static_cast<long long>(dist.products), err, diff);
      }
    }
  }
}

// The dense form of `a` in double precision (host) and its 2-norm condition number.
template <class T>
strata::HostMatrix<double> dense_host(const strata::ExecSpace& exec, const hss::HssMatrix<T>& a) {
  const index_type n = a.size();
  const auto dh = strata::testing::to_host(hss::to_dense<T>(exec, a));
  strata::HostMatrix<double> d64("d64", n, n);
  for (index_type j = 0; j < n; ++j)
    for (index_type i = 0; i < n; ++i) d64(i, j) = double(dh(i, j));
  return d64;
}

double condition_number(const strata::HostMatrix<double>& a) {
  const auto sv = strata::linalg::host::singular_values(a);
  return sv.front() / sv.back();
}

// ||X - Y||_F over every rank's rows (local blocks of the same layout).
template <class T>
double distributed_difference(const strata::Comm& comm, const Matrix<T>& x, const Matrix<T>& y) {
  const auto xh = strata::testing::to_host(x);
  const auto yh = strata::testing::to_host(y);
  double s = 0;
  for (std::size_t j = 0; j < xh.extent(1); ++j)
    for (std::size_t i = 0; i < xh.extent(0); ++i) {
      const double d = double(xh(i, j)) - double(yh(i, j));
      s += d * d;
    }
  return std::sqrt(comm.allreduce(s, strata::ReduceOp::sum));
}

// The distributed ULV solution of A X = B against the single-process ULV solution and LAPACK's
// (dgesv on the dense A in double precision), with bounds from kappa(A).
template <class T>
void expect_solution_matches(const hss::HssMatrix<T>& a, hss::UlvVariant variant,
                             const char* what) {
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const hss::UlvOptions uo{variant};
  const index_type n = a.size(), k = 2;
  Matrix<T> b("b", n, k), x("x", n, k);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 8, 0}, b);
  const auto ref = hss::ulv_factor<T>(exec, a, uo);
  hss::ulv_solve<T>(exec, ref, b, x, false);
  const auto dist = hss::distribute<T>(exec, comm, a);
  const auto f = hss::ulv_factor<T>(exec, dist, uo);
  const auto bl = local_rows(b, dist.layout(), comm.rank());
  Matrix<T> xl("xl", bl.extent(0), k);
  const auto res = hss::ulv_solve<T>(exec, f, bl, xl, true);
  // LAPACK's solution of the dense system (the tree is the identity permutation here).
  const auto dense = dense_host(exec, a);
  const double kappa = condition_number(dense);
  const auto bh = strata::testing::to_host(b);
  strata::HostMatrix<double> xlapack("xlapack", n, k);
  for (index_type j = 0; j < k; ++j)
    for (index_type i = 0; i < n; ++i) xlapack(i, j) = double(bh(i, j));
  auto lu = strata::HostMatrix<double>("lu", n, n);
  Kokkos::deep_copy(lu, dense);
  strata::linalg::host::solve_in_place(lu, xlapack);
  Matrix<T> xlap_t("xlap", n, k);
  {
    auto h = Kokkos::create_mirror_view(xlap_t);
    for (index_type j = 0; j < k; ++j)
      for (index_type i = 0; i < n; ++i) h(i, j) = static_cast<T>(xlapack(i, j));
    Kokkos::deep_copy(xlap_t, h);
  }
  // Both ULV solves are backward stable, with backward error <= gamma_n ~ n u (orthogonal
  // transforms, triangular solves and a pivoted LU of small blocks), so each forward error is
  // <= kappa n u and the two differ by <= 2 kappa n u; the residual is <= n u in the same sense.
  // Factor 5 for the constants of the nested transforms. LAPACK's dgesv solution has forward error
  // <= kappa n u_double, and rounding it to T adds u.
  const double u = unit_roundoff<T>();
  const double tol = 10.0 * kappa * double(n) * u;
  const double tol_lapack = tol + 10.0 * kappa * double(n) * unit_roundoff<double>() + u;
  const double xnorm = frobenius_t(x);
  EXPECT_LT(res.residual, tol);
  const double diff_single =
      distributed_difference(comm, xl, local_rows(x, dist.layout(), comm.rank())) / xnorm;
  const double diff_lapack =
      distributed_difference(comm, xl, local_rows(xlap_t, dist.layout(), comm.rank())) / xnorm;
  EXPECT_LE(diff_single, tol);
  EXPECT_LE(diff_lapack, tol_lapack);
  if (comm.is_root()) {
    std::printf(
        "[dist ulv] %s L=%d ranks=%d residual %.3e |x - x_ulv1| %.3e |x - x_gesv| %.3e "
        "(kappa %.3g, bound %.3g)\n",
        what, a.levels(), comm.size(), res.residual, diff_single, diff_lapack, kappa, tol);
  }
}

template <class T>
void expect_solve_matches(const hss::ClusterTree& tree, index_type rank, bool spd) {
  SCOPED_TRACE(::testing::Message() << "L = " << tree.levels() << (spd ? ", SPD" : ", general"));
  const strata::ExecSpace exec;
  hss::RandomHssOptions ro;
  ro.symmetric = spd;
  const auto a = hss::make_random_hss<T>(exec, tree, rank, 31, ro);
  expect_solution_matches<T>(
      a, spd ? hss::UlvVariant::symmetric_positive_definite : hss::UlvVariant::general,
      spd ? "spd" : "general");
}

TYPED_TEST(HssDistributed, UlvSolveMatchesSingleRank) {
  using T = TypeParam;
  expect_solve_matches<T>(hss::ClusterTree::uniform(300, 10), 4, false);
  expect_solve_matches<T>(hss::ClusterTree::uniform(300, 10), 4, true);
  // The subtree roots are leaves at 4 ranks.
  expect_solve_matches<T>(hss::ClusterTree::with_levels(61, 2), 3, false);
  expect_solve_matches<T>(hss::ClusterTree::with_levels(61, 2), 3, true);
}

// Host copies of the generators of `a` (levels 1..L: U, V, B; leaf blocks D).
template <class T>
struct HostGenerators {
  std::vector<Kokkos::View<T*, Kokkos::HostSpace>> u, v, b;
  Kokkos::View<T*, Kokkos::HostSpace> d;
  explicit HostGenerators(const hss::HssMatrix<T>& a)
      : u(a.levels() + 1), v(a.levels() + 1), b(a.levels() + 1) {
    for (int l = 1; l <= a.levels(); ++l) {
      u[l] = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, a.level(l).u);
      v[l] = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, a.level(l).v);
      b[l] = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, a.level(l).b);
    }
    d = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, a.d());
  }
};

// The nested basis U^big (row_side) or V^big of node g of level l (rows of g x rank), in double.
template <class T>
strata::HostMatrix<double> big_basis(const hss::HssMatrix<T>& a, const HostGenerators<T>& h, int l,
                                     index_type g, bool row_side) {
  const auto& lv = a.level(l);
  const auto& gen = row_side ? h.u[l] : h.v[l];
  const index_type rows = row_side ? lv.u_rows_host(g) : lv.v_rows_host(g);
  const index_type rank = row_side ? lv.row_rank_host(g) : lv.col_rank_host(g);
  const index_type off = row_side ? lv.u_offset_host(g) : lv.v_offset_host(g);
  strata::HostMatrix<double> out("big", a.tree().node_size(l, g), rank);
  if (l == a.levels()) {
    for (index_type j = 0; j < rank; ++j)
      for (index_type i = 0; i < rows; ++i) out(i, j) = double(gen(off + i + j * rows));
    return out;
  }
  index_type row_out = 0, row_transfer = 0;
  for (index_type ch = 2 * g; ch <= 2 * g + 1; ++ch) {
    const auto child = big_basis(a, h, l + 1, ch, row_side);
    for (index_type j = 0; j < rank; ++j)
      for (index_type i = 0; i < static_cast<index_type>(child.extent(0)); ++i) {
        double sum = 0;
        for (index_type q = 0; q < static_cast<index_type>(child.extent(1)); ++q)
          sum += child(i, q) * double(gen(off + row_transfer + q + j * rows));
        out(row_out + i, j) = sum;
      }
    row_out += static_cast<index_type>(child.extent(0));
    row_transfer += static_cast<index_type>(child.extent(1));
  }
  return out;
}

// Adds U^big_g S V^big_g^T to the diagonal block of node g of level l, in HSS form: with the
// transfer matrices, T = U_g S V_g^T splits into the children's coupling updates (B_ab += T_ab,
// B_ba += T_ba) and their own diagonal terms S_a = T_aa, S_b = T_bb; at a leaf, D += U S V^T.
template <class T>
void add_to_diagonal_block(const hss::HssMatrix<T>& a, HostGenerators<T>& h, int l, index_type g,
                           const strata::HostMatrix<double>& s) {
  const auto& lv = a.level(l);
  const index_type ur = lv.u_rows_host(g), vr = lv.v_rows_host(g);
  const index_type r = lv.row_rank_host(g), c = lv.col_rank_host(g);
  strata::HostMatrix<double> t("T", ur, vr);  // U_g S V_g^T
  for (index_type j = 0; j < vr; ++j)
    for (index_type i = 0; i < ur; ++i) {
      double sum = 0;
      for (index_type p = 0; p < r; ++p)
        for (index_type q = 0; q < c; ++q)
          sum += double(h.u[l](lv.u_offset_host(g) + i + p * ur)) * s(p, q) *
                 double(h.v[l](lv.v_offset_host(g) + j + q * vr));
      t(i, j) = sum;
    }
  if (l == a.levels()) {
    const index_type off = a.d_offset_host()(g);
    for (index_type j = 0; j < vr; ++j)
      for (index_type i = 0; i < ur; ++i)
        h.d(off + i + j * ur) = static_cast<T>(double(h.d(off + i + j * ur)) + t(i, j));
    return;
  }
  const auto& cl = a.level(l + 1);
  const index_type ca = 2 * g, cb = 2 * g + 1;
  const index_type ra = cl.row_rank_host(ca), rb = cl.row_rank_host(cb);
  const index_type qa = cl.col_rank_host(ca), qb = cl.col_rank_host(cb);
  const auto block = [&](index_type i0, index_type ni, index_type j0, index_type nj) {
    strata::HostMatrix<double> out("S_child", ni, nj);
    for (index_type j = 0; j < nj; ++j)
      for (index_type i = 0; i < ni; ++i) out(i, j) = t(i0 + i, j0 + j);
    return out;
  };
  const auto add_coupling = [&](index_type node, const strata::HostMatrix<double>& add) {
    const index_type off = cl.b_offset_host(node), rows = add.extent(0);
    for (index_type j = 0; j < static_cast<index_type>(add.extent(1)); ++j)
      for (index_type i = 0; i < rows; ++i)
        h.b[l + 1](off + i + j * rows) =
            static_cast<T>(double(h.b[l + 1](off + i + j * rows)) + add(i, j));
  };
  add_coupling(ca, block(0, ra, qa, qb));
  add_coupling(cb, block(ra, rb, 0, qa));
  add_to_diagonal_block(a, h, l + 1, ca, block(0, ra, 0, qa));
  add_to_diagonal_block(a, h, l + 1, cb, block(ra, rb, qa, qb));
}

// A random HSS matrix A whose diagonal blocks A_gg on `level` are singular while A is not: every
// A_gg gets the rank-one term U^big_g S_g V^big_g^T with S_g = -x y^T / (y^T M_g x), where
// M_g = V^big_g^T A_gg^{-1} U^big_g and x, y its top singular vectors, so that
// det(A_gg + U S V^T) = det(A_gg) det(I + S M_g) = det(A_gg) (1 - 1) = 0 (x, y maximize the
// denominator, keeping S small). In HSS form (add_to_diagonal_block) the ranks do not change. A
// itself changes by U^(l) diag(S_g) V^(l)^T, which the couplings between the blocks keep
// nonsingular (checked with LAPACK by the test). Computed in double, rounded to T.
template <class T>
hss::HssMatrix<T> singular_split_hss(const strata::ExecSpace& exec, const hss::ClusterTree& tree,
                                     index_type rank, int level) {
  // Symmetric generators (V = U): then M_g ~ U^T U / shift and S_g ~ -shift x x^T only removes
  // the diagonal shift along one direction of each block, which keeps kappa(A) moderate.
  hss::RandomHssOptions ro;
  ro.symmetric = true;
  auto a = hss::make_random_hss<T>(exec, tree, rank, 41, ro);
  const auto dense = dense_host(exec, a);
  HostGenerators<T> h(a);
  for (index_type g = 0; g < hss::ClusterTree::nodes_on_level(level); ++g) {
    const index_type g0 = tree.node_begin(level, g), ng = tree.node_size(level, g);
    const auto ubig = big_basis(a, h, level, g, true);
    const auto vbig = big_basis(a, h, level, g, false);
    const index_type r = ubig.extent(1), c = vbig.extent(1);
    // W = A_gg^{-1} U^big, M = V^big^T W (c x r).
    strata::HostMatrix<double> lu("lu", ng, ng), w("w", ng, r), m("M", c, r);
    for (index_type j = 0; j < ng; ++j)
      for (index_type i = 0; i < ng; ++i) lu(i, j) = dense(g0 + i, g0 + j);
    Kokkos::deep_copy(w, ubig);
    strata::linalg::host::solve_in_place(lu, w);
    for (index_type j = 0; j < r; ++j)
      for (index_type i = 0; i < c; ++i)
        for (index_type q = 0; q < ng; ++q) m(i, j) += vbig(q, i) * w(q, j);
    // Top singular pair of M by power iteration on M^T M (r <= a few).
    std::vector<double> x(static_cast<std::size_t>(r), 1.0), y(static_cast<std::size_t>(c));
    for (int it = 0; it < 200; ++it) {
      for (index_type i = 0; i < c; ++i) {
        y[i] = 0;
        for (index_type j = 0; j < r; ++j) y[i] += m(i, j) * x[j];
      }
      double norm = 0;
      for (index_type j = 0; j < r; ++j) {
        x[j] = 0;
        for (index_type i = 0; i < c; ++i) x[j] += m(i, j) * y[i];
        norm += x[j] * x[j];
      }
      for (auto& xj : x) xj /= std::sqrt(norm);
    }
    double ymx = 0;
    for (index_type i = 0; i < c; ++i) {
      y[i] = 0;
      for (index_type j = 0; j < r; ++j) y[i] += m(i, j) * x[j];
    }
    for (index_type i = 0; i < c; ++i)
      for (index_type j = 0; j < r; ++j) ymx += y[i] * m(i, j) * x[j];
    strata::HostMatrix<double> s("S", r, c);
    for (index_type p = 0; p < r; ++p)
      for (index_type q = 0; q < c; ++q) s(p, q) = -x[p] * y[q] / ymx;
    add_to_diagonal_block(a, h, level, g, s);
  }
  for (int l = level + 1; l <= a.levels(); ++l) Kokkos::deep_copy(a.level(l).b, h.b[l]);
  Kokkos::deep_copy(a.d(), h.d);
  return a;
}

TYPED_TEST(HssDistributed, UlvSolvesWithSingularSplitBlocks) {
  using T = TypeParam;
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const auto tree = hss::ClusterTree::uniform(256, 16);  // 4 levels, identity order
  ASSERT_TRUE(tree.is_identity());
  // Singular blocks on the split level of this rank count (level 1 on one rank).
  const int level = std::max(hss::split_tree(tree, comm.size()).split_level, 1);
  const auto a = singular_split_hss<T>(exec, tree, 6, level);
  const auto dense = dense_host(exec, a);
  // LAPACK: every A_gg of the level is singular to working precision: the computed A_gg is the
  // exactly singular one plus the rounding of its leaf blocks (<= a few u |D| entrywise), so
  // sigma_min(A_gg) <= ||E||_F <= n_g u ||A_gg||_2 with room for the constants.
  const double u = unit_roundoff<T>();
  for (index_type g = 0; g < hss::ClusterTree::nodes_on_level(level); ++g) {
    const index_type g0 = tree.node_begin(level, g), ng = tree.node_size(level, g);
    strata::HostMatrix<double> block("agg", ng, ng);
    for (index_type j = 0; j < ng; ++j)
      for (index_type i = 0; i < ng; ++i) block(i, j) = dense(g0 + i, g0 + j);
    const auto sv = strata::linalg::host::singular_values(block);
    EXPECT_LE(sv.back(), double(ng) * u * sv.front()) << "A_gg of node " << g << " not singular";
  }
  // ... while A is far from singular (kappa(A) well below 1 / (n u)).
  const double kappa = condition_number(dense);
  EXPECT_LT(kappa * double(tree.size()) * u, 1e-2);
  expect_solution_matches<T>(a, hss::UlvVariant::general, "singular A_gg");
}

TEST(HssDistributedErrors, SingularMatrixAgreedOnEveryRank) {
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const auto tree = hss::ClusterTree::uniform(128, 16);
  // The last leaf's rows and columns are zero (D, U and V zeroed): only the last rank meets the
  // zero pivot, in its local elimination; every rank must throw.
  {
    auto a = hss::make_random_hss<double>(exec, tree, 3, 5);
    const int l = tree.levels();
    auto& leaf_level = a.level(l);
    const index_type last = hss::ClusterTree::nodes_on_level(l) - 1;
    const auto zero = [&](const hss::FlatArray<double>& array, index_type begin, index_type end) {
      Kokkos::deep_copy(Kokkos::subview(array, Kokkos::make_pair(begin, end)), 0.0);
    };
    zero(leaf_level.u, leaf_level.u_offset_host(last), leaf_level.u_offset_host(last + 1));
    zero(leaf_level.v, leaf_level.v_offset_host(last), leaf_level.v_offset_host(last + 1));
    zero(a.d(), a.d_offset_host()(last), a.d_offset_host()(last + 1));
    EXPECT_THROW(hss::ulv_factor<double>(exec, a), strata::NumericalError);
    const auto dist = hss::distribute<double>(exec, comm, a);
    EXPECT_THROW(hss::ulv_factor<double>(exec, dist), strata::NumericalError);
  }
  // The zero matrix with full-rank bases: nothing is eliminated below the root, whose zero block
  // fails in the top factorization (every rank, redundantly).
  {
    const hss::HssMatrix<double> a(tree, hss::uniform_ranks(tree, tree.size()));
    EXPECT_THROW(hss::ulv_factor<double>(exec, a), strata::NumericalError);
    const auto dist = hss::distribute<double>(exec, comm, a);
    EXPECT_THROW(hss::ulv_factor<double>(exec, dist), strata::NumericalError);
  }
  // The ranks are still in step: a collective after the errors completes.
  EXPECT_EQ(comm.allreduce(index_type(1), strata::ReduceOp::sum), index_type(comm.size()));
}

// The 1-D Laplacian tridiag(-1, 2, -1) of order n with Neumann ends (A(0,0) = A(n-1,n-1) = 1:
// singular, null vector of ones) or Dirichlet ends (cond_2 = 1 / tan^2(pi / (2 (n + 1)))), as a
// rank-2 HSS matrix: every off-diagonal block has rank 1, so it is exact to rounding.
hss::HssMatrix<double> laplacian_hss(index_type n, bool neumann) {
  strata::HostMatrix<double> h("laplacian", n, n);
  for (index_type i = 0; i < n; ++i) {
    h(i, i) = 2;
    if (i > 0) h(i, i - 1) = -1;
    if (i + 1 < n) h(i, i + 1) = -1;
  }
  if (neumann) h(0, 0) = h(n - 1, n - 1) = 1;
  Matrix<double> dense("laplacian", n, n);
  Kokkos::deep_copy(dense, h);
  const strata::DenseOperator<double> op(dense);
  hss::CompressOptions o;
  o.rank = 2;
  o.error_probes = 0;
  return hss::compress_from_matvecs(strata::ExecSpace(), op, hss::ClusterTree::uniform(n, 16), o)
      .matrix;
}

// The distributed ulv_solve checks its solution as the single-process one does
// (detail/conditioning.hpp): a matrix singular to working precision is refused on every rank, and
// the lower bound on cond_2 of a nonsingular one is the same on every rank and never above cond_2.
TEST(HssDistributedErrors, UlvSolveRefusesASingularMatrixOnEveryRank) {
  const strata::Comm comm;
  const strata::ExecSpace exec;
  constexpr index_type n = 256;  // 4 levels: split level 2 at 4 ranks
  {
    const auto dist = hss::distribute<double>(exec, comm, laplacian_hss(n, true));
    // The elimination meets no exact zero pivot (nor does the single-process one): only the
    // solve's check can tell that X is meaningless.
    const auto f = hss::ulv_factor<double>(exec, dist);
    Matrix<double> b("b", dist.local_rows(), 2), x("x", dist.local_rows(), 2);
    strata::fill_random(
        exec, strata::RandomStream{strata::Distribution::gaussian, 3, std::uint64_t(comm.rank())},
        b);
    try {
      hss::ulv_solve<double>(exec, f, b, x);
      ADD_FAILURE() << "a singular matrix must be refused";
    } catch (const strata::NumericalError& e) {
      EXPECT_NE(std::string(e.what()).find("singular to working precision"), std::string::npos)
          << e.what();
    }
  }
  {
    const auto dist = hss::distribute<double>(exec, comm, laplacian_hss(n, false));
    const auto f = hss::ulv_factor<double>(exec, dist);
    Matrix<double> b("b", dist.local_rows(), 1), x("x", dist.local_rows(), 1);
    strata::fill_random(
        exec, strata::RandomStream{strata::Distribution::gaussian, 4, std::uint64_t(comm.rank())},
        b);
    const auto r = hss::ulv_solve<double>(exec, f, b, x);
    const double pi = std::acos(-1.0);
    const double kappa = 1 / std::pow(std::tan(pi / (2.0 * (n + 1))), 2);
    // Bounds as in test_ulv_singular.cpp: a lower bound up to the rounding of the solves
    // (relative kappa K u ~ 1e-9), within a factor 2 of kappa (the top eigenvalues of A^T A
    // cluster; the smallest eigenvalue of A is 4x below the next one).
    EXPECT_LE(r.condition_lower_bound, kappa * (1 + 1e-8));
    EXPECT_GE(r.condition_lower_bound, kappa / 2);
    EXPECT_EQ(comm.allreduce(r.condition_lower_bound, strata::ReduceOp::min),
              comm.allreduce(r.condition_lower_bound, strata::ReduceOp::max));
    EXPECT_LE(r.residual, 1e-10);
  }
  // The ranks are still in step: a collective after the error completes.
  EXPECT_EQ(comm.allreduce(index_type(1), strata::ReduceOp::sum), index_type(comm.size()));
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
  // On one rank the callback's exception propagates unchanged (as for compress_from_matvecs); on
  // several, every rank gets it as InternalError (collective.hpp).
  const auto expect_callback_failure = [&](const hss::CompressOptions& o) {
    if (comm.size() == 1) {
      try {
        hss::compress_from_matvecs_distributed<double>(exec, throwing, tree, o);
        ADD_FAILURE() << "the callback's exception was lost";
      } catch (const strata::Error& e) {
        ADD_FAILURE() << "the callback's exception was wrapped: " << e.what();
      } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "user callback failed");
      }
    } else {
      EXPECT_THROW(hss::compress_from_matvecs_distributed<double>(exec, throwing, tree, o),
                   strata::InternalError);
    }
  };
  expect_callback_failure(options);
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
  // An operator whose rows and columns are split differently (vectors need one layout).
  if (comm.size() > 1) {
    std::vector<index_type> counts(static_cast<std::size_t>(comm.size()));
    for (int p = 0; p < comm.size(); ++p)
      counts[static_cast<std::size_t>(p)] = layout.local_rows(p);
    counts[0] += 1;
    counts[counts.size() - 1] -= 1;
    const auto other = strata::BlockRowLayout::from_counts(counts);
    const strata::CallbackOperator<double> mixed(
        comm, layout, other,
        [](const strata::ExecSpace&, const ConstMatrix<double>&, const Matrix<double>&) {},
        [](const strata::ExecSpace&, const ConstMatrix<double>&, const Matrix<double>&) {});
    EXPECT_THROW(hss::compress_from_matvecs_distributed<double>(exec, mixed, tree, options),
                 strata::InvalidArgument);
  }
  // The entries method needs an entry evaluator (single rank, compress_from_matvecs).
  hss::CompressOptions by_entries = options;
  by_entries.method = hss::CompressMethod::entries;
  const strata::CallbackOperator<double> ident(comm, layout, layout, fill, fill);
  EXPECT_THROW(hss::compress_from_matvecs_distributed<double>(exec, ident, tree, by_entries),
               strata::InvalidArgument);
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
  expect_callback_failure(quasi);
  // A replicated operator runs on its own one-rank communicator on every rank.
  const strata::CallbackOperator<double> replicated(tree.size(), tree.size(), fill, fill);
  const auto alone =
      hss::compress_from_matvecs_distributed<double>(exec, replicated, tree, options);
  EXPECT_EQ(alone.matrix.comm().size(), 1);
  EXPECT_EQ(alone.matrix.local_rows(), tree.size());
}

}  // namespace
