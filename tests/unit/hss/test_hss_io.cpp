// HSS matrices survive a save/load round trip through HDF5 bit for bit.
#include <gtest/gtest.h>

#include <unistd.h>
#include <cmath>
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

}  // namespace
