// Polar factor by Polar Express (to working precision) beside two baselines measured in the same
// run: the GEMMs of one iteration step timed alone through the same BLAS (the roofline of the
// method: time per step can at best equal it), and the classical LAPACK polar factor U V^T from
// xGESVD (on the host).
//
//   strata_bench_polar [--shapes=256x256,1024x1024,8192x1024] [--precisions=fp64,fp32,bf16]
//                      [--svd=1] [--batch=128 --batch-shape=1024x1024]
// With --batch, every precision also gets a batched row (one batched call, bf16 really in bf16
// storage with fp32 accumulation), its loop of single calls, and a Muon-style row: one batched
// Muon step (momentum, 5 quintic steps, update) on fp32 weights, orthogonalized in that precision
// (bf16: bf16 storage as the reference Muon does).
// fp64/fp32 also get 8 fixed steps without the final error (the ML setting: no device-to-host
// wait per step) beside the products one step needs with symmetry used: X^T X and G^T G as
// symmetric rank-k products (linalg::syrk) and X B as a GEMM ("sym step"), and per step against
// both the plain 3-GEMM step and the symmetric one.
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "bench_main.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/random.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "strata/linalg/syrk.hpp"
#include "strata/polar/batched.hpp"
#include "strata/polar/bf16.hpp"
#include "strata/polar/muon.hpp"
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
  // One untimed call first: the timed ones then exclude one-time costs (BLAS handles, module
  // loading, first-touch), which a single timed iteration of a long run would otherwise include.
  strata::polar::IterationResult r = strata::polar::polar_factor<T>(strata::ExecSpace(), a, q);
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

// The products of one step as the iteration forms them: G = X^T X and G^T G = G^2 by SYRK, X B by
// a GEMM (the polynomial's linear part rides in the second SYRK's beta).
template <class T>
void symmetric_step(benchmark::State& state, Shape s) {
  const auto x = input<T>(Shape{std::max(s.rows, s.cols), std::min(s.rows, s.cols)});
  const std::size_t n = x.extent(1);
  strata::Matrix<T> g("g", n, n), b("b", n, n), y("y", x.extent(0), n);
  const strata::ExecSpace exec;
  for (auto _ : state) {
    strata::linalg::syrk(exec, 'T', T(1), strata::ConstMatrix<T>(x), T(0), g);
    strata::linalg::syrk(exec, 'T', T(1), strata::ConstMatrix<T>(g), T(1), b);
    strata::linalg::gemm(exec, "N", "N", T(1), x, b, T(0), y);
    strata::kx::fence(exec, "bench::symmetric_step");
  }
  const double m = static_cast<double>(x.extent(0)), k = static_cast<double>(n);
  state.counters["flops"] =
      benchmark::Counter(3 * m * k * k + k * k * k, benchmark::Counter::kIsIterationInvariantRate);
}

// 8 fixed steps without the final error check: no device-to-host wait inside the loop.
template <class T>
void polar_fixed(benchmark::State& state, Shape s, const std::string& key) {
  const auto a = input<T>(s);
  strata::Matrix<T> q("q", a.extent(0), a.extent(1));
  strata::polar::IterationOptions o;
  o.steps = 8;
  o.report_error = false;
  strata::polar::IterationResult r = strata::polar::polar_factor<T>(strata::ExecSpace(), a, q, o);
  for (auto _ : state) {
    r = strata::polar::polar_factor<T>(strata::ExecSpace(), a, q, o);
  }
  g_extra[key] = {r.iterations, orthogonality(q)};
}

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
  r = strata::polar::polar_factor_bf16(strata::ExecSpace(), a, q, o);  // untimed warm-up
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

template <class T>
void svd_polar(benchmark::State& state, Shape s, const std::string& key) {
  const auto a = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), input<T>(s));
  strata::HostMatrix<T> q;
  for (auto _ : state) q = strata::linalg::host::polar_via_svd(a);
  strata::Matrix<T> dq("dq", q.extent(0), q.extent(1));
  Kokkos::deep_copy(dq, q);
  g_extra[key] = {0, orthogonality(dq)};
}

template <class T>
strata::Batch<T> random_batch(Shape s, long count, std::uint64_t seed) {
  strata::Batch<T> a("a", static_cast<std::size_t>(s.rows), static_cast<std::size_t>(s.cols),
                     static_cast<std::size_t>(count));
  for (long b = 0; b < count; ++b) {
    strata::fill_random(
        strata::ExecSpace(),
        strata::RandomStream{strata::Distribution::gaussian, seed, static_cast<std::uint64_t>(b)},
        Kokkos::subview(a, Kokkos::ALL, Kokkos::ALL, b));
  }
  return a;
}

