// The GPU (team-scratch) kernels of the FWHT and of the sparse-sign products, callable on any
// execution space. fwht() and the sparse-sign products pick them through KernelTraits on GPU
// spaces; the unit tests call them directly so that the exact GPU code paths also run (with
// team size 1, and every scratch request checked) on the host backends of CI.
#pragma once

#include <cstddef>
#include <vector>

#include "strata/core/types.hpp"
#include "strata/sketch/fwht.hpp"
#include "strata/sketch/operator.hpp"

namespace strata::sketch::detail {

/// x <- scale * H_N x column by column (N = rows of x, a power of two >= 2) by fused radix-2^q
/// passes: the first pass transforms every tile of `tile_rows` consecutive rows in team scratch
/// (all its log2(tile_rows) stages); each further pass couples 2^q rows at stride h (>= the
/// tile) for a chunk of C contiguous values per row (C 2^q <= tile_rows, C >= 32 bytes where
/// possible), i.e. the four-step split H_N = (H_{N/M} (x) I_M)(I_{N/M} (x) H_M) of the Sylvester
/// matrix, so an N x k block is read and written 1 + ceil(log2(N / tile) / (log2(tile) -
/// log2(C))) times. tile_rows: a power of two >= 2 (clamped to N and to the scratch limit).
template <class T>
void fwht_team(const ExecSpace& exec, const Matrix<T>& x, index_type tile_rows, T scale);

/// x <- scale * H_N x column by column (N = rows of x, a power of two >= 2) by the grouped GPU
/// kernel (FwhtGpuKernel::grouped): the same pass split as fwht_team (a first pass over tiles
/// of consecutive rows, further passes over strided rows of contiguous chunks), with the columns
/// in groups of about group_bytes (0: one group) whose passes are pipelined: launch s runs pass p
/// of group s - p for every p. Inside a team, rounds of up to 4 stages (16 values per thread) in
/// registers exchange through padded team scratch.
template <class T>
void fwht_grouped_team(const ExecSpace& exec, const Matrix<T>& x, index_type tile_rows,
                       std::size_t group_bytes, T scale);

/// The srht's partial product out (d x k) = scale * S(:, [b, b + r)) a for a (r x k), S = P H_N D
/// (operator.hpp; rows: the d sampled rows pi_i on the host), on the aligned dyadic blocks
/// [c, c + len) of [b, e) (e = N on the block holding row n - 1, else b + r) as in
/// hadamard_left. Each block is one fused pipeline of the grouped kernel: its first pass loads a
/// (the sign flip D and the zero padding in its load), its last one keeps the transformed
/// values in team scratch and writes only the sampled rows, out(i, :) (+)= scale *
/// (-1)^popcount(pi_i & c) (H_len z)(pi_i mod len, :), so no len x k intermediate is written:
/// the workspace is P column groups of about fwht.group_bytes (P = passes).
template <class T>
void srht_left_team(const ExecSpace& exec, const SketchOperator& op, const ConstMatrix<T>& a,
                    index_type b, const std::vector<index_type>& rows, const Matrix<T>& out,
                    T scale, const FwhtOptions& fwht);

/// The largest power-of-two number of T values that, with the FWHT's padding of 1 value per 8,
/// fits the level-0 team scratch of a team on this execution space (TeamPolicy::
/// scratch_size_max(0), present in Kokkos 3.4 and 4.x; about 40 KB on CUDA), capped at 32 KiB of
/// values so that several teams share a GPU multiprocessor: 4096 fp64 / 8192 fp32 on CUDA.
template <class T>
index_type team_scratch_values();

/// Sparse-sign products with the row-sorted copy of s (s.build_rows must have run):
/// transposed == false: out (d x k) = scale * S a for a (w x k);
/// transposed == true:  out (m x d) = scale * a S^T for a (m x w).
/// A team owns a block of rows of S and one column of the result per lane of a thread group (a
/// warp on GPUs, one thread on the host's one-thread teams), each group 16 rows of S with their
/// sums in registers; it streams its columns of a once, tile by tile, through team scratch, and
/// the lanes of a group walk the same CSR entries of a row together. Each output entry is the sum
/// over its row of S in increasing column order (the order of the host kernels), so results are
/// deterministic and equal across backends.
/// kernel (transposed == false only; ignored otherwise): SparseGpuKernel::columns takes a team
/// per column of a with all d rows of S (their sums and CSR positions in team scratch) and
/// streams the column once in chunks as long as the scratch allows; automatic takes it when d
/// rows fit half the scratch and a has at least one column per 2048 resident threads of the
/// device (sparse_columns_min_width), else the tiles above. SparseGpuKernel::column_blocks takes a
/// team per 8 columns of a with all rows of S (sums in registers, each CSR entry read once per 8
/// columns); automatic takes it first where S has at least 8 nonzeros per column and a at least 8
/// columns per 2048 resident threads.
/// All sum in the same order.
template <class T>
void sparse_product_team(const ExecSpace& exec, const SparseSignMatrix& s, const ConstMatrix<T>& a,
                         const Matrix<T>& out, T scale, bool transposed,
                         SparseGpuKernel kernel = SparseGpuKernel::automatic);

/// Whether the columns kernel holds d rows of S for T (the automatic choice of
/// sparse_product_team).
template <class T>
bool sparse_columns_fit(index_type d);
index_type sparse_columns_min_width(const ExecSpace& exec);

}  // namespace strata::sketch::detail
