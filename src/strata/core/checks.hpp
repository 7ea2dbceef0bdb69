// Argument checks shared by public entry points: shapes, emptiness, finiteness.
#pragma once

#include <string>

#include "strata/core/error.hpp"
#include "strata/core/kokkos_ext/math.hpp"
#include "strata/core/types.hpp"

namespace strata {

/// Throws ShapeMismatch unless `view` is rows x cols.
template <class View>
void require_shape(const View& view, index_type rows, index_type cols, const std::string& what) {
  const auto r = static_cast<index_type>(view.extent(0));
  const auto c = static_cast<index_type>(view.extent(1));
  if (r != rows || c != cols) {
    STRATA_THROW(ShapeMismatch, what, " has shape ", r, " x ", c, ", expected ", rows, " x ", cols);
  }
}

/// Throws InvalidArgument if any extent of `view` is zero.
template <class View>
void require_nonempty(const View& view, const std::string& what) {
  if (view.size() == 0) {
    std::string shape;
    for (int d = 0; d < static_cast<int>(View::rank); ++d) {
      shape += (d ? " x " : "") + std::to_string(view.extent(d));
    }
    STRATA_THROW(InvalidArgument, what, " is empty (shape ", shape,
                 "); expected at least one entry");
  }
}

/// Number of NaN/Inf entries of a rank-1 or rank-2 view, counted on the view's execution space.
template <class ExecutionSpace, class View>
index_type count_non_finite(const ExecutionSpace& exec, const View& view) {
  index_type bad = 0;
  if constexpr (static_cast<int>(View::rank) == 1) {
    Kokkos::parallel_reduce(
        "strata::core::count_non_finite",
        Kokkos::RangePolicy<ExecutionSpace>(exec, 0, view.extent(0)),
        KOKKOS_LAMBDA(const std::size_t i, index_type& n) { n += kx::isfinite(view(i)) ? 0 : 1; },
        bad);
  } else {
    static_assert(static_cast<int>(View::rank) == 2, "count_non_finite: rank-1 or rank-2 views");
    const auto rows = view.extent(0);
    Kokkos::parallel_reduce(
        "strata::core::count_non_finite",
        Kokkos::RangePolicy<ExecutionSpace>(exec, 0, view.extent(0) * view.extent(1)),
        KOKKOS_LAMBDA(const std::size_t k, index_type& n) {
          n += kx::isfinite(view(k % rows, k / rows)) ? 0 : 1;
        },
        bad);
  }
  return bad;
}

/// Throws NonFiniteInput if `view` holds NaN or Inf. Costs one pass over the data.
template <class ExecutionSpace, class View>
void require_finite(const ExecutionSpace& exec, const View& view, const std::string& what) {
  const index_type bad = count_non_finite(exec, view);
  if (bad != 0) {
    STRATA_THROW(NonFiniteInput, what, " contains ", bad,
                 " NaN or Inf entries; expected finite numbers");
  }
}

/// Converts a 64-bit size to int for BLAS/MPI, throwing if it does not fit.
inline int checked_int(index_type value, const char* what) {
  if (value < 0 || value > static_cast<index_type>(std::numeric_limits<int>::max())) {
    STRATA_THROW(
        InvalidArgument, what, " = ", value,
        " does not fit in a 32-bit int as BLAS/MPI need; split the problem over more ranks");
  }
  return static_cast<int>(value);
}

}  // namespace strata
