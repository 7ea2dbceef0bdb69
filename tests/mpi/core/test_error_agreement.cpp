// A failure on some ranks inside a collective phase becomes the same exception on every rank, with
// no deadlock, and the communicator stays usable afterwards.
#include <gtest/gtest.h>

#include <new>
#include <stdexcept>

#include "strata/dist/collective.hpp"

namespace {

TEST(ErrorAgreement, NoFailureReturnsTheLocalResult) {
  const strata::Comm comm;
  const int value = strata::collective(comm, [&] { return 10 * comm.rank() + 1; });
  EXPECT_EQ(value, 10 * comm.rank() + 1);
}

TEST(ErrorAgreement, FailureOnTheLastRankOnlyIsRaisedEverywhere) {
  const strata::Comm comm;
  const int bad = comm.size() - 1;
  try {
    strata::collective(comm, [&] {
      STRATA_REQUIRE(comm.rank() != bad, ShapeMismatch, "local block has 3 rows, expected 4");
    });
    FAIL() << "rank " << comm.rank() << " did not throw";
  } catch (const strata::ShapeMismatch& e) {
    const std::string expected =
        comm.size() == 1 ? "local block has 3 rows, expected 4"
                         : "rank " + std::to_string(bad) + ": local block has 3 rows, expected 4";
    EXPECT_EQ(std::string(e.what()), expected);
  }
  // The communicator is still in step: a collective after the failure completes on every rank.
  EXPECT_EQ(comm.allreduce(1, strata::ReduceOp::sum), comm.size());
}

TEST(ErrorAgreement, SeveralFailuresReportTheLowestRankAndTheCount) {
  const strata::Comm comm;
  if (comm.size() < 4) GTEST_SKIP() << "needs 4 ranks";
  try {
    strata::collective(comm, [&] {
      if (comm.rank() == 3) throw strata::IOError("cannot open 'x.h5': no such file");
      if (comm.rank() == 1) throw strata::NonFiniteInput("A contains 2 NaN or Inf entries");
    });
    FAIL();
  } catch (const strata::NonFiniteInput& e) {
    EXPECT_EQ(std::string(e.what()),
              "rank 1: A contains 2 NaN or Inf entries (1 other rank failed too)");
  }
}

TEST(ErrorAgreement, ForeignExceptionsBecomeInternalErrors) {
  const strata::Comm comm;
  const int bad = comm.size() / 2;
  EXPECT_THROW(strata::collective(comm,
                                  [&] {
                                    if (comm.rank() == bad) throw std::bad_alloc();
                                  }),
               strata::InternalError);
  try {
    strata::collective(comm, [&] {
      if (comm.rank() == bad) throw std::logic_error("bug");
    });
    FAIL();
  } catch (const strata::InternalError& e) {
    EXPECT_EQ(std::string(e.what()),
              comm.size() == 1 ? "bug" : "rank " + std::to_string(bad) + ": bug");
  }
}

TEST(ErrorAgreement, RepeatedFailuresDoNotDesynchronize) {
  const strata::Comm comm;
  for (int round = 0; round < 20; ++round) {
    const int bad = round % comm.size();
    EXPECT_THROW(strata::collective(comm,
                                    [&] {
                                      if (comm.rank() == bad)
                                        throw strata::InvalidArgument("round failure");
                                    }),
                 strata::InvalidArgument);
  }
  EXPECT_EQ(comm.allreduce(comm.rank(), strata::ReduceOp::max), comm.size() - 1);
}

}  // namespace
