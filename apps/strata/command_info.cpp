// strata info: what this build is and where it runs.
#include <sstream>

#include "cli.hpp"
#include "json.hpp"
#include "strata/core/build_info.hpp"

namespace strata::cli {

int run_info(Args& args, Context& context) {
  args.finish();
  const BuildInfo info = build_info();
  if (context.json) {
    Json out = Json::object();
    out.add("command", "info")
        .add("status", "ok")
        .add("version", info.version)
        .add("kokkos_version", info.kokkos_version)
        .add("backends", info.backends)
        .add("execution_space", info.execution_space)
        .add("device", info.device)
        .add("mpi", info.mpi)
        .add("mpi_ranks", context.comm.size())
        .add("hdf5", info.hdf5)
        .add("hdf5_parallel", info.hdf5_parallel)
        .add("gpu_aware_mpi", info.gpu_aware_mpi)
        .add("bf16", info.bf16)
        .add("kokkos_kernels_tpls", info.kernels_tpls)
        .add("blas", info.blas);
    context.print(out.str() + "\n");
    return 0;
  }
  std::ostringstream out;
  std::string backends;
  for (const auto& b : info.backends) backends += (backends.empty() ? "" : ", ") + b;
  out << "Strata " << info.version << "\n"
      << "  Kokkos           " << info.kokkos_version << " (backends: " << backends << ")\n"
      << "  execution space  " << info.execution_space << "\n"
      << "  device           " << info.device << "\n"
      << "  MPI ranks        " << context.comm.size() << (info.mpi ? "" : " (built without MPI)")
      << "\n"
      << "  HDF5             "
      << (info.hdf5 ? (info.hdf5_parallel ? "parallel (MPI-IO)" : "serial") : "not built") << "\n"
      << "  GPU-aware MPI    " << (info.gpu_aware_mpi ? "on" : "off (host-staged)") << "\n"
      << "  bfloat16         " << (info.bf16 ? "available" : "not available in this Kokkos") << "\n"
      << "  BLAS             " << info.blas << "\n";
  context.print(out.str());
  return 0;
}

}  // namespace strata::cli
