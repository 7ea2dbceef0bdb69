// Sketch operators: the FWHT against an explicit Sylvester Hadamard matrix, every product against
// the explicit operator (materialize) multiplied on the host, the Hadamard structure of the SRHT,
// prefix and block independence, subspace-embedding distortion within the theoretical bounds,
// exact norm preservation of the full SRHT and the Hadamard rotation, and bad-input errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "strata/sketch/detail/kernel_traits.hpp"
#include "strata/sketch/detail/random_bits.hpp"
#include "strata/sketch/detail/team_kernels.hpp"
#include "strata/sketch/fwht.hpp"
#include "strata/sketch/operator.hpp"
#include "support/allclose.hpp"

namespace {

using strata::HostMatrix;
using strata::index_type;
using strata::Matrix;
namespace sk = strata::sketch;
using sk::OperatorKind;

template <class T>
double unit_roundoff() {
  return std::numeric_limits<T>::epsilon() / 2;
}

// Sylvester's construction H_{2m} = [[H_m, H_m], [H_m, -H_m]], built by doubling (independent of
// the popcount formula the kernels use).
HostMatrix<double> sylvester(index_type n) {
  HostMatrix<double> h("H", static_cast<std::size_t>(n), static_cast<std::size_t>(n));
  h(0, 0) = 1;
  for (index_type m = 1; m < n; m *= 2) {
    for (index_type j = 0; j < m; ++j)
      for (index_type i = 0; i < m; ++i) {
        h(i, j + m) = h(i, j);
        h(i + m, j) = h(i, j);
        h(i + m, j + m) = -h(i, j);
      }
  }
  return h;
}

template <class T>
Matrix<T> random_matrix(index_type rows, index_type cols, std::uint64_t seed) {
  Matrix<T> a("a", static_cast<std::size_t>(rows), static_cast<std::size_t>(cols));
  strata::fill_random(strata::ExecSpace(),
                      strata::RandomStream{strata::Distribution::gaussian, seed, 0}, a);
  return a;
}

template <class T>
HostMatrix<double> to_double(const Matrix<T>& a) {
  const auto h = strata::testing::to_host(a);
  HostMatrix<double> out("out", h.extent(0), h.extent(1));
  for (std::size_t j = 0; j < h.extent(1); ++j)
    for (std::size_t i = 0; i < h.extent(0); ++i) out(i, j) = static_cast<double>(h(i, j));
  return out;
}

template <class T>
Matrix<T> to_device(const HostMatrix<double>& a) {
  HostMatrix<T> cast("cast", a.extent(0), a.extent(1));
  for (std::size_t j = 0; j < a.extent(1); ++j)
    for (std::size_t i = 0; i < a.extent(0); ++i) cast(i, j) = static_cast<T>(a(i, j));
  Matrix<T> d("d", a.extent(0), a.extent(1));
  Kokkos::deep_copy(d, cast);
  return d;
}

// C = op(A) op(B) in double on the host, and |op(A)| |op(B)| for rounding bounds.
HostMatrix<double> host_product(const HostMatrix<double>& a, bool ta, const HostMatrix<double>& b,
                                bool tb, bool absolute = false) {
  const std::size_t m = ta ? a.extent(1) : a.extent(0), k = ta ? a.extent(0) : a.extent(1);
  const std::size_t n = tb ? b.extent(0) : b.extent(1);
  HostMatrix<double> c("c", m, n);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t l = 0; l < k; ++l) {
      const double blj = tb ? b(j, l) : b(l, j);
      for (std::size_t i = 0; i < m; ++i) {
        const double ail = ta ? a(l, i) : a(i, l);
        c(i, j) += absolute ? std::abs(ail) * std::abs(blj) : ail * blj;
      }
    }
  return c;
}

// Orthonormal n x k basis of a random k-dimensional subspace (LAPACK QR of a Gaussian matrix).
HostMatrix<double> random_subspace(index_type n, index_type k, std::uint64_t seed) {
  auto g = to_double(random_matrix<double>(n, k, seed));
  strata::linalg::host::qr_in_place(g);
  return g;
}

sk::SketchOperator make(OperatorKind kind, index_type d, index_type n, std::uint64_t seed = 11,
                        index_type nnz = 4) {
  sk::SketchOperator op;
  op.kind = kind;
  op.rows = d;
  op.cols = n;
  op.seed = seed;
  op.stream = 3;
  op.nnz = nnz;
  return op;
}

// Singular values of S U for an orthonormal U (fp64 throughout).
std::vector<double> sketched_singular_values(const sk::SketchOperator& op,
                                             const HostMatrix<double>& u) {
  Matrix<double> su("su", static_cast<std::size_t>(op.rows), u.extent(1));
  sk::sketch_rows<double>(strata::ExecSpace(), op, to_device<double>(u), su);
  return strata::linalg::host::singular_values(to_double(su));
}

// ---- FWHT
// -----------------------------------------------------------------------------------------

/// The entrywise error bound of one FWHT of length n of xh (values of x in double): each output is
/// a signed sum of the n inputs in a tree of depth log2 n, so its error is at most
/// log2(n) u ||x_c||_1 (+ one rounding of a scaling), and ||x_c||_1 <= n max|x|.
template <class T>
double fwht_error_bound(const HostMatrix<double>& xh, index_type n) {
  double max_abs = 0;
  for (std::size_t i = 0; i < xh.size(); ++i) max_abs = std::max(max_abs, std::abs(xh.data()[i]));
  return (std::log2(static_cast<double>(n)) + 1) * unit_roundoff<T>() * n * max_abs;
}

template <class T>
class Fwht : public ::testing::Test {};
using Precisions = ::testing::Types<double, float>;
TYPED_TEST_SUITE(Fwht, Precisions);