strata::Batch<strata::kx::bf16> to_bf16(const strata::Batch<float>& a) {
  strata::Batch<strata::kx::bf16> out("a_bf16", a.extent(0), a.extent(1), a.extent(2));
  const float* in = a.data();
  strata::kx::bf16* o = out.data();
  Kokkos::parallel_for(
      "bench::batch_to_bf16", Kokkos::RangePolicy<strata::ExecSpace>(0, a.size()),
      KOKKOS_LAMBDA(const std::size_t k) { o[k] = strata::kx::to_bf16(in[k]); });
  return out;
}

// A batch of same-shape matrices: one batched call vs a loop of single calls, both with the same
// fixed number of steps so the work is identical. S = float, double or bf16 (storage).
template <class S>
void batched(benchmark::State& state, Shape s, long count, bool as_loop) {
  strata::Batch<S> a;
  if constexpr (std::is_same_v<S, strata::kx::bf16>) {
    a = to_bf16(random_batch<float>(s, count, 9));
  } else {
    a = random_batch<S>(s, count, 9);
  }
  strata::Batch<S> q("q", a.extent(0), a.extent(1), a.extent(2));
  strata::polar::IterationOptions o;
  o.steps = 8;
  o.report_error = false;
  if (!as_loop) {  // untimed warm-up of the batched call (the loop's first call warms up the rest)
    if constexpr (std::is_same_v<S, strata::kx::bf16>) {
      strata::polar::polar_factor_batched_bf16(strata::ExecSpace(), a, q, o);
    } else {
      strata::polar::polar_factor_batched<S>(strata::ExecSpace(), a, q, o);
    }
  }
  for (auto _ : state) {
    if (as_loop) {
      for (long b = 0; b < count; ++b) {
        strata::Matrix<S> ab("ab", a.extent(0), a.extent(1)), qb("qb", a.extent(0), a.extent(1));
        Kokkos::deep_copy(ab, Kokkos::subview(a, Kokkos::ALL, Kokkos::ALL, b));
        if constexpr (std::is_same_v<S, strata::kx::bf16>) {
          strata::polar::polar_factor_bf16(strata::ExecSpace(), ab, qb, o);
        } else {
          strata::polar::polar_factor<S>(strata::ExecSpace(), ab, qb, o);
        }
        Kokkos::deep_copy(Kokkos::subview(q, Kokkos::ALL, Kokkos::ALL, b), qb);
      }
    } else if constexpr (std::is_same_v<S, strata::kx::bf16>) {
      strata::polar::polar_factor_batched_bf16(strata::ExecSpace(), a, q, o);
    } else {
      strata::polar::polar_factor_batched<S>(strata::ExecSpace(), a, q, o);
    }
    strata::kx::fence(strata::ExecSpace(), "bench::batched");
  }
}

