// strata::ScopeGuard inside a host code that brought up MPI and Kokkos itself: the guard must use
// them as they are and leave them running when it goes away.
#include <gtest/gtest.h>

#include "strata/config.hpp"
#include "strata/core/runtime.hpp"
#include "strata/dist/comm.hpp"

#if STRATA_HAVE_MPI
#include <mpi.h>
#endif

namespace {
int g_argc = 0;
char** g_argv = nullptr;

TEST(ScopeGuard, LeavesHostInitializedLibrariesRunning) {
  {
    strata::ScopeGuard guard(g_argc, g_argv);
    EXPECT_FALSE(guard.owns_kokkos());
    EXPECT_FALSE(guard.owns_mpi());
    const strata::Comm comm;  // usable inside the guard
    EXPECT_EQ(comm.allreduce(1, strata::ReduceOp::sum), comm.size());
  }
  EXPECT_TRUE(Kokkos::is_initialized());
#if STRATA_HAVE_MPI
  int finalized = 1;
  MPI_Finalized(&finalized);
  EXPECT_FALSE(finalized);
#endif
  // A second guard works too (e.g. two libraries built on Strata in one code).
  strata::ScopeGuard again(g_argc, g_argv);
  EXPECT_FALSE(again.owns_kokkos());
}
}  // namespace

int main(int argc, char** argv) {
#if STRATA_HAVE_MPI
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
#endif
  Kokkos::initialize(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  g_argc = argc;
  g_argv = argv;
  const int status = RUN_ALL_TESTS();
  Kokkos::finalize();
#if STRATA_HAVE_MPI
  MPI_Finalize();
#endif
  return status;
}
