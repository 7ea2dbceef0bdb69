// Reproducible random sketch operators S (d x n) and their products with dense matrices,
// distributed matrices and linear operators.
//
// An operator is the small value SketchOperator{kind, rows d, cols n, seed, stream, nnz}; its
// entries are generated lazily from counter-based Philox streams (core/random.hpp and
// sketch/detail/random_bits.hpp), so entry (i, j) depends only on (kind, seed, stream, i, j) and,
// where noted, on d or the padded size N. Any column block of S can therefore be generated on its
// own, and every product below gives the same result (to rounding) on any number of ranks,
// threads or backends. The same (seed, stream) used for different kinds gives independent bits.
//
// Kinds (conventions follow RandBLAS / libSkylark; "isometry" = the default scaling):
//   gaussian     S(i, j) = g_ij / sqrt(d), g_ij ~ N(0, 1) = RandomStream{gaussian, seed, stream}.
//   rademacher   S(i, j) = r_ij / sqrt(d), r_ij = +-1     = RandomStream{rademacher, seed, stream}.
//   srht         S = (1/sqrt(d)) P H_N D restricted to the first n columns: N = next power of two
//                >= n (zero padding), D = diag of n random signs, H_N the Sylvester Hadamard matrix
//                (+-1 entries), P the first d rows of a seeded uniformly random permutation pi of
//                [0, N): S(i, j) = D_j (-1)^popcount(pi_i & j) / sqrt(d). d <= N.
//                pi is a partial Fisher-Yates shuffle (step i swaps position i with a uniform
//                position in [i, N), drawn from counter i), so its first d entries do not depend on
//                d: the sampled rows are a uniform d-subset without replacement, in random order.
//                With d = N, S^T S = I (exact orthogonality of the padded transform).
//   hadamard     T = (1/N) H_N D1 H_N D2 restricted to the first n columns, d = N (square after
//                padding). Orthogonal: T^T T = I_N, so ||T x|| = ||x|| for every x (to rounding).
//                Zilca & Mendelson (arXiv 2604.23418): every single output coordinate of T u is
//                within Kolmogorov distance O(N^{-1/5}) of the same coordinate of a Haar-random
//                rotation of u, uniformly over inputs u; but the law of the whole vector T u is NOT
//                close to Haar: they give an explicit input whose Wasserstein distance to the Haar
//                law stays bounded away from zero (sharp for that input). Use it for
//                coordinate-wise purposes (incoherence, quantization, spreading mass before
//                sampling), not as a drop-in Haar rotation when the joint geometry matters.
//   sparse-sign  s = nnz nonzeros per column at distinct rows, each +-1/sqrt(s) (s = 1:
//   CountSketch,
//                s > 1: SJLT/OSNAP). Column j's rows are a uniform s-subset of [0, d) by Floyd's
//                algorithm from counters (j, q), its signs from the same counters.
//
// Scaling. With isometry scaling (ApplyOptions::isometry_scaling = true, the default) every kind
// satisfies E ||S x||^2 = ||x||^2 (srht: each row of H D x has mean square ||x||^2, uniform
// sampling of d of them and the 1/sqrt(d) factor give ||x||^2; hadamard: exactly). Without it the
// unscaled entries are returned: g_ij, +-1, D_j (-1)^popcount(pi_i & j), N T, +-1 respectively.
//
// Prefix (nesting) property: for gaussian, rademacher and srht (same seed, stream and N) the
// first d1 rows of the unscaled d x n operator equal the unscaled d1 x n operator (for srht: the
// same first d1 sampled rows). For sparse-sign this cannot hold: a column has exactly s nonzeros
// among its d rows, and its first d1 rows generally hold fewer; what holds is column-block
// independence (every column is generated alone).
//
// Products (A column-major, all shapes checked):
//   sketch_rows:    S A,    A n x k  -> d x k.
//   sketch_columns: A S^T,  A m x n  -> m x d  (the right sketch; A S for S^T is not offered).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "strata/dist/dist_matrix.hpp"
#include "strata/dist/linear_operator.hpp"
#include "strata/sketch/fwht.hpp"

