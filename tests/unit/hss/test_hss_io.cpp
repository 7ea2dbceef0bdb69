// HSS matrices survive a save/load round trip through HDF5 bit for bit; the writer is the atomic
// io::FileWriter (no link followed, no input or foreign file replaced) and the reader checks every
// size and type a crafted file declares before it allocates.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/hss/hss_io.hpp"
#include "strata/hss/matvec.hpp"
#include "support/allclose.hpp"

namespace {

namespace hss = strata::hss;
using strata::index_type;
using strata::Matrix;

std::string temp_file(const std::string& name) {
  return "/tmp/strata_test_hss_io_" + std::to_string(::getpid()) + "_" + name + ".h5";
}

// matvec(load(save(A))) == matvec(A) exactly: the generators are copied without conversion and
// the product runs the same kernels on the same data.
template <class T>
void expect_round_trip_exact(const hss::HssMatrix<T>& a, const std::string& name) {
  strata::ExecSpace exec;
  const strata::Comm comm = strata::Comm::self();
  const std::string file = temp_file(name);
  hss::save_hss(comm, file, a);
  EXPECT_EQ(hss::stored_hss_dtype(comm, file), strata::scalar_name<T>());
  const auto b = hss::load_hss<T>(comm, file);
  std::remove(file.c_str());
  ASSERT_EQ(b.size(), a.size());
  ASSERT_EQ(b.levels(), a.levels());
  EXPECT_EQ(b.ranks().row, a.ranks().row);
  EXPECT_EQ(b.ranks().col, a.ranks().col);
  EXPECT_EQ(b.tree().is_identity(), a.tree().is_identity());
  Matrix<T> x("x", a.size(), 3), ya("ya", a.size(), 3), yb("yb", a.size(), 3);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 7, 0}, x);
  for (const auto op : {hss::Op::none, hss::Op::transpose}) {
    hss::matvec<T>(exec, a, x, ya, op);
    hss::matvec<T>(exec, b, x, yb, op);
    exec.fence();
    EXPECT_THAT(yb, strata::testing::AllClose(ya, 0.0, 0.0));
  }
}

TEST(HssIo, UniformTreeDouble) {
  expect_round_trip_exact(
      hss::make_random_hss<double>(strata::ExecSpace(), hss::ClusterTree::uniform(1000, 50), 9, 1),
      "uniform");
}

