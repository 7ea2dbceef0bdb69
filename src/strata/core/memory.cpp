#include "strata/core/memory.hpp"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <string>

#include "strata/core/error.hpp"

namespace strata {

namespace {

/// The number after "<key>:" in /proc/meminfo, in bytes (the file counts in kB).
std::optional<std::uint64_t> meminfo_bytes(const char* key) {
  std::ifstream in("/proc/meminfo");
  std::string name;
  std::uint64_t kilobytes = 0;
  std::string unit;
  while (in >> name >> kilobytes) {
    std::getline(in, unit);
    if (name == std::string(key) + ":") return kilobytes * 1024;
  }
  return std::nullopt;
}

/// memory.max - memory.current of this process's cgroup v2, when it has a limit.
std::optional<std::uint64_t> cgroup_room() {
  std::ifstream self("/proc/self/cgroup");
  std::string line, path;
  while (std::getline(self, line)) {
    if (line.rfind("0::", 0) == 0) path = line.substr(3);  // the unified (v2) hierarchy
  }
  if (path.empty()) return std::nullopt;
  const std::string dir = "/sys/fs/cgroup" + (path == "/" ? std::string() : path);
  std::ifstream max_file(dir + "/memory.max"), current_file(dir + "/memory.current");
  std::string max_text;
  std::uint64_t current = 0;
  if (!(max_file >> max_text) || max_text == "max" || !(current_file >> current)) {
    return std::nullopt;
  }
  std::uint64_t limit = 0;
  if (std::sscanf(max_text.c_str(), "%" SCNu64, &limit) != 1) return std::nullopt;
  return limit > current ? limit - current : 0;
}

std::string gigabytes(double bytes) {
  char text[64];
  std::snprintf(text, sizeof text, bytes < 1e7 ? "%.3g" : "%.1f", bytes / 1e9);
  return text;
}

}  // namespace

std::optional<std::uint64_t> available_host_memory() {
  std::optional<std::uint64_t> available = meminfo_bytes("MemAvailable");
  if (!available) {
    const long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) {
      available = static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
    }
  }
  if (const auto room = cgroup_room()) {
    available = available ? std::min(*available, *room) : *room;
  }
  return available;
}

std::optional<std::uint64_t> checked_bytes(std::initializer_list<std::int64_t> extents,
                                           std::uint64_t element_size) {
  std::uint64_t bytes = element_size;
  for (const std::int64_t extent : extents) {
    if (extent < 0 || __builtin_mul_overflow(bytes, static_cast<std::uint64_t>(extent), &bytes)) {
      return std::nullopt;
    }
  }
  return bytes;
}

void require_host_memory(std::optional<std::uint64_t> bytes, const std::string& what) {
  const std::optional<std::uint64_t> available = available_host_memory();
  if (bytes && (!available || *bytes <= *available)) return;
  const std::string needed = bytes ? gigabytes(static_cast<double>(*bytes)) + " GB"
                                   : std::string("more than 18446744073 GB (2^64 bytes)");
  STRATA_THROW(InvalidArgument, what, " needs ", needed, " of memory, ",
               available ? gigabytes(static_cast<double>(*available)) : std::string("?"),
               " GB are available");
}

}  // namespace strata
