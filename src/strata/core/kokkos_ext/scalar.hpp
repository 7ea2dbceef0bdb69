// Scalar types whose availability depends on the Kokkos version.
#pragma once

#include "strata/core/kokkos_ext/version.hpp"

#if STRATA_KOKKOS_AT_LEAST_3_7
#define STRATA_HAVE_BF16 1
#else
#define STRATA_HAVE_BF16 0
#endif

namespace strata::kx {

/// Whether this Kokkos provides a bfloat16 storage type (Kokkos >= 3.7: Kokkos::Experimental::bhalf_t).
inline constexpr bool has_bf16 = STRATA_HAVE_BF16 != 0;

#if STRATA_HAVE_BF16
using bf16 = Kokkos::Experimental::bhalf_t;
#endif

}  // namespace strata::kx
