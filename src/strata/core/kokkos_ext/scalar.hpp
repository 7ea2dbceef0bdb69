// Scalar types whose availability depends on the Kokkos version.
#pragma once

#include "strata/core/kokkos_ext/version.hpp"

// A real 16-bit bfloat16 exists in Kokkos >= 3.7 on backends that provide one (CUDA, HIP, SYCL);
// elsewhere Kokkos aliases bhalf_t to float (KOKKOS_BHALF_T_IS_FLOAT), which we do not call bf16.
#if STRATA_KOKKOS_AT_LEAST_3_7 && !(defined(KOKKOS_BHALF_T_IS_FLOAT) && KOKKOS_BHALF_T_IS_FLOAT)
#define STRATA_HAVE_BF16 1
#else
#define STRATA_HAVE_BF16 0
#endif

namespace strata::kx {

/// Whether this Kokkos provides a bfloat16 storage type (Kokkos >= 3.7:
/// Kokkos::Experimental::bhalf_t).
inline constexpr bool has_bf16 = STRATA_HAVE_BF16 != 0;

#if STRATA_HAVE_BF16
using bf16 = Kokkos::Experimental::bhalf_t;
static_assert(sizeof(bf16) == 2, "bf16 must be a 16-bit storage type");

KOKKOS_INLINE_FUNCTION bf16 to_bf16(float x) {
  return Kokkos::Experimental::cast_to_bhalf(x);
}
KOKKOS_INLINE_FUNCTION float from_bf16(bf16 x) {
  return Kokkos::Experimental::cast_from_bhalf<float>(x);
}
#endif

}  // namespace strata::kx
