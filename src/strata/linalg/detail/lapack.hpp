// The one place where Strata declares the Fortran BLAS/LAPACK routines it calls on the host, and
// type-overloaded C++ wrappers for them (lapack::gesdd(...) picks sgesdd_ or dgesdd_ from the
// pointer types, so templated code calls one name). Every host BLAS/LAPACK call in src/, tests/
// and perf/ goes through this header; nothing else declares these symbols.
//
// Why not LAPACKE: it would be a further dependency (Debian liblapacke-dev, a CMake find module,
// the spack recipe) for no gain here: its high-level interface allocates workspace on every call
// (the batched kernels keep one workspace per thread), and its _work interface is a pass-through to
// the same Fortran symbols for column-major data. The wrappers below pass the hidden CHARACTER
// length arguments that gfortran-compiled LAPACK expects after the explicit ones (size_t since
// GCC 8, as in LAPACK's own lapack.h with LAPACK_FORTRAN_STRLEN_END); libraries written in C
// (OpenBLAS's BLAS) ignore them, which the C calling conventions of x86-64 and AArch64 allow.
//
// Arguments follow the Fortran reference (pointers to scalars, column-major arrays); see
// the LAPACK Users' Guide for each routine. Private to the library's sources, tests and
// benchmarks: no public header includes this one.
#pragma once

#include <cstddef>

namespace strata::linalg::lapack {

namespace fortran {
extern "C" {
void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
            const float* beta, float* c, const int* ldc, std::size_t, std::size_t);
void ssyrk_(const char* uplo, const char* trans, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* beta, float* c, const int* ldc,
            std::size_t, std::size_t);
void strsm_(const char* side, const char* uplo, const char* transa, const char* diag, const int* m,
            const int* n, const float* alpha, const float* a, const int* lda, float* b,
            const int* ldb, std::size_t, std::size_t, std::size_t, std::size_t);
void slarfg_(const int* n, float* alpha, float* x, const int* incx, float* tau);
void slarf_(const char* side, const int* m, const int* n, const float* v, const int* incv,
            const float* tau, float* c, const int* ldc, float* work, std::size_t);
void sgeqp3_(const int* m, const int* n, float* a, const int* lda, int* jpvt, float* tau,
             float* work, const int* lwork, int* info);
void stpqrt_(const int* m, const int* n, const int* l, const int* nb, float* a, const int* lda,
             float* b, const int* ldb, float* t, const int* ldt, float* work, int* info);
void stpmqrt_(const char* side, const char* trans, const int* m, const int* n, const int* k,
              const int* l, const int* nb, const float* v, const int* ldv, const float* t,
              const int* ldt, float* a, const int* lda, float* b, const int* ldb, float* work,
              int* info, std::size_t, std::size_t);
void sgeqrf_(const int* m, const int* n, float* a, const int* lda, float* tau, float* work,
             const int* lwork, int* info);
void sorgqr_(const int* m, const int* n, const int* k, float* a, const int* lda, const float* tau,
             float* work, const int* lwork, int* info);
void sormqr_(const char* side, const char* trans, const int* m, const int* n, const int* k,
             const float* a, const int* lda, const float* tau, float* c, const int* ldc,
             float* work, const int* lwork, int* info, std::size_t, std::size_t);
void sgesvd_(const char* jobu, const char* jobvt, const int* m, const int* n, float* a,
             const int* lda, float* s, float* u, const int* ldu, float* vt, const int* ldvt,
             float* work, const int* lwork, int* info, std::size_t, std::size_t);
void sgesdd_(const char* jobz, const int* m, const int* n, float* a, const int* lda, float* s,
             float* u, const int* ldu, float* vt, const int* ldvt, float* work, const int* lwork,
             int* iwork, int* info, std::size_t);
void sgelsd_(const int* m, const int* n, const int* nrhs, float* a, const int* lda, float* b,
             const int* ldb, float* s, const float* rcond, int* rank, float* work, const int* lwork,
             int* iwork, int* info);
void sgelss_(const int* m, const int* n, const int* nrhs, float* a, const int* lda, float* b,
             const int* ldb, float* s, const float* rcond, int* rank, float* work, const int* lwork,
             int* info);
void sgels_(const char* trans, const int* m, const int* n, const int* nrhs, float* a,
            const int* lda, float* b, const int* ldb, float* work, const int* lwork, int* info,
            std::size_t);
void ssyev_(const char* jobz, const char* uplo, const int* n, float* a, const int* lda, float* w,
            float* work, const int* lwork, int* info, std::size_t, std::size_t);
void ssyevd_(const char* jobz, const char* uplo, const int* n, float* a, const int* lda, float* w,
             float* work, const int* lwork, int* iwork, const int* liwork, int* info, std::size_t,
             std::size_t);
void sstev_(const char* jobz, const int* n, float* d, float* e, float* z, const int* ldz,
            float* work, int* info, std::size_t);
void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info, std::size_t);
void strtri_(const char* uplo, const char* diag, const int* n, float* a, const int* lda, int* info,
             std::size_t, std::size_t);
void strcon_(const char* norm, const char* uplo, const char* diag, const int* n, const float* a,
             const int* lda, float* rcond, float* work, int* iwork, int* info, std::size_t,
             std::size_t, std::size_t);
void sgesv_(const int* n, const int* nrhs, float* a, const int* lda, int* ipiv, float* b,
            const int* ldb, int* info);
void sgetrf_(const int* m, const int* n, float* a, const int* lda, int* ipiv, int* info);
void sgetrs_(const char* trans, const int* n, const int* nrhs, const float* a, const int* lda,
             const int* ipiv, float* b, const int* ldb, int* info, std::size_t);
void spbtrf_(const char* uplo, const int* n, const int* kd, float* ab, const int* ldab, int* info,
             std::size_t);
void spbtrs_(const char* uplo, const int* n, const int* kd, const int* nrhs, const float* ab,
             const int* ldab, float* b, const int* ldb, int* info, std::size_t);
void sgbtrf_(const int* m, const int* n, const int* kl, const int* ku, float* ab, const int* ldab,
             int* ipiv, int* info);
void sgbtrs_(const char* trans, const int* n, const int* kl, const int* ku, const int* nrhs,
             const float* ab, const int* ldab, const int* ipiv, float* b, const int* ldb, int* info,
             std::size_t);
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b, const int* ldb,
            const double* beta, double* c, const int* ldc, std::size_t, std::size_t);
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* beta, double* c, const int* ldc,
            std::size_t, std::size_t);
