// Fuzz target: the HSS file reader (src/strata/hss/hss_io.*). The input bytes are an .h5 file; it
// is loaded as `strata hss matvec/solve --hss FILE` loads it (stored_hss_dtype, then load_hss in
// that precision) and, when small, multiplied by a vector, which touches every generator the loader
// accepted. A strata::Error is a correct rejection; anything else is a defect.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "strata/core/error.hpp"
#include "strata/hss/hss_io.hpp"
#include "strata/hss/matvec.hpp"

namespace {

template <class T>
void load_and_apply(const std::string& file) {
  using namespace strata;
  const auto a = hss::load_hss<T>(fuzz::world(), file);
  // A product costs O(generators); skip matrices too large to multiply quickly.
  if (a.size() > 4096 || a.generator_bytes() > (std::size_t(1) << 24)) return;
  Matrix<T> x("strata::fuzz::x", a.size(), 1), y("strata::fuzz::y", a.size(), 1);
  Kokkos::deep_copy(x, T(1));
  hss::matvec<T>(ExecSpace(), a, x, y);
  ExecSpace().fence();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  strata::fuzz::initialize_runtime();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = strata::fuzz::write_scratch_file(data, size, "input.h5");
  try {
    if (strata::hss::stored_hss_dtype(strata::fuzz::world(), file) == "float32") {
      load_and_apply<float>(file);
    } else {
      load_and_apply<double>(file);
    }
  } catch (const strata::Error&) {
  } catch (const std::exception& e) {
    strata::fuzz::foreign_exception("fuzz_hss", e);
  }
  return 0;
}
