// Every driver of issue 15 on generated problems (no input files, no HDF5), timed in one process
// at the thread count the environment gives (OMP_NUM_THREADS for Kokkos OpenMP), with the OpenBLAS
// peers of the same sizes in a separate invocation (--only=baselines). perf/thread_scaling.py runs
// it at 1, 2, 4, 8, 16 threads and prints the speed-up table. A plain driver (no Google Benchmark),
// so that it builds wherever Strata does.
//
//   strata_thread_scaling [--only=LIST] [--repeat=3] [sizes, below]
//
// Workloads (--only takes a comma-separated list of these names; default: all but baselines):
//   gram          X^T X of a --gram rows x cols Gaussian X (linalg::gemm, inner split)
//   gemm          linalg::gemm alone on the products of these drivers whose host split
//                 (linalg/detail/host_gemm.hpp) is finest-grained, --gemm-calls calls each: A v
//                 with A --gram rows x cols (the operator's matrix-vector product), and the Gram
//                 products Q^T Q of an --rsvd rows x (rank + 10) and a (--rsvd cols) x (rank + 10)
//                 basis (rsvd's orthonormalization); the two products of a polar step on the
//                 --polar matrix (X^T X and X B, B square); Hutch++'s A S (A --trace-n square, S
//                 with --trace-matvecs / 3 columns); fewer calls for the large ones (about 2^30
//                 multiply-adds per row)
//   operator      A^T (A v) through DistDenseOperator on the same X (the demo's linear_operator)
//   polar64       Polar Express polar factor of a --polar m x n Gaussian matrix, fp64
//   polar32       the same in fp32
//   rsvd          randomized SVD (rank --rsvd-rank, oversample 10, one power step) of a --rsvd
//                 m x n Gaussian matrix
//   lstsq         sketch-and-precondition least squares (sparse sign, LSQR) on --lstsq m x n
//   sketch        S A for gaussian, srht and sparse-sign S (d = --sketch-d) on --sketch n x k
//   fwht          orthonormal FWHT of a --fwht N x k matrix
//   hutchpp       Hutch++ trace estimate (--trace-matvecs products) of a dense --trace-n square
//                 symmetric matrix
//   hss           strata hss compress --problem cauchy-1d --n --hss-n --tol --hss-tol (leaf 64,
//                 geometric tree): total and its phases; then the HSS matvec and the ULV factor
//                 and solve on --hss-cols right-hand sides; the matvec and the solve's steps
//                 also in the tree's order by both routes over the levels (host sweep by
//                 subtrees and one kernel per level, hss/detail/tree_sweep.hpp)
//   baselines     host LAPACK with the BLAS's own threads on the same sizes: dgesvd of the polar
//                 matrix (U and V^T: the polar factor's peer), dgesvd values of the rsvd matrix,
//                 dgels of the lstsq problem, dgesv of a dense --gesv-n system with --hss-cols
//                 right-hand sides, dgemm of the Gram product and of the gemm workload's products
//
// Output: one JSON object per line, {"name": ..., "seconds": best of --repeat, "first": the first
// run (cold), "check": ...};
// the first line describes the run (threads, BLAS threads). Exit status 1 with a message on
// standard error if a result fails its check (a wrong result is not timed).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/random.hpp"
#include "strata/core/runtime.hpp"
#include "strata/dist/linear_operator.hpp"
#include "strata/dist/operations.hpp"
#include "strata/hss/compress_matvec.hpp"
#include "strata/hss/detail/ulv_steps.hpp"
#include "strata/hss/matvec.hpp"
#include "strata/hss/problems.hpp"
#include "strata/hss/ulv.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/linalg/detail/lapack.hpp"
#include "strata/linalg/norms.hpp"
#include "strata/polar/newton_schulz.hpp"
#include "strata/sketch/fwht.hpp"
#include "strata/sketch/least_squares.hpp"
#include "strata/sketch/low_rank.hpp"
#include "strata/sketch/operator.hpp"
#include "strata/sketch/trace.hpp"

namespace {

using strata::index_type;
namespace lapack = strata::linalg::lapack;

std::string option(int argc, char** argv, const char* name, const char* fallback) {
  const std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) return argv[i] + prefix.size();
  return fallback;
}

std::set<std::string> split(const std::string& list) {
  std::set<std::string> out;
  std::stringstream s(list);
  for (std::string item; std::getline(s, item, ',');) out.insert(item);
  return out;
}