void dtrsm_(const char* side, const char* uplo, const char* transa, const char* diag, const int* m,
            const int* n, const double* alpha, const double* a, const int* lda, double* b,
            const int* ldb, std::size_t, std::size_t, std::size_t, std::size_t);
void dlarfg_(const int* n, double* alpha, double* x, const int* incx, double* tau);
void dlarf_(const char* side, const int* m, const int* n, const double* v, const int* incv,
            const double* tau, double* c, const int* ldc, double* work, std::size_t);
void dgeqp3_(const int* m, const int* n, double* a, const int* lda, int* jpvt, double* tau,
             double* work, const int* lwork, int* info);
void dtpqrt_(const int* m, const int* n, const int* l, const int* nb, double* a, const int* lda,
             double* b, const int* ldb, double* t, const int* ldt, double* work, int* info);
void dtpmqrt_(const char* side, const char* trans, const int* m, const int* n, const int* k,
              const int* l, const int* nb, const double* v, const int* ldv, const double* t,
              const int* ldt, double* a, const int* lda, double* b, const int* ldb, double* work,
              int* info, std::size_t, std::size_t);
void dgeqrf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work,
             const int* lwork, int* info);
void dorgqr_(const int* m, const int* n, const int* k, double* a, const int* lda, const double* tau,
             double* work, const int* lwork, int* info);
void dormqr_(const char* side, const char* trans, const int* m, const int* n, const int* k,
             const double* a, const int* lda, const double* tau, double* c, const int* ldc,
             double* work, const int* lwork, int* info, std::size_t, std::size_t);
void dgesvd_(const char* jobu, const char* jobvt, const int* m, const int* n, double* a,
             const int* lda, double* s, double* u, const int* ldu, double* vt, const int* ldvt,
             double* work, const int* lwork, int* info, std::size_t, std::size_t);
void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s,
             double* u, const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork,
             int* iwork, int* info, std::size_t);
void dgelsd_(const int* m, const int* n, const int* nrhs, double* a, const int* lda, double* b,
             const int* ldb, double* s, const double* rcond, int* rank, double* work,
             const int* lwork, int* iwork, int* info);
