/* Strata's C interface: HSS matrices, matrix functions by Polar Express / Newton-Schulz, and
 * randomized sketching, for C, Fortran (through the `strata` module) and any language with a C
 * foreign-function interface.
 *
 * Conventions (the same for every function):
 *  - Every function returns an int: STRATA_SUCCESS (0) or one of the STRATA_ERROR_* codes below.
 *    strata_last_error() then gives a one-line message saying what was wrong (thread-local; valid
 *    until the next Strata call on the same thread). No C++ exception ever leaves this interface.
 *  - Precision prefixes: strata_d_* (double) and strata_s_* (float) take the same arguments.
 *  - Matrices are host arrays, column-major, with a leading dimension (ld >= rows, ld >= 1).
 *  - Distributed data is the caller's own block-row distribution: each rank passes its
 *    `local_rows` consecutive rows of the global matrix (rank 0 the first rows, then rank 1, ...;
 *    any counts, zero allowed), and the global size is the sum over ranks. Outputs that are
 *    "replicated" are the same on every rank.
 *  - Communicators are Fortran handles (MPI_Fint): pass MPI_Comm_c2f(comm) from C (or the
 *    strata_comm_c2f() helper below), the integer communicator from Fortran (mpi_f08:
 *    comm%MPI_VAL). Strata duplicates it, so its messages never mix with the caller's. A Strata
 *    built without MPI is a single process and ignores the communicator argument. Functions that
 *    take a communicator are collective: every rank calls them, and an error on one rank is
 *    returned (with the same code) on every rank.
 *  - Handles (strata_d_hss, strata_s_hss) are opaque; destroy them with strata_*_hss_destroy
 *    before strata_finalize().
 *  - Callbacks return 0 on success; any other value stops the computation, and the calling Strata
 *    function returns STRATA_ERROR_CALLBACK on every rank. The `context` pointer is passed through
 *    untouched.
 */
#ifndef STRATA_CAPI_STRATA_H
#define STRATA_CAPI_STRATA_H

#include <stdint.h>

#include "strata_capi_config.h"

#if STRATA_CAPI_HAVE_MPI
#include <mpi.h>
/* A communicator's Fortran handle (MPI_Fint; an int in every MPI that Strata supports). */
typedef MPI_Fint strata_fint;
#else
typedef int strata_fint;
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- error codes (strata::ErrorCode, plus the C-only ones from 9) -------------------------- */
#define STRATA_SUCCESS 0
#define STRATA_ERROR_INVALID_ARGUMENT 1 /* a value out of range, a null pointer, a bad option */
#define STRATA_ERROR_SHAPE_MISMATCH 2   /* array extents or leading dimensions do not fit */
#define STRATA_ERROR_NON_FINITE 3       /* NaN or Inf where finite numbers are needed */
#define STRATA_ERROR_IO 4               /* a file is missing, unreadable or not writable */
#define STRATA_ERROR_UNSUPPORTED 5      /* valid, but not available in this build */
#define STRATA_ERROR_NUMERICAL 6        /* an algorithm broke down (singular, no convergence) */
#define STRATA_ERROR_COMMUNICATION 7    /* MPI failed or ranks disagree on an argument */
#define STRATA_ERROR_INTERNAL 8         /* a bug in Strata */
#define STRATA_ERROR_OUT_OF_MEMORY 9    /* an allocation failed */
#define STRATA_ERROR_CALLBACK 10        /* a user callback returned non-zero */
#define STRATA_ERROR_NOT_INITIALIZED 11 /* strata_initialize (or Kokkos) was not initialized */

/* ---- options values --------------------------------------------------------------------------*/
#define STRATA_HSS_LEVITT_MARTINSSON 0 /* one batch of samples (SISC 2024, Alg. 4.1) */
#define STRATA_HSS_QUASI_OPTIMAL 1     /* fresh sketches per level (Amsel et al. 2025) */

