// Randomized SVD of an m x n matrix with a decaying spectrum at rank k, per phase, beside two
// baselines measured in the same run: the GEMM A * Omega (m x n times n x (k + p)) timed alone
// through the same BLAS, which bounds what one sketching pass can cost, and LAPACK's dgesvd of the
// whole matrix (singular values only, on the host; skipped with --svd=0). Also the CholeskyQR2 of
// one m x (k + p) sketch alone (the orthonormalization each pass of the range finder does) beside
// its GEMM bound (two Gram products and two triangular solves: 4 m l^2 flops, timed as two
// X^T X GEMMs and two X R GEMMs).
//
//   strata_bench_rsvd [--m=2000] [--n=1000] [--rank=20] [--power=1] [--oversample=10] [--svd=1]
//                     [--probes=10] [--precision=fp64|fp32]
//                     [--small-svd=automatic|host-lapack|device-jacobi|device-polar]
// --small-svd: where randomized_svd factors its l x l core (linalg/small_svd.hpp); every method
// available in the build is also timed alone on an l x l Gaussian matrix ("core_svd" rows).
// --probes: Gaussian probes of the posterior error measure (0: none, as torch.svd_lowrank).
// Every GPU benchmark runs once untimed before its timed iterations (library handles, workspaces
// and lazily loaded kernels stay out of the figures, as in the PyTorch scripts' warm-up).
//
// A = G1 diag(sigma) G2^T / sqrt(m n) with Gaussian G1 (m x r), G2 (n x r), r = min(m, n) and
// sigma_j = exp(-j / k): a Gaussian-product matrix whose singular values decay by e every k.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "bench_main.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/math.hpp"
#include "strata/core/random.hpp"
#include "strata/dist/linear_operator.hpp"
#include "strata/dist/tall_skinny_qr.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "strata/linalg/small_svd.hpp"
#include "strata/sketch/low_rank.hpp"

namespace {

long opt(const char* name, long fallback) {
  return std::atol(strata::bench::option(name, std::to_string(fallback)).c_str());
}

struct Extra {
  double error_estimate = 0, sigma_next = 0;
  long matvecs = 0;
  std::vector<std::pair<std::string, double>> phases;
};
Extra g_extra;

template <class T>
strata::Matrix<T> decaying_matrix(long m, long n, long k) {
  const long r = std::min(m, n);
  strata::Matrix<T> g1("g1", m, r), g2("g2", n, r), a("a", m, n);
  const strata::ExecSpace exec;
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 1, 0}, g1);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 1, 1}, g2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(m) * static_cast<double>(n));
  Kokkos::parallel_for(
      "bench::rsvd::scale", Kokkos::RangePolicy<strata::ExecSpace>(exec, 0, g1.size()),
      KOKKOS_LAMBDA(const std::size_t t) {
        const std::size_t i = t % g1.extent(0), j = t / g1.extent(0);
        g1(i, j) *= static_cast<T>(
            scale * strata::kx::exp(-static_cast<double>(j) / static_cast<double>(k)));
      });
  strata::linalg::gemm(exec, "N", "T", T(1), g1, g2, T(0), a);
  strata::kx::fence(exec, "bench::rsvd::input");
  return a;
}

template <class T>
void rsvd(benchmark::State& state, long m, long n, long k, long q, long p) {
  const auto a = decaying_matrix<T>(m, n, k);
  const strata::DenseOperator<T> op(a);
  strata::sketch::LowRankOptions o;
  o.rank = k;
  o.oversample = p;
  o.power_iterations = static_cast<int>(q);
  o.error_probes = static_cast<int>(opt("probes", 10));
  o.small_svd =
      strata::linalg::parse_small_svd_method(strata::bench::option("small-svd", "automatic"));
  strata::sketch::SvdResult<T> r;
  // One untimed warm-up call: library handles, workspaces and kernel loading stay out of the
  // timing.
  r = strata::sketch::randomized_svd(strata::ExecSpace(), op, o);
  for (auto _ : state) r = strata::sketch::randomized_svd(strata::ExecSpace(), op, o);
  g_extra.error_estimate = r.error_estimate;
  g_extra.matvecs = r.matvecs;
  g_extra.phases = r.timings.phases();
  const double l = static_cast<double>(k + p);
  state.counters["flops"] = benchmark::Counter(2.0 * m * n * l * (2 * q + 2),
                                               benchmark::Counter::kIsIterationInvariantRate);
}