void dgelss_(const int* m, const int* n, const int* nrhs, double* a, const int* lda, double* b,
             const int* ldb, double* s, const double* rcond, int* rank, double* work,
             const int* lwork, int* info);
void dgels_(const char* trans, const int* m, const int* n, const int* nrhs, double* a,
            const int* lda, double* b, const int* ldb, double* work, const int* lwork, int* info,
            std::size_t);
void dsyev_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
            double* work, const int* lwork, int* info, std::size_t, std::size_t);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
             double* work, const int* lwork, int* iwork, const int* liwork, int* info, std::size_t,
             std::size_t);
void dstev_(const char* jobz, const int* n, double* d, double* e, double* z, const int* ldz,
            double* work, int* info, std::size_t);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, std::size_t);
void dtrtri_(const char* uplo, const char* diag, const int* n, double* a, const int* lda, int* info,
             std::size_t, std::size_t);
void dtrcon_(const char* norm, const char* uplo, const char* diag, const int* n, const double* a,
             const int* lda, double* rcond, double* work, int* iwork, int* info, std::size_t,
             std::size_t, std::size_t);
void dgesv_(const int* n, const int* nrhs, double* a, const int* lda, int* ipiv, double* b,
            const int* ldb, int* info);
void dgetrf_(const int* m, const int* n, double* a, const int* lda, int* ipiv, int* info);
void dgetrs_(const char* trans, const int* n, const int* nrhs, const double* a, const int* lda,
             const int* ipiv, double* b, const int* ldb, int* info, std::size_t);
void dpbtrf_(const char* uplo, const int* n, const int* kd, double* ab, const int* ldab, int* info,
             std::size_t);
void dpbtrs_(const char* uplo, const int* n, const int* kd, const int* nrhs, const double* ab,
             const int* ldab, double* b, const int* ldb, int* info, std::size_t);
void dgbtrf_(const int* m, const int* n, const int* kl, const int* ku, double* ab, const int* ldab,
             int* ipiv, int* info);
void dgbtrs_(const char* trans, const int* n, const int* kl, const int* ku, const int* nrhs,
             const double* ab, const int* ldab, const int* ipiv, double* b, const int* ldb,
             int* info, std::size_t);
// Thread controls of threaded BLAS libraries, declared weak so that Strata links against any
// BLAS: the address is null where the library does not define the function.
int openblas_get_num_threads(void) __attribute__((weak));
void openblas_set_num_threads(int) __attribute__((weak));
int mkl_set_num_threads_local(int) __attribute__((weak));
}  // extern "C"
}  // namespace fortran

