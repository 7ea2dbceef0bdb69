// Distributed basics against a serial reference computed on every rank from the same random matrix:
// results must equal the single-rank ones to rounding at any rank count.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "support/allclose.hpp"

namespace {

using strata::testing::AllClose;

template <class T>
class DistOperations : public ::testing::Test {
 protected:
  // Unit roundoff of T.
  static double u() { return std::numeric_limits<T>::epsilon() / 2; }
};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(DistOperations, Scalars);

template <class T>
strata::HostMatrix<T> whole(const strata::RandomStream& s, std::size_t rows, std::size_t cols) {
  strata::Matrix<T> w("w", rows, cols);
  strata::fill_random(strata::ExecSpace(), s, w);
  return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), w);
}

TYPED_TEST(DistOperations, InnerProductMatchesTheSerialReference) {
  using T = TypeParam;
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const std::size_t n = 517, p = 13, q = 6;
  const strata::RandomStream sx{strata::Distribution::gaussian, 1, 0},
      sy{strata::Distribution::gaussian, 1, 1};
  strata::DistMatrix<T> x(comm, n, p), y(comm, n, q);
  strata::fill_random(exec, sx, x);
  strata::fill_random(exec, sy, y);
  strata::Matrix<T> c("c", p, q);
  strata::inner_product(exec, x, y, c);
  const auto hx = whole<T>(sx, n, p), hy = whole<T>(sy, n, q);
  const auto hc = strata::testing::to_host(c);
  // The distributed sum is the local sums (any order) then the allreduce: the same gamma_n |X|^T|Y|
  // bound as a serial dot product (Higham eq. 3.5) holds for any rank count.
  const double gamma = n * TestFixture::u() / (1 - n * TestFixture::u());
  for (std::size_t j = 0; j < q; ++j)
    for (std::size_t i = 0; i < p; ++i) {
      long double exact = 0, magnitude = 0;
      for (std::size_t k = 0; k < n; ++k) {
        exact += static_cast<long double>(hx(k, i)) * hy(k, j);
        magnitude += std::fabs(static_cast<long double>(hx(k, i)) * hy(k, j));
      }
      EXPECT_LE(std::fabs(static_cast<double>(hc(i, j) - exact)),
                gamma * static_cast<double>(magnitude))
          << "(" << i << ", " << j << ")";
    }
  // Replicated: every rank holds bitwise the same C.
  strata::Matrix<T> root_c("root_c", p, q);
  Kokkos::deep_copy(root_c, c);
  comm.broadcast(exec, root_c, 0);
  EXPECT_THAT(c, AllClose(root_c, 0.0, 0.0));
}

TYPED_TEST(DistOperations, MultiplyReplicatedAndFrobeniusNorm) {
  using T = TypeParam;
  const strata::Comm comm;
  const strata::ExecSpace exec;
  const std::size_t n = 211, p = 7, q = 4;
  const strata::RandomStream sx{strata::Distribution::gaussian, 2, 0},
      sb{strata::Distribution::rademacher, 2, 1};
  strata::DistMatrix<T> x(comm, n, p), y(comm, n, q);
  strata::fill_random(exec, sx, x);
  strata::Matrix<T> b("b", p, q);
  strata::fill_random(exec, sb, b);
  strata::multiply_replicated<T>(exec, x, b, y);
  const auto hx = whole<T>(sx, n, p);
  const auto hb = whole<T>(sb, p, q);
  strata::HostMatrix<T> expected("e", y.local().extent(0), q);
  for (std::size_t j = 0; j < q; ++j)
    for (std::size_t i = 0; i < expected.extent(0); ++i) {
      long double s = 0;
      for (std::size_t k = 0; k < p; ++k)
        s += static_cast<long double>(hx(y.row_begin() + i, k)) * hb(k, j);
      expected(i, j) = static_cast<T>(s);
    }
  // |B| = 1 entry-wise: error <= gamma_p sum_k |x_ik|, below p * u * max|x| * p; use rtol = 0 and
  // atol = gamma_p * p * max|x| with max|x| < 6 for these Gaussian draws.
  const double atol = p * p * 6.0 * TestFixture::u() * 1.01;
  EXPECT_THAT(y.local(), AllClose(expected, 0.0, atol));

  long double sum = 0;
  for (std::size_t j = 0; j < p; ++j)
    for (std::size_t i = 0; i < n; ++i) sum += static_cast<long double>(hx(i, j)) * hx(i, j);
  const double norm = static_cast<double>(strata::frobenius_norm(exec, x));
  // The sum of N = n p squares is accumulated in double: relative error <= gamma_N (Higham
  // eq. 3.5), halved by the square root, plus the rounding of the result to T.
  const double exact = std::sqrt(static_cast<double>(sum));
  const double gamma = n * p * std::numeric_limits<double>::epsilon() / 2;
  EXPECT_NEAR(norm, exact, (gamma + 2 * TestFixture::u()) * exact);
}

TYPED_TEST(DistOperations, MismatchedShapesFailOnEveryRank) {
  using T = TypeParam;
  const strata::Comm comm;
  const strata::ExecSpace exec;
  strata::DistMatrix<T> x(comm, 50, 3), y(comm, 51, 3);
  strata::Matrix<T> c("c", 3, 3), wrong("w", 2, 3);
  EXPECT_THROW(strata::inner_product(exec, x, y, c), strata::ShapeMismatch);
  EXPECT_THROW(strata::inner_product(exec, x, x, wrong), strata::ShapeMismatch);
  // Only the last rank passes a local block with the wrong number of rows: every rank throws.
  const auto layout = x.layout();
  strata::Matrix<T> local("local",
                          static_cast<std::size_t>(layout.local_rows(comm.rank()) +
                                                   (comm.rank() == comm.size() - 1 ? 1 : 0)),
                          3);
  EXPECT_THROW(strata::allgather_rows<T>(exec, comm, layout, local), strata::ShapeMismatch);
  EXPECT_EQ(comm.allreduce(1, strata::ReduceOp::sum), comm.size());  // still in step
}

}  // namespace
