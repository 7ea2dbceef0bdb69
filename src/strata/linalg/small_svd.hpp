// The thin SVD of one small dense matrix (the l x l core of a randomized SVD, l up to a few
// thousand) where its data live: host LAPACK (xGESDD) on host memory; on CUDA memory cuSOLVER's
// Jacobi SVD (gesvdj) or polar-decomposition SVD (Xgesvdp), so the core never travels through host
// memory. Other device backends: through a host copy.
#pragma once

#include <string>
#include <vector>

#include "strata/core/types.hpp"

namespace strata::linalg {

/// Where and how small_svd computes.
enum class SmallSvdMethod {
  /// device_polar on CUDA memory, host_lapack elsewhere. On an H100 (CUDA 13.0) a 266 x 266 SVD
  /// took 7.6 ms by device_polar, 13.2 ms by device_jacobi and 18.2 ms by host_lapack with its
  /// copies (fp64; fp32 6.3 / 8.4 / 12.4 ms; strata_bench_rsvd's core_svd rows).
  automatic,
  /// LAPACK xGESDD (xGESVD where it does not converge) on the host (a host copy on devices).
  host_lapack,
  /// cuSOLVER gesvdj: one-sided Jacobi to machine precision (CUDA builds only).
  device_jacobi,
  /// cuSOLVER Xgesvdp: QDWH polar decomposition + symmetric eigensolver (CUDA builds only). When
  /// A is numerically rank deficient, cuSOLVER perturbs it (the perturbation is reported); if the
  /// perturbation exceeds n u ||A||_2, the SVD is recomputed by device_jacobi.
  device_polar
};

/// Thin SVD A = U diag(s) V^T of an m x n matrix with m >= n, in the execution space's memory:
/// U (m x n) has orthonormal columns, V (n x n) is orthogonal, and the returned s (n values, on
/// the host) is descending. A is not modified. Every method is backward stable: U diag(s) V^T is
/// the SVD of A + E with ||E||_2 = O(n u ||A||_2) (u: unit roundoff of T).
/// Throws ShapeMismatch on inconsistent extents or m < n, InvalidArgument for a device method in
/// a build without CUDA, NumericalError if the solver does not converge. Waits for the device.
template <class T>
std::vector<T> small_svd(const ExecSpace& exec, const ConstMatrix<T>& a, const Matrix<T>& u,
                         const Matrix<T>& v, SmallSvdMethod method = SmallSvdMethod::automatic);

/// The method `automatic` resolves to in this build.
SmallSvdMethod resolve(SmallSvdMethod method);

/// "automatic", "host-lapack", "device-jacobi" or "device-polar"; parse_small_svd_method is its
/// inverse (InvalidArgument for other names).
const char* to_string(SmallSvdMethod method);
SmallSvdMethod parse_small_svd_method(const std::string& name);

namespace detail {
/// Host LAPACK thin SVD of a column-major m x n array (overwritten): s (min(m, n)), U (m x
/// min(m, n), ldu), Vt (min(m, n) x n, ldvt). xGESDD, then xGESVD on a fresh copy of `a0` if
/// xGESDD does not converge; throws NumericalError if neither converges. `a0` (m x n, leading
/// dimension lda0) is read only: the factorizations run on a copy.
template <class T>
void host_thin_svd(int m, int n, const T* a0, int lda0, T* s, T* u, int ldu, T* vt, int ldvt);
}  // namespace detail

#define STRATA_SMALL_SVD_DECLARE(T)                                                                \
  extern template std::vector<T> small_svd<T>(const ExecSpace&, const ConstMatrix<T>&,             \
                                              const Matrix<T>&, const Matrix<T>&, SmallSvdMethod); \
  extern template void detail::host_thin_svd<T>(int, int, const T*, int, T*, T*, int, T*, int);
STRATA_SMALL_SVD_DECLARE(float)
STRATA_SMALL_SVD_DECLARE(double)
#undef STRATA_SMALL_SVD_DECLARE

}  // namespace strata::linalg
