// HSS compression from products, Strata beside STRUMPACK (HSSMatrix::compress with a product and
// an entry callback), on the SAME dense matrix in the same run: built only when CMake finds
// STRUMPACK (perf/CMakeLists.txt).
//
//   strata_bench_hss_strumpack [--problems=cauchy-1d,laplace-curve,gaussian-1d]
//       [--sizes=4096,8192,16384] [--tols=1e-6,1e-10]
//       [--methods=levitt-martinsson,quasi-optimal,entries-products]
//       [--leaf=64] [--reps=3] [--threads=2] [--d0=32] [--dd=16] [--probes=10] [--errors=1]
//       [--phases=0]
//
// Per (problem, N, tol): the dense N x N matrix A of the built-in problem (hss/problems.hpp) is
// formed once on the host; then `reps` rounds alternate STRUMPACK and each Strata method. Both
// libraries get their products from the same callback code: a dense xGEMM with the stored A (the
// same BLAS, with its default thread count), timed inside the callback (for STRUMPACK: inside the
// Amult function object; for Strata: inside the LinearOperator's apply/apply_transpose), and the
// columns multiplied are counted (A and A^T together; Strata's count includes the error-estimate
// probes, which are products it really makes). STRUMPACK's entries come from A as well (its
// Aelem callback, part of its time outside the products). Both libraries use the same tree:
// uniform bisection of the index range down to leaves of at most --leaf indices (STRUMPACK
// HSSMatrix(N, N, opts) with leaf_size = --leaf; Strata ClusterTree::uniform(N, leaf)).
// STRUMPACK options: rel_tol = tol, abs_tol = 1e-300 (so that the relative tolerance alone
// decides, as for Strata), d0/dd from the command line, the STABLE algorithm (its default), no
// verbosity; OpenMP threads = --threads (omp_set_num_threads).
//
// Printed per row: median over the reps of the total compression time, the time in products,
// the time outside the products and the products; the achieved error ||A - H||_F / ||A||_F of the
// last rep's result against the dense matrix (exact, by applying H to column blocks of the
// identity, not timed); the ratio of Strata's time outside the products to STRUMPACK's; and the
// same two figures in process CPU time (all threads; robust on a loaded machine; run with
// OMP_WAIT_POLICY=passive and OPENBLAS_NUM_THREADS=1 so that no thread spins between calls).
//
// Method entries-products is Strata's like-for-like counterpart of STRUMPACK's scheme:
// hss::compress_from_entries_and_products (Martinsson 2011 IDs from products AND entries, the
// entries read from the same stored A as STRUMPACK's Aelem), per-node ID truncation relative to
// the node's largest pivot at tol / sqrt(2 L) (L levels: the split of the target over levels and
// sides, comment at the call; STRUMPACK's rel_tol = tol alone gave errors up to 5x tol here) and
// STRUMPACK's sample schedule: d0 + dd samples first, dd more (appended: products for the new
// columns only) while some node's ID rank saturates the samples; then the a-posteriori estimate
// over --probes Gaussian vectors (as the product methods; counted as products) must be <= 0.75 tol,
// else the ID tolerance shrinks and the construction is repeated from the same samples
// (CompressEntriesOptions::sample_step, target_tolerance).
#include <omp.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "HSS/HSSMatrix.hpp"
#include "strata/core/runtime.hpp"
#include "strata/dist/comm.hpp"
#include "strata/hss/cluster_tree.hpp"
#include "strata/hss/compress_entries.hpp"
#include "strata/hss/compress_matvec.hpp"
#include "strata/hss/matvec.hpp"
#include "strata/hss/problems.hpp"
#include "strata/linalg/detail/lapack.hpp"

namespace {

namespace hss = strata::hss;
using strata::ExecSpace;
using strata::index_type;

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  const std::string key = "--" + name + "=";
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], key.c_str(), key.size()) == 0) return argv[i] + key.size();
  return fallback;
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// CPU time of the whole process (all threads), seconds.
double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// The stored dense matrix (column-major, leading dimension n) and the product both libraries
/// use: Y = op(A) X by one xGEMM, timed and counted.
struct DenseProduct {
  index_type n = 0;
  std::vector<double> a;
  double seconds = 0, cpu_seconds = 0;
  index_type columns = 0;
  void reset() {
    seconds = cpu_seconds = 0;
    columns = 0;
  }
  void apply(bool transpose, const double* x, int ldx, double* y, int ldy, int k) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = process_cpu_seconds();
    const int m = static_cast<int>(n);
    const double one = 1, zero = 0;
    if (k > 0)
      strata::linalg::lapack::gemm(transpose ? "T" : "N", "N", &m, &k, &m, &one, a.data(), &m, x,
                                   &ldx, &zero, y, &ldy);
    seconds += seconds_since(start);
    cpu_seconds += process_cpu_seconds() - cpu_start;
    columns += k;
  }
};

