// bfloat16 iterations (bf16 storage, fp32 accumulation): the accuracy floor on matrices with known
// spectra, the mixed-precision batched GEMM, the batched bf16 polar factor (square, tall, wide)
// against the fp32 path and LAPACK, and the batched Muon update against single calls. bf16 storage
// exists in every build (Strata's type on the host, Kokkos' on CUDA).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "strata/polar/bf16.hpp"
#include "strata/polar/muon.hpp"
#include "support/allclose.hpp"

namespace {

using strata::Batch;
using strata::kx::bf16;
namespace polar = strata::polar;

strata::HostMatrix<double> orthonormal(std::size_t m, std::size_t k, std::uint64_t seed) {
  strata::Matrix<double> g("g", m, k);
  strata::fill_random(strata::ExecSpace(),
                      strata::RandomStream{strata::Distribution::gaussian, seed, 0}, g);
  auto h = strata::testing::to_host(g);
  strata::linalg::host::qr_in_place(h);
  return h;
}

strata::Matrix<bf16> to_bf16(const strata::HostMatrix<double>& a) {
  strata::Matrix<float> f("f", a.extent(0), a.extent(1));
  auto hf = Kokkos::create_mirror_view(f);
  for (std::size_t j = 0; j < a.extent(1); ++j)
    for (std::size_t i = 0; i < a.extent(0); ++i) hf(i, j) = static_cast<float>(a(i, j));
  Kokkos::deep_copy(f, hf);
  strata::Matrix<bf16> out("bf16", a.extent(0), a.extent(1));
  const auto rows = a.extent(0);
  Kokkos::parallel_for(
      "test::to_bf16", Kokkos::RangePolicy<strata::ExecSpace>(0, a.extent(0) * a.extent(1)),
      KOKKOS_LAMBDA(const std::size_t k) {
        out(k % rows, k / rows) = strata::kx::to_bf16(f(k % rows, k / rows));
      });
  return out;
}

strata::HostMatrix<double> to_double(const strata::Matrix<bf16>& a) {
  strata::Matrix<float> f("f", a.extent(0), a.extent(1));
  const auto rows = a.extent(0);
  Kokkos::parallel_for(
      "test::from_bf16", Kokkos::RangePolicy<strata::ExecSpace>(0, a.extent(0) * a.extent(1)),
      KOKKOS_LAMBDA(const std::size_t k) {
        f(k % rows, k / rows) = strata::kx::from_bf16(a(k % rows, k / rows));
      });
  const auto hf = strata::testing::to_host(f);
  strata::HostMatrix<double> out("d", a.extent(0), a.extent(1));
  for (std::size_t j = 0; j < a.extent(1); ++j)
    for (std::size_t i = 0; i < a.extent(0); ++i) out(i, j) = hf(i, j);
  return out;
}

TEST(PolarBf16, ReachesTheBf16AccuracyFloor) {
  EXPECT_TRUE(strata::polar::bf16_available());
  const std::size_t m = 96, n = 32;
  for (const double smallest : {1e-3, 1e-6}) {
    const auto u = orthonormal(m, n, 1), v = orthonormal(n, n, 2);
    strata::HostMatrix<double> a("a", m, n);
    for (std::size_t l = 0; l < n; ++l) {
      const double s = std::pow(smallest, static_cast<double>(l) / (n - 1));
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t i = 0; i < m; ++i) a(i, j) += u(i, l) * s * v(j, l);
    }
    strata::Matrix<bf16> q("q", m, n);
    const auto result = strata::polar::polar_factor_bf16(strata::ExecSpace(), to_bf16(a), q);
    // Every step rounds X to bf16 (unit roundoff 2^-9): a perturbation of spectral norm at most
    // 2^-9 ||X||_F = 2^-9 sqrt(n); the singular values of Q settle within a few times that of 1.
    const double floor = 4.0 * std::sqrt(static_cast<double>(n)) * std::ldexp(1.0, -9);
    for (const double s : strata::linalg::host::singular_values(to_double(q))) {
      EXPECT_NEAR(s, 1.0, floor) << "spectrum down to " << smallest;
    }
    EXPECT_LE(result.error, 2 * floor * std::sqrt(static_cast<double>(n)));
  }
}

