// Kokkos Kernels BLAS calls with the execution-space instance first. Kokkos Kernels >= 4.1 takes
// the instance; older releases (Debian's 3.4) run on the default instance, so we fence the caller's
// instance first and the default instance after, which keeps the caller's stream order.
#pragma once

#include <KokkosBlas1_dot.hpp>
#include <KokkosBlas1_nrm2.hpp>
#include <KokkosBlas3_gemm.hpp>

#include "strata/core/kokkos_ext/fence.hpp"

namespace strata::kx {

template <class ExecutionSpace, class AView, class BView, class CView>
void gemm(const ExecutionSpace& exec, const char* trans_a, const char* trans_b,
          typename CView::const_value_type alpha, const AView& a, const BView& b,
          typename CView::const_value_type beta, const CView& c) {
#if STRATA_KOKKOS_AT_LEAST_4_1
  KokkosBlas::gemm(exec, trans_a, trans_b, alpha, a, b, beta, c);
#else
  fence(exec, "strata::kx::gemm::before");
  KokkosBlas::gemm(trans_a, trans_b, alpha, a, b, beta, c);
  fence(typename CView::execution_space(), "strata::kx::gemm::after");
#endif
}

}  // namespace strata::kx
