// Dense BLAS-3 building block with the execution-space instance first and shape checks.
#pragma once

#include <string>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/blas.hpp"

namespace strata::linalg {

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
  kx::gemm(exec, trans_a, trans_b, alpha, a, b, beta, c);
}

}  // namespace strata::linalg