template <class T>
void gemm_sketch(benchmark::State& state, long m, long n, long k, long l) {
  const auto a = decaying_matrix<T>(m, n, k);
  strata::Matrix<T> omega("omega", n, l), y("y", m, l);
  strata::fill_random(strata::ExecSpace(), strata::RandomStream{}, omega);
  const strata::ExecSpace exec;
  const auto run = [&] {
    strata::linalg::gemm(exec, "N", "N", T(1), a, omega, T(0), y);
    strata::kx::fence(exec, "bench::rsvd::gemm");
  };
  run();  // untimed warm-up: first-call costs (library handles, kernel loading) stay out
  for (auto _ : state) run();
  state.counters["flops"] =
      benchmark::Counter(2.0 * m * n * l, benchmark::Counter::kIsIterationInvariantRate);
}

// CholeskyQR2 of a Gaussian m x l block (restored before each run, the copy timed too), and the
// GEMMs of the same flop count.
template <class T>
void cholesky_qr(benchmark::State& state, long m, long l) {
  strata::Matrix<T> x0("x0", m, l), x("x", m, l), r("r", l, l), g("g", l, l);
  strata::fill_random(strata::ExecSpace(), strata::RandomStream{}, x0);
  const strata::ExecSpace exec;
  const strata::Comm self = strata::Comm::self();
  const strata::DistMatrix<T> dx(self, strata::BlockRowLayout(m, 1), x);
  strata::TallSkinnyQrResult result;
  const auto run = [&] {
    Kokkos::deep_copy(exec, x, x0);
    result = strata::tall_skinny_qr(exec, dx, r);
    strata::kx::fence(exec, "bench::rsvd::qr");
  };
  run();  // untimed warm-up: first-call costs (library handles, kernel loading) stay out
  for (auto _ : state) run();
  state.counters["passes"] = result.passes;
}

template <class T>
void qr_gemm_bound(benchmark::State& state, long m, long l) {
  strata::Matrix<T> x("x", m, l), y("y", m, l), g("g", l, l);
  strata::fill_random(strata::ExecSpace(), strata::RandomStream{}, x);
  const strata::ExecSpace exec;
  const auto run = [&] {
    for (int pass = 0; pass < 2; ++pass) {
      strata::linalg::gemm(exec, "T", "N", T(1), x, x, T(0), g);
      strata::linalg::gemm(exec, "N", "N", T(1), x, g, T(0), y);
    }
    strata::kx::fence(exec, "bench::rsvd::qr_gemm");
  };
  run();  // untimed warm-up: first-call costs (library handles, kernel loading) stay out
  for (auto _ : state) run();
}

// The SVD of an l x l Gaussian matrix (the core randomized_svd factors) by one small_svd method.
template <class T>
void core_svd(benchmark::State& state, long l, strata::linalg::SmallSvdMethod method) {
  strata::Matrix<T> a("a", l, l), u("u", l, l), v("v", l, l);
  strata::fill_random(strata::ExecSpace(), strata::RandomStream{}, a);
  const strata::ExecSpace exec;
  const auto run = [&] {
    strata::linalg::small_svd(exec, strata::ConstMatrix<T>(a), u, v, method);
  };
  run();  // untimed warm-up: first-call costs (library handles, kernel loading) stay out
  for (auto _ : state) run();
}

template <class T>
void lapack_svd(benchmark::State& state, long m, long n, long k) {
  const auto a =
      Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), decaying_matrix<T>(m, n, k));
  std::vector<T> s;
  for (auto _ : state) s = strata::linalg::host::singular_values(a);
  g_extra.sigma_next = static_cast<double>(s[static_cast<std::size_t>(k)]);
}

template <class T>
void register_for() {
  const long m = opt("m", 2000), n = opt("n", 1000), k = opt("rank", 20), q = opt("power", 1),
             p = opt("oversample", 10);
  const std::string tag = std::to_string(m) + "x" + std::to_string(n) + "/k" + std::to_string(k) +
                          (std::is_same_v<T, float> ? "/fp32" : "/fp64");
  benchmark::RegisterBenchmark(("rsvd/" + tag + "/q" + std::to_string(q)).c_str(),
                               [=](benchmark::State& s) { rsvd<T>(s, m, n, k, q, p); })
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("gemm_sketch/" + tag).c_str(), [=](benchmark::State& s) {
    gemm_sketch<T>(s, m, n, k, k + p);
  })->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("cholesky_qr2/" + tag).c_str(), [=](benchmark::State& s) {
    cholesky_qr<T>(s, m, k + p);
  })->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("qr_gemms/" + tag).c_str(), [=](benchmark::State& s) {
    qr_gemm_bound<T>(s, m, k + p);
  })->Unit(benchmark::kMillisecond);
  using strata::linalg::SmallSvdMethod;
  std::vector<SmallSvdMethod> core_methods{SmallSvdMethod::host_lapack};
  if (strata::linalg::resolve(SmallSvdMethod::automatic) != SmallSvdMethod::host_lapack)
    core_methods.insert(core_methods.end(),
                        {SmallSvdMethod::device_jacobi, SmallSvdMethod::device_polar});
  for (const auto method : core_methods) {
    benchmark::RegisterBenchmark(
        ("core_svd/" + std::to_string(k + p) + "/" + strata::linalg::to_string(method)).c_str(),
        [=](benchmark::State& s) { core_svd<T>(s, k + p, method); })
        ->Unit(benchmark::kMillisecond);
  }
  if (opt("svd", 1) != 0) {
    benchmark::RegisterBenchmark(("lapack_svd/" + tag).c_str(),
                                 [=](benchmark::State& s) { lapack_svd<T>(s, m, n, k); })
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1);
  }
}

