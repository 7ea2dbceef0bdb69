// Fuzz target: the HDF5 matrix reader (src/strata/io/hdf5.*). The input bytes are an .h5 file; its
// dataset /data is inspected and read the ways the commands read their inputs: 1-D as a vector,
// 2-D as a replicated and as a row-distributed matrix (float64 and float32), 3-D as a batch.
// Any strata::Error is a correct rejection; a crash, a sanitizer report, a hang or another
// exception (reported with its type and message, then abort()) is a defect.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "strata/core/error.hpp"
#include "strata/io/hdf5.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  strata::fuzz::initialize_runtime();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  const auto file = fuzz::write_scratch_file(data, size, "input.h5");
  const io::DatasetPath path{file, "/data"};
  const Comm& comm = fuzz::world();
  try {
    const auto info = io::inspect(comm, path);
    switch (info.shape.size()) {
      case 1:
        io::read_vector<double>(comm, path);
        break;
      case 2:
        io::read_matrix<double>(comm, path);
        io::read_dist_matrix<float>(comm, path);
        break;
      case 3:
        io::read_batch<double>(comm, path);
        break;
      default:
        io::read_matrix<double>(comm, path);  // must be rejected with a clear error
        break;
    }
    io::read_string_attribute(comm, io::DatasetPath{file, "/"}, "creator");
  } catch (const strata::Error&) {
  } catch (const std::exception& e) {
    strata::fuzz::foreign_exception("fuzz_hdf5", e);
  }
  return 0;
}