TEST(PolarBf16, FixedStepsAndBadInput) {
  const auto a = to_bf16(orthonormal(40, 10, 3));
  strata::Matrix<bf16> q("q", 40, 10);
  strata::polar::IterationOptions o;
  o.steps = 6;
  EXPECT_EQ(strata::polar::polar_factor_bf16(strata::ExecSpace(), a, q, o).iterations, 6);
  strata::Matrix<bf16> zero("zero", 40, 10), wrong("wrong", 10, 40);
  EXPECT_THROW(strata::polar::polar_factor_bf16(strata::ExecSpace(), zero, q),
               strata::InvalidArgument);
  EXPECT_THROW(strata::polar::polar_factor_bf16(strata::ExecSpace(), a, wrong),
               strata::ShapeMismatch);
}

TEST(PolarBf16, StridedAndInPlaceEqualContiguous) {
  // polar_factor_bf16 views contiguous matrices as a batch of one and copies the others (row
  // subviews with a leading dimension above their rows, and A when Q is A): the same arithmetic,
  // so the same bits as the contiguous call.
  const std::size_t m = 40, n = 10;
  const auto a = to_bf16(orthonormal(m + 7, n, 5));
  const auto rows = std::make_pair(std::size_t(3), std::size_t(3 + m));
  const auto a_strided = Kokkos::subview(a, rows, Kokkos::ALL);  // leading dimension m + 7
  ASSERT_NE(a_strided.stride(1), a_strided.extent(0));
  strata::Matrix<bf16> a_contiguous("a", m, n);
  Kokkos::deep_copy(a_contiguous, a_strided);
  strata::polar::IterationOptions o;
  o.steps = 6;
  strata::Matrix<bf16> q("q", m, n);
  polar::polar_factor_bf16(strata::ExecSpace(), a_contiguous, q, o);
  const auto expected = to_double(q);

  strata::Matrix<bf16> big_q("big_q", m + 7, n);
  const auto q_strided = Kokkos::subview(big_q, rows, Kokkos::ALL);
  polar::polar_factor_bf16(strata::ExecSpace(), a_strided, q_strided, o);
  strata::Matrix<bf16> from_strided("from_strided", m, n);
  Kokkos::deep_copy(from_strided, q_strided);
  const auto untouched = to_double(big_q);  // rows outside the subview stay zero

  strata::Matrix<bf16> in_place("in_place", m, n);
  Kokkos::deep_copy(in_place, a_contiguous);
  polar::polar_factor_bf16(strata::ExecSpace(), in_place, in_place, o);

  const auto strided = to_double(from_strided), same = to_double(in_place);
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t i = 0; i < m; ++i) {
      EXPECT_EQ(strided(i, j), expected(i, j)) << i << ", " << j;
      EXPECT_EQ(same(i, j), expected(i, j)) << i << ", " << j;
    }
    for (std::size_t i : {std::size_t(0), std::size_t(2), m + 3, m + 6})
      EXPECT_EQ(untouched(i, j), 0.0);
  }
}

constexpr double kBf16UnitRoundoff = 1.0 / 256;  // 2^-8: bf16 has 8 significand bits

TEST(PolarBf16, HostTypeRoundsToNearestEven) {
  // Exact values survive; halfway cases go to the even neighbour; NaN stays NaN.
  EXPECT_EQ(strata::kx::from_bf16(strata::kx::to_bf16(1.5f)), 1.5f);
  EXPECT_EQ(strata::kx::from_bf16(strata::kx::to_bf16(-0.125f)), -0.125f);
  EXPECT_EQ(strata::kx::from_bf16(strata::kx::to_bf16(1.0f + 1.0f / 256)), 1.0f);  // tie -> even
  EXPECT_EQ(strata::kx::from_bf16(strata::kx::to_bf16(1.0f + 3.0f / 256)), 1.0f + 4.0f / 256);
  EXPECT_EQ(strata::kx::from_bf16(strata::kx::to_bf16(1.0f + 1.0f / 512)), 1.0f);
  EXPECT_TRUE(std::isnan(strata::kx::from_bf16(strata::kx::to_bf16(std::nanf("")))));
  EXPECT_TRUE(std::isinf(strata::kx::from_bf16(strata::kx::to_bf16(INFINITY))));
}

Batch<bf16> batch_to_bf16(const Batch<double>& a) {
  Batch<bf16> out("bf16", a.extent(0), a.extent(1), a.extent(2));
  const double* in = a.data();
  bf16* o = out.data();
  Kokkos::parallel_for(
      "test::batch_to_bf16", Kokkos::RangePolicy<strata::ExecSpace>(0, a.size()),
      KOKKOS_LAMBDA(const std::size_t k) {
        o[k] = strata::kx::to_bf16(static_cast<float>(in[k]));
      });
  return out;
}

