// HSS construction, matvec and ULV solve on the built-in kernel matrices (products with A computed
// on the fly, never stored), beside two dense baselines measured in the same run on the same
// matrix for N <= --dense-max: LAPACK LU (dgetrf + dgetrs, host) against the ULV factor + solve,
// and one dense GEMV (KokkosBlas) against one HSS matvec.
//
//   strata_bench_hss [--sizes=4096,8192,16384,32768,65536] [--problems=cauchy-1d,laplace-2d,
//                    exponential-1d] [--tols=1e-6,1e-10] [--method=levitt-martinsson]
//                    [--leaf-size=64] [--dense-max=8192] [--probes=10]
//
// --method=entries builds H from entries of A (recursive skeletonization, no products): the
// quick way to an N = 65536 H for the matvec and ULV timings (levitt-martinsson spends about
// 40 s in products at N = 16384 on one core).
//
// Per (problem, tol, N): products used; compression time without the products (the operator is
// wrapped to time every apply / apply_transpose, fenced; wall time, and below the table the
// process CPU time, which other processes on shared cores do not inflate) and the products' time;
// the shares of the
// construction phases (CompressResult timings: "levels" = the per-level batched kernels, "assemble"
// = conversion to standard generators, "estimate" = the a-posteriori error estimate), each
// without the products made inside it; matvec (1 vector), ULV factor and solve (1 right-hand side)
// times; generator memory; the achieved estimate of ||A - H||_F / ||A||_F ("err-est") and its
// upper confidence bound ("err-bound", what the construction accepts on) and, for N <=
// --dense-max, the error against the dense matrix ||A - H||_F / ||A||_F ("err-dense", computed
// after the timed construction). Growth: the ratio
// time(N) / time(N/2) for consecutive doubled sizes (linear complexity: ~2). On a GPU, sizes up to
// 2^20 avoid every O(N^2) host step (no dense matrix unless N <= --dense-max). The first
// compression of a run is preceded by an untimed one at N = min(N, 2048) (one-time costs).
#include <KokkosBlas2_gemv.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench_main.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/random.hpp"
#include "strata/hss/compress_matvec.hpp"
#include "strata/hss/hss_operator.hpp"
#include "strata/hss/matvec.hpp"
#include "strata/hss/problems.hpp"
#include "strata/hss/ulv.hpp"
#include "strata/linalg/detail/lapack.hpp"
#include "strata/linalg/norms.hpp"

