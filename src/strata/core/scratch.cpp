#include "strata/core/scratch.hpp"

#include <cerrno>
#include <cstdlib>
#include <deque>
#include <iterator>
#include <mutex>

#include "strata/core/error.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/launch.hpp"

namespace strata::detail {

namespace {

using Block = Kokkos::View<unsigned char*, MemSpace>;

/// STRATA_SCRATCH_CACHE_MB: a non-negative integer of megabytes; unset: 4096 on device backends,
/// 0 on host backends. Anything else is an error (a typo must not silently disable the cache).
std::size_t read_limit() {
  const char* text = std::getenv("STRATA_SCRATCH_CACHE_MB");
  if (text == nullptr || *text == '\0') {
    return kx::runs_on_host<ExecSpace> ? 0 : std::size_t(4096) << 20;
  }
  char* end = nullptr;
  errno = 0;
  const long long mb = std::strtoll(text, &end, 10);
  STRATA_REQUIRE(*end == '\0' && errno == 0 && mb >= 0 && mb <= (1LL << 30), InvalidArgument,
                 "STRATA_SCRATCH_CACHE_MB must be a number of megabytes in [0, 2^30], not '", text,
                 "'");
  return static_cast<std::size_t>(mb) << 20;
}

/// Sizes are rounded so that near-equal requests share buffers: 512 bytes, 64 KiB above 1 MiB.
std::size_t rounded(std::size_t bytes) {
  const std::size_t unit = bytes > (std::size_t(1) << 20) ? std::size_t(1) << 16 : 512;
  return (bytes + unit - 1) / unit * unit;
}

struct Cache {
  std::mutex mutex;
  std::deque<Block> free;  // released buffers, oldest first (a few dozen at most: linear scans)
  std::size_t bytes = 0;
  bool hook = false;

  void clear_locked() {
    free.clear();
    bytes = 0;
  }
};

Cache& cache() {
  static Cache* c =
      new Cache;  // never destroyed: Views must go before Kokkos::finalize, not at exit
  return *c;
}

}  // namespace

std::size_t scratch_cache_limit() {
  static const std::size_t limit = read_limit();
  return limit;
}

std::size_t scratch_cache_bytes() {
  Cache& c = cache();
  const std::lock_guard<std::mutex> lock(c.mutex);
  return c.bytes;
}

void clear_scratch_cache() {
  Cache& c = cache();
  const std::lock_guard<std::mutex> lock(c.mutex);
  c.clear_locked();
}

}  // namespace strata::detail

namespace strata {

std::size_t release_cached_memory() {
  auto& c = detail::cache();
  const std::lock_guard<std::mutex> lock(c.mutex);
  const std::size_t bytes = c.bytes;
  c.clear_locked();
  return bytes;
}

}  // namespace strata

namespace strata::detail {

void* Scratch::take(std::size_t bytes) {
  const std::size_t size = rounded(bytes == 0 ? 1 : bytes);
  Cache& c = cache();
  if (scratch_cache_limit() > 0) {
    const std::lock_guard<std::mutex> lock(c.mutex);
    if (!c.hook) {
      // Registered per Kokkos lifetime (a later Kokkos::initialize registers again).
      Kokkos::push_finalize_hook([] {
        Cache& cc = cache();
        const std::lock_guard<std::mutex> hook_lock(cc.mutex);
        cc.clear_locked();
        cc.hook = false;
      });
      c.hook = true;
    }
    // The most recently released buffer of this size.
    for (auto it = c.free.rbegin(); it != c.free.rend(); ++it) {
      if (it->extent(0) != size) continue;
      blocks_.push_back(*it);
      c.bytes -= size;
      c.free.erase(std::next(it).base());
      return blocks_.back().data();
    }
  }
  const auto allocate = [&] {
    return Block(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::scratch"), size);
  };
  try {
    blocks_.push_back(allocate());
  } catch (const std::exception&) {
    // The cache may hold the memory this needs: give it back and try once more.
    if (scratch_cache_bytes() == 0) throw;
    clear_scratch_cache();
    blocks_.push_back(allocate());
  }
  return blocks_.back().data();
}

Scratch::~Scratch() {
  if (blocks_.empty()) return;
  const std::size_t limit = scratch_cache_limit();
  if (limit == 0) return;  // the Views free their buffers
  // No kernel of this call may still use a buffer that another call takes next.
  try {
    kx::fence(exec_, "strata::Scratch::release");
  } catch (...) {
    return;  // a failed device: free instead of caching
  }
  Cache& c = cache();
  const std::lock_guard<std::mutex> lock(c.mutex);
  for (auto& b : blocks_) {
    const std::size_t size = b.extent(0);
    if (size > limit) continue;  // never cached: freed with the View below
    // Room for it by dropping the oldest released buffers (shapes of earlier calls).
    while (c.bytes + size > limit && !c.free.empty()) {
      c.bytes -= c.free.front().extent(0);
      c.free.pop_front();
    }
    c.free.push_back(b);
    c.bytes += size;
  }
}

}  // namespace strata::detail