namespace strata::sketch {

enum class OperatorKind { gaussian, rademacher, srht, hadamard, sparse_sign };

/// "gaussian", "rademacher", "srht", "hadamard", "sparse-sign".
const char* operator_name(OperatorKind kind);
/// Inverse of operator_name; throws InvalidArgument on anything else.
OperatorKind parse_operator(const std::string& name);

/// Largest nonzeros-per-column of a sparse-sign operator (the positions of a column live in
/// registers while its distinct rows are drawn). OSNAP uses s = O(log(k / delta) / eps).
inline constexpr index_type max_sparse_nnz = 64;

/// A d x n random operator, described by a few numbers and generated lazily.
struct SketchOperator {
  OperatorKind kind = OperatorKind::gaussian;
  index_type rows = 0;  ///< d
  index_type cols = 0;  ///< n
  std::uint64_t seed = 0;
  std::uint64_t stream = 0;
  /// sparse-sign only: nonzeros per column, 1 <= nnz <= min(d, max_sparse_nnz).
  index_type nnz = 8;
  /// srht and hadamard: zero-pad n to the next power of two N. With false, n must be a power of
  /// two (else InvalidArgument).
  bool pad = true;

  /// N: next power of two >= n for srht and hadamard; n for the other kinds.
  index_type padded_cols() const;
  /// Throws InvalidArgument (with what was wrong and what is expected) unless the description is
  /// valid: d, n >= 1; sparse nnz in [1, min(d, 64)]; srht d <= N; hadamard d == N; N <= 2^40.
  void validate() const;
};

/// The GPU kernel of the sparse-sign product S A (non-host backends; the host has its own loops).
enum class SparseGpuKernel {
  /// column_blocks where S has at least 8 nonzeros per column and A at least 8 columns per 2048
  /// resident threads of the device (a team per 8 columns then still gives every multiprocessor
  /// a team); else columns where it
  /// fits (d rows of S' sums and CSR positions in team scratch), A has at least one column per
  /// 2048 resident threads and S has at most 8 nonzeros per column; else tiles.
  automatic,
  /// A team per 32 columns of A and block of rows of S, A streamed in short row tiles.
  tiles,
  /// A team per column of A and all d rows of S: the column streamed once, in long chunks, through
  /// team scratch; each thread walks whole CSR rows of S against the chunk.
  columns,
  /// A team per 8 columns of A and all d rows of S: the 8 columns streamed once through team
  /// scratch, each thread's rows of S with their 8 sums in registers, so that each CSR entry of S
  /// is read once per 8 columns instead of once per column (d > 4 x the team size: several
  /// passes, each streaming the columns again).
  column_blocks
};

struct ApplyOptions {
  /// Scale so that E ||S x||^2 = ||x||^2 (see the header comment); false: unscaled entries.
  bool isometry_scaling = true;
  /// Check the input for NaN/Inf first (one pass over it) and throw NonFiniteInput.
  bool check_finite = true;
  /// gaussian/rademacher: S is generated in column blocks of at most this many entries, each
  /// followed by one GEMM, to bound the workspace (default 2^25 entries: 256 MiB in fp64).
  index_type max_block_entries = index_type(1) << 25;
  /// srht and hadamard (sketch_rows, sketch_columns): the FWHT's tile, GPU kernel and group
  /// size (its scale is ignored: the operator scales itself). On GPUs the grouped kernel (the
  /// default) also fuses sketch_rows' srht sign flip into the first pass and its row sample into
  /// the last (no N x k workspace); FwhtGpuKernel::radix8 keeps the separate sign flip, FWHT and
  /// gather.
  FwhtOptions fwht;
  /// sparse-sign S A on GPUs (sketch_rows and left application); A S^T always uses the tiles.
  SparseGpuKernel sparse_kernel = SparseGpuKernel::automatic;
};

/// The factor multiplying the unscaled entries: 1/sqrt(d) (gaussian, rademacher, srht),
/// 1/N (hadamard), 1/sqrt(nnz) (sparse-sign); 1 without isometry scaling.
double entry_scale(const SketchOperator& op, bool isometry_scaling);

/// SRHT: the d sampled rows pi_0 .. pi_{d-1} of H_N (host, O(d) time and memory, partial
/// Fisher-Yates with a hash map). Throws InvalidArgument for other kinds.
std::vector<index_type> srht_sampled_rows(const SketchOperator& op);

/// Columns [col_begin, col_end) of S as a dense d x (col_end - col_begin) matrix, equal to the
/// same columns cut from the whole S (bitwise for gaussian, rademacher, srht, sparse-sign; to
/// rounding for hadamard, formed by one FWHT per column). Cost O(d w) (hadamard: O(N log N w)).
template <class T>
Matrix<T> materialize(const ExecSpace& exec, const SketchOperator& op, index_type col_begin,
                      index_type col_end, const ApplyOptions& options = {});

/// SA = S A for a dense A (n x k) in device memory; SA must be d x k.
/// Cost: gaussian/rademacher: generation of d n entries + one GEMM (2 d n k flops).
/// srht/hadamard: zero-pad to N x k, sign flips, FWHT (N log2 N k adds; hadamard twice), gather of
/// d rows; workspace N k. sparse-sign: builds a SparseSignMatrix (below) for the call, then
/// 2 n s k flops; workspace O(n s). Reuse a SparseSignMatrix to apply one operator many times
/// (it skips the generation and, on GPUs, the sort of the row-sorted copy).
template <class T>
void sketch_rows(const ExecSpace& exec, const SketchOperator& op, const ConstMatrix<T>& a,
                 const Matrix<T>& sa, const ApplyOptions& options = {});

/// AS = A S^T for a dense A (m x n); AS must be m x d. Same costs as sketch_rows with k = m
/// (srht/hadamard transform a transposed, zero-padded N x m copy of A).
template <class T>
void sketch_columns(const ExecSpace& exec, const SketchOperator& op, const ConstMatrix<T>& a,
                    const Matrix<T>& as, const ApplyOptions& options = {});

/// SA = S A for a block-row distributed A (n x k): rank r multiplies its rows [b, e) by the
/// matching columns S(:, b:e) and the d x k partial results are summed by one allreduce; SA
/// (d x k) is replicated on every rank and equals the single-rank result to rounding for any
/// layout. srht/hadamard on an arbitrary BlockRowLayout: [b, e) (extended to N on the rank that
/// owns row n-1, the zero padding) is split into at most 2 log2 N aligned dyadic blocks
/// [c, c + 2^q); on such a block H_N(i, c + t) = (-1)^popcount(i & c) H_{2^q}(i mod 2^q, t), so a
/// local FWHT of size 2^q and a signed gather of the sampled rows give the block's exact
/// contribution: cost O(n_local log2 N k + d k log2 N) per rank, never the d n_local k of forming
/// H(sampled, local rows). hadamard then applies D1, a second FWHT and 1/N to the replicated N x k
/// sum (O(N log2 N k) on every rank). Collective; errors agreed on all ranks.
template <class T>
void sketch_rows(const ExecSpace& exec, const SketchOperator& op, const DistMatrix<T>& a,
                 const Matrix<T>& sa, const ApplyOptions& options = {});

/// AS = A S^T for a block-row distributed A (m x n, all n columns on every rank): purely local,
/// AS has A's layout and d columns. Collective only for error agreement.
template <class T>
void sketch_columns(const ExecSpace& exec, const SketchOperator& op, const DistMatrix<T>& a,
                    const DistMatrix<T>& as, const ApplyOptions& options = {});

/// SA = S A for an operator A (m x n) seen through apply_transpose: (S A)^T = A^T S^T, with S^T's
/// rows for this rank's part of A's row layout materialized (m_local x d). SA (d x n) is
/// replicated on every rank (for a distributed A the n x d result is allgathered). Cost: one
/// apply_transpose on d vectors + materialize + n d values communicated.
template <class T>
void sketch_rows(const ExecSpace& exec, const SketchOperator& op, const LinearOperator<T>& a,
                 const Matrix<T>& sa, const ApplyOptions& options = {});

/// AS = A S^T for an operator A (m x n) by one apply on the d columns of S^T (this rank's rows
/// of A's column layout, materialized). AS holds this rank's rows of A's row layout (all m rows
/// for a replicated operator) x d.
template <class T>
void sketch_columns(const ExecSpace& exec, const SketchOperator& op, const LinearOperator<T>& a,
                    const Matrix<T>& as, const ApplyOptions& options = {});

/// Columns [col_begin, col_end) of a sparse-sign operator, generated once and kept in device
/// memory, for repeated products with the same operator (Clarkson & Woodruff 2013; Meng &
/// Mahoney 2013; Nelson & Nguyen 2013 for the OSNAP / SJLT distribution). Building costs
/// O(w nnz) Philox draws (w = col_end - col_begin) and w nnz ints of memory; on GPU execution
/// spaces also a row-sorted copy (one sort of w nnz 64-bit keys, w nnz + d + 1 more values) for
/// the gather kernels. The products below then cost only the 2 w nnz k flops of the sparse
/// product. Host kernels scatter each row of A into the output block of a cache-resident tile of
/// columns in increasing column order of S. GPU kernels (detail/team_kernels.hpp): a team of up
/// to 16 warps owns up to 256 rows of S (16 per warp, sums in registers) and 32 columns of the
/// result (one per lane: columns of A for S A, rows of A for A S^T); it streams its 32 columns
/// of A (rows for A S^T) once through team scratch in coalesced tiles, and each warp walks its
/// rows' CSR entries inside the tile, all lanes reading the same entry and the tile values of
/// their own columns, so the reads are broadcasts or consecutive. A is read ceil(d / 256) times
/// in all (concurrent row blocks of the same columns share it through L2), plus the CSR
/// (w nnz 8-byte entries) once per 32 columns of the result, mostly from cache. Each output
/// entry is summed in increasing column order on both kinds of backend: the sums are
/// deterministic and the host and GPU results are bitwise equal (no atomics).
class SparseSignMatrix {
 public:
  SparseSignMatrix() = default;
  /// Throws InvalidArgument unless op is a valid sparse-sign description and [col_begin,
  /// col_end) lies inside [0, n).
  SparseSignMatrix(const ExecSpace& exec, const SketchOperator& op, index_type col_begin,
                   index_type col_end);
  const SketchOperator& description() const { return op_; }
  index_type col_begin() const { return col_begin_; }
  index_type col_end() const { return col_end_; }
  /// Entry q of local column c at (c * nnz + q): row i with sign +1 stored as i, with -1 as ~i.
  Kokkos::View<const int*, MemSpace> column_entries() const { return columns_; }
  /// GPU spaces: row i's entries at [row_offsets(i), row_offsets(i + 1)) in increasing local
  /// column c, stored as c (sign +1) or ~c (sign -1). Empty on host spaces.
  Kokkos::View<const std::int64_t*, MemSpace> row_entries() const { return rows_; }
  Kokkos::View<const index_type*, MemSpace> row_offsets() const { return row_offsets_; }

