// Dense BLAS-3 building block with the execution-space instance first and shape checks.
#pragma once

#include <algorithm>
#include <string>
#include <type_traits>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/blas.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/core/kokkos_ext/spaces.hpp"
#include "strata/linalg/detail/host_gemm.hpp"

namespace strata::linalg {

namespace detail {
/// True when gemm on ExecutionSpace takes the host path of host_gemm.hpp: a threaded Kokkos host
/// backend and float/double column-major views.
template <class ExecutionSpace, class AView, class BView, class CView>
constexpr bool takes_host_gemm() {
  using T = typename CView::non_const_value_type;
  constexpr bool real = std::is_same_v<T, float> || std::is_same_v<T, double>;
  constexpr bool same_type = std::is_same_v<typename AView::non_const_value_type, T> &&
                             std::is_same_v<typename BView::non_const_value_type, T>;
  constexpr bool column_major = std::is_same_v<typename AView::array_layout, Kokkos::LayoutLeft> &&
                                std::is_same_v<typename BView::array_layout, Kokkos::LayoutLeft> &&
                                std::is_same_v<typename CView::array_layout, Kokkos::LayoutLeft>;
  constexpr bool on_host = kx::host_accessible<typename AView::memory_space> &&
                           kx::host_accessible<typename BView::memory_space> &&
                           kx::host_accessible<typename CView::memory_space>;
  return std::is_same_v<ExecutionSpace, HostExecSpace> && kx::threaded_host<ExecutionSpace> &&
         real && same_type && column_major && on_host;
}

}  // namespace detail

/// C = alpha op(A) op(B) + beta C, op = "N" or "T". Dispatches to Kokkos Kernels (and through it to
/// the vendor BLAS: OpenBLAS, cuBLAS, rocBLAS). Throws ShapeMismatch on inconsistent extents.
template <class ExecutionSpace, class AView, class BView, class CView>
void gemm(const ExecutionSpace& exec, const char* trans_a, const char* trans_b,
          typename CView::const_value_type alpha, const AView& a, const BView& b,
          typename CView::const_value_type beta, const CView& c) {
  const bool ta = trans_a[0] == 'T' || trans_a[0] == 't';
  const bool tb = trans_b[0] == 'T' || trans_b[0] == 't';
  const auto m = static_cast<index_type>(ta ? a.extent(1) : a.extent(0));
  const auto ka = static_cast<index_type>(ta ? a.extent(0) : a.extent(1));
  const auto kb = static_cast<index_type>(tb ? b.extent(1) : b.extent(0));
  const auto n = static_cast<index_type>(tb ? b.extent(0) : b.extent(1));
  STRATA_REQUIRE(ka == kb, ShapeMismatch, "gemm: op(A) is ", m, " x ", ka, " but op(B) is ", kb,
                 " x ", n, "; inner dimensions must agree");
  require_shape(c, m, n, "gemm: C");
  if (m == 0 || n == 0) return;
  if (ka == 0) {
    // An empty product: C = beta C, where beta = 0 means C = 0 without reading C (BLAS semantics,
    // so uninitialized C is fine).
    Kokkos::parallel_for(
        "strata::linalg::gemm::scale",
        Kokkos::MDRangePolicy<ExecutionSpace, Kokkos::Rank<2>>(exec, {0, 0},
                                                               {c.extent(0), c.extent(1)}),
        KOKKOS_LAMBDA(const std::size_t i, const std::size_t j) {
          c(i, j) = beta == 0 ? beta : beta * c(i, j);
        });
    return;
  }
  if constexpr (detail::takes_host_gemm<ExecutionSpace, AView, BView, CView>()) {
    // Kokkos owns the host threads: single-threaded BLAS calls over them (host_gemm.hpp).
    auto ld = [](const auto& v) {
      return std::max<index_type>(1, static_cast<index_type>(v.stride(1)));
    };
    detail::host_gemm(exec, detail::plan_host_gemm(m, n, ka, kx::concurrency(exec)), trans_a[0],
                      trans_b[0], m, n, ka, alpha, a.data(), ld(a), b.data(), ld(b), beta, c.data(),
                      ld(c));
  } else if constexpr (kx::threaded_host<ExecutionSpace>) {
    const detail::HostBlasThreads single_threaded_blas;
    kx::gemm(exec, trans_a, trans_b, alpha, a, b, beta, c);
  } else {
    kx::gemm(exec, trans_a, trans_b, alpha, a, b, beta, c);
  }
}

}  // namespace strata::linalg
