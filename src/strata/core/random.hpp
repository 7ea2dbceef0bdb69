// Reproducible random matrices from counter-based streams (Random123 Philox4x64-10).
//
// A random matrix is the small value RandomStream{distribution, seed, stream}. Its entry (i, j),
// for global 64-bit indices i and j, is a pure function of those five numbers: any block can be
// generated on its own, by any rank, thread count or backend, and comes out bitwise identical to
// the same block cut from the whole matrix. This is what lets a rank generate exactly its rows of a
// sketch with no communication (see RandBLAS for the same idea).
//
// Construction of entry (i, j): the Philox key is (seed, stream) and the counter is
// (i, j / g, distribution tag, 0); one Philox call yields 256 random bits, shared by the g entries
// of a group of consecutive columns:
//   gaussian:   g = 4; the four 64-bit words give two uniform pairs and Box-Muller turns each pair
//               into two N(0,1) values. fp64 (and any type but fp32): 53-bit uniforms in (0, 1)
//               and double arithmetic. fp32: uniforms from the top 32 bits of the same words at
//               float resolution, and float arithmetic throughout (logf, sqrtf, cosf, sinf: the
//               fast path on GPUs); the fp32 and fp64 streams of one (seed, stream) are then close
//               (within 2^-12 + 40 |x| 2^-24) but not equal, and fp32 values are bounded by
//               sqrt(-2 ln 2^-33) = 6.77 (P(|N(0,1)| > 6.77) = 1.3e-11).
//   rademacher: g = 256; bit (j mod 256) of the 256 bits chooses -1 or +1 (exact in every type).
// Either way entry (i, j) of a type is a pure function of (seed, stream, i, j): identical across
// ranks, thread counts and layouts; across backends Gaussian entries agree to the few ulps by which
// their log/sqrt/cos/sin differ.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include <Random123/philox.h>

#include "strata/core/error.hpp"
#include "strata/core/kokkos_ext/math.hpp"
#include "strata/core/types.hpp"

namespace strata {

enum class Distribution : std::uint32_t {
  gaussian = 1,    ///< standard normal N(0, 1)
  rademacher = 2,  ///< -1 or +1 with probability 1/2 each
};

/// "gaussian" or "rademacher".
const char* distribution_name(Distribution d);
/// Parses "gaussian" / "rademacher"; throws InvalidArgument otherwise.
Distribution parse_distribution(const std::string& name);

/// A random matrix of unbounded size, defined entry by entry.
struct RandomStream {
  Distribution distribution = Distribution::gaussian;
  std::uint64_t seed = 0;
  std::uint64_t stream = 0;

  /// Columns sharing one Philox call.
  KOKKOS_INLINE_FUNCTION static constexpr index_type group_width(Distribution d) {
    return d == Distribution::gaussian ? 4 : 256;
  }

  /// The 256 random bits of column group `group` of row `row`.
  KOKKOS_INLINE_FUNCTION r123::Philox4x64::ctr_type bits(index_type row, index_type group) const {
    r123::Philox4x64 philox;
    const r123::Philox4x64::ctr_type counter = {{static_cast<std::uint64_t>(row),
                                                 static_cast<std::uint64_t>(group),
                                                 static_cast<std::uint64_t>(distribution), 0}};
    const r123::Philox4x64::key_type key = {{seed, stream}};
    return philox(counter, key);
  }

  /// The four N(0, 1) values of a Gaussian group: Box-Muller on the pairs (r0, r1) and (r2, r3);
  /// even slots take the cosine, odd slots the sine.
  KOKKOS_INLINE_FUNCTION static void gaussian_group(const r123::Philox4x64::ctr_type& r,
                                                    double out[4]) {
    for (int pair = 0; pair < 2; ++pair) {
      const double radius = kx::sqrt(-2.0 * kx::log(uniform_open(r.v[2 * pair])));
      const double angle = 2.0 * kx::pi<double> * uniform_open(r.v[2 * pair + 1]);
      out[2 * pair] = radius * kx::cos(angle);
      out[2 * pair + 1] = radius * kx::sin(angle);
    }
  }

  /// The four N(0, 1) values of a Gaussian group in float arithmetic (the fp32 stream): the same
  /// pairs and slots as the double version, from float uniforms.
  KOKKOS_INLINE_FUNCTION static void gaussian_group(const r123::Philox4x64::ctr_type& r,
                                                    float out[4]) {
    for (int pair = 0; pair < 2; ++pair) {
      const float radius = kx::sqrt(-2.0f * kx::log(uniform_open_float(r.v[2 * pair])));
      const float angle = 2.0f * kx::pi<float> * uniform_open_float(r.v[2 * pair + 1]);
      out[2 * pair] = radius * kx::cos(angle);
      out[2 * pair + 1] = radius * kx::sin(angle);
    }
  }