/// "ROWSxCOLS" -> {rows, cols}; exits with a message on anything else.
std::pair<index_type, index_type> shape(const std::string& text, const char* name) {
  const auto x = text.find('x');
  char* end = nullptr;
  const long long rows = std::strtoll(text.c_str(), &end, 10);
  const long long cols =
      x == std::string::npos ? 0 : std::strtoll(text.c_str() + x + 1, nullptr, 10);
  if (x == std::string::npos || end != text.c_str() + x || rows < 1 || cols < 1) {
    std::fprintf(stderr, "strata_thread_scaling: --%s=%s: expected ROWSxCOLS\n", name,
                 text.c_str());
    std::exit(2);
  }
  return {rows, cols};
}

index_type positive(int argc, char** argv, const char* name, const char* fallback) {
  const std::string text = option(argc, argv, name, fallback);
  const long long v = std::atoll(text.c_str());
  if (v < 1) {
    std::fprintf(stderr, "strata_thread_scaling: --%s=%s: expected a positive integer\n", name,
                 text.c_str());
    std::exit(2);
  }
  return v;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Prints {"name", "seconds", "first", "check"}: the best of `repeat` runs of `body` (fenced) and
/// the first (cold: the process's first call of these kernels, with its one-time costs such as
/// the BLAS's per-thread buffers), after checking that the value `body` returns is <= bound; with
/// `after`, the value checked and printed is the one `after` returns once all runs are done (an
/// untimed check).
void measure(const std::string& name, int repeat, double bound, const std::function<double()>& body,
             const std::function<double()>& after = nullptr) {
  const strata::ExecSpace exec;
  double best = std::numeric_limits<double>::infinity(), first = 0, check = 0;
  for (int r = 0; r < repeat; ++r) {
    exec.fence();
    const auto start = std::chrono::steady_clock::now();
    check = body();
    exec.fence();
    const double seconds = seconds_since(start);
    if (r == 0) first = seconds;
    best = std::min(best, seconds);
    if (!(check <= bound)) {
      std::fprintf(stderr, "strata_thread_scaling: %s: check value %.3e above its bound %.3e\n",
                   name.c_str(), check, bound);
      std::exit(1);
    }
  }
  if (after) {
    check = after();
    if (!(check <= bound)) {
      std::fprintf(stderr, "strata_thread_scaling: %s: check value %.3e above its bound %.3e\n",
                   name.c_str(), check, bound);
      std::exit(1);
    }
  }
  std::printf("{\"name\": \"%s\", \"seconds\": %.6f, \"first\": %.6f, \"check\": %.3e}\n",
              name.c_str(), best, first, check);
  std::fflush(stdout);
}

/// A phase of a PhaseTimer, or 0 when absent.
double phase(const strata::PhaseTimer& timer, const std::string& name) {
  for (const auto& [n, s] : timer.phases())
    if (n == name) return s;
  return 0;
}

template <class T>
strata::Matrix<T> gaussian(index_type rows, index_type cols, std::uint64_t stream) {
  strata::Matrix<T> a("strata_thread_scaling::A", static_cast<std::size_t>(rows),
                      static_cast<std::size_t>(cols));
  strata::fill_random(strata::ExecSpace{},
                      strata::RandomStream{strata::Distribution::gaussian, 2026, stream}, a);
  return a;
}

/// max |Q^T Q - I| of a host copy (the polar factor's check).
template <class T>
double orthogonality(const strata::Matrix<T>& q) {
  const strata::ExecSpace exec;
  const auto n = q.extent(1);
  strata::Matrix<T> g("strata_thread_scaling::G", n, n);
  strata::linalg::gemm(exec, "T", "N", T(1), q, q, T(0), g);
  const auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g);
  double worst = 0;
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < n; ++i)
      worst = std::max(worst, std::abs(static_cast<double>(h(i, j)) - (i == j ? 1.0 : 0.0)));
  return worst;
}

template <class T>
void polar(const std::string& name, index_type m, index_type n, int repeat) {
  const auto a = gaussian<T>(m, n, 1);
  strata::Matrix<T> q("strata_thread_scaling::Q", a.extent(0), a.extent(1));
  // Polar Express stops at 10 sqrt(n) eps(T) in ||Q^T Q - I||_F; 100 sqrt(n) eps(T) per entry
  // leaves the rounding of the check's own Gram product (m eps(T) relative, m <= 2^20: the
  // bound below is only a guard against a wrong result, not an accuracy claim).
  const double bound = 100.0 * std::sqrt(static_cast<double>(m)) *
                       static_cast<double>(std::numeric_limits<T>::epsilon());
  measure(name, repeat, bound, [&] {
    strata::polar::polar_factor<T>(strata::ExecSpace{}, a, q);
    return 0.0;
  });
  const double err = orthogonality(q);
  if (!(err <= bound)) {
    std::fprintf(stderr, "strata_thread_scaling: %s: max |Q^T Q - I| = %.3e above %.3e\n",
                 name.c_str(), err, bound);
    std::exit(1);
  }
}

