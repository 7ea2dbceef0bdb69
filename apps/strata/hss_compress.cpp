// `strata hss compress`: an HSS approximation of a dense matrix read from HDF5 or of a built-in
// test matrix (hss/problems.hpp), saved with the HSS HDF5 writer. Methods: Levitt-Martinsson and
// the quasi-optimal method of Amsel et al. (products with A and A^T only), or recursive
// skeletonization from entries only (hss/skeletonization.hpp) with its sampled error certificate.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "hss_commands.hpp"
#include "json.hpp"
#include "strata/config.hpp"
#include "strata/core/checks.hpp"
#include "strata/core/error.hpp"
#include "strata/core/progress.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "strata/hss/compress_matvec.hpp"
#include "strata/hss/dist_skeletonization.hpp"
#include "strata/hss/distributed.hpp"
#include "strata/hss/matvec.hpp"
#include "strata/hss/problems.hpp"
#if STRATA_HAVE_HDF5
#include "strata/hss/hss_io.hpp"
#include "strata/io/hdf5.hpp"
#include "strata/io/output_file.hpp"
#endif

namespace strata::cli {

namespace {

const char* const compress_usage =
    "usage: strata hss compress (--input A.h5:/A | --problem NAME --n N [--dim D])\n"
    "                           (--tol EPS | --rank R) --output H.h5 [options]\n\n"
    "Builds an HSS (hierarchically semi-separable) approximation H of a square matrix A and\n"
    "writes it to H.h5 (group /hss; read by 'strata hss matvec' and 'strata hss solve').\n\n"
    "the matrix (exactly one of):\n"
    "  --input F:/D      a dense square matrix, 2-D dataset D of the HDF5 file F\n"
    "  --problem NAME    a built-in test matrix, never stored densely (products are computed on\n"
    "                    the fly): <kernel>-<geometry> with kernel laplace, gaussian, cauchy or\n"
    "                    exponential and geometry 1d, 2d, 3d or curve; also curve-2d, schur-grid,\n"
    "                    banded-inverse. The cluster tree follows the problem's points.\n"
    "  --n N             size of the built-in matrix\n"
    "  --dim D           dimension for a bare kernel name (--problem laplace --dim 2)\n\n"
    "accuracy (exactly one of):\n"
    "  --tol EPS         target relative error ||A - H||_F / ||A||_F (ranks chosen adaptively,\n"
    "                    the same target for every method; the achieved error is reported as\n"
    "                    relative_error_estimate with an upper bound relative_error_bound, at\n"
    "                    nominal confidence 99% (entries: the upper end of its certificate);\n"
    "                    the target counts as met only if that upper bound is <= EPS)\n"
    "  --rank R          fixed rank R for every basis (needs --leaf-size >= R)\n\n"
    "options:\n"
    "  --output FILE     where H is written (HDF5)\n"
    "  --leaf-size M     largest leaf block (default max(2R, 64))\n"
    "  --method NAME     levitt-martinsson (default; one batch of products),\n"
    "                    quasi-optimal (fresh products per level, Amsel et al.), or\n"
    "                    entries (entries of A only, O(N k) of them: recursive skeletonization\n"
    "                    on sampled submatrices, near field from the problem's points; its\n"
    "                    error comes from a sampled certificate, a statistical estimate with a\n"
    "                    nominal 99.7% interval, not a proven bound)\n"
    "  --samples S       samples per sketch (default: chosen from rank and leaf size)\n"
    "  --oversampling P  extra samples (default 10)\n"
    "  --error-probes G  Gaussian probes of the error estimate ||(A - H)G||_F / ||AG||_F\n"
    "                    (default 10; G extra products with A; not used by entries)\n"
    "  --seed N          random seed (default 0)\n"
    "  --precision P     fp64 (default) or fp32\n"
    "  --json            one JSON object: n, levels, leaf_size, max_rank, ranks_per_level,\n"
    "                    matvecs, memory_bytes, relative_error_estimate, relative_error_bound,\n"
    "                    ranks, distributed,\n"
    "                    time_s {total, phases}; entries also certificate {estimate, lower,\n"
    "                    upper, confidence, entries}\n\n"
    "Under mpirun with more than one rank, --problem builds H distributed (each rank the products\n"
    "or entries and the subtrees of its rows; the same H as on one rank, to rounding) and gathers\n"
    "it for writing; --input runs the same computation on every rank.\n";

struct Request {
#if STRATA_HAVE_HDF5
  std::optional<io::DatasetPath> input;
#endif
  std::string problem;
  index_type n = 0;
  int dim = 0;
  index_type rank = 0;
  double tolerance = 0;
  index_type leaf_size = 0;
  std::string method;
  index_type samples = 0, oversampling = 10;
  int error_probes = 10;
  std::uint64_t seed = 0;
  std::string output;
  hss::HostPoints points;  ///< the problem's points (entries method: geometric near field)
};

hss::CompressOptions compress_options(const Request& request) {
  hss::CompressOptions options;
  options.method = hss::parse_compress_method(request.method);
  options.rank = request.rank;
  options.tolerance = request.tolerance;
  options.samples = request.samples;
  options.oversampling = request.oversampling;
  options.error_probes = request.error_probes;
  options.seed = request.seed;
  options.points = request.points;
  return options;
}

/// What the compression produced, whatever the method.
template <class T>
struct Outcome {
  hss::HssMatrix<T> matrix;
  index_type products = 0, transpose_products = 0, probe_products = 0, entries = 0;
  index_type samples = 0, saturated_nodes = 0;
  double relative_error_estimate = -1;
  double relative_error_bound = -1;
  bool met_tolerance = true;
  hss::ErrorCertificate certificate;
};

template <class T, class Result>
void copy_counts(const Result& result, index_type entries, index_type saturated_nodes,
                 PhaseTimer& timer, Outcome<T>& out) {
  for (const auto& [name, seconds] : result.timings.phases()) timer.add(name, seconds);
  out.products = result.products;
  out.transpose_products = result.transpose_products;
  out.probe_products = result.probe_products;
  out.samples = result.samples;
  out.entries = entries;
  out.saturated_nodes = saturated_nodes;
  out.relative_error_estimate = result.relative_error_estimate;
  out.relative_error_bound = result.relative_error_bound;
  out.met_tolerance = result.met_tolerance;
}

/// Every rank the whole construction from the replicated operator (the entries method reads
/// `entries`).
template <class T>
Outcome<T> compress_replicated(const ExecSpace& exec, const hss::ClusterTree& tree,
                               const LinearOperator<T>& op, const hss::EntryEvaluator<T>& entries,
                               const Request& request, PhaseTimer& timer) {
  const auto result =
      hss::compress_from_matvecs(exec, op, tree, compress_options(request), entries);
  Outcome<T> out;
  out.matrix = result.matrix;
  copy_counts(result, result.entries, result.saturated_nodes, timer, out);
  out.certificate = result.certificate;
  return out;
}

/// The distributed construction from the problem's distributed operator (balanced rows in the
/// user's order), gathered to the replicated HssMatrix for saving.
template <class T>
Outcome<T> compress_distributed(const ExecSpace& exec, const Comm& comm,
                                const hss::ClusterTree& tree,
                                const std::shared_ptr<const hss::Problem<T>>& problem,
                                const Request& request, PhaseTimer& timer) {
  const auto op = hss::make_operator<T>(problem, comm);
  const auto result =
      hss::compress_from_matvecs_distributed<T>(exec, *op, tree, compress_options(request));
  Outcome<T> out;
  {
    auto phase = timer.scope("gather");
    out.matrix = hss::gather<T>(exec, result.matrix);
  }
  copy_counts(result, 0, 0, timer, out);
  return out;
}

/// The entries method on the problem's evaluator, distributed over the ranks (each rank its
/// subtrees), gathered to the replicated HssMatrix for saving.
template <class T>
Outcome<T> compress_distributed_entries(const ExecSpace& exec, const Comm& comm,
                                        const hss::ClusterTree& tree,
                                        const std::shared_ptr<const hss::Problem<T>>& problem,
                                        const Request& request, PhaseTimer& timer) {
  const auto options = hss::skeletonization_options(compress_options(request));
  const auto result = hss::compress_by_skeletonization_distributed<T>(
      exec, comm, tree, problem->entry_evaluator(), options);
  Outcome<T> out;
  {
    auto phase = timer.scope("gather");
    out.matrix = hss::gather<T>(exec, result.matrix);
  }
  for (const auto& [name, seconds] : result.timings.phases()) timer.add(name, seconds);
  out.entries = result.entries;
  out.saturated_nodes = result.unverified_nodes;
  out.samples = options.far_samples;
  out.relative_error_estimate = result.certificate.estimate;
  out.relative_error_bound = result.certificate.upper;
  out.met_tolerance = result.met_tolerance;
  out.certificate = result.certificate;
  return out;
}

#if STRATA_HAVE_HDF5
template <class T>
int compress_typed(Request request, Context& context) {
  const Comm& comm = context.comm;
  const ExecSpace exec;
  PhaseTimer timer;
  Progress progress("hss compress", 4, comm.rank());
  std::shared_ptr<const hss::Problem<T>> problem;
  std::shared_ptr<LinearOperator<T>> op;
  Matrix<T> dense;
  std::string source;
  {
    auto phase = timer.scope("input");
    if (request.input) {
      // Replacing the input file would destroy it: refused before any work (save_hss checks too).
      collective(comm, [&] {
        if (comm.is_root()) io::check_output_distinct(request.output, {request.input->file});
      });
      source = request.input->str();
      dense = io::read_matrix<T>(comm, *request.input);
      collective(comm, [&] {
        if (dense.extent(0) != dense.extent(1))
          STRATA_THROW(ShapeMismatch, source, " is ", dense.extent(0), " x ", dense.extent(1),
                       "; an HSS approximation needs a square matrix");
        require_finite(exec, dense, source);
      });
      op = std::make_shared<DenseOperator<T>>(dense);
    } else {
      source = "problem " + request.problem;
      hss::ProblemOptions options;
      options.dim = request.dim;
      // The name, size and dimension come from the command line and are checked identically on
      // every rank: a rejection is a usage error on all of them.
      try {
        problem = hss::make_problem<T>(request.problem, request.n, options);
      } catch (const InvalidArgument& e) {
        throw UsageError(e.what());
      }
      op = hss::make_operator<T>(problem);
    }
  }
  progress.advance();
  const index_type n = op->rows();
  const index_type leaf =
      request.leaf_size > 0 ? request.leaf_size : std::max<index_type>(2 * request.rank, 64);
  hss::ClusterTree tree;
  {
    auto phase = timer.scope("tree");
    collective(comm, [&] {
      if (problem) {
        const auto points =
            Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), problem->points());
        tree = hss::ClusterTree::geometric(points, leaf);
        request.points = points;
      } else {
        tree = hss::ClusterTree::uniform(n, leaf);
      }
    });
  }
  progress.advance();
  if (!context.json && !context.quiet) {
    std::ostringstream line;
    line << "strata hss compress: " << source << ", n = " << n << ", " << tree.levels()
         << " levels, leaf size " << tree.max_leaf_size() << ", method " << request.method << ", "
         << (request.rank > 0 ? "rank " + std::to_string(request.rank)
                              : "tolerance " + Json::number(request.tolerance))
         << ", " << scalar_name<T>() << "\n";
    context.print(line.str());
  }
  Outcome<T> out;
  // More than one rank and a built-in problem: the distributed construction (each rank its
  // subtrees' rows of the products, or its subtrees' entries); otherwise every rank computes the
  // same thing.
  const bool distributed = comm.size() > 1 && problem;
  if (distributed && request.method == "entries") {
    out = compress_distributed_entries<T>(exec, comm, tree, problem, request, timer);
  } else if (distributed) {
    out = compress_distributed<T>(exec, comm, tree, problem, request, timer);
  }
  collective(comm, [&] {
    if (distributed) return;
    hss::EntryEvaluator<T> entries;
    if (request.method == "entries")
      entries = problem ? problem->entry_evaluator() : hss::dense_entry_evaluator<T>(dense);
    out = compress_replicated(exec, tree, *op, entries, request, timer);
  });
  progress.advance();
  {
    auto phase = timer.scope("write");
    std::vector<std::string> inputs;
    if (request.input) inputs.push_back(request.input->file);
    hss::save_hss(comm, request.output, out.matrix, "/hss", inputs);
  }
  progress.finish();