inline void gemm(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                 const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                 const float* beta, float* c, const int* ldc) {
  fortran::sgemm_(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, std::size_t{1},
                  std::size_t{1});
}
inline void gemm(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                 const double* alpha, const double* a, const int* lda, const double* b,
                 const int* ldb, const double* beta, double* c, const int* ldc) {
  fortran::dgemm_(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, std::size_t{1},
                  std::size_t{1});
}
inline void syrk(const char* uplo, const char* trans, const int* n, const int* k,
                 const float* alpha, const float* a, const int* lda, const float* beta, float* c,
                 const int* ldc) {
  fortran::ssyrk_(uplo, trans, n, k, alpha, a, lda, beta, c, ldc, std::size_t{1}, std::size_t{1});
}
inline void syrk(const char* uplo, const char* trans, const int* n, const int* k,
                 const double* alpha, const double* a, const int* lda, const double* beta,
                 double* c, const int* ldc) {
  fortran::dsyrk_(uplo, trans, n, k, alpha, a, lda, beta, c, ldc, std::size_t{1}, std::size_t{1});
}
inline void trsm(const char* side, const char* uplo, const char* transa, const char* diag,
                 const int* m, const int* n, const float* alpha, const float* a, const int* lda,
                 float* b, const int* ldb) {
  fortran::strsm_(side, uplo, transa, diag, m, n, alpha, a, lda, b, ldb, std::size_t{1},
                  std::size_t{1}, std::size_t{1}, std::size_t{1});
}
inline void trsm(const char* side, const char* uplo, const char* transa, const char* diag,
                 const int* m, const int* n, const double* alpha, const double* a, const int* lda,
                 double* b, const int* ldb) {
  fortran::dtrsm_(side, uplo, transa, diag, m, n, alpha, a, lda, b, ldb, std::size_t{1},
                  std::size_t{1}, std::size_t{1}, std::size_t{1});
}
// Householder reflector H = I - tau v v^T with H [alpha; x] = [beta; 0] (v(0) = 1 implicit,
// v(1:) over x), and its application to C from the left or right (work: n or m entries).
inline void larfg(const int* n, float* alpha, float* x, const int* incx, float* tau) {
  fortran::slarfg_(n, alpha, x, incx, tau);
}
inline void larfg(const int* n, double* alpha, double* x, const int* incx, double* tau) {
  fortran::dlarfg_(n, alpha, x, incx, tau);
}
inline void larf(const char* side, const int* m, const int* n, const float* v, const int* incv,
                 const float* tau, float* c, const int* ldc, float* work) {
  fortran::slarf_(side, m, n, v, incv, tau, c, ldc, work, std::size_t{1});
}
inline void larf(const char* side, const int* m, const int* n, const double* v, const int* incv,
                 const double* tau, double* c, const int* ldc, double* work) {
  fortran::dlarf_(side, m, n, v, incv, tau, c, ldc, work, std::size_t{1});
}
inline void geqp3(const int* m, const int* n, float* a, const int* lda, int* jpvt, float* tau,
                  float* work, const int* lwork, int* info) {
  fortran::sgeqp3_(m, n, a, lda, jpvt, tau, work, lwork, info);
}
inline void geqp3(const int* m, const int* n, double* a, const int* lda, int* jpvt, double* tau,
                  double* work, const int* lwork, int* info) {
  fortran::dgeqp3_(m, n, a, lda, jpvt, tau, work, lwork, info);
}
/// QR of [A; B] with A n x n upper triangular and B m x n (l = 0: B rectangular): R overwrites A,
/// the reflectors' V overwrites B, the block reflector factors go to T (nb x n); work: nb n.
inline void tpqrt(const int* m, const int* n, const int* l, const int* nb, float* a, const int* lda,
                  float* b, const int* ldb, float* t, const int* ldt, float* work, int* info) {
  fortran::stpqrt_(m, n, l, nb, a, lda, b, ldb, t, ldt, work, info);
}
inline void tpqrt(const int* m, const int* n, const int* l, const int* nb, double* a,
                  const int* lda, double* b, const int* ldb, double* t, const int* ldt,
                  double* work, int* info) {
  fortran::dtpqrt_(m, n, l, nb, a, lda, b, ldb, t, ldt, work, info);
}
/// Applies tpqrt's Q (or Q^T) to [A; B] (side "L": A k x n, B m x n); work: nb n.
inline void tpmqrt(const char* side, const char* trans, const int* m, const int* n, const int* k,
                   const int* l, const int* nb, const float* v, const int* ldv, const float* t,
                   const int* ldt, float* a, const int* lda, float* b, const int* ldb, float* work,
                   int* info) {
  fortran::stpmqrt_(side, trans, m, n, k, l, nb, v, ldv, t, ldt, a, lda, b, ldb, work, info,
                    std::size_t{1}, std::size_t{1});
}
inline void tpmqrt(const char* side, const char* trans, const int* m, const int* n, const int* k,
                   const int* l, const int* nb, const double* v, const int* ldv, const double* t,
                   const int* ldt, double* a, const int* lda, double* b, const int* ldb,
                   double* work, int* info) {
  fortran::dtpmqrt_(side, trans, m, n, k, l, nb, v, ldv, t, ldt, a, lda, b, ldb, work, info,
                    std::size_t{1}, std::size_t{1});
}
inline void geqrf(const int* m, const int* n, float* a, const int* lda, float* tau, float* work,
                  const int* lwork, int* info) {
  fortran::sgeqrf_(m, n, a, lda, tau, work, lwork, info);
}
inline void geqrf(const int* m, const int* n, double* a, const int* lda, double* tau, double* work,
                  const int* lwork, int* info) {
  fortran::dgeqrf_(m, n, a, lda, tau, work, lwork, info);
}
inline void orgqr(const int* m, const int* n, const int* k, float* a, const int* lda,
                  const float* tau, float* work, const int* lwork, int* info) {
  fortran::sorgqr_(m, n, k, a, lda, tau, work, lwork, info);
}
inline void orgqr(const int* m, const int* n, const int* k, double* a, const int* lda,
                  const double* tau, double* work, const int* lwork, int* info) {
  fortran::dorgqr_(m, n, k, a, lda, tau, work, lwork, info);
}
inline void ormqr(const char* side, const char* trans, const int* m, const int* n, const int* k,
                  const float* a, const int* lda, const float* tau, float* c, const int* ldc,
                  float* work, const int* lwork, int* info) {
  fortran::sormqr_(side, trans, m, n, k, a, lda, tau, c, ldc, work, lwork, info, std::size_t{1},
                   std::size_t{1});
}
inline void ormqr(const char* side, const char* trans, const int* m, const int* n, const int* k,
                  const double* a, const int* lda, const double* tau, double* c, const int* ldc,
                  double* work, const int* lwork, int* info) {
  fortran::dormqr_(side, trans, m, n, k, a, lda, tau, c, ldc, work, lwork, info, std::size_t{1},
                   std::size_t{1});
}
inline void gesvd(const char* jobu, const char* jobvt, const int* m, const int* n, float* a,
                  const int* lda, float* s, float* u, const int* ldu, float* vt, const int* ldvt,
                  float* work, const int* lwork, int* info) {
  fortran::sgesvd_(jobu, jobvt, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, info,
                   std::size_t{1}, std::size_t{1});
}
inline void gesvd(const char* jobu, const char* jobvt, const int* m, const int* n, double* a,
                  const int* lda, double* s, double* u, const int* ldu, double* vt, const int* ldvt,
                  double* work, const int* lwork, int* info) {
  fortran::dgesvd_(jobu, jobvt, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, info,
                   std::size_t{1}, std::size_t{1});
}
inline void gesdd(const char* jobz, const int* m, const int* n, float* a, const int* lda, float* s,
                  float* u, const int* ldu, float* vt, const int* ldvt, float* work,
                  const int* lwork, int* iwork, int* info) {
  fortran::sgesdd_(jobz, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, iwork, info,
                   std::size_t{1});
}
inline void gesdd(const char* jobz, const int* m, const int* n, double* a, const int* lda,
                  double* s, double* u, const int* ldu, double* vt, const int* ldvt, double* work,
                  const int* lwork, int* iwork, int* info) {
  fortran::dgesdd_(jobz, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, iwork, info,
                   std::size_t{1});
}
inline void gelsd(const int* m, const int* n, const int* nrhs, float* a, const int* lda, float* b,
                  const int* ldb, float* s, const float* rcond, int* rank, float* work,
                  const int* lwork, int* iwork, int* info) {
  fortran::sgelsd_(m, n, nrhs, a, lda, b, ldb, s, rcond, rank, work, lwork, iwork, info);
}
inline void gelsd(const int* m, const int* n, const int* nrhs, double* a, const int* lda, double* b,
                  const int* ldb, double* s, const double* rcond, int* rank, double* work,
                  const int* lwork, int* iwork, int* info) {
  fortran::dgelsd_(m, n, nrhs, a, lda, b, ldb, s, rcond, rank, work, lwork, iwork, info);
}
inline void gelss(const int* m, const int* n, const int* nrhs, float* a, const int* lda, float* b,
                  const int* ldb, float* s, const float* rcond, int* rank, float* work,
                  const int* lwork, int* info) {
  fortran::sgelss_(m, n, nrhs, a, lda, b, ldb, s, rcond, rank, work, lwork, info);
}
inline void gels(const char* trans, const int* m, const int* n, const int* nrhs, float* a,
                 const int* lda, float* b, const int* ldb, float* work, const int* lwork,
                 int* info) {
  fortran::sgels_(trans, m, n, nrhs, a, lda, b, ldb, work, lwork, info, std::size_t{1});
}
inline void gelss(const int* m, const int* n, const int* nrhs, double* a, const int* lda, double* b,
                  const int* ldb, double* s, const double* rcond, int* rank, double* work,
                  const int* lwork, int* info) {
  fortran::dgelss_(m, n, nrhs, a, lda, b, ldb, s, rcond, rank, work, lwork, info);
}
inline void gels(const char* trans, const int* m, const int* n, const int* nrhs, double* a,
                 const int* lda, double* b, const int* ldb, double* work, const int* lwork,
                 int* info) {
  fortran::dgels_(trans, m, n, nrhs, a, lda, b, ldb, work, lwork, info, std::size_t{1});
}
inline void syev(const char* jobz, const char* uplo, const int* n, float* a, const int* lda,
                 float* w, float* work, const int* lwork, int* info) {
  fortran::ssyev_(jobz, uplo, n, a, lda, w, work, lwork, info, std::size_t{1}, std::size_t{1});
}
inline void syev(const char* jobz, const char* uplo, const int* n, double* a, const int* lda,
                 double* w, double* work, const int* lwork, int* info) {
  fortran::dsyev_(jobz, uplo, n, a, lda, w, work, lwork, info, std::size_t{1}, std::size_t{1});
}
inline void syevd(const char* jobz, const char* uplo, const int* n, float* a, const int* lda,
                  float* w, float* work, const int* lwork, int* iwork, const int* liwork,
                  int* info) {
  fortran::ssyevd_(jobz, uplo, n, a, lda, w, work, lwork, iwork, liwork, info, std::size_t{1},
                   std::size_t{1});
}
inline void syevd(const char* jobz, const char* uplo, const int* n, double* a, const int* lda,
                  double* w, double* work, const int* lwork, int* iwork, const int* liwork,
                  int* info) {
  fortran::dsyevd_(jobz, uplo, n, a, lda, w, work, lwork, iwork, liwork, info, std::size_t{1},
                   std::size_t{1});
}
inline void stev(const char* jobz, const int* n, float* d, float* e, float* z, const int* ldz,
                 float* work, int* info) {
  fortran::sstev_(jobz, n, d, e, z, ldz, work, info, std::size_t{1});
}
inline void stev(const char* jobz, const int* n, double* d, double* e, double* z, const int* ldz,
                 double* work, int* info) {
  fortran::dstev_(jobz, n, d, e, z, ldz, work, info, std::size_t{1});
}
inline void potrf(const char* uplo, const int* n, float* a, const int* lda, int* info) {
  fortran::spotrf_(uplo, n, a, lda, info, std::size_t{1});
}
inline void potrf(const char* uplo, const int* n, double* a, const int* lda, int* info) {
  fortran::dpotrf_(uplo, n, a, lda, info, std::size_t{1});
}
inline void trtri(const char* uplo, const char* diag, const int* n, float* a, const int* lda,
                  int* info) {
  fortran::strtri_(uplo, diag, n, a, lda, info, std::size_t{1}, std::size_t{1});
}
inline void trtri(const char* uplo, const char* diag, const int* n, double* a, const int* lda,
                  int* info) {
  fortran::dtrtri_(uplo, diag, n, a, lda, info, std::size_t{1}, std::size_t{1});
}
/// Reciprocal condition number estimate of a triangular matrix (work: 3n, iwork: n).
inline void trcon(const char* norm, const char* uplo, const char* diag, const int* n,
                  const float* a, const int* lda, float* rcond, float* work, int* iwork,
                  int* info) {
  fortran::strcon_(norm, uplo, diag, n, a, lda, rcond, work, iwork, info, std::size_t{1},
                   std::size_t{1}, std::size_t{1});
}
inline void trcon(const char* norm, const char* uplo, const char* diag, const int* n,
                  const double* a, const int* lda, double* rcond, double* work, int* iwork,
                  int* info) {
  fortran::dtrcon_(norm, uplo, diag, n, a, lda, rcond, work, iwork, info, std::size_t{1},
                   std::size_t{1}, std::size_t{1});
}
inline void gesv(const int* n, const int* nrhs, float* a, const int* lda, int* ipiv, float* b,
                 const int* ldb, int* info) {
  fortran::sgesv_(n, nrhs, a, lda, ipiv, b, ldb, info);
}
inline void gesv(const int* n, const int* nrhs, double* a, const int* lda, int* ipiv, double* b,
                 const int* ldb, int* info) {
  fortran::dgesv_(n, nrhs, a, lda, ipiv, b, ldb, info);
}
inline void getrf(const int* m, const int* n, float* a, const int* lda, int* ipiv, int* info) {
  fortran::sgetrf_(m, n, a, lda, ipiv, info);
}
inline void getrf(const int* m, const int* n, double* a, const int* lda, int* ipiv, int* info) {
  fortran::dgetrf_(m, n, a, lda, ipiv, info);
}
inline void getrs(const char* trans, const int* n, const int* nrhs, const float* a, const int* lda,
                  const int* ipiv, float* b, const int* ldb, int* info) {
  fortran::sgetrs_(trans, n, nrhs, a, lda, ipiv, b, ldb, info, std::size_t{1});
}
inline void getrs(const char* trans, const int* n, const int* nrhs, const double* a, const int* lda,
                  const int* ipiv, double* b, const int* ldb, int* info) {
  fortran::dgetrs_(trans, n, nrhs, a, lda, ipiv, b, ldb, info, std::size_t{1});
}
inline void pbtrf(const char* uplo, const int* n, const int* kd, float* ab, const int* ldab,
                  int* info) {
  fortran::spbtrf_(uplo, n, kd, ab, ldab, info, std::size_t{1});
}
inline void pbtrf(const char* uplo, const int* n, const int* kd, double* ab, const int* ldab,
                  int* info) {
  fortran::dpbtrf_(uplo, n, kd, ab, ldab, info, std::size_t{1});
}
inline void pbtrs(const char* uplo, const int* n, const int* kd, const int* nrhs, const float* ab,
                  const int* ldab, float* b, const int* ldb, int* info) {
  fortran::spbtrs_(uplo, n, kd, nrhs, ab, ldab, b, ldb, info, std::size_t{1});
}
inline void pbtrs(const char* uplo, const int* n, const int* kd, const int* nrhs, const double* ab,
                  const int* ldab, double* b, const int* ldb, int* info) {
  fortran::dpbtrs_(uplo, n, kd, nrhs, ab, ldab, b, ldb, info, std::size_t{1});
}
inline void gbtrf(const int* m, const int* n, const int* kl, const int* ku, float* ab,
                  const int* ldab, int* ipiv, int* info) {
  fortran::sgbtrf_(m, n, kl, ku, ab, ldab, ipiv, info);
}
inline void gbtrf(const int* m, const int* n, const int* kl, const int* ku, double* ab,
                  const int* ldab, int* ipiv, int* info) {
  fortran::dgbtrf_(m, n, kl, ku, ab, ldab, ipiv, info);
}
inline void gbtrs(const char* trans, const int* n, const int* kl, const int* ku, const int* nrhs,
                  const float* ab, const int* ldab, const int* ipiv, float* b, const int* ldb,
                  int* info) {
  fortran::sgbtrs_(trans, n, kl, ku, nrhs, ab, ldab, ipiv, b, ldb, info, std::size_t{1});
}
inline void gbtrs(const char* trans, const int* n, const int* kl, const int* ku, const int* nrhs,
                  const double* ab, const int* ldab, const int* ipiv, double* b, const int* ldb,
                  int* info) {
  fortran::dgbtrs_(trans, n, kl, ku, nrhs, ab, ldab, ipiv, b, ldb, info, std::size_t{1});
}

