// Building blocks of the Krylov solvers: argument checks, inner products summed in double over the
// operator's communicator, and the vector updates (one labelled kernel each, execution space
// first).
#pragma once

#include <cmath>
#include <limits>
#include <string>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/linear_operator.hpp"
#include "strata/krylov/krylov.hpp"

namespace strata::krylov::detail {

/// A single column (n_local x 1) of a block, as the operators take it.
template <class T>
using Column = Matrix<T>;

/// Checks every argument of a solver (collectively when A is distributed): A and M square with
/// equal row and column layouts, M with A's layouts, b and x in A's layout with the same number
/// of columns, the options in range, b (and x with an initial guess) finite.
template <class T>
void check_arguments(const ExecSpace& exec, const LinearOperator<T>& a,
                     const LinearOperator<T>* preconditioner, const DistMatrix<T>& b,
                     const DistMatrix<T>& x, const KrylovOptions& o, const char* what) {
  auto check = [&] {
    STRATA_REQUIRE(a.rows() == a.cols(), ShapeMismatch, what, ": A is ", a.rows(), " x ", a.cols(),
                   "; expected a square matrix");
    STRATA_REQUIRE(a.row_layout() == a.col_layout(), ShapeMismatch, what,
                   ": A distributes its rows and columns differently; expected the same layout "
                   "for both");
    if (preconditioner) {
      STRATA_REQUIRE(preconditioner->rows() == a.rows() && preconditioner->cols() == a.cols() &&
                         preconditioner->row_layout() == a.row_layout() &&
                         preconditioner->col_layout() == a.col_layout(),
                     ShapeMismatch, what, ": the preconditioner is ", preconditioner->rows(), " x ",
                     preconditioner->cols(), " (or distributed differently from A); ", "expected ",
                     a.rows(), " x ", a.cols(), " in A's layout");
    }
    for (const auto* v : {&b, &x}) {
      const char* name = v == &b ? "b" : "x";
      STRATA_REQUIRE(v->layout() == a.col_layout() && v->comm().size() == a.comm().size(),
                     ShapeMismatch, what, ": ", name, " has ", v->global_rows(),
                     " rows (or is distributed differently from A); expected ", a.cols(),
                     " rows in A's layout");
    }
    STRATA_REQUIRE(b.cols() == x.cols(), ShapeMismatch, what, ": b has ", b.cols(),
                   " columns but x has ", x.cols(), "; expected one solution per right-hand side");
    STRATA_REQUIRE(std::isfinite(o.tolerance) && o.tolerance > 0, InvalidArgument, what,
                   ": the tolerance must be a finite number > 0, got ", o.tolerance);
    STRATA_REQUIRE(o.max_iterations >= 1, InvalidArgument, what,
                   ": max_iterations must be >= 1, got ", o.max_iterations);
    STRATA_REQUIRE(o.restart >= 1, InvalidArgument, what, ": restart must be >= 1, got ",
                   o.restart);
    require_finite(exec, b.local(), std::string(what) + ": b");
    if (o.use_initial_guess)
      require_finite(exec, x.local(), std::string(what) + ": x (initial guess)");
  };
  if (a.distributed()) {
    collective(a.comm(), check);
  } else {
    check();
  }
}

/// x . y for local columns x, y, accumulated in double and summed over `comm`.
template <class T>
double dot(const ExecSpace& exec, const Comm& comm, const ConstMatrix<T>& x,
           const ConstMatrix<T>& y) {
  double local = 0;
  Kokkos::parallel_reduce(
      "strata::krylov::dot", Kokkos::RangePolicy<ExecSpace>(exec, 0, x.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i, double& sum) {
        sum += static_cast<double>(x(i, 0)) * static_cast<double>(y(i, 0));
      },
      local);
  return comm.allreduce(local, ReduceOp::sum);
}

template <class T>
double norm(const ExecSpace& exec, const Comm& comm, const ConstMatrix<T>& x) {
  return std::sqrt(dot<T>(exec, comm, x, x));
}

/// y <- y + alpha x.
template <class T>
void add_scaled(const ExecSpace& exec, const Matrix<T>& y, double alpha, const ConstMatrix<T>& x) {
  const T a = static_cast<T>(alpha);
  Kokkos::parallel_for(
      "strata::krylov::add_scaled", Kokkos::RangePolicy<ExecSpace>(exec, 0, y.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) { y(i, 0) += a * x(i, 0); });
}

/// y <- x + beta y.
template <class T>
void scale_and_add(const ExecSpace& exec, const Matrix<T>& y, double beta,
                   const ConstMatrix<T>& x) {
  const T c = static_cast<T>(beta);
  Kokkos::parallel_for(
      "strata::krylov::scale_and_add", Kokkos::RangePolicy<ExecSpace>(exec, 0, y.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) { y(i, 0) = x(i, 0) + c * y(i, 0); });
}

/// y <- alpha x.
template <class T>
void assign_scaled(const ExecSpace& exec, const Matrix<T>& y, double alpha,
                   const ConstMatrix<T>& x) {
  const T a = static_cast<T>(alpha);
  Kokkos::parallel_for(
      "strata::krylov::assign_scaled", Kokkos::RangePolicy<ExecSpace>(exec, 0, y.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) { y(i, 0) = a * x(i, 0); });
}

/// r <- b - r (r holds A x on entry).
template <class T>
void residual_from_product(const ExecSpace& exec, const Matrix<T>& r, const ConstMatrix<T>& b) {
  Kokkos::parallel_for(
      "strata::krylov::residual", Kokkos::RangePolicy<ExecSpace>(exec, 0, r.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) { r(i, 0) = b(i, 0) - r(i, 0); });
}

/// Throws NumericalError (on every rank alike: `value` is a reduced quantity) when a product gave
/// NaN or Inf.
inline void require_finite_value(double value, const char* what, const char* source) {
  STRATA_REQUIRE(std::isfinite(value), NumericalError, what, ": ", source,
                 " gave NaN or Inf; check the operator and the preconditioner for non-finite "
                 "entries or a singular factorization");
}

/// The summary of the columns' results.
void summarize(KrylovResult& result);

/// Runs a one-column solver (`solver.solve(b_j, x_j, j, columns)` returning a ColumnResult) on
/// every column of b and x in turn, appending to `result` (which the solver may also hold), then
/// fences under `label` and summarizes the result.
template <class T, class Solver>
void solve_columns(const ExecSpace& exec, Solver& solver, const DistMatrix<T>& b,
                   const DistMatrix<T>& x, KrylovResult& result, const std::string& label) {
  const int columns = static_cast<int>(b.cols());
  for (int j = 0; j < columns; ++j) {
    const auto bj = Kokkos::subview(b.local(), Kokkos::ALL, Kokkos::make_pair(j, j + 1));
    const auto xj = Kokkos::subview(x.local(), Kokkos::ALL, Kokkos::make_pair(j, j + 1));
    result.columns.push_back(solver.solve(bj, xj, j, columns));
  }
  kx::fence(exec, label);
  summarize(result);
}

}  // namespace strata::krylov::detail
