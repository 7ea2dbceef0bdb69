// The per-node dense kernels of the HSS code (hss/detail/core_team_blas.hpp), each by both of its
// paths: team_gemm, team_householder_qr and team_form_q (on a host backend with one-thread teams:
// the host BLAS/LAPACK; on GPUs and wide host teams: the team loops) and their *_loops forms (the
// team loops everywhere), against independent references computed here on the host. Every block
// sits in a larger array (leading dimension above its rows) whose padding holds a sentinel, so a
// wrong leading dimension or transpose flag in a BLAS call shows as a wrong entry or a touched
// sentinel.
//
// Tolerances (u the unit roundoff of double): GEMM entrywise |C - C_ref| <= gamma_k (|alpha| |A|
// |B| + |beta| |C0|) with gamma_k = k u / (1 - k u) (Higham, Accuracy and Stability, Sec. 3.5),
// taken as 2 k u; Householder QR is backward stable: ||Q R - A||_F <= c m n u ||A||_F and
// ||Q^T Q - I||_F <= c m n u (Higham Thm 19.4, Lemma 19.3) with c = 20, as in
// test_team_blocks.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/hss/detail/core_team_blas.hpp"
#include "support/batch_matrices.hpp"

namespace {

using strata::ExecSpace;
using strata::HostMatrix;
using strata::MemSpace;
using Member = Kokkos::TeamPolicy<ExecSpace>::member_type;
using DeviceArray = Kokkos::View<double*, MemSpace>;
namespace hd = strata::hss::detail;

constexpr double u = std::numeric_limits<double>::epsilon() / 2;
constexpr double c_stable = 20;
constexpr double sentinel = -12345.0;

/// Column-major rows x cols block of a with leading dimension ld, padding rows set to `sentinel`.
std::vector<double> padded(const HostMatrix<double>& a, int ld) {
  const int rows = static_cast<int>(a.extent(0)), cols = static_cast<int>(a.extent(1));
  std::vector<double> v(static_cast<std::size_t>(ld) * (cols > 0 ? cols : 1), sentinel);
  for (int j = 0; j < cols; ++j)
    for (int i = 0; i < rows; ++i) v[static_cast<std::size_t>(i + j * ld)] = a(i, j);
  return v;
}

DeviceArray to_device(const std::vector<double>& h) {
  DeviceArray d("test::block", h.size());
  auto m = Kokkos::create_mirror_view(d);
  for (std::size_t i = 0; i < h.size(); ++i) m(i) = h[i];
  Kokkos::deep_copy(d, m);
  return d;
}

std::vector<double> to_host(const DeviceArray& d) {
  auto m = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, d);
  return std::vector<double>(m.data(), m.data() + m.extent(0));
}

/// Checks that the padding rows (rows..ld-1 of each column) still hold the sentinel.
void expect_padding_untouched(const std::vector<double>& v, int rows, int ld, const char* what) {
  for (std::size_t idx = 0; idx < v.size(); ++idx)
    if (static_cast<int>(idx % ld) >= rows) {
      ASSERT_EQ(v[idx], sentinel) << what << ": padding entry " << idx << " was written";
    }
}

/// The library's launch of a one-team kernel: one-thread teams on host backends (the BLAS path of
/// the dispatching kernels), unless STRATA_HOST_TEAM_SIZE widens them.
template <class F>
void run_one_team(const char* label, const F& f) {
  const ExecSpace exec;
  Kokkos::parallel_for(label, strata::kx::auto_team_policy(exec, 1), f);
  exec.fence();
}

