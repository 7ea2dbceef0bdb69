// `strata sketch rsvd` and `strata sketch lstsq`: the randomized SVD and sketched least squares of
// an HDF5 matrix, read by block rows over the MPI ranks.
#include <chrono>
#include <cmath>
#include <sstream>
#include <string>

#include "cli.hpp"
#include "json.hpp"
#include "strata/config.hpp"
#include "strata/dist/collective.hpp"
#include "strata/sketch/least_squares.hpp"
#include "strata/sketch/low_rank.hpp"
#if STRATA_HAVE_HDF5
#include "strata/io/hdf5.hpp"
#endif

namespace strata::cli {

namespace {

const char* const rsvd_usage =
    "usage: strata sketch rsvd --input A.h5:/A (--rank k | --tol eps) --output F.h5 [options]\n\n"
    "Randomized SVD A ~ U diag(S) V^T (Halko, Martinsson & Tropp 2011). Writes the datasets /U\n"
    "(m x k), /S (k) and /V (n x k) into F.h5 (other datasets of F.h5 are kept).\n\n"
    "options:\n"
    "  --rank k          target rank (fixed-rank mode)\n"
    "  --oversample p    extra sketch columns (default 10; reduced if k + p > min(m, n))\n"
    "  --power q         steps of subspace iteration (default 0; 1-2 help slowly decaying "
    "spectra)\n"
    "  --tol eps         adaptive rank: grow the basis until the error measure of --estimator\n"
    "                    is <= eps (absolute)\n"
    "  --error-probes r  Gaussian probes of the error measure, r extra products with A (default\n"
    "                    10; 0 with --rank: no error measure, error_estimate -1)\n"
    "  --estimator E     bound (default): 10 sqrt(2/pi) max_i ||(A - U S V^T) w_i||, an upper\n"
    "                    bound on ||A - U S V^T||_2 with probability 1 - 10^-r (HMT eq. 4.3),\n"
    "                    typically one to two orders of magnitude above the error itself;\n"
    "                    frobenius: sqrt(mean_i ||(A - U S V^T) w_i||^2), an estimate of\n"
    "                    ||A - U S V^T||_F (relative spread ~ sqrt(2 / r))\n"
    "  --block b         adaptive mode: columns added per step (default 16)\n"
    "  --seed s          seed of the random test matrix (default 0)\n"
    "  --operator K      test matrix: gaussian (default), rademacher, srht or sparse-sign\n"
    "                    (srht and sparse-sign need --rank: they are drawn whole)\n"
    "  --nnz s           sparse-sign: nonzeros per row of the test matrix (default 8)\n"
    "  --json            print one JSON object (rank, matvecs, error_estimate, time_s, ...)\n";

const char* const lstsq_usage =
    "usage: strata sketch lstsq --input A.h5:/A --rhs B.h5:/b --output X.h5:/x [options]\n\n"
    "Least squares min ||A x - b||_2 for a tall A (m >= n, full column rank) and one right-hand\n"
    "side (1-D b) or several (2-D b, one per column).\n\n"
    "options:\n"
    "  --method M        precondition (default: QR of the sketch S A as preconditioner for\n"
    "                    LSQR; converges to the exact solution) or solve (argmin ||S A x - S b||,\n"
    "                    one pass, near-optimal residual)\n"
    "  --operator K      sketch: sparse-sign (default, 8 nonzeros per column), srht, gaussian\n"
    "                    or rademacher\n"
    "  --nnz s           sparse-sign: nonzeros per column of the sketch (default 8)\n"
    "  --sketch-rows d   rows of the sketch (default 2n for precondition, 4n for solve)\n"
    "  --tol t           LSQR tolerance atol = btol (default 10 machine epsilons)\n"
    "  --max-iter N      LSQR iteration limit (default 1000)\n"
    "  --seed s          seed of the sketch (default 0)\n"
    "  --json            print one JSON object (iterations, residual_norm, "
    "normal_residual_norm, converged, time_s)\n";

/// --operator for the low-rank drivers (a UsageError names the accepted values).
[[maybe_unused]] sketch::TestMatrixKind test_matrix_option(Args& args, const char* fallback) {
  const std::string name = args.value("--operator").value_or(fallback);
  try {
    return sketch::parse_test_matrix(name);
  } catch (const Error&) {
    throw UsageError(
        "option '--operator' must be gaussian, rademacher, srht or sparse-sign, got '" + name +
        "'");
  }
}

/// --nnz (sparse-sign nonzeros), in [1, 64].
[[maybe_unused]] index_type nnz_option(Args& args) {
  return static_cast<index_type>(args.integer("--nnz", 8, 1, sketch::max_sparse_nnz));
}

/// --operator for least squares: any sketch but the square hadamard rotation.
[[maybe_unused]] sketch::OperatorKind sketch_operator_option(Args& args) {
  const std::string name = args.value("--operator").value_or("sparse-sign");
  if (name != "hadamard") {
    try {
      return sketch::parse_operator(name);
    } catch (const Error&) {
    }
  }
  throw UsageError("option '--operator' must be sparse-sign, srht, gaussian or rademacher, got '" +
                   name + "'");
}

[[maybe_unused]] double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

[[maybe_unused]] Json phase_times(const PhaseTimer& timings, double read, double write,
                                  double total) {
  Json t = Json::object();
  t.add("total", total).add("read", read);
  for (const auto& [name, s] : timings.phases()) t.add(name, s);
  t.add("write", write);
  return t;
}

}  // namespace

int run_sketch_rsvd(Args& args, Context& context) {
  if (args.flag("--help")) {
    context.print(rsvd_usage);
    return 0;
  }
#if STRATA_HAVE_HDF5
  const auto input = args.value("--input");
  const auto output = args.value("--output");
  const auto rank = args.integer("--rank", 0, 1, std::numeric_limits<std::int64_t>::max());
  const auto oversample = args.integer("--oversample", 10, 0, 1 << 20);
  const auto power = args.integer("--power", 0, 0, 100);
  const auto block = args.integer("--block", 16, 1, 1 << 20);
  const bool tol_given = args.has("--tol");
  const double tol = args.real("--tol", 0.0);
  const auto seed = args.unsigned_integer("--seed", 0);
  const auto kind = test_matrix_option(args, "gaussian");
  const auto nnz = nnz_option(args);
  const auto probes = args.integer("--error-probes", 10, 0, 1 << 20);
  const auto estimator_name = args.value("--estimator").value_or("bound");
  args.finish();
  if (!input) throw UsageError("option '--input FILE.h5:/DATASET' is required");
  if (!output) throw UsageError("option '--output FILE.h5' is required");
  if (tol_given && tol <= 0) throw UsageError("option '--tol' must be > 0");
  if (estimator_name != "bound" && estimator_name != "frobenius")
    throw UsageError("option '--estimator' must be bound or frobenius, got '" + estimator_name +
                     "'");
  if (tol_given && probes == 0)
    throw UsageError("option '--tol' needs '--error-probes' >= 1 (the error measure it stops on)");
  if ((rank > 0) == tol_given)
    throw UsageError("give exactly one of '--rank k' (fixed rank) and '--tol eps' (adaptive rank)");
  sketch::LowRankOptions o;
  o.rank = rank;
  o.oversample = oversample;
  o.power_iterations = static_cast<int>(power);
  o.tolerance = tol;
  o.block_size = block;
  o.test_matrix.seed = seed;
  o.test_matrix.kind = kind;
  o.test_matrix.nnz = nnz;
  o.error_probes = static_cast<int>(probes);
  o.estimator = estimator_name == "bound" ? sketch::ErrorEstimator::spectral_bound
                                          : sketch::ErrorEstimator::frobenius;
  // What error_estimate is, in words (the same text in JSON, the HDF5 attribute and the summary).
  const std::string r_text = std::to_string(probes) + " Gaussian w_i";
  const std::string measure =
      probes == 0 ? std::string("none (--error-probes 0)")
      : o.estimator == sketch::ErrorEstimator::spectral_bound
          ? "upper bound 10 sqrt(2/pi) max_i ||(A - U S V^T) w_i||, " + r_text +
                " (>= ||A - U S V^T||_2 with probability 1 - 1e-" + std::to_string(probes) + ")"
          : "estimate sqrt(mean_i ||(A - U S V^T) w_i||^2) of ||A - U S V^T||_F, " + r_text;
  const Comm& comm = context.comm;
  const ExecSpace exec;
  const auto start = std::chrono::steady_clock::now();
  io::DatasetPath in;
  try {
    in = io::DatasetPath::parse(*input);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  const auto a = io::read_dist_matrix<double>(comm, in);
  const double read_s = seconds_since(start);
  const auto result = sketch::randomized_svd(exec, a, o);
  const auto write_start = std::chrono::steady_clock::now();
  Vector<double> s("strata::cli::S", result.s.size());
  const auto s_host = Kokkos::create_mirror_view(s);
  for (std::size_t j = 0; j < result.s.size(); ++j) s_host(j) = result.s[j];
  Kokkos::deep_copy(s, s_host);
  io::FileWriter writer(comm, *output);
  writer.write("/U", result.u);
  writer.write("/S", Kokkos::View<const double*, Kokkos::LayoutLeft, MemSpace>(s));
  writer.write("/V", result.v);
  writer.set_attribute("/S", "matvecs", static_cast<double>(result.matvecs));
  writer.set_attribute("/S", "error_estimate", result.error_estimate);
  writer.set_attribute("/S", "error_measure", measure);
  writer.set_attribute("/S", "input", in.str());
  writer.commit();
  const double write_s = seconds_since(write_start);
  const double total = seconds_since(start);
  if (context.json) {
    Json out = Json::object();
    std::string list = "[";
    for (std::size_t j = 0; j < result.s.size(); ++j)
      list += (j ? ", " : "") + Json::number(result.s[j]);
    list += "]";
    out.add("command", "sketch rsvd")
        .add("status", result.converged ? "ok" : "inaccurate")
        .add("rows", static_cast<long long>(a.global_rows()))
        .add("cols", static_cast<long long>(a.cols()))
        .add("rank", static_cast<long long>(result.rank))
        .add("operator", sketch::test_matrix_name(kind))
        .add("matvecs", static_cast<long long>(result.matvecs))
        .add("error_estimate", result.error_estimate)
        .add("error_measure", measure)
        .add("converged", result.converged)
        .add("mpi_ranks", comm.size())
        .add("time_s", phase_times(result.timings, read_s, write_s, total));
    // The singular values as a JSON array of numbers.
    std::string text = out.str();
    text.insert(text.size() - 1, ", \"singular_values\": " + list);
    context.print(text + "\n");
  } else {
    std::ostringstream out;
    out << "strata sketch rsvd: " << a.global_rows() << " x " << a.cols() << " " << in.str()
        << " -> " << *output << " (/U, /S, /V)\n  rank " << result.rank << ", " << result.matvecs
        << " matvecs, error " << (probes == 0 ? std::string("not measured") : measure + " = ")
        << (probes == 0 ? std::string() : Json::number(result.error_estimate)) << ", " << total
        << " s on " << comm.size() << " rank" << (comm.size() > 1 ? "s" : "") << "\n";
    context.print(out.str());
  }
  if (!result.converged) {
    std::ostringstream warning;
    warning << "the requested accuracy was not met: the error " << measure << " is "
            << result.error_estimate << " > --tol " << tol << " at the largest rank " << result.rank
            << " (U, S, V were written)";
    return context.inaccurate(warning.str());
  }
  return exit_ok;
#else
  throw UsageError("'sketch rsvd' needs HDF5, which this build of Strata does not have");
#endif
}

int run_sketch_lstsq(Args& args, Context& context) {
  if (args.flag("--help")) {
    context.print(lstsq_usage);
    return 0;
  }
#if STRATA_HAVE_HDF5
  const auto input = args.value("--input");
  const auto rhs = args.value("--rhs");
  const auto output = args.value("--output");
  const auto method = args.value("--method").value_or("precondition");
  const auto sketch_rows =
      args.integer("--sketch-rows", 0, 1, std::numeric_limits<std::int64_t>::max());
  const bool tol_given = args.has("--tol");
  const double tol = args.real("--tol", 0.0);
  const auto max_iter = args.integer("--max-iter", 1000, 1, 1 << 30);
  const auto seed = args.unsigned_integer("--seed", 0);
  const auto sketch_kind = sketch_operator_option(args);
  const auto nnz = nnz_option(args);
  args.finish();
  if (!input) throw UsageError("option '--input FILE.h5:/DATASET' is required");
  if (!rhs) throw UsageError("option '--rhs FILE.h5:/DATASET' is required");
  if (!output) throw UsageError("option '--output FILE.h5:/DATASET' is required");
  if (method != "precondition" && method != "solve")
    throw UsageError("option '--method' must be 'precondition' or 'solve', got '" + method + "'");
  if (tol_given && tol <= 0) throw UsageError("option '--tol' must be > 0");
  sketch::LeastSquaresOptions o;
  o.method = method == "solve" ? sketch::LeastSquaresMethod::sketch_and_solve
                               : sketch::LeastSquaresMethod::sketch_and_precondition;
  o.sketch_rows = sketch_rows;
  o.atol = o.btol = tol;
  o.max_iterations = static_cast<int>(max_iter);
  o.test_matrix.seed = seed;
  o.sketch_operator = sketch_kind;
  o.sparse_nnz = nnz;
  const Comm& comm = context.comm;
  const ExecSpace exec;
  const auto start = std::chrono::steady_clock::now();
  io::DatasetPath a_path, b_path, x_path;
  try {
    a_path = io::DatasetPath::parse(*input);
    b_path = io::DatasetPath::parse(*rhs);
    x_path = io::DatasetPath::parse(*output, "/x");
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  const auto a = io::read_dist_matrix<double>(comm, a_path);
  const auto b_info = io::inspect(comm, b_path);
  const bool vector_rhs = b_info.shape.size() == 1;
  DistMatrix<double> b;
  if (vector_rhs) {
    // A 1-D right-hand side: every rank reads it and keeps its rows.
    const auto whole = io::read_vector<double>(comm, b_path);
    collective(comm, [&] {
      STRATA_REQUIRE(static_cast<index_type>(whole.extent(0)) == a.global_rows(), ShapeMismatch,
                     "the right-hand side ", b_path.str(), " has ", whole.extent(0),
                     " entries but A has ", a.global_rows(), " rows; expected the same");
    });
    b = DistMatrix<double>(comm, a.layout(), 1, "strata::cli::b");
    const auto begin = static_cast<std::size_t>(a.row_begin());
    Kokkos::deep_copy(
        Kokkos::subview(b.local(), Kokkos::ALL, 0),
        Kokkos::subview(whole, Kokkos::make_pair(begin, begin + b.local().extent(0))));
  } else {
    b = io::read_dist_matrix<double>(comm, b_path, a.layout());
  }
  const double read_s = seconds_since(start);
  const auto result = sketch::least_squares(exec, a, b, o);
  const auto write_start = std::chrono::steady_clock::now();
  io::FileWriter writer(comm, x_path.file);
  if (vector_rhs) {
    writer.write(x_path.dataset, Kokkos::View<const double*, Kokkos::LayoutLeft, MemSpace>(
                                     Kokkos::subview(result.x, Kokkos::ALL, 0)));
  } else {
    writer.write(x_path.dataset, ConstMatrix<double>(result.x));
  }
  writer.set_attribute(x_path.dataset, "iterations", static_cast<double>(result.iterations));
  writer.set_attribute(x_path.dataset, "method", method);
  writer.commit();
  const double write_s = seconds_since(write_start);
  const double total = seconds_since(start);
  double residual = 0, normal = 0;
  for (std::size_t j = 0; j < result.residual_norm.size(); ++j) {
    residual = std::max(residual, result.residual_norm[j]);
    normal = std::max(normal, result.normal_residual_norm[j]);
  }
  if (context.json) {
    Json out = Json::object();
    out.add("command", "sketch lstsq")
        .add("status", result.converged ? "ok" : "inaccurate")
        .add("method", method)
        .add("rows", static_cast<long long>(a.global_rows()))
        .add("cols", static_cast<long long>(a.cols()))
        .add("rhs", static_cast<long long>(b.cols()))
        .add("operator", sketch::operator_name(sketch_kind))
        .add("sketch_rows", static_cast<long long>(result.sketch_rows))
        .add("iterations", result.iterations)
        .add("residual_norm", residual)
        .add("normal_residual_norm", normal)
        .add("norm_measure",
             "largest over the right-hand sides of ||A x - b||_2 and "
             "||A^T (A x - b)||_2")
        .add("converged", result.converged)
        .add("matvecs", static_cast<long long>(result.matvecs))
        .add("mpi_ranks", comm.size())
        .add("time_s", phase_times(result.timings, read_s, write_s, total));
    context.print(out.str() + "\n");
  } else {
    std::ostringstream out;
    out << "strata sketch lstsq (" << method << "): " << a.global_rows() << " x " << a.cols()
        << ", " << b.cols() << " right-hand side" << (b.cols() > 1 ? "s" : "") << " -> "
        << x_path.str() << "\n  " << result.iterations
        << " LSQR iterations, ||A x - b|| = " << residual << ", ||A^T (A x - b)|| = " << normal
        << ", " << total << " s\n";
    context.print(out.str());
  }
  if (!result.converged) {
    std::ostringstream warning;
    warning << "the requested accuracy was not met: LSQR did not reach its tolerance within "
            << max_iter << " iterations (--max-iter); ||A^T (A x - b)|| = " << normal
            << " (x was written)";
    return context.inaccurate(warning.str());
  }
  return exit_ok;
#else
  throw UsageError("'sketch lstsq' needs HDF5, which this build of Strata does not have");
#endif
}

}  // namespace strata::cli