void register_all() {
  const std::string precision = strata::bench::option("precision", "fp64");
  if (precision == "fp32") {
    register_for<float>();
  } else if (precision == "fp64") {
    register_for<double>();
  } else {
    std::fprintf(stderr, "strata_bench_rsvd: --precision=%s: expected fp64 or fp32\n",
                 precision.c_str());
    std::exit(2);
  }
}

void summary(const std::map<std::string, strata::bench::Recorded>& runs) {
  auto seconds = [&](const std::string& prefix) {
    for (const auto& [name, run] : runs)
      if (name.rfind(prefix, 0) == 0) return run.seconds_per_iteration;
    return 0.0;
  };
  const long m = opt("m", 2000), n = opt("n", 1000), k = opt("rank", 20), q = opt("power", 1),
             p = opt("oversample", 10);
  const double t = seconds("rsvd/"), g = seconds("gemm_sketch/"), svd = seconds("lapack_svd/");
  std::printf("\nRandomized SVD %ld x %ld, rank %ld, oversampling %ld, %ld power steps, %s (%s)\n",
              m, n, k, p, q, strata::bench::option("precision", "fp64").c_str(),
              strata::ExecSpace::name());
  std::printf("  rsvd            %10.3f ms  (%ld matvecs, error estimate %.3e", t * 1e3,
              g_extra.matvecs, g_extra.error_estimate);
  if (g_extra.sigma_next > 0) std::printf(", LAPACK sigma_{k+1} %.3e", g_extra.sigma_next);
  std::printf(")\n");
  for (const auto& [name, s] : g_extra.phases)
    std::printf("    %-12s %10.3f ms\n", name.c_str(), s * 1e3);
  const double passes = 2.0 * q + 2;  // A Omega, A^T Q and 2 per power step
  std::printf(
      "  baseline: one sketch GEMM (A * Omega) %10.3f ms = %.2f GFLOP/s; rsvd / (%.0f GEMMs) = "
      "%.2f\n",
      g * 1e3, g > 0 ? 2.0 * m * n * (k + p) / g * 1e-9 : 0.0, passes,
      g > 0 ? t / (passes * g) : 0.0);
  const double qr = seconds("cholesky_qr2/"), qr_gemms = seconds("qr_gemms/");
  std::printf(
      "  CholeskyQR2 of one %ld x %ld sketch %10.3f ms; its GEMM bound (2 x (X^T X, X G)) %10.3f "
      "ms; ratio %.2f\n",
      m, k + p, qr * 1e3, qr_gemms * 1e3, qr_gemms > 0 ? qr / qr_gemms : 0.0);
  std::printf("  core SVD of %ld x %ld (randomized_svd's small SVD, --small-svd=%s):", k + p, k + p,
              strata::bench::option("small-svd", "automatic").c_str());
  for (const auto& [name, run] : runs)
    if (name.rfind("core_svd/", 0) == 0)
      std::printf("  %s %.3f ms", name.substr(name.rfind('/') + 1).c_str(),
                  run.seconds_per_iteration * 1e3);
  std::printf("\n");
  if (svd > 0)
    std::printf("  baseline: LAPACK xGESVD (values only, host) %10.3f ms; xGESVD / rsvd = %.2f\n",
                svd * 1e3, t > 0 ? svd / t : 0.0);
}

[[maybe_unused]] const bool registered = [] {
  for (const char* name :
       {"m", "n", "rank", "power", "oversample", "svd", "probes", "small-svd", "precision"})
    strata::bench::add_option_name(name);
  strata::bench::set_registrar(register_all);
  strata::bench::set_summary(summary);
  return true;
}();

}  // namespace
