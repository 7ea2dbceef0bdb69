// Portable math functions for kernels. Kokkos 3.4 has them only in Kokkos::Experimental (and lacks
// abs/min/max for real scalars); Kokkos >= 3.7 has them in Kokkos:: and 4.0 removed the old names.
#pragma once

#include "strata/core/kokkos_ext/version.hpp"

namespace strata::kx {

#if STRATA_KOKKOS_AT_LEAST_3_7
using Kokkos::cos;
using Kokkos::exp;
using Kokkos::isfinite;
using Kokkos::log;
using Kokkos::sin;
using Kokkos::sqrt;
template <class T>
KOKKOS_INLINE_FUNCTION T abs(T x) {
  return Kokkos::abs(x);
}
#else
using Kokkos::Experimental::cos;
using Kokkos::Experimental::exp;
using Kokkos::Experimental::isfinite;
using Kokkos::Experimental::log;
using Kokkos::Experimental::sin;
using Kokkos::Experimental::sqrt;
template <class T>
KOKKOS_INLINE_FUNCTION T abs(T x) {
  return Kokkos::Experimental::fabs(x);
}
#endif

template <class T>
KOKKOS_INLINE_FUNCTION constexpr const T& min(const T& a, const T& b) {
  return b < a ? b : a;
}
template <class T>
KOKKOS_INLINE_FUNCTION constexpr const T& max(const T& a, const T& b) {
  return a < b ? b : a;
}
template <class T>
KOKKOS_INLINE_FUNCTION void swap(T& a, T& b) {
  T t = a;
  a = b;
  b = t;
}

/// Machine epsilon of T (portable spelling on 3.4 and 4.x).
template <class T>
KOKKOS_INLINE_FUNCTION constexpr T epsilon() {
  return Kokkos::Experimental::epsilon<T>::value;
}

template <class T>
inline constexpr T pi = T(3.141592653589793238462643383279502884L);

}  // namespace strata::kx
