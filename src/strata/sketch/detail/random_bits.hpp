// Counter-based random bits of the structured sketches (SRHT signs and row sample, Hadamard
// rotation signs, sparse-sign positions and signs). Every value is a pure function of (seed,
// stream, tag, index): the Philox key is (seed, stream) as in RandomStream, and the fourth counter
// word is 1, which RandomStream never uses (it sets 0), so these bits are independent of the dense
// Gaussian/Rademacher entries of the same (seed, stream).
#pragma once

#include <cstdint>

#include <Random123/philox.h>

#include "strata/core/types.hpp"

namespace strata::sketch::detail {

enum : std::uint64_t {
  tag_signs_d2 = 1,     ///< SRHT D, Hadamard rotation D2 (applied first)
  tag_signs_d1 = 2,     ///< Hadamard rotation D1 (between the two transforms)
  tag_sparse = 3,       ///< sparse-sign row positions and signs
  tag_permutation = 4,  ///< SRHT row sample (partial Fisher-Yates)
};

KOKKOS_INLINE_FUNCTION r123::Philox4x64::ctr_type philox_bits(std::uint64_t seed,
                                                              std::uint64_t stream,
                                                              std::uint64_t tag, std::uint64_t a,
                                                              std::uint64_t b) {
  r123::Philox4x64 philox;
  const r123::Philox4x64::ctr_type counter = {{a, b, tag, 1}};
  const r123::Philox4x64::key_type key = {{seed, stream}};
  return philox(counter, key);
}

/// +1 or -1: bit (j mod 256) of the 256 bits of counter (j / 256, 0, tag).
template <class T>
KOKKOS_INLINE_FUNCTION T random_sign(std::uint64_t seed, std::uint64_t stream, std::uint64_t tag,
                                     index_type j) {
  const auto r = philox_bits(seed, stream, tag, static_cast<std::uint64_t>(j) >> 8, 0);
  const int slot = static_cast<int>(j & 255);
  return ((r.v[slot >> 6] >> (slot & 63)) & 1u) ? T(1) : T(-1);
}

/// Uniform integer in [0, bound) from 64 random bits: floor(u * bound) with u a 53-bit uniform in
/// [0, 1). One IEEE multiplication, so every backend gives the same integer; the bias is below
/// bound / 2^53.
KOKKOS_INLINE_FUNCTION index_type uniform_below(std::uint64_t bits, index_type bound) {
  const double u = static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0);
  const auto r = static_cast<index_type>(u * static_cast<double>(bound));
  return r < bound ? r : bound - 1;
}

/// (-1)^popcount(x) as +1/-1: the Sylvester Hadamard entry H(i, j) for x = i & j.
template <class T>
KOKKOS_INLINE_FUNCTION T hadamard_sign(std::uint64_t x) {
  x ^= x >> 32;
  x ^= x >> 16;
  x ^= x >> 8;
  x ^= x >> 4;
  x ^= x >> 2;
  x ^= x >> 1;
  return (x & 1u) ? T(-1) : T(1);
}

/// Row positions and signs of column j of a sparse-sign operator with `nnz` nonzeros per column
/// in `rows` rows: Floyd's algorithm draws a uniform nnz-subset of [0, rows) (distinct rows); slot
/// q uses counter (j, q, tag_sparse): word 0 for the position, bit 0 of word 1 for the sign.
/// O(nnz^2) per column (the duplicate check), no memory beyond the outputs.
template <class T>
KOKKOS_INLINE_FUNCTION void sparse_column(std::uint64_t seed, std::uint64_t stream, index_type j,
                                          index_type rows, index_type nnz, index_type* row_out,
                                          T* sign_out) {
  for (index_type q = 0; q < nnz; ++q) {
    const auto r = philox_bits(seed, stream, tag_sparse, static_cast<std::uint64_t>(j),
                               static_cast<std::uint64_t>(q));
    const index_type t = rows - nnz + q;
    index_type pick = uniform_below(r.v[0], t + 1);
    for (index_type p = 0; p < q; ++p) {
      if (row_out[p] == pick) {
        pick = t;
        break;
      }
    }
    row_out[q] = pick;
    sign_out[q] = (r.v[1] & 1u) ? T(1) : T(-1);
  }
}

}  // namespace strata::sketch::detail
