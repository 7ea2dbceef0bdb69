#include "strata/sketch/fwht.hpp"

#include <algorithm>
#include <limits>
#include <type_traits>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/sketch/detail/kernel_traits.hpp"
#include "strata/sketch/detail/random_bits.hpp"
#include "strata/sketch/detail/team_kernels.hpp"
#include "strata/sketch/operator.hpp"

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

// ---- GPU kernels, grouped route: column groups pipelined through the L2 cache ----------------

/// One pass of the grouped kernel over one group of columns: team `first_team + j` of a launch
/// owns, in column j / teams_per_column of the group, the 2^bits rows base + v h (v < 2^bits)
/// of a chunk of 2^log_chunk contiguous values (as in fused_pass). It loads them from `src`
/// (through signs and zero padding when signs is set), does the pass's stages, and stores them
/// to `dst` multiplied by `scale`, or, when `gather` is set (the last pass of an SRHT block),
/// keeps them in team scratch and writes only the sampled rows to `dst`.
template <class T>
struct GroupedPass {
  index_type first_team;
  index_type teams_per_column;
  int level;  // row spacing h = 2^level
  int log_chunk;
  int bits;
  bool signed_load;  // see src_rows
  bool accumulate;   // gather: add to dst
  const T* src;      // column j of the group at src + j * src_stride
  index_type src_stride;
  // signed_load (the first pass of an SRHT block): row t < src_rows loads as +-src[t], with -
  // where bit (j mod 32) of sign_words[j / 32] is 0 for j = sign_start + t (random_sign's bits
  // in 32-bit words); rows >= src_rows load as 0.
  index_type src_rows;
  const std::uint32_t* sign_words;
  index_type sign_start;
  // Column j at dst + j * dst_stride: the transformed rows, or with gather (the last pass of an
  // SRHT block) the sampled rows: for the team t of a column, entries [gather[t], gather[t + 1])
  // of the pairs at gather + teams_per_column + 1: (value index e in the team, ~e for a
  // negative sign; output row i).
  T* dst;
  index_type dst_stride;
  const index_type* gather;
  T scale;
};

/// Passes of one launch (on different column groups, so they never touch the same data). Two,
/// so that the kernel argument stays below the 512 bytes up to which Kokkos passes it as a
/// parameter (larger ones go through constant memory with a copy and a wait per launch).
constexpr int max_launch_passes = 2;
template <class T>
struct GroupedLaunch {
  GroupedPass<T> pass[max_launch_passes];
  int count;
};
static_assert(sizeof(GroupedLaunch<double>) <= 256, "the grouped kernel's argument grew");

/// log2 of the values one thread keeps in registers per round (16: 32 registers in fp64).
template <class T>
KOKKOS_INLINE_FUNCTION constexpr int register_bits() {
  return 4;
}

/// Scratch index of team value e: one pad value after every 128 bytes, so that the threads of a
/// warp reading values 2^g apart (g <= 4) hit distinct banks.
template <class T>
KOKKOS_INLINE_FUNCTION constexpr int grouped_pad_shift() {
  return sizeof(T) >= 8 ? 4 : 5;
}
template <class T>
KOKKOS_INLINE_FUNCTION unsigned grouped_pad(unsigned e) {
  return e + (e >> grouped_pad_shift<T>());
}

