// Distributed sketches equal the single-rank ones to rounding at 1, 2 and 4 ranks, for every
// operator kind, on balanced and uneven block-row layouts (including ranks with no rows, and
// boundaries that are not aligned to powers of two, which exercises the dyadic split of the SRHT
// and the Hadamard rotation), for DistMatrix and LinearOperator inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/linear_operator.hpp"
#include "strata/dist/operations.hpp"
#include "strata/sketch/operator.hpp"
#include "support/allclose.hpp"

namespace {

using strata::BlockRowLayout;
using strata::Comm;
using strata::DistMatrix;
using strata::HostMatrix;
using strata::index_type;
using strata::Matrix;
namespace sk = strata::sketch;
using sk::OperatorKind;

sk::SketchOperator make(OperatorKind kind, index_type d, index_type n) {
  sk::SketchOperator op;
  op.kind = kind;
  op.rows = d;
  op.cols = n;
  op.seed = 2024;
  op.stream = 1;
  op.nnz = 3;
  return op;
}

struct Case {
  OperatorKind kind;
  index_type d, n;
};

std::vector<Case> cases() {
  return {{OperatorKind::gaussian, 9, 203},   {OperatorKind::rademacher, 6, 203},
          {OperatorKind::srht, 17, 203},      {OperatorKind::srht, 256, 256},
          {OperatorKind::hadamard, 256, 203}, {OperatorKind::sparse_sign, 11, 203}};
}

// Uneven layout over the communicator: rank r gets (r % 3) * 37 + 5 rows, the last rank the rest
// (a rank may get none when the total is small).
BlockRowLayout uneven(index_type n, int ranks) {
  std::vector<index_type> counts(static_cast<std::size_t>(ranks));
  index_type used = 0;
  for (int r = 0; r + 1 < ranks; ++r) {
    counts[static_cast<std::size_t>(r)] = std::min<index_type>((r % 3) * 37 + 5, n - used);
    used += counts[static_cast<std::size_t>(r)];
  }
  counts.back() = n - used;
  return BlockRowLayout::from_counts(counts);
}

// Entrywise bound for a sum over n terms: |fl(S A) - S A|_ic <= gamma ||S(i,:)||_2 ||A(:,c)||_2
// with gamma = 2 (n + 2 log2 N + 2) u (summation order and FWHT depth differ between layouts).
HostMatrix<double> bound(const sk::SketchOperator& op, const HostMatrix<double>& a) {
  const auto s =
      strata::testing::to_host(sk::materialize<double>(strata::ExecSpace(), op, 0, op.cols));
  const double gamma = 2 * (op.cols + 2 * std::log2(static_cast<double>(op.padded_cols())) + 2) *
                       std::numeric_limits<double>::epsilon() / 2;
  HostMatrix<double> out("bound", s.extent(0), a.extent(1));
  for (std::size_t c = 0; c < a.extent(1); ++c) {
    double na = 0;
    for (std::size_t j = 0; j < a.extent(0); ++j) na += a(j, c) * a(j, c);
    for (std::size_t i = 0; i < s.extent(0); ++i) {
      double ns = 0;
      for (std::size_t j = 0; j < s.extent(1); ++j) ns += s(i, j) * s(i, j);
      out(i, c) = gamma * std::sqrt(ns * na);
    }
  }
  return out;
}

void expect_within(const HostMatrix<double>& got, const HostMatrix<double>& want,
                   const HostMatrix<double>& tol, const char* what) {
  // EXPECT (not ASSERT) throughout: a rank that returned early would leave the others waiting in
  // the next collective.
  EXPECT_EQ(got.extent(0), want.extent(0));
  EXPECT_EQ(got.extent(1), want.extent(1));
  if (got.extent(0) != want.extent(0) || got.extent(1) != want.extent(1)) return;
  for (std::size_t j = 0; j < got.extent(1); ++j)
    for (std::size_t i = 0; i < got.extent(0); ++i)
      EXPECT_LE(std::abs(got(i, j) - want(i, j)), tol(i, j) + 1e-300)
          << what << " (" << i << ", " << j << ")";
}

TEST(DistributedSketch, RowsEqualSingleRank) {
  const Comm comm;
  const strata::ExecSpace exec;
  const index_type k = 5;
  for (const auto& c : cases()) {
    const auto op = make(c.kind, c.d, c.n);
    Matrix<double> a("a", static_cast<std::size_t>(c.n), static_cast<std::size_t>(k));
    strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 77, 0}, a);
    Matrix<double> ref("ref", static_cast<std::size_t>(c.d), static_cast<std::size_t>(k));
    sk::sketch_rows<double>(exec, op, a, ref);
    const auto ah = strata::testing::to_host(a);
    const auto tol = bound(op, ah);
    for (const auto& layout : {BlockRowLayout(c.n, comm.size()), uneven(c.n, comm.size())}) {
      DistMatrix<double> ad(comm, layout, k);
      strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 77, 0}, ad);
      Matrix<double> sa("sa", static_cast<std::size_t>(c.d), static_cast<std::size_t>(k));
      sk::sketch_rows<double>(exec, op, ad, sa);
      expect_within(strata::testing::to_host(sa), strata::testing::to_host(ref), tol,
                    sk::operator_name(c.kind));
    }
  }
}

