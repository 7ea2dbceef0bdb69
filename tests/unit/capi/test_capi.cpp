// The C interface (strata.h) against dense references with known answers and against the C++ API,
// on any number of ranks (run at 1 and 2 ranks): every rank builds the same global test matrices
// and passes its own rows, split unevenly (not the HSS tree's split, so the HSS library's handling
// of the caller's layout is exercised), and a file saved from the C++ API on a geometric
// (reordering) tree is read in the caller's order.
// Also: error codes and last-error messages for null pointers, bad shapes and leading dimensions,
// NaN input, bad options, failed callbacks and misuse of handles.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "strata/capi/strata.h"
#include "strata/config.hpp"
#include "strata/core/random.hpp"
#include "strata/dist/comm.hpp"
#include "strata/hss/compress_matvec.hpp"
#include "strata/hss/hss_io.hpp"
#include "strata/hss/matvec.hpp"
#include "strata/polar/newton_schulz.hpp"
#include "strata/sketch/operator.hpp"

namespace {

constexpr double u64 = std::numeric_limits<double>::epsilon();
constexpr double u32 = std::numeric_limits<float>::epsilon();
constexpr double pi = 3.14159265358979323846;

strata_fint world() {
#if STRATA_CAPI_HAVE_MPI
  return strata_comm_c2f(MPI_COMM_WORLD);
#else
  return 0;
#endif
}

struct Ranks {
  int rank = 0, size = 1;
  Ranks() {
    const strata::Comm comm;
    rank = comm.rank();
    size = comm.size();
  }
};

/// Rows of each rank: an uneven split (rank 0 gets `shift` rows more than an even share, the last
/// rank as many fewer), so it differs from the HSS tree's balanced split.
struct Split {
  std::vector<int64_t> begin;  // size + 1 offsets
  Split(int64_t n, int ranks, int64_t shift = 7) {
    std::vector<int64_t> counts(static_cast<std::size_t>(ranks), n / ranks);
    counts[0] += n % ranks;
    if (ranks > 1) {
      counts[0] += shift;
      counts.back() -= shift;
    }
    begin.assign(1, 0);
    for (const auto c : counts) begin.push_back(begin.back() + c);
  }
  int64_t first(int r) const { return begin[static_cast<std::size_t>(r)]; }
  int64_t rows(int r) const { return begin[static_cast<std::size_t>(r) + 1] - first(r); }
};

/// Column-major dense matrix.
template <class T>
struct Dense {
  int64_t rows = 0, cols = 0;
  std::vector<T> v;
  Dense(int64_t r, int64_t c) : rows(r), cols(c), v(static_cast<std::size_t>(r * c), T(0)) {}
  T& operator()(int64_t i, int64_t j) { return v[static_cast<std::size_t>(i + j * rows)]; }
  T operator()(int64_t i, int64_t j) const { return v[static_cast<std::size_t>(i + j * rows)]; }
  T* data() { return v.data(); }
  const T* data() const { return v.data(); }
  /// Rows [first, first + count) as their own matrix.
  Dense block(int64_t first, int64_t count) const {
    Dense b(count, cols);
    for (int64_t j = 0; j < cols; ++j)
      for (int64_t i = 0; i < count; ++i) b(i, j) = (*this)(first + i, j);
    return b;
  }
};

template <class T>
Dense<T> multiply(const Dense<T>& a, const Dense<T>& b, bool transpose_a = false) {
  const int64_t m = transpose_a ? a.cols : a.rows, k = transpose_a ? a.rows : a.cols;
  Dense<T> c(m, b.cols);
  for (int64_t j = 0; j < b.cols; ++j)
    for (int64_t l = 0; l < k; ++l)
      for (int64_t i = 0; i < m; ++i) c(i, j) += (transpose_a ? a(l, i) : a(i, l)) * b(l, j);
  return c;
}

template <class T>
double frobenius(const Dense<T>& a) {
  double s = 0;
  for (const T x : a.v) s += double(x) * double(x);
  return std::sqrt(s);
}

template <class T, class U>
double relative_difference(const Dense<T>& a, const Dense<U>& b) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.v.size(); ++i) {
    num += (double(a.v[i]) - double(b.v[i])) * (double(a.v[i]) - double(b.v[i]));
    den += double(b.v[i]) * double(b.v[i]);
  }
  return std::sqrt(num / den);
}

/// Column j of the orthonormal n-point DCT-II matrix, entry i: an exactly orthonormal basis
/// without any factorization.
double dct(int64_t n, int64_t i, int64_t j) {
  const double scale = j == 0 ? std::sqrt(1.0 / n) : std::sqrt(2.0 / n);
  return scale * std::cos(pi * (i + 0.5) * j / n);
}

/// A = U diag(sigma) V^T with U the first r columns of the m-point DCT and V those of the n-point
/// DCT: known singular values and vectors.
template <class T>
Dense<T> with_singular_values(int64_t m, int64_t n, const std::vector<double>& sigma) {
  Dense<T> a(m, n);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < m; ++i) {
      double s = 0;
      for (std::size_t l = 0; l < sigma.size(); ++l)
        s += dct(m, i, int64_t(l)) * sigma[l] * dct(n, j, int64_t(l));
      a(i, j) = T(s);
    }
  return a;
}

/// The exponential kernel exp(-|x_i - x_j|) on x_i = 0.05 i, plus 1 on the diagonal: symmetric
/// positive definite with eigenvalues in [1, 1 + 2 / (e^0.05 - 1) + 1] = [1, ~41], and exactly
/// semi-separable (every off-diagonal block has rank 1: exp(-(x - y)) = e^-x e^y for x > y), so
/// an HSS approximation of any rank >= 1 is exact up to rounding.
double kernel(int64_t i, int64_t j) {
  return std::exp(-0.05 * std::abs(double(i - j))) + (i == j ? 1.0 : 0.0);
}
template <class T>
Dense<T> kernel_matrix(int64_t n) {
  Dense<T> a(n, n);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < n; ++i) a(i, j) = T(kernel(i, j));
  return a;
}

/// Context of the product callback: this rank's rows of a dense A (all columns), and the global
/// rows of each rank for the allgather a real distributed code would do.
template <class T>
struct ProductContext {
  Dense<T> local{0, 0};
  Split split{1, 1};
  int rank = 0;
  int fail_with = 0;  // > 0: the callback returns this on rank 0
  int calls = 0;
};

