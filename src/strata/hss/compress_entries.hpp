// HSS construction from entries (and, optionally, products): the interpolative-decomposition
// (ID) based randomized construction of Martinsson, "A fast randomized algorithm for computing a
// hierarchically semiseparable representation of a matrix" (SIMAX 32, 2011, Sec. 3-4), the scheme
// STRUMPACK uses for its HSS random sampling (Rouet, Li, Ghysels & Napov, ACM TOMS 42, 2016).
//
// Bottom-up over the levels of the cluster tree, with Y = A Omega and Z = A^T Psi (N x s samples):
//   leaves:  Y_tau = Y(I_tau) - D_tau Omega(I_tau), Z_tau = Z(I_tau) - D_tau^T Psi(I_tau), with
//            D_tau = A(I_tau, I_tau) from entries: samples of the off-diagonal block row / column.
//   inner:   Y_tau = [Y_a(J_a) - B_ab Omega^_b; Y_b(J_b) - B_ba Omega^_a] (likewise Z with B^T
//            and Psi^), B_ab = A(J_a, K_b) from entries (J row skeletons, K column skeletons),
//            Omega^_tau = X^col_tau Omega_tau (the column interpolation matrix applied to the
//            stacked children's Omega^).
//   every node: row ID  Y_tau ~= X_tau Y_tau(J_tau, :) -> U_tau = X_tau (X_tau(J_tau,:) = I),
//               column ID of A(:, I_tau) from Z_tau  -> V_tau; skeletons J_tau, K_tau are subsets
//               of the children's (global indices).
// Result: standard generators with A(I_a, I_b) ~= U^big_a A(J_a, K_b) (V^big_b)^T — interpolative,
// not orthonormal, bases; D exact diagonal blocks. Every per-node operation of a level is one
// batched kernel (linalg/batched_dense.hpp: ID by column-pivoted QR, variable-size GEMM).
//
// Rank choice: the IDs stop at the RankRule (per node, relative to the node's largest pivot, or
// absolute) and never exceed s (then the node is counted as saturated: raise `samples`). With s >=
// (the HSS rank) + p the construction is exact up to rounding for an exact HSS matrix; for a
// matrix with decaying off-diagonal singular values the error is a small multiple of the ID
// tolerance times ||A|| (Martinsson 2011, Sec. 5; the oversampling p = 10 gives failure
// probabilities ~ 10^-9 in the randomized range finder bound of Halko, Martinsson & Tropp 2011).
#pragma once

#include <vector>

#include "strata/core/progress.hpp"
#include "strata/hss/hss_matrix.hpp"
#include "strata/hss/problems.hpp"