#define STRATA_ULV_GENERAL 0 /* any nonsingular HSS matrix */
#define STRATA_ULV_SPD 1     /* symmetric positive definite (V = U, B_ba = B_ab^T) */

#define STRATA_POLAR_EXPRESS 0 /* Polar Express schedule (minimax-optimal polynomials) */
#define STRATA_NEWTON_SCHULZ 1 /* classical cubic Newton-Schulz */
#define STRATA_MUON 2          /* the Muon quintic (fixed steps, approximate) */

#define STRATA_SCALING_FROBENIUS 0         /* X_0 = A / ||A||_F */
#define STRATA_SCALING_SPECTRAL_ESTIMATE 1 /* X_0 = A / (power-method estimate of ||A||_2) */

#define STRATA_SKETCH_GAUSSIAN 0
#define STRATA_SKETCH_RADEMACHER 1
#define STRATA_SKETCH_SRHT 2
#define STRATA_SKETCH_HADAMARD 3
#define STRATA_SKETCH_SPARSE_SIGN 4

#define STRATA_LSTSQ_SKETCH_AND_PRECONDITION 0 /* exact solution (Blendenpik / LSRN + LSQR) */
#define STRATA_LSTSQ_SKETCH_AND_SOLVE 1        /* one pass, (1 + eps)-optimal residual */

#define STRATA_TRACE_HUTCHINSON 0
#define STRATA_TRACE_HUTCH_PLUS_PLUS 1
#define STRATA_TRACE_NA_HUTCH_PLUS_PLUS 2

#define STRATA_NO_TRANSPOSE 0
#define STRATA_TRANSPOSE 1

/* ---- runtime ---------------------------------------------------------------------------------*/

/* Initializes MPI (if Strata has it and the caller has not) and Kokkos (likewise). argc and argv
 * may be NULL; Kokkos flags (--kokkos-...) in argv are honoured. Whatever the caller initialized
 * before is left running by strata_finalize. Call once per process. */
int strata_initialize(int* argc, char*** argv);
/* Finalizes what strata_initialize initialized (nothing else). */
int strata_finalize(void);
/* The message of this thread's last error ("" after a success). */
const char* strata_last_error(void);
/* Short name of an error code ("invalid argument", ...). */
const char* strata_error_name(int code);
/* 1 if this Strata was built with MPI, else 0. */
int strata_have_mpi(void);

#if STRATA_CAPI_HAVE_MPI
/* The Fortran handle of a C communicator, for the comm arguments below. */
static inline strata_fint strata_comm_c2f(MPI_Comm comm) {
  return MPI_Comm_c2f(comm);
}
#endif

/* ---- callbacks -------------------------------------------------------------------------------*/

/* Y = A X (trans = STRATA_NO_TRANSPOSE) or Y = A^T X (STRATA_TRANSPOSE) for a square N x N
 * operator in the caller's row distribution: X and Y are this rank's local_rows x k blocks
 * (column-major, leading dimensions ldx, ldy). Called on every rank together (so it may use MPI on
 * the caller's communicator). Return 0 on success. */
typedef int (*strata_d_matvec_fn)(void* context, int trans, int64_t local_rows, int64_t k,
                                  const double* x, int64_t ldx, double* y, int64_t ldy);
typedef int (*strata_s_matvec_fn)(void* context, int trans, int64_t local_rows, int64_t k,
                                  const float* x, int64_t ldx, float* y, int64_t ldy);

/* values[i + j * ldv] = A(rows[i], cols[j]) for i < nrows, j < ncols (0-based global indices, any
 * order). Called by one rank at a time, for any rows and columns of A (not only local ones). */
typedef int (*strata_d_entries_fn)(void* context, int64_t nrows, const int64_t* rows, int64_t ncols,
                                   const int64_t* cols, double* values, int64_t ldv);
typedef int (*strata_s_entries_fn)(void* context, int64_t nrows, const int64_t* rows, int64_t ncols,
                                   const int64_t* cols, float* values, int64_t ldv);