TYPED_TEST(Fwht, MatchesSylvesterProduct) {
  using T = TypeParam;
  // Tiles of 16 rows make N = 256 run 4 stages in team scratch and 4 as separate passes; the
  // default tile (1024) runs everything in scratch.
  for (const index_type n : {1, 2, 8, 256}) {
    for (const index_type tile : {16, 1024}) {
      const auto x = random_matrix<T>(n, 3, 5);
      const auto expected = host_product(sylvester(n), false, to_double(x), false);
      Matrix<T> y("y", x.extent(0), x.extent(1));
      Kokkos::deep_copy(y, x);
      sk::FwhtOptions o;
      o.tile_rows = tile;
      o.scale = 0.5;
      sk::fwht(strata::ExecSpace(), y, o);
      const double atol = fwht_error_bound<T>(to_double(x), n);
      HostMatrix<double> scaled("scaled", expected.extent(0), expected.extent(1));
      for (std::size_t i = 0; i < expected.size(); ++i) scaled.data()[i] = 0.5 * expected.data()[i];
      EXPECT_THAT(to_double(y), strata::testing::AllClose(scaled, 0.0, atol))
          << "N = " << n << ", tile = " << tile;
    }
  }
}

TYPED_TEST(Fwht, OrthonormalScalingPreservesNorms) {
  using T = TypeParam;
  const index_type n = 4096;  // > the default tile: two stages outside scratch
  const auto x = random_matrix<T>(n, 2, 8);
  Matrix<T> y("y", x.extent(0), x.extent(1));
  Kokkos::deep_copy(y, x);
  sk::FwhtOptions o;
  o.scale = 1 / std::sqrt(static_cast<double>(n));
  sk::fwht(strata::ExecSpace(), y, o);
  const auto xh = to_double(x), yh = to_double(y);
  for (std::size_t c = 0; c < 2; ++c) {
    double nx = 0, ny = 0;
    for (index_type i = 0; i < n; ++i) {
      nx += xh(i, c) * xh(i, c);
      ny += yh(i, c) * yh(i, c);
    }
    // H / sqrt(N) is orthogonal; each output carries a relative error <= (log2 N + 1) u.
    EXPECT_NEAR(std::sqrt(ny), std::sqrt(nx), 2 * (12 + 1) * unit_roundoff<T>() * std::sqrt(nx));
  }
}

TEST(Fwht, RejectsNonPowerOfTwo) {
  Matrix<double> x("x", 12, 2);
  EXPECT_THROW(sk::fwht(strata::ExecSpace(), x), strata::InvalidArgument);
  sk::FwhtOptions o;
  o.tile_rows = 3;
  Matrix<double> y("y", 16, 2);
  EXPECT_THROW(sk::fwht(strata::ExecSpace(), y, o), strata::InvalidArgument);
}

// ---- GPU (team-scratch) kernels, run here on the host backend --------------------------------
// The GPU code paths of the FWHT and the sparse-sign products, called directly through
// detail/team_kernels.hpp (team size 1 here, same index arithmetic and scratch requests).

template <class T>
class TeamKernels : public ::testing::Test {};
TYPED_TEST_SUITE(TeamKernels, Precisions);

TYPED_TEST(TeamKernels, FwhtMatchesSylvesterProductForAllSizesAndTiles) {
  using T = TypeParam;
  // Tiles of 2 and 8 rows force many upper passes with chunks narrower than 32 bytes; 64 gives
  // two or three passes with radix-8 groups; the default takes the largest scratch tile.
  for (index_type n = 2; n <= 1024; n *= 2) {
    for (const index_type tile :
         {index_type(2), index_type(8), index_type(64), sk::FwhtOptions{}.tile_rows}) {
      for (const index_type cols : {1, 3}) {
        const auto x = random_matrix<T>(n, cols, 17);
        Matrix<T> y("y", x.extent(0), x.extent(1));
        Kokkos::deep_copy(y, x);
        sk::detail::fwht_team(strata::ExecSpace(), y, tile, T(0.5));
        const auto xh = to_double(x);
        auto expected = host_product(sylvester(n), false, xh, false);
        for (std::size_t i = 0; i < expected.size(); ++i) expected.data()[i] *= 0.5;
        const double atol = fwht_error_bound<T>(xh, n);
        EXPECT_THAT(to_double(y), strata::testing::AllClose(expected, 0.0, atol))
            << "N = " << n << ", tile = " << tile << ", columns = " << cols;
      }
    }
  }
}

TYPED_TEST(TeamKernels, LargeFwhtIsAnInvolutionAndMatchesTheHostKernel) {
  using T = TypeParam;
  // N up to 2^16 (too large for an explicit product): H H = N I checks the transform on its own,
  // and the host kernel (a different stage order and blocking) checks it against a second code.
  for (index_type n = 2048; n <= (index_type(1) << 16); n *= 4) {
    for (const index_type tile : {index_type(16), index_type(256), sk::FwhtOptions{}.tile_rows}) {
      const index_type cols = n >= 16384 ? 2 : 3;
      const auto x = random_matrix<T>(n, cols, 23);
      Matrix<T> y("y", x.extent(0), x.extent(1)), z("z", x.extent(0), x.extent(1));
      Kokkos::deep_copy(y, x);
      Kokkos::deep_copy(z, x);
      sk::detail::fwht_team(strata::ExecSpace(), y, tile, T(1));
      sk::fwht(strata::ExecSpace(), z);
      const auto xh = to_double(x);
      // Each transform errs by at most (log2 N + 1) u N max|x| per entry (as above).
      const double bound = fwht_error_bound<T>(xh, n);
      EXPECT_THAT(to_double(y), strata::testing::AllClose(to_double(z), 0.0, 2 * bound))
          << "N = " << n << ", tile = " << tile;
      // Second transform scaled by 1/N (a power of two: exact) maps y back to x; the first
      // transform's error passes through H / N with norm 1 / sqrt(N) per entry... bounded by
      // the same entrywise bound, plus the second transform's bound on |y| <= N max|x|, / N.
      sk::detail::fwht_team(strata::ExecSpace(), y, tile, static_cast<T>(1.0 / n));
      EXPECT_THAT(to_double(y), strata::testing::AllClose(xh, 0.0, 2 * bound))
          << "H H / N, N = " << n << ", tile = " << tile;
    }
  }
}

