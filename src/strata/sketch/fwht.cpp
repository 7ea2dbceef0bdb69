#include "strata/sketch/fwht.hpp"

#include <algorithm>

#include "strata/core/error.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/sketch/detail/kernel_traits.hpp"
#include "strata/sketch/detail/team_kernels.hpp"

namespace strata::sketch {

index_type next_power_of_two(index_type n) {
  STRATA_REQUIRE(n >= 1 && n <= (index_type(1) << 62), InvalidArgument,
                 "next_power_of_two: n must be in [1, 2^62], got ", n);
  index_type p = 1;
  while (p < n) p <<= 1;
  return p;
}

namespace {

// ---- GPU kernels: fused radix-2^q passes through team scratch ---------------------------------

/// Scratch index of value q of a team's block: one pad value after every 8, so that a radix-8
/// group on the lowest bits (thread t reading 8 t + m) hits distinct banks (stride 9 is odd).
KOKKOS_INLINE_FUNCTION index_type padded(index_type q) {
  return q + (q >> 3);
}

/// Radix-2^G butterflies in registers: the 2^G values at positions src_start + m * src_step
/// (m < 2^G; through padded() when src_pad) get all G stages among them and go to the same
/// positions of dst (dst_start, dst_step, dst_pad), multiplied by `scale`. The loops have
/// compile-time bounds, so the values stay in registers on GPUs.
template <int G, class T>
KOKKOS_INLINE_FUNCTION void radix_group(const T* src, index_type src_start, index_type src_step,
                                        bool src_pad, T* dst, index_type dst_start,
                                        index_type dst_step, bool dst_pad, T scale) {
  constexpr int points = 1 << G;
  T v[points];
  for (int m = 0; m < points; ++m) {
    const index_type q = src_start + m * src_step;
    v[m] = src[src_pad ? padded(q) : q];
  }
  for (int b = 0; b < G; ++b) {
    for (int m = 0; m < points; ++m) {
      if ((m & (1 << b)) == 0) {
        const T a = v[m], c = v[m | (1 << b)];
        v[m] = a + c;
        v[m | (1 << b)] = a - c;
      }
    }
  }
  for (int m = 0; m < points; ++m) {
    const index_type q = dst_start + m * dst_step;
    dst[dst_pad ? padded(q) : q] = scale * v[m];
  }
}

/// Largest radix of one register group (2^3 = 8 values per thread).
constexpr int max_group_bits = 3;

/// One pass over x doing the `bits` stages h = 2^level .. 2^(level + bits - 1): a team owns the
/// 2^bits rows base + v h (v < 2^bits) of a chunk of 2^log_chunk contiguous values (2^log_chunk
/// <= h), reads them once, does all the pass's stages in registers and team scratch, and writes
/// them once. The bits of v are split into groups of at most 3; stages on different bits commute
/// (H_2^bits = H_2 (x) ... (x) H_2), so the group of the top bits is done while loading (each
/// thread's values differ in the top bits: consecutive threads read consecutive addresses), the
/// others in increasing order, and the last one while storing, with a barrier between groups.
template <class T>
void fused_pass(const ExecSpace& exec, const Matrix<T>& x, int level, int log_chunk, int bits,
                T scale) {
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  using Scratch =
      Kokkos::View<T*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryUnmanaged>;
  const index_type rows = static_cast<index_type>(x.extent(0));
  const index_type h = index_type(1) << level;
  const index_type chunk = index_type(1) << log_chunk;
  const index_type span = h << bits;  // rows coupled by the pass
  const index_type chunks_per_span = h / chunk;
  const index_type team_values = chunk << bits;
  const index_type teams_per_column = (rows / span) * chunks_per_span;
  const index_type league = teams_per_column * static_cast<index_type>(x.extent(1));
  const int groups = (bits + max_group_bits - 1) / max_group_bits;
  // One group reads and writes x directly; more groups exchange through scratch.
  const index_type scratch_values = groups > 1 ? padded(team_values - 1) + 1 : 0;
  const index_type column_stride = static_cast<index_type>(x.stride(1));
  T* const data = x.data();
  auto body = KOKKOS_LAMBDA(const typename Policy::member_type& team) {
    const index_type column = team.league_rank() / teams_per_column;
    const index_type local = team.league_rank() % teams_per_column;
    const index_type base = (local / chunks_per_span) * span + (local % chunks_per_span) * chunk;
    T* const col = data + column * column_stride;
    Scratch s(team.team_scratch(0), static_cast<std::size_t>(scratch_values));
    for (int step = 0; step < groups; ++step) {
      // Group i covers the bits [lo_i, lo_i + g_i) of v (sizes as even as possible); the top group
      // runs first (while loading), then the groups from the bottom up.
      const int i = step == 0 ? groups - 1 : step - 1;
      const int g = bits / groups + (i < bits % groups ? 1 : 0);
      const int lo = i * (bits / groups) + (i < bits % groups ? i : bits % groups);
      const bool load = step == 0, store = step == groups - 1;
      const T* const src = load ? col : s.data();
      T* const dst = store ? col : s.data();
      const index_type src_step = load ? (h << lo) : (chunk << lo);
      const index_type dst_step = store ? (h << lo) : (chunk << lo);
      const T out_scale = store ? scale : T(1);
      Kokkos::parallel_for(
          Kokkos::TeamThreadRange(team, team_values >> g), [&](const index_type t) {
            // Thread t: value u of the chunk, the other bits of v from t / chunk.
            const index_type u = t & (chunk - 1), w = t >> log_chunk;
            const index_type v0 = ((w >> lo) << (lo + g)) | (w & ((index_type(1) << lo) - 1));
            const index_type src_start = load ? base + u + v0 * h : u + (v0 << log_chunk);
            const index_type dst_start = store ? base + u + v0 * h : u + (v0 << log_chunk);
            if (g == 3) {
              radix_group<3>(src, src_start, src_step, !load, dst, dst_start, dst_step, !store,
                             out_scale);
            } else if (g == 2) {
              radix_group<2>(src, src_start, src_step, !load, dst, dst_start, dst_step, !store,
                             out_scale);
            } else {
              radix_group<1>(src, src_start, src_step, !load, dst, dst_start, dst_step, !store,
                             out_scale);
            }
          });
      if (!store) team.team_barrier();
    }
  };
  // Eight values per thread in the radix-8 groups: tile / 8 threads (256 at most).
  const int wanted =
      static_cast<int>(std::min<index_type>(256, std::max<index_type>(1, team_values / 8)));
  const Policy policy = kx::team_policy(
      exec, static_cast<int>(league), wanted,
      scratch_values > 0 ? Scratch::shmem_size(static_cast<std::size_t>(scratch_values)) : 0, body);
  Kokkos::parallel_for("strata::sketch::fwht::fused_pass", policy, body);
}

// ---- host kernels: cache-blocked radix-4 butterflies with contiguous inner loops --------------

/// Values per contiguous vector in the host kernels: the stages h < vector_width run on scalars
/// (in registers), every larger stage runs on whole vectors of this many contiguous values.
constexpr index_type vector_width = 8;
/// Upper passes: at most 2^5 rows of a chunk of at most 64 contiguous values (16 KiB in fp64).
constexpr int max_group_levels = 5;
constexpr index_type max_chunk = 64;

/// One radix-4 butterfly (stages h and 2h) on four row vectors of `width` contiguous values.
template <bool Scaled, class T>
KOKKOS_INLINE_FUNCTION void radix4(T* r0, T* r1, T* r2, T* r3, index_type width, T s) {
  for (index_type w = 0; w < width; ++w) {
    const T y0 = r0[w] + r1[w], y1 = r0[w] - r1[w];
    const T y2 = r2[w] + r3[w], y3 = r2[w] - r3[w];
    if (Scaled) {
      r0[w] = s * (y0 + y2);
      r1[w] = s * (y1 + y3);
      r2[w] = s * (y0 - y2);
      r3[w] = s * (y1 - y3);
    } else {
      r0[w] = y0 + y2;
      r1[w] = y1 + y3;
      r2[w] = y0 - y2;
      r3[w] = y1 - y3;
    }
  }
}

/// All log2(rows) stages among `rows` row vectors p + r * stride (r < rows), each `width`
/// contiguous values: the butterflies of stages h and 2h are fused (radix 4: four rows read and
/// written once per two stages), and the loop over a vector is contiguous, so it vectorizes.
/// The outputs of the last stage are multiplied by `scale`.
template <class T>
KOKKOS_INLINE_FUNCTION void vector_butterflies(T* p, index_type stride, index_type rows,
                                               index_type width, T scale) {
  index_type h = 1;
  for (; 4 * h <= rows; h *= 4) {
    const bool last = 4 * h == rows && scale != T(1);
    for (index_type j0 = 0; j0 < rows; j0 += 4 * h) {
      for (index_type t = 0; t < h; ++t) {
        T* r0 = p + (j0 + t) * stride;
        T* r1 = r0 + h * stride;
        T* r2 = r1 + h * stride;
        T* r3 = r2 + h * stride;
        if (last) {
          radix4<true>(r0, r1, r2, r3, width, scale);
        } else {
          radix4<false>(r0, r1, r2, r3, width, scale);
        }
      }
    }
  }
  if (2 * h == rows) {  // an odd number of stages: one radix-2 stage remains
    for (index_type t = 0; t < h; ++t) {
      T* r0 = p + t * stride;
      T* r1 = r0 + h * stride;
      for (index_type w = 0; w < width; ++w) {
        const T a = r0[w], b = r1[w];
        r0[w] = scale * (a + b);
        r1[w] = scale * (a - b);
      }
    }
  }
}

/// The three stages h = 1, 2, 4 on 8 contiguous values, in registers.
template <class T>
KOKKOS_INLINE_FUNCTION void eight_point(T* p) {
  const T a0 = p[0] + p[1], a1 = p[0] - p[1], a2 = p[2] + p[3], a3 = p[2] - p[3];
  const T a4 = p[4] + p[5], a5 = p[4] - p[5], a6 = p[6] + p[7], a7 = p[6] - p[7];
  const T b0 = a0 + a2, b1 = a1 + a3, b2 = a0 - a2, b3 = a1 - a3;
  const T b4 = a4 + a6, b5 = a5 + a7, b6 = a4 - a6, b7 = a5 - a7;
  p[0] = b0 + b4;
  p[1] = b1 + b5;
  p[2] = b2 + b6;
  p[3] = b3 + b7;
  p[4] = b0 - b4;
  p[5] = b1 - b5;
  p[6] = b2 - b6;
  p[7] = b3 - b7;
}

/// Stages h = 1 .. len/2 on the contiguous values p[0, len), len a power of two: first every
/// group of `v` = min(len, vector_width) values on scalars, then the vectors of v values.
template <class T>
KOKKOS_INLINE_FUNCTION void contiguous_block(T* p, index_type len, T scale) {
  if (len <= vector_width) {  // (len == vector_width too: the scale goes into the last stage)
    vector_butterflies(p, 1, len, 1, scale);
    return;
  }
  for (index_type g = 0; g < len; g += vector_width) eight_point(p + g);
  vector_butterflies(p, vector_width, len / vector_width, vector_width, scale);
}

/// Host FWHT of every column: one pass transforms each L1-sized block of a column completely
/// (log2(block) stages); each further pass fuses up to `group_levels` stages over strided rows
/// of contiguous chunks, so an N x k matrix is read and written 1 + ceil(log2(N / block) /
/// group_levels) times instead of log2(N) times.
template <class T>
void host_fwht(const ExecSpace& exec, const Matrix<T>& x, T scale) {
  const index_type rows = static_cast<index_type>(x.extent(0));
  const index_type cols = static_cast<index_type>(x.extent(1));
  const index_type stride = static_cast<index_type>(x.stride(1));
  T* const data = x.data();
  // 16 KiB blocks: half of a typical L1 data cache.
  const index_type block_target = index_type(16384) / static_cast<index_type>(sizeof(T));
  const index_type block = rows < block_target ? rows : block_target;
  const T first_scale = block == rows ? scale : T(1);
  const index_type blocks_per_column = rows / block;
  Kokkos::parallel_for(
      "strata::sketch::fwht::host_blocks",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0,
                                                                    cols * blocks_per_column),
      KOKKOS_LAMBDA(const index_type task) {
        const index_type column = task / blocks_per_column;
        const index_type first = (task % blocks_per_column) * block;
        contiguous_block(data + column * stride + first, block, first_scale);
      });
  // The remaining levels [log2(block), log2(N)) in groups of at most 5 (32 rows of a chunk of
  // 64 values: 16 KiB in fp64), split evenly.
  int level = 0, top = 0;
  while ((index_type(1) << level) < block) ++level;
  while ((index_type(1) << top) < rows) ++top;
  const int remaining = top - level;
  if (remaining == 0) return;
  const int groups = (remaining + max_group_levels - 1) / max_group_levels;
  for (int g = 0; g < groups; ++g) {
    const int levels = remaining / groups + (g < remaining % groups ? 1 : 0);
    const index_type h0 = index_type(1) << level;              // the row spacing
    const index_type span = h0 << levels;                      // values coupled by this group
    const index_type chunk = h0 < max_chunk ? h0 : max_chunk;  // contiguous values per row
    const index_type chunks_per_span = h0 / chunk;
    const index_type tasks_per_column = (rows / span) * chunks_per_span;
    const T s = (span == rows) ? scale : T(1);
    const index_type group_rows = index_type(1) << levels;
    Kokkos::parallel_for(
        "strata::sketch::fwht::host_levels",
        Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0,
                                                                      cols * tasks_per_column),
        KOKKOS_LAMBDA(const index_type task) {
          const index_type column = task / tasks_per_column;
          const index_type local = task % tasks_per_column;
          const index_type start =
              (local / chunks_per_span) * span + (local % chunks_per_span) * chunk;
          vector_butterflies(data + column * stride + start, h0, group_rows, chunk, s);
        });
    level += levels;
  }
}

}  // namespace