/// Y = A X (or A^T X; A is symmetric here, so the same) on this rank's rows: X is gathered from
/// every rank's rows (by MPI_Allgatherv, as a user code would), then multiplied by the local rows.
template <class T>
int product(void* context, int trans, int64_t local_rows, int64_t k, const T* x, int64_t ldx, T* y,
            int64_t ldy) {
  auto& c = *static_cast<ProductContext<T>*>(context);
  ++c.calls;
  (void)trans;
  if (local_rows != c.local.rows) return -1;
  const int64_t n = c.local.cols;
  Dense<T> whole(n, k);
  for (int64_t j = 0; j < k; ++j) {
#if STRATA_CAPI_HAVE_MPI
    std::vector<int> counts, displs;
    for (std::size_t r = 0; r + 1 < c.split.begin.size(); ++r) {
      counts.push_back(int(c.split.rows(int(r))));
      displs.push_back(int(c.split.first(int(r))));
    }
    MPI_Allgatherv(x + j * ldx, int(local_rows), sizeof(T) == 8 ? MPI_DOUBLE : MPI_FLOAT,
                   &whole(0, j), counts.data(), displs.data(),
                   sizeof(T) == 8 ? MPI_DOUBLE : MPI_FLOAT, MPI_COMM_WORLD);
#else
    std::copy(x + j * ldx, x + j * ldx + local_rows, &whole(0, j));
#endif
  }
  for (int64_t j = 0; j < k; ++j)
    for (int64_t i = 0; i < local_rows; ++i) {
      T s = 0;
      for (int64_t l = 0; l < n; ++l) s += c.local(i, l) * whole(l, j);
      y[i + j * ldy] = s;
    }
  // A failure after the caller's own collectives, as a real code would report one.
  if (c.fail_with > 0 && c.rank == 0) return c.fail_with;
  return 0;
}

template <class T>
int entries(void* context, int64_t nrows, const int64_t* rows, int64_t ncols, const int64_t* cols,
            T* values, int64_t ldv) {
  if (context != nullptr) return 3;
  for (int64_t j = 0; j < ncols; ++j)
    for (int64_t i = 0; i < nrows; ++i) values[i + j * ldv] = T(kernel(rows[i], cols[j]));
  return 0;
}

std::string last_error() {
  return strata_last_error();
}

// ---- runtime and errors ----------------------------------------------------------------------

TEST(CapiRuntime, InitializeInsideAHostThatInitializedEverything) {
  // The test main initialized MPI and Kokkos: strata_initialize takes them as they are, and
  // strata_finalize leaves them running.
  ASSERT_EQ(strata_initialize(nullptr, nullptr), STRATA_SUCCESS) << last_error();
  EXPECT_EQ(strata_initialize(nullptr, nullptr), STRATA_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("already initialized"), std::string::npos) << last_error();
  EXPECT_EQ(strata_finalize(), STRATA_SUCCESS);
  EXPECT_TRUE(Kokkos::is_initialized());
  EXPECT_EQ(strata_finalize(), STRATA_ERROR_NOT_INITIALIZED);
  EXPECT_NE(last_error().find("not initialized"), std::string::npos) << last_error();
  EXPECT_EQ(strata_have_mpi(), STRATA_HAVE_MPI);
}

TEST(CapiRuntime, ErrorNamesMatchTheCppCodes) {
  EXPECT_STREQ(strata_error_name(STRATA_SUCCESS), "success");
  for (int code = 1; code <= 8; ++code) {
    EXPECT_STREQ(strata_error_name(code),
                 strata::error_code_name(static_cast<strata::ErrorCode>(code)));
  }
  EXPECT_STREQ(strata_error_name(STRATA_ERROR_CALLBACK), "callback failed");
  EXPECT_STREQ(strata_error_name(99), "unknown error code");
}

TEST(CapiErrors, NullPointersBadShapesAndNaN) {
  const Ranks ranks;
  const Split split(40, ranks.size);
  const int64_t m = split.rows(ranks.rank), n = 4;
  auto a = with_singular_values<double>(40, n, {4, 3, 2, 1}).block(split.first(ranks.rank), m);
  Dense<double> q(std::max<int64_t>(m, 1), n);
  strata_polar_info info;

  EXPECT_EQ(strata_d_polar(world(), m, n, nullptr, a.rows, q.data(), q.rows, nullptr, &info),
            STRATA_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("a is a null pointer"), std::string::npos) << last_error();
  EXPECT_EQ(last_error().rfind("strata_d_polar: ", 0), 0u) << last_error();

  EXPECT_EQ(strata_d_polar(world(), m, n, a.data(), 0, q.data(), q.rows, nullptr, &info),
            STRATA_ERROR_SHAPE_MISMATCH);
  EXPECT_NE(last_error().find("leading dimension"), std::string::npos) << last_error();

  // Only one rank passes a bad size: every rank gets the error (no rank is left waiting).
  EXPECT_EQ(strata_d_polar(world(), ranks.rank == ranks.size - 1 ? -1 : m, n, a.data(), a.rows,
                           q.data(), q.rows, nullptr, &info),
            STRATA_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("local_rows must be >= 0"), std::string::npos) << last_error();
  if (ranks.size > 1) {  // ranks that disagree on n (rank 0 passes n - 1 of its n columns)
    EXPECT_EQ(strata_d_polar(world(), m, ranks.rank == 0 ? n - 1 : n, a.data(), a.rows, q.data(),
                             q.rows, nullptr, &info),
              STRATA_ERROR_SHAPE_MISMATCH);
  }

  strata_polar_options options;
  strata_polar_default_options(&options);
  options.method = 17;
  EXPECT_EQ(strata_d_polar(world(), m, n, a.data(), a.rows, q.data(), q.rows, &options, &info),
            STRATA_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("options.method"), std::string::npos) << last_error();

  const double saved = a(0, 1);
  if (ranks.rank == 0) a(0, 1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(strata_d_polar(world(), m, n, a.data(), a.rows, q.data(), q.rows, nullptr, &info),
            STRATA_ERROR_NON_FINITE);
  EXPECT_FALSE(last_error().empty());

  a(0, 1) = saved;
  EXPECT_EQ(strata_d_polar(world(), m, n, a.data(), a.rows, q.data(), q.rows, nullptr, &info),
            STRATA_SUCCESS)
      << last_error();
  EXPECT_EQ(last_error(), "");

  // Replicated functions and bad handles.
  Dense<double> s(3, 3);
  EXPECT_EQ(strata_d_sign(3, s.data(), 2, s.data(), 3, nullptr, nullptr),
            STRATA_ERROR_SHAPE_MISMATCH);
  EXPECT_EQ(strata_d_sqrt(3, s.data(), 3, nullptr, 3, nullptr, 3, nullptr, nullptr),
            STRATA_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("both NULL"), std::string::npos) << last_error();
  EXPECT_EQ(strata_d_hss_matvec(nullptr, 0, 1, s.data(), 3, s.data(), 3),
            STRATA_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("hss (the handle) is a null pointer"), std::string::npos);
  EXPECT_EQ(strata_d_hss_destroy(nullptr), STRATA_SUCCESS);
}

// ---- HSS ---------------------------------------------------------------------------------------

class CapiHss : public ::testing::Test {
 protected:
  static constexpr int64_t n = 300;
  Ranks ranks;
  Split split{n, ranks.size};
  int64_t m = split.rows(ranks.rank);
  Dense<double> a = kernel_matrix<double>(n);
  Dense<double> local = a.block(split.first(ranks.rank), m);

  strata_hss_options fixed_rank_options() const {
    strata_hss_options o;
    strata_hss_default_options(&o);
    o.leaf_size = 32;
    o.rank = 6;
    o.seed = 5;
    return o;
  }
  /// ||H X - A X||_F / ||A X||_F for a few columns, with this rank's rows gathered by the test.
  double matvec_error(strata_d_hss h, int trans) const {
    const int64_t k = 3;
    Dense<double> x(n, k);
    for (int64_t j = 0; j < k; ++j)
      for (int64_t i = 0; i < n; ++i) x(i, j) = std::cos(0.3 * double(i) + j);
    const auto x_local = x.block(split.first(ranks.rank), m);
    Dense<double> y(std::max<int64_t>(m, 1), k);
    EXPECT_EQ(
        strata_d_hss_matvec(h, trans, k, x_local.data(), std::max<int64_t>(m, 1), y.data(), y.rows),
        STRATA_SUCCESS)
        << last_error();
    const auto reference =
        multiply(a, x, trans == STRATA_TRANSPOSE).block(split.first(ranks.rank), m);
    const strata::Comm comm;
    double num = 0, den = 0;
    for (int64_t j = 0; j < k; ++j)
      for (int64_t i = 0; i < m; ++i) {
        num += (y(i, j) - reference(i, j)) * (y(i, j) - reference(i, j));
        den += reference(i, j) * reference(i, j);
      }
    return std::sqrt(comm.allreduce(num, strata::ReduceOp::sum) /
                     comm.allreduce(den, strata::ReduceOp::sum));
  }
};

// The kernel matrix is exactly HSS of rank 1 <= 6 off the diagonal, so every construction
// recovers it up to rounding. Bound: the Levitt-Martinsson pass applies pseudo-inverses of
// Gaussian sample blocks (condition <~ 100 with overwhelming probability for these s x (s - m)
// blocks) on L <= 4 levels to sums of n = 300 products: about L * 100 * n * u ~ 2.7e-11 relative;
// 1e-9 leaves a factor ~40 for the constants, far below any real construction error (~1e-2 for a
// wrong basis).
constexpr double hss_exact_tolerance = 1e-9;

TEST_F(CapiHss, FromProductCallbackMatchesDenseAndCpp) {
  ProductContext<double> context;
  context.local = local;
  context.split = split;
  context.rank = ranks.rank;
  const auto options = fixed_rank_options();
  strata_d_hss h = nullptr;
  strata_hss_info info;
  ASSERT_EQ(
      strata_d_hss_compress_matvec(world(), m, product<double>, &context, &options, &h, &info),
      STRATA_SUCCESS)
      << last_error();
  ASSERT_NE(h, nullptr);
  EXPECT_GT(context.calls, 0);
  EXPECT_EQ(info.rows, n);
  EXPECT_GE(info.levels, 3);
  EXPECT_GE(info.max_rank, 1);
  EXPECT_LE(info.max_rank, 6);
  EXPECT_GT(info.products, 0);
  EXPECT_GT(info.memory_bytes, 0);
  // error_probes = 10 in fixed-rank mode: an estimate of an exact compression.
  EXPECT_GE(info.relative_error_estimate, 0);
  EXPECT_LT(info.relative_error_estimate, hss_exact_tolerance);
  EXPECT_LT(matvec_error(h, STRATA_NO_TRANSPOSE), hss_exact_tolerance);
  EXPECT_LT(matvec_error(h, STRATA_TRANSPOSE), hss_exact_tolerance);

  // The C++ API on the same (replicated) operator, tree and options: the same matrix, so the same
  // products up to rounding (also checked against the dense matrix above).
  strata::Matrix<double> dense("a", n, n);
  {
    auto hd = Kokkos::create_mirror_view(dense);
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < n; ++i) hd(i, j) = a(i, j);
    Kokkos::deep_copy(dense, hd);
  }
  const strata::ExecSpace exec;
  const strata::DenseOperator<double> op(dense);
  strata::hss::CompressOptions cpp;
  cpp.rank = options.rank;
  cpp.seed = static_cast<std::uint64_t>(options.seed);
  const auto tree = strata::hss::ClusterTree::uniform(n, options.leaf_size);
  const auto reference = strata::hss::compress_from_matvecs(exec, op, tree, cpp);
  EXPECT_EQ(reference.products, info.products);
  strata_hss_info stored;
  ASSERT_EQ(strata_d_hss_info(h, &stored), STRATA_SUCCESS);
  EXPECT_EQ(stored.products, info.products);
  EXPECT_EQ(strata_d_hss_destroy(h), STRATA_SUCCESS);
}

