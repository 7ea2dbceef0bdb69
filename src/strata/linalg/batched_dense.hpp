// Portable batched small dense kernels over matrices of different sizes: Householder QR (thin or
// full Q, null-space bases), column-pivoted QR and the interpolative decomposition, the SVD,
// pseudo-inverse application X = B A^+, and a variable-size GEMM.
//
// A MatrixBatch is one flat array holding many column-major matrices, each described by an offset,
// a shape and a leading dimension (BatchLayout). Each call is one batched operation over all
// matrices (the per-node work of a whole level of a hierarchical matrix), with one of two
// implementations chosen by where the batch memory lives (linalg/detail/batched_dense_backend.hpp):
// - host-accessible memory (Serial, OpenMP, Threads builds): host LAPACK/BLAS per matrix (xGEQRF,
//   xORGQR, xORMQR, xTRCON, xTRSM, xGESDD, xGELSD, xGEMM), the matrices spread over the threads
//   of the default host execution space, one workspace per thread;
// - device memory (CUDA, HIP): one Kokkos team kernel per call with a team per matrix (league rank
//   = matrix index), small per-matrix vectors in team scratch, TeamThreadRange loops and team
//   barriers only; they target matrices of up to a few hundred rows and columns.
// Column-pivoted QR uses the team kernels on every backend; the interpolative decomposition uses
// LAPACK xGEQP3 + xTRSM on host memory and the team kernels on device memory.
//
// Reference algorithms: Golub & Van Loan, Matrix Computations (4th ed.): Householder QR (Alg.
// 5.2.1), QR with column pivoting (Alg. 5.4.1), one-sided (Hestenes) Jacobi SVD (Sec. 8.6.4);
// Cheng, Gimbutas, Martinsson & Rokhlin, SISC 26 (2005) for the interpolative decomposition;
// LAPACK Users' Guide (3rd ed.) for the host routines.
#pragma once

#include <vector>

#include "strata/core/types.hpp"
#include "strata/linalg/batched_gemm.hpp"

namespace strata::linalg {

/// Where the matrices of a batch live inside a flat array: matrix b starts at offset[b], is
/// rows[b] x cols[b], column-major with leading dimension ld[b] >= max(1, rows[b]). The device
/// views are what kernels read; the host copies are what drivers use to size allocations.
struct BatchLayout {
  Kokkos::View<index_type*, MemSpace> offset;
  Kokkos::View<int*, MemSpace> rows, cols, ld;
  std::vector<index_type> host_offset;
  std::vector<int> host_rows, host_cols, host_ld;
  index_type span = 0;  ///< entries the flat array must hold (last entry of any matrix + 1)

  int count() const { return static_cast<int>(host_rows.size()); }
  int max_rows() const;
  int max_cols() const;

  /// Matrices packed one after the other (ld = rows). Throws InvalidArgument on negative sizes or
  /// when rows and cols differ in length.
  static BatchLayout packed(const std::vector<int>& rows, const std::vector<int>& cols);
  /// Explicit offsets and leading dimensions (for example the diagonal blocks of a larger
  /// column-major matrix). Checks ld >= rows.
  static BatchLayout strided(const std::vector<index_type>& offset, const std::vector<int>& rows,
                             const std::vector<int>& cols, const std::vector<int>& ld);
  /// The layout of a uniform Batch<T> (rows x cols x count, LayoutLeft).
  static BatchLayout uniform(int rows, int cols, int count);
};

/// A batch of column-major matrices in one flat device array. `values` may own its memory or be
/// an unmanaged view into a larger array (then the caller keeps that array alive).
template <class T>
struct MatrixBatch {
  Kokkos::View<T*, MemSpace> values;
  BatchLayout layout;