/// Host column-major copy of a.
std::vector<double> host_copy(const strata::Matrix<double>& a) {
  const auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a);
  return std::vector<double>(h.data(), h.data() + h.size());
}

void check_info(const char* routine, int info) {
  if (info != 0) {
    std::fprintf(stderr, "strata_thread_scaling: %s returned info = %d\n", routine, info);
    std::exit(1);
  }
}

/// max |a - b| over the entries (two routes of one computation that must agree bit for bit).
double max_difference(const strata::Matrix<double>& a, const strata::Matrix<double>& b) {
  const auto ha = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a);
  const auto hb = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), b);
  double worst = 0;
  for (std::size_t j = 0; j < ha.extent(1); ++j)
    for (std::size_t i = 0; i < ha.extent(0); ++i)
      worst = std::max(worst, std::abs(ha(i, j) - hb(i, j)));
  return worst;
}

/// One product of the gemm workload: C = op(A) B, op(A) m x k, B k x n, both Gaussian.
struct GemmCase {
  std::string name;
  bool trans_a;
  index_type m, n, k;
  /// Calls per timed run: --gemm-calls, fewer for large products (about 2^30 multiply-adds in
  /// all, at least one call), so that each row takes about as long as the drivers' rows.
  int calls(int most) const {
    const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
    return static_cast<int>(std::clamp(std::ldexp(1.0, 30) / work, 1.0, static_cast<double>(most)));
  }
};

/// The products of the gemm workload (see the header comment).
std::vector<GemmCase> gemm_cases(std::pair<index_type, index_type> gram,
                                 std::pair<index_type, index_type> rsvd, index_type rsvd_rank,
                                 std::pair<index_type, index_type> polar, index_type trace_n,
                                 index_type trace_matvecs) {
  const index_type l = rsvd_rank + 10;  // the driver's oversampling
  const index_type sketch = std::max<index_type>(1, trace_matvecs / 3);  // Hutch++'s S
  auto dims = [](index_type r, index_type c) {
    return std::to_string(r) + "x" + std::to_string(c);
  };
  return {
      {"A v, A " + dims(gram.first, gram.second), false, gram.first, 1, gram.second},
      {"Q^T Q, Q " + dims(rsvd.first, l), true, l, l, rsvd.first},
      {"Q^T Q, Q " + dims(rsvd.second, l), true, l, l, rsvd.second},
      {"X^T X, X " + dims(polar.first, polar.second), true, polar.second, polar.second,
       polar.first},
      {"X B, X " + dims(polar.first, polar.second), false, polar.first, polar.second, polar.second},
      {"A S, A " + dims(trace_n, trace_n) + ", S " + dims(trace_n, sketch), false, trace_n, sketch,
       trace_n}};
}

/// Times `calls` calls of linalg::gemm on `c` and checks the last result entry by entry against
/// one host BLAS call: each is within gamma_{k + 66} (|op(A)| |B|)_ij of the exact product
/// (Higham, Accuracy and Stability, eq. (3.13): k products, at most 64 inner parts summed by the
/// host split, and the alpha/beta update), so they differ by at most twice that. The check value
/// is the largest ratio of the difference to that bound (<= 1).
void time_gemm(const GemmCase& c, int calls, int repeat) {
  const strata::ExecSpace exec;
  const auto a = c.trans_a ? gaussian<double>(c.k, c.m, 10) : gaussian<double>(c.m, c.k, 10);
  const auto b = gaussian<double>(c.k, c.n, 11);
  strata::Matrix<double> out("strata_thread_scaling::gemm", static_cast<std::size_t>(c.m),
                             static_cast<std::size_t>(c.n));
  const char* op_a = c.trans_a ? "T" : "N";
  auto check = [&] {
    auto ha = host_copy(a), hb = host_copy(b);
    const auto hc = host_copy(out);
    const int m = static_cast<int>(c.m), n = static_cast<int>(c.n), k = static_cast<int>(c.k);
    const int lda = c.trans_a ? k : m;
    const double one = 1, zero = 0;
    std::vector<double> ref(static_cast<std::size_t>(m) * n), magnitude(ref.size());
    lapack::gemm(op_a, "N", &m, &n, &k, &one, ha.data(), &lda, hb.data(), &k, &zero, ref.data(),
                 &m);
    for (auto& v : ha) v = std::abs(v);
    for (auto& v : hb) v = std::abs(v);
    lapack::gemm(op_a, "N", &m, &n, &k, &one, ha.data(), &lda, hb.data(), &k, &zero,
                 magnitude.data(), &m);
    const double u = std::numeric_limits<double>::epsilon() / 2;
    const double gamma = (c.k + 66) * u / (1 - (c.k + 66) * u);
    double worst = 0;
    for (std::size_t i = 0; i < ref.size(); ++i)
      worst = std::max(worst, std::abs(hc[i] - ref[i]) /
                                  (2 * gamma * magnitude[i] + std::numeric_limits<double>::min()));
    return worst;
  };
  measure(
      "gemm " + c.name + " (" + std::to_string(calls) + " calls)", repeat, 1.0,
      [&] {
        for (int i = 0; i < calls; ++i) strata::linalg::gemm(exec, op_a, "N", 1.0, a, b, 0.0, out);
        return 0.0;
      },
      check);
}