namespace {

namespace hss = strata::hss;
using strata::ExecSpace;
using strata::index_type;
using strata::Matrix;

std::vector<std::string> list_option(const char* name, const char* fallback) {
  std::vector<std::string> out;
  std::stringstream list(strata::bench::option(name, fallback));
  std::string item;
  while (std::getline(list, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}
long long_option(const char* name, long fallback) {
  return std::atol(strata::bench::option(name, std::to_string(fallback)).c_str());
}
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
/// Process CPU time (all threads) since `start`: unlike wall time, not inflated when other
/// processes share the cores.
double cpu_seconds_since(std::clock_t start) {
  return static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
}

/// Forwards to an operator and accumulates the (fenced) wall time and vectors of its products, so
/// that construction time can be reported without the products.
class TimedOperator final : public strata::LinearOperator<double> {
 public:
  explicit TimedOperator(std::shared_ptr<strata::LinearOperator<double>> inner)
      : inner_(std::move(inner)) {}
  index_type rows() const override { return inner_->rows(); }
  index_type cols() const override { return inner_->cols(); }
  const strata::Comm& comm() const override { return inner_->comm(); }
  const strata::BlockRowLayout& row_layout() const override { return inner_->row_layout(); }
  const strata::BlockRowLayout& col_layout() const override { return inner_->col_layout(); }
  double seconds = 0;
  double cpu_seconds = 0;  // process CPU time (all threads) of the products
  index_type vectors = 0;

 protected:
  void do_apply(const ExecSpace& exec, const const_matrix_type& x,
                const matrix_type& y) const override {
    timed(exec, x, [&] { inner_->apply(exec, x, y); });
  }
  void do_apply_transpose(const ExecSpace& exec, const const_matrix_type& x,
                          const matrix_type& y) const override {
    timed(exec, x, [&] { inner_->apply_transpose(exec, x, y); });
  }

 private:
  template <class F>
  void timed(const ExecSpace& exec, const const_matrix_type& x, F&& f) const {
    strata::kx::fence(exec, "bench::hss::product_start");
    const auto start = std::chrono::steady_clock::now();
    const std::clock_t cpu_start = std::clock();
    f();
    strata::kx::fence(exec, "bench::hss::product_end");
    auto* self = const_cast<TimedOperator*>(this);
    self->seconds += seconds_since(start);
    self->cpu_seconds += cpu_seconds_since(cpu_start);
    self->vectors += static_cast<index_type>(x.extent(1));
  }
  std::shared_ptr<strata::LinearOperator<double>> inner_;
};

/// Everything measured for one (problem, tol, N), filled as the benchmarks run.
struct Case {
  std::shared_ptr<const hss::Problem<double>> problem;
  hss::HssMatrix<double> matrix;
  bool built = false;
  double compress_s = 0, product_s = 0;
  double compress_cpu_s = 0;  // process CPU time of the construction without the products
  index_type products = 0, max_rank = 0;
  double error = -1;
  double bound = -1;        // upper confidence bound of the error (CompressResult)
  double dense_error = -1;  // ||A - H||_F / ||A||_F against the dense matrix (N <= --dense-max)
  std::vector<std::pair<std::string, double>> phases;  // without the products made inside
  double matvec_s = 0, factor_s = 0, solve_s = 0, solve_residual = -1;
  std::size_t memory = 0;
};
std::map<std::string, Case> g_cases;
/// Dense baselines per (problem, N).
struct Dense {
  double gemv_s = 0, lu_factor_s = 0, lu_solve_s = 0;
};
std::map<std::string, Dense> g_dense;

std::string case_key(const std::string& problem, const std::string& tol, long n) {
  return problem + "/tol" + tol + "/" + std::to_string(n);
}
std::string dense_key(const std::string& problem, long n) {
  return problem + "/" + std::to_string(n);
}

/// Problems by (name, N), shared by the benchmarks of one size.
std::map<std::string, std::shared_ptr<const hss::Problem<double>>> g_problems;

std::shared_ptr<const hss::Problem<double>> problem_of(const std::string& name, long n) {
  auto& p = g_problems[dense_key(name, n)];
  if (!p) p = hss::make_problem<double>(name, n);
  return p;
}

hss::ClusterTree tree_of(const hss::Problem<double>& problem, long leaf) {
  const auto points = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), problem.points());
  return hss::ClusterTree::geometric(points, leaf);
}

/// Compresses once per case (the first benchmark that needs it).
Case& built_case(const std::string& problem, const std::string& tol, long n) {
  Case& c = g_cases[case_key(problem, tol, n)];
  if (c.built) return c;
  const ExecSpace exec;
  c.problem = problem_of(problem, n);
  const auto tree = tree_of(*c.problem, long_option("leaf-size", 64));
  TimedOperator op(hss::make_operator<double>(c.problem));
  hss::CompressOptions options;
  options.method = hss::parse_compress_method(strata::bench::option("method", "levitt-martinsson"));
  options.tolerance = std::atof(tol.c_str());
  options.error_probes = static_cast<int>(long_option("probes", 10));
  // The entries method's geometric near field from the problem's points, as in the CLI.
  options.points = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), c.problem->points());
  // The phases that call the operator: the products inside each are measured by `op`.
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  auto result = hss::compress_from_matvecs(exec, op, tree, options, c.problem->entry_evaluator());
  const double total = seconds_since(start);
  c.compress_cpu_s = cpu_seconds_since(cpu_start) - op.cpu_seconds;
  c.matrix = result.matrix;
  c.product_s = op.seconds;
  c.compress_s = total - op.seconds;
  c.products = op.vectors;
  c.error = result.relative_error_estimate;
  c.bound = result.relative_error_bound;
  if (n <= long_option("dense-max", 8192)) {
    // Exact error against the dense matrix: one O(N^2) pass, outside the timed construction.
    const auto a = c.problem->dense(exec);
    const auto h = hss::to_dense(exec, c.matrix);
    const double norm_a = strata::linalg::frobenius_norm(exec, a);
    const auto rows = a.extent(0);
    double diff = 0;
    Kokkos::parallel_reduce(
        "strata::bench::hss::dense_error",
        Kokkos::RangePolicy<ExecSpace>(exec, 0, a.extent(0) * a.extent(1)),
        KOKKOS_LAMBDA(const std::size_t k, double& sum) {
          const double d = a(k % rows, k / rows) - h(k % rows, k / rows);
          sum += d * d;
        },
        diff);
    c.dense_error = std::sqrt(diff) / norm_a;
  }
  for (int l = 1; l <= c.matrix.levels(); ++l)
    c.max_rank = std::max({c.max_rank, c.matrix.max_row_rank(l), c.matrix.max_col_rank(l)});
  c.memory = c.matrix.memory_bytes();
  // Products happen in "products" (Levitt-Martinsson), "levels" (quasi-optimal: fresh sketches
  // per level) and "estimate" (error probes). The estimate's products are its probes' share of
  // the operator's time (same kernel, same cost per vector); the rest of the product time belongs
  // to "products" or, if there is no such phase, to "levels".
  const double per_vector = c.products > 0 ? c.product_s / static_cast<double>(c.products) : 0;
  const double estimate_products = per_vector * static_cast<double>(result.probe_products);
  double in_products_phase = 0;
  for (const auto& [name, s] : result.timings.phases())
    if (name == "products") in_products_phase = s;
  const double in_levels = std::max(0.0, c.product_s - estimate_products - in_products_phase);
  c.phases.clear();
  for (const auto& [name, s] : result.timings.phases()) {
    if (name == "products") continue;
    double own = s;
    if (name == "levels") own -= in_levels;
    if (name == "estimate") own -= estimate_products;
    c.phases.emplace_back(name, std::max(0.0, own));
  }
  c.built = true;
  return c;
}

