// HSS construction from entries by recursive skeletonization (hss/skeletonization.hpp) on built-in
// kernel matrices, beside the baselines from the same run:
//
//   strata_hss_skeletonization [--problems cauchy-1d,laplace-curve] [--sizes 16384,65536,...]
//                              [--tol 1e-6] [--leaf 64] [--true-error-max 16384]
//                              [--baseline-max 16384] [--budget 0.5] [--repeat 1]
//                              [--count-launches]
//
// One line per (problem, N, method): build time (construction + certificate; wall clock and
// process CPU time), entries evaluated
// (and per N), products, largest rank, the method's own error figure (skeletonization: the
// certificate's estimate and upper end; baselines: the Gaussian-probe estimate), and for N <=
// --true-error-max the exact ||A - H||_F / ||A||_F, computed in row panels (entries of A, rows of
// H by transposed HSS products with unit vectors: O(N^2) entries, no N x N storage). Baselines for
// N <= --baseline-max: the old entries method (compress_from_entries: every entry read, O(N^2 s)
// flops) and Levitt-Martinsson with on-the-fly kernel products (compress_from_matvecs).
//
// Under mpiexec -n P (P > 1) every (problem, N) also runs the distributed construction
// (dist_skeletonization.hpp) on all P ranks, after the one-process construction on rank 0 alone
// (the other ranks wait at a barrier polled every 2 ms, so they leave the cores to it): the row
// "skeletonization P=<P>" gives the largest wall time and the largest process CPU time over the
// ranks, the CPU time summed over the ranks, and whether the gathered matrix equals the one-rank
// matrix (ranks and the largest generator difference). --repeat R: each skeletonization row gives
// the smallest wall and CPU times of R runs (per rank, then the largest over the ranks).
//
// --count-launches: before each one-process skeletonization row, the Kokkos calls of its last
// repetition per profiling region (perf/launch_counter.hpp: launches, deep copies, allocations,
// fences, CPU time; the library opens one region per level of the construction). The counts
// are what a GPU build issues too, except that on a host build the IDs of a level go in several
// batches of at most 2^18 sampled values (one batch per pass on a device).
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <sstream>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

#include "launch_counter.hpp"
#include "strata/core/runtime.hpp"
#include "strata/dist/comm.hpp"
#include "strata/hss/compress_entries.hpp"
#include "strata/hss/compress_matvec.hpp"
#include "strata/hss/dist_skeletonization.hpp"
#include "strata/hss/matvec.hpp"
#include "strata/hss/problems.hpp"
#include "strata/hss/skeletonization.hpp"

namespace {

namespace hss = strata::hss;
using strata::index_type;

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Process CPU time (all threads): the figure to compare on a shared machine.
double cpu_seconds_since(std::clock_t c0) {
  return static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
}

// Exact ||A - H||_F / ||A||_F in panels of rows.
double true_error(const strata::ExecSpace& exec, const hss::Problem<double>& p,
                  const hss::HssMatrix<double>& h) {
  const index_type n = p.size(), panel = 256;
  std::vector<index_type> all(static_cast<std::size_t>(n));
  for (index_type j = 0; j < n; ++j) all[static_cast<std::size_t>(j)] = j;
  double num = 0, den = 0;
  for (index_type r0 = 0; r0 < n; r0 += panel) {
    const index_type rows = std::min(panel, n - r0);
    std::vector<index_type> list(static_cast<std::size_t>(rows));
    for (index_type i = 0; i < rows; ++i) list[static_cast<std::size_t>(i)] = r0 + i;
    const auto blocks = hss::make_entry_blocks<double>({list}, {all});
    p.entries(exec, blocks);
    // H(P, :)^T = H^T E_P.
    strata::Matrix<double> e("e", n, rows), ht("ht", n, rows);
    auto eh = Kokkos::create_mirror_view(e);
    for (index_type i = 0; i < rows; ++i) eh(r0 + i, i) = 1;
    Kokkos::deep_copy(e, eh);
    hss::matvec<double>(exec, h, e, ht, strata::Op::transpose);
    const auto a = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), blocks.values);
    const auto hh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), ht);
    for (index_type j = 0; j < n; ++j) {
      for (index_type i = 0; i < rows; ++i) {
        const double aij = a(static_cast<std::size_t>(i + rows * j));
        const double d = aij - hh(j, i);
        num += d * d, den += aij * aij;
      }
    }
  }
  return std::sqrt(num / den);
}

