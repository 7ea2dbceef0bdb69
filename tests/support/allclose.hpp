// numpy-style allclose for Kokkos views, as a gmock matcher that reports the worst entries.
//
//   EXPECT_THAT(actual, AllClose(expected, rtol, atol));
//
// passes when |actual - expected| <= atol + rtol * |expected| entry-wise (numpy semantics), shapes
// are equal and no entry is NaN unless the expected one is NaN too. Views may live in any memory
// space.
#pragma once

#include <gmock/gmock.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include <Kokkos_Core.hpp>

namespace strata::testing {

/// A host copy of `v` that never aliases it (create_mirror_view would alias host views).
template <class View>
auto to_host(const View& v) {
  // Host copy with the same extents, always contiguous. A strided device subview cannot be copied
  // across spaces directly (and Kokkos 4's LayoutLeft carries the parent's stride), so it is
  // packed on the device first.
  using Layout = typename View::array_layout;
  using Data = typename View::non_const_data_type;
  constexpr int rank = static_cast<int>(View::rank);
  static_assert(rank >= 1 && rank <= 3, "to_host: views of rank 1, 2 or 3");
  auto make = [&](auto space, const char* label) {
    using Space = decltype(space);
    if constexpr (rank == 1) {
      return Kokkos::View<Data, Layout, Space>(std::string(label), v.extent(0));
    } else if constexpr (rank == 2) {
      return Kokkos::View<Data, Layout, Space>(std::string(label), v.extent(0), v.extent(1));
    } else {
      return Kokkos::View<Data, Layout, Space>(std::string(label), v.extent(0), v.extent(1),
                                               v.extent(2));
    }
  };
  auto h = make(Kokkos::HostSpace(), "strata::testing::to_host");
  if (v.span_is_contiguous() ||
      Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename View::memory_space>::accessible) {
    Kokkos::deep_copy(h, v);
  } else {
    auto packed = make(typename View::memory_space(), "strata::testing::to_host_packed");
    Kokkos::deep_copy(packed, v);
    Kokkos::deep_copy(h, packed);
  }
  return h;
}

struct Mismatch {
  std::size_t i, j;
  double actual, expected, excess;
};

template <class ActualHost, class ExpectedHost>
bool compare_allclose(const ActualHost& a, const ExpectedHost& e, double rtol, double atol,
                      std::ostream& out) {
  constexpr int rank = static_cast<int>(ActualHost::rank);
  static_assert(rank == 1 || rank == 2, "AllClose: rank-1 or rank-2 views");
  if (a.extent(0) != e.extent(0) || (rank == 2 && a.extent(1) != e.extent(1))) {
    out << "shape " << a.extent(0) << " x " << (rank == 2 ? a.extent(1) : 1)
        << " differs from expected " << e.extent(0) << " x " << (rank == 2 ? e.extent(1) : 1);
    return false;
  }
  const std::size_t rows = a.extent(0), cols = rank == 2 ? a.extent(1) : 1;
  std::vector<Mismatch> bad;
  for (std::size_t j = 0; j < cols; ++j) {
    for (std::size_t i = 0; i < rows; ++i) {
      double x, y;
      if constexpr (rank == 2) {
        x = static_cast<double>(a(i, j));
        y = static_cast<double>(e(i, j));
      } else {
        x = static_cast<double>(a(i));
        y = static_cast<double>(e(i));
      }
      const bool both_nan = std::isnan(x) && std::isnan(y);
      const double allowed = atol + rtol * std::abs(y);
      const double diff = std::abs(x - y);
      if (!both_nan && !(diff <= allowed))
        bad.push_back({i, j, x, y, std::isnan(diff) ? INFINITY : diff - allowed});
    }
  }
  if (bad.empty()) return true;
  std::sort(bad.begin(), bad.end(),
            [](const Mismatch& p, const Mismatch& q) { return p.excess > q.excess; });
  out << bad.size() << " of " << rows * cols << " entries differ (rtol=" << rtol
      << ", atol=" << atol << "); worst:";
  for (std::size_t k = 0; k < std::min<std::size_t>(bad.size(), 5); ++k) {
    const auto& m = bad[k];
    out << "\n  (" << m.i << ", " << m.j << "): actual " << m.actual << ", expected " << m.expected
        << ", |diff| " << std::abs(m.actual - m.expected) << " > allowed "
        << atol + rtol * std::abs(m.expected);
  }
  return false;
}

MATCHER_P3(AllClose, expected, rtol, atol, "") {
  const auto a = to_host(arg);
  const auto e = to_host(expected);
  std::ostringstream out;
  const bool ok = compare_allclose(a, e, static_cast<double>(rtol), static_cast<double>(atol), out);
  if (!ok) *result_listener << out.str();
  return ok;
}

/// ||A - B||_F / ||B||_F computed in double on the host.
template <class A, class B>
double relative_frobenius_error(const A& actual, const B& expected) {
  const auto a = to_host(actual);
  const auto e = to_host(expected);
  double num = 0, den = 0;
  for (std::size_t j = 0; j < e.extent(1); ++j) {
    for (std::size_t i = 0; i < e.extent(0); ++i) {
      const double d = static_cast<double>(a(i, j)) - static_cast<double>(e(i, j));
      num += d * d;
      den += static_cast<double>(e(i, j)) * static_cast<double>(e(i, j));
    }
  }
  return std::sqrt(num) / std::sqrt(den);
}

}  // namespace strata::testing
