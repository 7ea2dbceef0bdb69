// Test helper for the CLI checks (h5py and numpy may be missing where the tests run):
//   strata_test_matrix_tool write FILE.h5:/DATASET ROWS COLS   < values (row-major text, C order)
//   strata_test_matrix_tool read FILE.h5:/DATASET              > "ROWS COLS" then the values
// Values are float64, printed with 17 significant digits (exact round trip). Through Strata's own
// HDF5 reader and writer, which test_io_h5py_fixture checks against files written by h5py.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "strata/core/runtime.hpp"
#include "strata/io/hdf5.hpp"

int main(int argc, char** argv) {
  strata::ScopeGuard guard(argc, argv);
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    const strata::Comm comm;
    if (mode == "write" && argc == 5) {
      const auto path = strata::io::DatasetPath::parse(argv[2]);
      const long rows = std::atol(argv[3]), cols = std::atol(argv[4]);
      strata::Matrix<double> a("a", static_cast<std::size_t>(rows), static_cast<std::size_t>(cols));
      auto host = Kokkos::create_mirror_view(a);
      for (long i = 0; i < rows; ++i) {
        for (long j = 0; j < cols; ++j) {
          if (!(std::cin >> host(i, j))) {
            std::fprintf(stderr, "matrix_tool: expected %ld values on stdin\n", rows * cols);
            return 1;
          }
        }
      }
      Kokkos::deep_copy(a, host);
      strata::io::write_matrix<double>(comm, path, a);
      return 0;
    }
    if (mode == "read" && argc == 3) {
      const auto a = strata::io::read_matrix<double>(comm, strata::io::DatasetPath::parse(argv[2]));
      const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a);
      std::printf("%zu %zu\n", host.extent(0), host.extent(1));
      for (std::size_t i = 0; i < host.extent(0); ++i) {
        for (std::size_t j = 0; j < host.extent(1); ++j) std::printf("%.17g\n", host(i, j));
      }
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "matrix_tool: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: strata_test_matrix_tool write FILE.h5:/D ROWS COLS < values\n"
               "       strata_test_matrix_tool read FILE.h5:/D\n");
  return 2;
}