  /// Builds the row-sorted copy (called by the constructor on GPU execution spaces).
  void build_rows(const ExecSpace& exec);

 private:
  SketchOperator op_;
  index_type col_begin_ = 0;
  index_type col_end_ = 0;
  Kokkos::View<int*, MemSpace> columns_;
  Kokkos::View<std::int64_t*, MemSpace> rows_;
  Kokkos::View<index_type*, MemSpace> row_offsets_;
};

/// SA = S(:, col_begin:col_end) A for a dense A ((col_end - col_begin) x k) with a cached
/// sparse-sign block; SA must be d x k. Cost 2 w nnz k flops, no generation.
template <class T>
void sketch_rows(const ExecSpace& exec, const SparseSignMatrix& s, const ConstMatrix<T>& a,
                 const Matrix<T>& sa, const ApplyOptions& options = {});

/// AS = A S(:, col_begin:col_end)^T for a dense A (m x (col_end - col_begin)); AS must be m x d.
template <class T>
void sketch_columns(const ExecSpace& exec, const SparseSignMatrix& s, const ConstMatrix<T>& a,
                    const Matrix<T>& as, const ApplyOptions& options = {});

#define STRATA_SKETCH_OPERATOR_DECLARE(T)                                                       \
  extern template void sketch_rows<T>(const ExecSpace&, const SparseSignMatrix&,                \
                                      const ConstMatrix<T>&, const Matrix<T>&,                  \
                                      const ApplyOptions&);                                     \
  extern template void sketch_columns<T>(const ExecSpace&, const SparseSignMatrix&,             \
                                         const ConstMatrix<T>&, const Matrix<T>&,               \
                                         const ApplyOptions&);                                  \
  extern template Matrix<T> materialize<T>(const ExecSpace&, const SketchOperator&, index_type, \
                                           index_type, const ApplyOptions&);                    \
  extern template void sketch_rows<T>(const ExecSpace&, const SketchOperator&,                  \
                                      const ConstMatrix<T>&, const Matrix<T>&,                  \
                                      const ApplyOptions&);                                     \
  extern template void sketch_columns<T>(const ExecSpace&, const SketchOperator&,               \
                                         const ConstMatrix<T>&, const Matrix<T>&,               \
                                         const ApplyOptions&);                                  \
  extern template void sketch_rows<T>(const ExecSpace&, const SketchOperator&,                  \
                                      const DistMatrix<T>&, const Matrix<T>&,                   \
                                      const ApplyOptions&);                                     \
  extern template void sketch_columns<T>(const ExecSpace&, const SketchOperator&,               \
                                         const DistMatrix<T>&, const DistMatrix<T>&,            \
                                         const ApplyOptions&);                                  \
  extern template void sketch_rows<T>(const ExecSpace&, const SketchOperator&,                  \
                                      const LinearOperator<T>&, const Matrix<T>&,               \
                                      const ApplyOptions&);                                     \
  extern template void sketch_columns<T>(const ExecSpace&, const SketchOperator&,               \
                                         const LinearOperator<T>&, const Matrix<T>&,            \
                                         const ApplyOptions&);
STRATA_SKETCH_OPERATOR_DECLARE(float)
STRATA_SKETCH_OPERATOR_DECLARE(double)
#undef STRATA_SKETCH_OPERATOR_DECLARE

}  // namespace strata::sketch
