// How much memory an allocation whose size comes from outside (a file, an option) may take.
//
// A size read from a file is untrusted: an HDF5 dataset of a 2.5 KB file may declare 2^62 rows. The
// product rows x cols x element size is formed without overflow and compared with the memory that
// is available now, so that a bad size gives one clear line instead of std::bad_alloc, a Kokkos
// allocation report, or an allocation that succeeds and then pages the node to death.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

namespace strata {

/// Bytes of host memory this process can still allocate: MemAvailable of /proc/meminfo (Linux),
/// else sysconf(_SC_AVPHYS_PAGES) x page size, lowered to the room left under the process's cgroup
/// v2 memory.max (batch systems such as Slurm confine jobs with it). std::nullopt when unknown.
std::optional<std::uint64_t> available_host_memory();

/// extents[0] x extents[1] x ... x element_size in bytes, or std::nullopt when it overflows 64 bits
/// or an extent is negative.
std::optional<std::uint64_t> checked_bytes(std::initializer_list<std::int64_t> extents,
                                           std::uint64_t element_size);

/// Throws strata::InvalidArgument ("<what> needs X GB of memory, Y GB are available") when `bytes`
/// (std::nullopt: more than 2^64) exceed available_host_memory(). Cheap: one read of /proc.
void require_host_memory(std::optional<std::uint64_t> bytes, const std::string& what);

}  // namespace strata
