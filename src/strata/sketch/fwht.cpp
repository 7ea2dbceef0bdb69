#include "strata/sketch/fwht.hpp"

#include "strata/core/error.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/sketch/detail/kernel_traits.hpp"

namespace strata::sketch {

index_type next_power_of_two(index_type n) {
  STRATA_REQUIRE(n >= 1 && n <= (index_type(1) << 62), InvalidArgument,
                 "next_power_of_two: n must be in [1, 2^62], got ", n);
  index_type p = 1;
  while (p < n) p <<= 1;
  return p;
}

namespace {

/// The butterflies of stages h = 1 .. tile/2 inside each tile of `tile` rows, in team scratch.
template <class T>
void tiled_stages(const ExecSpace& exec, const Matrix<T>& x, index_type tile, T scale) {
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  using Scratch =
      Kokkos::View<T*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryUnmanaged>;
  const index_type rows = static_cast<index_type>(x.extent(0));
  const index_type tiles_per_column = rows / tile;
  const index_type league = tiles_per_column * static_cast<index_type>(x.extent(1));
  Policy policy(exec, static_cast<int>(league), Kokkos::AUTO);
  policy.set_scratch_size(0, Kokkos::PerTeam(Scratch::shmem_size(static_cast<std::size_t>(tile))));
  Kokkos::parallel_for(
      "strata::sketch::fwht::tiled_stages", policy,
      KOKKOS_LAMBDA(const typename Policy::member_type& team) {
        const index_type column = team.league_rank() / tiles_per_column;
        const index_type first = (team.league_rank() % tiles_per_column) * tile;
        Scratch s(team.team_scratch(0), static_cast<std::size_t>(tile));
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, tile),
                             [&](const index_type t) { s(t) = x(first + t, column); });
        team.team_barrier();
        for (int level = 0; (index_type(1) << level) < tile; ++level) {
          const index_type h = index_type(1) << level;
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, tile / 2), [&](const index_type q) {
            // q-th pair of this stage: insert a 0 bit at position `level` (j has bit h clear).
            const index_type j = ((q >> level) << (level + 1)) | (q & (h - 1));
            const T a = s(j), b = s(j + h);
            s(j) = a + b;
            s(j + h) = a - b;
          });
          team.team_barrier();
        }
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, tile),
                             [&](const index_type t) { x(first + t, column) = scale * s(t); });
      });
}

/// One stage h over all columns: consecutive threads take consecutive j (coalesced).
template <class T>
void upper_stage(const ExecSpace& exec, const Matrix<T>& x, int level, T scale) {
  const index_type h = index_type(1) << level;
  int log_half = 0;
  while ((index_type(2) << log_half) < static_cast<index_type>(x.extent(0))) ++log_half;
  const index_type half = index_type(1) << log_half;
  const index_type cols = static_cast<index_type>(x.extent(1));
  Kokkos::parallel_for(
      "strata::sketch::fwht::stage",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, half * cols),
      KOKKOS_LAMBDA(const index_type k) {
        // Shifts and masks only: every extent here is a power of two.
        const index_type q = k & (half - 1), column = k >> log_half;
        const index_type j = ((q >> level) << (level + 1)) | (q & (h - 1));
        const T a = x(j, column), b = x(j + h, column);
        x(j, column) = scale * (a + b);
        x(j + h, column) = scale * (a - b);
      });
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
    const index_type tile = rows < options.tile_rows ? rows : options.tile_rows;
    tiled_stages(exec, x, tile, tile == rows ? scale : T(1));
    int level = 0;
    while ((index_type(1) << level) < tile) ++level;
    for (; (index_type(1) << level) < rows; ++level) {
      upper_stage(exec, x, level, (index_type(2) << level) == rows ? scale : T(1));
    }
  }
}

template void fwht<float>(const ExecSpace&, const Matrix<float>&, const FwhtOptions&);
template void fwht<double>(const ExecSpace&, const Matrix<double>&, const FwhtOptions&);

}  // namespace strata::sketch
