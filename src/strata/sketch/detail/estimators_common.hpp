// Building blocks shared by the matvec-based estimators (sketch/): blocks of vectors in an
// operator's layout, per-column inner products, and the checks every estimator makes.
#pragma once

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "strata/core/checks.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/linear_operator.hpp"
#include "strata/dist/operations.hpp"

namespace strata::sketch::detail {

/// A zero block of k vectors distributed like the operator's input (its column layout). For a
/// replicated operator this is a whole n x k matrix on a single-rank communicator.
template <class T>
DistMatrix<T> input_block(const LinearOperator<T>& op, index_type k, const std::string& label) {
  return DistMatrix<T>(op.comm(), op.col_layout(), k, label);
}

/// A zero block of k vectors distributed like the operator's output (its row layout).
template <class T>
DistMatrix<T> output_block(const LinearOperator<T>& op, index_type k, const std::string& label) {
  return DistMatrix<T>(op.comm(), op.row_layout(), k, label);
}

/// Y = A X for blocks in the operator's layouts.
template <class T>
void apply(const ExecSpace& exec, const LinearOperator<T>& op, const DistMatrix<T>& x,
           const DistMatrix<T>& y) {
  op.apply(exec, x.local(), y.local());
}

/// Checks (collectively) that `op` is square with the same row and column distribution, which
/// trace and diagonal estimators need so that A's outputs can be fed back as inputs.
template <class T>
void require_square(const LinearOperator<T>& op, const char* what) {
  auto check = [&] {
    STRATA_REQUIRE(op.rows() == op.cols(), ShapeMismatch, what, ": the operator is ", op.rows(),
                   " x ", op.cols(), "; expected a square matrix");
    STRATA_REQUIRE(op.row_layout() == op.col_layout(), InvalidArgument, what,
                   ": the operator distributes its rows and columns differently; expected the "
                   "same layout for both (as a DistDenseOperator with the default column layout "
                   "has)");
    STRATA_REQUIRE(op.rows() > 0, InvalidArgument, what, ": the operator is empty (0 x 0)");
  };
  if (op.distributed()) {
    collective(op.comm(), check);
  } else {
    check();
  }
}

/// d_j = x_j . y_j per column, summed over the ranks (dist/operations.hpp).
using ::strata::column_dots;

/// Sample standard deviation of the mean of `values` (sqrt of the unbiased variance / count);
/// NaN with fewer than two values.
inline double standard_error_of_mean(const std::vector<double>& values) {
  const auto count = static_cast<double>(values.size());
  if (values.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  double mean = 0;
  for (const double v : values) mean += v;
  mean /= count;
  double ss = 0;
  for (const double v : values) ss += (v - mean) * (v - mean);
  return std::sqrt(ss / (count - 1) / count);
}

/// Throws NonFiniteInput (agreed over the operator's ranks) if the block y holds NaN or Inf: the
/// operator produced non-finite values from finite probes.
template <class T>
void require_finite_products(const ExecSpace& exec, const LinearOperator<T>& op,
                             const DistMatrix<T>& y, const char* what) {
  auto check = [&] {
    require_finite(exec, y.local(),
                   std::string(what) + ": the products of the operator with the random probes");
  };
  if (op.distributed()) {
    collective(op.comm(), check);
  } else {
    check();
  }
}

}  // namespace strata::sketch::detail