/// While alive, the BLAS runs single-threaded (OpenBLAS through openblas_set_num_threads, MKL
/// through mkl_set_num_threads_local; other libraries are left as they are). For code that
/// parallelizes over many small problems itself: a threaded BLAS inside each small call only adds
/// synchronization. Measured with OpenBLAS 0.3.21 (pthreads, 2 threads) in the batched host
/// kernels of one HSS compression on a loaded 2-core machine: 0.6-0.9 s single-threaded against
/// 5.6-39 s with its two threads spinning and yielding. Construct and destroy it outside parallel
/// regions (the OpenBLAS setting is process-wide).
class SingleThreadedBlas {
 public:
  SingleThreadedBlas() {
    if (fortran::openblas_get_num_threads != nullptr &&
        fortran::openblas_set_num_threads != nullptr) {
      openblas_threads_ = fortran::openblas_get_num_threads();
      if (openblas_threads_ > 1) fortran::openblas_set_num_threads(1);
    }
    if (fortran::mkl_set_num_threads_local != nullptr)
      mkl_previous_ = fortran::mkl_set_num_threads_local(1);
  }
  ~SingleThreadedBlas() {
    if (openblas_threads_ > 1) fortran::openblas_set_num_threads(openblas_threads_);
    if (mkl_previous_ >= 0) fortran::mkl_set_num_threads_local(mkl_previous_);
  }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int openblas_threads_ = 0;
  int mkl_previous_ = -1;
};

}  // namespace strata::linalg::lapack
