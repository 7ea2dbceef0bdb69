// `strata hss solve --problem`: A x = b for a built-in matrix A (hss/problems.hpp), by a direct HSS
// ULV solve (--krylov none) or by GMRES/CG on the exact operator (the kernel product computed on
// the fly) preconditioned by that ULV solve of a loosely compressed HSS approximation (krylov/).
#include <chrono>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "hss_commands.hpp"
#include "json.hpp"
#include "strata/core/error.hpp"
#include "strata/core/random.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "strata/hss/compress_matvec.hpp"
#include "strata/hss/dist_skeletonization.hpp"
#include "strata/hss/distributed.hpp"
#include "strata/hss/hss_operator.hpp"
#include "strata/hss/problems.hpp"
#include "strata/krylov/cg.hpp"
#include "strata/krylov/gmres.hpp"
#include "strata/krylov/mixed_precision.hpp"

namespace strata::cli {

namespace {

struct SolveRequest {
  std::string problem;
  index_type n = 0;
  int dim = 0;
  double tolerance = 0;
  std::string method = "entries";
  index_type leaf_size = 64;
  std::string krylov = "none";
  krylov::KrylovOptions options;
  index_type columns = 1;
  std::uint64_t seed = 0;
  std::string precision = "fp64";
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// ||b_j - A x_j|| / ||b_j|| for every column, with one product with the exact operator.
template <class T>
std::vector<double> true_residuals(const ExecSpace& exec, const LinearOperator<T>& a,
                                   const DistMatrix<T>& b, const DistMatrix<T>& x) {
  DistMatrix<T> r(a.comm(), a.row_layout(), b.cols(), "strata::cli::hss_solve::r");
  a.apply(exec, x.local(), r.local());
  const auto bl = b.local();
  const auto rl = r.local();
  std::vector<double> out;
  for (index_type j = 0; j < b.cols(); ++j) {
    double rr = 0, bb = 0;
    Kokkos::parallel_reduce(
        "strata::cli::hss_solve::residual", Kokkos::RangePolicy<ExecSpace>(exec, 0, bl.extent(0)),
        KOKKOS_LAMBDA(const std::size_t i, double& s) {
          const double d = static_cast<double>(bl(i, j)) - static_cast<double>(rl(i, j));
          s += d * d;
        },
        rr);
    Kokkos::parallel_reduce(
        "strata::cli::hss_solve::norm_b", Kokkos::RangePolicy<ExecSpace>(exec, 0, bl.extent(0)),
        KOKKOS_LAMBDA(const std::size_t i, double& s) {
          s += static_cast<double>(bl(i, j)) * static_cast<double>(bl(i, j));
        },
        bb);
    rr = a.comm().allreduce(rr, ReduceOp::sum);
    bb = a.comm().allreduce(bb, ReduceOp::sum);
    out.push_back(bb > 0 ? std::sqrt(rr / bb) : 0.0);
  }
  return out;
}

template <class T>
int solve_problem_typed(const SolveRequest& request, Context& context) {
  const Comm& comm = context.comm;
  const ExecSpace exec;
  Progress progress("hss solve (compress, factor, solve)", 3, comm.rank());
  // The exact operator, b, x and the Krylov iteration are double; the HSS approximation (its
  // compression and ULV factor) is in T, wrapped for double vectors when T is float.
  std::shared_ptr<const hss::Problem<double>> problem;
  std::shared_ptr<const hss::Problem<T>> problem_hss;
  hss::ProblemOptions problem_options;
  problem_options.dim = request.dim;
  try {
    problem = hss::make_problem<double>(request.problem, request.n, problem_options);
    if constexpr (std::is_same_v<T, double>) {
      problem_hss = problem;
    } else {
      problem_hss = hss::make_problem<T>(request.problem, request.n, problem_options);
    }
  } catch (const InvalidArgument& e) {
    throw UsageError(e.what());
  }
  const bool distributed = comm.size() > 1;
  const auto a =
      distributed ? hss::make_operator<double>(problem, comm) : hss::make_operator<double>(problem);
  std::shared_ptr<LinearOperator<T>> a_hss;
  if constexpr (std::is_same_v<T, double>) {
    a_hss = a;
  } else {
    a_hss =
        distributed ? hss::make_operator<T>(problem_hss, comm) : hss::make_operator<T>(problem_hss);
  }
  hss::ClusterTree tree;
  hss::CompressOptions compress;
  collective(comm, [&] {
    const auto points = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), problem->points());
    tree = hss::ClusterTree::geometric(points, request.leaf_size);
    compress.points = points;  // the entries method's geometric near field
  });
  compress.method = hss::parse_compress_method(request.method);
  compress.tolerance = request.tolerance;
  compress.seed = request.seed;
  const bool entries = compress.method == hss::CompressMethod::entries;
  hss::HssOperatorOptions inverse;
  inverse.mode = hss::HssOperatorMode::inverse;
  inverse.factor_transpose = false;  // GMRES and CG only apply M^{-1}
  const auto compress_start = std::chrono::steady_clock::now();
  std::shared_ptr<hss::HssOperator<T>> h_inverse;
  double error_estimate = -1, error_bound = -1;
  double compress_time = 0;
  // What the compression spent and whether it met --tol (the entries method: the upper end of
  // its sampled certificate; the product methods: the upper confidence bound of their probes).
  bool compress_met = true;
  long long entries_read = 0, products = 0;
  // The compression's end (its time excludes the ULV factor, which HssOperator's inverse mode
  // computes on construction), then the factor.
  const auto factor = [&](auto&& matrix) {
    compress_time = seconds_since(compress_start);
    progress.advance();
    return std::make_shared<hss::HssOperator<T>>(exec, std::move(matrix), inverse);
  };
  if (distributed && entries) {
    // Each rank its subtrees' entries, the vectors in the exact operator's row layout.
    auto h = hss::compress_by_skeletonization_distributed<T>(
        exec, comm, tree, problem_hss->entry_evaluator(), hss::skeletonization_options(compress),
        a_hss->row_layout());
    error_estimate = h.certificate.estimate;
    error_bound = h.certificate.upper;
    compress_met = h.met_tolerance;
    entries_read = static_cast<long long>(h.entries);
    h_inverse = factor(std::move(h.matrix));
  } else if (distributed) {
    auto h = hss::compress_from_matvecs_distributed<T>(exec, *a_hss, tree, compress);
    error_estimate = h.relative_error_estimate;
    error_bound = h.relative_error_bound;
    compress_met = h.met_tolerance;
    products = static_cast<long long>(h.products + h.transpose_products + h.probe_products);
    h_inverse = factor(std::move(h.matrix));
  } else {
    auto h = collective(comm, [&] {
      return hss::compress_from_matvecs<T>(
          exec, *a_hss, tree, compress,
          entries ? problem_hss->entry_evaluator() : hss::EntryEvaluator<T>{});
    });
    error_estimate = h.relative_error_estimate;
    error_bound = h.relative_error_bound;
    compress_met = h.met_tolerance;
    entries_read = static_cast<long long>(h.entries);
    products = static_cast<long long>(h.products + h.transpose_products + h.probe_products);
    h_inverse = collective(comm, [&] { return factor(std::move(h.matrix)); });
  }
  if constexpr (!std::is_same_v<T, double>) {
    // The compression certified H against the problem in T (entries or products rounded to T),
    // but the solve and its residual are against the fp64 matrix A. Every entry of A_T = fl(A) is
    // within u of A's (u = T's unit roundoff), so ||A - A_T||_F <= u ||A||_F and ||A_T||_F <=
    // (1 + u) ||A||_F: ||A - H||_F / ||A||_F <= bound (1 + u) + u. Met only if that is <= --tol.
    const double u = std::numeric_limits<T>::epsilon() / 2;
    if (error_bound >= 0) error_bound = error_bound * (1 + u) + u;
    compress_met = compress_met && error_bound >= 0 && error_bound <= request.tolerance;
  }
  std::shared_ptr<const LinearOperator<double>> m;
  if constexpr (std::is_same_v<T, double>) {
    m = h_inverse;
  } else {
    m = std::make_shared<krylov::PrecisionCastOperator<double, T>>(h_inverse);
  }
  const double factor_time = h_inverse->factor_time_s();
  progress.advance();