template <class T>
Batch<T> batch_from_bf16(const Batch<bf16>& a) {
  Batch<T> out("back", a.extent(0), a.extent(1), a.extent(2));
  const bf16* in = a.data();
  T* o = out.data();
  Kokkos::parallel_for(
      "test::batch_from_bf16", Kokkos::RangePolicy<strata::ExecSpace>(0, a.size()),
      KOKKOS_LAMBDA(const std::size_t k) { o[k] = static_cast<T>(strata::kx::from_bf16(in[k])); });
  return out;
}

strata::HostMatrix<double> host_slice(const Batch<double>& a, std::size_t b) {
  const auto h = strata::testing::to_host(a);
  strata::HostMatrix<double> out("slice", a.extent(0), a.extent(1));
  for (std::size_t j = 0; j < a.extent(1); ++j)
    for (std::size_t i = 0; i < a.extent(0); ++i) out(i, j) = h(i, j, b);
  return out;
}

double frobenius_distance(const strata::HostMatrix<double>& x,
                          const strata::HostMatrix<double>& y) {
  double sum = 0;
  for (std::size_t j = 0; j < x.extent(1); ++j)
    for (std::size_t i = 0; i < x.extent(0); ++i) sum += (x(i, j) - y(i, j)) * (x(i, j) - y(i, j));
  return std::sqrt(sum);
}

TEST(PolarBf16, BatchedGemmRoundsTheFp32ProductOnce) {
  // bf16 inputs are exact in fp32 and fp64, so the reference is the fp64 product of the same
  // values. fp32 accumulation over k terms errs by at most gamma_k(2^-24) (|A||B|)_ij, and the
  // final rounding to bf16 by 2^-8 |c_ij|: |c - c*| <= 2^-8 |c*| + 1.01 k 2^-24 (|A||B|)_ij.
  const std::size_t m = 9, k = 33, n = 7, batch = 3;
  Batch<double> a("a", k, m, batch), b("b", k, n, batch);
  strata::fill_random(
      strata::ExecSpace(), strata::RandomStream{strata::Distribution::gaussian, 1, 0},
      Kokkos::View<double**, Kokkos::LayoutLeft, strata::MemSpace>(a.data(), k, m * batch));
  strata::fill_random(
      strata::ExecSpace(), strata::RandomStream{strata::Distribution::gaussian, 2, 0},
      Kokkos::View<double**, Kokkos::LayoutLeft, strata::MemSpace>(b.data(), k, n * batch));
  const auto ab = batch_to_bf16(a), bb = batch_to_bf16(b);
  Batch<bf16> c("c", m, n, batch);
  strata::linalg::gemm_batched_bf16(strata::ExecSpace(), 'T', 'N', 1.0f, ab, bb, 0.0f, c);
  const auto ha = strata::testing::to_host(batch_from_bf16<double>(ab));
  const auto hb = strata::testing::to_host(batch_from_bf16<double>(bb));
  const auto hc = strata::testing::to_host(batch_from_bf16<double>(c));
  for (std::size_t l = 0; l < batch; ++l)
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < m; ++i) {
        double exact = 0, magnitude = 0;
        for (std::size_t p = 0; p < k; ++p) {
          exact += ha(p, i, l) * hb(p, j, l);
          magnitude += std::abs(ha(p, i, l) * hb(p, j, l));
        }
        EXPECT_NEAR(hc(i, j, l), exact,
                    kBf16UnitRoundoff * std::abs(exact) + 1.01 * k * std::ldexp(magnitude, -24))
            << "entry (" << i << ", " << j << ") of matrix " << l;
      }
  Batch<bf16> wrong("wrong", m, n, batch + 1);
  EXPECT_THROW(
      strata::linalg::gemm_batched_bf16(strata::ExecSpace(), 'T', 'N', 1.0f, ab, bb, 0.0f, wrong),
      strata::ShapeMismatch);
}

