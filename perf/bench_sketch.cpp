// Sketch operators beside baselines measured in the same run:
//  (1) S A for RandBLAS' published shape (S 1024 x 16384, A 16384 x 4096): the dense Gaussian
//      sketch (generation of S + GEMM) and the GEMM alone with S already generated (same sizes, the
//      roofline of a dense sketch), reported as the fraction of the GEMM rate reached; the
//      sparse-sign sketch with 1, 8 and 16 nonzeros per column, fp64 and fp32, generated per call
//      and with the operator cached in a SparseSignMatrix, and the right sketch A^T S^T of the
//      transposed A with the cached operator; the cached S A also by the previous GPU kernels
//      ("tiles" and "columns", ApplyOptions::sparse_kernel; the automatic choice on a GPU of this
//      shape is "column_blocks"; the host has one kernel); each sparse time also as a
//      fraction of the copy floor (one read of A and one write of the result at the measured copy
//      rate).
//  (2) the FWHT of an N x c block and the SRHT (d = min(--d, N) sampled rows) of an N x c matrix
//      in GB/s (one read and one write of the block, the minimum traffic) beside a memory copy of
//      the same block (read + write), for every GPU route side by side: "radix8" (the previous
//      kernel: every pass over the whole block; the SRHT as sign flip, FWHT and gather) and
//      "grouped-<M>" (columns in groups of M MiB, pipelined through the L2 cache, M = 0: one
//      group; the SRHT fused). Host backends run their host kernel for every route.
//
// Every benchmark runs once untimed before its timed iterations (library handles and lazily loaded
// kernels stay out of the figures).
//
//   strata_bench_sketch [--d=1024] [--n=16384] [--k=4096] [--nnz=1,8,16] [--precisions=fp64,fp32]
//                       [--fwht-n=1048576] [--fwht-cols=16] [--fwht-groups=0,4,8,16]
//                       [google benchmark flags]
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "bench_main.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/random.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/sketch/detail/kernel_traits.hpp"
#include "strata/sketch/fwht.hpp"
#include "strata/sketch/operator.hpp"

