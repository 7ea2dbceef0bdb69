// Files crafted to break the reader: shapes far beyond memory in a few-KB file, empty datasets,
// filters this HDF5 does not have. Each must give one clear error before anything is allocated,
// never a crash, std::bad_alloc or a hang. The files are made here with the HDF5 C API.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "strata/core/memory.hpp"
#include "strata/io/hdf5.hpp"

namespace {

namespace fs = std::filesystem;
using strata::io::DatasetPath;

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const strata::Error& e) {
    return e.what();
  }
  return "no error";
}

class CraftedFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "strata-crafted-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir = pattern;
    file = dir + "/crafted.h5";
  }
  void TearDown() override { fs::remove_all(dir); }

  /// A dataset of the given shape and type, chunked (1 x ... x 1 chunks) with nothing written:
  /// HDF5 stores no chunk, so the file stays a few KB whatever the declared shape.
  void declare(const std::string& name, std::vector<hsize_t> dims, hid_t type,
               hid_t dcpl = H5P_DEFAULT) {
    const hid_t f = fs::exists(file)
                        ? H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)
                        : H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    hid_t plist = dcpl;
    bool empty = false;
    for (const hsize_t d : dims) empty = empty || d == 0;
    if (plist == H5P_DEFAULT && !empty) {
      plist = H5Pcreate(H5P_DATASET_CREATE);
      const std::vector<hsize_t> chunk(dims.size(), 1);
      H5Pset_chunk(plist, static_cast<int>(chunk.size()), chunk.data());
    }
    const hid_t set = H5Dcreate2(f, name.c_str(), type, space, H5P_DEFAULT, plist, H5P_DEFAULT);
    ASSERT_GE(set, 0) << name;
    H5Dclose(set);
    if (plist != dcpl) H5Pclose(plist);
    H5Sclose(space);
    H5Fclose(f);
  }

  std::string dir, file;
  const strata::Comm comm = strata::Comm::self();
};

TEST_F(CraftedFiles, HugeDeclaredShapesAreRefusedBeforeAllocating) {
  const hsize_t two61 = hsize_t(1) << 61, two62 = hsize_t(1) << 62;
  declare("/odd", {two61 + 1, 1}, H5T_IEEE_F32LE);
  declare("/tall", {two62, 1}, H5T_IEEE_F32LE);
  declare("/square", {1000000, 1000000}, H5T_IEEE_F64LE);
  declare("/vector", {two62}, H5T_IEEE_F64LE);
  declare("/batch", {two61, 4, 4}, H5T_IEEE_F64LE);
  ASSERT_LT(fs::file_size(file), 20000u);  // the whole file is a few KB

  const std::string beyond = " needs more than 18446744073 GB (2^64 bytes) of memory, ";
  // (2^61 + 1) x 1 read as float64 is 2^64 + 8 bytes: the product overflows 64 bits.
  EXPECT_THAT(error_of([&] {
                strata::io::read_matrix<double>(comm, {file, "/odd"});
              }),
              ::testing::AllOf(::testing::StartsWith("reading '" + file +
                                                     ":/odd' (2305843009213693953 x 1 float64 "
                                                     "values on this rank)" +
                                                     beyond),
                               ::testing::EndsWith(" GB are available")));
  // 2^62 x 1 float32 is 2^64 bytes: one past the largest 64-bit size.
  EXPECT_THAT(
      error_of([&] {
        strata::io::read_dist_matrix<float>(comm, {file, "/tall"});
      }),
      ::testing::HasSubstr("(4611686018427387904 x 1 float32 values on this rank)" + beyond));
  // 10^6 x 10^6 float64 fits in 64 bits (8e12 bytes per copy) but not in any memory here: the
  // message gives the size in GB (three staged copies on a host build).
  const std::string square = error_of([&] {
    strata::io::read_matrix<double>(comm, {file, "/square"});
  });
  EXPECT_THAT(square,
              ::testing::HasSubstr("(1000000 x 1000000 float64 values on this rank) needs "));
  EXPECT_THAT(square, ::testing::ContainsRegex(" needs (16000|24000)\\.0 GB of memory, "));
  EXPECT_THAT(error_of([&] {
                strata::io::read_vector<double>(comm, {file, "/vector"});
              }),
              ::testing::HasSubstr("(4611686018427387904 float64 values on this rank)"));
  EXPECT_THAT(
      error_of([&] {
        strata::io::read_batch<double>(comm, {file, "/batch"});
      }),
      ::testing::HasSubstr("(2305843009213693952 x 4 x 4 float64 values on this rank)" + beyond));
  // Every one is an InvalidArgument; inspecting the shape alone is fine.
  EXPECT_THROW(strata::io::read_matrix<float>(comm, {file, "/tall"}), strata::InvalidArgument);
  const auto info = strata::io::inspect(comm, {file, "/odd"});
  EXPECT_EQ(info.shape, (std::vector<strata::index_type>{(std::int64_t(1) << 61) + 1, 1}));
}