index_type max_rank(const hss::HssMatrix<double>& h) {
  index_type k = 0;
  for (int l = 1; l <= h.levels(); ++l) k = std::max({k, h.max_row_rank(l), h.max_col_rank(l)});
  return k;
}

void row(const std::string& problem, index_type n, const char* method, double time, double cpu,
         index_type entries, index_type products, index_type rank, const std::string& own,
         double truth) {
  char truth_text[32] = "-";
  if (truth >= 0) std::snprintf(truth_text, sizeof truth_text, "%.2e", truth);
  std::printf(
      "%-14s %8lld %-22s %9.3f %9.3f %13lld %8.1f %8lld %5lld  %-34s %10s\n", problem.c_str(),
      static_cast<long long>(n), method, time, cpu, static_cast<long long>(entries),
      static_cast<double>(entries) / static_cast<double>(n), static_cast<long long>(products),
      static_cast<long long>(rank), own.c_str(), truth_text);
  std::fflush(stdout);
}

// A barrier that does not spin: the ranks share few cores with the one-rank baseline.
void quiet_barrier(const strata::Comm& comm) {
#if STRATA_HAVE_MPI
  MPI_Request request;
  MPI_Ibarrier(comm.raw(), &request);
  for (int done = 0;;) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
#else
  comm.barrier();
#endif
}

