// Index and matrix types used throughout Strata.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include <Kokkos_Core.hpp>

namespace strata {

/// Global sizes and indices are 64-bit; local block sizes handed to BLAS are checked into `int`.
using index_type = std::int64_t;

using ExecSpace = Kokkos::DefaultExecutionSpace;
using MemSpace = ExecSpace::memory_space;
using HostExecSpace = Kokkos::DefaultHostExecutionSpace;

/// Column-major (BLAS-compatible) dense matrix in memory space M.
template <class T, class M = MemSpace>
using Matrix = Kokkos::View<T**, Kokkos::LayoutLeft, M>;
template <class T, class M = MemSpace>
using ConstMatrix = Kokkos::View<const T**, Kokkos::LayoutLeft, M>;
template <class T, class M = MemSpace>
using Vector = Kokkos::View<T*, Kokkos::LayoutLeft, M>;
template <class T>
using HostMatrix = Matrix<T, Kokkos::HostSpace>;
template <class T>
using HostVector = Vector<T, Kokkos::HostSpace>;

/// Human-readable name of a floating-point type ("float32", "float64").
template <class T>
constexpr const char* scalar_name() {
  if constexpr (std::is_same_v<T, double>) {
    return "float64";
  } else if constexpr (std::is_same_v<T, float>) {
    return "float32";
  } else {
    return "unknown";
  }
}

}  // namespace strata