/// One round of a grouped pass: the stages of the g bits [pos, pos + g) of the team's value
/// index e (pos >= log_chunk: bits of v), 2^g values per thread in registers; loaded from
/// global memory (load) or scratch, stored to global memory (store) or scratch. In global memory
/// value e is row base + (e mod chunk) + (e / chunk) h of the column.
template <int g, class T, class Member>
KOKKOS_INLINE_FUNCTION void grouped_round(const Member& team, const GroupedPass<T>& p,
                                          int log_values, int pos, index_type base, const T* src,
                                          T* dst, T* s, bool load, bool store, T out_scale) {
  constexpr int points = 1 << g;
  const unsigned items = 1u << (log_values - g);
  const unsigned low_mask = (1u << pos) - 1;
  const unsigned chunk_mask = (1u << p.log_chunk) - 1;
  const index_type row_step = index_type(1) << (p.level + pos - p.log_chunk);
  const unsigned threads = static_cast<unsigned>(team.team_size());
  for (unsigned w = static_cast<unsigned>(team.team_rank()); w < items; w += threads) {
    const unsigned e0 = ((w & ~low_mask) << g) | (w & low_mask);
    const index_type r0 =
        base + (e0 & chunk_mask) + (static_cast<index_type>(e0 >> p.log_chunk) << p.level);
    // From pos >= the pad shift on, the scratch index of value m is linear in m: pad(e0) + m
    // (2^pos + 2^(pos - shift)) (e0 has zeros at bits [pos, pos + g)), so one base and stride.
    const bool linear = pos >= grouped_pad_shift<T>();
    const unsigned s0 = grouped_pad<T>(e0);
    const unsigned s_step = linear ? (1u << pos) + (1u << (pos - grouped_pad_shift<T>())) : 0u;
    T v[points];
    if (load) {
      STRATA_SKETCH_UNROLL
      for (int m = 0; m < points; ++m) v[m] = src[r0 + m * row_step];
    } else if (linear) {
      STRATA_SKETCH_UNROLL
      for (int m = 0; m < points; ++m) v[m] = s[s0 + unsigned(m) * s_step];
    } else {
      STRATA_SKETCH_UNROLL
      for (int m = 0; m < points; ++m) v[m] = s[grouped_pad<T>(e0 + (unsigned(m) << pos))];
    }
    STRATA_SKETCH_UNROLL
    for (int b = 0; b < g; ++b) {
      STRATA_SKETCH_UNROLL
      for (int m = 0; m < points; ++m) {
        if ((m & (1 << b)) == 0) {
          const T x0 = v[m], x1 = v[m | (1 << b)];
          v[m] = x0 + x1;
          v[m | (1 << b)] = x0 - x1;
        }
      }
    }
    if (store) {
      STRATA_SKETCH_UNROLL
      for (int m = 0; m < points; ++m) dst[r0 + m * row_step] = out_scale * v[m];
    } else if (linear) {
      STRATA_SKETCH_UNROLL
      for (int m = 0; m < points; ++m) s[s0 + unsigned(m) * s_step] = v[m];
    } else {
      STRATA_SKETCH_UNROLL
      for (int m = 0; m < points; ++m) s[grouped_pad<T>(e0 + (unsigned(m) << pos))] = v[m];
    }
  }
}

/// Scratch values of a team of 2^log_values values that exchanges through scratch.
template <class T>
index_type grouped_scratch_values(int log_values) {
  return static_cast<index_type>(grouped_pad<T>((1u << log_values) - 1u)) + 1;
}

