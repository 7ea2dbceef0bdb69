// Initialization and finalization of MPI and Kokkos in the right order.
#pragma once

#include "strata/config.hpp"

namespace strata {

struct RuntimeOptions {
  /// MPI thread level requested when Strata initializes MPI itself. Strata calls MPI from one host
  /// thread only, so FUNNELED suffices; raise it if the host code needs more.
  int mpi_thread_level = -1;  // -1: MPI_THREAD_FUNNELED
};

/// Brings up MPI (with thread support) and then Kokkos, and shuts them down in the reverse order.
///
/// Safe to use inside host codes that already initialized either library: whatever was initialized
/// before the guard is left running when the guard is destroyed. Kokkos command-line flags
/// (--kokkos-...) and environment variables (KOKKOS_NUM_THREADS, ...) are honoured.
class ScopeGuard {
 public:
  ScopeGuard(int& argc, char**& argv, const RuntimeOptions& options = {});
  ~ScopeGuard();
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;

  bool owns_mpi() const { return owns_mpi_; }
  bool owns_kokkos() const { return owns_kokkos_; }

 private:
  bool owns_mpi_ = false;
  bool owns_kokkos_ = false;
};

/// Rank in MPI_COMM_WORLD (0 without MPI or before MPI_Init).
int world_rank();

}  // namespace strata