// A_b = U_b diag(s) V_b^T with the same s, spread geometrically over [0.5, 1], for b < batch.
Batch<double> known_spectrum_batch(std::size_t m, std::size_t n, std::size_t batch) {
  const std::size_t k = std::min(m, n);
  Batch<double> a("a", m, n, batch);
  auto h = Kokkos::create_mirror_view(a);
  for (std::size_t b = 0; b < batch; ++b) {
    const auto u = orthonormal(m, k, 10 + 2 * b), v = orthonormal(n, k, 11 + 2 * b);
    for (std::size_t l = 0; l < k; ++l) {
      const double s = std::pow(0.5, static_cast<double>(l) / (k - 1));
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t i = 0; i < m; ++i) h(i, j, b) += u(i, l) * s * v(j, l);
    }
  }
  Kokkos::deep_copy(a, h);
  return a;
}

// The polar factor U V^T from LAPACK's SVD, for any aspect ratio (polar(A) = polar(A^T)^T).
strata::HostMatrix<double> lapack_polar(const strata::HostMatrix<double>& a) {
  if (a.extent(0) >= a.extent(1)) return strata::linalg::host::polar_via_svd(a);
  strata::HostMatrix<double> at("at", a.extent(1), a.extent(0)), q("q", a.extent(0), a.extent(1));
  for (std::size_t j = 0; j < a.extent(1); ++j)
    for (std::size_t i = 0; i < a.extent(0); ++i) at(j, i) = a(i, j);
  const auto qt = strata::linalg::host::polar_via_svd(at);
  for (std::size_t j = 0; j < a.extent(1); ++j)
    for (std::size_t i = 0; i < a.extent(0); ++i) q(i, j) = qt(j, i);
  return q;
}

TEST(PolarBf16, BatchedMatchesFp32AndLapackForSquareTallAndWide) {
  for (const auto& [m, n] :
       std::vector<std::pair<std::size_t, std::size_t>>{{24, 24}, {48, 16}, {16, 48}}) {
    const std::size_t batch = 4, k = std::min(m, n);
    const auto a = known_spectrum_batch(m, n, batch);
    const auto ab = batch_to_bf16(a);
    Batch<bf16> qb("qb", m, n, batch);
    polar::IterationOptions o;
    o.steps = 8;  // the ML setting
    const auto result = polar::polar_factor_batched_bf16(strata::ExecSpace(), ab, qb, o);
    EXPECT_EQ(result.iterations, 8);
    ASSERT_EQ(result.errors.size(), batch);
    // The fp32 path on the same bf16-rounded input, same steps.
    const auto af = batch_from_bf16<float>(ab);
    Batch<float> qf("qf", m, n, batch);
    polar::polar_factor_batched<float>(strata::ExecSpace(), af, qf, o);
    Batch<double> qf_double("qf_double", m, n, batch), q_double("q_double", m, n, batch);
    Kokkos::deep_copy(q_double, batch_from_bf16<double>(qb));
    {
      const auto hf = strata::testing::to_host(qf);
      auto hd = Kokkos::create_mirror_view(qf_double);
      for (std::size_t l = 0; l < batch; ++l)
        for (std::size_t j = 0; j < n; ++j)
          for (std::size_t i = 0; i < m; ++i) hd(i, j, l) = hf(i, j, l);
      Kokkos::deep_copy(qf_double, hd);
    }
    // Orthogonality. Q is the last product Q^ = X_7 P_7 rounded to bf16 (unit roundoff u = 2^-8):
    // ||Q - Q^||_F <= u ||Q^||_F = u sqrt(k), which moves Q^T Q by 2 u sqrt(k); the rounding of P_7
    // (~I) to bf16 does the same to Q^; the reported error comes from G = Q^T Q rounded to bf16
    // (u ||G||_F = u sqrt(k)); fp32 accumulation (k 2^-24) and the last contracting step's residue
    // (quadratic in the previous error) are far smaller: ||Q^T Q - I||_F <= 6 u sqrt(k).
    const double orthogonality = 6.0 * std::sqrt(static_cast<double>(k)) * kBf16UnitRoundoff;
    EXPECT_LE(result.max_error, orthogonality) << m << " x " << n;
    // Distance to the polar factor. All iterates share the polar factor U V^T; a perturbation E_t
    // of the iterate X_t moves it by at most 2 ||E_t||_F / (2 sigma_min(X_t)) (R.-C. Li, SIMAX 16,
    // 1995). Storing X_t in bf16 gives ||E_t||_F <= u ||X_t||_F <= u sqrt(k) (singular values <= 1
    // within the schedule's design), and sigma_min(X_t) >= sigma_min(X_0) = 0.5 / (1.01 ||A||_F)
    // >= 0.5 / (1.01 sqrt(k)): over 8 steps at most 8 u sqrt(k) * 2.02 sqrt(k) = 16.2 k u, plus the
    // final rounding of Q (u sqrt(k)). The roundings of G_t and P_t are of the same relative size
    // and are taken to be covered by the slack of sigma_min(X_t) >= sigma_min(X_0) (X_1 already has
    // sigma_min near 1; a normwise worst case for them, with |b| = 23.6 in the first step, is
    // two orders of magnitude above what is observed, ~0.025). A wrong transpose or polynomial is
    // off by O(sqrt k).
    const double distance = 16.2 * k * kBf16UnitRoundoff + kBf16UnitRoundoff * std::sqrt(k);
    for (std::size_t b = 0; b < batch; ++b) {
      const auto q_bf16 = host_slice(q_double, b);
      const auto q_lapack = lapack_polar(host_slice(a, b));
      EXPECT_LE(frobenius_distance(q_bf16, q_lapack), distance) << m << " x " << n << ", " << b;
      EXPECT_LE(frobenius_distance(q_bf16, host_slice(qf_double, b)), distance)
          << m << " x " << n << ", " << b;
    }
  }
}

