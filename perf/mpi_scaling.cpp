// Scaling of the distributed drivers over MPI ranks (issue 14: one rank per GPU of a host, or per
// CPU socket/node): tall-skinny Polar Express, the randomized SVD of a row-distributed matrix, and
// HSS compression from products + distributed ULV factor + solve, each beside the communication it
// needs timed alone in the same run, and (with --check) the same problem solved on one rank in the
// same run as the reference the P-rank results must equal to rounding. A plain MPI driver: every
// repetition is collective, so every rank runs the same ones.
//
//   mpirun -n P strata_mpi_scaling [--scaling=weak|strong] [--workloads=comm,polar,rsvd,hss]
//       [--precision=fp32|fp64] [--reps=3] [--check=1]
//       [--polar-rows=1048576] [--polar-cols=256] [--polar-steps=0]
//       [--rsvd-rows=262144] [--rsvd-cols=2048] [--rsvd-rank=64] [--rsvd-power=1]
//       [--hss-n=65536] [--hss-tol=1e-6 (fp64) / 1e-4 (fp32)] [--hss-leaf=64]
//       [--comm-values=16777216]
//
// Sizes: with --scaling=weak the row counts (--polar-rows, --rsvd-rows, --hss-n) are per rank and
// the global problem grows with P; with strong they are global. Rows are balanced over the ranks
// (BlockRowLayout); every matrix entry is a counter-based Gaussian of its GLOBAL (row, column), so
// the global problem is the same whatever P. Runs at P = 1, 2, 4 of the same command give the
// scaling tables (perf/mpi_scaling.py: weak efficiency t(1) / t(P), strong t(1) / (P t(P))).
// On GPU builds Kokkos gives each rank the device of its node-local rank (Kokkos 4:
// --kokkos-map-device-id-by=mpi_rank, the default); Strata hands device buffers to MPI directly
// only when built with Strata_ENABLE_GPU_AWARE_MPI (else host-staged): build both to compare.
//
// Printed per workload, each time the median over --reps of the slowest rank (barrier, timer,
// fence, max over ranks):
//   comm   allreduce (sum) of an n x n buffer (n = --polar-cols: the Gram matrix of one polar step)
//          in device memory, per call; the same for --comm-values values, as the bus bandwidth
//          2 (P - 1) / P bytes / time (the interconnect's measured rate, NCCL's convention).
//   polar  polar_factor of the (rows x n) matrix: time, steps, time per step, and the share of one
//          Gram allreduce (from comm) in a step.
//   rsvd   randomized_svd (rank k, oversampling 10, --rsvd-power power steps, no error probes):
//          time and its phases.
//   hss    cauchy-1d (hss/problems.hpp) on a uniform cluster tree, built by
//          compress_from_matvecs_distributed at --hss-tol (fp32 cannot resolve 1e-6: its ranks
//          then grow to the sample cap; products with the on-the-fly kernel operator, each rank
//          its rows), ULV factor and solve of one Rademacher right-hand side: times, products,
//          residual, and the compression's phases (products = O(N^2 s / P) kernel evaluations per
//          rank, which under weak scaling grow like P by construction; levels, assemble, estimate:
//          the O(N k^2 / P) rest and its communication).
// --check=1 (P > 1): every rank also solves the WHOLE global problem on its own (Comm::self(); so
// P times the memory of one rank's share: use moderate sizes) and compares its own rows: polar
// max |Q_P - Q_1| / max |Q_1|, rsvd max_i |s_P - s_1| / s_1(0), hss max |x_P - x_1| / max |x_1|
// (and the HSS products and ranks). These are printed, not asserted: the driver measures.
#include <Kokkos_Core.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/core/runtime.hpp"
#include "strata/dist/comm.hpp"
#include "strata/dist/dist_matrix.hpp"
#include "strata/hss/cluster_tree.hpp"
#include "strata/hss/compress_matvec.hpp"
#include "strata/hss/distributed.hpp"
#include "strata/hss/problems.hpp"
#include "strata/hss/ulv.hpp"
#include "strata/polar/newton_schulz.hpp"
#include "strata/sketch/low_rank.hpp"