// Largest |x - y| over the generators of two HSS matrices with equal ranks, relative to the
// largest |y| of each array; -1 when the ranks differ.
double generator_difference(const hss::HssMatrix<double>& x, const hss::HssMatrix<double>& y) {
  if (x.ranks().row != y.ranks().row || x.ranks().col != y.ranks().col) return -1;
  const auto diff = [](const hss::FlatArray<double>& a, const hss::FlatArray<double>& b) {
    const auto ha = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a);
    const auto hb = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), b);
    double d = 0, s = 0;
    for (std::size_t i = 0; i < ha.extent(0); ++i)
      d = std::max(d, std::abs(ha(i) - hb(i))), s = std::max(s, std::abs(hb(i)));
    return s > 0 ? d / s : d;
  };
  double out = diff(x.d(), y.d());
  for (int l = 1; l <= x.levels(); ++l) {
    out = std::max({out, diff(x.level(l).u, y.level(l).u), diff(x.level(l).v, y.level(l).v),
                    diff(x.level(l).b, y.level(l).b)});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  strata::ScopeGuard guard(argc, argv);
  std::vector<std::string> problems{"cauchy-1d", "laplace-curve"};
  std::vector<std::string> sizes{"16384", "65536", "262144", "1048576"};
  double tol = 1e-6, budget = hss::SkeletonizationOptions{}.budget_fraction;
  index_type leaf = 64, truth_max = 16384, baseline_max = 16384;
  int repeat = 1;
  bool count_launches = false;
  for (int i = 1; i < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--count-launches") {
      count_launches = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "option %s needs a value\n", key.c_str());
      return 2;
    }
    const std::string value = argv[i + 1];
    if (key == "--problems")
      problems = split(value);
    else if (key == "--sizes")
      sizes = split(value);
    else if (key == "--tol")
      tol = std::atof(value.c_str());
    else if (key == "--budget")
      budget = std::atof(value.c_str());
    else if (key == "--leaf")
      leaf = std::atoll(value.c_str());
    else if (key == "--true-error-max")
      truth_max = std::atoll(value.c_str());
    else if (key == "--baseline-max")
      baseline_max = std::atoll(value.c_str());
    else if (key == "--repeat")
      repeat = std::max(1, std::atoi(value.c_str()));
    else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      return 2;
    }
  }
  if (count_launches) launch_counter::install();
  const strata::ExecSpace exec;
  const strata::Comm comm;
  const bool root = comm.is_root();
  if (root) {
    std::printf("tol %g, leaf %lld, budget fraction %g, %s, %d rank(s)\n", tol,
                static_cast<long long>(leaf), budget, typeid(strata::ExecSpace).name(),
                comm.size());
    std::printf("%-14s %8s %-22s %9s %9s %13s %8s %8s %5s  %-34s %10s\n", "problem", "N", "method",
                "time_s", "cpu_s", "entries", "per_N", "products", "rank", "own error figure",
                "true_error");
  }
  for (const auto& name : problems) {
    for (const auto& size : sizes) {
      const index_type n = std::atoll(size.c_str());
      const auto problem = hss::make_problem<double>(name, n);
      const auto points =
          Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), problem->points());
      const auto tree = hss::ClusterTree::geometric(points, leaf);
      const bool truth = n <= truth_max;
      hss::SkeletonizationOptions o;
      o.tolerance = tol;
      o.budget_fraction = budget;
      o.points = points;
      hss::HssMatrix<double> one;
      if (root) {
        // The smallest wall and CPU time over the repetitions (the first pays page faults).
        double time = 0, cpu = 0;
        hss::SkeletonizationResult<double> r;
        for (int rep = 0; rep < repeat; ++rep) {
          launch_counter::reset();
          const auto t0 = std::chrono::steady_clock::now();
          const std::clock_t c0 = std::clock();
          r = hss::compress_by_skeletonization<double>(exec, tree, problem->entry_evaluator(), o);
          const double t = seconds_since(t0), c = cpu_seconds_since(c0);
          time = rep == 0 ? t : std::min(time, t);
          cpu = rep == 0 ? c : std::min(cpu, c);
        }
        char own[128];
        std::snprintf(own, sizeof own, "cert %.2e [<= %.2e]%s r%d", r.certificate.estimate,
                      r.certificate.upper, r.met_tolerance ? "" : " NOT MET", r.rounds);
        if (count_launches) launch_counter::print("skeletonization, last repetition");
        row(name, n, "skeletonization", time, cpu, r.entries, 0, max_rank(r.matrix), own,
            truth ? true_error(exec, *problem, r.matrix) : -1);
        one = r.matrix;
      }
      if (comm.size() > 1) {
        // Per rank the smallest times over the repetitions; then the largest over the ranks.
        double time = 0, cpu = 0;
        hss::DistSkeletonizationResult<double> r;
        for (int rep = 0; rep < repeat; ++rep) {
          quiet_barrier(comm);
          const auto t0 = std::chrono::steady_clock::now();
          const std::clock_t c0 = std::clock();
          r = hss::compress_by_skeletonization_distributed<double>(exec, comm, tree,
                                                                   problem->entry_evaluator(), o);
          const double t = seconds_since(t0), c = cpu_seconds_since(c0);
          time = rep == 0 ? t : std::min(time, t);
          cpu = rep == 0 ? c : std::min(cpu, c);
        }
        const double time_max = comm.allreduce(time, strata::ReduceOp::max);
        const double cpu_max = comm.allreduce(cpu, strata::ReduceOp::max);
        const double cpu_sum = comm.allreduce(cpu, strata::ReduceOp::sum);
        const auto gathered = hss::gather<double>(exec, r.matrix);
        if (root) {
          char own[160], method[32];
          std::snprintf(own, sizeof own, "cert %.2e%s r%d; cpu sum %.3f; vs 1 rank %.1e",
                        r.certificate.estimate, r.met_tolerance ? "" : " NOT MET", r.rounds,
                        cpu_sum, generator_difference(gathered, one));
          std::snprintf(method, sizeof method, "skeletonization P=%d", comm.size());
          row(name, n, method, time_max, cpu_max, r.entries, 0, max_rank(gathered), own, -1);
        }
      }
      if (!root) continue;
      if (n > baseline_max) continue;
      {
        hss::CompressEntriesOptions o;
        o.relative_tolerance = tol;
        hss::CompressEntriesResult r;
        const auto t0 = std::chrono::steady_clock::now();
        const std::clock_t c0 = std::clock();
        const auto h =
            hss::compress_from_entries<double>(exec, tree, problem->entry_evaluator(), o, &r);
        const double time = seconds_since(t0), cpu = cpu_seconds_since(c0);
        row(name, n, "old entries (1 round)", time, cpu, r.entries, 0, max_rank(h), "ID tol = tol",
            truth ? true_error(exec, *problem, h) : -1);
      }
      {
        hss::CompressOptions o;
        o.tolerance = tol;
        const auto op = hss::make_operator<double>(problem);
        const auto t0 = std::chrono::steady_clock::now();
        const std::clock_t c0 = std::clock();
        const auto r = hss::compress_from_matvecs<double>(exec, *op, tree, o);
        const double time = seconds_since(t0), cpu = cpu_seconds_since(c0);
        char own[128];
        std::snprintf(own, sizeof own, "probe estimate %.2e", r.relative_error_estimate);
        row(name, n, "LM on-the-fly products", time, cpu, 0,
            r.products + r.transpose_products + r.probe_products, max_rank(r.matrix), own,
            truth ? true_error(exec, *problem, r.matrix) : -1);
      }
    }
  }
  return 0;
}
