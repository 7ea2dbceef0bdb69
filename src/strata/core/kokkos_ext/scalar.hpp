// Scalar types whose availability depends on the Kokkos version and backend.
#pragma once

#include <cstdint>
#include <cstring>

#include "strata/core/kokkos_ext/version.hpp"

// Kokkos >= 3.7 has a real 16-bit bfloat16 on backends that provide one (CUDA, HIP, SYCL); there
// cuBLAS and friends read it directly. Elsewhere Kokkos aliases bhalf_t to float
// (KOKKOS_BHALF_T_IS_FLOAT) or has none (3.4), and Strata uses its own 16-bit storage type below,
// so bf16 code paths exist (and are tested) in every build.
#if STRATA_KOKKOS_AT_LEAST_3_7 && !(defined(KOKKOS_BHALF_T_IS_FLOAT) && KOKKOS_BHALF_T_IS_FLOAT)
#define STRATA_NATIVE_BF16 1
#else
#define STRATA_NATIVE_BF16 0
#endif
/// bf16 storage (kx::bf16) exists in every build: Kokkos' type where it is real, ours elsewhere.
#define STRATA_HAVE_BF16 1

namespace strata::kx {

/// Whether this build has bfloat16 storage (always: see STRATA_HAVE_BF16).
inline constexpr bool has_bf16 = STRATA_HAVE_BF16 != 0;
/// Whether kx::bf16 is Kokkos' backend type (CUDA, HIP, SYCL) rather than Strata's host type.
inline constexpr bool native_bf16 = STRATA_NATIVE_BF16 != 0;

#if STRATA_NATIVE_BF16
using bf16 = Kokkos::Experimental::bhalf_t;

KOKKOS_INLINE_FUNCTION bf16 to_bf16(float x) {
  return Kokkos::Experimental::cast_to_bhalf(x);
}
KOKKOS_INLINE_FUNCTION float from_bf16(bf16 x) {
  return Kokkos::Experimental::cast_from_bhalf<float>(x);
}
#else
/// bfloat16 storage for host backends: the upper 16 bits of an IEEE binary32 value (1 sign, 8
/// exponent and 7 fraction bits). No arithmetic: convert with to_bf16 / from_bf16.
struct bf16 {
  std::uint16_t bits;
};

/// Round to nearest, ties to even (as CUDA's __float2bfloat16_rn); NaN stays a (quiet) NaN.
KOKKOS_INLINE_FUNCTION bf16 to_bf16(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{static_cast<std::uint16_t>((u >> 16) | 0x40u)};
  u += 0x7fffu + ((u >> 16) & 1u);
  return bf16{static_cast<std::uint16_t>(u >> 16)};
}
/// Exact: every bf16 value is a float.
KOKKOS_INLINE_FUNCTION float from_bf16(bf16 x) {
  const std::uint32_t u = static_cast<std::uint32_t>(x.bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
#endif
static_assert(sizeof(bf16) == 2, "bf16 must be a 16-bit storage type");

}  // namespace strata::kx