/* ---- HSS matrices ----------------------------------------------------------------------------*/

typedef struct strata_d_hss_s* strata_d_hss;
typedef struct strata_s_hss_s* strata_s_hss;

typedef struct {
  int64_t leaf_size;    /* largest leaf of the uniform cluster tree (default 64) */
  int64_t rank;         /* > 0: fixed rank of every basis; 0: tolerance mode (default 0) */
  double tolerance;     /* tolerance mode: target ||A - H||_F / ||A||_F (default 1e-6); from
                           entries: the per-node ID truncation relative to the largest pivot */
  int64_t oversampling; /* samples beyond the minimum (default 10) */
  int64_t samples;      /* samples per sketch, 0: automatic (default 0) */
  int64_t max_samples;  /* tolerance mode: largest sample count tried, 0: N (default 0) */
  int64_t seed;         /* seed of the random test matrices (default 0) */
  int method;           /* STRATA_HSS_LEVITT_MARTINSSON (default) or STRATA_HSS_QUASI_OPTIMAL */
  int error_probes;     /* Gaussian probes of the a-posteriori error estimate (default 10) */
  int max_rounds;       /* tolerance mode: most adaptive rounds (default 8) */
} strata_hss_options;

/* Diagnostics of a construction (any pointer argument of this type may be NULL). */
typedef struct {
  int64_t rows;                   /* N */
  int64_t levels;                 /* levels of the cluster tree */
  int64_t max_rank;               /* largest rank of any basis */
  int64_t products;               /* columns multiplied by A (and as many by A^T); entries: 0 */
  int64_t memory_bytes;           /* generators and tables on this rank */
  double relative_error_estimate; /* estimate of ||A - H||_F / ||A||_F, -1 if not computed */
} strata_hss_info;

/* Results of a solve (any pointer argument of this type may be NULL). */
typedef struct {
  double residual;              /* ||A X - B||_F / ||B||_F with the HSS product */
  double condition_lower_bound; /* a lower bound on cond_2(A) */
} strata_solve_info;

void strata_hss_default_options(strata_hss_options* options);

/* H ~ A from products with A and A^T only (Levitt & Martinsson 2024 / Amsel et al. 2025): the
 * library's randomized construction calls `matvec` on about s + error_probes columns at a time
 * (s ~ 3 rank + oversampling). Collective over comm. */
int strata_d_hss_compress_matvec(strata_fint comm, int64_t local_rows, strata_d_matvec_fn matvec,
                                 void* context, const strata_hss_options* options,
                                 strata_d_hss* hss, strata_hss_info* info);
int strata_s_hss_compress_matvec(strata_fint comm, int64_t local_rows, strata_s_matvec_fn matvec,
                                 void* context, const strata_hss_options* options,
                                 strata_s_hss* hss, strata_hss_info* info);

/* H ~ A from entries only (Martinsson 2011, the interpolative construction STRUMPACK uses): every
 * rank evaluates the whole construction (O(N^2 s) entries and flops per rank: for moderate N, or
 * for an A without a fast product) and keeps its part. Collective over comm. */
int strata_d_hss_compress_entries(strata_fint comm, int64_t local_rows, int64_t n,
                                  strata_d_entries_fn entries, void* context,
                                  const strata_hss_options* options, strata_d_hss* hss,
                                  strata_hss_info* info);
int strata_s_hss_compress_entries(strata_fint comm, int64_t local_rows, int64_t n,
                                  strata_s_entries_fn entries, void* context,
                                  const strata_hss_options* options, strata_s_hss* hss,
                                  strata_hss_info* info);

/* H ~ A from this rank's dense rows A(local rows, 0:n) (local_rows x n, lda), n = global rows:
 * the product construction on the distributed dense matrix (2 N^2 / P flops per column of
 * samples). Collective over comm. */
int strata_d_hss_compress_dense(strata_fint comm, int64_t local_rows, int64_t n, const double* a,
                                int64_t lda, const strata_hss_options* options, strata_d_hss* hss,
                                strata_hss_info* info);