TEST_F(CapiHss, FromEntriesAndFromDenseRowsMatchDense) {
  auto options = fixed_rank_options();
  options.rank = 0;
  options.tolerance = 1e-13;  // ID truncation relative to each node's largest pivot
  strata_d_hss from_entries = nullptr, from_dense = nullptr;
  strata_hss_info info;
  ASSERT_EQ(strata_d_hss_compress_entries(world(), m, n, entries<double>, nullptr, &options,
                                          &from_entries, &info),
            STRATA_SUCCESS)
      << last_error();
  EXPECT_EQ(info.products, 0);
  EXPECT_LE(info.max_rank, 6);  // semi-separable: the IDs find rank 2 (one per side) plus rounding
  EXPECT_LT(matvec_error(from_entries, STRATA_NO_TRANSPOSE), hss_exact_tolerance);

  const auto fixed = fixed_rank_options();
  ASSERT_EQ(strata_d_hss_compress_dense(world(), m, n, local.data(), std::max<int64_t>(m, 1),
                                        &fixed, &from_dense, &info),
            STRATA_SUCCESS)
      << last_error();
  EXPECT_LT(matvec_error(from_dense, STRATA_TRANSPOSE), hss_exact_tolerance);

  // The wrong global size, and an entry callback that fails.
  strata_d_hss bad = nullptr;
  EXPECT_EQ(strata_d_hss_compress_dense(world(), m, n + 1, local.data(), std::max<int64_t>(m, 1),
                                        &fixed, &bad, &info),
            STRATA_ERROR_SHAPE_MISMATCH);
  EXPECT_EQ(bad, nullptr);
  int marker = 0;
  EXPECT_EQ(strata_d_hss_compress_entries(world(), m, n, entries<double>, &marker, &options, &bad,
                                          nullptr),
            STRATA_ERROR_CALLBACK);
  EXPECT_NE(last_error().find("entry callback returned 3"), std::string::npos) << last_error();
  EXPECT_EQ(strata_d_hss_destroy(from_entries), STRATA_SUCCESS);
  EXPECT_EQ(strata_d_hss_destroy(from_dense), STRATA_SUCCESS);
}

