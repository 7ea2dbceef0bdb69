// Dense, distributed-dense and callback operators agree with the dense reference product, forward
// and transposed, at any rank count; shape errors are raised on every rank.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "strata/dist/linear_operator.hpp"
#include "strata/dist/operations.hpp"
#include "strata/linalg/blas.hpp"
#include "support/allclose.hpp"

namespace {

using strata::testing::AllClose;

template <class T>
class Operators : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Operators, Scalars);

template <class T>
strata::Matrix<T> generate(const strata::RandomStream& s, std::size_t rows, std::size_t cols,
                           strata::index_type row_offset = 0) {
  strata::Matrix<T> m("m", rows, cols);
  strata::fill_random(strata::ExecSpace(), s, m, row_offset, 0);
  return m;
}

// Rows [begin, begin + count) of a replicated matrix, as a new matrix.
template <class T>
strata::Matrix<T> rows_of(const strata::Matrix<T>& m, strata::index_type begin,
                          strata::index_type count) {
  strata::Matrix<T> out("rows", static_cast<std::size_t>(count), m.extent(1));
  Kokkos::deep_copy(out, Kokkos::subview(m,
                                         Kokkos::make_pair(static_cast<std::size_t>(begin),
                                                           static_cast<std::size_t>(begin + count)),
                                         Kokkos::ALL));
  return out;
}

TYPED_TEST(Operators, AllImplementationsAgreeWithTheDenseProduct) {
  using T = TypeParam;
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const std::size_t n = 97, m = 61, k = 5;  // A is n x m
  const strata::RandomStream sa{strata::Distribution::gaussian, 8, 0},
      sx{strata::Distribution::gaussian, 8, 1};
  const auto a = generate<T>(sa, n, m);
  const auto x = generate<T>(sx, m, k);   // for A X
  const auto xt = generate<T>(sx, n, k);  // for A^T X
  strata::Matrix<T> ax("ax", n, k), atx("atx", m, k);
  strata::linalg::gemm(exec, "N", "N", T(1), a, x, T(0), ax);
  strata::linalg::gemm(exec, "T", "N", T(1), a, xt, T(0), atx);
  // The products are sums of m (resp. n) terms of size ~1: rtol 0, atol = gamma * sqrt-ish bound
  // generously taken as len * u * 8 (|a_ij x_j| < 8 with overwhelming probability... summed:
  // |error| <= gamma_len * sum |a||x|, and sum |a||x| <= len * 16 here).
  const double u = std::numeric_limits<T>::epsilon() / 2;
  const double tol_ax = 2.0 * m * u * m * 16, tol_atx = 2.0 * n * u * n * 16;

  const strata::DenseOperator<T> dense(a);
  strata::Matrix<T> y("y", n, k), yt("yt", m, k);
  dense.apply(exec, x, y);
  dense.apply_transpose(exec, xt, yt);
  EXPECT_THAT(y, AllClose(ax, 0.0, tol_ax));
  EXPECT_THAT(yt, AllClose(atx, 0.0, tol_atx));

  // Distributed: rows of A, of X (by the column layout) and of the results on this rank.
  strata::DistMatrix<T> da(comm, n, m);
  strata::fill_random(exec, sa, da);
  const strata::DistDenseOperator<T> dist(da);
  const auto& rows = dist.row_layout();
  const auto& cols = dist.col_layout();
  const int r = comm.rank();
  const auto x_local = rows_of(x, cols.row_begin(r), cols.local_rows(r));
  const auto xt_local = rows_of(xt, rows.row_begin(r), rows.local_rows(r));
  strata::Matrix<T> y_local("y_local", static_cast<std::size_t>(rows.local_rows(r)), k);
  strata::Matrix<T> yt_local("yt_local", static_cast<std::size_t>(cols.local_rows(r)), k);
  dist.apply(exec, x_local, y_local);
  dist.apply_transpose(exec, xt_local, yt_local);
  EXPECT_THAT(y_local, AllClose(rows_of(ax, rows.row_begin(r), rows.local_rows(r)), 0.0, tol_ax));
  EXPECT_THAT(yt_local,
              AllClose(rows_of(atx, cols.row_begin(r), cols.local_rows(r)), 0.0, tol_atx));

  // A callback operator wrapping the dense one.
  const strata::CallbackOperator<T> callback(
      static_cast<strata::index_type>(n), static_cast<strata::index_type>(m),
      [&](const strata::ExecSpace& e, const strata::ConstMatrix<T>& in,
          const strata::Matrix<T>& out) { dense.apply(e, in, out); });
  strata::Matrix<T> yc("yc", n, k);
  callback.apply(exec, x, yc);
  EXPECT_THAT(yc, AllClose(ax, 0.0, tol_ax));
  EXPECT_THROW(callback.apply_transpose(exec, xt, yt), strata::Unsupported);
}

TYPED_TEST(Operators, ShapeErrorsAreCollective) {
  using T = TypeParam;
  const strata::Comm comm;
  const strata::ExecSpace exec;
  strata::DistMatrix<T> da(comm, 40, 30);
  const strata::DistDenseOperator<T> dist(da);
  const int r = comm.rank();
  // Wrong number of rows in X on the last rank only.
  const auto extra = static_cast<std::size_t>(r == comm.size() - 1 ? 1 : 0);
  strata::Matrix<T> x("x", static_cast<std::size_t>(dist.col_layout().local_rows(r)) + extra, 2);
  strata::Matrix<T> y("y", static_cast<std::size_t>(dist.row_layout().local_rows(r)), 2);
  EXPECT_THROW(dist.apply(exec, x, y), strata::ShapeMismatch);
  // Different numbers of vectors in X and Y.
  strata::Matrix<T> y3("y3", static_cast<std::size_t>(dist.row_layout().local_rows(r)), 3);
  strata::Matrix<T> x2("x2", static_cast<std::size_t>(dist.col_layout().local_rows(r)), 2);
  EXPECT_THROW(dist.apply(exec, x2, y3), strata::ShapeMismatch);
  EXPECT_THROW(strata::CallbackOperator<T>(3, 3, {}), strata::InvalidArgument);
  EXPECT_EQ(comm.allreduce(1, strata::ReduceOp::sum), comm.size());
}

}  // namespace