int strata_s_hss_compress_dense(strata_fint comm, int64_t local_rows, int64_t n, const float* a,
                                int64_t lda, const strata_hss_options* options, strata_s_hss* hss,
                                strata_hss_info* info);

/* Frees the handle (NULL is ignored). Not collective. */
int strata_d_hss_destroy(strata_d_hss hss);
int strata_s_hss_destroy(strata_s_hss hss);

/* Diagnostics of the matrix held by the handle (products and error estimate as constructed). */
int strata_d_hss_info(strata_d_hss hss, strata_hss_info* info);
int strata_s_hss_info(strata_s_hss hss, strata_hss_info* info);

/* Y = op(H) X for this rank's rows X, Y (local_rows x k). O(N r k / P) flops. Collective. */
int strata_d_hss_matvec(strata_d_hss hss, int trans, int64_t k, const double* x, int64_t ldx,
                        double* y, int64_t ldy);
int strata_s_hss_matvec(strata_s_hss hss, int trans, int64_t k, const float* x, int64_t ldx,
                        float* y, int64_t ldy);

/* ULV factorization of H, kept in the handle (variant: STRATA_ULV_GENERAL or STRATA_ULV_SPD).
 * O(N r^2 / P) flops. Collective. */
int strata_d_hss_factor(strata_d_hss hss, int variant);
int strata_s_hss_factor(strata_s_hss hss, int variant);

/* X = H^{-1} B for this rank's rows B, X (local_rows x k), after strata_*_hss_factor. Checks the
 * solution (residual, and NUMERICAL when H is singular to working precision). Collective. */
int strata_d_hss_solve(strata_d_hss hss, int64_t k, const double* b, int64_t ldb, double* x,
                       int64_t ldx, strata_solve_info* info);
int strata_s_hss_solve(strata_s_hss hss, int64_t k, const float* b, int64_t ldb, float* x,
                       int64_t ldx, strata_solve_info* info);

/* Writes H to an HDF5 file (atomically; rank 0 writes). Collective. */
int strata_d_hss_save(strata_d_hss hss, const char* file);
int strata_s_hss_save(strata_s_hss hss, const char* file);
/* Reads an HSS matrix saved by strata_*_hss_save (or by the C++ API on any cluster tree, uniform or
 * geometric: vectors stay in the original order), distributed with local_rows rows on this rank.
 * Collective. */
int strata_d_hss_load(strata_fint comm, const char* file, int64_t local_rows, strata_d_hss* hss);
int strata_s_hss_load(strata_fint comm, const char* file, int64_t local_rows, strata_s_hss* hss);

/* ---- matrix functions by Newton-Schulz-type iterations ---------------------------------------*/

typedef struct {
  double lower;     /* assumed lower bound on the singular values of the scaled input (1e-3) */
  double tolerance; /* stop at this orthogonality error; 0: 10 sqrt(n) eps (default 0) */
  double safety;    /* schedule safety factor and input scaling margin (1.01) */
  int method;       /* STRATA_POLAR_EXPRESS (default), STRATA_NEWTON_SCHULZ, STRATA_MUON */
  int degree;       /* polynomial degree, 3 or 5 (default 5) */
  int steps;        /* > 0: exactly this many steps; 0: iterate to the tolerance (default 0) */
  int max_steps;    /* (default 60) */
  int scaling;      /* STRATA_SCALING_FROBENIUS (default) or STRATA_SCALING_SPECTRAL_ESTIMATE */
} strata_polar_options;

typedef struct {
  int iterations;
  int converged; /* 1 if the tolerance was met */
  double error;  /* final orthogonality error (||X^T X - I||_F for the polar factor) */
  double scale;  /* the input was divided by this */
} strata_polar_info;

void strata_polar_default_options(strata_polar_options* options);