/// Strata's view of the dense product: a replicated LinearOperator.
class DenseOperator final : public strata::LinearOperator<double> {
 public:
  explicit DenseOperator(DenseProduct& product)
      : product_(product), layout_(product.n, 1), comm_(strata::Comm::self()) {}
  index_type rows() const override { return product_.n; }
  index_type cols() const override { return product_.n; }
  const strata::Comm& comm() const override { return comm_; }
  const strata::BlockRowLayout& row_layout() const override { return layout_; }
  const strata::BlockRowLayout& col_layout() const override { return layout_; }

 protected:
  void do_apply(const ExecSpace&, const const_matrix_type& x, const matrix_type& y) const override {
    run(false, x, y);
  }
  void do_apply_transpose(const ExecSpace&, const const_matrix_type& x,
                          const matrix_type& y) const override {
    run(true, x, y);
  }

 private:
  void run(bool transpose, const const_matrix_type& x, const matrix_type& y) const {
    product_.apply(transpose, x.data(), static_cast<int>(std::max<std::size_t>(1, x.stride(1))),
                   y.data(), static_cast<int>(std::max<std::size_t>(1, y.stride(1))),
                   static_cast<int>(x.extent(1)));
  }
  DenseProduct& product_;
  strata::BlockRowLayout layout_;
  strata::Comm comm_;
};

/// ||A - H||_F / ||A||_F with H applied to column blocks of the identity by `apply_h(j0, cols,
/// out)` (out: n x cols, column-major, leading dimension n).
template <class F>
double dense_error(const DenseProduct& p, F apply_h) {
  const index_type n = p.n, block = 256;
  std::vector<double> out(static_cast<std::size_t>(n * block));
  double diff = 0, norm = 0;
  for (index_type j0 = 0; j0 < n; j0 += block) {
    const index_type cols = std::min(block, n - j0);
    apply_h(j0, cols, out.data());
    for (index_type j = 0; j < cols; ++j) {
      for (index_type i = 0; i < n; ++i) {
        const double a = p.a[static_cast<std::size_t>(i + (j0 + j) * n)];
        const double d = a - out[static_cast<std::size_t>(i + j * n)];
        diff += d * d;
        norm += a * a;
      }
    }
  }
  return std::sqrt(diff / norm);
}

struct Sample {
  std::vector<double> total, products_s, outside, products, cpu_outside;
  double error = -1;
  void add(double t, double cpu, const DenseProduct& p) {
    total.push_back(t);
    products_s.push_back(p.seconds);
    outside.push_back(t - p.seconds);
    cpu_outside.push_back(cpu - p.cpu_seconds);
    products.push_back(static_cast<double>(p.columns));
  }
};

}  // namespace

