/* Randomized SVD of a distributed matrix with known singular values (Strata's C interface).
 *
 * A = U diag(sigma) V^T (N x n, rank 8, sigma_j = 2^-j) with orthonormal DCT bases U, V; each rank
 * owns a block of rows.
 *
 *   mpiexec -n 2 ./strata_example_rsvd_c
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strata.h>

#define N 1000
#define COLS 40
#define RANK_OF_A 8
#define K 5

#define CHECK(call)                                                            \
  do {                                                                         \
    int code_ = (call);                                                        \
    if (code_ != STRATA_SUCCESS) {                                             \
      fprintf(stderr, "%s failed (%s): %s\n", #call, strata_error_name(code_), \
              strata_last_error());                                            \
      strata_finalize();                                                       \
      return 1;                                                                \
    }                                                                          \
  } while (0)

static double dct(int64_t n, int64_t i, int64_t j) {
  const double pi = 3.14159265358979323846;
  return (j == 0 ? sqrt(1.0 / (double)n) : sqrt(2.0 / (double)n)) *
         cos(pi * ((double)i + 0.5) * (double)j / (double)n);
}

int main(int argc, char** argv) {
  CHECK(strata_initialize(&argc, &argv));
  int rank = 0, ranks = 1;
  strata_fint comm = 0;
#if STRATA_CAPI_HAVE_MPI
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  comm = strata_comm_c2f(MPI_COMM_WORLD);
#endif
  const int64_t local_rows = N / ranks + (rank < N % ranks ? 1 : 0);
  const int64_t first = (int64_t)rank * (N / ranks) + (rank < N % ranks ? rank : N % ranks);
  double* a = malloc(sizeof(double) * (size_t)(local_rows * COLS));
  for (int64_t j = 0; j < COLS; ++j)
    for (int64_t i = 0; i < local_rows; ++i) {
      double s = 0;
      for (int64_t l = 0; l < RANK_OF_A; ++l)
        s += dct(N, first + i, l) * ldexp(1.0, -(int)l) * dct(COLS, j, l);
      a[i + j * local_rows] = s;
    }

  strata_rsvd_options options;
  strata_rsvd_default_options(&options);
  options.rank = K;
  options.oversample = 10;
  double* u = malloc(sizeof(double) * (size_t)(local_rows * K));
  double s[K], v[COLS * K];
  strata_rsvd_info info;
  CHECK(strata_d_rsvd(comm, local_rows, COLS, a, local_rows, &options, u, local_rows, s, v, COLS,
                      &info));

  /* rank(A) = 8 <= l = K + oversample = 15, so the sketch captures range(A) exactly and only
   * rounding separates s from sigma: backward-stable QR and SVD steps on the l columns perturb the
   * singular values by about sqrt(l) (sqrt(N) + sqrt(n)) u ||A||_2 each (Weyl); allow 100 of them.
   */
  const double bound =
      100 * sqrt((double)(K + 10)) * (sqrt((double)N) + sqrt((double)COLS)) * DBL_EPSILON;
  double worst = 0;
  for (int j = 0; j < K; ++j) worst = fmax(worst, fabs(s[j] - ldexp(1.0, -j)));
  if (rank == 0) {
    printf("randomized SVD (C): %d x %d on %d ranks, %lld products; s =", N, COLS, ranks,
           (long long)info.matvecs);
    for (int j = 0; j < K; ++j) printf(" %.15f", s[j]);
    printf("; max |s_j - 2^-j| = %.2e (bound %.2e)\n", worst, bound);
  }
  free(a);
  free(u);
  CHECK(strata_finalize());
  return worst <= bound ? 0 : 1;
}
