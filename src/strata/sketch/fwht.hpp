// Fast Walsh-Hadamard transform (FWHT) of the columns of a dense matrix, on the device.
//
// H_N is the N x N Sylvester Hadamard matrix (N = 2^p): H_1 = [1], H_2N = [[H_N, H_N], [H_N,
// -H_N]], so H_N(i, j) = (-1)^popcount(i & j) and H_N H_N = N I (H_N / sqrt(N) is orthogonal and
// symmetric). fwht(exec, x) overwrites every column x_c of the N x k matrix x with scale * H_N x_c
// by the radix-2 butterflies of /work/shared/ALGORITHMS.md (d): for h = 1, 2, 4, ..., N/2 and each
// pair (j, j + h) with j & h = 0: (a, b) <- (a + b, a - b).
//
// Kernels (chosen by the execution space, detail/kernel_traits.hpp):
// Host spaces: a task per (column, L1-sized block of 16 KiB) does all the block's stages in
// cache (scalar stages h < 8, then radix-4 butterflies on vectors of 8 contiguous values), then
// each further pass fuses up to 5 stages (radix 4 where possible) over 2^5 strided rows of a
// 64-value contiguous chunk, so an N x k block is read and written 1 + ceil(log2(N / block) / 5)
// times (2 passes for N = 2^20 in fp64), with contiguous inner loops that vectorize.
// GPU spaces (detail/team_kernels.hpp), two kernels with the same passes (FwhtOptions::gpu_kernel):
// "grouped" (the default) runs the columns in groups of about group_bytes, all passes of a group
// while it sits in the GPU's L2 cache (N = 2^20 fp64: 8 MB a column), the passes of consecutive
// groups pipelined in one launch, so the block moves through HBM about once instead of once per
// pass; inside a team, rounds of 4 stages on 16 values per thread in registers exchange through
// padded scratch. "radix8" (the previous kernel) runs every pass over the whole block. Both do
// fused radix-2^q passes through team scratch. Pass 1 gives
// each team a tile of `tile` consecutive rows (at most 32 KiB: 4096 fp64 / 8192 fp32 values) and
// does all its log2(tile) stages; each further pass gives a team 2^q rows at stride h >= tile of
// a chunk of C contiguous values (C >= 32 bytes, C 2^q = tile) and does q stages: the four-step
// split H_N = (H_{N/M} (x) I_M)(I_{N/M} (x) H_M) of the Sylvester matrix, no twiddles. Inside a
// radix8 team the stages go 3 at a time in registers, exchanging through scratch between
// groups. Passes over the data: 1 + ceil(log2(N / tile) / (log2(tile) - log2(C_min))), e.g. 2 for
// N = 2^22 in fp64 and fp32. Cost: N log2(N) k additions; memory traffic 2 N k values per pass
// (grouped: per pass from L2, about once from HBM). In place, O(1) extra memory outside team
// scratch. The stage order (which bits go together) depends on the kernel, so the two GPU
// kernels and the host kernel agree to rounding, each deterministic. Rounding: each output is a sum
// of N terms computed in a balanced tree of depth log2(N), so |fl(H x) - H x| <= log2(N) u sqrt(N)
// ||x||_2 entrywise-ish (Higham, ASNA §3.1); the scaled transform H / sqrt(N) preserves 2-norms to
// a relative log2(N) u.
#pragma once

#include <cstddef>

#include "strata/core/types.hpp"

namespace strata::sketch {

/// The GPU kernel of the FWHT (host backends always run the cache-blocked host kernel).
enum class FwhtGpuKernel {
  /// Columns in groups of about `group_bytes` (FwhtOptions), all passes of a group while it is
  /// resident in the GPU's L2 cache, the passes of consecutive groups pipelined in one launch
  /// (pass p of group g beside pass p + 1 of group g - 1); each pass does up to 4 stages (16
  /// values per thread) in registers per round, 32-bit index arithmetic inside a team.
  grouped,
  /// The previous kernel: every pass over the whole block, radix-8 groups in registers.
  radix8,
};

struct FwhtOptions {
  /// The result is multiplied by this (1: unnormalized H; 1/sqrt(N): orthonormal).
  double scale = 1;
  /// GPU kernel: rows per team-scratch tile (a power of two >= 2), clamped to N and to the
  /// largest power of two that fits 32 KiB and the team scratch limit of the execution space
  /// (TeamPolicy::scratch_size_max(0)); the default takes that largest tile. Checked on every
  /// backend; the host kernel blocks by cache size.
  index_type tile_rows = index_type(1) << 13;
  /// GPU kernel (see FwhtGpuKernel).
  FwhtGpuKernel gpu_kernel = FwhtGpuKernel::grouped;
  /// Grouped GPU kernel: bytes of the columns transformed together (at least one column); two
  /// groups are in flight at a time, so 2 group_bytes should fit the L2 cache (50 MB on H100 and
  /// H200). 0: all columns in one group.
  std::size_t group_bytes = std::size_t(8) << 20;
};

/// x <- scale * H_N x, column by column, for an N x k matrix x with N a power of two (N >= 1).
/// Throws InvalidArgument if N is not a power of two or tile_rows is not a power of two >= 2.
template <class T>
void fwht(const ExecSpace& exec, const Matrix<T>& x, const FwhtOptions& options = {});

/// Whether n is a power of two (n >= 1).
constexpr bool is_power_of_two(index_type n) {
  return n >= 1 && (n & (n - 1)) == 0;
}
/// The smallest power of two >= n (n >= 1).
index_type next_power_of_two(index_type n);

extern template void fwht<float>(const ExecSpace&, const Matrix<float>&, const FwhtOptions&);
extern template void fwht<double>(const ExecSpace&, const Matrix<double>&, const FwhtOptions&);

}  // namespace strata::sketch