  std::vector<long long> ranks;
  long long max_rank = 0;
  for (int l = 1; l <= out.matrix.levels(); ++l) {
    const index_type r = std::max(out.matrix.max_row_rank(l), out.matrix.max_col_rank(l));
    ranks.push_back(static_cast<long long>(r));
    max_rank = std::max<long long>(max_rank, r);
  }
  const index_type matvecs = out.products + out.transpose_products + out.probe_products;
  // Tolerance mode asks for ||A - H||_F <= tol ||A||_F; every method checks its own estimate
  // against tol (and gives up after its rounds).
  const double promised = request.tolerance;
  const bool met = out.met_tolerance;
  if (context.json) {
    Json products = Json::object();
    products.add("A", static_cast<long long>(out.products))
        .add("AT", static_cast<long long>(out.transpose_products))
        .add("error_probes", static_cast<long long>(out.probe_products))
        .add("samples", static_cast<long long>(out.samples));
    Json time = Json::object();
    time.add("total", timer.total());
    for (const auto& [name, seconds] : timer.phases()) time.add(name, seconds);
    Json j = Json::object();
    j.add("command", "hss compress")
        .add("status", met ? "ok" : "inaccurate")
        .add("n", static_cast<long long>(n))
        .add("levels", tree.levels())
        .add("leaf_size", static_cast<long long>(tree.max_leaf_size()))
        .add("max_rank", max_rank)
        .add("ranks_per_level", ranks)
        .add("matvecs", static_cast<long long>(matvecs))
        .add("products", products)
        .add("entries", static_cast<long long>(out.entries))
        .add("memory_bytes", static_cast<long long>(out.matrix.memory_bytes()))
        .add("relative_error_estimate", out.relative_error_estimate)
        .add("relative_error_bound", out.relative_error_bound)
        .add("time_s", time)
        .add("method", request.method)
        .add("ranks", comm.size())
        .add("distributed", distributed)
        .add("precision", std::is_same_v<T, double> ? "fp64" : "fp32")
        .add("output", request.output);
    if (request.method == "entries") {
      j.add("saturated_nodes", static_cast<long long>(out.saturated_nodes));
      Json certificate = Json::object();
      certificate.add("estimate", out.certificate.estimate)
          .add("lower", out.certificate.lower)
          .add("upper", out.certificate.upper)
          .add("confidence", out.certificate.confidence)
          .add("entries", static_cast<long long>(out.certificate.entries));
      j.add("certificate", certificate);
    }
    context.print(j.str() + "\n");
  } else if (!context.quiet) {
    std::ostringstream line;
    line << "  ranks per level [";
    for (std::size_t i = 0; i < ranks.size(); ++i) line << (i ? ", " : "") << ranks[i];
    line << "], " << matvecs << " products (A " << out.products << ", A^T "
         << out.transpose_products << ", error probes " << out.probe_products << ")";
    if (request.method == "entries") line << ", " << out.entries << " entries";
    line << "\n  estimated relative error " << out.relative_error_estimate;
    if (request.method != "entries" && out.relative_error_bound >= 0)
      line << " (at most " << out.relative_error_bound << " at nominal confidence 99%)";
    if (request.method == "entries") {
      line << " (sampled certificate: in [" << out.certificate.lower << ", "
           << out.certificate.upper << "] at nominal confidence " << out.certificate.confidence
           << ")";
    }
    line << ", " << out.matrix.memory_bytes() << " bytes, " << timer.total() << " s";
    for (const auto& [name, seconds] : timer.phases()) line << " | " << name << " " << seconds;
    line << "\n";
    if (out.saturated_nodes > 0)
      line << "  warning: " << out.saturated_nodes
           << " nodes failed their sampled check at the largest sample; the certificate above "
              "is what to trust\n";
    line << "  wrote " << request.output << "\n";
    context.print(line.str());
  }
  if (!met) {
    std::ostringstream warning;
    warning << "the requested accuracy was not met: estimated relative error "
            << out.relative_error_bound
            << (request.method == "entries" ? " (upper end of the certificate)"
                                            : " (upper end at nominal confidence 99%)")
            << " > "
            << "--tol " << promised
            << " (H was written; the matrix may not be compressible to that tolerance: try a "
               "larger --tol, or --rank)";
    return context.inaccurate(warning.str());
  }
  return exit_ok;
}
#endif

}  // namespace

