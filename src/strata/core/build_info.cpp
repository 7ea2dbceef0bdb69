#include "strata/core/build_info.hpp"

#include "strata/config.hpp"
#include "strata/core/kokkos_ext.hpp"

#if defined(KOKKOS_ENABLE_CUDA)
#include "strata/core/detail/device_name_cuda.hpp"
#endif

namespace strata {

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
  info.blas = STRATA_BLAS_DESCRIPTION;
  return info;
}

}  // namespace strata