void bench_compress(benchmark::State& state, std::string problem, std::string tol, long n) {
  // The first compression of the process builds a small case untimed first: cuBLAS/cuSOLVER
  // handles and lazily loaded kernels are then not charged to the first timed size.
  static bool warmed_up = false;
  if (!warmed_up) {
    warmed_up = true;
    const long small = std::min<long>(n, 2048);
    built_case(problem, tol, small);
    g_cases.erase(case_key(problem, tol, small));
  }
  for (auto _ : state) {
    g_cases.erase(case_key(problem, tol, n));
    const Case& c = built_case(problem, tol, n);
    state.SetIterationTime(c.compress_s + c.product_s);
  }
  const Case& c = g_cases[case_key(problem, tol, n)];
  state.counters["products"] = static_cast<double>(c.products);
  state.counters["max_rank"] = static_cast<double>(c.max_rank);
  state.counters["error"] = c.error;
  if (c.dense_error >= 0) state.counters["error_dense"] = c.dense_error;
}

void bench_matvec(benchmark::State& state, std::string problem, std::string tol, long n) {
  Case& c = built_case(problem, tol, n);
  const ExecSpace exec;
  Matrix<double> x("x", n, 1), y("y", n, 1);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 3, 0}, x);
  for (auto _ : state) {
    hss::matvec<double>(exec, c.matrix, x, y);
    strata::kx::fence(exec, "bench::hss::matvec");
  }
}

void bench_ulv(benchmark::State& state, std::string problem, std::string tol, long n) {
  Case& c = built_case(problem, tol, n);
  const ExecSpace exec;
  Matrix<double> b("b", n, 1), x("x", n, 1);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 5, 0}, b);
  hss::UlvFactor<double> factor;
  double factor_s = 0, solve_s = 0;
  long iterations = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    factor = hss::ulv_factor(exec, c.matrix);
    strata::kx::fence(exec, "bench::hss::ulv_factor");
    factor_s += seconds_since(start);
    start = std::chrono::steady_clock::now();
    hss::ulv_solve<double>(exec, factor, b, x, false);
    strata::kx::fence(exec, "bench::hss::ulv_solve");
    solve_s += seconds_since(start);
    ++iterations;
  }
  c.factor_s = factor_s / static_cast<double>(iterations);
  c.solve_s = solve_s / static_cast<double>(iterations);
  c.solve_residual = hss::ulv_solve<double>(exec, factor, b, x, true).residual;
  state.counters["residual"] = c.solve_residual;
}

void bench_dense_gemv(benchmark::State& state, std::string problem, long n) {
  const ExecSpace exec;
  const auto a = problem_of(problem, n)->dense(exec);
  Kokkos::View<double*, Kokkos::LayoutLeft, strata::MemSpace> x("x", n), y("y", n);
  Kokkos::deep_copy(x, 1.0);
  for (auto _ : state) {
    KokkosBlas::gemv("N", 1.0, a, x, 0.0, y);
    strata::kx::fence(exec, "bench::hss::gemv");
  }
}

