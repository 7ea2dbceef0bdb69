// Matvec-based estimators beside their unavoidable cost measured in the same run: the products
// with A themselves (one block product A X with the same number of vectors, or k single-vector
// products for Lanczos). The summary prints each estimator's time over that baseline (its
// overhead: QR, projections, small solves) and, for the trace, the median relative error at equal
// matvecs over 10 seeds (Hutch++ vs Hutchinson on a decaying spectrum).
//
//   strata_bench_estimators [--sizes=1000,4000] [--matvecs=30]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "bench_main.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/dist/operations.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/sketch/fixed_sparsity.hpp"
#include "strata/sketch/lanczos.hpp"
#include "strata/sketch/trace.hpp"

namespace {

long matvecs() {
  return std::atol(strata::bench::option("matvecs", "30").c_str());
}

std::string key(const std::string& what, long n) {
  return what + "/" + std::to_string(n);
}

std::map<std::string, double> g_error;  // median relative trace error, by benchmark key

/// A = G diag(j^-2) G^T / n (PSD, decaying spectrum) and its exact trace.
struct Problem {
  strata::Matrix<double> a;
  double trace = 0;
};

// Views must be released before Kokkos is finalized: summary() clears this.
std::map<long, Problem> g_problems;

const Problem& problem(long n) {
  auto it = g_problems.find(n);
  if (it != g_problems.end()) return it->second;
  const auto size = static_cast<std::size_t>(n);
  strata::Matrix<double> g("g", size, size), gd("gd", size, size);
  strata::fill_random(strata::ExecSpace(),
                      strata::RandomStream{strata::Distribution::gaussian, 3, 0}, g);
  Kokkos::parallel_for(
      "strata::bench::estimators::scale",
      Kokkos::MDRangePolicy<strata::ExecSpace, Kokkos::Rank<2>>({0, 0}, {size, size}),
      KOKKOS_LAMBDA(const std::size_t i, const std::size_t j) {
        gd(i, j) = g(i, j) / (static_cast<double>(j + 1) * static_cast<double>(j + 1) * n);
      });
  Problem p;
  p.a = strata::Matrix<double>("a", size, size);
  strata::linalg::gemm(strata::ExecSpace(), "N", "T", 1.0, gd, g, 0.0, p.a);
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), p.a);
  for (std::size_t i = 0; i < size; ++i) p.trace += h(i, i);
  return g_problems.emplace(n, p).first->second;
}

void trace(benchmark::State& state, long n, strata::sketch::TraceMethod method,
           const std::string& k) {
  const strata::DenseOperator<double> op(problem(n).a);
  strata::sketch::TraceOptions o;
  o.method = method;
  o.matvecs = matvecs();
  std::vector<double> errors;
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    o.seed = seed;
    errors.push_back(std::abs(strata::sketch::estimate_trace(strata::ExecSpace(), op, o).estimate -
                              problem(n).trace) /
                     problem(n).trace);
  }
  std::sort(errors.begin(), errors.end());
  g_error[k] = 0.5 * (errors[4] + errors[5]);
  o.seed = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(strata::sketch::estimate_trace(strata::ExecSpace(), op, o).estimate);
  }
}

void block_matvec(benchmark::State& state, long n, long m) {
  const auto& a = problem(n).a;
  strata::Matrix<double> x("x", a.extent(0), static_cast<std::size_t>(m)),
      y("y", a.extent(0), static_cast<std::size_t>(m));
  strata::fill_random(strata::ExecSpace(),
                      strata::RandomStream{strata::Distribution::rademacher, 1, 0}, x);
  for (auto _ : state) {
    strata::linalg::gemm(strata::ExecSpace(), "N", "N", 1.0, a, x, 0.0, y);
    strata::kx::fence(strata::ExecSpace(), "strata::bench::estimators::matvec");
  }
}

void single_matvecs(benchmark::State& state, long n, long k) {
  const auto& a = problem(n).a;
  strata::Matrix<double> x("x", a.extent(0), 1), y("y", a.extent(0), 1);
  Kokkos::deep_copy(x, 1.0);
  for (auto _ : state) {
    for (long j = 0; j < k; ++j)
      strata::linalg::gemm(strata::ExecSpace(), "N", "N", 1.0, a, x, 0.0, y);
    strata::kx::fence(strata::ExecSpace(), "strata::bench::estimators::matvecs");
  }
}

