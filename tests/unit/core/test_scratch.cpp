// The scratch cache of core/scratch.hpp with the cache on (it is off by default on host backends,
// so this sets STRATA_SCRATCH_CACHE_MB before the first use): buffers released by one Scratch are
// found again by the next request of the same rounded size, zeroed requests are zero even on a
// reused dirty buffer, the limit is honoured, and clearing empties the cache.
#include <gtest/gtest.h>

#include <cstdlib>

#include "strata/core/scratch.hpp"
#include "strata/core/types.hpp"

namespace {

// Before main (and so before the limit is read once per process).
const int g_env = setenv("STRATA_SCRATCH_CACHE_MB", "1", 1);

using Values = Kokkos::View<double*, strata::MemSpace>;

TEST(Scratch, ReleasedBuffersAreReusedBySize) {
  ASSERT_EQ(g_env, 0);
  ASSERT_EQ(strata::detail::scratch_cache_limit(), std::size_t(1) << 20);
  strata::detail::clear_scratch_cache();
  const strata::ExecSpace exec;
  const double* first = nullptr;
  const double* second = nullptr;
  {
    strata::detail::Scratch s(exec);
    const auto a = s.uninitialized<Values>(1000);
    const auto b = s.uninitialized<strata::Matrix<double>>(10, 100);  // same bytes, another buffer
    EXPECT_NE(a.data(), b.data());
    EXPECT_EQ(a.extent(0), 1000u);
    EXPECT_EQ(b.extent(0), 10u);
    EXPECT_EQ(b.extent(1), 100u);
    first = a.data();
    second = b.data();
    EXPECT_EQ(strata::detail::scratch_cache_bytes(), 0u);  // both taken, none cached yet
  }
  // 8000 bytes round to 8192: two buffers of 8192 bytes are cached now.
  EXPECT_EQ(strata::detail::scratch_cache_bytes(), 2u * 8192u);
  {
    strata::detail::Scratch s(exec);
    const auto a = s.uninitialized<Values>(1001);  // 8008 bytes: the same size class
    EXPECT_TRUE(a.data() == first || a.data() == second);
    const auto c = s.uninitialized<Values>(5000);  // another size: a new buffer
    EXPECT_NE(c.data(), first);
    EXPECT_NE(c.data(), second);
    EXPECT_EQ(strata::detail::scratch_cache_bytes(), 8192u);
  }
  EXPECT_EQ(strata::detail::scratch_cache_bytes(), 2u * 8192u + 40448u);
  strata::detail::clear_scratch_cache();
  EXPECT_EQ(strata::detail::scratch_cache_bytes(), 0u);
}

TEST(Scratch, ZeroedIsZeroOnADirtyReusedBuffer) {
  strata::detail::clear_scratch_cache();
  const strata::ExecSpace exec;
  const double* dirty = nullptr;
  {
    strata::detail::Scratch s(exec);
    const auto a = s.uninitialized<Values>(777);
    Kokkos::deep_copy(exec, a, 3.5);
    dirty = a.data();
  }
  strata::detail::Scratch s(exec);
  const auto z = s.zeroed<Values>(777);
  ASSERT_EQ(z.data(), dirty);  // the same buffer came back
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), z);
  for (std::size_t i = 0; i < host.extent(0); ++i) ASSERT_EQ(host(i), 0.0) << i;
}

TEST(Scratch, TheLimitIsHonoured) {
  strata::detail::clear_scratch_cache();
  const strata::ExecSpace exec;
  {
    strata::detail::Scratch s(exec);
    // 3 x 400 KiB = 1.2 MB > the 1 MiB limit: two are cached, the third is freed.
    for (int k = 0; k < 3; ++k) (void)s.uninitialized<Values>(51200);
  }
  EXPECT_EQ(strata::detail::scratch_cache_bytes(), 2u * 409600u);
  {
    strata::detail::Scratch s(exec);
    // More than the limit in one buffer: never cached.
    (void)s.uninitialized<Values>(200000);
  }
  EXPECT_EQ(strata::detail::scratch_cache_bytes(), 2u * 409600u);
  {
    // A new shape makes room for itself by dropping the oldest cached buffer: 409600 + 300032
    // (= 37504 doubles x 8 bytes, rounded to 512) stay, 1.2 MB would not fit.
    strata::detail::Scratch s(exec);
    (void)s.uninitialized<Values>(37504);
  }
  EXPECT_EQ(strata::detail::scratch_cache_bytes(), 409600u + 300032u);
  // The public release returns what the cache held and empties it.
  EXPECT_EQ(strata::release_cached_memory(), 409600u + 300032u);
  EXPECT_EQ(strata::detail::scratch_cache_bytes(), 0u);
}

}  // namespace