int run_hss_compress(Args& args, Context& context) {
  if (args.flag("--help")) {
    context.print(compress_usage);
    return 0;
  }
  Request request;
  const auto input = args.value("--input");
  const auto problem = args.value("--problem");
  const bool has_n = args.has("--n"), has_dim = args.has("--dim");
  request.n = args.integer("--n", 0, 1, index_type(1) << 40);
  request.dim = static_cast<int>(args.integer("--dim", 0, 1, 3));
  const auto output = args.value("--output");
  const bool has_tol = args.has("--tol");
  request.tolerance = args.real("--tol", 0.0);
  const bool has_rank = args.has("--rank");
  request.rank = args.integer("--rank", 0, 1, 1 << 20);
  request.leaf_size = args.integer("--leaf-size", 0, 1, index_type(1) << 30);
  request.samples = args.integer("--samples", 0, 1, 1 << 24);
  request.oversampling = args.integer("--oversampling", 10, 0, 1 << 20);
  request.error_probes = static_cast<int>(args.integer("--error-probes", 10, 0, 1 << 16));
  request.seed = args.unsigned_integer("--seed", 0);
  request.method = args.value("--method").value_or("levitt-martinsson");
  const std::string precision = args.value("--precision").value_or("fp64");
  args.finish();

  if (input.has_value() == problem.has_value()) {
    throw UsageError(input ? "give either '--input' or '--problem', not both"
                           : "neither --input nor --problem given: option '--input "
                             "FILE.h5:/DATASET' is required, or '--problem NAME --n N' for a "
                             "built-in matrix");
  }
  if (input && (has_n || has_dim))
    throw UsageError("options '--n' and '--dim' go with '--problem', not with '--input'");
  if (problem) {
    if (!has_n) throw UsageError("option '--problem' needs '--n N' (the matrix size)");
    request.problem = *problem;
  }
  if (!output) throw UsageError("option '--output FILE.h5' is required");
  request.output = *output;
  if (has_tol == has_rank)
    throw UsageError("give exactly one of '--tol EPS' (EPS > 0) and '--rank R' (R >= 1)");
  if (has_tol && !(request.tolerance > 0))
    throw UsageError("option '--tol' must be a number > 0, got " + Json::number(request.tolerance));
  if (request.rank > 0 && request.leaf_size > 0 && request.leaf_size < request.rank) {
    throw UsageError("--leaf-size " + std::to_string(request.leaf_size) +
                     " is smaller than --rank " + std::to_string(request.rank) +
                     "; a leaf basis cannot have more columns than the leaf has rows (use a leaf "
                     "size >= rank, typically 2 x rank)");
  }
  try {
    hss::parse_compress_method(request.method);
  } catch (const Error&) {
    throw UsageError("unknown method '" + request.method +
                     "'; expected levitt-martinsson, quasi-optimal or entries");
  }
  if (precision != "fp64" && precision != "fp32")
    throw UsageError("option '--precision' must be fp64 or fp32, got '" + precision + "'");
  if (problem) {
    // At least the leaf blocks D (n x leaf) and the points (n x 3) are held in memory.
    const double leaf = static_cast<double>(
        request.leaf_size > 0 ? request.leaf_size : std::max<index_type>(2 * request.rank, 64));
    const double scalar = precision == "fp32" ? 4.0 : 8.0;
    require_memory(static_cast<double>(request.n) * (leaf * scalar + 3 * 8.0),
                   "--n " + std::to_string(request.n));
  }
#if STRATA_HAVE_HDF5
  if (input) {
    try {
      request.input = io::DatasetPath::parse(*input);
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
  }
  return precision == "fp32" ? compress_typed<float>(request, context)
                             : compress_typed<double>(request, context);
#else
  (void)context;
  throw UsageError("'hss compress' writes HDF5, which this build lacks");
#endif
}

}  // namespace strata::cli