/// The steps of hss::ulv_solve in the tree's order (no permutation, no checks) by `route`.
void ulv_steps(const strata::ExecSpace& exec, const strata::hss::UlvFactor<double>& f,
               const strata::ConstMatrix<double>& b, const strata::Matrix<double>& x,
               strata::hss::detail::TreeSweep route) {
  namespace detail = strata::hss::detail;
  const auto& a = f.matrix;
  const bool spd = f.variant == strata::hss::UlvVariant::symmetric_positive_definite;
  std::vector<detail::UlvSolveLevel<double>> s(static_cast<std::size_t>(a.levels()) + 1);
  for (std::size_t l = 0; l < s.size(); ++l)
    s[l] = detail::ulv_solve_buffers(exec, f.levels[l], static_cast<index_type>(b.extent(1)));
  detail::ulv_solve_up_tree<double>(exec, a, f.levels, s, b, 0, spd, route);
  detail::ulv_solve_root<double>(exec, detail::ulv_tree_input(a, f.levels, 0), f.levels[0],
                                 f.root_pivots, s[0],
                                 a.levels() == 0 ? detail::UlvSolveLevel<double>{} : s[1], b, spd);
  if (a.levels() == 0) Kokkos::deep_copy(exec, x, s[0].x);
  detail::ulv_solve_down_tree<double>(exec, a, f.levels, s, x, 0, spd, route);
}

}  // namespace