template <class T>
void fwht(const ExecSpace& exec, const Matrix<T>& x, const FwhtOptions& options) {
  const index_type rows = static_cast<index_type>(x.extent(0));
  STRATA_REQUIRE(is_power_of_two(rows), InvalidArgument, "fwht: the number of rows (", rows,
                 ") must be a power of two; zero-pad the input to ", next_power_of_two(rows),
                 " rows");
  STRATA_REQUIRE(options.tile_rows >= 2 && is_power_of_two(options.tile_rows), InvalidArgument,
                 "fwht: tile_rows must be a power of two >= 2, got ", options.tile_rows);
  if (x.extent(1) == 0) return;
  const T scale = static_cast<T>(options.scale);
  if (rows == 1) {
    Kokkos::parallel_for(
        "strata::sketch::fwht::scale", Kokkos::RangePolicy<ExecSpace>(exec, 0, x.extent(1)),
        KOKKOS_LAMBDA(const std::size_t c) { x(0, c) *= scale; });
    return;
  }
  if constexpr (detail::KernelTraits<ExecSpace>::host_loops) {
    host_fwht(exec, x, scale);
  } else {
    detail::fwht_team(exec, x, options.tile_rows, scale);
  }
}

namespace detail {

template <class T>
index_type team_scratch_values() {
  // Room for the pad values of fused_pass (1 per 8) and the alignment of the allocation.
  const auto limit =
      static_cast<index_type>(Kokkos::TeamPolicy<ExecSpace>::scratch_size_max(0)) - 128;
  const index_type cap = index_type(32768) / static_cast<index_type>(sizeof(T));
  index_type values = 1;
  while (2 * values <= cap &&
         (2 * values + values / 4) * static_cast<index_type>(sizeof(T)) <= limit) {
    values *= 2;
  }
  return values;
}

template <class T>
void fwht_team(const ExecSpace& exec, const Matrix<T>& x, index_type tile_rows, T scale) {
  const index_type rows = static_cast<index_type>(x.extent(0));
  STRATA_REQUIRE(rows >= 2 && is_power_of_two(rows) && tile_rows >= 2 && is_power_of_two(tile_rows),
                 InvalidArgument, "fwht_team: rows (", rows, ") and tile_rows (", tile_rows,
                 ") must be powers of two >= 2");
  if (x.extent(1) == 0) return;
  index_type tile = std::min(std::min(tile_rows, rows), team_scratch_values<T>());
  if (tile < 2) tile = 2;
  int log_rows = 0, log_tile = 0;
  while ((index_type(1) << log_rows) < rows) ++log_rows;
  while ((index_type(1) << log_tile) < tile) ++log_tile;
  // Pass 1: every tile of consecutive rows completely (stages h < tile).
  fused_pass(exec, x, 0, 0, log_tile, log_tile == log_rows ? scale : T(1));
  const int remaining = log_rows - log_tile;
  if (remaining == 0) return;
  // Upper passes: chunks of >= 32 contiguous bytes (a DRAM sector) per row where the tile allows,
  // so each pass couples up to 2^(log_tile - log_min_chunk) rows; the remaining stages are split
  // evenly over the fewest such passes, and each pass widens its chunk to fill the tile.
  int log_min_chunk = 0;
  while ((index_type(sizeof(T)) << log_min_chunk) < 32) ++log_min_chunk;
  const int max_bits = std::max(1, log_tile - log_min_chunk);
  const int passes = (remaining + max_bits - 1) / max_bits;
  int level = log_tile;
  for (int p = 0; p < passes; ++p) {
    const int bits = remaining / passes + (p < remaining % passes ? 1 : 0);
    const int log_chunk = std::max(0, log_tile - bits);
    fused_pass(exec, x, level, log_chunk, bits, p == passes - 1 ? scale : T(1));
    level += bits;
  }
}

template index_type team_scratch_values<float>();
template index_type team_scratch_values<double>();
template void fwht_team<float>(const ExecSpace&, const Matrix<float>&, index_type, float);
template void fwht_team<double>(const ExecSpace&, const Matrix<double>&, index_type, double);

}  // namespace detail

template void fwht<float>(const ExecSpace&, const Matrix<float>&, const FwhtOptions&);
template void fwht<double>(const ExecSpace&, const Matrix<double>&, const FwhtOptions&);

}  // namespace strata::sketch