TYPED_TEST(TeamKernels, GroupedFwhtMatchesSylvesterProductForAllSizesTilesAndGroups) {
  using T = TypeParam;
  // The grouped GPU kernel: tiles of 2 and 8 rows give up to 10 passes (more than the 2 passes
  // one launch holds: the pipeline splits its launches), 64 gives rounds of fewer stages than
  // the registers hold, the default tile one pass up to N = 4096 fp64 / 8192 fp32. Groups: all
  // columns at once (0), one column per group (1 byte), and two columns per group (so the last
  // group of 5 is partial), each pipelined over the passes.
  for (index_type n = 2; n <= 1024; n *= 2) {
    for (const index_type tile :
         {index_type(2), index_type(8), index_type(64), sk::FwhtOptions{}.tile_rows}) {
      for (const std::size_t group :
           {std::size_t(0), std::size_t(1), std::size_t(2 * n) * sizeof(T)}) {
        const index_type cols = 5;
        const auto x = random_matrix<T>(n, cols, 19);
        Matrix<T> y("y", x.extent(0), x.extent(1));
        Kokkos::deep_copy(y, x);
        sk::detail::fwht_grouped_team(strata::ExecSpace(), y, tile, group, T(0.5));
        const auto xh = to_double(x);
        auto expected = host_product(sylvester(n), false, xh, false);
        for (std::size_t i = 0; i < expected.size(); ++i) expected.data()[i] *= 0.5;
        const double atol = fwht_error_bound<T>(xh, n);
        EXPECT_THAT(to_double(y), strata::testing::AllClose(expected, 0.0, atol))
            << "N = " << n << ", tile = " << tile << ", group bytes = " << group;
      }
    }
  }
}

TYPED_TEST(TeamKernels, LargeGroupedFwhtIsAnInvolutionAndMatchesTheHostKernel) {
  using T = TypeParam;
  // N up to 2^16 with the default tile: two passes (the pipelined case of the GPU shape
  // N = 2^20), with one and with all columns per group; tile 256: three passes.
  for (index_type n = 2048; n <= (index_type(1) << 16); n *= 4) {
    for (const index_type tile : {index_type(256), sk::FwhtOptions{}.tile_rows}) {
      for (const std::size_t group : {std::size_t(0), std::size_t(1)}) {
        const index_type cols = 3;
        const auto x = random_matrix<T>(n, cols, 29);
        Matrix<T> y("y", x.extent(0), x.extent(1)), z("z", x.extent(0), x.extent(1));
        Kokkos::deep_copy(y, x);
        Kokkos::deep_copy(z, x);
        sk::detail::fwht_grouped_team(strata::ExecSpace(), y, tile, group, T(1));
        sk::fwht(strata::ExecSpace(), z);
        const auto xh = to_double(x);
        // Each transform errs by at most (log2 N + 1) u N max|x| per entry, as in
        // LargeFwhtIsAnInvolutionAndMatchesTheHostKernel.
        const double bound = fwht_error_bound<T>(xh, n);
        EXPECT_THAT(to_double(y), strata::testing::AllClose(to_double(z), 0.0, 2 * bound))
            << "N = " << n << ", tile = " << tile << ", group bytes = " << group;
        sk::detail::fwht_grouped_team(strata::ExecSpace(), y, tile, group, static_cast<T>(1.0 / n));
        EXPECT_THAT(to_double(y), strata::testing::AllClose(xh, 0.0, 2 * bound))
            << "H H / N, N = " << n << ", tile = " << tile << ", group bytes = " << group;
      }
    }
  }
}

TYPED_TEST(TeamKernels, FusedSrhtMatchesTheExplicitOperatorOnEveryBlockSplit) {
  using T = TypeParam;
  // The fused GPU SRHT (srht_left_team: sign flip in the first pass, row sample gathered in the
  // last) against S(i, j) = D_j H_N(pi_i, j) built from the explicit Sylvester matrix, the
  // documented sign generator and srht_sampled_rows, on the column ranges [b, b + r) of a
  // distributed product: the whole padded range (one block of 1024, 24 zero rows), a middle
  // range (dyadic blocks of 1 .. 256 rows, accumulated, signs (-1)^popcount(pi_i & c)) and the
  // last range (extended to N by zero rows). Tiles 2 (10 passes: split launches), 16 and the
  // default; groups of all, one and two columns.
  const index_type n = 1000, d = 37, k = 5;
  const auto op = make(OperatorKind::srht, d, n, 31);
  const index_type big_n = op.padded_cols();
  const auto h = sylvester(big_n);
  const auto rows = sk::srht_sampled_rows(op);
  std::vector<double> signs(static_cast<std::size_t>(big_n));
  for (index_type j = 0; j < big_n; ++j) {
    signs[static_cast<std::size_t>(j)] =
        sk::detail::random_sign<double>(op.seed, op.stream, sk::detail::tag_signs_d2, j);
  }
  const auto a = random_matrix<T>(n, k, 37);
  const auto ah = to_double(a);
  // The scale the kernel multiplies by (rounded to T).
  const T scale = static_cast<T>(sk::entry_scale(op, true));
  struct Range {
    index_type b, r;
  };
  for (const Range range : {Range{0, n}, Range{3, 500}, Range{503, 497}}) {
    // out(i, c) = scale sum_{j in range} D_j H(pi_i, j) a(j, c), and the same with |.| terms,
    // accumulated in long double so that the reference's own rounding (<= 1000 terms at the
    // long double unit roundoff, or u_double where long double is double) stays far below the
    // tolerance of the kernel below.
    std::vector<long double> want(static_cast<std::size_t>(d * k)), size(want.size());
    for (index_type c = 0; c < k; ++c)
      for (index_type i = 0; i < d; ++i)
        for (index_type j = range.b; j < range.b + range.r; ++j) {
          const long double term = static_cast<long double>(scale) *
                                   signs[static_cast<std::size_t>(j)] *
                                   h(static_cast<std::size_t>(rows[static_cast<std::size_t>(i)]),
                                     static_cast<std::size_t>(j)) *
                                   ah(static_cast<std::size_t>(j), static_cast<std::size_t>(c));
          want[static_cast<std::size_t>(i + c * d)] += term;
          size[static_cast<std::size_t>(i + c * d)] += std::abs(term);
        }
    const auto part = Kokkos::subview(a, std::make_pair(range.b, range.b + range.r), Kokkos::ALL);
    Matrix<T> block("block", static_cast<std::size_t>(range.r), static_cast<std::size_t>(k));
    Kokkos::deep_copy(block, part);
    for (const index_type tile : {index_type(2), index_type(16), sk::FwhtOptions{}.tile_rows}) {
      for (const std::size_t group : {std::size_t(0), std::size_t(1), std::size_t(1) << 14}) {
        sk::FwhtOptions f;
        f.tile_rows = tile;
        f.group_bytes = group;
        Matrix<T> out("out", static_cast<std::size_t>(d), static_cast<std::size_t>(k));
        sk::detail::srht_left_team<T>(strata::ExecSpace(), op, block, range.b, rows, out, scale, f);
        // Each output is a sum over at most 2 log2 N dyadic blocks of a tree sum of depth
        // <= log2 N times the scale (one rounding; the signs are exact): |error| <= gamma_m
        // sum |terms| with m = 3 log2 N + 1, plus 1 for the reference's rounding.
        const double m = 3 * std::log2(static_cast<double>(big_n)) + 2;
        const double gamma = m * unit_roundoff<T>() / (1 - m * unit_roundoff<T>());
        const auto got = to_double(out);
        for (std::size_t q = 0; q < got.size(); ++q) {
          ASSERT_LE(std::abs(static_cast<long double>(got.data()[q]) - want[q]), gamma * size[q])
              << "range [" << range.b << ", " << range.b + range.r << "), tile " << tile
              << ", group bytes " << group << ", entry " << q;
        }
      }
    }
  }
}

