// Polar factor by Polar Express (to working precision) beside two baselines measured in the same
// run: the GEMMs of one iteration step timed alone through the same BLAS (the roofline of the
// method: time per step can at best equal it), and the classical LAPACK polar factor U V^T from
// xGESVD (on the host).
//
//   strata_bench_polar [--shapes=256x256,1024x1024,8192x1024] [--precisions=fp64,fp32] [--svd=1]
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench_main.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/random.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "strata/polar/batched.hpp"
#include "strata/polar/bf16.hpp"
#include "strata/polar/newton_schulz.hpp"

namespace {

struct Shape {
  long rows, cols;
  std::string name() const { return std::to_string(rows) + "x" + std::to_string(cols); }
};

std::vector<Shape> shapes() {
  std::vector<Shape> out;
  std::stringstream list(strata::bench::option("shapes", "256x256,512x512,2048x256"));
  std::string item;
  while (std::getline(list, item, ',')) {
    const auto x = item.find('x');
    out.push_back({std::atol(item.substr(0, x).c_str()), std::atol(item.substr(x + 1).c_str())});
  }
  return out;
}

std::vector<std::string> precisions() {
  std::vector<std::string> out;
  std::stringstream list(strata::bench::option("precisions", "fp64,fp32"));
  std::string item;
  while (std::getline(list, item, ',')) out.push_back(item);
  return out;
}

// Measured outside the timing loops, for the summary.
struct Extra {
  int iterations = 0;
  double error = 0;
};
std::map<std::string, Extra> g_extra;

template <class T>
strata::Matrix<T> input(const Shape& s) {
  strata::Matrix<T> a("a", static_cast<std::size_t>(s.rows), static_cast<std::size_t>(s.cols));
  strata::fill_random(strata::ExecSpace(),
                      strata::RandomStream{strata::Distribution::gaussian, 7, 0}, a);
  return a;
}

template <class T>
double orthogonality(const strata::Matrix<T>& q) {
  strata::Matrix<T> g("g", q.extent(1), q.extent(1));
  strata::linalg::gemm(strata::ExecSpace(), "T", "N", T(1), q, q, T(0), g);
  const auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g);
  double sum = 0;
  for (std::size_t j = 0; j < h.extent(1); ++j)
    for (std::size_t i = 0; i < h.extent(0); ++i) {
      const double d = static_cast<double>(h(i, j)) - (i == j ? 1.0 : 0.0);
      sum += d * d;
    }
  return std::sqrt(sum);
}

template <class T>
void polar(benchmark::State& state, Shape s, const std::string& key) {
  const auto a = input<T>(s);
  strata::Matrix<T> q("q", a.extent(0), a.extent(1));
  strata::polar::IterationResult r;
  for (auto _ : state) {
    r = strata::polar::polar_factor<T>(strata::ExecSpace(), a, q);
  }
  g_extra[key] = {r.iterations, orthogonality(q)};
  state.counters["iterations"] = r.iterations;
}

// The three GEMMs of one step on the Gram side (n = small dimension): G = X^T X, G G, X B.
template <class T>
void gemm_step(benchmark::State& state, Shape s) {
  const auto x = input<T>(Shape{std::max(s.rows, s.cols), std::min(s.rows, s.cols)});
  const std::size_t n = x.extent(1);
  strata::Matrix<T> g("g", n, n), b("b", n, n), y("y", x.extent(0), n);
  const strata::ExecSpace exec;
  for (auto _ : state) {
    strata::linalg::gemm(exec, "T", "N", T(1), x, x, T(0), g);
    strata::linalg::gemm(exec, "N", "N", T(1), g, g, T(0), b);
    strata::linalg::gemm(exec, "N", "N", T(1), x, b, T(0), y);
    strata::kx::fence(exec, "bench::gemm_step");
  }
  const double m = static_cast<double>(x.extent(0)), k = static_cast<double>(n);
  state.counters["flops"] = benchmark::Counter(4 * m * k * k + 2 * k * k * k,
                                               benchmark::Counter::kIsIterationInvariantRate);
}

#if STRATA_HAVE_BF16
strata::Matrix<strata::kx::bf16> input_bf16(const Shape& s) {
  const auto f = input<float>(s);
  strata::Matrix<strata::kx::bf16> a("a_bf16", f.extent(0), f.extent(1));
  const auto rows = f.extent(0);
  Kokkos::parallel_for(
      "bench::to_bf16", Kokkos::RangePolicy<strata::ExecSpace>(0, f.size()),
      KOKKOS_LAMBDA(const std::size_t k) {
        a(k % rows, k / rows) = strata::kx::to_bf16(f(k % rows, k / rows));
      });
  return a;
}

