// The distributed problem operator gives, at any rank count, this rank's rows of the replicated
// product A X (and A^T X), to rounding.
#include <gtest/gtest.h>

#include <limits>

#include "strata/dist/operations.hpp"
#include "strata/hss/problems.hpp"
#include "support/allclose.hpp"

namespace {

namespace hss = strata::hss;
using strata::index_type;
using strata::Matrix;
using strata::testing::AllClose;

template <class T>
class ProblemOperator : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ProblemOperator, Scalars);

template <class T>
void expect_distributed_matches_replicated(const std::string& name, index_type n,
                                           const hss::ProblemOptions& options, bool transpose) {
  SCOPED_TRACE(name);
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const auto problem = hss::make_problem<T>(name, n, options);
  const std::size_t k = 5;
  const strata::RandomStream stream{strata::Distribution::gaussian, 21, 0};
  Matrix<T> x("x", static_cast<std::size_t>(n), k), y("y", static_cast<std::size_t>(n), k);
  strata::fill_random(exec, stream, x);
  if (transpose) {
    problem->apply_transpose(exec, x, y);
  } else {
    problem->apply(exec, x, y);
  }
  const auto op = hss::make_operator<T>(problem, comm);
  const auto& layout = op->row_layout();
  const auto begin = static_cast<std::size_t>(layout.row_begin(comm.rank()));
  const auto end = static_cast<std::size_t>(layout.row_end(comm.rank()));
  strata::DistMatrix<T> x_local(comm, layout, static_cast<index_type>(k)),
      y_local(comm, layout, static_cast<index_type>(k));
  strata::fill_random(exec, stream, x_local);
  if (transpose) {
    op->apply_transpose(exec, x_local.local(), y_local.local());
  } else {
    op->apply(exec, x_local.local(), y_local.local());
  }
  // The same arithmetic on every rank (the rows of a tile may start at another offset, which
  // changes no sum), so agreement is to the last bit up to the summation order: allow
  // 2 N u |Y|max.
  const auto expected = Kokkos::subview(y, Kokkos::make_pair(begin, end), Kokkos::ALL);
  const auto yh = strata::testing::to_host(y);
  double scale = 0;
  for (std::size_t v = 0; v < k; ++v) {
    for (std::size_t i = 0; i < yh.extent(0); ++i)
      scale = std::max(scale, std::abs(double(yh(i, v))));
  }
  const double u = std::numeric_limits<T>::epsilon() / 2;
  EXPECT_THAT(y_local.local(), AllClose(expected, 0.0, 2 * n * u * scale));
}

TYPED_TEST(ProblemOperator, DistributedRowsMatchTheReplicatedProduct) {
  using T = TypeParam;
  expect_distributed_matches_replicated<T>("laplace-2d", 203, {}, false);
  expect_distributed_matches_replicated<T>("exponential-3d", 150, {}, true);
  hss::ProblemOptions grid;
  grid.grid_rows = 5;
  expect_distributed_matches_replicated<T>("schur-grid", 64, grid, false);
  hss::ProblemOptions skewed;
  skewed.band = 3;
  skewed.skew = -0.4;
  expect_distributed_matches_replicated<T>("banded-inverse", 90, skewed, true);
}

TYPED_TEST(ProblemOperator, LayoutMustCoverTheProblem) {
  using T = TypeParam;
  const strata::Comm comm;
  const auto problem = hss::make_problem<T>("cauchy-1d", 40);
  EXPECT_THROW(hss::make_operator<T>(problem, comm, strata::BlockRowLayout(41, comm.size())),
               strata::InvalidArgument);
}

}  // namespace