TYPED_TEST(TeamKernels, SparseSignProductsEqualHostKernelsAndExplicitOperator) {
  using T = TypeParam;
  struct SparseCase {
    index_type d, n, nnz, b, e, k;
  };
  // Column blocks [b, e) inside [0, n); d and k not multiples of the team's rows (16 per lane
  // group) and columns (one per lane). The last two blocks span several scratch tiles of A (on
  // the host's one-thread teams 2048 rows in fp64, 4096 in fp32), so each row's CSR walk resumes
  // across tiles, and d spans several row blocks.
  for (const auto& c : std::vector<SparseCase>{{12, 77, 3, 0, 77, 5},
                                               {37, 1500, 8, 200, 1200, 9},
                                               {5, 300, 5, 0, 300, 1},
                                               {64, 900, 1, 100, 900, 20},
                                               {1, 50, 1, 0, 50, 3},
                                               {40, 9000, 4, 500, 9000, 3},
                                               {100, 13000, 16, 0, 13000, 2}}) {
    const auto op = make(OperatorKind::sparse_sign, c.d, c.n, 31, c.nnz);
    const strata::ExecSpace exec;
    sk::SparseSignMatrix s(exec, op, c.b, c.e);
    const index_type w = c.e - c.b;
    const auto a = random_matrix<T>(w, c.k, 5);
    const auto b = random_matrix<T>(c.k, w, 6);
    Matrix<T> sa("sa", static_cast<std::size_t>(c.d), static_cast<std::size_t>(c.k));
    Matrix<T> bs("bs", static_cast<std::size_t>(c.k), static_cast<std::size_t>(c.d));
    if (sk::detail::KernelTraits<strata::ExecSpace>::host_loops) {
      // Host spaces build the row-sorted copy only on request; device spaces at construction.
      EXPECT_THROW(
          sk::detail::sparse_product_team(exec, s, strata::ConstMatrix<T>(a), sa, T(1), false),
          strata::InvalidArgument);
      s.build_rows(exec);
    }
    const T scale = static_cast<T>(sk::entry_scale(op, true));
    // S A by the columns kernel (a team per column of A, the column in chunks of ~4000 rows in
    // fp64, ~8000 in fp32 on the host's 32 KiB of team scratch: the last two cases span several
    // chunks); below, by the tiles kernel into sa_tiles.
    ASSERT_TRUE(sk::detail::sparse_columns_fit<T>(c.d));
    sk::detail::sparse_product_team(exec, s, strata::ConstMatrix<T>(a), sa, scale, false,
                                    sk::SparseGpuKernel::columns);
    Matrix<T> sa_tiles("sa_tiles", sa.extent(0), sa.extent(1));
    sk::detail::sparse_product_team(exec, s, strata::ConstMatrix<T>(a), sa_tiles, scale, false,
                                    sk::SparseGpuKernel::tiles);
    // The column-blocks kernel: 8 columns of a per team (k = 1, 2, 3, 5, 9, 20: partial blocks),
    // chunks of ~500 rows in fp64 on the host's team scratch (the w >= 1000 cases span several),
    // and on the host's one-thread teams 4 rows of S per pass, so every d > 4 takes several passes.
    // NaN-filled first: every entry must be written.
    Matrix<T> sa_blocks("sa_blocks", sa.extent(0), sa.extent(1));
    Kokkos::deep_copy(sa_blocks, std::numeric_limits<T>::quiet_NaN());
    sk::detail::sparse_product_team(exec, s, strata::ConstMatrix<T>(a), sa_blocks, scale, false,
                                    sk::SparseGpuKernel::column_blocks);
    sk::detail::sparse_product_team(exec, s, strata::ConstMatrix<T>(b), bs, scale, true);
    // The host kernels add the same terms in the same (increasing column) order: bitwise equal.
    Matrix<T> sa_host("sa_host", sa.extent(0), sa.extent(1));
    Matrix<T> bs_host("bs_host", bs.extent(0), bs.extent(1));
    sk::sketch_rows<T>(exec, s, a, sa_host);
    sk::sketch_columns<T>(exec, s, b, bs_host);
    const auto got_sa = to_double(sa), got_bs = to_double(bs);
    const auto host_sa = to_double(sa_host), host_bs = to_double(bs_host);
    const auto got_tiles = to_double(sa_tiles), got_blocks = to_double(sa_blocks);
    for (std::size_t i = 0; i < got_sa.size(); ++i) {
      ASSERT_EQ(got_sa.data()[i], host_sa.data()[i]) << "S A entry " << i << ", d = " << c.d;
      ASSERT_EQ(got_tiles.data()[i], host_sa.data()[i]) << "S A (tiles) entry " << i;
      ASSERT_EQ(got_blocks.data()[i], host_sa.data()[i]) << "S A (column blocks) entry " << i;
    }
    for (std::size_t i = 0; i < got_bs.size(); ++i)
      ASSERT_EQ(got_bs.data()[i], host_bs.data()[i]) << "A S^T entry " << i << ", d = " << c.d;
    // Against the explicit block: sums of at most w terms, |error| <= gamma_{w+1} (|S| |A|).
    const auto dense = to_double(sk::materialize<T>(exec, op, c.b, c.e));
    const double g = 2 * (w + 1) * unit_roundoff<T>();
    const auto ref_sa = host_product(dense, false, to_double(a), false);
    const auto abs_sa = host_product(dense, false, to_double(a), false, true);
    const auto ref_bs = host_product(to_double(b), false, dense, true);
    const auto abs_bs = host_product(to_double(b), false, dense, true, true);
    for (std::size_t i = 0; i < ref_sa.size(); ++i)
      ASSERT_LE(std::abs(got_sa.data()[i] - ref_sa.data()[i]), g * abs_sa.data()[i] + 1e-300)
          << "S A entry " << i << ", d = " << c.d;
    for (std::size_t i = 0; i < ref_bs.size(); ++i)
      ASSERT_LE(std::abs(got_bs.data()[i] - ref_bs.data()[i]), g * abs_bs.data()[i] + 1e-300)
          << "A S^T entry " << i << ", d = " << c.d;
  }
  // More rows of S than the columns kernel can hold in team scratch: refused with a clear error,
  // while the automatic choice (which would throw the same if it took the columns kernel) runs
  // the column blocks (or the tiles), bitwise equal to the tiles.
  index_type too_many = 1;
  while (sk::detail::sparse_columns_fit<T>(too_many)) too_many *= 2;
  too_many *= 2;
  const auto op = make(OperatorKind::sparse_sign, too_many, 40, 31, 2);
  const strata::ExecSpace exec;
  sk::SparseSignMatrix s(exec, op, 0, 40);
  if (sk::detail::KernelTraits<strata::ExecSpace>::host_loops) s.build_rows(exec);
  const auto a = random_matrix<T>(40, 3, 5);
  Matrix<T> sa("sa", static_cast<std::size_t>(too_many), 3), sa_auto("sa_auto", sa.extent(0), 3);
  EXPECT_THROW(sk::detail::sparse_product_team(exec, s, strata::ConstMatrix<T>(a), sa, T(1), false,
                                               sk::SparseGpuKernel::columns),
               strata::InvalidArgument);
  sk::detail::sparse_product_team(exec, s, strata::ConstMatrix<T>(a), sa_auto, T(1), false);
  sk::detail::sparse_product_team(exec, s, strata::ConstMatrix<T>(a), sa, T(1), false,
                                  sk::SparseGpuKernel::tiles);
  const auto got_auto = to_double(sa_auto), got_tiles = to_double(sa);
  for (std::size_t i = 0; i < got_auto.size(); ++i)
    ASSERT_EQ(got_auto.data()[i], got_tiles.data()[i]) << "entry " << i;
}