/// One team of a grouped pass: the pass's bits in rounds of at most register_bits<T>(), sizes
/// as even as possible: the round of the top bits while loading (consecutive threads read
/// consecutive rows of a chunk), then the others from the bottom up, the last one while storing,
/// with a team barrier between rounds; then, with gather, the sampled rows from scratch.
template <bool Srht, class T, class Member>
KOKKOS_INLINE_FUNCTION void grouped_team(const Member& team, const GroupedPass<T>& p, T* s) {
  constexpr int max_bits = register_bits<T>();
  const index_type local = team.league_rank() - p.first_team;
  const index_type column = local / p.teams_per_column;
  const index_type tile = local % p.teams_per_column;
  const index_type chunks_per_span = index_type(1) << (p.level - p.log_chunk);
  const index_type base =
      ((tile / chunks_per_span) << (p.level + p.bits)) + ((tile % chunks_per_span) << p.log_chunk);
  // A gathering team without sampled rows has nothing to write (a uniform exit: every thread).
  if (Srht && p.gather != nullptr && p.gather[tile] == p.gather[tile + 1]) return;
  const T* const src = p.src + column * p.src_stride;
  T* const dst = p.dst + column * p.dst_stride;
  const int lv = p.log_chunk + p.bits;
  const int rounds = (p.bits + max_bits - 1) / max_bits;
  if (Srht && p.signed_load) {
    // The sign flip and zero padding on the way into scratch, 8 values per thread in flight (a
    // separate step: folded into the first round, the sign bits beside 16 values spill).
    constexpr int batch = 8;
    const index_type values = index_type(1) << lv, stride = team.team_size();
    const index_type chunk_mask = (index_type(1) << p.log_chunk) - 1;
    for (index_type e0 = team.team_rank(); e0 < values; e0 += batch * stride) {
      STRATA_SKETCH_UNROLL
      for (int m = 0; m < batch; ++m) {
        const index_type e = e0 + m * stride;
        if (e < values) {
          const index_type r = base + (e & chunk_mask) + ((e >> p.log_chunk) << p.level);
          const index_type j = p.sign_start + r;
          const T x = r < p.src_rows ? src[r] : T(0);
          s[grouped_pad<T>(static_cast<unsigned>(e))] =
              ((p.sign_words[j >> 5] >> (j & 31)) & 1u) != 0 ? x : -x;
        }
      }
    }
    team.team_barrier();
  }
  for (int step = 0; step < rounds; ++step) {
    const int i = step == 0 ? rounds - 1 : step - 1;
    const int g = p.bits / rounds + (i < p.bits % rounds ? 1 : 0);
    const int lo = i * (p.bits / rounds) + (i < p.bits % rounds ? i : p.bits % rounds);
    const bool load = step == 0 && !(Srht && p.signed_load);
    const bool store = step == rounds - 1 && !(Srht && p.gather != nullptr);
    const T out_scale = store ? p.scale : T(1);
    const int pos = p.log_chunk + lo;
    switch (g) {
      case 1:
        grouped_round<1>(team, p, lv, pos, base, src, dst, s, load, store, out_scale);
        break;
      case 2:
        grouped_round<2>(team, p, lv, pos, base, src, dst, s, load, store, out_scale);
        break;
      case 3:
        grouped_round<3>(team, p, lv, pos, base, src, dst, s, load, store, out_scale);
        break;
      default:
        grouped_round<max_bits>(team, p, lv, pos, base, src, dst, s, load, store, out_scale);
        break;
    }
    if (!store) team.team_barrier();
  }
  if (Srht && p.gather != nullptr) {
    const index_type* const pairs = p.gather + p.teams_per_column + 1;
    for (index_type q = p.gather[tile] + team.team_rank(); q < p.gather[tile + 1];
         q += team.team_size()) {
      const index_type code = pairs[2 * q], row = pairs[2 * q + 1];
      const T v = p.scale * s[grouped_pad<T>(static_cast<unsigned>(code < 0 ? ~code : code))];
      const T signed_v = code < 0 ? -v : v;
      dst[row] = p.accumulate ? dst[row] + signed_v : signed_v;
    }
  }
}