TEST(DistributedSketch, ColumnsAreLocalRowsOfTheSingleRankResult) {
  const Comm comm;
  const strata::ExecSpace exec;
  const index_type m = 23;
  for (const auto& c : cases()) {
    const auto op = make(c.kind, c.d, c.n);
    Matrix<double> a("a", static_cast<std::size_t>(m), static_cast<std::size_t>(c.n));
    strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 5, 0}, a);
    Matrix<double> ref("ref", static_cast<std::size_t>(m), static_cast<std::size_t>(c.d));
    sk::sketch_columns<double>(exec, op, a, ref);
    DistMatrix<double> ad(comm, uneven(m, comm.size()), c.n), out(comm, ad.layout(), c.d);
    strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 5, 0}, ad);
    sk::sketch_columns<double>(exec, op, ad, out);
    const auto got = strata::testing::to_host(out.local());
    const auto want = strata::testing::to_host(ref);
    // (A S^T)^T = S A^T: the bound of RowsEqualSingleRank applied to A^T (the BLAS may block
    // differently for a different number of rows, so equality is to rounding, not bitwise).
    const auto ah = strata::testing::to_host(a);
    HostMatrix<double> at("at", ah.extent(1), ah.extent(0));
    for (std::size_t j = 0; j < ah.extent(1); ++j)
      for (std::size_t i = 0; i < ah.extent(0); ++i) at(j, i) = ah(i, j);
    const auto tol = bound(op, at);
    for (index_type j = 0; j < c.d; ++j)
      for (index_type i = 0; i < ad.local_rows(); ++i)
        EXPECT_LE(std::abs(got(i, j) - want(ad.row_begin() + i, j)),
                  tol(j, ad.row_begin() + i) + 1e-300)
            << sk::operator_name(c.kind);
  }
}

TEST(DistributedSketch, LinearOperatorMatchesDense) {
  const Comm comm;
  const strata::ExecSpace exec;
  const index_type m = 203, n = 31;
  Matrix<double> a("a", static_cast<std::size_t>(m), static_cast<std::size_t>(n));
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 8, 0}, a);
  DistMatrix<double> ad(comm, uneven(m, comm.size()), n);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 8, 0}, ad);
  const strata::DistDenseOperator<double> op_dist(ad);
  const strata::DenseOperator<double> op_dense(a);
  for (const auto& c : cases()) {
    // S A: S is d x m.
    const auto op = make(c.kind, c.d, m);
    Matrix<double> ref("ref", static_cast<std::size_t>(c.d), static_cast<std::size_t>(n));
    sk::sketch_rows<double>(exec, op, a, ref);
    const auto tol = bound(op, strata::testing::to_host(a));
    for (const strata::LinearOperator<double>* A :
         {static_cast<const strata::LinearOperator<double>*>(&op_dist),
          static_cast<const strata::LinearOperator<double>*>(&op_dense)}) {
      Matrix<double> sa("sa", static_cast<std::size_t>(c.d), static_cast<std::size_t>(n));
      sk::sketch_rows<double>(exec, op, *A, sa);
      expect_within(strata::testing::to_host(sa), strata::testing::to_host(ref), tol,
                    sk::operator_name(c.kind));
    }
    // A S^T: S is d' x n (n = 31 columns of A).
    const auto op_r =
        make(c.kind, c.kind == OperatorKind::hadamard ? 32 : std::min<index_type>(c.d, 32), n);
    Matrix<double> ref_r("ref_r", static_cast<std::size_t>(m), static_cast<std::size_t>(op_r.rows));
    sk::sketch_columns<double>(exec, op_r, a, ref_r);
    Matrix<double> as("as", static_cast<std::size_t>(ad.local_rows()),
                      static_cast<std::size_t>(op_r.rows));
    sk::sketch_columns<double>(exec, op_r, op_dist, as);
    const auto got = strata::testing::to_host(as);
    const auto want = strata::testing::to_host(ref_r);
    const auto ah = strata::testing::to_host(a);
    HostMatrix<double> at("at", ah.extent(1), ah.extent(0));
    for (std::size_t j = 0; j < ah.extent(1); ++j)
      for (std::size_t i = 0; i < ah.extent(0); ++i) at(j, i) = ah(i, j);
    const auto tol_r = bound(op_r, at);
    for (index_type j = 0; j < op_r.rows; ++j)
      for (index_type i = 0; i < ad.local_rows(); ++i)
        EXPECT_LE(std::abs(got(i, j) - want(ad.row_begin() + i, j)),
                  tol_r(j, ad.row_begin() + i) + 1e-300)
            << sk::operator_name(c.kind);
  }
}

TEST(DistributedSketch, ErrorsAreAgreedOnAllRanks) {
  const Comm comm;
  const strata::ExecSpace exec;
  DistMatrix<double> a(comm, 100, 3);
  Matrix<double> sa("sa", 10, 3);
  EXPECT_THROW(sk::sketch_rows<double>(exec, make(OperatorKind::gaussian, 10, 99), a, sa),
               strata::ShapeMismatch);
  auto no_pad = make(OperatorKind::hadamard, 128, 100);
  no_pad.pad = false;
  Matrix<double> sa2("sa2", 128, 3);
  EXPECT_THROW(sk::sketch_rows<double>(exec, no_pad, a, sa2), strata::InvalidArgument);
  // A NaN on the last rank only: every rank throws NonFiniteInput.
  if (comm.rank() == comm.size() - 1 && a.local_rows() > 0) {
    auto h = Kokkos::create_mirror_view(a.local());
    Kokkos::deep_copy(h, a.local());
    h(0, 0) = std::numeric_limits<double>::infinity();
    Kokkos::deep_copy(a.local(), h);
  }
  EXPECT_THROW(sk::sketch_rows<double>(exec, make(OperatorKind::srht, 10, 100), a, sa),
               strata::NonFiniteInput);
}

}  // namespace
