#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "strata/core/checks.hpp"
#include "strata/core/error.hpp"

namespace {

using strata::ErrorCode;

TEST(Errors, ThrowErrorMapsEveryCodeToItsClass) {
  auto code_of = [](ErrorCode code) {
    try {
      strata::throw_error(code, "message");
    } catch (const strata::InvalidArgument&) {
      return ErrorCode::invalid_argument;
    } catch (const strata::ShapeMismatch&) {
      return ErrorCode::shape_mismatch;
    } catch (const strata::NonFiniteInput&) {
      return ErrorCode::non_finite;
    } catch (const strata::IOError&) {
      return ErrorCode::io;
    } catch (const strata::Unsupported&) {
      return ErrorCode::unsupported;
    } catch (const strata::NumericalError&) {
      return ErrorCode::numerical;
    } catch (const strata::CommunicationError&) {
      return ErrorCode::communication;
    } catch (const strata::InternalError&) {
      return ErrorCode::internal;
    }
    return static_cast<ErrorCode>(0);
  };
  for (int c = 1; c <= 8; ++c) {
    EXPECT_EQ(code_of(static_cast<ErrorCode>(c)), static_cast<ErrorCode>(c)) << "code " << c;
  }
}

TEST(Errors, RequireCarriesMessageAndLocation) {
  try {
    const int rank = -3;
    STRATA_REQUIRE(rank > 0, InvalidArgument, "rank must be > 0, got ", rank);
    FAIL() << "no exception";
  } catch (const strata::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_STREQ(e.what(), "rank must be > 0, got -3");
    EXPECT_NE(e.where().find("test_errors.cpp:"), std::string::npos) << e.where();
  }
}

TEST(Checks, ShapeNonEmptyAndIntConversion) {
  Kokkos::View<double**, Kokkos::LayoutLeft, Kokkos::HostSpace> a("a", 3, 4);
  EXPECT_NO_THROW(strata::require_shape(a, 3, 4, "A"));
  try {
    strata::require_shape(a, 4, 3, "A");
    FAIL();
  } catch (const strata::ShapeMismatch& e) {
    EXPECT_STREQ(e.what(), "A has shape 3 x 4, expected 4 x 3");
  }
  Kokkos::View<double**, Kokkos::LayoutLeft, Kokkos::HostSpace> empty("e", 0, 4);
  EXPECT_THROW(strata::require_nonempty(empty, "A"), strata::InvalidArgument);
  EXPECT_NO_THROW(strata::require_nonempty(a, "A"));
  EXPECT_EQ(strata::checked_int(12345, "n"), 12345);
  EXPECT_THROW(strata::checked_int(std::int64_t(1) << 31, "n"), strata::InvalidArgument);
  EXPECT_THROW(strata::checked_int(-1, "n"), strata::InvalidArgument);
}

TEST(Checks, FiniteCountsNaNAndInfOnTheDevice) {
  strata::Matrix<double> a("a", 5, 7);
  EXPECT_EQ(strata::count_non_finite(strata::ExecSpace(), a), 0);
  EXPECT_NO_THROW(strata::require_finite(strata::ExecSpace(), a, "A"));
  auto h = Kokkos::create_mirror_view(a);
  Kokkos::deep_copy(h, a);
  h(1, 2) = std::numeric_limits<double>::quiet_NaN();
  h(4, 6) = std::numeric_limits<double>::infinity();
  h(0, 0) = -std::numeric_limits<double>::infinity();
  Kokkos::deep_copy(a, h);
  EXPECT_EQ(strata::count_non_finite(strata::ExecSpace(), a), 3);
  try {
    strata::require_finite(strata::ExecSpace(), a, "input matrix");
    FAIL();
  } catch (const strata::NonFiniteInput& e) {
    EXPECT_STREQ(e.what(), "input matrix contains 3 NaN or Inf entries; expected finite numbers");
  }
  strata::Vector<float> v("v", 10);
  auto hv = Kokkos::create_mirror_view(v);
  Kokkos::deep_copy(hv, 1.0f);
  hv(9) = std::numeric_limits<float>::quiet_NaN();
  Kokkos::deep_copy(v, hv);
  EXPECT_EQ(strata::count_non_finite(strata::ExecSpace(), v), 1);
}

}  // namespace
