// What this copy of Strata was built with and runs on (the `strata info` report).
#pragma once

#include <string>
#include <vector>

namespace strata {

struct BuildInfo {
  std::string version;                ///< Strata's version
  std::string kokkos_version;         ///< e.g. "4.6.1"
  std::vector<std::string> backends;  ///< Kokkos backends compiled in
  std::string execution_space;        ///< Kokkos' default execution space
  std::string device;                 ///< GPU model, or "host" for CPU backends
  bool mpi = false;                   ///< built with MPI
  bool hdf5 = false;                  ///< built with HDF5
  bool hdf5_parallel = false;         ///< HDF5 is the parallel (MPI-IO) build
  bool gpu_aware_mpi = false;         ///< device pointers are handed to MPI
  bool bf16 = false;                  ///< bfloat16 storage type available
  /// Third-party libraries Kokkos Kernels was built to dispatch to ("BLAS", "LAPACK", "CUBLAS",
  /// "CUSOLVER", "ROCBLAS", ...), from its configuration header; empty: its native kernels only.
  std::vector<std::string> kernels_tpls;
  std::string blas;  ///< one line: where GEMMs and Strata's own dense factorizations run
};

/// Collects the build facts and queries the device. Call after Kokkos is initialized.
BuildInfo build_info();

}  // namespace strata
