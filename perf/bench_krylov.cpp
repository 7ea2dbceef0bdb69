// HSS-preconditioned GMRES on the exact kernel operator against a direct HSS solve and a dense
// LAPACK solve, all in the same run. A plain driver: each row is one end-to-end solve.
//
//   strata_bench_krylov [--sizes=4096,8192,16384] [--problems=cauchy-1d,exponential-1d]
//                       [--pre-tol=1e-4] [--direct-tol=1e-10] [--krylov-tol=1e-10]
//                       [--leaf=64] [--restart=30] [--dense-max=4096]
//
// Per problem and size it prints:
//   gmres+hss   HSS build at --pre-tol (products with the on-the-fly kernel operator), its ULV
//               factor, GMRES(restart) on the exact operator to --krylov-tol: iterations, times,
//               the true relative residual ||b - A x|| / ||b||;
//   direct hss  (baseline) HSS build at --direct-tol, ULV factor and solve, and the residual of
//               that x against the exact operator;
//   dense       (baseline, N <= --dense-max) the dense matrix formed from the kernel and solved by
//               LAPACK xGESV on the host.
// Times are wall-clock seconds of one run each (fenced). Only the public API is used.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/core/runtime.hpp"
#include "strata/dist/operations.hpp"
#include "strata/hss/compress_matvec.hpp"
#include "strata/hss/hss_operator.hpp"
#include "strata/hss/problems.hpp"
#include "strata/krylov/gmres.hpp"
#include "strata/linalg/host_lapack.hpp"

namespace {

namespace hss = strata::hss;
using strata::index_type;

std::string option(int argc, char** argv, const char* name, const char* fallback) {
  const std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) return argv[i] + prefix.size();
  return fallback;
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream s(list);
  for (std::string item; std::getline(s, item, ',');) out.push_back(item);
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// ||b - A x|| / ||b|| with one product with the exact operator.
double residual(const strata::ExecSpace& exec, const strata::LinearOperator<double>& a,
                const strata::Matrix<double>& b, const strata::Matrix<double>& x) {
  strata::Matrix<double> ax("ax", b.extent(0), 1);
  a.apply(exec, x, ax);
  exec.fence();
  const auto bh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), b);
  const auto axh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), ax);
  double r2 = 0, b2 = 0;
  for (std::size_t i = 0; i < bh.extent(0); ++i) {
    r2 += (bh(i, 0) - axh(i, 0)) * (bh(i, 0) - axh(i, 0));
    b2 += bh(i, 0) * bh(i, 0);
  }
  return std::sqrt(r2 / b2);
}

struct Built {
  std::shared_ptr<hss::HssOperator<double>> inverse;
  double compress_s = 0, factor_s = 0, error_estimate = 0;
};