namespace {

using strata::Comm;
using strata::ExecSpace;
using strata::index_type;
using strata::ReduceOp;
namespace hss = strata::hss;

std::string text_option(int argc, char** argv, const char* name, const char* fallback) {
  const std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) return argv[i] + prefix.size();
  return fallback;
}

long option(int argc, char** argv, const char* name, long fallback) {
  const std::string t = text_option(argc, argv, name, "");
  return t.empty() ? fallback : std::atol(t.c_str());
}

double real_option(int argc, char** argv, const char* name, double fallback) {
  const std::string t = text_option(argc, argv, name, "");
  return t.empty() ? fallback : std::atof(t.c_str());
}

bool listed(const std::string& list, const std::string& item) {
  std::stringstream in(list);
  std::string part;
  while (std::getline(in, part, ','))
    if (part == item) return true;
  return false;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Median over `reps` of the slowest rank's time of f() (collective: every rank calls it).
double timed(const Comm& comm, const ExecSpace& exec, int reps, const std::function<void()>& f) {
  std::vector<double> t;
  exec.fence();  // setup kernels (fills) still in flight stay out of the first repetition
  for (int i = 0; i < reps; ++i) {
    comm.barrier();
    Kokkos::Timer timer;
    f();
    exec.fence();
    t.push_back(comm.allreduce(timer.seconds(), ReduceOp::max));
  }
  return median(t);
}

/// The largest |x| over a host-accessible copy of a 2-D view.
template <class View>
double max_abs(const View& v) {
  const auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, v);
  double m = 0;
  for (std::size_t j = 0; j < h.extent(1); ++j)
    for (std::size_t i = 0; i < h.extent(0); ++i) m = std::max(m, std::abs(double(h(i, j))));
  return m;
}

/// max |a(i, j) - b(first + i, j)| over a's rows (a: this rank's rows of a global matrix b).
template <class ViewA, class ViewB>
double max_diff_rows(const ViewA& a, const ViewB& b, index_type first) {
  const auto ha = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, a);
  const auto hb = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, b);
  double m = 0;
  for (std::size_t j = 0; j < ha.extent(1); ++j)
    for (std::size_t i = 0; i < ha.extent(0); ++i)
      m = std::max(m, std::abs(double(ha(i, j)) - double(hb(first + i, j))));
  return m;
}

struct Setup {
  bool weak = true;
  int reps = 3;
  bool check = true;
};

/// Global rows of a workload: per rank (weak) or global (strong).
index_type global_rows(const Setup& s, const Comm& comm, index_type rows) {
  return s.weak ? rows * comm.size() : rows;
}

template <class T>
double comm_workload(const Comm& comm, const ExecSpace& exec, const Setup& s, index_type n,
                     index_type values, double& gram_seconds) {
  Kokkos::View<T*, strata::MemSpace> gram("strata::bench::gram", static_cast<std::size_t>(n * n));
  Kokkos::View<T*, strata::MemSpace> big("strata::bench::big", static_cast<std::size_t>(values));
  // Zeros: a sum allreduce in place keeps them finite however many calls (ones grow like P^calls).
  Kokkos::deep_copy(gram, T(0));
  Kokkos::deep_copy(big, T(0));
  constexpr int calls = 10;
  gram_seconds = timed(comm, exec, s.reps,
                       [&] {
                         for (int c = 0; c < calls; ++c) comm.allreduce(exec, gram, ReduceOp::sum);
                       }) /
                 calls;
  const double t = timed(comm, exec, s.reps, [&] { comm.allreduce(exec, big, ReduceOp::sum); });
  const int p = comm.size();
  const double bytes = static_cast<double>(values) * sizeof(T);
  const double bus = p > 1 ? 2.0 * (p - 1) / p * bytes / t : 0.0;
  if (comm.is_root()) {
    std::printf("comm   allreduce %lld x %lld (the Gram): %.6g ms per call\n",
                static_cast<long long>(n), static_cast<long long>(n), gram_seconds * 1e3);
    std::printf("comm   allreduce %.1f MB: %.6g ms, bus bandwidth %.2f GB/s%s\n", bytes / 1e6,
                t * 1e3, bus / 1e9, p > 1 ? "" : " (one rank: no traffic)");
  }
  return t;
}