void check_gemm(bool loops, bool ta, bool tb, int m, int n, int k, double beta) {
  const double alpha = 1.5;
  const int ra = ta ? k : m, ca = ta ? m : k, rb = tb ? n : k, cb = tb ? k : n;
  const int lda = ra + 3, ldb = rb + 2, ldc = m + 1;
  const auto a = strata::testing::gaussian_matrix(ra, ca, 31, 1);
  const auto b = strata::testing::gaussian_matrix(rb, cb, 32, 2);
  const auto c0 = strata::testing::gaussian_matrix(m, n, 33, 3);
  const auto ad = to_device(padded(a, lda)), bd = to_device(padded(b, ldb));
  const auto cd = to_device(padded(c0, ldc));
  run_one_team(
      "test::team_gemm", KOKKOS_LAMBDA(const Member& team) {
        if (loops) {
          hd::team_gemm_loops(team, ta, tb, m, n, k, alpha, ad.data(), long(lda), bd.data(),
                              long(ldb), beta, cd.data(), long(ldc));
        } else {
          hd::team_gemm(team, ta, tb, m, n, k, alpha, ad.data(), long(lda), bd.data(), long(ldb),
                        beta, cd.data(), long(ldc));
        }
      });
  const auto c = to_host(cd);
  const auto at = [&](int i, int p) {
    return ta ? a(p, i) : a(i, p);
  };
  const auto bt = [&](int p, int j) {
    return tb ? b(j, p) : b(p, j);
  };
  const double gamma = 2 * k * u;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double ref = 0, mag = 0;
      for (int p = 0; p < k; ++p) {
        ref += at(i, p) * bt(p, j);
        mag += std::abs(at(i, p) * bt(p, j));
      }
      ref = alpha * ref + beta * c0(i, j);
      const double bound =
          gamma * (std::abs(alpha) * mag + std::abs(beta * c0(i, j))) + 4 * u * std::abs(ref);
      ASSERT_NEAR(c[static_cast<std::size_t>(i + j * ldc)], ref, bound)
          << (loops ? "loops" : "dispatch") << " trans_a " << ta << " trans_b " << tb << " m " << m
          << " n " << n << " k " << k << " beta " << beta << " entry (" << i << ", " << j << ")";
    }
  expect_padding_untouched(c, m, ldc, "team_gemm");
}

TEST(CoreTeamBlas, GemmMatchesReferenceOnBothPaths) {
  const int shapes[][3] = {{7, 5, 3}, {64, 64, 64}, {40, 1, 70}, {1, 9, 12}, {33, 17, 0}};
  for (const bool loops : {false, true})
    for (const bool ta : {false, true})
      for (const bool tb : {false, true})
        for (const auto& s : shapes)
          for (const double beta : {0.0, 0.5}) check_gemm(loops, ta, tb, s[0], s[1], s[2], beta);
}

/// Householder QR of a (m x n, leading dimension m + 2) by the dispatching kernel or the loops,
/// then Q (m x m, leading dimension m + 1) by the other form's team_form_q or the same form's.
struct QrResult {
  std::vector<double> a, tau, q;
};

QrResult qr_and_q(const HostMatrix<double>& a, bool loops_qr, bool loops_q) {
  const int m = static_cast<int>(a.extent(0)), n = static_cast<int>(a.extent(1));
  const int k = m < n ? m : n, lda = m + 2, ldq = m + 1;
  const auto ad = to_device(padded(a, lda));
  DeviceArray tau("test::tau", static_cast<std::size_t>(k > 0 ? k : 1));
  const auto qd = to_device(std::vector<double>(static_cast<std::size_t>(ldq) * m, sentinel));
  run_one_team(
      "test::team_qr", KOKKOS_LAMBDA(const Member& team) {
        if (loops_qr) {
          hd::team_householder_qr_loops(team, m, n, ad.data(), long(lda), tau.data());
        } else {
          hd::team_householder_qr(team, m, n, ad.data(), long(lda), tau.data());
        }
        team.team_barrier();
        if (loops_q) {
          hd::team_form_q_loops(team, m, k, ad.data(), long(lda), tau.data(), qd.data(), long(ldq));
        } else {
          hd::team_form_q(team, m, k, ad.data(), long(lda), tau.data(), qd.data(), long(ldq));
        }
      });
  return {to_host(ad), to_host(tau), to_host(qd)};
}