// ---- products equal the explicit operator
// ---------------------------------------------------------

struct Case {
  OperatorKind kind;
  index_type d, n;
};

std::vector<Case> all_cases() {
  return {{OperatorKind::gaussian, 7, 50},   {OperatorKind::rademacher, 9, 300},
          {OperatorKind::srht, 10, 50},      {OperatorKind::srht, 64, 64},
          {OperatorKind::hadamard, 64, 50},  {OperatorKind::sparse_sign, 12, 77},
          {OperatorKind::sparse_sign, 5, 40}};
}

template <class T>
class Products : public ::testing::Test {};
TYPED_TEST_SUITE(Products, Precisions);

TYPED_TEST(Products, LeftAndRightMatchExplicitOperator) {
  using T = TypeParam;
  for (const auto& c : all_cases()) {
    const auto op =
        make(c.kind, c.d, c.n, 21, c.kind == OperatorKind::sparse_sign && c.d == 5 ? 5 : 3);
    const auto s = to_double(sk::materialize<T>(strata::ExecSpace(), op, 0, c.n));
    const auto a = random_matrix<T>(c.n, 4, 2);
    const auto b = random_matrix<T>(6, c.n, 3);
    Matrix<T> sa("sa", static_cast<std::size_t>(c.d), 4),
        bs("bs", 6, static_cast<std::size_t>(c.d));
    sk::sketch_rows<T>(strata::ExecSpace(), op, a, sa);
    sk::sketch_columns<T>(strata::ExecSpace(), op, b, bs);
    // Both sides are sums of n products: |error| <= gamma_{n + 2 log2 N} (|S| |A|)_ij, where the
    // 2 log2 N covers the FWHTs of the fast paths and of materialize (hadamard), with a factor 2.
    const double levels = c.n + 2 * std::log2(static_cast<double>(op.padded_cols())) + 2;
    const double g = 2 * levels * unit_roundoff<T>();
    const auto ref_sa = host_product(s, false, to_double(a), false);
    const auto abs_sa = host_product(s, false, to_double(a), false, true);
    const auto ref_bs = host_product(to_double(b), false, s, true);
    const auto abs_bs = host_product(to_double(b), false, s, true, true);
    const auto got_sa = to_double(sa), got_bs = to_double(bs);
    for (std::size_t i = 0; i < ref_sa.size(); ++i)
      ASSERT_LE(std::abs(got_sa.data()[i] - ref_sa.data()[i]), g * abs_sa.data()[i] + 1e-300)
          << sk::operator_name(c.kind) << " S A entry " << i;
    for (std::size_t i = 0; i < ref_bs.size(); ++i)
      ASSERT_LE(std::abs(got_bs.data()[i] - ref_bs.data()[i]), g * abs_bs.data()[i] + 1e-300)
          << sk::operator_name(c.kind) << " A S^T entry " << i;
  }
}