  DistMatrix<double> b(a->comm(), a->row_layout(), request.columns, "strata::cli::hss_solve::b");
  DistMatrix<double> x(a->comm(), a->row_layout(), request.columns, "strata::cli::hss_solve::x");
  fill_random(exec, RandomStream{Distribution::gaussian, request.seed, 1}, b);
  exec.fence();
  const auto solve_start = std::chrono::steady_clock::now();
  krylov::KrylovResult result;
  if (request.krylov == "none") {
    m->apply(exec, b.local(), x.local());
    exec.fence();
  } else if (request.krylov == "gmres") {
    result = krylov::gmres<double>(exec, *a, *m, b, x, request.options);
  } else {
    result = krylov::cg<double>(exec, *a, *m, b, x, request.options);
  }
  const double solve_time = seconds_since(solve_start);
  progress.advance();
  progress.finish();
  // The direct solve's accuracy against the exact operator (the Krylov solvers report their own).
  const auto residuals = true_residuals<double>(exec, *a, b, x);
  double worst = 0;
  for (const double r : residuals) worst = std::max(worst, r);
  const bool iterative = request.krylov != "none";
  // A direct solve is only as good as H: a compression that missed --tol makes it inaccurate.
  // A Krylov solve is judged by its own true residual (H only preconditions it).
  const bool met = iterative ? result.converged : compress_met;

