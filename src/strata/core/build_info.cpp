#include "strata/core/build_info.hpp"

#include "strata/config.hpp"
#include "strata/core/kokkos_ext.hpp"
#include "strata/core/kokkos_ext/kernels_tpls.hpp"

#if defined(KOKKOS_ENABLE_CUDA)
#include "strata/core/detail/device_name_cuda.hpp"
#endif

namespace strata {

namespace {

bool has(const std::vector<std::string>& list, const char* name) {
  for (const auto& item : list) {
    if (item == name) return true;
  }
  return false;
}

/// Where dense kernels run: Kokkos Kernels (through the TPLs it was built with, or its own native
/// kernels), host LAPACK for Strata's small dense factorizations, and cuBLAS for the strided
/// batched GEMM of CUDA builds.
std::string describe_blas(const std::vector<std::string>& tpls) {
  std::string text = "Kokkos Kernels ";
  if (tpls.empty()) {
    text += "(native kernels, no BLAS TPL)";
  } else {
    text += "(TPLs:";
    for (const auto& t : tpls) text += " " + t;
    text += ")";
  }
  text += " + host LAPACK";
#if defined(KOKKOS_ENABLE_CUDA)
  text += " + cuBLAS batched GEMM";
#endif
  if (!has(tpls, "BLAS") && !has(tpls, "MKL") && !has(tpls, "ARMPL")) {
    text += "; host GEMMs do not use an optimized BLAS";
  }
  return text;
}

}  // namespace

BuildInfo build_info() {
  BuildInfo info;
  info.version = STRATA_VERSION_STRING;
  info.kokkos_version = kx::kokkos_version_string();
  info.backends = kx::enabled_backends();
  info.execution_space = Kokkos::DefaultExecutionSpace::name();
#if defined(KOKKOS_ENABLE_CUDA)
  info.device = detail::device_name_cuda();
#else
  info.device = "host";
#endif
  info.mpi = STRATA_HAVE_MPI;
  info.hdf5 = STRATA_HAVE_HDF5;
#if STRATA_HAVE_HDF5
  info.hdf5_parallel = STRATA_HAVE_MPI;  // CMake refuses MPI builds without a parallel HDF5
#endif
  info.gpu_aware_mpi = STRATA_GPU_AWARE_MPI;
  info.bf16 = kx::has_bf16;
  info.kernels_tpls = kx::kernels_tpls();
  info.blas = describe_blas(info.kernels_tpls);
  return info;
}

}  // namespace strata
