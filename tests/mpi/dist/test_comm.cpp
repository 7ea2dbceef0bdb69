#include <gtest/gtest.h>

#include "strata/dist/block_row_layout.hpp"
#include "strata/dist/comm.hpp"

namespace {

TEST(Comm, DuplicatesTheCommunicator) {
  const strata::Comm comm;
#if STRATA_HAVE_MPI
  int world_rank = 0, world_size = 0, result = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  EXPECT_EQ(comm.rank(), world_rank);
  EXPECT_EQ(comm.size(), world_size);
  MPI_Comm_compare(comm.raw(), MPI_COMM_WORLD, &result);
  EXPECT_EQ(result, MPI_CONGRUENT);  // same group, different context: messages cannot collide
  const strata::Comm copy = comm;    // copies share the duplicate
  MPI_Comm_compare(copy.raw(), comm.raw(), &result);
  EXPECT_EQ(result, MPI_IDENT);
  EXPECT_EQ(strata::Comm::self().size(), 1);
#endif
}

TEST(Comm, ScalarCollectives) {
  const strata::Comm comm;
  const int p = comm.size(), r = comm.rank();
  EXPECT_EQ(comm.allreduce(r + 1, strata::ReduceOp::sum), p * (p + 1) / 2);
  EXPECT_EQ(comm.allreduce(static_cast<double>(r), strata::ReduceOp::max), p - 1);
  EXPECT_EQ(comm.allreduce(std::int64_t(r) - 5, strata::ReduceOp::min), -5);
  const auto all = comm.allgather(std::int64_t(10 * r));
  ASSERT_EQ(static_cast<int>(all.size()), p);
  for (int k = 0; k < p; ++k) EXPECT_EQ(all[static_cast<std::size_t>(k)], 10 * k);
  EXPECT_EQ(
      comm.broadcast(r == p - 1 ? std::string("from the last rank") : std::string("x"), p - 1),
      "from the last rank");
}

TEST(Comm, ViewCollectivesInDeviceMemory) {
  const strata::Comm comm;
  const strata::ExecSpace exec;
  strata::Matrix<double> a("a", 4, 3);
  auto h = Kokkos::create_mirror_view(a);
  for (std::size_t j = 0; j < 3; ++j)
    for (std::size_t i = 0; i < 4; ++i)
      h(i, j) = static_cast<double>(comm.rank() + 1) * (i + 10 * j);
  Kokkos::deep_copy(a, h);
  comm.allreduce(exec, a, strata::ReduceOp::sum);
  Kokkos::deep_copy(h, a);
  const double ranks_sum = comm.size() * (comm.size() + 1) / 2.0;
  for (std::size_t j = 0; j < 3; ++j)
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(h(i, j), ranks_sum * (i + 10 * j));

  strata::Vector<float> v("v", 5);
  auto hv = Kokkos::create_mirror_view(v);
  for (std::size_t i = 0; i < 5; ++i) hv(i) = comm.rank() == 0 ? 1.5f * i : -1.0f;
  Kokkos::deep_copy(v, hv);
  comm.broadcast(exec, v, 0);
  Kokkos::deep_copy(hv, v);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(hv(i), 1.5f * i);

  // A strided subview cannot go to MPI as is: a clear error, on every rank alike.
  auto column_pair = Kokkos::subview(a, Kokkos::make_pair(0, 2), Kokkos::ALL);
  EXPECT_THROW(comm.allreduce(exec, column_pair, strata::ReduceOp::sum), strata::InvalidArgument);
}

TEST(BlockRowLayout, BalancedSplitAndOwners) {
  const strata::BlockRowLayout layout(10, 4);  // 3, 3, 2, 2
  EXPECT_EQ(layout.global_rows(), 10);
  EXPECT_EQ(layout.num_ranks(), 4);
  EXPECT_EQ(layout.local_rows(0), 3);
  EXPECT_EQ(layout.local_rows(1), 3);
  EXPECT_EQ(layout.local_rows(3), 2);
  EXPECT_EQ(layout.row_begin(2), 6);
  for (strata::index_type i = 0; i < 10; ++i) {
    const int r = layout.owner(i);
    EXPECT_GE(i, layout.row_begin(r));
    EXPECT_LT(i, layout.row_end(r));
  }
  const auto uneven = strata::BlockRowLayout::from_counts({0, 5, 0, 2});
  EXPECT_EQ(uneven.owner(0), 1);
  EXPECT_EQ(uneven.owner(5), 3);
  EXPECT_THROW(uneven.owner(7), strata::InvalidArgument);
  EXPECT_THROW(strata::BlockRowLayout(5, 0), strata::InvalidArgument);
  EXPECT_THROW(strata::BlockRowLayout::from_counts({3, -1}), strata::InvalidArgument);
  const strata::BlockRowLayout tiny(2, 4);  // more ranks than rows: two empty ranks
  EXPECT_EQ(tiny.local_rows(2), 0);
  EXPECT_EQ(tiny.local_rows(3), 0);
}

TEST(BlockRowLayout, FromLocalRowsIsCollective) {
  const strata::Comm comm;
  const auto layout = strata::BlockRowLayout::from_local_rows(comm, comm.rank() + 1);
  EXPECT_EQ(layout.num_ranks(), comm.size());
  EXPECT_EQ(layout.global_rows(), comm.size() * (comm.size() + 1) / 2);
  EXPECT_EQ(layout.local_rows(comm.rank()), comm.rank() + 1);
}

}  // namespace