  if (context.json) {
    Json hss_part = Json::object();
    hss_part.add("tol", request.tolerance)
        .add("method", hss::compress_method_name(compress.method))
        .add("met_tolerance", compress_met)
        .add("entries", entries_read)
        .add("products", products)
        .add("levels", tree.levels())
        .add("leaf_size", static_cast<long long>(tree.max_leaf_size()))
        .add("relative_error_estimate", error_estimate)
        .add("relative_error_bound", error_bound)
        .add("compress_time_s", compress_time)
        .add("factor_time_s", factor_time);
    Json columns = Json::array();
    for (std::size_t j = 0; j < result.columns.size(); ++j) {
      const auto& c = result.columns[j];
      Json col = Json::object();
      col.add("iterations", c.iterations)
          .add("converged", c.converged)
          .add("stop", krylov::stop_reason_name(c.stop))
          .add("relative_residual", c.relative_residual)
          .add("residual_history", c.residual_history)
          .add("true_residual_history", c.true_residual_history);
      columns.push(col);
    }
    Json time = Json::object();
    time.add("compress", compress_time).add("factor", factor_time).add("solve", solve_time);
    for (const auto& [name, seconds] : result.timings.phases()) time.add(name, seconds);
    Json out = Json::object();
    out.add("command", "hss solve")
        .add("status", met ? "ok" : "inaccurate")
        .add("problem", problem->name())
        .add("n", static_cast<long long>(request.n))
        .add("columns", static_cast<long long>(request.columns))
        .add("dtype", "float64")
        .add("hss_precision", std::is_same_v<T, double> ? "fp64" : "fp32")
        .add("ranks", comm.size())
        .add("distributed", distributed)
        .add("hss", hss_part)
        .add("krylov", request.krylov)
        .add("relative_residual", worst)
        .add("relative_residuals", residuals);
    if (iterative) {
      out.add("krylov_tol", request.options.tolerance)
          .add("max_iter", request.options.max_iterations)
          .add("restart", request.options.restart)
          .add("iterations", result.iterations)
          .add("converged", result.converged)
          .add("residual_history",
               result.columns.empty() ? std::vector<double>{} : result.columns[0].residual_history)
          .add("operator_applies", static_cast<long long>(result.operator_applies))
          .add("preconditioner_applies", static_cast<long long>(result.preconditioner_applies))
          .add("per_column", columns);
    }
    out.add("time_s", time);
    context.print(out.str() + "\n");
  } else if (!context.quiet) {
    std::ostringstream line;
    line << "strata hss solve: " << problem->name() << ", n = " << request.n << ", "
         << request.columns << " right-hand side(s)\n  HSS (" << scalar_name<T>() << ") at tol "
         << request.tolerance << " by " << hss::compress_method_name(compress.method)
         << " (estimated error " << error_estimate << ", bound " << error_bound
         << (compress_met ? "" : ", tol NOT met") << "): compress " << compress_time
         << " s, ULV factor " << factor_time << " s\n";
    if (iterative) {
      line << "  " << request.krylov << " to " << request.options.tolerance << ": "
           << result.iterations << " iterations, "
           << (result.converged ? "converged" : "NOT converged") << ", true residual " << worst
           << ", " << solve_time << " s";
      for (const auto& [name, seconds] : result.timings.phases())
        line << " | " << name << " " << seconds;
      line << "\n";
    } else {
      line << "  direct ULV solve: residual against the exact matrix " << worst << ", "
           << solve_time << " s\n";
    }
    context.print(line.str());
  }
  if (!compress_met && iterative && met) {
    // Reported, not an error: the Krylov residual above certifies the answer.
    context.warn("the HSS preconditioner missed --tol " + Json::number(request.tolerance) +
                 " (error bound " + Json::number(error_bound) + ", estimate " +
                 Json::number(error_estimate) + "); the Krylov solve converged regardless");
  }
  if (!met && !iterative) {
    std::ostringstream warning;
    warning << "the HSS compression did not reach --tol " << request.tolerance << " (error bound "
            << error_bound << ", estimate " << error_estimate
            << "): the direct ULV solve is no more accurate than H (add --krylov gmres, or "
               "loosen --tol)";
    return context.inaccurate(warning.str());
  }
  if (!met) {
    std::ostringstream warning;
    warning << request.krylov << " did not reach --krylov-tol " << request.options.tolerance
            << ": true relative residual " << worst << " after " << result.iterations
            << " iterations (raise --max-iter, or --restart for GMRES, or tighten --tol)";
    return context.inaccurate(warning.str());
  }
  return exit_ok;
}

}  // namespace