  /// The Gaussian group as entries of type T: fp32 computes in float, every other type rounds the
  /// double values.
  template <class T>
  KOKKOS_INLINE_FUNCTION static void gaussian_values(const r123::Philox4x64::ctr_type& r,
                                                     T out[4]) {
    if constexpr (std::is_same_v<T, float>) {
      gaussian_group(r, out);
    } else {
      double values[4];
      gaussian_group(r, values);
      for (int slot = 0; slot < 4; ++slot) out[slot] = static_cast<T>(values[slot]);
    }
  }

  /// The Rademacher value of bit `slot` (0 <= slot < 256) of a group.
  template <class T>
  KOKKOS_INLINE_FUNCTION static T rademacher_bit(const r123::Philox4x64::ctr_type& r, int slot) {
    return ((r.v[slot >> 6] >> (slot & 63)) & 1u) ? T(1) : T(-1);
  }

  /// Entry (i, j). Costs one Philox call; fill() amortizes it over a whole group.
  template <class T>
  KOKKOS_INLINE_FUNCTION T entry(index_type i, index_type j) const {
    const index_type g = group_width(distribution);
    const auto r = bits(i, j / g);
    const int slot = static_cast<int>(j % g);
    if (distribution == Distribution::rademacher) return rademacher_bit<T>(r, slot);
    T values[4];
    gaussian_values<T>(r, values);
    return values[slot];
  }

  /// Uniform in the open interval (0, 1) with 53 random bits.
  KOKKOS_INLINE_FUNCTION static double uniform_open(std::uint64_t x) {
    return (static_cast<double>(x >> 11) + 0.5) * (1.0 / 9007199254740992.0);  // 2^-53
  }

  /// Uniform in (0, 1] from the top 32 bits k of x, at float resolution: (k + 1/2) 2^-32 rounded
  /// to float (the smallest value is 2^-33; values within 2^-25 of 1 round to 1, which Box-Muller
  /// maps to radius 0, the limit it has there).
  KOKKOS_INLINE_FUNCTION static float uniform_open_float(std::uint64_t x) {
    return (static_cast<float>(static_cast<std::uint32_t>(x >> 32)) + 0.5f) *
           (1.0f / 4294967296.0f);  // 2^-32
  }
};

/// Fills `block` (rank-2 view, any layout and memory space) with rows [row_offset, ...) and columns
/// [col_offset, ...) of the random matrix `stream`: block(a, b) = stream.entry(row_offset + a,
/// col_offset + b). One thread per (row, column group): O(rows * cols) work, one Philox call per
/// group, writes coalesced along columns of a LayoutLeft view.
template <class ExecutionSpace, class View>
void fill_random(const ExecutionSpace& exec, const RandomStream& stream, const View& block,
                 index_type row_offset = 0, index_type col_offset = 0) {
  static_assert(static_cast<int>(View::rank) == 2, "fill_random: rank-2 view expected");
  using T = typename View::non_const_value_type;
  STRATA_REQUIRE(row_offset >= 0 && col_offset >= 0, InvalidArgument,
                 "fill_random: offsets must be >= 0, got row_offset=", row_offset,
                 ", col_offset=", col_offset);
  const index_type rows = static_cast<index_type>(block.extent(0));
  const index_type cols = static_cast<index_type>(block.extent(1));
  if (rows == 0 || cols == 0) return;
  const index_type width = RandomStream::group_width(stream.distribution);
  const index_type first_group = col_offset / width;
  const index_type last_group = (col_offset + cols - 1) / width;
  const index_type groups = last_group - first_group + 1;
  const RandomStream s = stream;
  Kokkos::parallel_for(
      "strata::random::fill",
      Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<index_type>>(exec, 0, rows * groups),
      KOKKOS_LAMBDA(const index_type k) {
        const index_type a = k % rows;
        const index_type group = first_group + k / rows;
        const auto r = s.bits(row_offset + a, group);
        const index_type j_begin = kx::max(group * width, col_offset);
        const index_type j_end = kx::min((group + 1) * width, col_offset + cols);
        if (s.distribution == Distribution::rademacher) {
          for (index_type j = j_begin; j < j_end; ++j) {
            block(a, j - col_offset) =
                RandomStream::rademacher_bit<T>(r, static_cast<int>(j - group * width));
          }
        } else {
          T values[4];
          RandomStream::gaussian_values<T>(r, values);
          for (index_type j = j_begin; j < j_end; ++j) {
            block(a, j - col_offset) = values[j - group * width];
          }
        }
      });
}

}  // namespace strata
