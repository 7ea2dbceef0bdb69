// HSS matrices survive a save/load round trip through HDF5 bit for bit.
#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <string>

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

}  // namespace
