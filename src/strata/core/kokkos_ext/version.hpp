// The one place where Strata looks at the Kokkos version. Every other file uses strata::kx.
#pragma once

#include <Kokkos_Core.hpp>

// Thresholds of the form x.y.99 so that develop builds of the next release count as that release.
#define STRATA_KOKKOS_AT_LEAST_3_7 (KOKKOS_VERSION >= 30699)
#define STRATA_KOKKOS_AT_LEAST_4_0 (KOKKOS_VERSION >= 39999)
#define STRATA_KOKKOS_AT_LEAST_4_1 (KOKKOS_VERSION >= 40099)
#define STRATA_KOKKOS_AT_LEAST_4_2 (KOKKOS_VERSION >= 40199)

namespace strata::kx {

/// Kokkos' version as "major.minor.patch".
inline std::string kokkos_version_string() {
  return std::to_string(KOKKOS_VERSION / 10000) + "." + std::to_string(KOKKOS_VERSION / 100 % 100) +
         "." + std::to_string(KOKKOS_VERSION % 100);
}

}  // namespace strata::kx
