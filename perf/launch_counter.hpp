// Counts what a run hands to Kokkos, through the Kokkos Tools callbacks (no tool library needed):
// kernel launches (parallel_for / reduce / scan, View initializations included), deep copies
// (and their bytes), allocations and fences, each charged to the innermost profiling region open
// at that moment, with the process CPU time spent inside each region (inclusive). On a GPU every
// launch costs a few microseconds of host time, every deep copy between host and device memory
// and every fence a round trip; on a Serial build the same calls are made (their count is the
// same; only the chunking of host-sized batches differs, see the caller), so they can be counted
// without a GPU. Fences are reported by Kokkos >= 3.5 only (Kokkos 3.4 does not call the tool on
// a fence). With the environment variable LAUNCH_TRACE=<region name>, each call made directly
// inside that region is printed ("K" launch, "C" copy destination <- source, "A" allocation, by
// label). perf/ only: the library carries no counting code.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <string>
#include <vector>

namespace launch_counter {

struct Counts {
  long long launches = 0, copies = 0, copy_bytes = 0, allocations = 0, fences = 0;
  double cpu_seconds = 0;  // inside the region, children included
  long long entered = 0;
};

struct State {
  std::vector<std::string> stack;
  std::vector<std::clock_t> started;
  std::map<std::string, Counts> by_region;
  std::vector<std::string> order;  // regions in the order first seen
  Counts& here() { return at(stack.empty() ? std::string("(no region)") : stack.back()); }
  Counts& at(const std::string& name) {
    auto it = by_region.find(name);
    if (it == by_region.end()) {
      order.push_back(name);
      it = by_region.emplace(name, Counts{}).first;
    }
    return it->second;
  }
};

inline State& state() {
  static State s;
  return s;
}

inline void trace(const char* kind, const char* label) {
  static const char* want = std::getenv("LAUNCH_TRACE");
  if (want && !state().stack.empty() && state().stack.back() == want)
    std::printf("    %s %s\n", kind, label);
}
inline void begin_kernel(const char* l, const uint32_t, uint64_t*) {
  trace("K", l);
  ++state().here().launches;
}
inline void begin_fence(const char*, const uint32_t, uint64_t*) {
  ++state().here().fences;
}
inline void begin_copy(Kokkos_Profiling_SpaceHandle, const char* d, const void*,
                       Kokkos_Profiling_SpaceHandle, const char* s, const void*, uint64_t bytes) {
  trace("C", (std::string(d) + " <- " + s).c_str());
  auto& c = state().here();
  ++c.copies;
  c.copy_bytes += static_cast<long long>(bytes);
}
inline void allocate(Kokkos_Profiling_SpaceHandle, const char* l, const void*, uint64_t) {
  trace("A", l);
  ++state().here().allocations;
}
inline void push(const char* name) {
  auto& s = state();
  s.stack.emplace_back(name);
  s.started.push_back(std::clock());
  ++s.at(name).entered;
}
inline void pop() {
  auto& s = state();
  if (s.stack.empty()) return;
  s.at(s.stack.back()).cpu_seconds +=
      static_cast<double>(std::clock() - s.started.back()) / CLOCKS_PER_SEC;
  s.stack.pop_back();
  s.started.pop_back();
}

/// Registers the callbacks (after Kokkos is initialized).
inline void install() {
  namespace kt = Kokkos::Tools::Experimental;
  kt::set_begin_parallel_for_callback(&begin_kernel);
  kt::set_begin_parallel_reduce_callback(&begin_kernel);
  kt::set_begin_parallel_scan_callback(&begin_kernel);
  kt::set_begin_fence_callback(&begin_fence);
  kt::set_begin_deep_copy_callback(&begin_copy);
  kt::set_allocate_data_callback(&allocate);
  kt::set_push_region_callback(&push);
  kt::set_pop_region_callback(&pop);
}

inline void reset() {
  auto& s = state();
  s.by_region.clear();
  s.order.clear();
}

/// One line per region (exclusive counts: a call is charged to the innermost open region), then
/// the totals.
inline void print(const char* title) {
  const auto& s = state();
  std::printf("  counts: %s\n  %-44s %6s %9s %9s %9s %7s %8s %9s\n", title, "region (innermost)",
              "times", "launches", "copies", "copy_MiB", "allocs", "fences", "cpu_s");
  Counts total;
  for (const auto& name : s.order) {
    const auto& c = s.by_region.at(name);
    std::printf("  %-44s %6lld %9lld %9lld %9.2f %7lld %8lld %9.4f\n", name.c_str(), c.entered,
                c.launches, c.copies, c.copy_bytes / 1048576.0, c.allocations, c.fences,
                c.cpu_seconds);
    total.launches += c.launches, total.copies += c.copies, total.copy_bytes += c.copy_bytes;
    total.allocations += c.allocations, total.fences += c.fences;
  }
  std::printf("  %-44s %6s %9lld %9lld %9.2f %7lld %8lld\n", "total", "", total.launches,
              total.copies, total.copy_bytes / 1048576.0, total.allocations, total.fences);
  std::fflush(stdout);
}

}  // namespace launch_counter