int main(int argc, char** argv) {
  strata::ScopeGuard guard(argc, argv);
  const strata::ExecSpace exec;
  const auto only = split(option(
      argc, argv, "only", "gram,operator,gemm,polar64,polar32,rsvd,lstsq,sketch,fwht,hutchpp,hss"));
  const int repeat = static_cast<int>(positive(argc, argv, "repeat", "3"));
  const auto gram = shape(option(argc, argv, "gram", "200000x32"), "gram");
  const auto polar_shape = shape(option(argc, argv, "polar", "100000x64"), "polar");
  const auto rsvd = shape(option(argc, argv, "rsvd", "4000x1000"), "rsvd");
  const index_type rsvd_rank = positive(argc, argv, "rsvd-rank", "32");
  const auto lstsq = shape(option(argc, argv, "lstsq", "200000x64"), "lstsq");
  const auto sketch_shape = shape(option(argc, argv, "sketch", "100000x32"), "sketch");
  const index_type sketch_d = positive(argc, argv, "sketch-d", "256");
  const auto fwht_shape = shape(option(argc, argv, "fwht", "1048576x8"), "fwht");
  const index_type trace_n = positive(argc, argv, "trace-n", "4000");
  const index_type trace_matvecs = positive(argc, argv, "trace-matvecs", "96");
  const index_type hss_n = positive(argc, argv, "hss-n", "8192");
  const double hss_tol = std::atof(option(argc, argv, "hss-tol", "1e-6").c_str());
  const index_type hss_cols = positive(argc, argv, "hss-cols", "8");
  const index_type gesv_n = positive(argc, argv, "gesv-n", "4096");
  const int gemm_calls = static_cast<int>(positive(argc, argv, "gemm-calls", "20"));
  const auto has = [&](const char* w) {
    return only.count(w) > 0;
  };

  const int blas_threads = lapack::fortran::openblas_get_num_threads != nullptr
                               ? lapack::fortran::openblas_get_num_threads()
                               : -1;
  std::printf(
      "{\"name\": \"info\", \"execution_space\": \"%s\", \"concurrency\": %d, "
      "\"openblas_threads\": %d, \"repeat\": %d}\n",
      strata::ExecSpace::name(), static_cast<int>(exec.concurrency()), blas_threads, repeat);
  std::fflush(stdout);

  if (has("gram") || has("operator")) {
    const auto x = gaussian<double>(gram.first, gram.second, 2);
    const strata::DistMatrix<double> dx(strata::Comm::self(), strata::BlockRowLayout(gram.first, 1),
                                        x);
    strata::Matrix<double> g("strata_thread_scaling::gram", static_cast<std::size_t>(gram.second),
                             static_cast<std::size_t>(gram.second));
    // For Gaussian X, X^T X / rows -> I with entry-wise standard deviation <= sqrt(2 / rows):
    // 8 standard deviations (the demo's check).
    const double gram_bound = 8.0 * std::sqrt(2.0 / static_cast<double>(gram.first));
    if (has("gram")) {
      measure("gram X^T X", repeat, gram_bound, [&] {
        strata::inner_product(exec, dx, dx, g);
        const auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g);
        double worst = 0;
        for (std::size_t j = 0; j < h.extent(1); ++j)
          for (std::size_t i = 0; i < h.extent(0); ++i)
            worst = std::max(
                worst, std::abs(h(i, j) / static_cast<double>(gram.first) - (i == j ? 1.0 : 0.0)));
        return worst;
      });
    }
    if (has("operator")) {
      const strata::DistDenseOperator<double> a(dx);
      strata::Matrix<double> v("v", static_cast<std::size_t>(gram.second), 1);
      strata::Matrix<double> av("Av", static_cast<std::size_t>(gram.first), 1);
      strata::Matrix<double> atav("AtAv", static_cast<std::size_t>(gram.second), 1);
      Kokkos::deep_copy(v, 1.0);
      // A^T A v / rows is G 1 / rows, within the Gram check's bound times cols of 1 per entry.
      measure("operator A^T (A v)", repeat, 1.0 + static_cast<double>(gram.second) * gram_bound,
              [&] {
                a.apply(exec, v, av);
                a.apply_transpose(exec, av, atav);
                const auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), atav);
                double worst = 0;
                for (std::size_t i = 0; i < h.extent(0); ++i)
                  worst = std::max(worst, std::abs(h(i, 0) / static_cast<double>(gram.first)));
                return worst;
              });
    }
  }

  if (has("gemm"))
    for (const auto& c : gemm_cases(gram, rsvd, rsvd_rank, polar_shape, trace_n, trace_matvecs))
      time_gemm(c, c.calls(gemm_calls), repeat);

  if (has("polar64")) polar<double>("polar fp64", polar_shape.first, polar_shape.second, repeat);
  if (has("polar32")) polar<float>("polar fp32", polar_shape.first, polar_shape.second, repeat);

  if (has("rsvd")) {
    const auto a = gaussian<double>(rsvd.first, rsvd.second, 3);
    const strata::DistMatrix<double> da(strata::Comm::self(), strata::BlockRowLayout(rsvd.first, 1),
                                        a);
    strata::sketch::LowRankOptions o;
    o.rank = rsvd_rank;
    o.power_iterations = 1;
    o.error_probes = 0;
    // The largest singular value of an m x n Gaussian matrix is about sqrt(m) + sqrt(n); the
    // check is that the estimate lies within a factor 2 of it.
    const double top =
        std::sqrt(static_cast<double>(rsvd.first)) + std::sqrt(static_cast<double>(rsvd.second));
    measure("rsvd", repeat, 1.0, [&] {
      const auto r = strata::sketch::randomized_svd(exec, da, o);
      return std::abs(std::log2(static_cast<double>(r.s.at(0)) / top));
    });
  }

  if (has("lstsq")) {
    const auto a = gaussian<double>(lstsq.first, lstsq.second, 4);
    strata::Matrix<double> ones("ones", static_cast<std::size_t>(lstsq.second), 1);
    Kokkos::deep_copy(ones, 1.0);
    strata::Matrix<double> b("b", static_cast<std::size_t>(lstsq.first), 1);
    strata::linalg::gemm(exec, "N", "N", 1.0, a, ones, 0.0, b);
    // Consistent system A x = A 1: the demo's bound 1e3 sqrt(n) u on ||x - 1|| / sqrt(n).
    const double bound =
        1e3 * std::sqrt(static_cast<double>(lstsq.second)) * std::numeric_limits<double>::epsilon();
    measure("lstsq", repeat, bound, [&] {
      const auto r = strata::sketch::least_squares<double>(exec, a, b);
      const auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), r.x);
      double e = 0;
      for (std::size_t j = 0; j < h.extent(0); ++j) e += (h(j, 0) - 1) * (h(j, 0) - 1);
      return std::sqrt(e / static_cast<double>(h.extent(0)));
    });
  }

  if (has("sketch")) {
    const auto a = gaussian<double>(sketch_shape.first, sketch_shape.second, 5);
    strata::Matrix<double> sa("SA", static_cast<std::size_t>(sketch_d),
                              static_cast<std::size_t>(sketch_shape.second));
    const double norm_a = static_cast<double>(strata::linalg::frobenius_norm(exec, a));
    for (const auto kind :
         {strata::sketch::OperatorKind::gaussian, strata::sketch::OperatorKind::srht,
          strata::sketch::OperatorKind::sparse_sign}) {
      strata::sketch::SketchOperator op;
      op.kind = kind;
      op.rows = sketch_d;
      op.cols = sketch_shape.first;
      op.nnz = std::min<index_type>(8, sketch_d);
      // An isometry in expectation: ||S A||_F / ||A||_F within a factor 2 of 1 (its deviation
      // is O(1 / sqrt(d k)) for these operators).
      measure(std::string("sketch apply ") + strata::sketch::operator_name(kind), repeat, 1.0, [&] {
        strata::sketch::sketch_rows<double>(exec, op, a, sa);
        const double n = static_cast<double>(strata::linalg::frobenius_norm(exec, sa));
        return std::abs(std::log2(n / norm_a));
      });
    }
  }

  if (has("fwht")) {
    auto x = gaussian<double>(fwht_shape.first, fwht_shape.second, 6);
    const double norm_x = static_cast<double>(strata::linalg::frobenius_norm(exec, x));
    strata::sketch::FwhtOptions o;
    o.scale = 1.0 / std::sqrt(static_cast<double>(fwht_shape.first));
    // The orthonormal transform keeps the norm to a relative log2(N) u (fwht.hpp).
    measure("fwht", repeat, 1e-10, [&] {
      strata::sketch::fwht(exec, x, o);
      const double n = static_cast<double>(strata::linalg::frobenius_norm(exec, x));
      return std::abs(n - norm_x) / norm_x;
    });
  }

  if (has("hutchpp")) {
    // A = (G + G^T) / 2 + 10 I for a Gaussian G: symmetric, trace 10 n + tr(G) ~ 10 n, and
    // ||A||_F ~ n / sqrt(2), so Hutchinson's relative error with m / 3 probes is about
    // sqrt(6 / m) / (10 sqrt(2)) (2 % for m = 96) and Hutch++'s below it; 0.1 guards against a
    // wrong result.
    const auto gm = gaussian<double>(trace_n, trace_n, 7);
    strata::Matrix<double> a("A", static_cast<std::size_t>(trace_n),
                             static_cast<std::size_t>(trace_n));
    Kokkos::parallel_for(
        "strata::perf::thread_scaling::symmetric",
        Kokkos::MDRangePolicy<strata::ExecSpace, Kokkos::Rank<2>>(exec, {0, 0},
                                                                  {a.extent(0), a.extent(1)}),
        KOKKOS_LAMBDA(const std::size_t i, const std::size_t j) {
          a(i, j) = 0.5 * (gm(i, j) + gm(j, i)) + (i == j ? 10.0 : 0.0);
        });
    const auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a);
    double trace = 0;
    for (std::size_t i = 0; i < h.extent(0); ++i) trace += h(i, i);
    const strata::DenseOperator<double> op(a);
    strata::sketch::TraceOptions o;
    o.matvecs = trace_matvecs;
    measure("hutch++", repeat, 0.1, [&] {
      const auto r = strata::sketch::estimate_trace(exec, op, o);
      return std::abs(r.estimate - trace) / trace;
    });
  }

  if (has("hss")) {
    namespace hss = strata::hss;
    const auto problem = hss::make_problem<double>("cauchy-1d", hss_n);
    const auto op = hss::make_operator<double>(problem);
    const auto points = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), problem->points());
    const auto tree = hss::ClusterTree::geometric(points, 64);
    hss::CompressOptions o;
    o.tolerance = hss_tol;
    hss::CompressResult<double> h;
    strata::PhaseTimer best_phases, first_phases;
    double best_total = std::numeric_limits<double>::infinity(), first_total = 0;
    for (int r = 0; r < repeat; ++r) {
      exec.fence();
      const auto start = std::chrono::steady_clock::now();
      h = hss::compress_from_matvecs(exec, *op, tree, o);
      exec.fence();
      const double total = seconds_since(start);
      if (!(h.relative_error_estimate >= 0 && h.relative_error_estimate <= 10 * hss_tol)) {
        std::fprintf(stderr,
                     "strata_thread_scaling: hss compress: error estimate %.3e for tol %.1e\n",
                     h.relative_error_estimate, hss_tol);
        return 1;
      }
      if (r == 0) {
        first_total = total;
        first_phases = h.timings;
      }
      if (total < best_total) {
        best_total = total;
        best_phases = h.timings;
      }
    }
    std::printf(
        "{\"name\": \"hss compress total\", \"seconds\": %.6f, \"first\": %.6f, \"check\": "
        "%.3e}\n",
        best_total, first_total, h.relative_error_estimate);
    for (const char* p : {"products", "levels", "estimate"})
      std::printf(
          "{\"name\": \"hss compress %s\", \"seconds\": %.6f, \"first\": %.6f, \"check\": 0}\n", p,
          phase(best_phases, p), phase(first_phases, p));
    const auto b = gaussian<double>(hss_n, hss_cols, 8);
    strata::Matrix<double> y("Y", b.extent(0), b.extent(1)), x("X", b.extent(0), b.extent(1));
    const double norm_b = static_cast<double>(strata::linalg::frobenius_norm(exec, b));
    measure("hss matvec", repeat, 1e6, [&] {
      hss::matvec(exec, h.matrix, strata::ConstMatrix<double>(b), y);
      return static_cast<double>(strata::linalg::frobenius_norm(exec, y)) / norm_b;
    });
    // The same product in the tree's order by both routes over the levels (hss/detail/
    // tree_sweep.hpp): the host sweep by subtrees (what matvec runs here) and one kernel per level
    // (what GPUs run, and what host backends ran before): the baseline of the sweep in this run.
    // Both must agree bit for bit.
    strata::Matrix<double> y_sweep("Y_sweep", b.extent(0), b.extent(1)),
        y_levels("Y_levels", b.extent(0), b.extent(1));
    for (const auto route :
         {hss::detail::TreeSweep::automatic, hss::detail::TreeSweep::per_level}) {
      const bool sweep = route == hss::detail::TreeSweep::automatic;
      const auto& out = sweep ? y_sweep : y_levels;
      measure(sweep ? "hss matvec, tree order, subtree sweep" : "hss matvec, tree order, per level",
              repeat, 0.0, [&] {
                hss::detail::matvec_permuted(exec, h.matrix, strata::ConstMatrix<double>(b), out,
                                             hss::Op::none, route);
                return sweep ? 0.0 : max_difference(y_sweep, y_levels);
              });
    }
    hss::UlvFactor<double> f;
    measure("hss ulv factor", repeat, 0.0, [&] {
      f = hss::ulv_factor(exec, h.matrix);
      return 0.0;
    });
    // ULV is backward stable: residual O(L r u) against H (the demo's 1e-10). The timing includes
    // the residual and the conditioning check (16 products and 2 solves with one vector).
    measure("hss ulv solve", repeat, 1e-10,
            [&] { return hss::ulv_solve(exec, f, strata::ConstMatrix<double>(b), x).residual; });
    // The solve's steps alone in the tree's order by both routes (as for the matvec above).
    strata::Matrix<double> x_sweep("X_sweep", b.extent(0), b.extent(1)),
        x_levels("X_levels", b.extent(0), b.extent(1));
    for (const auto route :
         {hss::detail::TreeSweep::automatic, hss::detail::TreeSweep::per_level}) {
      const bool sweep = route == hss::detail::TreeSweep::automatic;
      const auto& out = sweep ? x_sweep : x_levels;
      measure(sweep ? "hss ulv solve steps, subtree sweep" : "hss ulv solve steps, per level",
              repeat, 0.0, [&] {
                ulv_steps(exec, f, strata::ConstMatrix<double>(b), out, route);
                return sweep ? 0.0 : max_difference(x_sweep, x_levels);
              });
    }
  }

  if (has("baselines")) {
    // Host LAPACK/BLAS with its own threads (no Strata rule in between): the peers above.
    {
      auto a0 = host_copy(gaussian<double>(polar_shape.first, polar_shape.second, 1));
      const int m = static_cast<int>(polar_shape.first), n = static_cast<int>(polar_shape.second);
      std::vector<double> s(n), u(static_cast<std::size_t>(m) * n),
          vt(static_cast<std::size_t>(n) * n);
      std::vector<double> a;
      measure("baseline dgesvd (polar, U and V^T)", repeat, 0.0, [&] {
        a = a0;
        int lwork = -1, info = 0;
        double query = 0;
        lapack::gesvd("S", "S", &m, &n, a.data(), &m, s.data(), u.data(), &m, vt.data(), &n, &query,
                      &lwork, &info);
        lwork = static_cast<int>(query);
        std::vector<double> work(static_cast<std::size_t>(lwork));
        lapack::gesvd("S", "S", &m, &n, a.data(), &m, s.data(), u.data(), &m, vt.data(), &n,
                      work.data(), &lwork, &info);
        check_info("dgesvd", info);
        return 0.0;
      });
    }
    {
      auto a0 = host_copy(gaussian<double>(rsvd.first, rsvd.second, 3));
      const int m = static_cast<int>(rsvd.first), n = static_cast<int>(rsvd.second), one = 1;
      std::vector<double> s(std::min(m, n)), a;
      measure("baseline dgesvd (rsvd, values)", repeat, 0.0, [&] {
        a = a0;
        int lwork = -1, info = 0;
        double query = 0, dummy = 0;
        lapack::gesvd("N", "N", &m, &n, a.data(), &m, s.data(), &dummy, &one, &dummy, &one, &query,
                      &lwork, &info);
        lwork = static_cast<int>(query);
        std::vector<double> work(static_cast<std::size_t>(lwork));
        lapack::gesvd("N", "N", &m, &n, a.data(), &m, s.data(), &dummy, &one, &dummy, &one,
                      work.data(), &lwork, &info);
        check_info("dgesvd", info);
        return 0.0;
      });
    }
    {
      auto a0 = host_copy(gaussian<double>(lstsq.first, lstsq.second, 4));
      const int m = static_cast<int>(lstsq.first), n = static_cast<int>(lstsq.second), one = 1;
      std::vector<double> b0(static_cast<std::size_t>(m), 0.0), a, b;
      for (int j = 0; j < n; ++j)
        for (int i = 0; i < m; ++i) b0[i] += a0[static_cast<std::size_t>(j) * m + i];
      measure("baseline dgels (lstsq)", repeat, 1e-10, [&] {
        a = a0;
        b = b0;
        int lwork = -1, info = 0;
        double query = 0;
        lapack::gels("N", &m, &n, &one, a.data(), &m, b.data(), &m, &query, &lwork, &info);
        lwork = static_cast<int>(query);
        std::vector<double> work(static_cast<std::size_t>(lwork));
        lapack::gels("N", &m, &n, &one, a.data(), &m, b.data(), &m, work.data(), &lwork, &info);
        check_info("dgels", info);
        double e = 0;
        for (int j = 0; j < n; ++j) e = std::max(e, std::abs(b[j] - 1));
        return e;
      });
    }
    {
      // A diagonally dominant system: Gaussian + n I.
      auto a0 = host_copy(gaussian<double>(gesv_n, gesv_n, 9));
      const int n = static_cast<int>(gesv_n), k = static_cast<int>(hss_cols);
      for (int i = 0; i < n; ++i) a0[static_cast<std::size_t>(i) * n + i] += n;
      const auto b0 = host_copy(gaussian<double>(gesv_n, hss_cols, 8));
      std::vector<double> a, b;
      std::vector<int> ipiv(static_cast<std::size_t>(n));
      measure("baseline dgesv", repeat, 0.0, [&] {
        a = a0;
        b = b0;
        int info = 0;
        lapack::gesv(&n, &k, a.data(), &n, ipiv.data(), b.data(), &n, &info);
        check_info("dgesv", info);
        return 0.0;
      });
    }
    {
      const auto x = host_copy(gaussian<double>(gram.first, gram.second, 2));
      const int m = static_cast<int>(gram.first), n = static_cast<int>(gram.second);
      std::vector<double> g(static_cast<std::size_t>(n) * n);
      const double one = 1, zero = 0;
      measure("baseline dgemm (gram)", repeat, 0.0, [&] {
        lapack::gemm("T", "N", &n, &n, &m, &one, x.data(), &m, x.data(), &m, &zero, g.data(), &n);
        return 0.0;
      });
    }
    for (const auto& c : gemm_cases(gram, rsvd, rsvd_rank, polar_shape, trace_n, trace_matvecs)) {
      const int calls = c.calls(gemm_calls);
      const auto a =
          host_copy(c.trans_a ? gaussian<double>(c.k, c.m, 10) : gaussian<double>(c.m, c.k, 10));
      const auto b = host_copy(gaussian<double>(c.k, c.n, 11));
      const int m = static_cast<int>(c.m), n = static_cast<int>(c.n), k = static_cast<int>(c.k);
      const int lda = c.trans_a ? k : m;
      const char* op_a = c.trans_a ? "T" : "N";
      std::vector<double> out(static_cast<std::size_t>(m) * n);
      const double one = 1, zero = 0;
      measure("baseline dgemm (" + c.name + ", " + std::to_string(calls) + " calls)", repeat, 0.0,
              [&] {
                for (int i = 0; i < calls; ++i)
                  lapack::gemm(op_a, "N", &m, &n, &k, &one, a.data(), &lda, b.data(), &k, &zero,
                               out.data(), &m);
                return 0.0;
              });
    }
  }
  return 0;
}