void lanczos(benchmark::State& state, long n, long k, bool reorthogonalize) {
  const strata::DenseOperator<double> op(problem(n).a);
  const strata::BlockRowLayout layout(n, 1);
  strata::DistMatrix<double> b(strata::Comm::self(), layout, 1), y(strata::Comm::self(), layout, 1);
  Kokkos::deep_copy(b.local(), 1.0);
  strata::sketch::LanczosOptions o;
  o.steps = static_cast<int>(k);
  o.function = strata::sketch::MatrixFunction::sqrt;
  o.reorthogonalize = reorthogonalize;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        strata::sketch::lanczos_function(strata::ExecSpace(), op, b, y, o).steps);
  }
}

void fixed_sparsity(benchmark::State& state, long n, long m) {
  const strata::DenseOperator<double> op(problem(n).a);
  const auto pattern = strata::sketch::SparsityPattern::banded(n, 2);
  strata::sketch::FixedSparsityOptions o;
  o.matvecs = m;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        strata::sketch::fixed_sparsity_approximation(strata::ExecSpace(), op, pattern, o).matvecs);
  }
}

void register_all() {
  const long m = matvecs();
  for (const long n : strata::bench::sizes({1000, 3000})) {
    auto reg = [](const std::string& name, auto f) {
      benchmark::RegisterBenchmark(name.c_str(), f)->UseRealTime()->Unit(benchmark::kMillisecond);
    };
    reg(key("matvec_block", n), [n, m](benchmark::State& s) { block_matvec(s, n, m); });
    reg(key("trace_hutch++", n), [n](benchmark::State& s) {
      trace(s, n, strata::sketch::TraceMethod::hutch_plus_plus, key("trace_hutch++", n));
    });
    reg(key("trace_na-hutch++", n), [n](benchmark::State& s) {
      trace(s, n, strata::sketch::TraceMethod::na_hutch_plus_plus, key("trace_na-hutch++", n));
    });
    reg(key("trace_hutchinson", n), [n](benchmark::State& s) {
      trace(s, n, strata::sketch::TraceMethod::hutchinson, key("trace_hutchinson", n));
    });
    reg(key("fixed_sparsity_band2", n), [n, m](benchmark::State& s) { fixed_sparsity(s, n, m); });
    reg(key("matvec_single", n), [n, m](benchmark::State& s) { single_matvecs(s, n, m); });
    reg(key("lanczos_reorth", n), [n, m](benchmark::State& s) { lanczos(s, n, m, true); });
    reg(key("lanczos_plain", n), [n, m](benchmark::State& s) { lanczos(s, n, m, false); });
  }
}

void summary(const std::map<std::string, strata::bench::Recorded>& runs) {
  auto seconds = [&](const std::string& k) {
    const auto it = runs.lower_bound(k + "/");
    const bool found = it != runs.end() && it->first.rfind(k + "/", 0) == 0;
    return found ? it->second.seconds_per_iteration : 0.0;
  };
  const long m = matvecs();
  std::printf("\nEstimators vs the products with A alone, measured in this run (%s), m = %ld\n",
              strata::ExecSpace::name(), m);
  std::printf("%-8s %-22s %12s %14s %10s %14s\n", "n", "estimator", "time [ms]", "baseline [ms]",
              "ratio", "median relerr");
  for (const long n : strata::bench::sizes({1000, 3000})) {
    const double block = seconds(key("matvec_block", n)), single = seconds(key("matvec_single", n));
    for (const std::string name : {"trace_hutch++", "trace_na-hutch++", "trace_hutchinson",
                                   "fixed_sparsity_band2", "lanczos_reorth", "lanczos_plain"}) {
      const double t = seconds(key(name, n));
      const double base = name.rfind("lanczos", 0) == 0 ? single : block;
      const auto err = g_error.find(key(name, n));
      std::printf("%-8ld %-22s %12.3f %14.3f %10.2f", n, name.c_str(), t * 1e3, base * 1e3,
                  base > 0 ? t / base : 0.0);
      if (err != g_error.end()) std::printf(" %14.2e", err->second);
      std::printf("\n");
    }
  }
  std::printf(
      "(baseline: one A X with m vectors for trace and fixed sparsity, m single products for\n"
      " Lanczos; relerr: |estimate - tr A| / tr A over 10 seeds, A = G diag(j^-2) G^T / n)\n");
  g_problems.clear();
}

[[maybe_unused]] const bool registered = [] {
  strata::bench::add_option_name("matvecs");
  strata::bench::set_registrar(register_all);
  strata::bench::set_summary(summary);
  return true;
}();

}  // namespace