void bench_dense_lu(benchmark::State& state, std::string problem, long n) {
  const ExecSpace exec;
  const auto a =
      Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), problem_of(problem, n)->dense(exec));
  strata::HostMatrix<double> lu("lu", n, n);
  std::vector<double> b(static_cast<std::size_t>(n), 1.0);
  std::vector<int> pivots(static_cast<std::size_t>(n));
  const int dim = static_cast<int>(n), one = 1;
  double factor_s = 0, solve_s = 0;
  long iterations = 0;
  for (auto _ : state) {
    Kokkos::deep_copy(lu, a);
    int info = 0;
    auto start = std::chrono::steady_clock::now();
    strata::linalg::lapack::getrf(&dim, &dim, lu.data(), &dim, pivots.data(), &info);
    factor_s += seconds_since(start);
    start = std::chrono::steady_clock::now();
    strata::linalg::lapack::getrs("N", &dim, &one, lu.data(), &dim, pivots.data(), b.data(), &dim,
                                  &info);
    solve_s += seconds_since(start);
    if (info != 0) state.SkipWithError("dgetrf/dgetrs failed");
    ++iterations;
  }
  auto& d = g_dense[dense_key(problem, n)];
  d.lu_factor_s = factor_s / static_cast<double>(iterations);
  d.lu_solve_s = solve_s / static_cast<double>(iterations);
}

void register_all() {
  const auto sizes = strata::bench::sizes({4096, 8192, 16384, 32768, 65536});
  const auto problems = list_option("problems", "cauchy-1d,laplace-2d,exponential-1d");
  const auto tols = list_option("tols", "1e-6,1e-10");
  const long dense_max = long_option("dense-max", 8192);
  for (const auto& p : problems) {
    for (const long n : sizes) {
      for (const auto& tol : tols) {
        const std::string tag = case_key(p, tol, n);
        benchmark::RegisterBenchmark(("compress/" + tag).c_str(),
                                     [=](benchmark::State& s) { bench_compress(s, p, tol, n); })
            ->Unit(benchmark::kMillisecond)
            ->UseManualTime()
            ->Iterations(1);
        benchmark::RegisterBenchmark(("matvec/" + tag).c_str(), [=](benchmark::State& s) {
          bench_matvec(s, p, tol, n);
        })->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(("ulv/" + tag).c_str(), [=](benchmark::State& s) {
          bench_ulv(s, p, tol, n);
        })->Unit(benchmark::kMillisecond);
      }
      if (n <= dense_max) {
        const std::string tag = dense_key(p, n);
        benchmark::RegisterBenchmark(("dense_gemv/" + tag).c_str(), [=](benchmark::State& s) {
          bench_dense_gemv(s, p, n);
        })->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(("dense_lu/" + tag).c_str(),
                                     [=](benchmark::State& s) { bench_dense_lu(s, p, n); })
            ->Unit(benchmark::kMillisecond)
            ->Iterations(1);
      }
    }
  }
}

double ratio(double now, double before) {
  return before > 0 && now > 0 ? now / before : NAN;
}