TEST(PolarBf16, BatchedBadInputIsNamed) {
  Batch<bf16> a("a", 6, 3, 4), q("q", 6, 3, 4), wrong("w", 6, 3, 5);
  const auto good = batch_to_bf16(known_spectrum_batch(6, 3, 4));
  Kokkos::deep_copy(a, good);
  Kokkos::deep_copy(Kokkos::subview(a, Kokkos::ALL, Kokkos::ALL, 2), strata::kx::to_bf16(0.0f));
  try {
    polar::polar_factor_batched_bf16(strata::ExecSpace(), a, q);
    FAIL();
  } catch (const strata::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("matrix 2 of the batch is zero"), std::string::npos)
        << e.what();
  }
  Kokkos::deep_copy(Kokkos::subview(a, 1, 1, 2), strata::kx::to_bf16(NAN));
  EXPECT_THROW(polar::polar_factor_batched_bf16(strata::ExecSpace(), a, q), strata::NonFiniteInput);
  EXPECT_THROW(polar::polar_factor_batched_bf16(strata::ExecSpace(), good, wrong),
               strata::ShapeMismatch);
}

template <class T>
class MuonBatched : public ::testing::Test {
 protected:
  static double u() { return std::numeric_limits<T>::epsilon() / 2; }
};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(MuonBatched, Scalars);

TYPED_TEST(MuonBatched, EqualsSingleUpdatesMatrixByMatrix) {
  using T = TypeParam;
  const std::size_t m = 40, n = 16, batch = 3;
  Batch<T> w("w", m, n, batch), g("g", m, n, batch), momentum("momentum", m, n, batch);
  strata::fill_random(
      strata::ExecSpace(), strata::RandomStream{strata::Distribution::gaussian, 5, 0},
      Kokkos::View<T**, Kokkos::LayoutLeft, strata::MemSpace>(w.data(), m, n * batch));
  strata::fill_random(
      strata::ExecSpace(), strata::RandomStream{strata::Distribution::gaussian, 6, 0},
      Kokkos::View<T**, Kokkos::LayoutLeft, strata::MemSpace>(g.data(), m, n * batch));
  // Matrix 1 gets a zero gradient: its update is zero and W only decays.
  Kokkos::deep_copy(Kokkos::subview(g, Kokkos::ALL, Kokkos::ALL, 1), T(0));
  polar::MuonOptions options;
  options.weight_decay = 0.1;
  std::vector<strata::Matrix<T>> w_single, b_single;
  for (std::size_t b = 0; b < batch; ++b) {
    w_single.emplace_back("ws", m, n);
    b_single.emplace_back("bs", m, n);
    Kokkos::deep_copy(w_single[b], Kokkos::subview(w, Kokkos::ALL, Kokkos::ALL, b));
  }
  const auto w0 = strata::testing::to_host(w);
  for (int step = 0; step < 2; ++step) {
    polar::muon_update_batched<T>(strata::ExecSpace(), w, g, momentum, options);
    for (std::size_t b = 0; b < batch; ++b) {
      strata::Matrix<T> gb("gb", m, n);
      Kokkos::deep_copy(gb, Kokkos::subview(g, Kokkos::ALL, Kokkos::ALL, b));
      polar::muon_update<T>(strata::ExecSpace(), w_single[b], gb, b_single[b], options);
    }
  }
  // Same arithmetic in another order (batched vs distributed products): rounding-level agreement,
  // with the bound of the single update's reference test (tests/mpi/polar: 1e3 u n, the quintic's
  // unconverged map does not damp rounding errors).
  for (std::size_t b = 0; b < batch; ++b) {
    strata::Matrix<T> wb("wb", m, n);
    Kokkos::deep_copy(wb, Kokkos::subview(w, Kokkos::ALL, Kokkos::ALL, b));
    EXPECT_THAT(wb, strata::testing::AllClose(w_single[b], 0.0, 1e3 * TestFixture::u() * n))
        << "matrix " << b;
  }
  // The zero-gradient matrix: two steps of exact decay W <- (1 - lr wd) W.
  const auto hw = strata::testing::to_host(w);
  const T decay = static_cast<T>(1 - options.learning_rate * options.weight_decay);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < m; ++i) EXPECT_EQ(hw(i, j, 1), decay * (decay * w0(i, j, 1)));
}