/// Runs the passes of one launch: a team of the league runs the last pass whose first_team it
/// reaches. Launch bounds cap the registers so that 768 (fp64: 3 teams of 256 threads, 80
/// registers, room for 16 doubles without spills) / 1024 (fp32: 2 teams of 512, 64 registers)
/// threads share a multiprocessor. Srht: the kernel with signed_load and gather; the FWHT's
/// kernel has neither (no Philox code: fewer registers).
template <bool Srht, class T>
void grouped_launch(const ExecSpace& exec, const GroupedLaunch<T>& launch, index_type league) {
  using Bounds = std::conditional_t<(sizeof(T) >= 8), Kokkos::LaunchBounds<256, 3>,
                                    Kokkos::LaunchBounds<512, 2>>;
  using Policy = Kokkos::TeamPolicy<ExecSpace, Bounds>;
  using Scratch =
      Kokkos::View<T*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryUnmanaged>;
  constexpr int max_bits = register_bits<T>();
  int log_values = 0;
  index_type scratch_values = 0;
  for (int q = 0; q < launch.count; ++q) {
    const GroupedPass<T>& p = launch.pass[q];
    const int lv = p.log_chunk + p.bits;
    log_values = std::max(log_values, lv);
    if (p.bits > max_bits || p.gather != nullptr || p.signed_load) {
      scratch_values = std::max(scratch_values, grouped_scratch_values<T>(lv));
    }
  }
  STRATA_REQUIRE(league <= index_type(std::numeric_limits<int>::max()) && log_values < 31,
                 InvalidArgument, "fwht: ", league, " teams of 2^", log_values,
                 " values exceed one kernel launch");
  static_assert(max_launch_passes == 2, "grouped_launch selects among two passes");
  auto body = KOKKOS_LAMBDA(const typename Policy::member_type& team) {
    Scratch scratch(team.team_scratch(0), static_cast<std::size_t>(scratch_values));
    // Constant indices: the pass stays in the kernel argument (a dynamically indexed one would
    // be copied to local memory).
    if (launch.count > 1 && team.league_rank() >= launch.pass[1].first_team) {
      grouped_team<Srht>(team, launch.pass[1], scratch.data());
    } else {
      grouped_team<Srht>(team, launch.pass[0], scratch.data());
    }
  };
  // 2^register_bits values per thread: 256 (fp64) / 512 (fp32) threads for 32 KiB tiles.
  const int wanted = 1 << std::max(0, log_values - max_bits);
  const std::size_t bytes =
      scratch_values > 0 ? Scratch::shmem_size(static_cast<std::size_t>(scratch_values)) : 0;
  Policy probe(exec, static_cast<int>(league), 1);
  if (bytes > 0) probe.set_scratch_size(0, Kokkos::PerTeam(bytes));
  Policy policy(exec, static_cast<int>(league), kx::team_size(exec, probe, body, wanted));
  if (bytes > 0) policy.set_scratch_size(0, Kokkos::PerTeam(bytes));
  Kokkos::parallel_for("strata::sketch::fwht::grouped_pass", policy, body);
}

/// The shape of one pass: stages h = 2^level .. 2^(level + bits - 1), chunks of 2^log_chunk.
struct PassShape {
  int level;
  int log_chunk;
  int bits;
};

/// The pass split of both GPU kernels: a first pass over tiles of 2^log_tile consecutive rows,
/// then passes over chunks of >= 32 contiguous bytes where the tile allows, the remaining stages
/// split evenly over the fewest such passes, each chunk widened to fill the tile.
template <class T>
std::vector<PassShape> plan_passes(int log_rows, int log_tile) {
  std::vector<PassShape> passes{{0, 0, log_tile}};
  const int remaining = log_rows - log_tile;
  if (remaining == 0) return passes;
  int log_min_chunk = 0;
  while ((index_type(sizeof(T)) << log_min_chunk) < 32) ++log_min_chunk;
  const int max_bits = std::max(1, log_tile - log_min_chunk);
  const int count = (remaining + max_bits - 1) / max_bits;
  int level = log_tile;
  for (int p = 0; p < count; ++p) {
    const int bits = remaining / count + (p < remaining % count ? 1 : 0);
    passes.push_back({level, std::max(0, log_tile - bits), bits});
    level += bits;
  }
  return passes;
}

/// Teams of one column in a pass of `shape` over `rows` rows.
inline index_type teams_per_column(index_type rows, const PassShape& shape) {
  const index_type h = index_type(1) << shape.level;
  const index_type chunk = index_type(1) << shape.log_chunk;
  return (rows / (h << shape.bits)) * (h / chunk);
}

/// The largest power-of-two tile (at most tile_rows and rows, at most 32 KiB of values) whose
/// padded scratch fits the level-0 team scratch of the execution space.
template <class T>
int grouped_log_tile(index_type rows, index_type tile_rows) {
  const auto limit =
      static_cast<index_type>(Kokkos::TeamPolicy<ExecSpace>::scratch_size_max(0)) - 128;
  const index_type cap =
      std::min(std::min(tile_rows, rows), index_type(32768) / static_cast<index_type>(sizeof(T)));
  int log_tile = 1;
  while ((index_type(2) << log_tile) <= cap &&
         grouped_scratch_values<T>(log_tile + 1) * static_cast<index_type>(sizeof(T)) <= limit) {
    ++log_tile;
  }
  return log_tile;
}

