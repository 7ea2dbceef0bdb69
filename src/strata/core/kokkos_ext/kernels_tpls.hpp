// Which third-party libraries (TPLs) Kokkos Kernels was built to dispatch to, read from its
// KokkosKernels_config.h. Kokkos Kernels 3.x has no separate LAPACK, cuSOLVER or rocSOLVER TPLs
// (their macros are then simply absent), so the list is what this build really has on any version.
#pragma once

#include <KokkosKernels_config.h>

#include <string>
#include <vector>

namespace strata::kx {

/// The TPL names ("BLAS", "LAPACK", "MKL", "CUBLAS", ...) in Kokkos Kernels' spelling.
inline std::vector<std::string> kernels_tpls() {
  std::vector<std::string> tpls;
#if defined(KOKKOSKERNELS_ENABLE_TPL_BLAS)
  tpls.emplace_back("BLAS");
#endif
#if defined(KOKKOSKERNELS_ENABLE_TPL_LAPACK)
  tpls.emplace_back("LAPACK");
#endif
#if defined(KOKKOSKERNELS_ENABLE_TPL_MKL)
  tpls.emplace_back("MKL");
#endif
#if defined(KOKKOSKERNELS_ENABLE_TPL_ARMPL)
  tpls.emplace_back("ARMPL");
#endif
#if defined(KOKKOSKERNELS_ENABLE_TPL_CBLAS)
  tpls.emplace_back("CBLAS");
#endif
#if defined(KOKKOSKERNELS_ENABLE_TPL_LAPACKE)
  tpls.emplace_back("LAPACKE");
#endif
#if defined(KOKKOSKERNELS_ENABLE_TPL_CUBLAS)
  tpls.emplace_back("CUBLAS");
#endif
#if defined(KOKKOSKERNELS_ENABLE_TPL_CUSOLVER)
  tpls.emplace_back("CUSOLVER");
#endif
#if defined(KOKKOSKERNELS_ENABLE_TPL_MAGMA)
  tpls.emplace_back("MAGMA");
#endif
#if defined(KOKKOSKERNELS_ENABLE_TPL_ROCBLAS)
  tpls.emplace_back("ROCBLAS");
#endif
#if defined(KOKKOSKERNELS_ENABLE_TPL_ROCSOLVER)
  tpls.emplace_back("ROCSOLVER");
#endif
  return tpls;
}

}  // namespace strata::kx