namespace {

namespace sk = strata::sketch;
using strata::index_type;

index_type option_int(const char* name, const char* fallback) {
  return std::atol(strata::bench::option(name, fallback).c_str());
}

std::vector<std::string> list(const char* name, const char* fallback) {
  std::vector<std::string> out;
  std::stringstream text(strata::bench::option(name, fallback));
  std::string item;
  while (std::getline(text, item, ',')) out.push_back(item);
  return out;
}

index_type d() {
  return option_int("d", "1024");
}
index_type n() {
  return option_int("n", "16384");
}
index_type k() {
  return option_int("k", "4096");
}
index_type fwht_n() {
  return option_int("fwht-n", "1048576");
}
index_type fwht_cols() {
  return option_int("fwht-cols", "16");
}

/// The FWHT routes to time: "radix8" and "grouped-<MiB>" for each --fwht-groups entry.
std::vector<std::string> fwht_routes() {
  std::vector<std::string> out{"radix8"};
  for (const auto& m : list("fwht-groups", "0,4,8,16")) out.push_back("grouped-" + m);
  return out;
}

sk::FwhtOptions route_options(const std::string& route) {
  sk::FwhtOptions o;
  if (route == "radix8") {
    o.gpu_kernel = sk::FwhtGpuKernel::radix8;
  } else {
    o.gpu_kernel = sk::FwhtGpuKernel::grouped;
    o.group_bytes = static_cast<std::size_t>(std::atol(route.c_str() + 8)) << 20;
  }
  return o;
}

template <class T>
strata::Matrix<T> random_matrix(index_type rows, index_type cols, std::uint64_t seed) {
  strata::Matrix<T> a("a", static_cast<std::size_t>(rows), static_cast<std::size_t>(cols));
  strata::fill_random(strata::ExecSpace(),
                      strata::RandomStream{strata::Distribution::gaussian, seed, 0}, a);
  return a;
}

sk::SketchOperator make(sk::OperatorKind kind, index_type rows, index_type cols, index_type nnz) {
  sk::SketchOperator op;
  op.kind = kind;
  op.rows = rows;
  op.cols = cols;
  op.seed = 1;
  op.nnz = nnz;
  return op;
}

sk::ApplyOptions no_checks() {
  sk::ApplyOptions o;
  o.check_finite = false;  // time the sketch itself, not the NaN scan of the input
  return o;
}

template <class T>
void flops_counter(benchmark::State& state) {
  state.counters["flops"] = benchmark::Counter(
      2.0 * static_cast<double>(d()) * static_cast<double>(n()) * static_cast<double>(k()),
      benchmark::Counter::kIsIterationInvariantRate);
}

template <class T>
void dense_sketch(benchmark::State& state) {
  const auto a = random_matrix<T>(n(), k(), 2);
  strata::Matrix<T> sa("sa", static_cast<std::size_t>(d()), static_cast<std::size_t>(k()));
  const auto op = make(sk::OperatorKind::gaussian, d(), n(), 0);
  const strata::ExecSpace exec;
  const auto run = [&] {
    sk::sketch_rows<T>(exec, op, a, sa, no_checks());
    strata::kx::fence(exec, "bench::dense_sketch");
  };
  run();  // untimed warm-up: first-call costs (library handles, kernel loading) stay out
  for (auto _ : state) run();
  flops_counter<T>(state);
}

template <class T>
void gemm_alone(benchmark::State& state) {
  const auto a = random_matrix<T>(n(), k(), 2);
  const auto s = sk::materialize<T>(strata::ExecSpace(),
                                    make(sk::OperatorKind::gaussian, d(), n(), 0), 0, n());
  strata::Matrix<T> sa("sa", static_cast<std::size_t>(d()), static_cast<std::size_t>(k()));
  const strata::ExecSpace exec;
  const auto run = [&] {
    strata::linalg::gemm(exec, "N", "N", T(1), s, a, T(0), sa);
    strata::kx::fence(exec, "bench::gemm");
  };
  run();  // untimed warm-up: first-call costs (library handles, kernel loading) stay out
  for (auto _ : state) run();
  flops_counter<T>(state);
}

template <class T>
void sparse_sketch(benchmark::State& state, index_type nnz) {
  const auto a = random_matrix<T>(n(), k(), 2);
  strata::Matrix<T> sa("sa", static_cast<std::size_t>(d()), static_cast<std::size_t>(k()));
  const auto op = make(sk::OperatorKind::sparse_sign, d(), n(), nnz);
  const strata::ExecSpace exec;
  const auto run = [&] {
    sk::sketch_rows<T>(exec, op, a, sa, no_checks());
    strata::kx::fence(exec, "bench::sparse_sketch");
  };
  run();  // untimed warm-up: first-call costs (library handles, kernel loading) stay out
  for (auto _ : state) run();
}

template <class T>
void sparse_sketch_cached(benchmark::State& state, index_type nnz,
                          sk::SparseGpuKernel kernel = sk::SparseGpuKernel::automatic) {
  const auto a = random_matrix<T>(n(), k(), 2);
  strata::Matrix<T> sa("sa", static_cast<std::size_t>(d()), static_cast<std::size_t>(k()));
  const strata::ExecSpace exec;
  const sk::SparseSignMatrix s(exec, make(sk::OperatorKind::sparse_sign, d(), n(), nnz), 0, n());
  auto options = no_checks();
  options.sparse_kernel = kernel;
  const auto run = [&] {
    sk::sketch_rows<T>(exec, s, a, sa, options);
    strata::kx::fence(exec, "bench::sparse_sketch_cached");
  };
  run();  // untimed warm-up: first-call costs (library handles, kernel loading) stay out
  for (auto _ : state) run();
}

// The right sketch A S^T with the cached operator, A k x n (the transpose of the shape above), so
// both orientations of the GPU kernel are timed on the same data volume.
template <class T>
void sparse_sketch_right_cached(benchmark::State& state, index_type nnz) {
  const auto a = random_matrix<T>(k(), n(), 2);
  strata::Matrix<T> as("as", static_cast<std::size_t>(k()), static_cast<std::size_t>(d()));
  const strata::ExecSpace exec;
  const sk::SparseSignMatrix s(exec, make(sk::OperatorKind::sparse_sign, d(), n(), nnz), 0, n());
  const auto run = [&] {
    sk::sketch_columns<T>(exec, s, a, as, no_checks());
    strata::kx::fence(exec, "bench::sparse_sketch_right_cached");
  };
  run();  // untimed warm-up: first-call costs (library handles, kernel loading) stay out
  for (auto _ : state) run();
}

template <class T>
void bytes_counter(benchmark::State& state, std::size_t values) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 2 *
                          static_cast<std::int64_t>(values * sizeof(T)));
}