TYPED_TEST(Products, HadamardRotationMatchesTheExplicitSylvesterProduct) {
  // The reference in LeftAndRightMatchExplicitOperator is `materialize`, which runs the same FWHT
  // as the fast paths; here T = (1/N) H_N D1 H_N D2 (first n columns) is built from the explicit
  // Sylvester matrix (doubling, above) and the documented sign generator (random_bits.hpp: D2 from
  // tag_signs_d2, D1 from tag_signs_d1, counter j), in fp64 on the host.
  using T = TypeParam;
  for (const index_type n : {index_type(50), index_type(64)}) {
    const auto op = make(OperatorKind::hadamard, 64, n, 21, 3);
    const index_type big_n = op.padded_cols();
    ASSERT_EQ(big_n, 64);
    const auto h = sylvester(big_n);
    std::vector<double> d1(static_cast<std::size_t>(big_n)), d2(d1.size());
    for (index_type j = 0; j < big_n; ++j) {
      d1[static_cast<std::size_t>(j)] =
          sk::detail::random_sign<double>(op.seed, op.stream, sk::detail::tag_signs_d1, j);
      d2[static_cast<std::size_t>(j)] =
          sk::detail::random_sign<double>(op.seed, op.stream, sk::detail::tag_signs_d2, j);
    }
    const auto got = to_double(sk::materialize<T>(strata::ExecSpace(), op, 0, n));
    ASSERT_EQ(got.extent(0), static_cast<std::size_t>(big_n));
    ASSERT_EQ(got.extent(1), static_cast<std::size_t>(n));
    // Entries are sums of N terms +-1/N, exact in fp64 (multiples of 1/N, N a power of two), so the
    // reference is exact; materialize's FWHTs (2 log2 N additions per entry of values <= 1 in
    // size) and the final scaling round to <= (2 log2 N + 1) u_T, doubled for safety.
    const double tol = 2 * (2 * std::log2(double(big_n)) + 1) * unit_roundoff<T>();
    for (index_type j = 0; j < n; ++j)
      for (index_type i = 0; i < big_n; ++i) {
        double want = 0;
        for (index_type l = 0; l < big_n; ++l)
          want += h(static_cast<std::size_t>(i), static_cast<std::size_t>(l)) *
                  d1[static_cast<std::size_t>(l)] *
                  h(static_cast<std::size_t>(l), static_cast<std::size_t>(j));
        want *= d2[static_cast<std::size_t>(j)] / double(big_n);
        ASSERT_NEAR(got(static_cast<std::size_t>(i), static_cast<std::size_t>(j)), want, tol)
            << "n = " << n << ", entry (" << i << ", " << j << ")";
      }
  }
}

TEST(Products, Fp32AgreesWithFp64ToRounding) {
  for (const auto& c : all_cases()) {
    const auto op = make(c.kind, c.d, c.n);
    const auto a = random_matrix<double>(c.n, 3, 4);
    Matrix<float> a32("a32", a.extent(0), a.extent(1));
    Kokkos::deep_copy(a32, to_device<float>(to_double(a)));
    Matrix<double> s64("s64", static_cast<std::size_t>(c.d), 3);
    Matrix<float> s32("s32", static_cast<std::size_t>(c.d), 3);
    sk::sketch_rows<double>(strata::ExecSpace(), op, a, s64);
    sk::sketch_rows<float>(strata::ExecSpace(), op, a32, s32);
    // fp32 entries of S are the fp64 ones rounded (Gaussian ones come from the fp32 stream, float
    // Box-Muller, so there the reference is the fp64 product with S's own fp32 entries); sums of
    // n terms: gamma_{n + 2 log N + 2}(fp32) relative to |S||A|, bounded crudely by
    // (n+20) u32 * sum|S||A|.
    const bool gaussian = c.kind == OperatorKind::gaussian;
    const auto s_entries =
        gaussian ? to_double(sk::materialize<float>(strata::ExecSpace(), op, 0, c.n))
                 : to_double(sk::materialize<double>(strata::ExecSpace(), op, 0, c.n));
    const auto abs_sa = host_product(s_entries, false, to_double(a), false, true);
    const auto x = to_double(s32);
    const auto y = gaussian ? host_product(s_entries, false, to_double(a), false) : to_double(s64);
    for (std::size_t i = 0; i < x.size(); ++i)
      EXPECT_LE(std::abs(x.data()[i] - y.data()[i]),
                2 * (c.n + 2 * 12 + 3) * unit_roundoff<float>() * abs_sa.data()[i])
          << sk::operator_name(c.kind);
  }
}

// ---- structure, scaling, reproducibility
// ----------------------------------------------------------

TEST(Structure, SrhtRowsAreSignedHadamardRows) {
  // sqrt(d) S(i, j) = D_j H(pi_i, j): the product of rows i and 0 entrywise removes D and leaves
  // H(pi_i, j) H(pi_0, j) = H(pi_i xor pi_0, j), a row of the Sylvester matrix.
  const auto op = make(OperatorKind::srht, 20, 64);
  const auto s = to_double(sk::materialize<double>(strata::ExecSpace(), op, 0, 64));
  const auto rows = sk::srht_sampled_rows(op);
  const auto h = sylvester(64);
  std::set<index_type> distinct(rows.begin(), rows.end());
  EXPECT_EQ(distinct.size(), rows.size()) << "rows sampled without replacement";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ASSERT_GE(rows[i], 0);
    ASSERT_LT(rows[i], 64);
    for (index_type j = 0; j < 64; ++j) {
      const double product = 20.0 * s(i, j) * s(0, j);
      ASSERT_DOUBLE_EQ(product, h(rows[i] ^ rows[0], j)) << "row " << i << " col " << j;
    }
  }
}

