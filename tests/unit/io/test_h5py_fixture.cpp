// Strata reads what h5py/numpy write (tests/fixtures/h5py_fixture.h5, made by
// make_h5py_fixture.py), with the (rows, cols) C-order convention, and rejects what it cannot read
// with clear errors.
#include <gtest/gtest.h>

#include <cstdlib>

#include "strata/io/hdf5.hpp"
#include "support/allclose.hpp"

namespace {

using strata::io::DatasetPath;

std::string fixture() {
  const char* dir = std::getenv("STRATA_TEST_DATA");
  return std::string(dir ? dir : "tests/fixtures") + "/h5py_fixture.h5";
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const strata::Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(H5pyFixture, ReadsMatricesInRowColumnOrderWithDtypeConversion) {
  const strata::Comm comm = strata::Comm::self();
  const auto a = strata::io::read_matrix<double>(comm, DatasetPath::parse(fixture() + ":/A"));
  const auto ha = strata::testing::to_host(a);
  ASSERT_EQ(ha.extent(0), 3u);
  ASSERT_EQ(ha.extent(1), 4u);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 4; ++j) EXPECT_EQ(ha(i, j), 10.0 * i + j + 0.5);

  const auto info = strata::io::inspect(comm, DatasetPath::parse(fixture() + ":/group/B"));
  EXPECT_EQ(info.dtype, strata::io::Dtype::float32);
  EXPECT_EQ(info.shape, (std::vector<strata::index_type>{5, 2}));
  // float32 on disk read as float64 and as float32: exact either way.
  const auto b64 = strata::testing::to_host(
      strata::io::read_matrix<double>(comm, DatasetPath::parse(fixture() + ":/group/B")));
  const auto b32 = strata::testing::to_host(
      strata::io::read_matrix<float>(comm, DatasetPath::parse(fixture() + ":/group/B")));
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t j = 0; j < 2; ++j) {
      EXPECT_EQ(b64(i, j), -(i + 1.0) * 0.25 + j);
      EXPECT_EQ(b32(i, j), static_cast<float>(-(i + 1.0) * 0.25 + j));
    }

  const auto v = strata::testing::to_host(
      strata::io::read_vector<double>(comm, DatasetPath::parse(fixture() + ":/v")));
  ASSERT_EQ(v.extent(0), 6u);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(v(i), static_cast<double>(i * i));
  EXPECT_EQ(strata::io::read_string_attribute(comm, DatasetPath{fixture(), "/"}, "creator"),
            "h5py fixture");

  // A distributed read on one rank is the whole matrix.
  const auto d = strata::io::read_dist_matrix<double>(comm, DatasetPath::parse(fixture() + ":/A"));
  EXPECT_THAT(d.local(), strata::testing::AllClose(a, 0.0, 0.0));
}

TEST(H5pyFixture, ReadsABatchOfMatrices) {
  const strata::Comm comm = strata::Comm::self();
  const auto batch =
      strata::io::read_batch<double>(comm, DatasetPath::parse(fixture() + ":/batch"));
  const auto h = strata::testing::to_host(batch.local);
  ASSERT_EQ(h.extent(0), 5u);
  ASSERT_EQ(h.extent(1), 4u);
  ASSERT_EQ(h.extent(2), 3u);
  for (std::size_t b = 0; b < 3; ++b)
    for (std::size_t i = 0; i < 5; ++i)
      for (std::size_t j = 0; j < 4; ++j)
        EXPECT_EQ(h(i, j, b), b + 0.25 * i - 0.5 * j + (i == j ? 4.0 : 0.0));
  EXPECT_THROW(strata::io::read_batch<double>(comm, DatasetPath::parse(fixture() + ":/A")),
               strata::ShapeMismatch);
}

TEST(H5pyFixture, ClearErrors) {
  const strata::Comm comm = strata::Comm::self();
  const auto read = [&](const std::string& spec) {
    return error_of([&] { strata::io::read_matrix<double>(comm, DatasetPath::parse(spec)); });
  };
  EXPECT_EQ(
      read(fixture() + ":/ints"),
      "dataset '" + fixture() + ":/ints' has dtype integer (32-bit); expected float32 or float64");
  EXPECT_EQ(read(fixture() + ":/cube"),
            "dataset '" + fixture() +
                ":/cube' has 3-D shape (2, 2, 2); expected a 2-D dataset (rows, cols)");
  EXPECT_EQ(
      read(fixture() + ":/v"),
      "dataset '" + fixture() + ":/v' has 1-D shape (6,); expected a 2-D dataset (rows, cols)");
  EXPECT_EQ(read(fixture() + ":/nothing"), "dataset '/nothing' not found in '" + fixture() + "'");
  EXPECT_EQ(read(fixture() + ":/group/nothing/deeper"),
            "dataset '/group/nothing/deeper' not found in '" + fixture() + "'");
  EXPECT_EQ(read(fixture() + ":/group"), "'" + fixture() + ":/group' exists but is not a dataset");
  EXPECT_EQ(read("/no/such/file.h5:/A"), "cannot open '/no/such/file.h5': no such file");
  EXPECT_EQ(
      read(std::string(std::getenv("STRATA_TEST_DATA") ? std::getenv("STRATA_TEST_DATA") : ".") +
           "/make_h5py_fixture.py:/A"),
      "cannot open '" +
          std::string(std::getenv("STRATA_TEST_DATA") ? std::getenv("STRATA_TEST_DATA") : ".") +
          "/make_h5py_fixture.py' as an HDF5 file (is it an HDF5 file, and readable?)");
  EXPECT_THROW(DatasetPath::parse("A.h5"), strata::InvalidArgument);
  EXPECT_THROW(DatasetPath::parse(":/A"), strata::InvalidArgument);
  EXPECT_THROW(DatasetPath::parse("A.h5:/"), strata::InvalidArgument);
  EXPECT_EQ(DatasetPath::parse("dir:with:colons/A.h5:/g/A").file, "dir:with:colons/A.h5");
  EXPECT_EQ(DatasetPath::parse("out.h5", "/Q").dataset, "/Q");
}

}  // namespace