void polar_bf16(benchmark::State& state, Shape s, const std::string& key) {
  const auto a = input_bf16(s);
  strata::Matrix<strata::kx::bf16> q("q", a.extent(0), a.extent(1));
  strata::polar::IterationResult r;
  strata::polar::IterationOptions o;
  o.steps =
      8;  // the ML setting (and the PyTorch reference's): bf16's rounding floor is reached by then
  for (auto _ : state) r = strata::polar::polar_factor_bf16(strata::ExecSpace(), a, q, o);
  g_extra[key] = {r.iterations, r.error};
  state.counters["iterations"] = r.iterations;
}

void gemm_step_bf16(benchmark::State& state, Shape s) {
  const auto x = input_bf16(Shape{std::max(s.rows, s.cols), std::min(s.rows, s.cols)});
  const std::size_t n = x.extent(1);
  strata::Matrix<strata::kx::bf16> g("g", n, n), b("b", n, n), y("y", x.extent(0), n);
  const strata::ExecSpace exec;
  for (auto _ : state) {
    strata::linalg::gemm_bf16(exec, 'T', 'N', 1.0f, x, x, 0.0f, g);
    strata::linalg::gemm_bf16(exec, 'N', 'N', 1.0f, g, g, 0.0f, b);
    strata::linalg::gemm_bf16(exec, 'N', 'N', 1.0f, x, b, 0.0f, y);
    strata::kx::fence(exec, "bench::gemm_step_bf16");
  }
}
#endif

template <class T>
void svd_polar(benchmark::State& state, Shape s, const std::string& key) {
  const auto a = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), input<T>(s));
  strata::HostMatrix<T> q;
  for (auto _ : state) q = strata::linalg::host::polar_via_svd(a);
  strata::Matrix<T> dq("dq", q.extent(0), q.extent(1));
  Kokkos::deep_copy(dq, q);
  g_extra[key] = {0, orthogonality(dq)};
}

// A batch of same-shape matrices: one batched call vs a loop of single calls, both with the same
// fixed number of steps so the work is identical.
template <class T>
void batched(benchmark::State& state, Shape s, long count, bool as_loop) {
  strata::Batch<T> a("a", static_cast<std::size_t>(s.rows), static_cast<std::size_t>(s.cols),
                     static_cast<std::size_t>(count));
  for (long b = 0; b < count; ++b) {
    strata::fill_random(
        strata::ExecSpace(),
        strata::RandomStream{strata::Distribution::gaussian, 9, static_cast<std::uint64_t>(b)},
        Kokkos::subview(a, Kokkos::ALL, Kokkos::ALL, b));
  }
  strata::Batch<T> q("q", a.extent(0), a.extent(1), a.extent(2));
  strata::polar::IterationOptions o;
  o.steps = 8;
  o.report_error = false;
  for (auto _ : state) {
    if (as_loop) {
      for (long b = 0; b < count; ++b) {
        strata::Matrix<T> ab("ab", a.extent(0), a.extent(1)), qb("qb", a.extent(0), a.extent(1));
        Kokkos::deep_copy(ab, Kokkos::subview(a, Kokkos::ALL, Kokkos::ALL, b));
        strata::polar::polar_factor<T>(strata::ExecSpace(), ab, qb, o);
        Kokkos::deep_copy(Kokkos::subview(q, Kokkos::ALL, Kokkos::ALL, b), qb);
      }
    } else {
      strata::polar::polar_factor_batched<T>(strata::ExecSpace(), a, q, o);
    }
    strata::kx::fence(strata::ExecSpace(), "bench::batched");
  }
}

std::string key(const char* what, const std::string& p, const Shape& s) {
  return std::string(what) + "/" + p + "/" + s.name();
}