// One Muon optimizer step on a batch of fp32 weights (the reference's defaults: 5 quintic steps,
// no final error), orthogonalized in fp32 or in bf16 storage.
void muon_batched(benchmark::State& state, Shape s, long count, bool bf16) {
  auto w = random_batch<float>(s, count, 10);
  const auto g = random_batch<float>(s, count, 11);
  strata::Batch<float> momentum("momentum", w.extent(0), w.extent(1), w.extent(2));
  strata::polar::MuonOptions o;
  o.bf16 = bf16;
  for (auto _ : state) {
    strata::polar::muon_update_batched<float>(strata::ExecSpace(), w, g, momentum, o);
    strata::kx::fence(strata::ExecSpace(), "bench::muon_batched");
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
      const std::string tag = p + "/" + bs.name() + "x" + std::to_string(count);
      for (const bool as_loop : {false, true}) {
        benchmark::RegisterBenchmark(((as_loop ? "loop/" : "batched/") + tag).c_str(),
                                     [bs, count, p, as_loop](benchmark::State& st) {
                                       if (p == "fp64") {
                                         batched<double>(st, bs, count, as_loop);
                                       } else if (p == "bf16") {
                                         batched<strata::kx::bf16>(st, bs, count, as_loop);
                                       } else {
                                         batched<float>(st, bs, count, as_loop);
                                       }
                                     })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
      }
      if (p != "fp64") {
        benchmark::RegisterBenchmark(
            ("muon/" + tag).c_str(),
            [bs, count, p](benchmark::State& st) { muon_batched(st, bs, count, p == "bf16"); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
  for (const auto& s : shapes()) {
    for (const auto& p : precisions()) {
      const bool fp64 = p == "fp64";
      if (p == "bf16") {
        benchmark::RegisterBenchmark(
            key("polar", p, s).c_str(),
            [s, p](benchmark::State& st) { polar_bf16(st, s, key("polar", p, s)); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(key("gemm_step", p, s).c_str(),
                                     [s](benchmark::State& st) { gemm_step_bf16(st, s); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
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
      benchmark::RegisterBenchmark(key("polar_fixed8", p, s).c_str(),
                                   [s, p, fp64](benchmark::State& st) {
                                     fp64 ? polar_fixed<double>(st, s, key("polar_fixed8", p, s))
                                          : polar_fixed<float>(st, s, key("polar_fixed8", p, s));
                                   })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(key("sym_step", p, s).c_str(),
                                   [s, fp64](benchmark::State& st) {
                                     fp64 ? symmetric_step<double>(st, s)
                                          : symmetric_step<float>(st, s);
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
      if (pe == 0 && step == 0) continue;  // not run
      const auto extra = g_extra[key("polar", p, s)];
      // The steps actually run (the final error check, one Gram product, is part of PE's time).
      const double per_step = extra.iterations > 0 ? pe / extra.iterations : 0;
      std::printf("%-12s %-5s %10.3f %6d %12.3f %10.3f %11.2f %12.3f %10.2f %10.2e",
                  s.name().c_str(), p.c_str(), pe * 1e3, extra.iterations, per_step * 1e3,
                  step * 1e3, step > 0 ? per_step / step : 0, svd * 1e3,
                  pe > 0 && svd > 0 ? svd / pe : 0, extra.error);
      if (svd > 0) std::printf("  (SVD err %.2e)", g_extra[key("svd_polar", p, s)].error);
      std::printf("\n");
    }
  }
  std::printf(
      "(step = PE time / iterations (the final error check included); GEMMs = X^T X, G G, X B "
      "timed alone; err = ||Q^T Q - "
      "I||_F;\n"
      " fp64/fp32 run to working precision, bf16 runs 8 fixed steps)\n");
  std::printf("\n8 fixed steps, no final error check (%s)\n", strata::ExecSpace::name());
  std::printf("%-12s %-5s %12s %12s %12s %12s %14s %12s\n", "shape", "prec", "fixed8 [ms]",
              "step [ms]", "GEMMs [ms]", "sym [ms]", "step/GEMMs", "step/sym");
  for (const auto& s : shapes()) {
    for (const auto& p : precisions()) {
      const double fixed = seconds(key("polar_fixed8", p, s));
      if (fixed == 0) continue;  // not run (bf16 has no such row)
      const double step = fixed / 8, gemms = seconds(key("gemm_step", p, s));
      const double sym = seconds(key("sym_step", p, s));
      std::printf("%-12s %-5s %12.3f %12.3f %12.3f %12.3f %14.2f %12.2f (err %.2e)\n",
                  s.name().c_str(), p.c_str(), fixed * 1e3, step * 1e3, gemms * 1e3, sym * 1e3,
                  gemms > 0 ? step / gemms : 0, sym > 0 ? step / sym : 0,
                  g_extra[key("polar_fixed8", p, s)].error);
    }
  }
  std::printf(
      "(step = fixed8 / 8; GEMMs = X^T X, G G, X B as three GEMMs; sym = X^T X and G^T G by "
      "SYRK, X B by GEMM)\n");
  for (const auto& [name, run] : runs) {
    if (name.rfind("batched/", 0) != 0) continue;
    const std::string tag = name.substr(8, name.find("/real_time") - 8);
    const double loop = seconds("loop/" + tag), muon = seconds("muon/" + tag);
    std::printf(
        "batch %-24s one batched call %10.3f ms, loop of single calls %10.3f ms, loop/batched "
        "%6.2f (8 steps)",
        tag.c_str(), run.seconds_per_iteration * 1e3, loop * 1e3,
        run.seconds_per_iteration > 0 ? loop / run.seconds_per_iteration : 0.0);
    if (muon > 0) std::printf("; Muon step (5 steps, fp32 weights) %10.3f ms", muon * 1e3);
    std::printf("\n");
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
