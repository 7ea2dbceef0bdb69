// The per-node dense kernels of the HSS code (hss/detail/core_team_blas.hpp) against independent
// references computed here on the host.
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

/// The library's launch of a one-team kernel (one-thread teams on host backends, unless
/// STRATA_HOST_TEAM_SIZE widens them).
template <class F>
void run_one_team(const char* label, const F& f) {
  const ExecSpace exec;
  Kokkos::parallel_for(label, strata::kx::auto_team_policy(exec, 1), f);
  exec.fence();
}

/// Householder QR of a (m x n, leading dimension m + 2), then Q (m x m, leading dimension m + 1).
struct QrResult {
  std::vector<double> a, tau, q;
};

QrResult qr_and_q(const HostMatrix<double>& a) {
  const int m = static_cast<int>(a.extent(0)), n = static_cast<int>(a.extent(1));
  const int k = m < n ? m : n, lda = m + 2, ldq = m + 1;
  const auto ad = to_device(padded(a, lda));
  DeviceArray tau("test::tau", static_cast<std::size_t>(k > 0 ? k : 1));
  const auto qd = to_device(std::vector<double>(static_cast<std::size_t>(ldq) * m, sentinel));
  run_one_team(
      "test::team_qr", KOKKOS_LAMBDA(const Member& team) {
        hd::team_householder_qr(team, m, n, ad.data(), long(lda), tau.data());
        team.team_barrier();
        hd::team_form_q(team, m, k, ad.data(), long(lda), tau.data(), qd.data(), long(ldq));
      });
  return {to_host(ad), to_host(tau), to_host(qd)};
}

// A NaN below the diagonal must reach tau, R and Q (NaN in, NaN out): a test `tail > 0` is false
// for NaN and gave tau = 0, H = I and finite factors of a NaN matrix.
TEST(CoreTeamBlas, HouseholderQrPropagatesNanBelowTheDiagonal) {
  const int m = 6, n = 3, ldq = m + 1;
  auto a = strata::testing::gaussian_matrix(m, n, 50, 5);
  a(m - 1, 0) = std::numeric_limits<double>::quiet_NaN();
  const auto r = qr_and_q(a);
  EXPECT_TRUE(std::isnan(r.tau[0]));
  EXPECT_TRUE(std::isnan(r.a[0])) << "R(0, 0)";
  bool q_nan = false;
  for (int j = 0; j < m; ++j)
    for (int i = 0; i < m; ++i)
      q_nan = q_nan || std::isnan(r.q[static_cast<std::size_t>(i + j * ldq)]);
  EXPECT_TRUE(q_nan) << "Q is finite";
}

}  // namespace