TEST(Structure, SrhtRowsAreAnExplicitPartialFisherYatesShuffle) {
  // operator.hpp: step i swaps position i of pi = (0, 1, ..., N-1) (N: n padded to a power of
  // two) with the uniform position
  // i + uniform_below(word 0 of counter (i, 0, tag_permutation), N - i); the first d entries
  // are the rows. Here on an explicit array (srht_sampled_rows stores only displaced positions),
  // with N up to 2^20 and d up to N (every position displaced at most once or many times).
  for (const index_type n : {index_type(5), index_type(64), index_type(1) << 20}) {
    for (const index_type d : {index_type(1), std::min<index_type>(n, 37), n}) {
      if (n == (index_type(1) << 20) && d == n) continue;  // covered by the smaller cases
      const auto op = make(OperatorKind::srht, d, n, 17);
      const index_type big_n = op.padded_cols();  // 8 for n = 5
      std::vector<index_type> pi(static_cast<std::size_t>(big_n));
      for (index_type p = 0; p < big_n; ++p) pi[static_cast<std::size_t>(p)] = p;
      for (index_type i = 0; i < d; ++i) {
        const auto bits = sk::detail::philox_bits(op.seed, op.stream, sk::detail::tag_permutation,
                                                  static_cast<std::uint64_t>(i), 0);
        const index_type j = i + sk::detail::uniform_below(bits.v[0], big_n - i);
        std::swap(pi[static_cast<std::size_t>(i)], pi[static_cast<std::size_t>(j)]);
      }
      const auto rows = sk::srht_sampled_rows(op);
      ASSERT_EQ(rows.size(), static_cast<std::size_t>(d));
      for (index_type i = 0; i < d; ++i) {
        ASSERT_EQ(rows[static_cast<std::size_t>(i)], pi[static_cast<std::size_t>(i)])
            << "N = " << n << ", d = " << d << ", row " << i;
      }
    }
  }
}

TEST(Structure, SparseSignColumnsHaveDistinctRowsAndScaledSigns) {
  for (const index_type s : {1, 3, 8}) {
    const auto op = make(OperatorKind::sparse_sign, 8, 500, 5, s);
    const auto m = to_double(sk::materialize<double>(strata::ExecSpace(), op, 0, 500));
    for (index_type j = 0; j < 500; ++j) {
      index_type count = 0;
      for (index_type i = 0; i < 8; ++i) {
        if (m(i, j) != 0) {
          ++count;
          ASSERT_DOUBLE_EQ(std::abs(m(i, j)), 1 / std::sqrt(static_cast<double>(s)));
        }
      }
      ASSERT_EQ(count, s) << "column " << j;
    }
  }
}

TEST(Structure, UnscaledIsScaledOverEntryScale) {
  for (const auto& c : all_cases()) {
    const auto op = make(c.kind, c.d, c.n);
    sk::ApplyOptions raw;
    raw.isometry_scaling = false;
    const auto scaled = to_double(sk::materialize<double>(strata::ExecSpace(), op, 0, c.n));
    const auto unscaled = to_double(sk::materialize<double>(strata::ExecSpace(), op, 0, c.n, raw));
    const double f = sk::entry_scale(op, true);
    for (std::size_t i = 0; i < scaled.size(); ++i)
      ASSERT_NEAR(scaled.data()[i], f * unscaled.data()[i],
                  1e-14 * std::abs(f * unscaled.data()[i]))
          << sk::operator_name(c.kind);
  }
}

TEST(Reproducibility, PrefixOfRowsIsTheSmallerOperator) {
  sk::ApplyOptions raw;
  raw.isometry_scaling = false;
  for (const auto kind : {OperatorKind::gaussian, OperatorKind::rademacher, OperatorKind::srht}) {
    const auto big =
        to_double(sk::materialize<double>(strata::ExecSpace(), make(kind, 40, 100), 0, 100, raw));
    const auto small =
        to_double(sk::materialize<double>(strata::ExecSpace(), make(kind, 13, 100), 0, 100, raw));
    for (index_type j = 0; j < 100; ++j)
      for (index_type i = 0; i < 13; ++i)
        ASSERT_EQ(small(i, j), big(i, j))
            << sk::operator_name(kind) << " (" << i << ", " << j << ")";
  }
}

TEST(Reproducibility, ColumnBlocksAreGeneratedIndependently) {
  for (const auto& c : all_cases()) {
    const auto op = make(c.kind, c.d, c.n);
    const auto whole = to_double(sk::materialize<double>(strata::ExecSpace(), op, 0, c.n));
    const index_type b = c.n / 3, e = c.n - 2;
    const auto block = to_double(sk::materialize<double>(strata::ExecSpace(), op, b, e));
    for (index_type j = b; j < e; ++j)
      for (index_type i = 0; i < c.d; ++i)
        ASSERT_EQ(block(i, j - b), whole(i, j)) << sk::operator_name(c.kind);
  }
}

TEST(Reproducibility, SeedAndStreamChangeTheOperator) {
  const auto a = to_double(
      sk::materialize<double>(strata::ExecSpace(), make(OperatorKind::srht, 8, 32, 1), 0, 32));
  auto other = make(OperatorKind::srht, 8, 32, 1);
  other.stream = 4;
  const auto b = to_double(sk::materialize<double>(strata::ExecSpace(), other, 0, 32));
  int same = 0;
  for (std::size_t i = 0; i < a.size(); ++i) same += a.data()[i] == b.data()[i];
  EXPECT_LT(same, static_cast<int>(a.size() * 3 / 4));
}

// ---- subspace embedding
// ---------------------------------------------------------------------------

void expect_within(const std::vector<double>& sv, double lo, double hi, const char* what) {
  for (const double s : sv) {
    EXPECT_GE(s, lo) << what;
    EXPECT_LE(s, hi) << what;
  }
}

TEST(SubspaceEmbedding, GaussianAndRademacher) {
  // S U is a d x k matrix with iid N(0, 1/d) entries (U orthonormal, Gaussian rotation
  // invariance); Davidson-Szarek (Vershynin, arXiv 1011.3027, Cor. 5.35): its singular values lie
  // in 1 +- (sqrt(k) + t) / sqrt(d) with probability >= 1 - 2 exp(-t^2 / 2). d = 256, k = 8,
  // t = 4: eps = 0.427, failure probability <= 6.7e-4 (and the seed is fixed).
  const index_type n = 1024, d = 256, k = 8;
  const auto u = random_subspace(n, k, 99);
  const double eps_gauss = (std::sqrt(8.0) + 4) / 16;
  expect_within(sketched_singular_values(make(OperatorKind::gaussian, d, n), u), 1 - eps_gauss,
                1 + eps_gauss, "gaussian");
  // Rademacher rows are isotropic and sub-Gaussian: the same bound holds up to an absolute
  // constant (Vershynin Thm 5.39); we allow t = 6: eps = 0.55.
  const double eps_rad = (std::sqrt(8.0) + 6) / 16;
  expect_within(sketched_singular_values(make(OperatorKind::rademacher, d, n), u), 1 - eps_rad,
                1 + eps_rad, "rademacher");
}

