// Approximation of a matrix by one with a prescribed sparsity pattern, from matrix-vector products
// only (Amsel, Chen, Duman Keles, Halikias, Musco & Musco, "Fixed-sparsity matrix approximation
// from matrix-vector products", arXiv 2402.09379).
#pragma once

#include <cstdint>
#include <vector>

#include "strata/core/progress.hpp"
#include "strata/core/random.hpp"
#include "strata/dist/linear_operator.hpp"

namespace strata::sketch {

/// A sparsity pattern S of a rows x cols matrix in compressed-row form: the columns of row i are
/// col_indices[row_offsets[i] .. row_offsets[i + 1]). Held on the host, the whole pattern on
/// every rank (it is small next to the matrix: nnz indices).
struct SparsityPattern {
  index_type rows = 0, cols = 0;
  std::vector<index_type> row_offsets;  ///< rows + 1 entries, row_offsets[0] = 0
  std::vector<index_type> col_indices;  ///< nnz entries, distinct within a row

  /// The diagonal of an n x n matrix.
  static SparsityPattern diagonal(index_type n);
  /// Band |i - j| <= half_bandwidth of an n x n matrix (2 b + 1 entries per inner row).
  static SparsityPattern banded(index_type n, index_type half_bandwidth);
  /// Largest number of entries in a row (s).
  index_type max_row_entries() const;
  /// Throws InvalidArgument unless the offsets are consistent and every column index is in
  /// [0, cols) and appears at most once in its row.
  void validate() const;
};

struct FixedSparsityOptions {
  /// Number m of products (Gaussian probe vectors). E||A - A~||_F^2 = (1 + s / (m - s - 1))
  /// ||A - S o A||_F^2 for rows with s entries (m >= s + 2), so m = s + 1 + s/eps gives a (1 + eps)
  /// approximation in expectation. Must be >= s (the row problems are underdetermined otherwise).
  index_type matvecs = 32;
  std::uint64_t seed = 0;
};

/// The rows of A~ that this rank owns (its row block of A's row layout), in compressed-row form
/// on the device with global column indices.
template <class T>
struct SparseApproximation {
  index_type rows = 0, cols = 0;                    ///< global shape
  index_type row_begin = 0;                         ///< global index of the first local row
  Kokkos::View<index_type*, MemSpace> row_offsets;  ///< local rows + 1
  Kokkos::View<index_type*, MemSpace> col_indices;
  Kokkos::View<T*, MemSpace> values;
  index_type matvecs = 0;
  PhaseTimer timings;
};

/// A~ with supp(A~) in S minimizing, row by row, ||G[S_i,:]^T x - (A G)[i,:]||_2 for a Gaussian G
/// (cols x m): the estimator of Section 2 of the paper (code: tchen-research/
/// fixed_sparsity_matrix_approximation, `sparse_recovery`). Exact when A has the pattern S (and
/// m >= s). Each row's m x s least-squares problem is solved on the device by one team, through
/// the s x s normal equations and a Cholesky factorization in team scratch. Distributed: A's rows
/// are distributed; G is generated row by row from its counter-based stream, so each rank forms
/// the rows G[S_i,:] it needs without communication, and the result is independent of the rank
/// count. Cost: m products, O(nnz(S) m s) flops, memory 2 x (local rows) x m + scratch s m per
/// row in flight. Collective. Throws InvalidArgument (pattern shape or indices, m < s) and
/// NonFiniteInput.
template <class T>
SparseApproximation<T> fixed_sparsity_approximation(const ExecSpace& exec,
                                                    const LinearOperator<T>& a,
                                                    const SparsityPattern& pattern,
                                                    const FixedSparsityOptions& options = {});

/// The coloring variant for the banded pattern |i - j| <= b (paper Section 4; no least squares):
/// with k = 2b + 1 colors (column j has color j mod k), probe l is Rademacher on the columns of
/// color l mod k and zero elsewhere; A~[i, j] = mean over the probes l of j's color of
/// x_l[j] (A x_l)[i]. Exact for banded A with m >= k; error O(sqrt(k/(m - k - 1))) relative to
/// ||A - S o A||_F otherwise. Cost: m products, O(nnz(S) m / k) work. Needs a square operator.
template <class T>
SparseApproximation<T> banded_coloring_approximation(const ExecSpace& exec,
                                                     const LinearOperator<T>& a,
                                                     index_type half_bandwidth,
                                                     const FixedSparsityOptions& options = {});

#define STRATA_FIXED_SPARSITY_DECLARE(T)                                   \
  extern template SparseApproximation<T> fixed_sparsity_approximation<T>(  \
      const ExecSpace&, const LinearOperator<T>&, const SparsityPattern&,  \
      const FixedSparsityOptions&);                                        \
  extern template SparseApproximation<T> banded_coloring_approximation<T>( \
      const ExecSpace&, const LinearOperator<T>&, index_type, const FixedSparsityOptions&);
STRATA_FIXED_SPARSITY_DECLARE(float)
STRATA_FIXED_SPARSITY_DECLARE(double)
#undef STRATA_FIXED_SPARSITY_DECLARE

}  // namespace strata::sketch