template <class T>
void fwht(benchmark::State& state, const std::string& route) {
  auto x = random_matrix<T>(fwht_n(), fwht_cols(), 3);
  const strata::ExecSpace exec;
  const auto o = route_options(route);
  const auto run = [&] {
    sk::fwht(exec, x, o);
    strata::kx::fence(exec, "bench::fwht");
  };
  run();  // untimed warm-up: first-call costs (library handles, kernel loading) stay out
  for (auto _ : state) run();
  bytes_counter<T>(state, x.size());
}

template <class T>
void srht(benchmark::State& state, const std::string& route) {
  const auto a = random_matrix<T>(fwht_n(), fwht_cols(), 3);
  const index_type rows = std::min<index_type>(d(), fwht_n());
  strata::Matrix<T> sa("sa", static_cast<std::size_t>(rows), a.extent(1));
  const auto op = make(sk::OperatorKind::srht, rows, fwht_n(), 0);
  const strata::ExecSpace exec;
  auto o = no_checks();
  o.fwht = route_options(route);
  const auto run = [&] {
    sk::sketch_rows<T>(exec, op, a, sa, o);
    strata::kx::fence(exec, "bench::srht");
  };
  run();  // untimed warm-up: first-call costs (library handles, kernel loading) stay out
  for (auto _ : state) run();
  bytes_counter<T>(state, a.size());
}

template <class T>
void copy(benchmark::State& state) {
  const auto a = random_matrix<T>(fwht_n(), fwht_cols(), 3);
  strata::Matrix<T> b("b", a.extent(0), a.extent(1));
  const strata::ExecSpace exec;
  const auto run = [&] {
    Kokkos::deep_copy(exec, b, a);
    strata::kx::fence(exec, "bench::copy");
  };
  run();  // untimed warm-up: first-call costs (library handles, kernel loading) stay out
  for (auto _ : state) run();
  bytes_counter<T>(state, a.size());
}

template <class F>
void add(const std::string& name, F f) {
  benchmark::RegisterBenchmark(name.c_str(), f)->UseRealTime()->Unit(benchmark::kMillisecond);
}

void register_all() {
  for (const auto& p : list("precisions", "fp64,fp32")) {
    const bool fp64 = p == "fp64";
    add("dense_gaussian/" + p,
        [fp64](benchmark::State& s) { fp64 ? dense_sketch<double>(s) : dense_sketch<float>(s); });
    add("gemm/" + p,
        [fp64](benchmark::State& s) { fp64 ? gemm_alone<double>(s) : gemm_alone<float>(s); });
    for (const auto& s_text : list("nnz", "1,8,16")) {
      const index_type nnz = std::atol(s_text.c_str());
      add("sparse_sign/" + p + "/" + s_text, [fp64, nnz](benchmark::State& s) {
        fp64 ? sparse_sketch<double>(s, nnz) : sparse_sketch<float>(s, nnz);
      });
      add("sparse_sign_cached/" + p + "/" + s_text, [fp64, nnz](benchmark::State& s) {
        fp64 ? sparse_sketch_cached<double>(s, nnz) : sparse_sketch_cached<float>(s, nnz);
      });
      if (!sk::detail::KernelTraits<strata::ExecSpace>::host_loops) {
        add("sparse_sign_cached_tiles/" + p + "/" + s_text, [fp64, nnz](benchmark::State& s) {
          fp64 ? sparse_sketch_cached<double>(s, nnz, sk::SparseGpuKernel::tiles)
               : sparse_sketch_cached<float>(s, nnz, sk::SparseGpuKernel::tiles);
        });
        add("sparse_sign_cached_columns/" + p + "/" + s_text, [fp64, nnz](benchmark::State& s) {
          fp64 ? sparse_sketch_cached<double>(s, nnz, sk::SparseGpuKernel::columns)
               : sparse_sketch_cached<float>(s, nnz, sk::SparseGpuKernel::columns);
        });
      }
      add("sparse_sign_right_cached/" + p + "/" + s_text, [fp64, nnz](benchmark::State& s) {
        fp64 ? sparse_sketch_right_cached<double>(s, nnz)
             : sparse_sketch_right_cached<float>(s, nnz);
      });
    }
    for (const auto& route : fwht_routes()) {
      add("fwht/" + p + "/" + route, [fp64, route](benchmark::State& s) {
        fp64 ? fwht<double>(s, route) : fwht<float>(s, route);
      });
      add("srht/" + p + "/" + route, [fp64, route](benchmark::State& s) {
        fp64 ? srht<double>(s, route) : srht<float>(s, route);
      });
    }
    add("copy/" + p, [fp64](benchmark::State& s) { fp64 ? copy<double>(s) : copy<float>(s); });
  }
}