TEST(SubspaceEmbedding, Srht) {
  // Tropp, "Improved analysis of the subsampled randomized Hadamard transform" (2011), Thm 3.1:
  // if 4 [sqrt(k) + sqrt(8 log(k n))]^2 log(k) <= d <= n, the singular values of S U lie in
  // [sqrt(0.40), sqrt(1.48)]. n = 4096, k = 4: the left side is 648 <= d = 1024.
  const index_type n = 4096, d = 1024, k = 4;
  const auto u = random_subspace(n, k, 7);
  expect_within(sketched_singular_values(make(OperatorKind::srht, d, n), u), std::sqrt(0.40),
                std::sqrt(1.48), "srht");
}

TEST(SubspaceEmbedding, SparseSign) {
  // For s nonzeros per column at distinct rows with signs +-1/sqrt(s), M = U^T S^T S U - I has
  // E ||M||_F^2 <= (k^2 + k) / d (columns j != j' collide in a row with E <S_j, S_j'>^2 = 1/d;
  // the same second moment as CountSketch, Nelson & Nguyen, OSNAP, 2013). Chebyshev with
  // delta = 0.01: ||M||_2 <= eps = sqrt((k^2 + k) / (d delta)) = 0.699 for k = 4, d = 4096, so the
  // singular values of S U lie in [sqrt(1 - eps), sqrt(1 + eps)] = [0.549, 1.303].
  const index_type n = 8192, d = 4096, k = 4;
  const auto u = random_subspace(n, k, 17);
  const double eps = std::sqrt(20.0 / (4096 * 0.01));
  for (const index_type s : {1, 4, 8}) {
    expect_within(sketched_singular_values(make(OperatorKind::sparse_sign, d, n, 13, s), u),
                  std::sqrt(1 - eps), std::sqrt(1 + eps), "sparse-sign");
  }
}

TEST(SubspaceEmbedding, FullSrhtAndHadamardRotationAreOrthogonal) {
  // With d = N the SRHT is a signed permutation of H_N / sqrt(N): orthogonal; the rotation is
  // orthogonal for any n after padding. Singular values of S U equal 1 up to the FWHT rounding,
  // (2 log2 N + 2) u relative, times a factor 4 for the SVD and accumulation.
  const double u64 = unit_roundoff<double>();
  const auto u1 = random_subspace(512, 6, 3);
  for (const double s : sketched_singular_values(make(OperatorKind::srht, 512, 512), u1))
    EXPECT_NEAR(s, 1.0, 4 * (2 * 9 + 2) * u64);
  const auto u2 = random_subspace(300, 6, 4);  // padded to 512
  for (const double s : sketched_singular_values(make(OperatorKind::hadamard, 512, 300), u2))
    EXPECT_NEAR(s, 1.0, 4 * (2 * 9 + 2) * u64);
  // And the full explicit rotation: T^T T = I.
  const auto t = to_double(
      sk::materialize<double>(strata::ExecSpace(), make(OperatorKind::hadamard, 64, 64), 0, 64));
  const auto g = host_product(t, true, t, false);
  for (index_type j = 0; j < 64; ++j)
    for (index_type i = 0; i < 64; ++i) EXPECT_NEAR(g(i, j), i == j ? 1.0 : 0.0, 64 * 14 * u64);
}

// ---- errors
// ---------------------------------------------------------------------------------------

TEST(Errors, BadDescriptionsAndInputs) {
  const strata::ExecSpace exec;
  Matrix<double> a("a", 100, 2), out("out", 128, 2);
  auto no_pad = make(OperatorKind::hadamard, 128, 100);
  no_pad.pad = false;
  EXPECT_THROW(sk::sketch_rows<double>(exec, no_pad, a, out), strata::InvalidArgument);
  EXPECT_THROW(sk::sketch_rows<double>(exec, make(OperatorKind::hadamard, 64, 100), a, out),
               strata::InvalidArgument);  // d must be N = 128
  EXPECT_THROW(make(OperatorKind::sparse_sign, 4, 100, 1, 5).validate(), strata::InvalidArgument);
  EXPECT_THROW(make(OperatorKind::sparse_sign, 4, 100, 1, 0).validate(), strata::InvalidArgument);
  EXPECT_THROW(make(OperatorKind::srht, 129, 100).validate(), strata::InvalidArgument);
  EXPECT_NO_THROW(make(OperatorKind::srht, 128, 100).validate());  // padded N = 128
  EXPECT_THROW(make(OperatorKind::gaussian, 0, 100).validate(), strata::InvalidArgument);
  EXPECT_THROW(sk::parse_operator("fourier"), strata::InvalidArgument);
  EXPECT_EQ(sk::parse_operator("sparse-sign"), OperatorKind::sparse_sign);
  Matrix<double> wrong("wrong", 99, 2), small("small", 10, 3);
  EXPECT_THROW(sk::sketch_rows<double>(exec, make(OperatorKind::gaussian, 10, 100), wrong, small),
               strata::ShapeMismatch);
  EXPECT_THROW(sk::sketch_rows<double>(exec, make(OperatorKind::gaussian, 10, 100), a, small),
               strata::ShapeMismatch);
  EXPECT_THROW(sk::sketch_columns<double>(exec, make(OperatorKind::gaussian, 10, 100), a, small),
               strata::ShapeMismatch);
  auto bad = Kokkos::create_mirror_view(a);
  bad(3, 1) = std::numeric_limits<double>::quiet_NaN();
  Kokkos::deep_copy(a, bad);
  Matrix<double> sa("sa", 10, 2);
  EXPECT_THROW(sk::sketch_rows<double>(exec, make(OperatorKind::sparse_sign, 10, 100), a, sa),
               strata::NonFiniteInput);
  EXPECT_THROW(sk::materialize<double>(exec, make(OperatorKind::gaussian, 10, 100), 5, 101),
               strata::InvalidArgument);
}

}  // namespace