TEST_F(CapiHss, FactorSolveSaveLoad) {
  const auto options = fixed_rank_options();
  strata_d_hss h = nullptr;
  ASSERT_EQ(strata_d_hss_compress_dense(world(), m, n, local.data(), std::max<int64_t>(m, 1),
                                        &options, &h, nullptr),
            STRATA_SUCCESS)
      << last_error();
  const int64_t k = 2;
  Dense<double> x_true(n, k);
  for (int64_t j = 0; j < k; ++j)
    for (int64_t i = 0; i < n; ++i) x_true(i, j) = 1.0 + std::sin(0.1 * double(i) * (j + 1));
  const auto b = multiply(a, x_true);
  const auto b_local = b.block(split.first(ranks.rank), m);
  const int64_t ld = std::max<int64_t>(m, 1);
  Dense<double> x(ld, k);
  strata_solve_info solve_info;
  EXPECT_EQ(strata_d_hss_solve(h, k, b_local.data(), ld, x.data(), ld, &solve_info),
            STRATA_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("not factored"), std::string::npos) << last_error();
  EXPECT_EQ(strata_d_hss_factor(h, 5), STRATA_ERROR_INVALID_ARGUMENT);
  // (STRATA_ULV_SPD needs V = U, which a construction from products with A and A^T does not
  // give; the general variant factors any nonsingular H.)
  {
    ASSERT_EQ(strata_d_hss_factor(h, STRATA_ULV_GENERAL), STRATA_SUCCESS) << last_error();
    ASSERT_EQ(strata_d_hss_solve(h, k, b_local.data(), ld, x.data(), ld, &solve_info),
              STRATA_SUCCESS)
        << last_error();
    // Forward error <= cond(A) (||A - H|| / ||A|| + backward error of the ULV solve): cond <= 41
    // (kernel_matrix), H exact to 1e-9 at most (above): 41 * 1e-9 < 1e-7.
    const auto expected = x_true.block(split.first(ranks.rank), m);
    double num = 0, den = 0;
    for (int64_t j = 0; j < k; ++j)
      for (int64_t i = 0; i < m; ++i) {
        num += (x(i, j) - expected(i, j)) * (x(i, j) - expected(i, j));
        den += expected(i, j) * expected(i, j);
      }
    const strata::Comm comm;
    EXPECT_LT(std::sqrt(comm.allreduce(num, strata::ReduceOp::sum) /
                        comm.allreduce(den, strata::ReduceOp::sum)),
              1e-7);
    // The residual with H itself: backward stable ULV, c n u ~ 1e-13; 1e-10 bounds it.
    EXPECT_LT(solve_info.residual, 1e-10);
    EXPECT_GE(solve_info.condition_lower_bound, 1.0);
    EXPECT_LE(solve_info.condition_lower_bound, 41.0 * 1.01);
  }

#if STRATA_HAVE_HDF5
  const std::string file = "test_capi_hss_np" + std::to_string(ranks.size) + ".h5";
  ASSERT_EQ(strata_d_hss_save(h, file.c_str()), STRATA_SUCCESS) << last_error();
  // Read back with a different row split: the products are the same.
  const Split other(n, ranks.size, 0);
  strata_d_hss loaded = nullptr;
  ASSERT_EQ(strata_d_hss_load(world(), file.c_str(), other.rows(ranks.rank), &loaded),
            STRATA_SUCCESS)
      << last_error();
  split = other;
  m = other.rows(ranks.rank);
  EXPECT_LT(matvec_error(loaded, STRATA_NO_TRANSPOSE), hss_exact_tolerance);
  strata_d_hss wrong = nullptr;
  EXPECT_EQ(strata_d_hss_load(world(), file.c_str(), m + (ranks.rank == 0 ? 1 : 0), &wrong),
            STRATA_ERROR_SHAPE_MISMATCH);
  EXPECT_EQ(strata_d_hss_load(world(), "no-such-file.h5", m, &wrong), STRATA_ERROR_IO);
  EXPECT_EQ(strata_d_hss_destroy(loaded), STRATA_SUCCESS);
  if (ranks.rank == 0) std::remove(file.c_str());
#else
  EXPECT_EQ(strata_d_hss_save(h, "unused.h5"), STRATA_ERROR_UNSUPPORTED);
#endif
  EXPECT_EQ(strata_d_hss_destroy(h), STRATA_SUCCESS);
}

#if STRATA_HAVE_HDF5
// A file saved by the C++ API on a geometric cluster tree (its permutation far from the identity)
// loads through the C interface in the caller's order and uneven row split: matvec, transpose
// matvec and the ULV solve against the dense matrix of the same generators.
TEST(CapiHssLoad, GeometricTreeFileInCallersOrder) {
  const Ranks ranks;
  const int64_t n = 300, leaf = 24, rank = 5, k = 2;
  const Split split(n, ranks.size);
  const int64_t m = split.rows(ranks.rank), first = split.first(ranks.rank);
  const int64_t ld = std::max<int64_t>(m, 1);
  const strata::ExecSpace exec;
  const strata::Comm comm;
  strata::Matrix<double> points("points", n, 2);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 91, 0}, points);
  const auto tree = strata::hss::ClusterTree::geometric(
      Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), points), leaf);
  ASSERT_FALSE(tree.is_identity());
  const auto h = strata::hss::make_random_hss<double>(exec, tree, rank, 7);
  Dense<double> a(n, n);  // the caller's order
  {
    const auto hd = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(),
                                                        strata::hss::to_dense<double>(exec, h));
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < n; ++i) a(i, j) = hd(i, j);
  }
  const std::string file = "test_capi_geometric_np" + std::to_string(ranks.size) + ".h5";
  strata::hss::save_hss(comm, file, h);
  strata_d_hss loaded = nullptr;
  const int loaded_status = strata_d_hss_load(world(), file.c_str(), m, &loaded);
  if (ranks.rank == 0) std::remove(file.c_str());  // every rank has read it (collective load)
  ASSERT_EQ(loaded_status, STRATA_SUCCESS) << last_error();
  strata_hss_info info;
  ASSERT_EQ(strata_d_hss_info(loaded, &info), STRATA_SUCCESS);
  EXPECT_EQ(info.rows, n);
  EXPECT_EQ(info.levels, tree.levels());
  EXPECT_EQ(info.max_rank, rank);

  // This rank's rows of the computed columns, zero elsewhere, summed over the ranks: the whole
  // n x k result on every rank.
  const auto gather = [&](const Dense<double>& local) {
    Kokkos::View<double**, Kokkos::LayoutLeft, Kokkos::HostSpace> whole("whole", n, k);
    for (int64_t j = 0; j < k; ++j)
      for (int64_t i = 0; i < m; ++i) whole(first + i, j) = local(i, j);
    comm.allreduce(Kokkos::DefaultHostExecutionSpace(), whole, strata::ReduceOp::sum);
    Dense<double> out(n, k);
    for (int64_t j = 0; j < k; ++j)
      for (int64_t i = 0; i < n; ++i) out(i, j) = whole(i, j);
    return out;
  };
  const auto difference = [](const Dense<double>& x, const Dense<double>& y) {
    double s = 0;
    for (std::size_t i = 0; i < x.v.size(); ++i) s += (x.v[i] - y.v[i]) * (x.v[i] - y.v[i]);
    return std::sqrt(s);
  };
  Dense<double> x(n, k);
  for (int64_t j = 0; j < k; ++j)
    for (int64_t i = 0; i < n; ++i) x(i, j) = std::cos(0.3 * double(i) + j);
  const auto x_local = x.block(first, m);
  // Rounding (as in tests/mpi/hss/test_hss_user_order.cpp): the HSS product is a chain of
  // products over the levels whose inner dimensions add up to K = leaf + 2 (L + 1) max(leaf, 2r)
  // with orthonormal bases, so ||fl(H X) - H X||_F <= K u ||H||_F ||X||_F to first order; the dense
  // reference adds n u ||A||_F ||X||_F and to_dense's own rounding K u ||A||_F. Bound:
  // (2 K + n) u ||A||_F ||X||_F.
  const double u = u64 / 2;
  const double chain =
      double(leaf) + 2.0 * (tree.levels() + 1) * std::max<double>(double(leaf), 2.0 * rank);
  const double bound = (2 * chain + n) * u * frobenius(a);
  for (const int trans : {STRATA_NO_TRANSPOSE, STRATA_TRANSPOSE}) {
    SCOPED_TRACE(trans == STRATA_TRANSPOSE ? "A^T X" : "A X");
    Dense<double> y(ld, k);
    ASSERT_EQ(strata_d_hss_matvec(loaded, trans, k, x_local.data(), ld, y.data(), ld),
              STRATA_SUCCESS)
        << last_error();
    EXPECT_LE(difference(gather(y), multiply(a, x, trans == STRATA_TRANSPOSE)),
              bound * frobenius(x));
  }
  // Solve A S = X: the ULV solve is backward stable with the same chain K (Chandrasekaran, Gu &
  // Pals 2006), so ||A S - X||_F <= (2 K + n) u ||A||_F ||S||_F with the dense reference's n u.
  ASSERT_EQ(strata_d_hss_factor(loaded, STRATA_ULV_GENERAL), STRATA_SUCCESS) << last_error();
  Dense<double> s_local(ld, k);
  strata_solve_info solve_info;
  ASSERT_EQ(strata_d_hss_solve(loaded, k, x_local.data(), ld, s_local.data(), ld, &solve_info),
            STRATA_SUCCESS)
      << last_error();
  const auto s = gather(s_local);
  EXPECT_LE(difference(multiply(a, s), x), bound * frobenius(s));
  EXPECT_LE(solve_info.residual * frobenius(x), bound * frobenius(s));
  EXPECT_EQ(strata_d_hss_destroy(loaded), STRATA_SUCCESS);
}
#endif

