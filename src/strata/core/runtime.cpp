#include "strata/core/runtime.hpp"

#include <Kokkos_Core.hpp>

#include "strata/core/error.hpp"

#if STRATA_HAVE_MPI
#include <mpi.h>
#endif

namespace strata {

ScopeGuard::ScopeGuard(int& argc, char**& argv, const RuntimeOptions& options) {
#if STRATA_HAVE_MPI
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    const int wanted =
        options.mpi_thread_level >= 0 ? options.mpi_thread_level : MPI_THREAD_FUNNELED;
    int provided = 0;
    if (MPI_Init_thread(&argc, &argv, wanted, &provided) != MPI_SUCCESS) {
      STRATA_THROW(CommunicationError, "MPI_Init_thread failed");
    }
    owns_mpi_ = true;
    if (provided < wanted) {
      // Strata itself needs only FUNNELED, which every MPI provides; report a shortfall of a
      // higher level that the host code asked for.
      MPI_Finalize();
      owns_mpi_ = false;
      STRATA_THROW(CommunicationError, "MPI provides thread level ", provided, " but level ",
                   wanted, " was requested");
    }
  }
#else
  (void)options;
#endif
  if (!Kokkos::is_initialized()) {
    Kokkos::initialize(argc, argv);
    owns_kokkos_ = true;
  }
}

ScopeGuard::~ScopeGuard() {
  if (owns_kokkos_ && Kokkos::is_initialized()) Kokkos::finalize();
#if STRATA_HAVE_MPI
  if (owns_mpi_) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
#endif
}

int world_rank() {
#if STRATA_HAVE_MPI
  int initialized = 0;
  MPI_Initialized(&initialized);
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!initialized || finalized) return 0;
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
#else
  return 0;
#endif
}

}  // namespace strata
