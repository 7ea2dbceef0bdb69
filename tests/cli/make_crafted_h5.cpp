// Writes the crafted HDF5 files of check_cli_io.py with the HDF5 C API (h5py may be missing):
//   make_crafted_h5 huge FILE        /odd (2^61+1) x 1 and /tall 2^62 x 1 float32, /square
//                                    10^6 x 10^6 float64, /batch 2^61 x 4 x 4: chunked, unwritten
//   make_crafted_h5 empty FILE       /zero 0 x 0, /rows0 0 x 5 float64
//   make_crafted_h5 lzf FILE         /A 4 x 4 float64 through filter 32000 named "lzf" (a
//                                    pass-through registered only in this process)
//   make_crafted_h5 int32-u FILE     replaces /hss/level_1/U of a Strata HSS file by int32 values
#include <hdf5.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "make_crafted_h5: %s failed\n", what.c_str());
  return 1;
}

bool declare(hid_t file, const char* name, std::vector<hsize_t> dims, hid_t type) {
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  bool empty = false;
  for (const hsize_t d : dims) empty = empty || d == 0;
  if (!empty) {
    const std::vector<hsize_t> chunk(dims.size(), 1);
    H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
  }
  const hid_t set = H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Sclose(space);
  if (set < 0) return false;
  H5Dclose(set);
  return true;
}

std::size_t pass_through(unsigned, std::size_t, const unsigned[], std::size_t nbytes, std::size_t*,
                         void**) {
  return nbytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return fail("usage: make_crafted_h5 huge|empty|lzf|int32-u FILE; argument check");
  const std::string kind = argv[1], path = argv[2];
  if (kind == "int32-u") {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    if (file < 0) return fail("opening " + path);
    const hid_t old = H5Dopen2(file, "/hss/level_1/U", H5P_DEFAULT);
    if (old < 0) return fail("opening /hss/level_1/U");
    const hid_t old_space = H5Dget_space(old);
    const hssize_t count = H5Sget_simple_extent_npoints(old_space);
    H5Sclose(old_space);
    H5Dclose(old);
    H5Ldelete(file, "/hss/level_1/U", H5P_DEFAULT);
    const hsize_t dims[1] = {static_cast<hsize_t>(count)};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t set = H5Dcreate2(file, "/hss/level_1/U", H5T_STD_I32LE, space, H5P_DEFAULT,
                                 H5P_DEFAULT, H5P_DEFAULT);
    const std::vector<int> ones(static_cast<std::size_t>(count), 1);
    if (set < 0 || H5Dwrite(set, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, ones.data()) < 0)
      return fail("writing the int32 U");
    H5Dclose(set);
    H5Sclose(space);
    H5Fclose(file);
    return 0;
  }
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0) return fail("creating " + path);
  bool ok = true;
  if (kind == "huge") {
    const hsize_t two61 = hsize_t(1) << 61;
    ok = declare(file, "/odd", {two61 + 1, 1}, H5T_IEEE_F32LE) &&
         declare(file, "/tall", {2 * two61, 1}, H5T_IEEE_F32LE) &&
         declare(file, "/square", {1000000, 1000000}, H5T_IEEE_F64LE) &&
         declare(file, "/batch", {two61, 4, 4}, H5T_IEEE_F64LE);
  } else if (kind == "empty") {
    ok = declare(file, "/zero", {0, 0}, H5T_IEEE_F64LE) &&
         declare(file, "/rows0", {0, 5}, H5T_IEEE_F64LE);
  } else if (kind == "lzf") {
    const H5Z_class2_t filter = {H5Z_CLASS_T_VERS, 32000,   1,           1, "lzf",
                                 nullptr,          nullptr, pass_through};
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    const hsize_t chunk[2] = {2, 2}, dims[2] = {4, 4};
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const std::vector<double> values(16, 0.5);
    ok = H5Zregister(&filter) >= 0 && H5Pset_chunk(dcpl, 2, chunk) >= 0 &&
         H5Pset_filter(dcpl, 32000, H5Z_FLAG_MANDATORY, 0, nullptr) >= 0;
    const hid_t set =
        ok ? H5Dcreate2(file, "/A", H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT) : -1;
    ok = set >= 0 &&
         H5Dwrite(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0;
    if (set >= 0) H5Dclose(set);
    H5Sclose(space);
    H5Pclose(dcpl);
  } else {
    ok = false;
  }
  H5Fclose(file);
  return ok ? 0 : fail("making the '" + kind + "' file");
}