TEST_F(CapiHss, FailingCallbackOnOneRankFailsEveryRank) {
  ProductContext<double> context;
  context.local = local;
  context.split = split;
  context.rank = ranks.rank;
  context.fail_with = 7;
  const auto options = fixed_rank_options();
  strata_d_hss h = nullptr;
  EXPECT_EQ(
      strata_d_hss_compress_matvec(world(), m, product<double>, &context, &options, &h, nullptr),
      STRATA_ERROR_CALLBACK);
  EXPECT_NE(last_error().find("returned 7"), std::string::npos) << last_error();
  EXPECT_EQ(h, nullptr);
}

TEST_F(CapiHss, SinglePrecision) {
  const auto a32 = kernel_matrix<float>(n);
  const auto local32 = a32.block(split.first(ranks.rank), m);
  ProductContext<float> context;
  context.local = local32;
  context.split = split;
  context.rank = ranks.rank;
  const auto options = fixed_rank_options();
  strata_s_hss h = nullptr;
  ASSERT_EQ(
      strata_s_hss_compress_matvec(world(), m, product<float>, &context, &options, &h, nullptr),
      STRATA_SUCCESS)
      << last_error();
  ASSERT_EQ(strata_s_hss_factor(h, STRATA_ULV_GENERAL), STRATA_SUCCESS) << last_error();
  Dense<float> ones(std::max<int64_t>(m, 1), 1), x(std::max<int64_t>(m, 1), 1),
      back(std::max<int64_t>(m, 1), 1);
  for (auto& v : ones.v) v = 1;
  ASSERT_EQ(strata_s_hss_solve(h, 1, ones.data(), ones.rows, x.data(), x.rows, nullptr),
            STRATA_SUCCESS)
      << last_error();
  ASSERT_EQ(
      strata_s_hss_matvec(h, STRATA_NO_TRANSPOSE, 1, x.data(), x.rows, back.data(), back.rows),
      STRATA_SUCCESS)
      << last_error();
  // H (H^{-1} 1) = 1 up to cond(H) * c * u32: 41 * 1e3 * 1.2e-7 = 5e-3 with a generous c for the
  // construction's pseudo-inverses in single precision.
  double worst = 0;
  for (int64_t i = 0; i < m; ++i) worst = std::max(worst, std::abs(double(back(i, 0)) - 1.0));
  EXPECT_LT(worst, 41 * 1e3 * u32);
  EXPECT_EQ(strata_s_hss_destroy(h), STRATA_SUCCESS);
}

// ---- matrix functions ------------------------------------------------------------------------

TEST(CapiPolar, DistributedPolarFactorIsKnown) {
  const Ranks ranks;
  const int64_t rows = 120, n = 8;
  const Split split(rows, ranks.size);
  const int64_t m = split.rows(ranks.rank), ld = std::max<int64_t>(m, 1);
  const std::vector<double> sigma{10, 7, 5, 4, 3, 2, 1.5, 1};
  const auto a = with_singular_values<double>(rows, n, sigma);
  // polar(U S V^T) = U V^T.
  const auto q_exact = with_singular_values<double>(rows, n, std::vector<double>(n, 1.0));
  const auto a_local = a.block(split.first(ranks.rank), m);
  Dense<double> q(ld, n);
  strata_polar_info info;
  ASSERT_EQ(strata_d_polar(world(), m, n, a_local.data(), ld, q.data(), ld, nullptr, &info),
            STRATA_SUCCESS)
      << last_error();
  EXPECT_TRUE(info.converged);
  EXPECT_GT(info.iterations, 0);
  // The iteration stops at ||Q^T Q - I||_F <= 10 sqrt(n) u; the distance to U V^T is at most
  // cond(A) = 10 times that plus the rounding of the last step: 10 * 10 sqrt(8) u * 10 (margin).
  EXPECT_LE(info.error, 10 * std::sqrt(double(n)) * u64);
  const auto expected = q_exact.block(split.first(ranks.rank), m);
  double worst = 0;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < m; ++i) worst = std::max(worst, std::abs(q(i, j) - expected(i, j)));
  EXPECT_LT(worst, 1000 * std::sqrt(double(n)) * u64);

  // The same as the C++ API on the whole matrix.
  strata::Matrix<double> whole("a", rows, n), q_cpp("q", rows, n);
  auto hw = Kokkos::create_mirror_view(whole);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < rows; ++i) hw(i, j) = a(i, j);
  Kokkos::deep_copy(whole, hw);
  const auto cpp =
      strata::polar::polar_factor(strata::ExecSpace(), strata::ConstMatrix<double>(whole), q_cpp);
  // The same schedule and stopping test; the Gram sums are grouped differently over ranks, so the
  // test at 10 sqrt(n) u may pass one step earlier or later.
  EXPECT_LE(std::abs(cpp.iterations - info.iterations), 1);

  Dense<float> a32(ld, n), q32(ld, n);
  for (std::size_t i = 0; i < a_local.v.size(); ++i) a32.v[i] = float(a_local.v[i]);
  strata_polar_options options;
  strata_polar_default_options(&options);
  ASSERT_EQ(strata_s_polar(world(), m, n, a32.data(), ld, q32.data(), ld, &options, &info),
            STRATA_SUCCESS)
      << last_error();
  worst = 0;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < m; ++i)
      worst = std::max(worst, std::abs(double(q32(i, j)) - expected(i, j)));
  EXPECT_LT(worst, 1000 * std::sqrt(double(n)) * u32);
}