  /// Allocates a zero-initialized packed batch with the given shapes.
  static MatrixBatch allocate(const std::string& label, const std::vector<int>& rows,
                              const std::vector<int>& cols);
  /// As allocate, without the zero fill (the entries are indeterminate): for outputs that the
  /// next call overwrites entirely, e.g. the C of gemm_batched with beta = 0, and the outputs of
  /// svd, null_space, pseudo_inverse_apply and copy_batched. Saves the fill and, on the host, the
  /// first-touch page faults it causes.
  static MatrixBatch allocate_uninitialized(const std::string& label, const std::vector<int>& rows,
                                            const std::vector<int>& cols);
  /// A batch over existing storage. Throws ShapeMismatch if `values` is shorter than layout.span.
  MatrixBatch(Kokkos::View<T*, MemSpace> values, BatchLayout layout);
  MatrixBatch() = default;
};

/// An unmanaged MatrixBatch over the storage of a uniform Batch<T> (no copy).
template <class T>
MatrixBatch<T> as_matrix_batch(const Batch<T>& batch);

/// How a rank is chosen from a non-increasing sequence d_0 >= d_1 >= ... (singular values, or
/// |R_jj| of a column-pivoted QR): rank = #{j : d_j > max(absolute_tolerance, relative_tolerance
/// * d_0)}, then capped by max_rank when max_rank >= 0. The defaults keep every nonzero value.
struct RankRule {
  int max_rank = -1;
  double relative_tolerance = 0;
  double absolute_tolerance = 0;
};

/// Householder QR of every A_b (m x n), A_b = Q_b R_b. Q_b receives the leading q_cols columns of
/// the full m x m orthogonal factor (q's layout: m x q_cols with q_cols <= m; q_cols = min(m, n)
/// is the thin Q, q_cols = m the full Q); R_b receives the min(m, n) x n upper trapezoidal factor
/// (r may have count 0 when R is not wanted). Cost per matrix: 2mn^2 - 2n^3/3 flops for the
/// factorization plus 4 m n q_cols for Q. Guarantee (backward stable): ||Q^T Q - I|| = O(m u),
/// ||A - QR|| = O(m n u ||A||). Zero or rank-deficient A are fine (the reflector of a zero column
/// is the identity). Throws ShapeMismatch if the layouts do not fit.
template <class T>
void householder_qr(const ExecSpace& exec, const MatrixBatch<T>& a, const MatrixBatch<T>& q,
                    const MatrixBatch<T>& r);

/// Orthonormal null-space bases: for every A_b (p x s), N_b (s x k, k <= s - p) holds columns
/// p, ..., p + k - 1 of the full orthogonal factor of the QR of A_b^T, so A_b N_b = 0 up to
/// rounding (O(s u ||A_b||)) and N_b^T N_b = I whatever the rank of A_b. This is the nullspace
/// projector P = null(Omega_tau) of Levitt & Martinsson (2024), Alg. 4.1 step 3. Cost per matrix:
/// 2 s p^2 flops plus 4 s p k.
template <class T>
void null_space(const ExecSpace& exec, const MatrixBatch<T>& a, const MatrixBatch<T>& n);

/// Column-pivoted Householder QR, A_b P_b = Q_b R_b, stopped at the rank chosen by `rule` from the
/// pivots |R_jj| (Golub & Van Loan Alg. 5.4.1; column norms recomputed at every step, so no
/// norm-downdating cancellation). Outputs: ranks(b) = k_b; perm_b (n x 1, int) the column order
/// (the first k_b entries are the selected columns); q_b (m x c, c <= m) the leading columns of Q
/// (count 0 if not wanted); r_b (c' x n with c' <= min(m, n)): rows [0, min(k_b, c')) of R P^T
/// ordering (R in pivoted column order), the rest zero. Cost per matrix: O(m n k_b) flops.
template <class T>
void column_pivoted_qr(const ExecSpace& exec, const MatrixBatch<T>& a, const RankRule& rule,
                       const Kokkos::View<int*, MemSpace>& ranks, const MatrixBatch<int>& perm,
                       const MatrixBatch<T>& q, const MatrixBatch<T>& r);

/// Column interpolative decomposition A_b ~= A_b(:, J_b) X_b with X_b(:, J_b) = I, from the
/// column-pivoted QR above: X_b = [I, R11^{-1} R12] P^T (Cheng et al. 2005). Outputs: ranks(b) =
/// k_b (from `rule`), skeleton_b (n x 1, int; the first k_b entries are J_b, the rest the other
/// columns in pivot order), x_b (c x n with c >= k_b rows: rows [0, k_b) hold X_b, the rest zero).
/// Guarantee: ||A - A(:, J) X||_2 <= sqrt(1 + k (n - k)) 2^k |R_kk|-type bounds; in practice
/// within a small factor of sigma_{k+1}. A row ID of A is the column ID of A^T.
template <class T>
void interpolative_decomposition(const ExecSpace& exec, const MatrixBatch<T>& a,
                                 const RankRule& rule, const Kokkos::View<int*, MemSpace>& ranks,
                                 const MatrixBatch<int>& skeleton, const MatrixBatch<T>& x);

/// Thin SVD A_b = U_b diag(sigma_b) V_b^T. Layouts: u m x k, sigma k x 1, v n x k with k = min(m,
/// n). sigma is non-increasing and >= 0; U and V have orthonormal columns also for rank-deficient
/// and zero A. Host memory: LAPACK xGESDD (xGESVD if it does not converge), |sigma_j -
/// sigma_j(A)| = O(max(m, n) u sigma_1). Device memory: one-sided (Hestenes) Jacobi with the
/// round-robin pair ordering (n/2 rotations of one round run in parallel within the team), on A_b
/// if m >= n and on A_b^T otherwise, columns for zero singular values completed by Gram-Schmidt;
/// |sigma_j - sigma_j(A)| = O(n u sigma_1) (relative accuracy for well-scaled columns). Both:
/// ||U^T U - I||, ||V^T V - I|| = O(n u); cost O(m n min(m, n)) flops per matrix. Throws
/// NumericalError if some matrix holds NaN/Inf or the iteration did not converge (never
/// observed). `v` may be an empty batch (no matrices): then V is not returned, and on host memory
/// not computed where that is cheaper (xGESVD with JOBVT = 'N' for shapes with max(m, n) >=
/// 1.6 min(m, n), where it reduces to the SVD of the QR/LQ factor; xGESDD otherwise, which was
/// as fast or faster on near-square shapes up to 70 x 70: both measured on the host; device
/// memory: tall matrices accumulate no rotations, and wide ones sweep R^T from a QR of A^T,
/// Drmac & Veselic's preconditioning, with fewer sweeps on graded spectra). `u` may be empty too
/// (with `v` empty): then only sigma is returned (host memory: xGESDD with JOBZ = 'N', the
/// singular values by dqds, at 40-60% of the cost with U on the HSS shapes 64 x 20 to 40 x 70;
/// device memory: the sweeps on R^T alone, no vectors).
template <class T>
void svd(const ExecSpace& exec, const MatrixBatch<T>& a, const MatrixBatch<T>& u,
         const MatrixBatch<T>& sigma, const MatrixBatch<T>& v);

/// Rank of every matrix from its non-increasing values d_b (k x 1 each, e.g. from svd), by `rule`.
template <class T>
Kokkos::View<int*, MemSpace> truncation_ranks(const ExecSpace& exec, const MatrixBatch<T>& d,
                                              const RankRule& rule);

/// X_b = B_b A_b^+ (B_b q x s, A_b p x s, X_b q x p): the minimum-norm solution of X A = B in the
/// least-squares sense, with the pseudo-inverse taken from the SVD of A_b with singular values <=
/// rcond * sigma_1 treated as zero (rcond <= 0: max(m, n) u with m, n the largest row and column
/// counts of A in the batch). For a wide full-row-rank A (the Omega_tau of Levitt & Martinsson)
/// this is B A^T (A A^T)^{-1}. Host memory: for wide or square A (p <= s), X^T = R^{-1} Q^T B^T
/// from the QR A^T = Q R (xGEQRF, xORMQR, xTRSM; 2 s p^2 + 4 s p q flops) when the condition
/// estimate of R (xTRCON) shows that sigma_p(A) exceeds rcond sigma_1(A) by a safe margin (then
/// the truncation drops nothing and this is the same X; derivation in batched_dense_host.cpp);
/// otherwise, and for tall A, LAPACK xGELSD on A^T X^T = B^T (xGELSS if it does not converge).
/// Device memory: the SVD above, then B V diag(1/sigma) U^T. Cost per matrix: the SVD of A plus
/// O(q s p) flops. Error: the usual O(kappa(A) u) relative to ||B|| ||A^+||. Throws
/// NumericalError if some A holds NaN/Inf.
template <class T>
void pseudo_inverse_apply(const ExecSpace& exec, const MatrixBatch<T>& b, const MatrixBatch<T>& a,
                          const MatrixBatch<T>& x, double rcond = 0);

/// C_b = alpha op(A_b) op(B_b) + beta C_b for matrices of different sizes, op = transpose when
/// trans_* is 'T' (beta = 0: C is not read). Host memory: BLAS xGEMM per matrix; device memory:
/// one team per matrix, each entry of C an inner product of length k. Cost 2 m n k flops per
/// matrix; error ||delta C|| <= k u |A||B| entrywise.
template <class T>
void gemm_batched(const ExecSpace& exec, char trans_a, char trans_b, T alpha,
                  const MatrixBatch<T>& a, const MatrixBatch<T>& b, T beta,
                  const MatrixBatch<T>& c);

/// B_b = op(A_b) (op = transpose when trans is 'T'), e.g. to gather sub-blocks described by a
/// strided layout into packed storage or back. A and B must not overlap.
template <class T>
void copy_batched(const ExecSpace& exec, char trans, const MatrixBatch<T>& a,
                  const MatrixBatch<T>& b);

#define STRATA_BATCHED_DENSE_DECLARE(T)                                                           \
  extern template struct MatrixBatch<T>;                                                          \
  extern template MatrixBatch<T> as_matrix_batch<T>(const Batch<T>&);                             \
  extern template void householder_qr<T>(const ExecSpace&, const MatrixBatch<T>&,                 \
                                         const MatrixBatch<T>&, const MatrixBatch<T>&);           \
  extern template void null_space<T>(const ExecSpace&, const MatrixBatch<T>&,                     \
                                     const MatrixBatch<T>&);                                      \
  extern template void column_pivoted_qr<T>(const ExecSpace&, const MatrixBatch<T>&,              \
                                            const RankRule&, const Kokkos::View<int*, MemSpace>&, \
                                            const MatrixBatch<int>&, const MatrixBatch<T>&,       \
                                            const MatrixBatch<T>&);                               \
  extern template void interpolative_decomposition<T>(                                            \
      const ExecSpace&, const MatrixBatch<T>&, const RankRule&,                                   \
      const Kokkos::View<int*, MemSpace>&, const MatrixBatch<int>&, const MatrixBatch<T>&);       \
  extern template void svd<T>(const ExecSpace&, const MatrixBatch<T>&, const MatrixBatch<T>&,     \
                              const MatrixBatch<T>&, const MatrixBatch<T>&);                      \
  extern template Kokkos::View<int*, MemSpace> truncation_ranks<T>(                               \
      const ExecSpace&, const MatrixBatch<T>&, const RankRule&);                                  \
  extern template void pseudo_inverse_apply<T>(const ExecSpace&, const MatrixBatch<T>&,           \
                                               const MatrixBatch<T>&, const MatrixBatch<T>&,      \
                                               double);                                           \
  extern template void gemm_batched<T>(const ExecSpace&, char, char, T, const MatrixBatch<T>&,    \
                                       const MatrixBatch<T>&, T, const MatrixBatch<T>&);          \
  extern template void copy_batched<T>(const ExecSpace&, char, const MatrixBatch<T>&,             \
                                       const MatrixBatch<T>&);
STRATA_BATCHED_DENSE_DECLARE(float)
STRATA_BATCHED_DENSE_DECLARE(double)
#undef STRATA_BATCHED_DENSE_DECLARE
extern template struct MatrixBatch<int>;

}  // namespace strata::linalg