/// Runs `passes` over `groups` column groups, pipelined: step s launches pass p of group s - p
/// for every valid p (later passes first in the league: their group is the one to leave the
/// cache soonest), at most max_launch_passes per launch. make(p, g, pass) fills all of pass but
/// first_team and returns the group's number of columns.
template <bool Srht, class T, class Make>
void run_pipelined(const ExecSpace& exec, int pass_count, index_type groups, const Make& make) {
  for (index_type step = 0; step < groups + pass_count - 1; ++step) {
    GroupedLaunch<T> launch{};
    launch.count = 0;
    index_type league = 0;
    for (int p = pass_count - 1; p >= 0; --p) {
      const index_type g = step - p;
      if (g < 0 || g >= groups) continue;
      GroupedPass<T> pass{};
      const index_type columns = make(p, g, pass);
      pass.first_team = league;
      league += pass.teams_per_column * columns;
      launch.pass[launch.count++] = pass;
      if (launch.count == max_launch_passes) {
        grouped_launch<Srht>(exec, launch, league);
        launch.count = 0;
        league = 0;
      }
    }
    if (launch.count > 0) grouped_launch<Srht>(exec, launch, league);
  }
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
    if (options.gpu_kernel == FwhtGpuKernel::grouped) {
      detail::fwht_grouped_team(exec, x, options.tile_rows, options.group_bytes, scale);
    } else {
      detail::fwht_team(exec, x, options.tile_rows, scale);
    }
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
  // Pass 1 takes every tile of consecutive rows completely (stages h < tile), the upper passes
  // chunks of >= 32 contiguous bytes (a DRAM sector) per row (plan_passes); the scale goes into
  // the last pass.
  const auto passes = plan_passes<T>(log_rows, log_tile);
  for (std::size_t p = 0; p < passes.size(); ++p) {
    fused_pass(exec, x, passes[p].level, passes[p].log_chunk, passes[p].bits,
               p + 1 == passes.size() ? scale : T(1));
  }
}

namespace {

int log2_exact(index_type n) {
  int l = 0;
  while ((index_type(1) << l) < n) ++l;
  return l;
}

/// Columns per group of the grouped kernel: group_bytes of columns of `rows` values, at least
/// one, at most all (group_bytes == 0: all).
template <class T>
index_type columns_per_group(index_type rows, index_type cols, std::size_t group_bytes) {
  if (group_bytes == 0) return cols;
  const index_type per = static_cast<index_type>(group_bytes / sizeof(T)) / rows;
  return std::max<index_type>(1, std::min(per, cols));
}

}  // namespace

template <class T>
void fwht_grouped_team(const ExecSpace& exec, const Matrix<T>& x, index_type tile_rows,
                       std::size_t group_bytes, T scale) {
  const index_type rows = static_cast<index_type>(x.extent(0));
  STRATA_REQUIRE(rows >= 2 && is_power_of_two(rows) && tile_rows >= 2 && is_power_of_two(tile_rows),
                 InvalidArgument, "fwht_grouped_team: rows (", rows, ") and tile_rows (", tile_rows,
                 ") must be powers of two >= 2");
  const index_type cols = static_cast<index_type>(x.extent(1));
  if (cols == 0) return;
  const int log_rows = log2_exact(rows);
  const auto passes = plan_passes<T>(log_rows, grouped_log_tile<T>(rows, tile_rows));
  const int count = static_cast<int>(passes.size());
  const index_type group_cols = columns_per_group<T>(rows, cols, group_bytes);
  const index_type groups = (cols + group_cols - 1) / group_cols;
  const index_type ld = static_cast<index_type>(x.stride(1));
  T* const data = x.data();
  run_pipelined<false, T>(exec, count, groups, [&](int p, index_type g, GroupedPass<T>& pass) {
    const PassShape& shape = passes[static_cast<std::size_t>(p)];
    pass.teams_per_column = teams_per_column(rows, shape);
    pass.level = shape.level;
    pass.log_chunk = shape.log_chunk;
    pass.bits = shape.bits;
    pass.src = data + g * group_cols * ld;
    pass.src_stride = ld;
    pass.src_rows = rows;
    pass.dst = data + g * group_cols * ld;
    pass.dst_stride = ld;
    pass.scale = p == count - 1 ? scale : T(1);
    return std::min(group_cols, cols - g * group_cols);
  });
}