void register_all() {
  const bool svd = strata::bench::option("svd", "1") == "1";
  const long count = std::atol(strata::bench::option("batch", "0").c_str());
  if (count > 0) {
    std::stringstream shape_text(strata::bench::option("batch-shape", "64x64"));
    std::string item;
    std::getline(shape_text, item);
    const auto x = item.find('x');
    const Shape bs{std::atol(item.substr(0, x).c_str()), std::atol(item.substr(x + 1).c_str())};
    for (const auto& p : precisions()) {
      const bool fp64 = p == "fp64";
      const std::string tag = p + "/" + bs.name() + "x" + std::to_string(count);
      benchmark::RegisterBenchmark(("batched/" + tag).c_str(),
                                   [bs, count, fp64](benchmark::State& st) {
                                     fp64 ? batched<double>(st, bs, count, false)
                                          : batched<float>(st, bs, count, false);
                                   })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("loop/" + tag).c_str(),
                                   [bs, count, fp64](benchmark::State& st) {
                                     fp64 ? batched<double>(st, bs, count, true)
                                          : batched<float>(st, bs, count, true);
                                   })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
  for (const auto& s : shapes()) {
    for (const auto& p : precisions()) {
      const bool fp64 = p == "fp64";
      if (p == "bf16") {
#if STRATA_HAVE_BF16
        benchmark::RegisterBenchmark(
            key("polar", p, s).c_str(),
            [s, p](benchmark::State& st) { polar_bf16(st, s, key("polar", p, s)); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(key("gemm_step", p, s).c_str(),
                                     [s](benchmark::State& st) { gemm_step_bf16(st, s); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
#else
        std::fprintf(stderr, "bf16 is not available in this build; skipped\n");
#endif
        continue;
      }
      benchmark::RegisterBenchmark(key("polar", p, s).c_str(),
                                   [s, p, fp64](benchmark::State& st) {
                                     fp64 ? polar<double>(st, s, key("polar", p, s))
                                          : polar<float>(st, s, key("polar", p, s));
                                   })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(key("gemm_step", p, s).c_str(),
                                   [s, fp64](benchmark::State& st) {
                                     fp64 ? gemm_step<double>(st, s) : gemm_step<float>(st, s);
                                   })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
      if (svd && s.rows >= s.cols) {
        benchmark::RegisterBenchmark(key("svd_polar", p, s).c_str(),
                                     [s, p, fp64](benchmark::State& st) {
                                       fp64 ? svd_polar<double>(st, s, key("svd_polar", p, s))
                                            : svd_polar<float>(st, s, key("svd_polar", p, s));
                                     })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond)
            ->Iterations(1);
      }
    }
  }
}

void summary(const std::map<std::string, strata::bench::Recorded>& runs) {
  auto seconds = [&](const std::string& k) {
    const auto it = runs.lower_bound(k + "/");
    const bool found = it != runs.end() && it->first.rfind(k + "/", 0) == 0;
    return found ? it->second.seconds_per_iteration : 0.0;
  };
  std::printf("\nPolar Express (to working precision) vs baselines measured in this run (%s)\n",
              strata::ExecSpace::name());
  std::printf("%-12s %-5s %10s %6s %12s %10s %11s %12s %10s %10s\n", "shape", "prec", "PE [ms]",
              "iters", "step [ms]", "GEMMs [ms]", "step/GEMMs", "SVD [ms]", "SVD/PE", "PE err");
  for (const auto& s : shapes()) {
    for (const auto& p : precisions()) {
      const double pe = seconds(key("polar", p, s)), step = seconds(key("gemm_step", p, s));
      const double svd = seconds(key("svd_polar", p, s));
      if (pe == 0 && step == 0) continue;  // not run (e.g. bf16 unavailable)
      const auto extra = g_extra[key("polar", p, s)];
      const double per_step =
          extra.iterations > 0 ? pe / (extra.iterations + 1) : 0;  // +1: final Gram
      std::printf("%-12s %-5s %10.3f %6d %12.3f %10.3f %11.2f %12.3f %10.2f %10.2e",
                  s.name().c_str(), p.c_str(), pe * 1e3, extra.iterations, per_step * 1e3,
                  step * 1e3, step > 0 ? per_step / step : 0, svd * 1e3,
                  pe > 0 && svd > 0 ? svd / pe : 0, extra.error);
      if (svd > 0) std::printf("  (SVD err %.2e)", g_extra[key("svd_polar", p, s)].error);
      std::printf("\n");
    }
  }
  std::printf(
      "(step = PE time / (iterations + 1); GEMMs = X^T X, G G, X B timed alone; err = ||Q^T Q - "
      "I||_F;\n"
      " fp64/fp32 run to working precision, bf16 runs 8 fixed steps)\n");
  for (const auto& [name, run] : runs) {
    if (name.rfind("batched/", 0) != 0) continue;
    const std::string tag = name.substr(8, name.find("/real_time") - 8);
    const double loop = seconds("loop/" + tag);
    std::printf(
        "batch %-24s one batched call %10.3f ms, loop of single calls %10.3f ms, loop/batched "
        "%6.2f (8 steps)\n",
        tag.c_str(), run.seconds_per_iteration * 1e3, loop * 1e3,
        run.seconds_per_iteration > 0 ? loop / run.seconds_per_iteration : 0.0);
  }
}

[[maybe_unused]] const bool registered = [] {
  strata::bench::add_option_name("shapes");
  strata::bench::add_option_name("precisions");
  strata::bench::add_option_name("svd");
  strata::bench::add_option_name("batch");
  strata::bench::add_option_name("batch-shape");
  strata::bench::set_registrar(register_all);
  strata::bench::set_summary(summary);
  return true;
}();

}  // namespace