TEST(CapiPolar, SignSqrtAndInverseSqrtOfKnownSpectra) {
  const int64_t n = 12;
  // V diag(lambda) V^T with V the n-point DCT (orthogonal).
  const auto spectral = [&](const std::vector<double>& lambda) {
    Dense<double> a(n, n);
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < n; ++i) {
        double s = 0;
        for (int64_t l = 0; l < n; ++l) s += dct(n, i, l) * lambda[std::size_t(l)] * dct(n, j, l);
        a(i, j) = s;
      }
    return a;
  };
  std::vector<double> lambda(n), signs(n), roots(n), inverse_roots(n), positive(n);
  for (int64_t l = 0; l < n; ++l) {
    lambda[std::size_t(l)] = (l % 2 == 0 ? 1.0 : -1.0) * (1.0 + double(l) / 2);
    signs[std::size_t(l)] = l % 2 == 0 ? 1.0 : -1.0;
    positive[std::size_t(l)] = 1.0 + double(l) * 8.0 / double(n - 1);  // [1, 9]
    roots[std::size_t(l)] = std::sqrt(positive[std::size_t(l)]);
    inverse_roots[std::size_t(l)] = 1.0 / roots[std::size_t(l)];
  }
  const auto a = spectral(lambda);
  Dense<double> s(n, n);
  strata_polar_info info;
  ASSERT_EQ(strata_d_sign(n, a.data(), n, s.data(), n, nullptr, &info), STRATA_SUCCESS)
      << last_error();
  // cond(A) = 6.5; stopping at 10 sqrt(n) u: distance to sign(A) <~ cond * 10 sqrt(n) u * 10.
  EXPECT_LT(relative_difference(s, spectral(signs)), 6.5 * 100 * std::sqrt(double(n)) * u64);

  const auto spd = spectral(positive);
  Dense<double> root(n, n), inverse_root(n, n);
  ASSERT_EQ(strata_d_sqrt(n, spd.data(), n, root.data(), n, inverse_root.data(), n, nullptr, &info),
            STRATA_SUCCESS)
      << last_error();
  // cond(A) = 9, the coupled iteration's error is amplified by at most cond: 9 * 100 sqrt(n) u.
  EXPECT_LT(relative_difference(root, spectral(roots)), 9 * 100 * std::sqrt(double(n)) * u64);
  EXPECT_LT(relative_difference(inverse_root, spectral(inverse_roots)),
            9 * 100 * std::sqrt(double(n)) * u64);
  Dense<double> only_inverse(n, n);
  ASSERT_EQ(strata_d_sqrt(n, spd.data(), n, nullptr, n, only_inverse.data(), n, nullptr, nullptr),
            STRATA_SUCCESS)
      << last_error();
  EXPECT_LT(relative_difference(only_inverse, spectral(inverse_roots)),
            9 * 100 * std::sqrt(double(n)) * u64);

  Dense<float> a32(n, n), s32(n, n);
  for (std::size_t i = 0; i < a.v.size(); ++i) a32.v[i] = float(a.v[i]);
  ASSERT_EQ(strata_s_sign(n, a32.data(), n, s32.data(), n, nullptr, nullptr), STRATA_SUCCESS)
      << last_error();
  EXPECT_LT(relative_difference(s32, spectral(signs)), 6.5 * 100 * std::sqrt(double(n)) * u32);
}

// ---- sketching ---------------------------------------------------------------------------------

TEST(CapiSketch, RandomizedSvdRecoversKnownSingularValues) {
  const Ranks ranks;
  const int64_t rows = 200, n = 12;
  const Split split(rows, ranks.size);
  const int64_t m = split.rows(ranks.rank), ld = std::max<int64_t>(m, 1);
  const std::vector<double> sigma{10, 5, 2, 1, 0.5, 0.25};
  const auto a = with_singular_values<double>(rows, n, sigma);
  const auto a_local = a.block(split.first(ranks.rank), m);
  strata_rsvd_options options;
  strata_rsvd_default_options(&options);
  options.rank = 4;
  const int64_t k = options.rank;
  Dense<double> u(ld, k), v(n, k);
  std::vector<double> s(std::size_t(k), 0.0);
  strata_rsvd_info info;
  ASSERT_EQ(strata_d_rsvd(world(), m, n, a_local.data(), ld, &options, u.data(), ld, s.data(),
                          v.data(), n, &info),
            STRATA_SUCCESS)
      << last_error();
  EXPECT_EQ(info.rank, k);
  EXPECT_GT(info.matvecs, 0);
  // rank(A) = 6 <= l = min(k + p, n) = 12: the range finder captures range(A) exactly, so the
  // computed singular values are those of A up to backward-stable QR and SVD steps: Weyl gives
  // |s_j - sigma_j| <= c u ||A||_2 with c ~ sqrt(n) l; 1e-12 sigma_1 allows c ~ 4500.
  for (int64_t j = 0; j < k; ++j) EXPECT_NEAR(s[std::size_t(j)], sigma[std::size_t(j)], 1e-12 * 10);
  // v is replicated: |v_j| must be the n-point DCT column j up to sign.
  for (int64_t j = 0; j < k; ++j) {
    const double sign = v(0, j) * dct(n, 0, j) > 0 ? 1.0 : -1.0;
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(v(i, j), sign * dct(n, i, j), 1e-11);
  }
  // NaN in the input.
  auto bad = a_local;
  if (m > 0) bad(0, 0) = std::numeric_limits<double>::infinity();
  const int status = strata_d_rsvd(world(), m, n, bad.data(), ld, &options, u.data(), ld, s.data(),
                                   v.data(), n, &info);
  EXPECT_EQ(status, STRATA_ERROR_NON_FINITE) << last_error();
  options.rank = 0;
  EXPECT_EQ(strata_d_rsvd(world(), m, n, a_local.data(), ld, &options, u.data(), ld, s.data(),
                          v.data(), n, &info),
            STRATA_ERROR_INVALID_ARGUMENT);
}

