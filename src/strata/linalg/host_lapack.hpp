// Host LAPACK wrappers: independent references for tests and small host-side factorizations.
// These run on the CPU on host copies of the data; they are not on any hot path.
#pragma once

#include <vector>

#include "strata/core/types.hpp"

namespace strata::linalg::host {

/// Singular values of A (m x n, column-major host matrix), in descending order (LAPACK xGESVD).
/// A is not modified. Throws NumericalError if LAPACK does not converge.
template <class T>
std::vector<T> singular_values(const HostMatrix<T>& a);

/// Eigenvalues of the symmetric matrix A (lower triangle used), ascending (LAPACK xSYEV).
template <class T>
std::vector<T> symmetric_eigenvalues(const HostMatrix<T>& a);

/// Thin QR: overwrites A (m x n, m >= n) with Q (orthonormal columns) and returns R (n x n upper
/// triangular). LAPACK xGEQRF + xORGQR; for tall A (tall_qr_parts(m, n) > 1) on a threaded host
/// backend (OpenMP, Threads) a flat TSQR over the host threads: row blocks factored in parallel,
/// their stacked R factors once more, Q by one GEMM per block. Both are backward stable (||A - QR||
/// = O(m n u ||A||), ||Q^T Q - I|| = O(m u)).
template <class T>
HostMatrix<T> qr_in_place(const HostMatrix<T>& a);

/// qr_in_place with an explicit number of row blocks (parts = 1: one LAPACK QR; parts > 1: the
/// TSQR, whatever the backend; every block needs >= n rows, else InvalidArgument).
template <class T>
HostMatrix<T> tall_qr_in_place(const HostMatrix<T>& a, int parts);

/// The number of row blocks of qr_in_place's TSQR for an m x n matrix (1: one LAPACK QR). Depends
/// on the shape only: blocks of >= max(8 n, 4096) rows, at most 32.
int tall_qr_parts(index_type m, index_type n);

/// Polar factor U V^T of A (m x n, m >= n) from the thin SVD A = U S V^T (LAPACK xGESVD + xGEMM):
/// the classical reference for the Newton-Schulz iterations. O(m n^2) flops, on the host.
template <class T>
HostMatrix<T> polar_via_svd(const HostMatrix<T>& a);

/// Cholesky factor A = R^T R of a symmetric positive definite A (upper triangle used), in place:
/// A is overwritten by R (strictly lower part zeroed). Returns false, with A partly overwritten,
/// if A is not numerically positive definite (LAPACK xPOTRF info > 0).
template <class T>
bool cholesky_upper_in_place(const HostMatrix<T>& a);

/// B <- A^{-1} B by LU with partial pivoting (LAPACK xGESV); A (n x n) is overwritten by its LU
/// factors. Throws NumericalError if U has an exact zero on its diagonal.
template <class T>
void solve_in_place(const HostMatrix<T>& a, const HostMatrix<T>& b);

/// R <- R^-1 for an upper triangular R (LAPACK xTRTRI). Throws NumericalError if R has an exact
/// zero on its diagonal.
template <class T>
void upper_triangular_inverse_in_place(const HostMatrix<T>& r);

}  // namespace strata::linalg::host