int main(int argc, char** argv) {
  strata::ScopeGuard guard(argc, argv);
  try {
    const auto problems = split(arg(argc, argv, "problems", "cauchy-1d,laplace-curve,gaussian-1d"));
    const auto sizes = split(arg(argc, argv, "sizes", "4096,8192,16384"));
    const auto tols = split(arg(argc, argv, "tols", "1e-6,1e-10"));
    const auto methods =
        split(arg(argc, argv, "methods", "levitt-martinsson,quasi-optimal,entries-products"));
    const int leaf = std::atoi(arg(argc, argv, "leaf", "64").c_str());
    const int reps = std::max(1, std::atoi(arg(argc, argv, "reps", "3").c_str()));
    const int threads = std::atoi(arg(argc, argv, "threads", "2").c_str());
    const int d0 = std::atoi(arg(argc, argv, "d0", "32").c_str());
    const int dd = std::atoi(arg(argc, argv, "dd", "16").c_str());
    const int probes = std::atoi(arg(argc, argv, "probes", "10").c_str());
    // --errors=0 skips the exact errors (for profiling the compression alone).
    const bool errors = arg(argc, argv, "errors", "1") != "0";
    // --phases=1 prints Strata's construction phases (CompressResult::timings, products included
    // where they happen) of the last rep.
    const bool phases = arg(argc, argv, "phases", "0") != "0";
    omp_set_num_threads(threads);
    const ExecSpace exec;
    std::printf(
        "HSS compression from products: STRUMPACK HSSMatrix::compress (OpenMP, %d threads, "
        "d0 %d, dd %d, STABLE) vs Strata compress_from_matvecs (%s), leaf %d, products by dense "
        "xGEMM, medians of %d alternating reps\n",
        omp_get_max_threads(), d0, dd, ExecSpace::name(), leaf, reps);
    std::printf("%-14s %6s %6s %-10s %8s %8s %9s %6s %9s %9s %9s %9s\n", "problem", "N", "tol",
                "library", "total-s", "prod-s", "outside-s", "prods", "err-dense", "out/STRU",
                "cpu-out-s", "cpu/STRU");
    for (const auto& name : problems) {
      for (const auto& size : sizes) {
        const auto n = static_cast<index_type>(std::atoll(size.c_str()));
        DenseProduct product;
        product.n = n;
        {
          const auto problem = hss::make_problem<double>(name, n);
          const auto a =
              Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), problem->dense(exec));
          product.a.resize(static_cast<std::size_t>(n * n));
          for (index_type j = 0; j < n; ++j)
            for (index_type i = 0; i < n; ++i)
              product.a[static_cast<std::size_t>(i + j * n)] = a(i, j);
        }
        const auto tree = hss::ClusterTree::uniform(n, leaf);
        for (const auto& tol_text : tols) {
          const double tol = std::atof(tol_text.c_str());
          Sample stru;
          std::vector<Sample> mine(methods.size());
          std::unique_ptr<strumpack::HSS::HSSMatrix<double>> last_stru;
          std::vector<hss::HssMatrix<double>> last_mine(methods.size());
          std::vector<std::string> last_phases(methods.size());
          for (int rep = 0; rep < reps; ++rep) {
            {
              strumpack::HSS::HSSOptions<double> opts;
              opts.set_leaf_size(leaf);
              opts.set_rel_tol(tol);
              opts.set_abs_tol(1e-300);
              opts.set_d0(d0);
              opts.set_dd(dd);
              opts.set_verbose(false);
              using DenseM = strumpack::DenseMatrix<double>;
              auto amult = [&](DenseM& rr, DenseM& rc, DenseM& sr, DenseM& sc) {
                product.apply(false, rr.data(), static_cast<int>(rr.ld()), sr.data(),
                              static_cast<int>(sr.ld()), static_cast<int>(rr.cols()));
                product.apply(true, rc.data(), static_cast<int>(rc.ld()), sc.data(),
                              static_cast<int>(sc.ld()), static_cast<int>(rc.cols()));
              };
              auto aelem = [&](const std::vector<std::size_t>& rows,
                               const std::vector<std::size_t>& cols, DenseM& b) {
                for (std::size_t j = 0; j < cols.size(); ++j)
                  for (std::size_t i = 0; i < rows.size(); ++i)
                    b(i, j) = product.a[rows[i] + cols[j] * static_cast<std::size_t>(n)];
              };
              product.reset();
              const auto start = std::chrono::steady_clock::now();
              const double cpu_start = process_cpu_seconds();
              auto h = std::make_unique<strumpack::HSS::HSSMatrix<double>>(n, n, opts);
              h->compress(amult, aelem, opts);
              stru.add(seconds_since(start), process_cpu_seconds() - cpu_start, product);
              last_stru = std::move(h);
            }
            for (std::size_t m = 0; m < methods.size(); ++m) {
              if (methods[m] == "entries-products") {
                // The entries straight from the stored A (host memory: the bench runs on a
                // host execution space, as the products above).
                const auto entries = hss::dense_entry_evaluator<double>(
                    strata::ConstMatrix<double>(product.a.data(), n, n));
                DenseOperator op(product);
                hss::CompressEntriesOptions eo;
                // ID tolerance from the target ||A - H||_F <= tol ||A||_F, split as in
                // ToleranceSchedule (detail/compress_levels.hpp): each node's ID drops, relative
                // to its largest pivot (~ its block row's norm), what adds up orthogonally over
                // the disjoint nodes of a level to <= id_tol ||A||_F per level and side (row,
                // column), so over L levels and 2 sides to sqrt(2 L) id_tol ||A||_F.
                eo.relative_tolerance = tol / std::sqrt(2.0 * std::max(1, tree.levels()));
                eo.samples = d0 + dd;
                hss::CompressEntriesResult er;
                product.reset();
                const auto start = std::chrono::steady_clock::now();
                const double cpu_start = process_cpu_seconds();
                eo.sample_step = dd;
                eo.target_tolerance = tol;
                eo.error_probes = probes;
                last_mine[m] = hss::compress_from_entries_and_products<double>(exec, tree, op,
                                                                               entries, eo, &er);
                mine[m].add(seconds_since(start), process_cpu_seconds() - cpu_start, product);
                char text[160];
                std::snprintf(text, sizeof text, " rounds %d samples %d estimate %.2e id-tol %.2e",
                              er.rounds, er.samples, er.relative_error_estimate,
                              er.final_relative_tolerance);
                last_phases[m] = text;
                for (const auto& [phase, t] : er.timings.phases())
                  last_phases[m] += " " + phase + " " + std::to_string(t);
                continue;
              }
              DenseOperator op(product);
              hss::CompressOptions options;
              options.method = hss::parse_compress_method(methods[m]);
              options.tolerance = tol;
              options.error_probes = probes;
              product.reset();
              const auto start = std::chrono::steady_clock::now();
              const double cpu_start = process_cpu_seconds();
              auto result = hss::compress_from_matvecs(exec, op, tree, options);
              mine[m].add(seconds_since(start), process_cpu_seconds() - cpu_start, product);
              last_mine[m] = std::move(result.matrix);
              last_phases[m] = " rounds " + std::to_string(result.rounds) + " samples " +
                               std::to_string(result.samples);
              for (const auto& [phase, t] : result.timings.phases())
                last_phases[m] += " " + phase + " " + std::to_string(t);
            }
          }
          // Exact errors of the last rep's results (not timed).
          if (errors)
            stru.error = dense_error(product, [&](index_type j0, index_type cols, double* out) {
              strumpack::DenseMatrix<double> e(n, cols);
              e.zero();
              for (index_type j = 0; j < cols; ++j) e(j0 + j, j) = 1;
              const auto he = last_stru->apply(e);
              for (index_type j = 0; j < cols; ++j)
                for (index_type i = 0; i < n; ++i)
                  out[static_cast<std::size_t>(i + j * n)] = he(i, j);
            });
          for (std::size_t m = 0; errors && m < methods.size(); ++m) {
            mine[m].error = dense_error(product, [&](index_type j0, index_type cols, double* out) {
              strata::Matrix<double> e("e", n, cols), he("he", n, cols);
              const auto eh = Kokkos::create_mirror_view(e);
              for (index_type j = 0; j < cols; ++j) eh(j0 + j, j) = 1;
              Kokkos::deep_copy(e, eh);
              hss::matvec<double>(exec, last_mine[m], e, he);
              const auto hh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), he);
              for (index_type j = 0; j < cols; ++j)
                for (index_type i = 0; i < n; ++i)
                  out[static_cast<std::size_t>(i + j * n)] = hh(i, j);
            });
          }
          const double stru_out = median(stru.outside), stru_cpu = median(stru.cpu_outside);
          auto row = [&](const char* library, const Sample& s) {
            std::printf("%-14s %6lld %6s %-10s %8.3f %8.3f %9.3f %6.0f %9.2e %9.2f %9.3f %9.2f\n",
                        name.c_str(), static_cast<long long>(n), tol_text.c_str(), library,
                        median(s.total), median(s.products_s), median(s.outside),
                        median(s.products), s.error, median(s.outside) / stru_out,
                        median(s.cpu_outside), median(s.cpu_outside) / stru_cpu);
          };
          row("STRUMPACK", stru);
          for (std::size_t m = 0; m < methods.size(); ++m)
            row(methods[m] == "levitt-martinsson"  ? "Strata LM"
                : methods[m] == "quasi-optimal"    ? "Strata QO"
                : methods[m] == "entries-products" ? "Strata EP"
                                                   : methods[m].c_str(),
                mine[m]);
          for (std::size_t m = 0; phases && m < methods.size(); ++m)
            std::printf("  phases (s) %s:%s\n", methods[m].c_str(), last_phases[m].c_str());
          std::fflush(stdout);
        }
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "strata_bench_hss_strumpack: %s\n", e.what());
    return 1;
  }
  return 0;
}
