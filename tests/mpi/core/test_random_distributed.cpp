// A random DistMatrix is the same global matrix for any number of ranks and any row distribution:
// every rank's block is bitwise equal to the same rows of the matrix generated in one piece.
#include <gtest/gtest.h>

#include "strata/dist/operations.hpp"

namespace {

template <class T>
void expect_block_matches_whole(const strata::RandomStream& s, const strata::DistMatrix<T>& x) {
  strata::Matrix<T> whole("whole", static_cast<std::size_t>(x.global_rows()),
                          static_cast<std::size_t>(x.cols()));
  strata::fill_random(strata::ExecSpace(), s, whole);
  const auto w = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), whole);
  const auto local = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x.local());
  int mismatches = 0;
  for (std::size_t j = 0; j < local.extent(1); ++j)
    for (std::size_t i = 0; i < local.extent(0); ++i)
      mismatches += local(i, j) != w(static_cast<std::size_t>(x.row_begin()) + i, j);
  EXPECT_EQ(mismatches, 0) << "rank " << x.comm().rank();
  // And the gathered matrix equals the whole one bitwise on every rank.
  const auto gathered = Kokkos::create_mirror_view_and_copy(
      Kokkos::HostSpace(), strata::allgather_rows(strata::ExecSpace(), x));
  for (std::size_t j = 0; j < w.extent(1); ++j)
    for (std::size_t i = 0; i < w.extent(0); ++i) ASSERT_EQ(gathered(i, j), w(i, j));
}

template <class T>
class RandomDistributed : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(RandomDistributed, Scalars);

TYPED_TEST(RandomDistributed, BalancedLayoutGivesTheSameGlobalMatrix) {
  const strata::Comm comm;
  for (const auto dist : {strata::Distribution::gaussian, strata::Distribution::rademacher}) {
    const strata::RandomStream s{dist, 123456789, 4};
    strata::DistMatrix<TypeParam> x(comm, 103, 37);
    strata::fill_random(strata::ExecSpace(), s, x);
    expect_block_matches_whole(s, x);
  }
}

TYPED_TEST(RandomDistributed, UnevenLayoutWithEmptyRanksGivesTheSameGlobalMatrix) {
  const strata::Comm comm;
  // Rank r owns 7 r rows except rank 1, which owns none.
  std::vector<strata::index_type> counts;
  for (int r = 0; r < comm.size(); ++r) counts.push_back(r == 1 ? 0 : 7 * r + 3);
  const auto layout = strata::BlockRowLayout::from_counts(counts);
  const strata::RandomStream s{strata::Distribution::gaussian, 77, 0};
  strata::DistMatrix<TypeParam> x(comm, layout, 9);
  strata::fill_random(strata::ExecSpace(), s, x);
  expect_block_matches_whole(s, x);
}

}  // namespace