Built build(const strata::ExecSpace& exec, const strata::LinearOperator<double>& a,
            const hss::ClusterTree& tree, double tol) {
  Built out;
  hss::CompressOptions c;
  c.tolerance = tol;
  auto start = std::chrono::steady_clock::now();
  auto h = hss::compress_from_matvecs(exec, a, tree, c);
  exec.fence();
  out.compress_s = seconds_since(start);
  out.error_estimate = h.relative_error_estimate;
  hss::HssOperatorOptions o;
  o.mode = hss::HssOperatorMode::inverse;
  o.factor_transpose = false;
  start = std::chrono::steady_clock::now();
  out.inverse = std::make_shared<hss::HssOperator<double>>(exec, h.matrix, o);
  exec.fence();
  out.factor_s = seconds_since(start);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  strata::ScopeGuard guard(argc, argv);
  const strata::ExecSpace exec;
  const auto sizes = split(option(argc, argv, "sizes", "4096,8192,16384"));
  const auto problems = split(option(argc, argv, "problems", "cauchy-1d,exponential-1d"));
  const double pre_tol = std::atof(option(argc, argv, "pre-tol", "1e-4").c_str());
  const double direct_tol = std::atof(option(argc, argv, "direct-tol", "1e-10").c_str());
  const double krylov_tol = std::atof(option(argc, argv, "krylov-tol", "1e-10").c_str());
  const index_type leaf = std::atol(option(argc, argv, "leaf", "64").c_str());
  const int restart = std::atoi(option(argc, argv, "restart", "30").c_str());
  const index_type dense_max = std::atol(option(argc, argv, "dense-max", "4096").c_str());
  std::printf(
      "HSS-preconditioned GMRES (HSS at tol %.0e, GMRES to %.0e on the exact operator)\n"
      "vs baseline (same matrix, same run): direct HSS at tol %.0e (build + ULV), dense "
      "LAPACK dgesv (N <= %ld)\n",
      pre_tol, krylov_tol, direct_tol, static_cast<long>(dense_max));
  std::printf("%-15s %6s %-11s %9s %9s %6s %9s %9s %10s %10s\n", "problem", "N", "method",
              "build_s", "factor_s", "iters", "solve_s", "total_s", "residual", "hss_error");
  for (const auto& name : problems) {
    for (const auto& size_text : sizes) {
      const index_type n = std::atol(size_text.c_str());
      const auto problem = hss::make_problem<double>(name, n);
      const auto a = hss::make_operator<double>(problem);
      const auto points =
          Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), problem->points());
      const auto tree = hss::ClusterTree::geometric(points, leaf);
      strata::DistMatrix<double> b(strata::Comm::self(), n, 1), x(strata::Comm::self(), n, 1);
      strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 1, 0}, b);
      exec.fence();

      {  // HSS at a loose tolerance preconditions GMRES on the exact operator.
        const auto pre = build(exec, *a, tree, pre_tol);
        strata::krylov::KrylovOptions o;
        o.tolerance = krylov_tol;
        o.restart = restart;
        const auto start = std::chrono::steady_clock::now();
        const auto r = strata::krylov::gmres(exec, *a, *pre.inverse, b, x, o);
        const double solve_s = seconds_since(start);
        std::printf("%-15s %6ld %-11s %9.3f %9.3f %6d %9.3f %9.3f %10.2e %10.2e%s\n", name.c_str(),
                    static_cast<long>(n), "gmres+hss", pre.compress_s, pre.factor_s, r.iterations,
                    solve_s, pre.compress_s + pre.factor_s + solve_s, r.relative_residual,
                    pre.error_estimate, r.converged ? "" : "  (NOT converged)");
      }
      {  // Baseline: a direct HSS solve at a tight tolerance.
        const auto direct = build(exec, *a, tree, direct_tol);
        const auto start = std::chrono::steady_clock::now();
        direct.inverse->apply(exec, b.local(), x.local());
        exec.fence();
        const double solve_s = seconds_since(start);
        std::printf("%-15s %6ld %-11s %9.3f %9.3f %6s %9.3f %9.3f %10.2e %10.2e\n", name.c_str(),
                    static_cast<long>(n), "direct hss", direct.compress_s, direct.factor_s, "-",
                    solve_s, direct.compress_s + direct.factor_s + solve_s,
                    residual(exec, *a, b.local(), x.local()), direct.error_estimate);
      }
      if (n <= dense_max) {  // Baseline: dense LAPACK.
        auto start = std::chrono::steady_clock::now();
        const auto dense = problem->dense(exec);
        exec.fence();
        const auto lu = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), dense);
        const double form_s = seconds_since(start);
        // A fresh host copy: a host mirror of b could be b itself, which xGESV overwrites.
        strata::HostMatrix<double> xh("x", static_cast<std::size_t>(n), 1);
        Kokkos::deep_copy(xh, b.local());
        start = std::chrono::steady_clock::now();
        strata::linalg::host::solve_in_place(lu, xh);
        const double solve_s = seconds_since(start);
        Kokkos::deep_copy(x.local(), xh);
        std::printf("%-15s %6ld %-11s %9.3f %9s %6s %9.3f %9.3f %10.2e %10s\n", name.c_str(),
                    static_cast<long>(n), "dense gesv", form_s, "-", "-", solve_s, form_s + solve_s,
                    residual(exec, *a, b.local(), x.local()), "-");
      }
      std::fflush(stdout);
    }
  }
  return 0;
}