namespace {

/// One aligned dyadic block [start, start + len) of srht_left_team, its first `valid` rows from A
/// (row offset start - b), the rest zero padding; its passes, and where its gather table starts
/// in the tables of all blocks.
struct SrhtBlock {
  index_type start, len, valid;
  std::vector<PassShape> passes;
  std::size_t table;
};

/// Appends the gather table of a block to `tables`: len == 1: the code (0, or ~0 for a negative
/// sign) of every sampled row i; otherwise, for the teams t of a column in the last pass, the
/// offsets [t] of their entries (t <= teams), then the entries (e, or ~e for a negative sign; i)
/// in a counting sort by team, stable in i. The sign of row i is (-1)^popcount(rows[i] & start).
template <class T>
void append_gather_table(SrhtBlock& block, const std::vector<index_type>& rows,
                         std::vector<index_type>& tables) {
  const auto d = static_cast<index_type>(rows.size());
  block.table = tables.size();
  auto negative = [&](index_type i) {
    return hadamard_sign<int>(
               static_cast<std::uint64_t>(rows[static_cast<std::size_t>(i)] & block.start)) < 0;
  };
  if (block.len == 1) {
    for (index_type i = 0; i < d; ++i) tables.push_back(negative(i) ? ~index_type(0) : 0);
    return;
  }
  const PassShape& last = block.passes.back();
  const index_type teams = teams_per_column(block.len, last);
  const index_type h = index_type(1) << last.level, chunk = index_type(1) << last.log_chunk;
  const index_type span = h << last.bits, chunks_per_span = h / chunk;
  auto team_of = [&](index_type q) {
    return (q / span) * chunks_per_span + (q % h) / chunk;
  };
  const std::size_t base = tables.size();
  tables.resize(base + static_cast<std::size_t>(teams + 1 + 2 * d), 0);
  index_type* const offsets = tables.data() + base;
  index_type* const pairs = offsets + teams + 1;
  for (index_type i = 0; i < d; ++i) {
    ++offsets[team_of(rows[static_cast<std::size_t>(i)] & (block.len - 1)) + 1];
  }
  for (index_type t = 0; t < teams; ++t) offsets[t + 1] += offsets[t];
  std::vector<index_type> next(offsets, offsets + teams);
  for (index_type i = 0; i < d; ++i) {
    const index_type q = rows[static_cast<std::size_t>(i)] & (block.len - 1);
    const index_type e =
        (q % chunk) + (((q / h) & ((index_type(1) << last.bits) - 1)) << last.log_chunk);
    const index_type slot = 2 * next[static_cast<std::size_t>(team_of(q))]++;
    pairs[slot] = negative(i) ? ~e : e;
    pairs[slot + 1] = i;
  }
}

/// Values of the intermediate buffers of a block of srht_block_team with `cols` columns.
template <class T>
index_type srht_buffer_values(const SrhtBlock& block, index_type cols, std::size_t group_bytes) {
  const auto count = static_cast<index_type>(block.passes.size());
  if (count < 2) return 0;
  const index_type group_cols = columns_per_group<T>(block.len, cols, group_bytes);
  const index_type groups = (cols + group_cols - 1) / group_cols;
  return std::min(count, groups) * group_cols * block.len;
}

/// Launches one block of srht_left_team (its gather table at `table` on the device, the sign
/// bit of its row t at bit (j mod 32) of sign_words[j / 32], j = sign_start + t): the grouped
/// passes over column groups of about group_bytes, the first one with signed_load, the last one
/// with gather; buffers for the P groups in flight in between.
template <class T>
void srht_block_team(const ExecSpace& exec, const SketchOperator& op, const ConstMatrix<T>& a,
                     index_type b, const SrhtBlock& block, const index_type* table,
                     const std::uint32_t* sign_words, index_type sign_start, T* z_data,
                     const Matrix<T>& out, T scale, bool accumulate, std::size_t group_bytes) {
  const index_type cols = static_cast<index_type>(a.extent(1));
  const auto d = static_cast<index_type>(out.extent(0));
  const T* const a_data = a.data() + (block.start - b);
  const index_type lda = static_cast<index_type>(a.stride(1));
  const index_type ldo = static_cast<index_type>(out.stride(1));
  T* const out_data = out.data();
  const std::uint64_t seed = op.seed, stream = op.stream;
  const index_type start = block.start, valid = block.valid;
  if (block.len == 1) {  // H_1 = [1]: every sampled row is the block's one (signed) entry
    Kokkos::parallel_for(
        "strata::sketch::srht_block_single",
        Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, d * cols),
        KOKKOS_LAMBDA(const index_type q) {
          const index_type i = q % d, c = q / d;
          const T z = valid > 0
                          ? random_sign<T>(seed, stream, tag_signs_d2, start) * a_data[c * lda]
                          : T(0);
          const T v = scale * z;
          T& o = out_data[i + c * ldo];
          o = accumulate ? o + (table[i] < 0 ? -v : v) : (table[i] < 0 ? -v : v);
        });
    return;
  }
  const index_type len = block.len;
  const int count = static_cast<int>(block.passes.size());
  const index_type group_cols = columns_per_group<T>(len, cols, group_bytes);
  const index_type groups = (cols + group_cols - 1) / group_cols;
  // Group g's intermediate lives in buffer g mod P of z_data from its first pass to its last (P
  // groups in flight at a time; srht_buffer_values).
  const index_type buffers = count > 1 ? std::min<index_type>(count, groups) : 0;
  run_pipelined<true, T>(exec, count, groups, [&](int p, index_type g, GroupedPass<T>& pass) {
    const PassShape& shape = block.passes[static_cast<std::size_t>(p)];
    const index_type col0 = g * group_cols;
    T* const buffer = buffers > 0 ? z_data + (g % buffers) * group_cols * len : nullptr;
    pass.teams_per_column = teams_per_column(len, shape);
    pass.level = shape.level;
    pass.log_chunk = shape.log_chunk;
    pass.bits = shape.bits;
    if (p == 0) {
      pass.src = a_data + col0 * lda;
      pass.src_stride = lda;
      pass.src_rows = valid;
      pass.signed_load = true;
      pass.sign_words = sign_words;
      pass.sign_start = sign_start;
    } else {
      pass.src = buffer;
      pass.src_stride = len;
      pass.src_rows = len;
    }
    if (p == count - 1) {
      pass.gather = table;
      pass.dst = out_data + col0 * ldo;
      pass.dst_stride = ldo;
      pass.accumulate = accumulate;
      pass.scale = scale;
    } else {
      pass.dst = buffer;
      pass.dst_stride = len;
      pass.scale = T(1);
    }
    return std::min(group_cols, cols - col0);
  });
}

}  // namespace

