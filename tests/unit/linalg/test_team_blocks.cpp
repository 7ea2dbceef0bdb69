// The team building blocks of the batched dense and ULV kernels
// (linalg/detail/batched_dense_team.hpp, hss/detail/core_team_blas.hpp) launched with teams as wide
// as the execution space allows (kx::team_policy with a league of one), so that on a threaded host
// backend (OpenMP) every TeamThreadRange, Kokkos::single and team_barrier runs with several threads
// in one team. The library launches these blocks with Kokkos::AUTO, which is one thread per team on
// host backends, so elsewhere in the suite no two host threads ever share a team. Each case factors
// several matrices, each several times, and checks every result against an independent reference: a
// missing barrier shows as a wrong pivot, a skipped swap or a diverged team.
//
// Tolerances: u is the unit roundoff of double and n the largest dimension. One-sided Jacobi is
// backward stable with a constant growing like n u (Demmel & Veselic 1992; Higham, Accuracy and
// Stability, Thm 19.10 for the rotations): singular values within c n u sigma_1 of LAPACK's and
// ||U diag(sigma) J^T - A||_F <= c n u ||A||_F with c = 20, as in test_batched_dense.cpp. LU with
// partial pivoting: |P L U - A| <= gamma_n |L| |U| entrywise (Higham Thm 9.3, gamma_n = n u / (1 -
// n u)), so ||P L U - A||_F <= c n u || |L| |U| ||_F with the same c.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/core/random.hpp"
#include "strata/hss/detail/core_team_blas.hpp"
#include "strata/linalg/detail/batched_dense_team.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "support/batch_matrices.hpp"

namespace {

using strata::ExecSpace;
using strata::HostMatrix;
using strata::MemSpace;
namespace lad = strata::linalg::detail;
using strata::testing::frobenius;

constexpr double c_stable = 20;
constexpr double u = std::numeric_limits<double>::epsilon() / 2;
/// Repetitions of each factorization: a race shows up only in some interleavings.
constexpr int repeats = 20;

HostMatrix<double> gaussian(int m, int n, std::uint64_t seed) {
  return strata::testing::gaussian_matrix(m, n, seed, 11);
}

/// Column-major copy of a host matrix in a flat device array.
Kokkos::View<double*, MemSpace> to_device(const HostMatrix<double>& a) {
  const int m = a.extent(0), n = a.extent(1);
  Kokkos::View<double*, MemSpace> d("test::matrix", static_cast<std::size_t>(m) * n);
  auto h = Kokkos::create_mirror_view(d);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) h(i + static_cast<std::size_t>(j) * m) = a(i, j);
  Kokkos::deep_copy(d, h);
  return d;
}

HostMatrix<double> to_host(const Kokkos::View<double*, MemSpace>& d, int m, int n) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, d);
  HostMatrix<double> a("h", m, n);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) a(i, j) = h(i + static_cast<std::size_t>(j) * m);
  return a;
}

/// team_jacobi_svd of the p x q matrix in `w` (J = I on entry in `j`) by one team as wide as the
/// space allows; returns the team size used and the status.
int jacobi_svd(const ExecSpace& exec, const Kokkos::View<double*, MemSpace>& w,
               const Kokkos::View<double*, MemSpace>& j, const Kokkos::View<double*, MemSpace>& s,
               const Kokkos::View<int*, MemSpace>& status, int p, int q, int& team_size) {
  const int len = p + q;
  const double tiny = std::numeric_limits<double>::min() / std::numeric_limits<double>::epsilon();
  auto kernel = KOKKOS_LAMBDA(const lad::Member& member) {
    lad::Scratch<double> norm2(member.team_scratch(0), q), work(member.team_scratch(0), len);
    lad::Scratch<int> shared(member.team_scratch(0), q + 1);
    const lad::MatRef<double> wr{w.data(), p, q, p}, jr{j.data(), q, q, q};
    const int st =
        lad::team_jacobi_svd(member, wr, jr, true, s.data(), norm2, work, shared, tiny, 60);
    Kokkos::single(Kokkos::PerTeam(member), [&]() { status(0) = st; });
  };
  const std::size_t bytes = lad::Scratch<double>::shmem_size(q) +
                            lad::Scratch<double>::shmem_size(len) +
                            lad::Scratch<int>::shmem_size(q + 1);
  const auto policy = strata::kx::team_policy(exec, 1, 1024, bytes, kernel);
  team_size = policy.team_size();
  Kokkos::parallel_for("test::team_jacobi_svd", policy, kernel);
  exec.fence();
  return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, status)(0);
}

