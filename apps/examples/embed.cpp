// How a simulation code embeds Strata: it keeps its own MPI and Kokkos set-up, hands Strata its
// communicator, and gets distributed results back.
//
//   mpirun -n 4 ./strata_example_embed
#include <cstdio>

#include "strata/strata.hpp"

int main(int argc, char** argv) {
  // The host code's own initialization (Strata's ScopeGuard would also do; it leaves these alone).
#if STRATA_HAVE_MPI
  MPI_Init(&argc, &argv);
#endif
  Kokkos::initialize(argc, argv);
  int status = 0;
  {
    const strata::Comm comm;  // a private duplicate of MPI_COMM_WORLD
    const strata::ExecSpace exec;
    // A 100000 x 16 block-row distributed Gaussian sketch; rank r generates only its rows.
    strata::DistMatrix<double> omega(comm, 100000, 16);
    strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 42, 0}, omega);
    // Its Gram matrix, replicated on every rank.
    strata::Matrix<double> gram("gram", 16, 16);
    strata::inner_product(exec, omega, omega, gram);
    const auto g = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), gram);
    if (comm.is_root()) {
      std::printf("ranks %d: G(0,0)/n = %.4f, G(0,1)/n = %.4f (expected about 1 and 0)\n",
                  comm.size(), g(0, 0) / 100000.0, g(0, 1) / 100000.0);
    }
    status = std::abs(g(0, 0) / 100000.0 - 1.0) < 0.05 ? 0 : 1;
  }
  Kokkos::finalize();
#if STRATA_HAVE_MPI
  MPI_Finalize();
#endif
  return status;
}