TEST(CoreTeamBlas, HouseholderQrAndFormQReconstructOnEveryPathPairing) {
  const int shapes[][2] = {{12, 5}, {64, 30}, {96, 96}, {5, 9}, {1, 1}};
  for (const auto& s : shapes) {
    const int m = s[0], n = s[1], k = m < n ? m : n, lda = m + 2, ldq = m + 1;
    const auto a = strata::testing::gaussian_matrix(m, n, 40 + m, 4);
    const double norm_a = strata::testing::frobenius(a);
    for (const bool loops_qr : {false, true})
      for (const bool loops_q : {false, true}) {
        const auto r = qr_and_q(a, loops_qr, loops_q);
        const auto where = ::testing::Message()
                           << "m " << m << " n " << n << " qr " << (loops_qr ? "loops" : "dispatch")
                           << " form_q " << (loops_q ? "loops" : "dispatch");
        expect_padding_untouched(r.a, m, lda, "team_householder_qr");
        expect_padding_untouched(r.q, m, ldq, "team_form_q");
        const auto q = [&](int i, int j) {
          return r.q[static_cast<std::size_t>(i + j * ldq)];
        };
        const auto rf = [&](int i, int j) {
          return i <= j ? r.a[static_cast<std::size_t>(i + j * lda)] : 0.0;
        };
        double orth = 0, recon = 0;
        for (int j = 0; j < m; ++j)
          for (int i = 0; i < m; ++i) {
            double s2 = i == j ? -1.0 : 0.0;
            for (int p = 0; p < m; ++p) s2 += q(p, i) * q(p, j);
            orth += s2 * s2;
          }
        for (int j = 0; j < n; ++j)
          for (int i = 0; i < m; ++i) {
            double s2 = -a(i, j);
            for (int p = 0; p < k && p <= j; ++p) s2 += q(i, p) * rf(p, j);
            recon += s2 * s2;
          }
        const double tol = c_stable * m * (n > 0 ? n : 1) * u;
        EXPECT_LE(std::sqrt(orth), tol) << where;
        EXPECT_LE(std::sqrt(recon), tol * norm_a) << where;
      }
  }
}

// A NaN below the diagonal must reach tau, R and Q (NaN in, NaN out): a test `tail > 0` is false
// for NaN and gave tau = 0, H = I and finite factors of a NaN matrix.
TEST(CoreTeamBlas, HouseholderQrPropagatesNanBelowTheDiagonal) {
  const int m = 6, n = 3;
  auto a = strata::testing::gaussian_matrix(m, n, 50, 5);
  a(m - 1, 0) = std::numeric_limits<double>::quiet_NaN();
  for (const bool loops : {false, true}) {
    const auto r = qr_and_q(a, loops, loops);
    const int ldq = m + 1;
    EXPECT_TRUE(std::isnan(r.tau[0])) << (loops ? "loops" : "dispatch");
    EXPECT_TRUE(std::isnan(r.a[0])) << (loops ? "loops" : "dispatch") << ": R(0, 0)";
    bool q_nan = false;
    for (int j = 0; j < m; ++j)
      for (int i = 0; i < m; ++i)
        q_nan = q_nan || std::isnan(r.q[static_cast<std::size_t>(i + j * ldq)]);
    EXPECT_TRUE(q_nan) << (loops ? "loops" : "dispatch") << ": Q is finite";
  }
}

// The fast path exists only where STRATA_KX_IF_ON_HOST keeps its statements: if the Kokkos
// version detection of core/kokkos_ext/host_code.hpp fell to its empty branch, every test above
// would still pass (the loops are correct too) and the BLAS path would silently be gone. A host
// team kernel must run statements given to it; a GPU one never compiles them for the device.
TEST(CoreTeamBlas, HostCodeRunsInHostTeamKernels) {
  using HostSpace = Kokkos::DefaultHostExecutionSpace;
  using HostMember = Kokkos::TeamPolicy<HostSpace>::member_type;
  static_assert(strata::kx::host_team_member<HostMember>);
  Kokkos::View<int*, Kokkos::HostSpace> ran("ran", 1);
  Kokkos::parallel_for(
      Kokkos::TeamPolicy<HostSpace>(HostSpace(), 1, 1), KOKKOS_LAMBDA(const HostMember& team) {
        if (team.team_rank() == 0) {
          STRATA_KX_IF_ON_HOST((ran(0) = 1;))
        }
      });
  Kokkos::fence();
  EXPECT_EQ(ran(0), 1) << "STRATA_KX_IF_ON_HOST dropped host statements: the host BLAS path of "
                          "the HSS team kernels is compiled out";
  EXPECT_EQ(strata::kx::host_team_member<Member>, strata::kx::runs_on_host<ExecSpace>);
}

}  // namespace