TEST(CapiSketch, SketchApplyMatchesTheMaterializedOperator) {
  const Ranks ranks;
  const int64_t rows = 150, k = 3, d = 20;
  const Split split(rows, ranks.size);
  const int64_t m = split.rows(ranks.rank), ld = std::max<int64_t>(m, 1);
  Dense<double> a(rows, k);
  for (int64_t j = 0; j < k; ++j)
    for (int64_t i = 0; i < rows; ++i) a(i, j) = std::sin(0.7 * double(i) + 2.0 * double(j));
  const auto a_local = a.block(split.first(ranks.rank), m);
  for (const int kind : {STRATA_SKETCH_GAUSSIAN, STRATA_SKETCH_SRHT, STRATA_SKETCH_SPARSE_SIGN}) {
    strata_sketch_options options;
    strata_sketch_default_options(&options);
    options.kind = kind;
    options.rows = d;
    options.seed = 11;
    options.nnz = 4;
    Dense<double> sa(d, k);
    ASSERT_EQ(strata_d_sketch_apply(world(), &options, m, k, a_local.data(), ld, sa.data(), d),
              STRATA_SUCCESS)
        << last_error();
    // The dense S from the C++ API, times A on the host.
    strata::sketch::SketchOperator op;
    op.kind = kind == STRATA_SKETCH_GAUSSIAN ? strata::sketch::OperatorKind::gaussian
              : kind == STRATA_SKETCH_SRHT   ? strata::sketch::OperatorKind::srht
                                             : strata::sketch::OperatorKind::sparse_sign;
    op.rows = d;
    op.cols = rows;
    op.seed = 11;
    op.nnz = 4;
    const auto s_dense = Kokkos::create_mirror_view_and_copy(
        Kokkos::HostSpace(), strata::sketch::materialize<double>(strata::ExecSpace(), op, 0, rows));
    Dense<double> s(d, rows);
    for (int64_t j = 0; j < rows; ++j)
      for (int64_t i = 0; i < d; ++i) s(i, j) = s_dense(i, j);
    // Sums of `rows` products in a different order: relative error <= rows u per entry.
    EXPECT_LT(relative_difference(sa, multiply(s, a)), rows * u64) << "kind " << kind;
  }
  strata_sketch_options options;
  strata_sketch_default_options(&options);  // rows = 0: must be set
  Dense<double> sa(1, k);
  EXPECT_EQ(strata_d_sketch_apply(world(), &options, m, k, a_local.data(), ld, sa.data(), 1),
            STRATA_ERROR_INVALID_ARGUMENT);
}

TEST(CapiSketch, LeastSquaresOfAConsistentSystem) {
  const Ranks ranks;
  const int64_t rows = 240, n = 10, k = 2;
  const Split split(rows, ranks.size);
  const int64_t m = split.rows(ranks.rank), ld = std::max<int64_t>(m, 1);
  std::vector<double> sigma(static_cast<std::size_t>(n));
  for (int64_t l = 0; l < n; ++l) sigma[std::size_t(l)] = 1.0 + 3.0 * double(l);  // cond 28
  const auto a = with_singular_values<double>(rows, n, sigma);
  Dense<double> x_true(n, k);
  for (int64_t j = 0; j < k; ++j)
    for (int64_t i = 0; i < n; ++i) x_true(i, j) = double(i + 1) * (j == 0 ? 1.0 : -0.5);
  const auto b = multiply(a, x_true);
  const auto a_local = a.block(split.first(ranks.rank), m);
  const auto b_local = b.block(split.first(ranks.rank), m);
  for (const int method : {STRATA_LSTSQ_SKETCH_AND_PRECONDITION, STRATA_LSTSQ_SKETCH_AND_SOLVE}) {
    strata_lstsq_options options;
    strata_lstsq_default_options(&options);
    options.method = method;
    Dense<double> x(n, k);
    strata_lstsq_info info;
    ASSERT_EQ(strata_d_least_squares(world(), m, n, a_local.data(), ld, k, b_local.data(), ld,
                                     &options, x.data(), n, &info),
              STRATA_SUCCESS)
        << last_error();
    // b is in range(A), so both methods give x_true (sketch-and-solve: a zero optimal residual
    // stays zero) up to cond(A) = 28 times LSQR's 10 u tolerance / QR rounding: 28 * 1e3 u.
    EXPECT_LT(relative_difference(x, x_true), 28 * 1e3 * u64) << "method " << method;
    EXPECT_TRUE(info.converged);
    EXPECT_LT(info.residual_norm, 1e-10 * frobenius(b));
  }
}

/// Y = diag(d) X with d nonzero on 5 global rows only: a symmetric matrix of rank 5.
struct DiagonalContext {
  int64_t first = 0;
  std::vector<double> d;
};
int diagonal_product(void* context, int, int64_t local_rows, int64_t k, const double* x,
                     int64_t ldx, double* y, int64_t ldy) {
  const auto& c = *static_cast<const DiagonalContext*>(context);
  for (int64_t j = 0; j < k; ++j)
    for (int64_t i = 0; i < local_rows; ++i)
      y[i + j * ldy] = c.d[std::size_t(c.first + i)] * x[i + j * ldx];
  return 0;
}

TEST(CapiSketch, TraceOfALowRankOperatorIsExact) {
  const Ranks ranks;
  const int64_t rows = 200;
  const Split split(rows, ranks.size);
  DiagonalContext context;
  context.first = split.first(ranks.rank);
  context.d.assign(std::size_t(rows), 0.0);
  double trace = 0;
  for (const int64_t i : {3, 50, 99, 150, 199}) {
    context.d[std::size_t(i)] = 1.0 + double(i);
    trace += 1.0 + double(i);
  }
  strata_trace_options options;
  strata_trace_default_options(&options);
  options.matvecs = 30;  // Hutch++: floor(30 / 3) = 10 >= rank 5, so the estimate is exact
  strata_trace_info info;
  ASSERT_EQ(strata_d_estimate_trace(world(), split.rows(ranks.rank), diagonal_product, &context,
                                    &options, &info),
            STRATA_SUCCESS)
      << last_error();
  // Exact up to the orthonormalization and the 10 x 10 projected trace: c u tr with c <~ 100.
  EXPECT_NEAR(info.estimate, trace, 100 * u64 * trace);
  EXPECT_EQ(info.matvecs, 30);
  EXPECT_EQ(strata_d_estimate_trace(world(), split.rows(ranks.rank), diagonal_product, &context,
                                    &options, nullptr),
            STRATA_ERROR_INVALID_ARGUMENT);
}

// The single-precision entry points not covered above, each on a problem with a known answer;
// tolerances are the double-precision ones' derivations with u32 in place of u64.
int diagonal_product32(void* context, int, int64_t local_rows, int64_t k, const float* x,
                       int64_t ldx, float* y, int64_t ldy) {
  const auto& c = *static_cast<const DiagonalContext*>(context);
  for (int64_t j = 0; j < k; ++j)
    for (int64_t i = 0; i < local_rows; ++i)
      y[i + j * ldy] = float(c.d[std::size_t(c.first + i)]) * x[i + j * ldx];
  return 0;
}

