// Random stream generation (counter-based Philox) in GB/s written, beside the memory-copy bandwidth
// of a buffer of the same size measured in the same run (Kokkos deep_copy device-to-device, counted
// as bytes read + written, as STREAM does).
//
//   strata_bench_random [--sizes=n1,n2,...] [--benchmark_format=json] [google benchmark flags]
#include <cstdio>

#include "bench_main.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/random.hpp"

namespace {

using strata::Distribution;

template <class T>
void fill(benchmark::State& state, Distribution distribution) {
  // A column-major n x 64 block: the shape of a sketch applied to 64 vectors.
  const auto n = static_cast<std::size_t>(state.range(0));
  strata::Matrix<T> block("block", n, 64);
  const strata::ExecSpace exec;
  const strata::RandomStream stream{distribution, 1, 0};
  for (auto _ : state) {
    strata::fill_random(exec, stream, block);
    strata::kx::fence(exec, "bench::fill");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(block.size() * sizeof(T)));
}

template <class T>
void copy(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  strata::Matrix<T> a("a", n, 64), b("b", n, 64);
  const strata::ExecSpace exec;
  for (auto _ : state) {
    Kokkos::deep_copy(exec, b, a);
    strata::kx::fence(exec, "bench::copy");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 2 *
                          static_cast<std::int64_t>(a.size() * sizeof(T)));
}

std::string name(const char* what, const char* type, long n) {
  return std::string(what) + "/" + type + "/" + std::to_string(n);
}

void register_all() {
  for (const long n : strata::bench::sizes({1 << 14, 1 << 17})) {
    benchmark::RegisterBenchmark(
        name("fill_gaussian", "fp64", n).c_str(),
        [](benchmark::State& s) { fill<double>(s, Distribution::gaussian); })
        ->Arg(n)
        ->UseRealTime();
    benchmark::RegisterBenchmark(
        name("fill_gaussian", "fp32", n).c_str(),
        [](benchmark::State& s) { fill<float>(s, Distribution::gaussian); })
        ->Arg(n)
        ->UseRealTime();
    benchmark::RegisterBenchmark(
        name("fill_rademacher", "fp64", n).c_str(),
        [](benchmark::State& s) { fill<double>(s, Distribution::rademacher); })
        ->Arg(n)
        ->UseRealTime();
    benchmark::RegisterBenchmark(name("copy", "fp64", n).c_str(),
                                 [](benchmark::State& s) { copy<double>(s); })
        ->Arg(n)
        ->UseRealTime();
  }
}

void summary(const std::map<std::string, strata::bench::Recorded>& runs) {
  // Google Benchmark appends "/<arg>/real_time" to the registered name.
  auto gbs = [&](const std::string& key) {
    const auto it = runs.lower_bound(key + "/");
    const bool found = it != runs.end() && it->first.rfind(key + "/", 0) == 0;
    return found ? it->second.bytes_per_second / 1e9 : 0.0;
  };
  std::printf("\nrandom generation vs baseline: memory copy of the same buffer (%s)\n",
              strata::ExecSpace::name());
  std::printf("%10s %16s %16s %18s %14s %10s\n", "rows x 64", "gaussian fp64", "gaussian fp32",
              "rademacher fp64", "copy fp64", "gauss/copy");
  for (const long n : strata::bench::sizes({})) {
    const double g64 = gbs(name("fill_gaussian", "fp64", n)),
                 g32 = gbs(name("fill_gaussian", "fp32", n));
    const double r64 = gbs(name("fill_rademacher", "fp64", n)), c64 = gbs(name("copy", "fp64", n));
    std::printf("%10ld %11.2f GB/s %11.2f GB/s %13.2f GB/s %9.2f GB/s %10.3f\n", n, g64, g32, r64,
                c64, c64 > 0 ? g64 / c64 : 0.0);
  }
  std::printf("(fill: GB/s written; copy: GB/s read + written)\n");
}

[[maybe_unused]] const bool registered = [] {
  strata::bench::set_registrar(register_all);
  strata::bench::set_summary(summary);
  return true;
}();

}  // namespace