template <class T>
void polar_workload(const Comm& comm, const ExecSpace& exec, const Setup& s, index_type rows,
                    index_type n, int steps, double gram_seconds) {
  const index_type m = global_rows(s, comm, rows);
  strata::DistMatrix<T> a(comm, m, n, "strata::bench::polar_a"), q(comm, m, n, "strata::bench::q");
  const index_type first = a.layout().row_begin(comm.rank());
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 11, 0}, a.local(),
                      first, 0);
  strata::polar::IterationOptions options;
  options.steps = steps;
  strata::polar::IterationResult result;
  const double t =
      timed(comm, exec, s.reps, [&] { result = strata::polar::polar_factor(exec, a, q, options); });
  const int it = std::max(1, result.iterations);
  if (comm.is_root())
    std::printf(
        "polar  %lld x %lld, P=%d: %.6g s, %d steps, %.6g ms per step (one Gram allreduce "
        "%.6g ms = %.1f%% of a step), error %.2e\n",
        static_cast<long long>(m), static_cast<long long>(n), comm.size(), t, result.iterations,
        t / it * 1e3, gram_seconds * 1e3, gram_seconds > 0 ? 100.0 * gram_seconds / (t / it) : 0.0,
        result.error);
  if (!s.check || comm.size() == 1) return;
  // The whole problem on this rank alone; its rows of Q against the P-rank Q.
  const Comm self = Comm::self();
  strata::DistMatrix<T> a1(self, m, n, "strata::bench::polar_a1"),
      q1(self, m, n, "strata::bench::q1");
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 11, 0}, a1.local(),
                      0, 0);
  const auto r1 = strata::polar::polar_factor(exec, a1, q1, options);
  const double scale = max_abs(q1.local());
  const double diff = comm.allreduce(max_diff_rows(q.local(), q1.local(), first), ReduceOp::max);
  if (comm.is_root())
    std::printf("check  polar: one rank %d steps; max |Q_P - Q_1| / max |Q_1| = %.2e\n",
                r1.iterations, scale > 0 ? diff / scale : diff);
}

template <class T>
void rsvd_workload(const Comm& comm, const ExecSpace& exec, const Setup& s, index_type rows,
                   index_type cols, index_type rank, int power) {
  const index_type m = global_rows(s, comm, rows);
  strata::DistMatrix<T> a(comm, m, cols, "strata::bench::rsvd_a");
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 12, 0}, a.local(),
                      a.layout().row_begin(comm.rank()), 0);
  strata::sketch::LowRankOptions options;
  options.rank = rank;
  options.power_iterations = power;
  options.error_probes = 0;
  strata::sketch::SvdResult<T> result;
  const double t =
      timed(comm, exec, s.reps, [&] { result = strata::sketch::randomized_svd(exec, a, options); });
  if (comm.is_root()) {
    std::printf("rsvd   %lld x %lld rank %lld q=%d, P=%d: %.6g s (", static_cast<long long>(m),
                static_cast<long long>(cols), static_cast<long long>(rank), power, comm.size(), t);
    bool first = true;
    for (const auto& [phase, seconds] : result.timings.phases()) {
      std::printf("%s%s %.6g", first ? "" : ", ", phase.c_str(), seconds);
      first = false;
    }
    std::printf(" s on rank 0, last rep)\n");
  }
  if (!s.check || comm.size() == 1) return;
  const Comm self = Comm::self();
  strata::DistMatrix<T> a1(self, m, cols, "strata::bench::rsvd_a1");
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 12, 0}, a1.local(),
                      0, 0);
  const auto r1 = strata::sketch::randomized_svd(exec, a1, options);
  double diff = 0;
  for (std::size_t i = 0; i < std::min(r1.s.size(), result.s.size()); ++i)
    diff = std::max(diff, std::abs(double(result.s[i]) - double(r1.s[i])));
  if (comm.is_root())
    std::printf("check  rsvd: max_i |s_P - s_1| / s_1(0) = %.2e (%zu values)\n",
                r1.s.empty() ? diff : diff / double(r1.s[0]), r1.s.size());
}

