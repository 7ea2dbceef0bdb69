// GMRES and CG on block-row distributed operators give the single-rank iterations and solutions
// (to rounding) at 1, 2 and 4 ranks: a distributed dense matrix, and an exact kernel operator
// preconditioned by a distributed HSS ULV solve. Bad input on one rank fails on every rank.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "strata/core/error.hpp"
#include "strata/hss/compress_matvec.hpp"
#include "strata/hss/distributed.hpp"
#include "strata/hss/hss_operator.hpp"
#include "strata/hss/problems.hpp"
#include "strata/krylov/cg.hpp"
#include "strata/krylov/gmres.hpp"
#include "support/krylov_matrices.hpp"

namespace {

namespace krylov = strata::krylov;
namespace t = strata::testing;
using strata::index_type;

constexpr index_type n = 96;

/// This rank's rows of a replicated device matrix.
strata::DistMatrix<double> rows_of(const strata::Comm& comm, const strata::BlockRowLayout& layout,
                                   const strata::Matrix<double>& full) {
  strata::DistMatrix<double> a(comm, layout, static_cast<index_type>(full.extent(1)));
  const auto begin = static_cast<std::size_t>(a.row_begin());
  const auto end = begin + static_cast<std::size_t>(a.local_rows());
  Kokkos::deep_copy(a.local(), Kokkos::subview(full, Kokkos::make_pair(begin, end), Kokkos::ALL));
  return a;
}

/// Solves with the replicated and the distributed form of one dense matrix and compares.
void compare_with_single_rank(const strata::HostMatrix<double>& host, bool use_cg) {
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const double kappa = 100;
  const auto full = t::to_device<double>(host);
  const auto b_full = t::to_device<double>(t::host_gaussian(n, 2, 7));
  const strata::BlockRowLayout layout(n, comm.size());
  const strata::DenseOperator<double> replicated(full);
  const strata::DistDenseOperator<double> distributed(rows_of(comm, layout, full));
  krylov::KrylovOptions o;
  o.tolerance = 1e-10;
  o.restart = static_cast<int>(n);  // full GMRES: at most n iterations
  strata::DistMatrix<double> b1(strata::Comm::self(), n, 2), x1(strata::Comm::self(), n, 2);
  Kokkos::deep_copy(b1.local(), b_full);
  const auto b = rows_of(comm, layout, b_full);
  strata::DistMatrix<double> x(comm, layout, 2);
  const auto single =
      use_cg ? krylov::cg(exec, replicated, b1, x1, o) : krylov::gmres(exec, replicated, b1, x1, o);
  const auto dist =
      use_cg ? krylov::cg(exec, distributed, b, x, o) : krylov::gmres(exec, distributed, b, x, o);
  EXPECT_TRUE(single.converged);
  EXPECT_TRUE(dist.converged);
  ASSERT_EQ(dist.columns.size(), 2u);
  for (std::size_t j = 0; j < 2; ++j) {
    // Only the order of the sums differs (row blocks, allreduce): the residual histories agree to
    // a few ulps times the growth of rounding over the iterations, far from any tolerance
    // threshold, so the counts are equal.
    EXPECT_EQ(dist.columns[j].iterations, single.columns[j].iterations);
    EXPECT_NEAR(dist.columns[j].relative_residual, single.columns[j].relative_residual, 1e-12);
  }
  // Solutions: both have relative residual <= 1e-10, so they differ by <= 2 kappa 1e-10 at most.
  const auto x_dist = strata::allgather_rows<double>(exec, x);
  const auto xs = t::to_host(x1.local());
  for (std::size_t j = 0; j < 2; ++j) {
    strata::HostMatrix<double> ref("ref", n, 2);
    Kokkos::deep_copy(ref, xs);
    EXPECT_LE(t::relative_error(t::to_host(x_dist), ref, j), 2 * kappa * 1e-10);
  }
}

TEST(KrylovDistributed, GmresMatchesSingleRank) {
  compare_with_single_rank(t::nonsymmetric(n, 100, 3), false);
}

TEST(KrylovDistributed, CgMatchesSingleRank) {
  compare_with_single_rank(t::spd(n, 100, 4), true);
}

TEST(KrylovDistributed, HssPreconditionedGmresMatchesSingleRank) {
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const index_type size = 1024;
  const auto problem = strata::hss::make_problem<double>("cauchy-1d", size);
  const auto points = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), problem->points());
  const auto tree = strata::hss::ClusterTree::geometric(points, 64);
  strata::hss::CompressOptions c;
  c.tolerance = 1e-4;
  strata::hss::HssOperatorOptions h;
  h.mode = strata::hss::HssOperatorMode::inverse;
  h.factor_transpose = false;
  krylov::KrylovOptions o;
  o.tolerance = 1e-10;
  const auto b_full = t::to_device<double>(t::host_gaussian(size, 1, 5));

  const auto op1 = strata::hss::make_operator<double>(problem);
  const auto h1 = strata::hss::compress_from_matvecs(exec, *op1, tree, c);
  const strata::hss::HssOperator<double> m1(exec, h1.matrix, h);
  strata::DistMatrix<double> b1(strata::Comm::self(), size, 1), x1(strata::Comm::self(), size, 1);
  Kokkos::deep_copy(b1.local(), b_full);
  const auto single = krylov::gmres(exec, *op1, m1, b1, x1, o);

  const auto op = strata::hss::make_operator<double>(problem, comm);
  const auto hd = strata::hss::compress_from_matvecs_distributed<double>(exec, *op, tree, c);
  const strata::hss::HssOperator<double> m(exec, hd.matrix, h);
  const auto b = rows_of(comm, op->row_layout(), b_full);
  strata::DistMatrix<double> x(comm, op->row_layout(), 1);
  const auto dist = krylov::gmres(exec, *op, m, b, x, o);

  EXPECT_TRUE(single.converged);
  EXPECT_TRUE(dist.converged);
  EXPECT_LE(dist.iterations, 10);
  EXPECT_EQ(dist.iterations, single.iterations);
  EXPECT_LE(dist.relative_residual, 1e-10);
  // Both solve the same system: x_d - x_s = A^{-1} (r_s - r_d), so ||x_d - x_s|| / ||x_s|| <=
  // cond_2(A) (rel_d + rel_s) (1 + rel_s), cond_2 from LAPACK's singular values of the dense
  // matrix (on rank 0, shared).
  double kappa = 0;
  if (comm.rank() == 0) {
    const auto s = strata::linalg::host::singular_values<double>(t::to_host(problem->dense(exec)));
    kappa = s.front() / s.back();
  }
  kappa = comm.allreduce(kappa, strata::ReduceOp::max);
  strata::HostMatrix<double> ref("ref", size, 1);
  Kokkos::deep_copy(ref, t::to_host(x1.local()));
  const double bound =
      kappa * (dist.relative_residual + single.relative_residual) * (1 + single.relative_residual);
  EXPECT_LE(t::relative_error(t::to_host(strata::allgather_rows<double>(exec, x)), ref, 0), bound)
      << "cond_2(A) = " << kappa;
}

TEST(KrylovDistributed, BadInputOnOneRankFailsOnEveryRank) {
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const strata::BlockRowLayout layout(n, comm.size());
  const auto full = t::to_device<double>(t::spd(n, 10, 8));
  const strata::DistDenseOperator<double> a(rows_of(comm, layout, full));
  auto b = rows_of(comm, layout, t::to_device<double>(t::host_gaussian(n, 1, 9)));
  strata::DistMatrix<double> x(comm, layout, 1);
  if (comm.rank() == comm.size() - 1 && b.local_rows() > 0)
    Kokkos::deep_copy(Kokkos::subview(b.local(), 0, 0), std::numeric_limits<double>::infinity());
  EXPECT_THROW(krylov::gmres(exec, a, b, x), strata::NonFiniteInput);
  EXPECT_THROW(krylov::cg(exec, a, b, x), strata::NonFiniteInput);
  // A solve after the failure still works on every rank (no rank was left in a collective).
  auto good = rows_of(comm, layout, t::to_device<double>(t::host_gaussian(n, 1, 10)));
  EXPECT_TRUE(krylov::cg(exec, a, good, x).converged);
}

}  // namespace