TEST(MuonBatchedBf16, OrthogonalizesInBf16LikeTheScalarMuonMap) {
  // The Muon iteration maps each singular value s of the update (scaled by the update's Frobenius
  // norm) through 5 steps of the reference quintic p(x) = 3.4445 x - 4.7750 x^3 + 2.0315 x^5
  // (github.com/KellerJordan/Muon). On the first step from a zero buffer the update is a multiple
  // of G, so the step O = -W_1 / (lr shape) must have singular values p^5(s_i(G) / ||G||_F). bf16
  // storage perturbs the iterate by u sqrt(n) = 0.016 (n = 16) per step in spectral norm (Weyl:
  // the singular values likewise); where the iterate's singular values lie (about [0.5, 1.3]) |p'|
  // <= 1.2, so over 5 steps the deviation stays below 0.016 (1 + 1.2 + ... + 1.2^4) = 0.12. A wrong
  // transpose, scale or polynomial moves them by O(1).
  const std::size_t m = 48, n = 16, batch = 3;
  Batch<float> w("w", m, n, batch), g("g", m, n, batch), momentum("momentum", m, n, batch);
  strata::fill_random(
      strata::ExecSpace(), strata::RandomStream{strata::Distribution::gaussian, 7, 0},
      Kokkos::View<float**, Kokkos::LayoutLeft, strata::MemSpace>(g.data(), m, n * batch));
  polar::MuonOptions options;
  options.bf16 = true;
  options.orthogonalize.report_error = true;
  const auto result =
      polar::muon_update_batched<float>(strata::ExecSpace(), w, g, momentum, options);
  EXPECT_EQ(result.iterations, 5);
  const auto hw = strata::testing::to_host(w);
  const auto hg = strata::testing::to_host(g);
  const double shape = std::sqrt(static_cast<double>(m) / n);
  const double deviation = std::sqrt(static_cast<double>(n)) * kBf16UnitRoundoff *
                           (1 + 1.2 + 1.2 * 1.2 + std::pow(1.2, 3) + std::pow(1.2, 4));
  for (std::size_t b = 0; b < batch; ++b) {
    strata::HostMatrix<double> o("o", m, n), gb("gb", m, n);
    double norm2 = 0;
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < m; ++i) {
        o(i, j) = -hw(i, j, b) / (options.learning_rate * shape);
        gb(i, j) = hg(i, j, b);
        norm2 += gb(i, j) * gb(i, j);
      }
    const auto actual = strata::linalg::host::singular_values(o);
    const auto input = strata::linalg::host::singular_values(gb);
    ASSERT_EQ(actual.size(), input.size());
    std::vector<double> expected;
    for (const double s : input) {
      double x = s / std::sqrt(norm2);
      for (int step = 0; step < 5; ++step)
        x = 3.4445 * x - 4.7750 * x * x * x + 2.0315 * x * x * x * x * x;
      expected.push_back(x);
    }
    std::sort(expected.begin(), expected.end());
    std::vector<double> sorted(actual.begin(), actual.end());
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t l = 0; l < sorted.size(); ++l)
      EXPECT_NEAR(sorted[l], expected[l], deviation) << "matrix " << b << ", value " << l;
  }
}

}  // namespace