TEST(HssIo, GeometricTreeAndVariableRanksFloat) {
  const index_type n = 300;
  Kokkos::View<double**, Kokkos::LayoutLeft, Kokkos::HostSpace> points("points", n, 2);
  const strata::RandomStream s{strata::Distribution::gaussian, 2, 0};
  for (index_type i = 0; i < n; ++i) {
    for (int c = 0; c < 2; ++c) points(i, c) = s.entry<double>(i, c);
  }
  const auto tree = hss::ClusterTree::geometric(points, 20);
  hss::HssRanks ranks = hss::uniform_ranks(tree, 6);
  ranks.row[tree.levels()][3] = 2;
  ranks.col[tree.levels()][5] = 4;
  const auto a = hss::make_random_hss<float>(strata::ExecSpace(), tree, ranks, 3);
  expect_round_trip_exact(a, "geometric");
  // Loading into the other precision converts the values.
  const strata::Comm comm = strata::Comm::self();
  const std::string file = temp_file("convert");
  hss::save_hss(comm, file, a);
  const auto b = hss::load_hss<double>(comm, file);
  std::remove(file.c_str());
  EXPECT_EQ(b.ranks().row, a.ranks().row);
  EXPECT_EQ(b.ranks().col, a.ranks().col);
  EXPECT_FALSE(b.tree().is_identity());
  // Every float widens to double exactly, and to_dense forms each entry from the generators, so
  // compare the values rather than the ranks: the float generators, cast entry by entry to double,
  // must be the double generators. to_dense(b) (double arithmetic on the widened generators) and
  // to_dense(a) widened afterwards differ only by the float rounding of to_dense(a)'s sums and
  // products: each entry of to_dense is a chain of at most K = 2L + 2 products/sums of length
  // <= 2 r_max = 12 (the nested-basis path), so |to_dense(a) - to_dense(b)| <= gamma_{12 K}(float)
  // |U||B||V| entrywise plus the double rounding (negligible); with orthonormal-scaled random
  // generators |||U||B||V|||_F is within a small factor of ||A||_F, covered by the factor 2:
  // bound 2 * 12 K u_float ||A||_F, u_float = 2^-24 (~1e-5 at L = 4). A wrong or scrambled
  // conversion changes entries by O(1) relative to ||A||_F.
  strata::ExecSpace exec;
  const auto dense_a = strata::testing::to_host(hss::to_dense(exec, a));
  const auto dense_b = strata::testing::to_host(hss::to_dense(exec, b));
  ASSERT_EQ(dense_b.extent(0), dense_a.extent(0));
  ASSERT_EQ(dense_b.extent(1), dense_a.extent(1));
  double diff = 0, norm = 0;
  for (std::size_t j = 0; j < dense_a.extent(1); ++j) {
    for (std::size_t i = 0; i < dense_a.extent(0); ++i) {
      const double d = dense_b(i, j) - static_cast<double>(dense_a(i, j));
      diff += d * d;
      norm += dense_b(i, j) * dense_b(i, j);
    }
  }
  const double k_chain = 2.0 * tree.levels() + 2, inner = 2.0 * 6;
  const double bound = 2.0 * inner * k_chain * std::ldexp(1.0, -24);
  EXPECT_LE(std::sqrt(diff), bound * std::sqrt(norm));
  EXPECT_GT(norm, 0.0);
  // The generators themselves convert exactly: compare the flat arrays entry by entry.
  for (int l = 1; l <= a.levels(); ++l) {
    const auto ua = strata::testing::to_host(a.level(l).u);
    const auto ub = strata::testing::to_host(b.level(l).u);
    const auto va = strata::testing::to_host(a.level(l).v);
    const auto vb = strata::testing::to_host(b.level(l).v);
    const auto ba = strata::testing::to_host(a.level(l).b);
    const auto bb = strata::testing::to_host(b.level(l).b);
    ASSERT_EQ(ub.extent(0), ua.extent(0));
    ASSERT_EQ(vb.extent(0), va.extent(0));
    ASSERT_EQ(bb.extent(0), ba.extent(0));
    for (std::size_t i = 0; i < ua.extent(0); ++i)
      ASSERT_EQ(ub(i), static_cast<double>(ua(i))) << "U level " << l << " entry " << i;
    for (std::size_t i = 0; i < va.extent(0); ++i)
      ASSERT_EQ(vb(i), static_cast<double>(va(i))) << "V level " << l << " entry " << i;
    for (std::size_t i = 0; i < ba.extent(0); ++i)
      ASSERT_EQ(bb(i), static_cast<double>(ba(i))) << "B level " << l << " entry " << i;
  }
  const auto da = strata::testing::to_host(a.d());
  const auto db = strata::testing::to_host(b.d());
  ASSERT_EQ(db.extent(0), da.extent(0));
  for (std::size_t i = 0; i < da.extent(0); ++i)
    ASSERT_EQ(db(i), static_cast<double>(da(i))) << "D entry " << i;
}

TEST(HssIo, SingleLeaf) {
  expect_round_trip_exact(
      hss::make_random_hss<double>(strata::ExecSpace(), hss::ClusterTree::uniform(20, 32), 3, 4),
      "leaf");
}

TEST(HssIo, MissingOrForeignFiles) {
  const strata::Comm comm = strata::Comm::self();
  EXPECT_THROW(hss::load_hss<double>(comm, "/nonexistent/dir/h.h5"), strata::IOError);
  const std::string file = temp_file("foreign");
  hss::save_hss(
      comm, file,
      hss::make_random_hss<double>(strata::ExecSpace(), hss::ClusterTree::uniform(50, 20), 3, 5));
  EXPECT_THROW(hss::load_hss<double>(comm, file, "/other"), strata::IOError);
  std::remove(file.c_str());
  EXPECT_THROW(hss::save_hss(comm, "/nonexistent/dir/h.h5",
                             hss::make_random_hss<double>(strata::ExecSpace(),
                                                          hss::ClusterTree::uniform(50, 20), 3, 5)),
               strata::IOError);
}

// ---- the writer: one atomic writer for every output ----

class HssFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "strata-hss-io-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir = pattern;
    file = dir + "/h.h5";
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  static std::string read_text(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static hss::HssMatrix<double> matrix() {
    return hss::make_random_hss<double>(strata::ExecSpace(), hss::ClusterTree::uniform(64, 16), 4,
                                        9);
  }
  template <class F>
  static std::string error_of(F&& f) {
    try {
      f();
    } catch (const strata::Error& e) {
      return e.what();
    }
    return "no error";
  }
  /// Opens the saved file with the HDF5 C API and lets `edit` change it.
  template <class F>
  void edit(F&& change) const {
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    change(f);
    H5Fclose(f);
  }
  /// Replaces dataset `name` by one of `type` and `count` entries (written from `values` when
  /// given, else chunked and unwritten: a few bytes in the file whatever `count`).
  static void replace_dataset(hid_t f, const std::string& name, hid_t type, hsize_t count,
                              const void* values = nullptr, hid_t memory_type = -1) {
    ASSERT_GE(H5Ldelete(f, name.c_str(), H5P_DEFAULT), 0) << name;
    const hid_t space = H5Screate_simple(1, &count, nullptr);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    const hsize_t chunk = 1;
    if (!values) H5Pset_chunk(dcpl, 1, &chunk);
    const hid_t set = H5Dcreate2(f, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_GE(set, 0) << name;
    if (values) H5Dwrite(set, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
    H5Dclose(set);
    H5Pclose(dcpl);
    H5Sclose(space);
  }
  /// Replaces an integer attribute of /hss (delete and create: HDF5 1.10 cannot rewrite one
  /// created in place, "can't locate open attribute").
  static void set_attribute(hid_t f, const char* name, long long value) {
    ASSERT_GE(H5Adelete_by_name(f, "/hss", name, H5P_DEFAULT), 0) << name;
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t attribute = H5Acreate_by_name(f, "/hss", name, H5T_STD_I64LE, space, H5P_DEFAULT,
                                              H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(attribute, 0) << name;
    ASSERT_GE(H5Awrite(attribute, H5T_NATIVE_LLONG, &value), 0) << name;
    H5Aclose(attribute);
    H5Sclose(space);
  }

  std::string dir, file;
  const strata::Comm comm = strata::Comm::self();
};

TEST_F(HssFiles, SaveRefusesWhatItMustNotReplaceAndFollowsNoLink) {
  const std::string victim = dir + "/victim.txt";
  { std::ofstream(victim) << "precious"; }
  // The fixed temporary name of earlier versions, planted as a link to another file.
  ASSERT_EQ(symlink(victim.c_str(), (file + ".strata-tmp").c_str()), 0);
  hss::save_hss(comm, file, matrix());
  EXPECT_EQ(read_text(victim), "precious");
  EXPECT_FALSE(std::filesystem::is_symlink(file));
  EXPECT_EQ(hss::load_hss<double>(comm, file).size(), 64);

  // The output is the command's input: refused, the input untouched.
  const auto before = std::filesystem::file_size(file);
  EXPECT_THAT(error_of([&] { hss::save_hss(comm, file, matrix(), "/hss", {file}); }),
              ::testing::StartsWith("the output '" + file + "' is the input file"));
  EXPECT_EQ(std::filesystem::file_size(file), before);

  // A text file, a FIFO, a link: refused like the dense writer refuses them.
  EXPECT_EQ(error_of([&] { hss::save_hss(comm, victim, matrix()); }),
            "cannot write '" + victim +
                "': it exists but is not an HDF5 file (remove it or choose another name)");
  EXPECT_EQ(read_text(victim), "precious");
  const std::string fifo = dir + "/pipe.h5";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(error_of([&] { hss::save_hss(comm, fifo, matrix()); }),
              ::testing::HasSubstr("it is a FIFO"));
  const std::string link = dir + "/link.h5";
  ASSERT_EQ(symlink(victim.c_str(), link.c_str()), 0);
  EXPECT_THAT(error_of([&] { hss::save_hss(comm, link, matrix()); }),
              ::testing::HasSubstr("it is a symbolic link"));
  EXPECT_EQ(read_text(victim), "precious");

  // A 244-character name works (the temporary name is shortened, not the target's).
  const std::string long_name = dir + "/" + std::string(241, 'h') + ".h5";
  hss::save_hss(comm, long_name, matrix());
  EXPECT_EQ(hss::load_hss<double>(comm, long_name).size(), 64);
  EXPECT_EQ(files(),
            (std::vector<std::string>{"h.h5", "h.h5.strata-tmp", std::string(241, 'h') + ".h5",
                                      "link.h5", "pipe.h5", "victim.txt"}));
}

TEST_F(HssFiles, CraftedSizesAndTypesAreRefusedBeforeAllocating) {
  const auto saved = [&] {
    std::filesystem::remove(file);
    hss::save_hss(comm, file, matrix());
  };
  // An int32 generator: refused like integer data elsewhere (HDF5 would convert it silently).
  saved();
  const auto u_count = hss::load_hss<double>(comm, file).level(1).u.extent(0);
  edit([&](hid_t f) {
    const std::vector<int> ints(u_count, 1);
    replace_dataset(f, "/hss/level_1/U", H5T_STD_I32LE, u_count, ints.data(), H5T_NATIVE_INT);
  });
  EXPECT_EQ(error_of([&] { hss::load_hss<double>(comm, file); }),
            "dataset U in " + file + " has dtype integer (32-bit); expected float32 or float64");
  EXPECT_THROW(hss::load_hss<double>(comm, file), strata::Unsupported);

  // A permutation declaring 2^61 entries in a few-KB file.
  saved();
  edit([&](hid_t f) {
    replace_dataset(f, "/hss/permutation", H5T_STD_I64LE, hsize_t(1) << 61);
    set_attribute(f, "n", 1ll << 61);
  });
  EXPECT_THAT(error_of([&] { hss::load_hss<double>(comm, file); }),
              ::testing::StartsWith("reading " + file +
                                    ": permutation (2305843009213693952 entries) needs more than "
                                    "18446744073 GB"));

  // n that disagrees with the permutation; absurd level counts.
  saved();
  edit([&](hid_t f) { set_attribute(f, "n", (1ll << 40) + 3); });
  EXPECT_EQ(error_of([&] { hss::load_hss<double>(comm, file); }),
            "dataset permutation in " + file +
                " has 64 entries where the HSS structure stored beside it needs 1099511627779; "
                "the file is inconsistent");
  // A permutation of 2^30 entries (8 GiB, maybe available) beside n = 64: refused before
  // allocating (a fuzzed 13 KB file made the reader allocate 9 GB this way).
  saved();
  edit([&](hid_t f) { replace_dataset(f, "/hss/permutation", H5T_STD_I64LE, hsize_t(1) << 30); });
  EXPECT_EQ(error_of([&] { hss::load_hss<double>(comm, file); }),
            "dataset permutation in " + file +
                " has 1073741824 entries where the HSS structure stored beside it needs 64; the "
                "file is inconsistent");
  saved();
  edit([&](hid_t f) { set_attribute(f, "levels", 1000); });
  EXPECT_EQ(error_of([&] { hss::load_hss<double>(comm, file); }),
            file + ":/hss declares 1000 levels; a Strata HSS file has 0 to 40");

  // Ranks of 2^40 on a 64 x 64 matrix: the generators' size would overflow 64 bits. Refused by
  // the rank checks before any generator is allocated.
  saved();
  edit([&](hid_t f) {
    const std::vector<long long> huge(2, 1ll << 40);
    replace_dataset(f, "/hss/level_1/row_rank", H5T_STD_I64LE, 2, huge.data(), H5T_NATIVE_LLONG);
  });
  EXPECT_THAT(error_of([&] { hss::load_hss<double>(comm, file); }),
              ::testing::HasSubstr("ranks must be >= 0 and at most the rows of the basis"));

  // A rank table stored as floating point.
  saved();
  edit([&](hid_t f) {
    const std::vector<double> ranks(2, 4.0);
    replace_dataset(f, "/hss/level_1/col_rank", H5T_IEEE_F64LE, 2, ranks.data(), H5T_NATIVE_DOUBLE);
  });
  EXPECT_THAT(error_of([&] { hss::load_hss<double>(comm, file); }),
              ::testing::HasSubstr("col_rank in " + file + " does not hold integers"));

  // A 16-byte integer type: HDF5's conversion would allocate a buffer per element of the declared
  // size (a fuzzed file declared 4294574088 bytes and made H5Dread allocate 4 GB).
  saved();
  edit([&](hid_t f) {
    const hid_t wide = H5Tcopy(H5T_STD_I64LE);
    ASSERT_GE(H5Tset_size(wide, 16), 0);
    replace_dataset(f, "/hss/permutation", wide, 64);
    H5Tclose(wide);
  });
  EXPECT_EQ(error_of([&] { hss::load_hss<double>(comm, file); }),
            "dataset permutation in " + file +
                " has dtype integer of 16 bytes; expected an "
                "integer of 1, 2, 4 or 8 bytes");
}

TEST_F(HssFiles, AttributesMustHoldOneValueOfTheirType) {
  hss::save_hss(comm, file, matrix());
  // Replaces attribute `name` of /hss by one of `type` over `count` values (written as zeros).
  const auto replace_attribute = [&](const char* name, hid_t type, hsize_t count) {
    edit([&](hid_t f) {
      ASSERT_GE(H5Adelete_by_name(f, "/hss", name, H5P_DEFAULT), 0) << name;
      const hid_t space = count == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &count, nullptr);
      const hid_t attribute =
          H5Acreate_by_name(f, "/hss", name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      ASSERT_GE(attribute, 0) << name;
      const std::vector<char> zeros(H5Tget_size(type) * (count == 0 ? 1 : count), 0);
      ASSERT_GE(H5Awrite(attribute, type, zeros.data()), 0) << name;
      H5Aclose(attribute);
      H5Sclose(space);
    });
  };
  // 1000 values where one is read: before, H5Aread wrote 8000 bytes into an 8-byte variable.
  replace_attribute("n", H5T_STD_I64LE, 1000);
  EXPECT_EQ(error_of([&] { hss::load_hss<double>(comm, file); }),
            "attribute 'n' of " + file +
                ":/hss holds 1000 values where Strata writes one; the file "
                "was not written by Strata or is damaged");
  EXPECT_THROW(hss::load_hss<double>(comm, file), strata::IOError);

  // A string of 1000 characters per value, 50 values: the same for the dtype string.
  std::filesystem::remove(file);
  hss::save_hss(comm, file, matrix());
  const hid_t text = H5Tcopy(H5T_C_S1);
  ASSERT_GE(H5Tset_size(text, 1000), 0);
  replace_attribute("dtype", text, 50);
  EXPECT_EQ(error_of([&] { hss::stored_hss_dtype(comm, file); }),
            "attribute 'dtype' of " + file +
                ":/hss holds 50 values where Strata writes one; the "
                "file was not written by Strata or is damaged");

  // A string attribute that declares 1 MiB (dense attribute storage, as HDF5 needs for values
  // over 64 KiB): refused before the buffer is allocated.
  std::filesystem::remove(file);
  {
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);  // dense attributes need 1.8 object headers
    ASSERT_GE(H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), 0);
    const hid_t f = H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    const hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    ASSERT_GE(H5Pset_attr_phase_change(gcpl, 0, 0), 0);
    const hid_t g = H5Gcreate2(f, "/hss", H5P_DEFAULT, gcpl, H5P_DEFAULT);
    ASSERT_GE(g, 0);
    H5Pclose(gcpl);
    H5Gclose(g);
    H5Fclose(f);
  }
  ASSERT_GE(H5Tset_size(text, 1 << 20), 0);
  edit([&](hid_t f) {
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t attribute =
        H5Acreate_by_name(f, "/hss", "dtype", text, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(attribute, 0);
    const std::vector<char> zeros(1 << 20, 'x');
    ASSERT_GE(H5Awrite(attribute, text, zeros.data()), 0);
    H5Aclose(attribute);
    H5Sclose(space);
  });
  EXPECT_EQ(error_of([&] { hss::stored_hss_dtype(comm, file); }),
            "attribute 'dtype' of " + file +
                ":/hss declares a string of 1048576 bytes (Strata "
                "reads strings of 1 byte to 64 KiB)");
  H5Tclose(text);

  // An integer attribute stored as a string.
  std::filesystem::remove(file);
  hss::save_hss(comm, file, matrix());
  const hid_t short_text = H5Tcopy(H5T_C_S1);
  ASSERT_GE(H5Tset_size(short_text, 8), 0);
  replace_attribute("levels", short_text, 0);
  H5Tclose(short_text);
  EXPECT_EQ(error_of([&] { hss::load_hss<double>(comm, file); }),
            "attribute 'levels' of " + file +
                ":/hss has dtype non-numeric of 8 bytes; expected "
                "an integer of 1, 2, 4 or 8 bytes");
}

}  // namespace