TEST_F(CraftedFiles, MemoryHelper) {
  EXPECT_EQ(strata::checked_bytes({3, 5}, 8), std::optional<std::uint64_t>(120));
  EXPECT_EQ(strata::checked_bytes({std::int64_t(1) << 61, 8}, 1),
            std::optional<std::uint64_t>());  // 2^64
  EXPECT_EQ(strata::checked_bytes({(std::int64_t(1) << 61) - 1, 8}, 1),
            std::optional<std::uint64_t>(std::numeric_limits<std::uint64_t>::max() - 7));
  EXPECT_EQ(strata::checked_bytes({-1, 2}, 8), std::optional<std::uint64_t>());
  const auto available = strata::available_host_memory();
  ASSERT_TRUE(available.has_value());  // Linux: /proc/meminfo
  EXPECT_GT(*available, 0u);
  EXPECT_NO_THROW(strata::require_host_memory(std::uint64_t(1024), "a small buffer"));
  EXPECT_THAT(error_of([&] { strata::require_host_memory(*available + (1ull << 30), "a test"); }),
              ::testing::StartsWith("a test needs "));
}

TEST_F(CraftedFiles, EmptyDatasetsAreCalledEmpty) {
  declare("/zero", {0, 0}, H5T_IEEE_F64LE);
  declare("/rows0", {0, 5}, H5T_IEEE_F64LE);
  declare("/cols0", {5, 0}, H5T_IEEE_F32LE);
  declare("/v0", {0}, H5T_IEEE_F64LE);
  declare("/b0", {0, 3, 3}, H5T_IEEE_F64LE);
  EXPECT_EQ(error_of([&] {
              strata::io::read_matrix<double>(comm, {file, "/zero"});
            }),
            "dataset '" + file +
                ":/zero' is empty (shape (0, 0)); expected at least one row "
                "and one column");
  EXPECT_EQ(error_of([&] {
              strata::io::read_dist_matrix<double>(comm, {file, "/rows0"});
            }),
            "dataset '" + file +
                ":/rows0' is empty (shape (0, 5)); expected at least one row "
                "and one column");
  EXPECT_THAT(error_of([&] {
                strata::io::read_matrix<float>(comm, {file, "/cols0"});
              }),
              ::testing::HasSubstr("is empty (shape (5, 0))"));
  EXPECT_EQ(error_of([&] {
              strata::io::read_vector<double>(comm, {file, "/v0"});
            }),
            "dataset '" + file + ":/v0' is empty (shape (0,)); expected at least one entry");
  EXPECT_THAT(error_of([&] {
                strata::io::read_batch<double>(comm, {file, "/b0"});
              }),
              ::testing::HasSubstr("is empty (shape (0, 3, 3))"));
  EXPECT_THROW(strata::io::read_matrix<double>(comm, {file, "/zero"}), strata::ShapeMismatch);
}

// A pass-through filter registered under lzf's id and name while the file is written, then
// unregistered: the reader then meets what h5py's lzf files are to a plain HDF5.
std::size_t pass_through(unsigned, std::size_t, const unsigned[], std::size_t nbytes, std::size_t*,
                         void**) {
  return nbytes;
}

TEST_F(CraftedFiles, AMissingFilterIsNamed) {
  const H5Z_filter_t lzf = 32000;
  const H5Z_class2_t filter = {H5Z_CLASS_T_VERS, lzf, 1, 1, "lzf", nullptr, nullptr, pass_through};
  ASSERT_GE(H5Zregister(&filter), 0);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  const hsize_t chunk[2] = {2, 2};
  H5Pset_chunk(dcpl, 2, chunk);
  H5Pset_filter(dcpl, lzf, H5Z_FLAG_MANDATORY, 0, nullptr);
  {
    const hid_t f = H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t dims[2] = {4, 4};
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t set = H5Dcreate2(f, "/A", H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_GE(set, 0);
    const std::vector<double> values(16, 1.5);
    ASSERT_GE(H5Dwrite(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
    H5Dclose(set);
    H5Sclose(space);
    H5Fclose(f);
  }
  H5Pclose(dcpl);
  // Readable while the filter is there (the test reads what it wrote) ...
  EXPECT_NO_THROW(strata::io::read_matrix<double>(comm, {file, "/A"}));
  ASSERT_GE(H5Zunregister(lzf), 0);
  // ... and named when it is not.
  EXPECT_EQ(error_of([&] {
              strata::io::read_matrix<double>(comm, {file, "/A"});
            }),
            "dataset '" + file +
                ":/A' is stored with the HDF5 filter 'lzf' (filter id 32000), which this HDF5 "
                "library does not have; rewrite it without that filter (e.g. h5repack -f NONE) "
                "or with gzip");
  EXPECT_THROW(strata::io::inspect(comm, {file, "/A"}), strata::Unsupported);
}

TEST_F(CraftedFiles, WrongDtypesSayWhatWasExpected) {
  declare("/ints", {3, 3}, H5T_STD_I32LE);
  declare("/f16", {3, 3}, H5T_NATIVE_B8);
  EXPECT_EQ(error_of([&] {
              strata::io::read_matrix<double>(comm, {file, "/ints"});
            }),
            "dataset '" + file + ":/ints' has dtype integer (32-bit); expected float32 or float64");
  EXPECT_THAT(error_of([&] {
                strata::io::read_matrix<double>(comm, {file, "/f16"});
              }),
              ::testing::EndsWith("expected float32 or float64"));
}

TEST_F(CraftedFiles, InputsThatAreNotRegularFilesAreRefusedWithoutBlocking) {
  const std::string fifo = dir + "/pipe.h5";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // Opening a FIFO for reading blocks until a writer comes; the reader must not try.
  EXPECT_EQ(error_of([&] {
              strata::io::read_matrix<double>(comm, {fifo, "/A"});
            }),
            "cannot open '" + fifo + "': it is not a regular file (a FIFO), expected an HDF5 file");
}

}  // namespace