namespace strata::hss {

struct CompressEntriesOptions {
  /// Samples s (columns of Omega and Psi). 0: max_rank + 10 when max_rank > 0, else 64.
  int samples = 0;
  /// Largest rank of any node (-1: no cap other than s and the block size).
  int max_rank = -1;
  /// ID truncation: drop pivots |R_jj| <= relative_tolerance * |R_11| (per node) or <=
  /// absolute_tolerance. 0 and 0: keep every nonzero pivot (exact HSS input).
  double relative_tolerance = 0;
  double absolute_tolerance = 0;
  /// Seed of the Gaussian test matrices (counter-based streams; stream 1 for Omega, 2 for Psi).
  std::uint64_t seed = 1;
  /// compress_from_entries_and_products only. sample_step > 0: while some node saturates the
  /// samples (and s < N), sample_step more columns are appended (products for the new columns
  /// only) and the construction is repeated; a construction stops at the first level with a
  /// saturated node (the levels above would be discarded).
  int sample_step = 0;
  /// compress_from_entries_and_products only. > 0: the target of ||A - H||_F / ||A||_F: after a
  /// construction without saturated nodes, the estimate of estimate_relative_error over
  /// error_probes Gaussian probes (compress_matvec.hpp) must be <= 0.75 target_tolerance (the
  /// estimate's scatter: ToleranceSchedule::kEstimateMargin); otherwise relative_tolerance
  /// shrinks by max(0.05, min(0.8, (0.8 aim / estimate)^2)) (the error follows the ID tolerance
  /// sub-linearly: comment at the update) and the construction is repeated from the
  /// same samples (no new products); at most max_rounds estimates.
  double target_tolerance = 0;
  int error_probes = 10;
  int max_rounds = 8;
};

struct CompressEntriesResult {
  /// Largest row / column rank per level (index 0: the root, 0).
  std::vector<index_type> max_row_rank, max_col_rank;
  int samples = 0;
  /// Columns multiplied by A and by A^T (0 for the entries-only variant).
  index_type products = 0, transpose_products = 0;
  /// Entries evaluated (including those used to form the samples in the entries-only variant).
  index_type entries = 0;
  /// Nodes whose ID rank reached min(s, rows): the samples may have been too few.
  index_type saturated_nodes = 0;
  /// Constructions run (sample growth and tolerance rounds together; 1 without either).
  int rounds = 1;
  /// target_tolerance > 0: the last estimate of ||A - H||_F / ||A||_F (-1: none) and the products
  /// with A spent on it (not in `products`); the ID tolerance used last.
  double relative_error_estimate = -1;
  index_type probe_products = 0;
  double final_relative_tolerance = 0;
  PhaseTimer timings;
};

/// Mixed mode (Martinsson 2011 / STRUMPACK): bases from 2s products (Y = A Omega, Z = A^T Psi
/// through `op`, replicated, N x N), D and B from entries. Cost: the 2s products, N m + sum_tau
/// r_a r_b entries (m the leaf size, r the ranks), O(N s r) flops for IDs and updates, O(N) host
/// work on index lists per level. The tree (from ClusterTree::uniform/geometric) fixes the order:
/// `entries` and `op` take the user's original indices. Throws InvalidArgument on mismatched
/// sizes or options, Unsupported for a distributed operator.
template <class T>
HssMatrix<T> compress_from_entries_and_products(const ExecSpace& exec, const ClusterTree& tree,
                                                const LinearOperator<T>& op,
                                                const EntryEvaluator<T>& entries,
                                                const CompressEntriesOptions& options,
                                                CompressEntriesResult* result = nullptr);

/// Entries only (explicit access): the same construction, with the samples Y = A Omega and
/// Z = A^T Psi formed from entries in row panels (every entry of A evaluated once, never stored
/// whole: panels of at most 2^22 entries). Cost O(N^2 s) flops and N^2 + N m + sum r_a r_b
/// entries: quadratic, for moderate N or when no fast product exists. (The alternative of
/// Amsel et al.'s Alg. 3.1 — exact SVDs of the full block rows — costs the same O(N^2 r) and
/// needs the dense matrix; the randomized ID version keeps memory at O(N s).)
template <class T>
HssMatrix<T> compress_from_entries(const ExecSpace& exec, const ClusterTree& tree,
                                   const EntryEvaluator<T>& entries,
                                   const CompressEntriesOptions& options,
                                   CompressEntriesResult* result = nullptr);

#define STRATA_HSS_COMPRESS_ENTRIES_DECLARE(T)                                                  \
  extern template HssMatrix<T> compress_from_entries_and_products<T>(                           \
      const ExecSpace&, const ClusterTree&, const LinearOperator<T>&, const EntryEvaluator<T>&, \
      const CompressEntriesOptions&, CompressEntriesResult*);                                   \
  extern template HssMatrix<T> compress_from_entries<T>(                                        \
      const ExecSpace&, const ClusterTree&, const EntryEvaluator<T>&,                           \
      const CompressEntriesOptions&, CompressEntriesResult*);
STRATA_HSS_COMPRESS_ENTRIES_DECLARE(float)
STRATA_HSS_COMPRESS_ENTRIES_DECLARE(double)
#undef STRATA_HSS_COMPRESS_ENTRIES_DECLARE

}  // namespace strata::hss