template <class T>
void hss_workload(const Comm& comm, const ExecSpace& exec, const Setup& s, index_type n_rows,
                  double tol, index_type leaf) {
  const index_type n = global_rows(s, comm, n_rows);
  const auto tree = hss::ClusterTree::uniform(n, leaf);
  const auto problem = hss::make_problem<T>("cauchy-1d", n);
  const auto op = hss::make_operator<T>(problem, comm);
  hss::CompressOptions options;
  options.tolerance = tol;
  hss::DistCompressResult<T> built;
  const double t_compress = timed(comm, exec, s.reps, [&] {
    built = hss::compress_from_matvecs_distributed<T>(exec, *op, tree, options);
  });
  hss::DistUlvFactor<T> factor;
  const double t_factor =
      timed(comm, exec, s.reps, [&] { factor = hss::ulv_factor(exec, built.matrix); });
  const index_type local = built.matrix.local_rows();
  const index_type first = built.matrix.layout().row_begin(comm.rank());
  strata::Matrix<T> b("strata::bench::b", static_cast<std::size_t>(local), 1);
  strata::Matrix<T> x("strata::bench::x", static_cast<std::size_t>(local), 1);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::rademacher, 13, 0}, b, first,
                      0);
  const double t_solve = timed(comm, exec, s.reps, [&] {
    hss::ulv_solve<T>(exec, factor, strata::ConstMatrix<T>(b), x, false);
  });
  const double residual =
      hss::ulv_solve<T>(exec, factor, strata::ConstMatrix<T>(b), x, true).residual;
  index_type max_rank = 0;
  for (const auto r : built.max_rank_per_level) max_rank = std::max(max_rank, r);
  if (comm.is_root())
    std::printf(
        "hss    cauchy-1d N=%lld tol %.0e, P=%d: compress %.6g s (%lld products, max rank "
        "%lld, estimate %.2e, tolerance %s), ULV factor %.6g s, solve %.6g s, residual %.2e\n",
        static_cast<long long>(n), tol, comm.size(), t_compress,
        static_cast<long long>(built.products + built.transpose_products + built.probe_products),
        static_cast<long long>(max_rank), built.relative_error_estimate,
        built.met_tolerance ? "met" : "NOT met", t_factor, t_solve, residual);
  // The products with the on-the-fly kernel operator cost O(N^2 s / P) per rank, so under weak
  // scaling they grow like P by construction; the phases separate them from the O(N k^2 / P) rest.
  if (comm.is_root()) {
    std::printf("hss    compress phases on rank 0 (last rep):");
    for (const auto& [phase, seconds] : built.timings.phases())
      std::printf(" %s %.6g", phase.c_str(), seconds);
    std::printf(" s\n");
  }
  if (!s.check || comm.size() == 1) return;
  const auto op1 = hss::make_operator<T>(problem);
  const auto built1 = hss::compress_from_matvecs<T>(exec, *op1, tree, options);
  const auto factor1 = hss::ulv_factor(exec, built1.matrix);
  strata::Matrix<T> b1("strata::bench::b1", static_cast<std::size_t>(n), 1);
  strata::Matrix<T> x1("strata::bench::x1", static_cast<std::size_t>(n), 1);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::rademacher, 13, 0}, b1, 0,
                      0);
  hss::ulv_solve<T>(exec, factor1, strata::ConstMatrix<T>(b1), x1, false);
  const double scale = max_abs(x1);
  const double diff = comm.allreduce(max_diff_rows(x, x1, first), ReduceOp::max);
  const index_type products1 = built1.products + built1.transpose_products + built1.probe_products;
  if (comm.is_root())
    std::printf(
        "check  hss: one rank %lld products, estimate %.2e; max |x_P - x_1| / max |x_1| = "
        "%.2e\n",
        static_cast<long long>(products1), built1.relative_error_estimate,
        scale > 0 ? diff / scale : diff);
}

