// Distributed ULV factor and solve of a random HSS matrix at the rank count of the run, beside the
// single-process ULV of the same matrix measured in the same run (on rank 0, the other ranks
// waiting) as the baseline. A plain driver rather than Google Benchmark: every repetition is a
// collective call, so all ranks must run the same number of them.
//
//   mpirun -n P strata_bench_hss_dist_ulv [--n=16384] [--leaf=64] [--rank=16] [--rhs=1]
//                                          [--reps=5]
//
// Prints per phase the median over --reps of the slowest rank's time (after a barrier; distributed
// and baseline runs alternate), and the relative residual ||A x - b|| / ||b|| of the distributed
// solve. Only the public API is used, so the same source also times another build of the library
// (e.g. an older distributed ULV).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "strata/core/random.hpp"
#include "strata/core/runtime.hpp"
#include "strata/dist/comm.hpp"
#include "strata/hss/distributed.hpp"
#include "strata/hss/ulv.hpp"

namespace {

namespace hss = strata::hss;
using strata::index_type;
using strata::Matrix;

long option(int argc, char** argv, const char* name, long fallback) {
  const std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0)
      return std::atol(argv[i] + prefix.size());
  return fallback;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median over `reps` of the slowest rank's time of f() and of g() (every rank calls both), the
// two alternating so that both see the same machine load.
template <class F, class G>
std::pair<double, double> timed_pair(const strata::Comm& comm, const strata::ExecSpace& exec,
                                     int reps, F&& f, G&& g) {
  std::vector<double> tf, tg;
  const auto once = [&](auto&& h) {
    comm.barrier();
    Kokkos::Timer timer;
    h();
    exec.fence();
    return comm.allreduce(timer.seconds(), strata::ReduceOp::max);
  };
  for (int i = 0; i < reps; ++i) {
    tf.push_back(once(f));
    tg.push_back(once(g));
  }
  return {median(tf), median(tg)};
}

}  // namespace

int main(int argc, char** argv) {
  strata::ScopeGuard guard(argc, argv);
  {
    const strata::Comm comm;
    const strata::ExecSpace exec;
    const index_type n = option(argc, argv, "n", 16384);
    const index_type leaf = option(argc, argv, "leaf", 64);
    const index_type rank = option(argc, argv, "rank", 16);
    const index_type k = option(argc, argv, "rhs", 1);
    const int reps = static_cast<int>(option(argc, argv, "reps", 5));
    const auto tree = hss::ClusterTree::uniform(n, leaf);
    const auto a = hss::make_random_hss<double>(exec, tree, rank, 7);
    const auto dist = hss::distribute<double>(exec, comm, a);
    Matrix<double> b("b", n, k), x("x", n, k);
    strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 3, 0}, b);
    const auto first = static_cast<std::size_t>(dist.layout().row_begin(comm.rank()));
    const auto rows = std::make_pair(first, first + static_cast<std::size_t>(dist.local_rows()));
    Matrix<double> bl("bl", dist.local_rows(), k), xl("xl", dist.local_rows(), k);
    Kokkos::deep_copy(bl, Kokkos::subview(b, rows, Kokkos::ALL));

    // Baseline: the single-process ULV of the same matrix, on rank 0 (the others wait).
    const bool root = comm.rank() == 0;
    hss::DistUlvFactor<double> f;
    hss::UlvFactor<double> f1;
    const auto [t_factor, t_factor1] = timed_pair(
        comm, exec, reps, [&] { f = hss::ulv_factor(exec, dist); },
        [&] {
          if (root) f1 = hss::ulv_factor(exec, a);
        });
    const auto [t_solve, t_solve1] = timed_pair(
        comm, exec, reps, [&] { hss::ulv_solve<double>(exec, f, bl, xl, false); },
        [&] {
          if (root) hss::ulv_solve<double>(exec, f1, b, x, false);
        });
    const double residual = hss::ulv_solve<double>(exec, f, bl, xl, true).residual;
    if (root) {
      std::printf("N=%lld leaf=%lld rank=%lld rhs=%lld ranks=%d split_level=%d reps=%d\n",
                  static_cast<long long>(n), static_cast<long long>(leaf),
                  static_cast<long long>(rank), static_cast<long long>(k), comm.size(),
                  dist.split_level(), reps);
      std::printf("distributed ULV: factor %.4f s  solve %.4f s  residual %.2e\n", t_factor,
                  t_solve, residual);
      std::printf(
          "baseline (same matrix, same run) single-process ULV: factor %.4f s  solve %.4f s\n",
          t_factor1, t_solve1);
    }
  }
  return 0;
}
