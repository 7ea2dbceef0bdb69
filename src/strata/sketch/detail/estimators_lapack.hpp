// Host LAPACK for the small dense problems of the matvec-based estimators (sketch/): the k x k
// tridiagonal eigenproblem of Lanczos-FA, symmetric eigendecompositions for references, and the
// pseudo-inverse of NA-Hutch++'s small core matrix. All in double on the host; sizes are the
// number of matvecs, never the matrix dimension.
#pragma once

#include <vector>

#include "strata/core/types.hpp"

namespace strata::sketch::detail {

struct HostEigen {
  std::vector<double> values;  ///< ascending
  HostMatrix<double> vectors;  ///< column j belongs to values[j]
};

/// Eigenvalues and eigenvectors of the symmetric tridiagonal matrix with diagonal `diagonal` (k)
/// and off-diagonal `off_diagonal` (k - 1) (LAPACK dstev: implicit QL/QR, O(k^2) values + O(k^3)
/// vectors). Throws NumericalError if LAPACK does not converge.
HostEigen tridiagonal_eigen(const std::vector<double>& diagonal,
                            const std::vector<double>& off_diagonal);

/// Eigenvalues and eigenvectors of a symmetric matrix (lower triangle used; LAPACK dsyev).
HostEigen symmetric_eigen(const HostMatrix<double>& a);

/// Moore-Penrose pseudo-inverse (cols x rows) of A (rows x cols) by the SVD (LAPACK dgesvd),
/// discarding singular values <= rcond * sigma_max (the numerical rank decision).
HostMatrix<double> pseudo_inverse(const HostMatrix<double>& a, double rcond);

}  // namespace strata::sketch::detail
