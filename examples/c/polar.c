/* Orthogonalize a distributed tall matrix with Polar Express (Strata's C interface) and check
 * ||Q^T Q - I||_F.
 *
 * A = U diag(sigma) V^T (N x n) with U, V orthonormal DCT bases and singular values 1..n; each rank
 * owns a block of rows.
 *
 *   mpiexec -n 2 ./strata_example_polar_c
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strata.h>

#define N 2000
#define COLS 16

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

/* Entry i of column j of the orthonormal n-point DCT-II basis. */
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
  double* q = malloc(sizeof(double) * (size_t)(local_rows * COLS));
  for (int64_t j = 0; j < COLS; ++j)
    for (int64_t i = 0; i < local_rows; ++i) {
      double s = 0;
      for (int64_t l = 0; l < COLS; ++l) s += dct(N, first + i, l) * (1.0 + l) * dct(COLS, j, l);
      a[i + j * local_rows] = s;
    }

  strata_polar_options options;
  strata_polar_default_options(&options); /* Polar Express, to working precision */
  strata_polar_info info;
  CHECK(strata_d_polar(comm, local_rows, COLS, a, local_rows, q, local_rows, &options, &info));

  /* ||Q^T Q - I||_F from this rank's rows and one allreduce. */
  double gram[COLS * COLS];
  for (int64_t j = 0; j < COLS; ++j)
    for (int64_t l = 0; l < COLS; ++l) {
      double s = 0;
      for (int64_t i = 0; i < local_rows; ++i) s += q[i + l * local_rows] * q[i + j * local_rows];
      gram[l + j * COLS] = s;
    }
#if STRATA_CAPI_HAVE_MPI
  MPI_Allreduce(MPI_IN_PLACE, gram, COLS * COLS, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
#endif
  double error = 0;
  for (int64_t j = 0; j < COLS; ++j)
    for (int64_t l = 0; l < COLS; ++l) {
      const double d = gram[l + j * COLS] - (l == j ? 1.0 : 0.0);
      error += d * d;
    }
  error = sqrt(error);
  /* The iteration stops at ||X^T X - I||_F <= 10 sqrt(n) u; forming Q^T Q here adds at most N u
   * per entry (sums of N products of numbers <= 1), n N u in the Frobenius norm. */
  const double bound = 10 * sqrt((double)COLS) * DBL_EPSILON + COLS * (double)N * DBL_EPSILON;
  if (rank == 0) {
    printf(
        "Polar Express (C): %d x %d on %d ranks, %d iterations, ||Q^T Q - I||_F = %.2e "
        "(bound %.2e)\n",
        N, COLS, ranks, info.iterations, error, bound);
  }
  free(a);
  free(q);
  CHECK(strata_finalize());
  return error <= bound ? 0 : 1;
}
