// Links against the installed Strata and checks that it works.
#include <cmath>
#include <cstdio>

#include <strata/strata.hpp>

int main(int argc, char** argv) {
  strata::ScopeGuard guard(argc, argv);
  const strata::Comm comm;
  const strata::ExecSpace exec;
  strata::DistMatrix<double> x(comm, 1000, 4);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::rademacher, 1, 0}, x);
  strata::Matrix<double> gram("gram", 4, 4);
  strata::inner_product(exec, x, x, gram);
  const auto g = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), gram);
  // Rademacher entries square to 1 exactly: the diagonal is exactly the row count.
  const bool ok = g(0, 0) == 1000.0 && g(3, 3) == 1000.0 &&
                  strata::build_info().version == STRATA_VERSION_STRING;
  if (comm.is_root())
    std::printf("strata_install_smoke: %s (Strata %s)\n", ok ? "ok" : "FAILED",
                STRATA_VERSION_STRING);
  return ok ? 0 : 1;
}