void summary(const std::map<std::string, strata::bench::Recorded>& runs) {
  auto seconds = [&](const std::string& name) {
    const auto it = runs.find(name);
    return it == runs.end() ? 0.0 : it->second.seconds_per_iteration;
  };
  const auto sizes = strata::bench::sizes({});
  std::printf("\nHSS on built-in kernels (%s, method %s, leaf size %ld; times in ms)\n",
              ExecSpace::name(), strata::bench::option("method", "levitt-martinsson").c_str(),
              long_option("leaf-size", 64));
  for (const auto& p : list_option("problems", "cauchy-1d,laplace-2d,exponential-1d")) {
    for (const auto& tol : list_option("tols", "1e-6,1e-10")) {
      std::printf("\n%s, tol %s\n", p.c_str(), tol.c_str());
      std::printf("%9s %6s %5s %10s %10s %9s %9s %9s %9s %8s %10s %10s %10s  %s\n", "N", "prods",
                  "rank", "build-prod", "products", "matvec", "ulv-fact", "ulv-solve", "resid",
                  "MB", "err-est", "err-bound", "err-dense",
                  "growth x2 (build, matvec, factor, solve)");
      const Case* previous = nullptr;
      long previous_n = 0;
      for (const long n : sizes) {
        const auto it = g_cases.find(case_key(p, tol, n));
        if (it == g_cases.end() || !it->second.built) continue;
        Case& c = it->second;
        c.matvec_s = seconds("matvec/" + case_key(p, tol, n));
        std::printf(
            "%9ld %6lld %5lld %10.2f %10.2f %9.4f %9.3f %9.4f %9.1e %8.2f %10.2e %10.2e %10.2e", n,
            static_cast<long long>(c.products), static_cast<long long>(c.max_rank),
            c.compress_s * 1e3, c.product_s * 1e3, c.matvec_s * 1e3, c.factor_s * 1e3,
            c.solve_s * 1e3, c.solve_residual, static_cast<double>(c.memory) / 1e6, c.error,
            c.bound, c.dense_error);
        if (previous && n == 2 * previous_n) {
          std::printf("  %.2f %.2f %.2f %.2f", ratio(c.compress_s, previous->compress_s),
                      ratio(c.matvec_s, previous->matvec_s), ratio(c.factor_s, previous->factor_s),
                      ratio(c.solve_s, previous->solve_s));
        }
        std::printf("\n");
        previous = &c;
        previous_n = n;
      }
      // Construction phase shares (without products) at the largest size.
      for (auto s = sizes.rbegin(); s != sizes.rend(); ++s) {
        const auto it = g_cases.find(case_key(p, tol, *s));
        if (it == g_cases.end() || !it->second.built) continue;
        const Case& c = it->second;
        const double all = c.compress_s + c.product_s;
        std::printf("  phases at N = %ld (share of build incl. products): products %.0f%%", *s,
                    all > 0 ? 100 * c.product_s / all : 0.0);
        for (const auto& [name, t] : c.phases)
          std::printf(", %s %.0f%%", name.c_str(), all > 0 ? 100 * t / all : 0.0);
        std::printf("\n");
        break;
      }
      std::printf("  process CPU time of build-prod (ms):");
      const char* separator = " ";
      for (const long n : sizes) {
        const auto it = g_cases.find(case_key(p, tol, n));
        if (it == g_cases.end() || !it->second.built) continue;
        std::printf("%sN = %ld: %.2f", separator, n, it->second.compress_cpu_s * 1e3);
        separator = ", ";
      }
      std::printf("\n");
    }
    // Dense baselines on the same matrix (the HSS figures at the tighter tolerance).
    bool header = false;
    for (const long n : sizes) {
      const auto d = g_dense.find(dense_key(p, n));
      if (d == g_dense.end()) continue;
      const double gemv = seconds("dense_gemv/" + dense_key(p, n));
      const std::string tight = list_option("tols", "1e-6,1e-10").back();
      const auto c = g_cases.find(case_key(p, tight, n));
      if (c == g_cases.end() || !c->second.built) continue;
      if (!header) {
        std::printf("  baseline (same matrix, HSS at tol %s): dense LAPACK LU and dense GEMV\n",
                    tight.c_str());
        std::printf("  %9s %12s %12s %12s %12s %12s %10s %10s\n", "N", "dgetrf", "dgetrs",
                    "ulv f+s", "LU/ULV", "gemv", "matvec", "gemv/HSS");
        header = true;
      }
      const double ulv = c->second.factor_s + c->second.solve_s;
      const double lu = d->second.lu_factor_s + d->second.lu_solve_s;
      std::printf("  %9ld %12.2f %12.3f %12.3f %12.1f %12.4f %10.4f %10.2f\n", n,
                  d->second.lu_factor_s * 1e3, d->second.lu_solve_s * 1e3, ulv * 1e3,
                  ratio(lu, ulv), gemv * 1e3, c->second.matvec_s * 1e3,
                  ratio(gemv, c->second.matvec_s));
    }
  }
  // Device memory must be released before Kokkos is finalized.
  g_cases.clear();
  g_problems.clear();
}

[[maybe_unused]] const bool registered = [] {
  for (const char* name : {"problems", "tols", "method", "leaf-size", "dense-max", "probes"})
    strata::bench::add_option_name(name);
  strata::bench::set_registrar(register_all);
  strata::bench::set_summary(summary);
  return true;
}();

}  // namespace
