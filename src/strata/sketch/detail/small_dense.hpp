// Host LAPACK for the small dense problems inside the low-rank sketching drivers: the SVD,
// symmetric eigendecomposition, Cholesky factor and triangular solves of (k + p)-sized matrices
// and the QR / least-squares solve of a sketched d x n matrix. These run on host copies (a few
// hundred rows and columns at most); the large factors stay on the device.
#pragma once

#include <vector>

#include "strata/core/types.hpp"

namespace strata::sketch::detail {

/// Thin SVD A = U diag(S) V^T of an m x n host matrix (LAPACK xGESVD, jobu = jobvt = 'S'):
/// U is m x r, S has r = min(m, n) entries in descending order, Vt is r x n. A is not modified.
/// Throws NumericalError if LAPACK does not converge.
template <class T>
struct SmallSvd {
  HostMatrix<T> u;
  std::vector<T> s;
  HostMatrix<T> vt;
};
template <class T>
SmallSvd<T> small_svd(const HostMatrix<T>& a);

/// Eigendecomposition A = W diag(lambda) W^T of a symmetric n x n host matrix (lower triangle
/// used; LAPACK xSYEVD), eigenvalues ascending. Throws NumericalError if LAPACK does not converge.
template <class T>
struct SmallEig {
  std::vector<T> values;
  HostMatrix<T> vectors;
};
template <class T>
SmallEig<T> small_symmetric_eig(const HostMatrix<T>& a);

/// Upper Cholesky factor C (A = C^T C) of a symmetric positive definite n x n host matrix (upper
/// triangle used; LAPACK xPOTRF); the strictly lower part of the result is zero. Returns false
/// (and leaves `c` unspecified) if A is not numerically positive definite.
template <class T>
bool small_cholesky_upper(const HostMatrix<T>& a, const HostMatrix<T>& c);

/// B <- op(R)^{-1} B for an upper triangular n x n R, op = 'N' or 'T' (BLAS xTRSM, left side).
template <class T>
void small_triangular_solve(char trans, const HostMatrix<T>& r, const HostMatrix<T>& b);

/// R^{-1} of an upper triangular n x n R (xTRSM on the identity).
template <class T>
HostMatrix<T> small_triangular_inverse(const HostMatrix<T>& r);

/// The n x n upper triangular factor R of the thin QR of an m x n host matrix (m >= n; LAPACK
/// xGEQRF). A is not modified.
template <class T>
HostMatrix<T> small_qr_r(const HostMatrix<T>& a);

/// Least-squares solution X (n x k) of min ||A X - B||_F for a full-rank m x n A (m >= n) by
/// Householder QR (LAPACK xGELS). A and B are not modified.
template <class T>
HostMatrix<T> small_least_squares(const HostMatrix<T>& a, const HostMatrix<T>& b);

}  // namespace strata::sketch::detail
