// Shared steps of the low-rank and least-squares drivers: blocks laid out like an operator's rows
// or columns, test matrices, robust orthonormalization, projections, column norms and the
// posterior error estimate. All functions on distributed blocks are collective.
#pragma once

#include <vector>

#include "strata/core/scratch.hpp"
#include "strata/sketch/range_finder.hpp"

namespace strata::sketch::detail {

Distribution distribution_of(TestMatrixKind kind);
/// Stream of the basis test matrix and of the Gaussian error probes (see range_finder.hpp).
RandomStream basis_stream(const TestMatrixOptions& o);
RandomStream probe_stream(const TestMatrixOptions& o);

/// A zero rows() x cols block laid out like A's rows (output of apply), or cols() x cols like its
/// columns (input of apply).
template <class T>
DistMatrix<T> row_block(const LinearOperator<T>& a, index_type cols, const char* label);
template <class T>
DistMatrix<T> col_block(const LinearOperator<T>& a, index_type cols, const char* label);
/// The same two with their storage from `scratch` (core/scratch.hpp; zero-filled on its execution
/// space without a fence): valid while `scratch` lives.
template <class T>
DistMatrix<T> row_block(const LinearOperator<T>& a, index_type cols,
                        strata::detail::Scratch& scratch);
template <class T>
DistMatrix<T> col_block(const LinearOperator<T>& a, index_type cols,
                        strata::detail::Scratch& scratch);

/// X = columns [col_offset, col_offset + X.cols()) of the random matrix `stream`, rows by X's
/// layout: the same global matrix on any number of ranks.
template <class T>
void fill_test_matrix(const ExecSpace& exec, const RandomStream& stream, const DistMatrix<T>& x,
                      index_type col_offset);

/// X (cols() x l, laid out like the operator's columns) = the basis test matrix Omega of `o`:
/// for gaussian/rademacher columns [col_offset, col_offset + l) of basis_stream(o); for
/// srht/sparse_sign S^T with S the unscaled l x n operator {kind, l, n, seed, 2 stream, min(nnz,
/// l)} (col_offset must be 0). The same global matrix on any number of ranks.
template <class T>
void fill_basis_test_matrix(const ExecSpace& exec, const TestMatrixOptions& o,
                            const DistMatrix<T>& x, index_type col_offset);

/// Columns [begin, end) of X (a view, no copy).
template <class T>
DistMatrix<T> columns(const DistMatrix<T>& x, index_type begin, index_type end);

/// Y = A X, and Y = A^T X (A X when `symmetric`, for operators known to be symmetric).
template <class T>
void apply(const ExecSpace& exec, const LinearOperator<T>& a, const DistMatrix<T>& x,
           const DistMatrix<T>& y);
template <class T>
void apply_transpose(const ExecSpace& exec, const LinearOperator<T>& a, const DistMatrix<T>& x,
                     const DistMatrix<T>& y, bool symmetric);

/// X = Q R in place (R optional). With cholesky_qr2, a failed Cholesky pass (X numerically rank
/// deficient) is answered by householder TSQR of the block as the earlier passes left it
/// (TallSkinnyQrOptions::householder_fallback), which never fails for finite X; no copy of X.
template <class T>
void orthonormalize_block(const ExecSpace& exec, const DistMatrix<T>& x,
                          const TallSkinnyQrOptions& qr, const Matrix<T>& r = {});

/// Y <- Y - Q (Q^T Y): one k x b allreduce and two local GEMMs.
template <class T>
void project_out(const ExecSpace& exec, const DistMatrix<T>& q, const DistMatrix<T>& y);

/// Euclidean norms of the columns of X (global), the same on every rank.
template <class T>
std::vector<double> column_norms(const ExecSpace& exec, const DistMatrix<T>& x);

/// The estimator applied to probe residual norms.
double estimate_from_norms(const std::vector<double>& norms, ErrorEstimator estimator);

/// Throws NonFiniteInput on every rank if X holds NaN/Inf on any rank.
template <class T>
void require_finite_block(const ExecSpace& exec, const DistMatrix<T>& x, const char* what);

/// Posterior estimate of ||A - U diag(s) V^T|| from r probes (HMT Sec. 4.3): Z = A W -
/// U (diag(s) (V^T W)) for Gaussian W (the probe stream). U is laid out like A's rows, V like its
/// columns. Adds r to `matvecs`.
template <class T>
double posterior_error(const ExecSpace& exec, const LinearOperator<T>& a, const DistMatrix<T>& u,
                       const std::vector<T>& s, const DistMatrix<T>& v,
                       const LowRankOptions& options, index_type& matvecs);

template <class T>
HostMatrix<T> host_copy(const ExecSpace& exec, const ConstMatrix<T>& a);
template <class T>
Matrix<T> device_copy(const ExecSpace& exec, const HostMatrix<T>& a, const char* label);

}  // namespace strata::sketch::detail