template <class T>
void run(const Comm& comm, const ExecSpace& exec, int argc, char** argv, const Setup& s) {
  const std::string workloads = text_option(argc, argv, "workloads", "comm,polar,rsvd,hss");
  const index_type polar_cols = option(argc, argv, "polar-cols", 256);
  double gram_seconds = 0;
  if (listed(workloads, "comm"))
    comm_workload<T>(comm, exec, s, polar_cols, option(argc, argv, "comm-values", 1L << 24),
                     gram_seconds);
  if (listed(workloads, "polar"))
    polar_workload<T>(comm, exec, s, option(argc, argv, "polar-rows", 1L << 20), polar_cols,
                      static_cast<int>(option(argc, argv, "polar-steps", 0)), gram_seconds);
  if (listed(workloads, "rsvd"))
    rsvd_workload<T>(comm, exec, s, option(argc, argv, "rsvd-rows", 1L << 18),
                     option(argc, argv, "rsvd-cols", 2048), option(argc, argv, "rsvd-rank", 64),
                     static_cast<int>(option(argc, argv, "rsvd-power", 1)));
  if (listed(workloads, "hss"))
    hss_workload<T>(comm, exec, s, option(argc, argv, "hss-n", 1L << 16),
                    real_option(argc, argv, "hss-tol", sizeof(T) == 4 ? 1e-4 : 1e-6),
                    option(argc, argv, "hss-leaf", 64));
}

}  // namespace

int main(int argc, char** argv) {
  strata::ScopeGuard guard(argc, argv);
  {
    const Comm comm;
    const ExecSpace exec;
    Setup s;
    const std::string scaling = text_option(argc, argv, "scaling", "weak");
    if (scaling != "weak" && scaling != "strong") {
      if (comm.is_root()) std::fprintf(stderr, "--scaling must be weak or strong\n");
      return 2;
    }
    s.weak = scaling == "weak";
    s.reps = static_cast<int>(std::max(1L, option(argc, argv, "reps", 3)));
    s.check = option(argc, argv, "check", 1) != 0;
    const std::string precision = text_option(argc, argv, "precision", "fp32");
    if (precision != "fp32" && precision != "fp64") {
      if (comm.is_root()) std::fprintf(stderr, "--precision must be fp32 or fp64\n");
      return 2;
    }
    if (comm.is_root())
      std::printf(
          "strata_mpi_scaling: %s scaling, P=%d ranks, %s, %s, reps %d (median of the "
          "slowest rank)\n",
          scaling.c_str(), comm.size(), precision.c_str(), ExecSpace::name(), s.reps);
    try {
      if (precision == "fp32")
        run<float>(comm, exec, argc, argv, s);
      else
        run<double>(comm, exec, argc, argv, s);
    } catch (const std::exception& e) {
      // One rank failing alone (e.g. out of memory in the --check solve) must not leave the
      // others waiting in a collective: abort the whole job.
      std::fprintf(stderr, "strata_mpi_scaling: rank %d: %s\n", comm.rank(), e.what());
      std::fflush(stderr);
#if STRATA_HAVE_MPI
      MPI_Abort(MPI_COMM_WORLD, 1);
#endif
      return 1;
    }
  }
  return 0;
}