template <class T>
void srht_left_team(const ExecSpace& exec, const SketchOperator& op, const ConstMatrix<T>& a,
                    index_type b, const std::vector<index_type>& rows, const Matrix<T>& out,
                    T scale, const FwhtOptions& fwht) {
  const index_type r = static_cast<index_type>(a.extent(0));
  const auto d = static_cast<index_type>(rows.size());
  STRATA_REQUIRE(b >= 0 && b + r <= op.cols && r >= 1 && fwht.tile_rows >= 2 &&
                     is_power_of_two(fwht.tile_rows) &&
                     static_cast<index_type>(out.extent(0)) == d && out.extent(1) == a.extent(1),
                 InvalidArgument, "srht_left_team: rows [", b, ", ", b + r,
                 ") of A must be a nonempty part of [0, ", op.cols, "), tile_rows (",
                 fwht.tile_rows, ") a power of two >= 2 and the output ", d, " x ", a.extent(1),
                 ", got ", out.extent(0), " x ", out.extent(1));
  if (a.extent(1) == 0 || d == 0) return;
  const index_type n = op.cols, big_n = op.padded_cols();
  const index_type e = (b + r == n) ? big_n : b + r, end = b + r;
  // Every block's plan and gather table first, so that one copy to the device (the only
  // synchronization) precedes all launches.
  std::vector<SrhtBlock> blocks;
  std::vector<index_type> tables;
  for (index_type c = b; c < e;) {
    index_type len = 1;
    while ((c % (2 * len)) == 0 && c + 2 * len <= e) len *= 2;
    SrhtBlock block{c, len, std::max<index_type>(0, std::min(len, end - c)), {}, 0};
    if (len > 1) {
      block.passes = plan_passes<T>(log2_exact(len), grouped_log_tile<T>(len, fwht.tile_rows));
    }
    append_gather_table<T>(block, rows, tables);
    blocks.push_back(std::move(block));
    c += len;
  }
  // One workspace (one allocation; GPU allocations are slow): the gather tables, D's signs for
  // [b, e) and the intermediate buffers of the largest block. The signs are the 256-bit Philox
  // outputs of random_sign, counters b / 256 .. (e - 1) / 256, as 32-bit words (sign j at bit
  // j mod 32 of word j / 32 - 8 (b / 256): N / 8 bytes in all).
  const index_type first = b >> 8, calls = ((e - 1) >> 8) - first + 1;
  index_type buffer_values = 0;
  for (const auto& block : blocks) {
    buffer_values = std::max(
        buffer_values,
        srht_buffer_values<T>(block, static_cast<index_type>(a.extent(1)), fwht.group_bytes));
  }
  // Sizes in 8-byte words.
  const auto table_words = static_cast<index_type>(tables.size());
  const index_type sign_words = 4 * calls;
  const index_type buffer_words = (buffer_values * static_cast<index_type>(sizeof(T)) + 7) / 8;
  Kokkos::View<index_type*, MemSpace> workspace(
      Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::sketch::srht_workspace"),
      static_cast<std::size_t>(table_words + sign_words + buffer_words));
  index_type* const table_data = workspace.data();
  Kokkos::deep_copy(
      Kokkos::View<index_type*, MemSpace, Kokkos::MemoryUnmanaged>(table_data, tables.size()),
      Kokkos::View<const index_type*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>(tables.data(),
                                                                                  tables.size()));
  auto* const words = reinterpret_cast<std::uint32_t*>(table_data + table_words);
  T* const z_data = reinterpret_cast<T*>(table_data + table_words + sign_words);
  const std::uint64_t seed = op.seed, stream = op.stream;
  Kokkos::parallel_for(
      "strata::sketch::srht_sign_words",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, calls),
      KOKKOS_LAMBDA(const index_type q) {
        const auto bits =
            philox_bits(seed, stream, tag_signs_d2, static_cast<std::uint64_t>(first + q), 0);
        for (int w = 0; w < 4; ++w) {
          words[8 * q + 2 * w] = static_cast<std::uint32_t>(bits.v[w]);
          words[8 * q + 2 * w + 1] = static_cast<std::uint32_t>(bits.v[w] >> 32);
        }
      });
  for (std::size_t q = 0; q < blocks.size(); ++q) {
    srht_block_team(exec, op, a, b, blocks[q], table_data + blocks[q].table, words,
                    blocks[q].start - 256 * first, z_data, out, scale, q > 0, fwht.group_bytes);
  }
}

template index_type team_scratch_values<float>();
template index_type team_scratch_values<double>();
template void fwht_grouped_team<float>(const ExecSpace&, const Matrix<float>&, index_type,
                                       std::size_t, float);
template void fwht_grouped_team<double>(const ExecSpace&, const Matrix<double>&, index_type,
                                        std::size_t, double);
template void srht_left_team<float>(const ExecSpace&, const SketchOperator&,
                                    const ConstMatrix<float>&, index_type,
                                    const std::vector<index_type>&, const Matrix<float>&, float,
                                    const FwhtOptions&);
template void srht_left_team<double>(const ExecSpace&, const SketchOperator&,
                                     const ConstMatrix<double>&, index_type,
                                     const std::vector<index_type>&, const Matrix<double>&, double,
                                     const FwhtOptions&);
template void fwht_team<float>(const ExecSpace&, const Matrix<float>&, index_type, float);
template void fwht_team<double>(const ExecSpace&, const Matrix<double>&, index_type, double);

}  // namespace detail

template void fwht<float>(const ExecSpace&, const Matrix<float>&, const FwhtOptions&);
template void fwht<double>(const ExecSpace&, const Matrix<double>&, const FwhtOptions&);

}  // namespace strata::sketch