void summary(const std::map<std::string, strata::bench::Recorded>& runs) {
  auto find = [&](const std::string& key) {
    const auto it = runs.lower_bound(key + "/");
    const bool found = it != runs.end() && it->first.rfind(key + "/", 0) == 0;
    return found ? it->second : strata::bench::Recorded{};
  };
  const double flops =
      2.0 * static_cast<double>(d()) * static_cast<double>(n()) * static_cast<double>(k());
  std::printf("\nsketch S A, S %ld x %ld, A %ld x %ld (%s); baseline: the same GEMM with S given\n",
              static_cast<long>(d()), static_cast<long>(n()), static_cast<long>(n()),
              static_cast<long>(k()), strata::ExecSpace::name());
  std::printf("%-5s %-24s %12s %12s %14s\n", "prec", "operator", "time [ms]", "GFLOP/s",
              "vs GEMM rate");
  std::printf(
      "(copy floor: one read of A and one write of the result at the copy rate measured below;\n"
      " 'of floor' = floor time / time, the issue-12 target is >= 0.25 on GPUs)\n");
  for (const auto& p : list("precisions", "fp64,fp32")) {
    const double gemm = find("gemm/" + p).seconds_per_iteration;
    const double dense = find("dense_gaussian/" + p).seconds_per_iteration;
    const double copy_rate = find("copy/" + p).bytes_per_second;
    const double value_bytes = p == "fp64" ? 8.0 : 4.0;
    const double floor = copy_rate > 0 ? static_cast<double>(n() + d()) * static_cast<double>(k()) *
                                             value_bytes / copy_rate
                                       : 0.0;
    if (gemm <= 0) continue;
    std::printf("%-5s %-24s %12.3f %12.2f %14s\n", p.c_str(), "GEMM alone (baseline)", gemm * 1e3,
                flops / gemm * 1e-9, "1.000");
    std::printf("%-5s %-24s %12.3f %12.2f %14.3f\n", p.c_str(), "gaussian (gen + GEMM)",
                dense * 1e3, flops / dense * 1e-9, dense > 0 ? gemm / dense : 0.0);
    for (const auto& s_text : list("nnz", "1,8,16")) {
      const double t = find("sparse_sign/" + p + "/" + s_text).seconds_per_iteration;
      const std::string name = "sparse-sign nnz=" + s_text;
      std::printf("%-5s %-24s %12.3f %12s %14s   (%.1fx faster than the GEMM)\n", p.c_str(),
                  name.c_str(), t * 1e3, "-", "-", t > 0 ? gemm / t : 0.0);
      const double tc = find("sparse_sign_cached/" + p + "/" + s_text).seconds_per_iteration;
      const std::string cached = "  cached S, nnz=" + s_text;
      std::printf("%-5s %-24s %12.3f %12s %14s   (%.1fx faster than the GEMM, %.3f of floor)\n",
                  p.c_str(), cached.c_str(), tc * 1e3, "-", "-", tc > 0 ? gemm / tc : 0.0,
                  tc > 0 ? floor / tc : 0.0);
      const double tt = find("sparse_sign_cached_tiles/" + p + "/" + s_text).seconds_per_iteration;
      const std::string tiles = "  cached S, tiles, nnz=" + s_text;
      if (tt > 0)
        std::printf("%-5s %-24s %12.3f %12s %14s   (%.1fx faster than the GEMM, %.3f of floor)\n",
                    p.c_str(), tiles.c_str(), tt * 1e3, "-", "-", tt > 0 ? gemm / tt : 0.0,
                    tt > 0 ? floor / tt : 0.0);
      const double tk =
          find("sparse_sign_cached_columns/" + p + "/" + s_text).seconds_per_iteration;
      const std::string columns = "  cached S, columns, nnz=" + s_text;
      if (tk > 0)
        std::printf("%-5s %-24s %12.3f %12s %14s   (%.1fx faster than the GEMM, %.3f of floor)\n",
                    p.c_str(), columns.c_str(), tk * 1e3, "-", "-", gemm / tk, floor / tk);
      const double tr = find("sparse_sign_right_cached/" + p + "/" + s_text).seconds_per_iteration;
      const std::string right = "  A^T S^T cached, nnz=" + s_text;
      std::printf("%-5s %-24s %12.3f %12s %14s   (%.1fx faster than the GEMM, %.3f of floor)\n",
                  p.c_str(), right.c_str(), tr * 1e3, "-", "-", tr > 0 ? gemm / tr : 0.0,
                  tr > 0 ? floor / tr : 0.0);
    }
  }
  std::printf(
      "\nFWHT and SRHT (d = %ld) of a %ld x %ld block vs baseline: memory copy of the same block "
      "(%s)\n",
      static_cast<long>(std::min<index_type>(d(), fwht_n())), static_cast<long>(fwht_n()),
      static_cast<long>(fwht_cols()), strata::ExecSpace::name());
  std::printf("%-5s %-12s %12s %12s %12s %12s %12s %12s\n", "prec", "route", "FWHT ms", "FWHT GB/s",
              "SRHT ms", "SRHT GB/s", "FWHT/copy", "SRHT/copy");
  for (const auto& p : list("precisions", "fp64,fp32")) {
    const double c = find("copy/" + p).bytes_per_second * 1e-9;
    std::printf("%-5s %-12s %12.3f %12.2f %12s %12s %12s %12s\n", p.c_str(), "copy",
                find("copy/" + p).seconds_per_iteration * 1e3, c, "-", "-", "1.000", "-");
    for (const auto& route : fwht_routes()) {
      const auto f = find("fwht/" + p + "/" + route), s = find("srht/" + p + "/" + route);
      const double fg = f.bytes_per_second * 1e-9, sg = s.bytes_per_second * 1e-9;
      std::printf("%-5s %-12s %12.3f %12.2f %12.3f %12.2f %12.3f %12.3f\n", p.c_str(),
                  route.c_str(), f.seconds_per_iteration * 1e3, fg, s.seconds_per_iteration * 1e3,
                  sg, c > 0 ? fg / c : 0.0, c > 0 ? sg / c : 0.0);
    }
  }
  std::printf(
      "(GB/s = 2 x block bytes / time: one read + one write, the minimum traffic of an in-place\n"
      " transform; issue-12 targets on GPUs: FWHT/copy >= 0.60, SRHT/copy >= 0.40. GPU passes:\n"
      " 1 + ceil(log2(N / tile) / (log2(tile) - log2(C))), tile = 32 KiB of values, C = 32 bytes:\n"
      " 2 for N <= 2^22. radix8: each pass reads and writes the whole block. grouped-M: the "
      "passes\n"
      " of M MiB of columns run while they are in L2 (M = 0: all columns at once). Host backends\n"
      " run the host kernel (1 + ceil(log2(N / 16 KiB of values) / 5) passes) for every route.)\n");
}

[[maybe_unused]] const bool registered = [] {
  for (const char* name :
       {"d", "n", "k", "nnz", "precisions", "fwht-n", "fwht-cols", "fwht-groups"}) {
    strata::bench::add_option_name(name);
  }
  strata::bench::set_registrar(register_all);
  strata::bench::set_summary(summary);
  return true;
}();

}  // namespace
