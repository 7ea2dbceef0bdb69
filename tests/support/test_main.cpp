// GoogleTest main for every Strata test: initializes MPI and Kokkos, prints only on rank 0, and
// makes a failure on any rank fail the exit code of every rank.
#include <gtest/gtest.h>

#include "strata/core/runtime.hpp"
#include "strata/dist/comm.hpp"

int main(int argc, char** argv) {
  strata::ScopeGuard guard(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  int status = 0;
  {
    const strata::Comm world;
    if (world.rank() != 0) {
      auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
      delete listeners.Release(listeners.default_result_printer());
    }
    const int local = RUN_ALL_TESTS();
    status = world.allreduce(local, strata::ReduceOp::max);
    if (status != 0 && local == 0) {
      // This rank passed; say so, since its printer is silent and rank 0 may have passed too.
      std::fprintf(stderr, "[rank %d] a test failed on another rank\n", world.rank());
    }
  }
  return status;
}