int run_hss_solve_problem(Args& args, Context& context) {
  SolveRequest request;
  request.problem = *args.value("--problem");
  if (!args.has("--n")) throw UsageError("option '--problem' needs '--n N' (the matrix size)");
  request.n = args.integer("--n", 0, 1, index_type(1) << 40);
  request.dim = static_cast<int>(args.integer("--dim", 0, 1, 3));
  if (!args.has("--tol"))
    throw UsageError("option '--problem' needs '--tol EPS' (the HSS compression tolerance)");
  request.tolerance = args.real("--tol", 0.0);
  if (!(request.tolerance > 0))
    throw UsageError("option '--tol' must be a number > 0, got " + Json::number(request.tolerance));
  request.leaf_size = args.integer("--leaf-size", 64, 1, index_type(1) << 30);
  request.method = args.value("--method").value_or("entries");
  try {
    hss::parse_compress_method(request.method);
  } catch (const Error&) {
    throw UsageError("unknown method '" + request.method +
                     "'; expected entries, levitt-martinsson or quasi-optimal");
  }
  request.krylov = args.value("--krylov").value_or("none");
  if (request.krylov != "none" && request.krylov != "gmres" && request.krylov != "cg")
    throw UsageError("option '--krylov' must be gmres, cg or none, got '" + request.krylov + "'");
  const bool iterative = request.krylov != "none";
  for (const char* name : {"--krylov-tol", "--max-iter", "--restart"}) {
    if (!iterative && args.has(name))
      throw UsageError(std::string("option '") + name + "' goes with '--krylov gmres|cg'");
  }
  request.options.tolerance = args.real("--krylov-tol", 1e-10);
  if (!(request.options.tolerance > 0))
    throw UsageError("option '--krylov-tol' must be a number > 0, got " +
                     Json::number(request.options.tolerance));
  request.options.max_iterations = static_cast<int>(args.integer("--max-iter", 100, 1, 1 << 30));
  request.options.restart = static_cast<int>(args.integer("--restart", 30, 1, 1 << 20));
  if (request.krylov == "cg" && args.has("--restart"))
    throw UsageError("option '--restart' goes with '--krylov gmres', not cg");
  request.columns = args.integer("--columns", 1, 1, 1 << 20);
  request.seed = args.unsigned_integer("--seed", 0);
  request.precision = args.value("--precision").value_or("fp64");
  args.finish();
  if (request.precision != "fp64" && request.precision != "fp32")
    throw UsageError("option '--precision' must be fp64 or fp32, got '" + request.precision + "'");
  {
    // The leaf blocks D (n x leaf), the points and the Krylov basis (restart + 1 vectors).
    const double scalar = request.precision == "fp32" ? 4.0 : 8.0;
    const double per_row = static_cast<double>(request.leaf_size) * scalar + 3 * 8.0 +
                           (iterative ? (request.options.restart + 4.0) * scalar : 0.0);
    require_memory(static_cast<double>(request.n) * per_row, "--n " + std::to_string(request.n));
  }
  return request.precision == "fp32" ? solve_problem_typed<float>(request, context)
                                     : solve_problem_typed<double>(request, context);
}

}  // namespace strata::cli