/* Polar factor Q of the distributed m x n A (m = sum of local_rows >= n): A = Q H, Q with
 * orthonormal columns, this rank's rows in q (local_rows x n). Per step one n x n allreduce.
 * Collective. */
int strata_d_polar(strata_fint comm, int64_t local_rows, int64_t n, const double* a, int64_t lda,
                   double* q, int64_t ldq, const strata_polar_options* options,
                   strata_polar_info* info);
int strata_s_polar(strata_fint comm, int64_t local_rows, int64_t n, const float* a, int64_t lda,
                   float* q, int64_t ldq, const strata_polar_options* options,
                   strata_polar_info* info);

/* Matrix sign of a square n x n A (real spectrum away from 0), held whole by the caller (no
 * communication; every rank that calls it computes it). */
int strata_d_sign(int64_t n, const double* a, int64_t lda, double* s, int64_t lds,
                  const strata_polar_options* options, strata_polar_info* info);
int strata_s_sign(int64_t n, const float* a, int64_t lda, float* s, int64_t lds,
                  const strata_polar_options* options, strata_polar_info* info);

/* Square root and inverse square root of a symmetric positive definite n x n A (held whole; no
 * communication). Either output may be NULL (not wanted). */
int strata_d_sqrt(int64_t n, const double* a, int64_t lda, double* sqrt_a, int64_t ld_sqrt,
                  double* inverse_sqrt_a, int64_t ld_inverse_sqrt,
                  const strata_polar_options* options, strata_polar_info* info);
int strata_s_sqrt(int64_t n, const float* a, int64_t lda, float* sqrt_a, int64_t ld_sqrt,
                  float* inverse_sqrt_a, int64_t ld_inverse_sqrt,
                  const strata_polar_options* options, strata_polar_info* info);

/* ---- randomized low-rank approximation and sketching -----------------------------------------*/

typedef struct {
  int64_t rank;         /* k > 0: fixed rank; 0 with tolerance > 0: adaptive (default 10) */
  int64_t oversample;   /* p: the basis has k + p columns (default 10) */
  int64_t max_rank;     /* adaptive mode: largest rank, the capacity of the outputs (default 0) */
  int64_t block_size;   /* adaptive mode: columns added per step (default 16) */
  int64_t seed;         /* (default 0) */
  double tolerance;     /* > 0: adaptive mode, absolute spectral-norm target (default 0) */
  int power_iterations; /* subspace iterations q (default 0) */
  int error_probes;     /* probes of the error estimate, 0: none in fixed-rank mode (default 0) */
} strata_rsvd_options;

typedef struct {
  int64_t rank;          /* columns of U and V computed (k) */
  int64_t matvecs;       /* products of A or A^T with one vector */
  double error_estimate; /* estimate of ||A - U S V^T||_2, -1 if not computed */
  int converged;         /* adaptive mode: 1 if the tolerance was met */
} strata_rsvd_info;

void strata_rsvd_default_options(strata_rsvd_options* options);

/* Randomized SVD (Halko, Martinsson & Tropp 2011, Alg. 5.1) of the distributed m x n A:
 * A ~ U diag(s) V^T. u: this rank's rows (local_rows x c, ldu), s: c values, descending
 * (replicated), v: n x c (replicated, ldv), with c = options->rank in fixed-rank mode and
 * options->max_rank in adaptive mode (only the first info->rank columns are set). Collective. */
int strata_d_rsvd(strata_fint comm, int64_t local_rows, int64_t n, const double* a, int64_t lda,
                  const strata_rsvd_options* options, double* u, int64_t ldu, double* s, double* v,
                  int64_t ldv, strata_rsvd_info* info);
int strata_s_rsvd(strata_fint comm, int64_t local_rows, int64_t n, const float* a, int64_t lda,
                  const strata_rsvd_options* options, float* u, int64_t ldu, float* s, float* v,
                  int64_t ldv, strata_rsvd_info* info);

