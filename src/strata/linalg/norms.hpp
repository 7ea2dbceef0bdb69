// Norms (and the trace) of dense views, accumulated in double on the view's execution space.
#pragma once

#include <cmath>

#include "strata/core/types.hpp"

namespace strata::linalg {

/// Sum of the squared entries of a rank-2 view (any layout), in double. One pass, one reduction.
template <class ExecutionSpace, class View>
double sum_of_squares(const ExecutionSpace& exec, const View& a) {
  const auto rows = a.extent(0);
  double sum = 0;
  Kokkos::parallel_reduce(
      "strata::linalg::sum_of_squares",
      Kokkos::RangePolicy<ExecutionSpace>(exec, 0, a.extent(0) * a.extent(1)),
      KOKKOS_LAMBDA(const std::size_t k, double& s) {
        const double v = static_cast<double>(a(k % rows, k / rows));
        s += v * v;
      },
      sum);
  return sum;
}

/// Frobenius norm of a rank-2 view, in double.
template <class ExecutionSpace, class View>
double frobenius_norm(const ExecutionSpace& exec, const View& a) {
  return std::sqrt(sum_of_squares(exec, a));
}

/// Trace of a square rank-2 view, in double.
template <class ExecutionSpace, class View>
double trace(const ExecutionSpace& exec, const View& a) {
  double sum = 0;
  Kokkos::parallel_reduce(
      "strata::linalg::trace", Kokkos::RangePolicy<ExecutionSpace>(exec, 0, a.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i, double& s) { s += static_cast<double>(a(i, i)); }, sum);
  return sum;
}

/// ||G - I||_F of a square rank-2 view G, in double (the distance of a Gram matrix to the
/// identity: the orthogonality error of its factor).
template <class ExecutionSpace, class View>
double distance_to_identity(const ExecutionSpace& exec, const View& g) {
  const std::size_t n = g.extent(0);
  double sum = 0;
  Kokkos::parallel_reduce(
      "strata::linalg::distance_to_identity", Kokkos::RangePolicy<ExecutionSpace>(exec, 0, n * n),
      KOKKOS_LAMBDA(const std::size_t k, double& s) {
        const std::size_t i = k % n, j = k / n;
        const double d = static_cast<double>(g(i, j)) - (i == j ? 1.0 : 0.0);
        s += d * d;
      },
      sum);
  return std::sqrt(sum);
}

}  // namespace strata::linalg
