// Reused device scratch for drivers that are called again and again with the same shapes (an
// optimizer's polar factor of every weight matrix at every step, a time stepper's randomized SVD).
//
// Kokkos allocates every View of a CUDA build with cudaMalloc and frees it with cudaFree (unless
// Kokkos was configured with Kokkos_ENABLE_IMPL_CUDA_MALLOC_ASYNC, off by default): each costs tens
// to hundreds of microseconds, and cudaFree waits for the whole device. A driver whose work takes a
// millisecond or two (a bf16 Polar Express of a 2048^2 matrix: 8 steps of 0.09 ms of GEMMs) spent
// as long again on its temporaries. PyTorch hides the same cost with its caching allocator; this is
// Strata's, for its own temporaries only (users' Views are never touched):
//  - A Scratch lives inside one driver call and hands out uninitialized (or zeroed, on the
//    driver's stream) Views over buffers taken from a process-wide cache. Its destructor fences the
//    driver's execution space once and returns the buffers, so no kernel can still be using a
//    buffer when another call takes it.
//  - The cache keeps released buffers up to STRATA_SCRATCH_CACHE_MB megabytes (default 4096 on
//    device backends, enough for a bf16 Muon step of 128 weights of 1024^2, 2.5 GB; 0 on host
//    backends, whose allocator is cheap: there a Scratch allocates and frees as before). A
//    released buffer makes room for itself by dropping the oldest cached ones (buffers larger
//    than the limit are freed). The cache is emptied when Kokkos finalizes, on an allocation
//    failure of a Scratch before one retry, and by strata::release_cached_memory(). Memory it
//    holds is not available to other allocations of the process (another library's Views, a
//    PyTorch tensor): call that function, or set the variable lower (or 0), where that matters.
//  - Buffers are matched by size, rounded up to 512 bytes (to 64 KiB above 1 MiB): the repeated
//    shapes this serves find their own buffers again.
#pragma once

#include <Kokkos_Core.hpp>
#include <cstddef>
#include <vector>

#include "strata/core/types.hpp"

namespace strata {

/// Frees the device memory Strata's scratch cache holds for reuse (see above), e.g. before a
/// phase of the application that needs all of the device. Thread-safe; the next driver calls
/// allocate again. Returns the bytes released.
std::size_t release_cached_memory();

}  // namespace strata

namespace strata::detail {

/// Bytes the scratch cache may keep (STRATA_SCRATCH_CACHE_MB, read once per process).
std::size_t scratch_cache_limit();
/// Bytes the scratch cache holds now (released buffers only).
std::size_t scratch_cache_bytes();
/// Frees every cached buffer.
void clear_scratch_cache();

/// The buffers of one driver call (see the file comment). Not copyable; not thread-safe (one per
/// call); the cache behind it is.
class Scratch {
 public:
  /// Reads STRATA_SCRATCH_CACHE_MB on the first use in the process (a malformed value throws
  /// InvalidArgument here, before the driver touches any data).
  explicit Scratch(const ExecSpace& exec) : exec_(exec) { (void)scratch_cache_limit(); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch();

  /// An uninitialized View of the given extents over a cached buffer. ViewType is a Strata View
  /// type in MemSpace (Matrix<T>, Batch<T>, Kokkos::View<double*, MemSpace>, ...); the View does
  /// not own the memory: it is valid while this Scratch lives.
  template <class ViewType, class... Extents>
  ViewType uninitialized(Extents... extents) {
    using value_type = typename ViewType::non_const_value_type;
    std::size_t count = 1;
    ((count *= static_cast<std::size_t>(extents)), ...);
    void* p = take(count * sizeof(value_type));
    return ViewType(static_cast<value_type*>(p), static_cast<std::size_t>(extents)...);
  }

  /// The same, filled with zeros on the driver's execution space (asynchronously).
  template <class ViewType, class... Extents>
  ViewType zeroed(Extents... extents) {
    ViewType v = uninitialized<ViewType>(extents...);
    Kokkos::deep_copy(exec_, v, typename ViewType::non_const_value_type(0));
    return v;
  }

  const ExecSpace& exec() const { return exec_; }

 private:
  void* take(std::size_t bytes);

  ExecSpace exec_;
  std::vector<Kokkos::View<unsigned char*, MemSpace>> blocks_;
};

}  // namespace strata::detail