typedef struct {
  int64_t rows;         /* d, the sketch dimension (no default: must be set, > 0) */
  int64_t seed;         /* (default 0) */
  int64_t stream;       /* (default 0) */
  int64_t nnz;          /* sparse sign: nonzeros per column (default 8) */
  int kind;             /* STRATA_SKETCH_* (default STRATA_SKETCH_GAUSSIAN) */
  int isometry_scaling; /* 1: E ||S x||^2 = ||x||^2 (default 1); 0: unscaled entries */
} strata_sketch_options;

void strata_sketch_default_options(strata_sketch_options* options);

/* SA = S A for the distributed m x k A (m = sum of local_rows) and the d x m random operator S
 * described by the options (entries generated from counters: the same S for any rank count).
 * sa: d x k, replicated (ldsa). Collective (one d x k allreduce). */
int strata_d_sketch_apply(strata_fint comm, const strata_sketch_options* options,
                          int64_t local_rows, int64_t k, const double* a, int64_t lda, double* sa,
                          int64_t ldsa);
int strata_s_sketch_apply(strata_fint comm, const strata_sketch_options* options,
                          int64_t local_rows, int64_t k, const float* a, int64_t lda, float* sa,
                          int64_t ldsa);

typedef struct {
  int64_t sketch_rows; /* d, 0: automatic (default 0) */
  int64_t sparse_nnz;  /* sparse sign nonzeros per column (default 8) */
  int64_t seed;        /* (default 0) */
  double atol, btol;   /* LSQR tolerances, 0: 10 eps (default 0) */
  int method;          /* STRATA_LSTSQ_* (default STRATA_LSTSQ_SKETCH_AND_PRECONDITION) */
  int sketch_kind;     /* STRATA_SKETCH_* except HADAMARD (default STRATA_SKETCH_SPARSE_SIGN) */
  int max_iterations;  /* LSQR iteration limit (default 1000) */
} strata_lstsq_options;

typedef struct {
  int iterations;
  int converged;        /* 1 if LSQR met its tolerances for every right-hand side */
  double residual_norm; /* max over right-hand sides of ||A x_j - b_j||_2 */
} strata_lstsq_info;

void strata_lstsq_default_options(strata_lstsq_options* options);

/* min ||A X - B||_F for the distributed m x n A (full column rank, m >= n) and m x k B (same
 * rows): x is n x k, replicated (ldx). Collective. */
int strata_d_least_squares(strata_fint comm, int64_t local_rows, int64_t n, const double* a,
                           int64_t lda, int64_t k, const double* b, int64_t ldb,
                           const strata_lstsq_options* options, double* x, int64_t ldx,
                           strata_lstsq_info* info);
int strata_s_least_squares(strata_fint comm, int64_t local_rows, int64_t n, const float* a,
                           int64_t lda, int64_t k, const float* b, int64_t ldb,
                           const strata_lstsq_options* options, float* x, int64_t ldx,
                           strata_lstsq_info* info);

typedef struct {
  int64_t matvecs; /* budget of products with A (default 30) */
  int64_t seed;    /* (default 0) */
  int method;      /* STRATA_TRACE_* (default STRATA_TRACE_HUTCH_PLUS_PLUS) */
} strata_trace_options;

typedef struct {
  double estimate;
  double standard_error; /* of the Hutchinson part; NaN with fewer than two probes */
  int64_t matvecs;       /* products used */
} strata_trace_info;

void strata_trace_default_options(strata_trace_options* options);

/* Estimate of tr(A) for a square operator given by its product (only trans = 0 is requested), in
 * the caller's row distribution. Collective. */
int strata_d_estimate_trace(strata_fint comm, int64_t local_rows, strata_d_matvec_fn matvec,
                            void* context, const strata_trace_options* options,
                            strata_trace_info* info);
int strata_s_estimate_trace(strata_fint comm, int64_t local_rows, strata_s_matvec_fn matvec,
                            void* context, const strata_trace_options* options,
                            strata_trace_info* info);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_CAPI_STRATA_H */