TEST(TeamBlocks, JacobiSvdWithWideTeamsMatchesLapack) {
  const ExecSpace exec;
  const int p = 24, q = 16;
  Kokkos::View<int*, MemSpace> status("test::status", 1);
  for (int rep = 0; rep < repeats; ++rep) {
    const auto a = gaussian(p, q, 100 + rep % 4);
    const auto ref = strata::linalg::host::singular_values(a);
    HostMatrix<double> eye("eye", q, q);
    for (int i = 0; i < q; ++i) eye(i, i) = 1;
    auto w = to_device(a), j = to_device(eye);
    Kokkos::View<double*, MemSpace> s("test::sigma", q);
    int team = 0;
    ASSERT_EQ(jacobi_svd(exec, w, j, s, status, p, q, team), 0) << "repetition " << rep;
    const auto uh = to_host(w, p, q), jh = to_host(j, q, q), sh = to_host(s, q, 1);
    const double tol = c_stable * p * u;
    for (int c = 0; c < q; ++c) {
      EXPECT_NEAR(sh(c, 0), ref[c], tol * ref[0]) << "repetition " << rep << " sigma " << c;
    }
    HostMatrix<double> diff("diff", p, q);
    for (int c = 0; c < q; ++c)
      for (int i = 0; i < p; ++i) {
        double x = -a(i, c);
        for (int k = 0; k < q; ++k) x += uh(i, k) * sh(k, 0) * jh(c, k);
        diff(i, c) = x;
      }
    EXPECT_LE(frobenius(diff), tol * frobenius(a))
        << "repetition " << rep << " (team size " << team << ")";
  }
}

/// hss::detail::team_lu of the n x n matrix in `a` by one team as wide as the space allows;
/// returns the number of zero pivots.
int run_team_lu(const ExecSpace& exec, const Kokkos::View<double*, MemSpace>& a,
                const Kokkos::View<int*, MemSpace>& piv, const Kokkos::View<int*, MemSpace>& zeros,
                int n) {
  using Member = Kokkos::TeamPolicy<ExecSpace>::member_type;
  auto kernel = KOKKOS_LAMBDA(const Member& team) {
    const int z = strata::hss::detail::team_lu(team, n, a.data(), static_cast<long>(n), piv);
    Kokkos::single(Kokkos::PerTeam(team), [&]() { zeros(0) = z; });
  };
  Kokkos::parallel_for("test::team_lu", strata::kx::team_policy(exec, 1, 1024, 0, kernel), kernel);
  exec.fence();
  return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, zeros)(0);
}

TEST(TeamBlocks, PivotedLuWithWideTeamsReconstructs) {
  const ExecSpace exec;
  const int n = 32;
  Kokkos::View<int*, MemSpace> piv("test::piv", n), zeros("test::zeros", 1);
  for (int rep = 0; rep < repeats; ++rep) {
    const auto a = gaussian(n, n, 200 + rep % 4);
    auto f = to_device(a);
    ASSERT_EQ(run_team_lu(exec, f, piv, zeros, n), 0) << "repetition " << rep;
    const auto fh = to_host(f, n, n);
    const auto ph = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, piv);
    // P L U with the row swaps undone in reverse order; |L| |U| for the bound.
    HostMatrix<double> lu("lu", n, n), bound("bound", n, n);
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < n; ++i) {
        double s = 0, b = 0;
        for (int k = 0; k <= std::min(i, j); ++k) {
          const double l = k == i ? 1.0 : fh(i, k);
          s += l * fh(k, j);
          b += std::abs(l) * std::abs(fh(k, j));
        }
        lu(i, j) = s;
        bound(i, j) = b;
      }
    for (int j = n - 1; j >= 0; --j) {
      ASSERT_GE(ph(j), j);
      ASSERT_LT(ph(j), n);
      for (int c = 0; c < n; ++c) std::swap(lu(j, c), lu(ph(j), c));
    }
    // Partial pivoting keeps every multiplier at most 1 in magnitude.
    for (int j = 0; j < n; ++j)
      for (int i = j + 1; i < n; ++i) {
        EXPECT_LE(std::abs(fh(i, j)), 1.0)
            << "repetition " << rep << " L(" << i << ", " << j << ")";
      }
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < n; ++i) lu(i, j) -= a(i, j);
    EXPECT_LE(frobenius(lu), c_stable * n * u * frobenius(bound)) << "repetition " << rep;
  }
}

}  // namespace
