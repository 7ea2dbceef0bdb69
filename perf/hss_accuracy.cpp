// Achieved accuracy of stored HSS approximations of a built-in matrix (hss/problems.hpp):
//
//   strata_hss_accuracy PROBLEM N H.h5 [H2.h5 ...]
//
// prints, for every file written by `strata hss compress --problem PROBLEM --n N` (by any build),
// the exact relative error ||A - H||_F / ||A||_F against the dense matrix (O(N^2) memory: for
// N <= ~16384), computed on the host in double. The compress command reports only the
// a-posteriori estimate; this driver gives the number that estimate stands for, so the accuracy
// of two builds can be compared on the same matrix.
#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "strata/config.hpp"
#include "strata/core/runtime.hpp"
#include "strata/dist/comm.hpp"
#include "strata/hss/hss_matrix.hpp"
#include "strata/hss/problems.hpp"
#if STRATA_HAVE_HDF5
#include "strata/hss/hss_io.hpp"
#endif

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: strata_hss_accuracy PROBLEM N H.h5 [H2.h5 ...]\n");
    return 2;
  }
  strata::ScopeGuard guard(argc, argv);
#if STRATA_HAVE_HDF5
  try {
    namespace hss = strata::hss;
    const strata::ExecSpace exec;
    const auto n = static_cast<strata::index_type>(std::atoll(argv[2]));
    const auto problem = hss::make_problem<double>(argv[1], n);
    const auto a = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), problem->dense(exec));
    double norm = 0;
    for (strata::index_type j = 0; j < n; ++j)
      for (strata::index_type i = 0; i < n; ++i) norm += a(i, j) * a(i, j);
    for (int f = 3; f < argc; ++f) {
      const auto h = hss::load_hss<double>(strata::Comm::self(), argv[f]);
      const auto d =
          Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), hss::to_dense(exec, h));
      double diff = 0;
      for (strata::index_type j = 0; j < n; ++j)
        for (strata::index_type i = 0; i < n; ++i)
          diff += (a(i, j) - d(i, j)) * (a(i, j) - d(i, j));
      std::printf("%s %s n=%lld relative_error=%.3e\n", argv[1], argv[f], static_cast<long long>(n),
                  std::sqrt(diff / norm));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "strata_hss_accuracy: %s\n", e.what());
    return 1;
  }
  return 0;
#else
  std::fprintf(stderr, "strata_hss_accuracy: this build has no HDF5\n");
  return 1;
#endif
}