TEST(CapiSinglePrecision, RemainingFunctions) {
  const Ranks ranks;
  // HSS from entries and from dense rows: exact to rounding (see hss_exact_tolerance), here
  // L * 100 * n * u32 ~ 1.4e-2 is far too loose; the products of an exact HSS matrix agree to
  // about n u32 ||A|| per entry: 300 * 1.2e-7 = 3.6e-5, and 1e-3 leaves the construction's factor.
  const int64_t n = 300;
  const Split split(n, ranks.size);
  const int64_t m = split.rows(ranks.rank), ld = std::max<int64_t>(m, 1);
  const auto a = kernel_matrix<float>(n);
  const auto local = a.block(split.first(ranks.rank), m);
  strata_hss_options options;
  strata_hss_default_options(&options);
  options.leaf_size = 32;
  options.rank = 6;
  strata_s_hss from_dense = nullptr, from_entries = nullptr;
  ASSERT_EQ(
      strata_s_hss_compress_dense(world(), m, n, local.data(), ld, &options, &from_dense, nullptr),
      STRATA_SUCCESS)
      << last_error();
  ASSERT_EQ(strata_s_hss_compress_entries(world(), m, n, entries<float>, nullptr, &options,
                                          &from_entries, nullptr),
            STRATA_SUCCESS)
      << last_error();
  Dense<float> ones(ld, 1), y1(ld, 1), y2(ld, 1);
  for (auto& v : ones.v) v = 1;
  ASSERT_EQ(strata_s_hss_matvec(from_dense, STRATA_NO_TRANSPOSE, 1, ones.data(), ld, y1.data(), ld),
            STRATA_SUCCESS);
  ASSERT_EQ(
      strata_s_hss_matvec(from_entries, STRATA_NO_TRANSPOSE, 1, ones.data(), ld, y2.data(), ld),
      STRATA_SUCCESS);
  for (int64_t i = 0; i < m; ++i) {
    double row_sum = 0;
    for (int64_t j = 0; j < n; ++j) row_sum += kernel(split.first(ranks.rank) + i, j);
    EXPECT_NEAR(y1(i, 0), row_sum, 1e-3 * row_sum);
    EXPECT_NEAR(y2(i, 0), row_sum, 1e-3 * row_sum);
  }
  EXPECT_EQ(strata_s_hss_destroy(from_dense), STRATA_SUCCESS);
  EXPECT_EQ(strata_s_hss_destroy(from_entries), STRATA_SUCCESS);

  // Square root of diag-like SPD matrix V diag(lambda) V^T: 9 * 100 sqrt(n) u32 (as in double).
  const int64_t k = 6;
  std::vector<double> lambda{1, 2, 4, 5, 8, 9};
  Dense<float> spd(k, k), root(k, k);
  Dense<double> root_exact(k, k);
  for (int64_t j = 0; j < k; ++j)
    for (int64_t i = 0; i < k; ++i) {
      double s = 0, r = 0;
      for (int64_t l = 0; l < k; ++l) {
        s += dct(k, i, l) * lambda[std::size_t(l)] * dct(k, j, l);
        r += dct(k, i, l) * std::sqrt(lambda[std::size_t(l)]) * dct(k, j, l);
      }
      spd(i, j) = float(s);
      root_exact(i, j) = r;
    }
  ASSERT_EQ(strata_s_sqrt(k, spd.data(), k, root.data(), k, nullptr, k, nullptr, nullptr),
            STRATA_SUCCESS)
      << last_error();
  EXPECT_LT(relative_difference(root, root_exact), 9 * 100 * std::sqrt(double(k)) * u32);

  // Randomized SVD of a rank-6 matrix: |s_j - sigma_j| <= 1e-12 / u64 * u32 * sigma_1 (scaled).
  const int64_t rows = 200, cols = 12;
  const Split rsplit(rows, ranks.size);
  const int64_t rm = rsplit.rows(ranks.rank), rld = std::max<int64_t>(rm, 1);
  const std::vector<double> sigma{10, 5, 2, 1, 0.5, 0.25};
  const auto a64 =
      with_singular_values<double>(rows, cols, sigma).block(rsplit.first(ranks.rank), rm);
  Dense<float> a_local(rm, cols);
  for (std::size_t i = 0; i < a64.v.size(); ++i) a_local.v[i] = float(a64.v[i]);
  strata_rsvd_options rsvd_options;
  strata_rsvd_default_options(&rsvd_options);
  rsvd_options.rank = 3;
  Dense<float> u(rld, 3), v(cols, 3);
  std::vector<float> s(3);
  ASSERT_EQ(strata_s_rsvd(world(), rm, cols, a_local.data(), rld, &rsvd_options, u.data(), rld,
                          s.data(), v.data(), cols, nullptr),
            STRATA_SUCCESS)
      << last_error();
  for (int j = 0; j < 3; ++j)
    EXPECT_NEAR(s[std::size_t(j)], sigma[std::size_t(j)], 4500 * u32 * 10);

  // Sketch apply: S A for A = ones, against the C++ materialized S: a sum of `rows` terms of
  // size 1/sqrt(8) errs by at most rows u32 times the sum of their magnitudes.
  strata_sketch_options sketch_options;
  strata_sketch_default_options(&sketch_options);
  sketch_options.rows = 8;
  sketch_options.kind = STRATA_SKETCH_RADEMACHER;
  Dense<float> ones_rows(rld, 1), sa(8, 1);
  for (auto& x : ones_rows.v) x = 1;
  ASSERT_EQ(
      strata_s_sketch_apply(world(), &sketch_options, rm, 1, ones_rows.data(), rld, sa.data(), 8),
      STRATA_SUCCESS)
      << last_error();
  strata::sketch::SketchOperator op;
  op.kind = strata::sketch::OperatorKind::rademacher;
  op.rows = 8;
  op.cols = rows;
  const auto s_dense = Kokkos::create_mirror_view_and_copy(
      Kokkos::HostSpace(), strata::sketch::materialize<double>(strata::ExecSpace(), op, 0, rows));
  for (int64_t i = 0; i < 8; ++i) {
    double row_sum = 0;
    for (int64_t j = 0; j < rows; ++j) row_sum += s_dense(i, j);
    EXPECT_NEAR(sa(i, 0), row_sum, rows * u32 * double(rows) / std::sqrt(8.0));
  }

  // Least squares of a consistent system (cond 5): cond * 1e3 u32.
  Dense<float> b(rld, 1), x(cols, 1);
  std::vector<double> x_true(static_cast<std::size_t>(cols));
  for (int64_t j = 0; j < cols; ++j) x_true[std::size_t(j)] = 1.0 + double(j);
  const auto well =
      with_singular_values<double>(rows, cols, {5, 4, 3, 3, 2, 2, 2, 1.5, 1.5, 1, 1, 1})
          .block(rsplit.first(ranks.rank), rm);
  Dense<float> well32(rm, cols);
  for (std::size_t i = 0; i < well.v.size(); ++i) well32.v[i] = float(well.v[i]);
  for (int64_t i = 0; i < rm; ++i) {
    double sum = 0;
    for (int64_t j = 0; j < cols; ++j) sum += double(well32(i, j)) * x_true[std::size_t(j)];
    b(i, 0) = float(sum);
  }
  ASSERT_EQ(strata_s_least_squares(world(), rm, cols, well32.data(), rld, 1, b.data(), rld, nullptr,
                                   x.data(), cols, nullptr),
            STRATA_SUCCESS)
      << last_error();
  for (int64_t j = 0; j < cols; ++j)
    EXPECT_NEAR(x(j, 0), x_true[std::size_t(j)], 5 * 1e3 * u32 * x_true[std::size_t(j)]);

  // Trace of a rank-5 diagonal operator (exact for Hutch++ with 30 products): 100 u32 tr.
  DiagonalContext context;
  context.first = split.first(ranks.rank);
  context.d.assign(std::size_t(n), 0.0);
  double trace = 0;
  for (const int64_t i : {0, 10, 100, 200, 299}) {
    context.d[std::size_t(i)] = 2.0 + double(i);
    trace += 2.0 + double(i);
  }
  strata_trace_info trace_info;
  ASSERT_EQ(strata_s_estimate_trace(world(), m, diagonal_product32, &context, nullptr, &trace_info),
            STRATA_SUCCESS)
      << last_error();
  EXPECT_NEAR(trace_info.estimate, trace, 100 * u32 * trace);
}

}  // namespace
