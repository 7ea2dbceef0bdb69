// `strata hss compress`: an HSS approximation of a dense matrix read from HDF5 or of a built-in
// test matrix (hss/problems.hpp), saved with the HSS HDF5 writer. Methods: Levitt-Martinsson and
// the quasi-optimal method of Amsel et al. (products with A and A^T only), or the entry-based
// construction of Martinsson 2011 (products for the bases, entries for D and B).
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
#include "strata/hss/compress_entries.hpp"
#include "strata/hss/compress_matvec.hpp"
#include "strata/hss/detail/problem_kernels.hpp"
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
    "  --tol EPS         target relative error ||A - H||_F / ||A||_F (ranks chosen adaptively;\n"
    "                    with --method entries EPS is the per-node truncation tolerance, and\n"
    "                    the achieved error is reported as relative_error_estimate)\n"
    "  --rank R          fixed rank R for every basis (needs --leaf-size >= R)\n\n"
    "options:\n"
    "  --output FILE     where H is written (HDF5)\n"
    "  --leaf-size M     largest leaf block (default max(2R, 64))\n"
    "  --method NAME     levitt-martinsson (default; one batch of products),\n"
    "                    quasi-optimal (fresh products per level, Amsel et al.), or\n"
    "                    entries (bases from products, D and B from entries of A)\n"
    "  --samples S       samples per sketch (default: chosen from rank and leaf size)\n"
    "  --oversampling P  extra samples (default 10)\n"
    "  --error-probes G  Gaussian probes of the error estimate ||(A - H)G||_F / ||AG||_F\n"
    "                    (default 10; G extra products with A)\n"
    "  --seed N          random seed (default 0)\n"
    "  --precision P     fp64 (default) or fp32\n"
    "  --json            one JSON object: n, levels, leaf_size, max_rank, ranks_per_level,\n"
    "                    matvecs, memory_bytes, relative_error_estimate, ranks, distributed,\n"
    "                    time_s {total, phases}\n\n"
    "Under mpirun with more than one rank, --problem with levitt-martinsson or quasi-optimal\n"
    "builds H distributed (each rank the products and subtrees of its rows; the same H as on one\n"
    "rank, to rounding) and gathers it for writing; --input and the entries method run the same\n"
    "computation on every rank.\n";

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
};

/// Entries of a dense device matrix, for the entry-based method on --input.
template <class T>
hss::EntryEvaluator<T> dense_entries(const ConstMatrix<T>& a) {
  return [a](const ExecSpace& exec, const hss::EntryBlocks<T>& blocks) {
    hss::detail::check_entry_blocks(exec, blocks, static_cast<index_type>(a.extent(0)));
    hss::detail::fill_entry_blocks(exec, blocks, hss::detail::DenseLookup<T>{a});
  };
}

/// What the compression produced, whatever the method.
template <class T>
struct Outcome {
  hss::HssMatrix<T> matrix;
  index_type products = 0, transpose_products = 0, probe_products = 0, entries = 0;
  index_type samples = 0, saturated_nodes = 0;
  double relative_error_estimate = -1;
};

template <class T>
Outcome<T> compress_by_entries(const ExecSpace& exec, const hss::ClusterTree& tree,
                               const LinearOperator<T>& op, const hss::EntryEvaluator<T>& entries,
                               const Request& request, PhaseTimer& timer) {
  hss::CompressEntriesOptions options;
  options.seed = request.seed;
  if (request.rank > 0) {
    options.max_rank = static_cast<int>(request.rank);
    options.samples = static_cast<int>(request.samples > 0 ? request.samples
                                                           : request.rank + request.oversampling);
  } else {
    options.relative_tolerance = request.tolerance;
    options.samples = static_cast<int>(request.samples);  // 0: the library's default (64)
  }
  Outcome<T> out;
  hss::CompressEntriesResult result;
  // Tolerance mode: a node whose ID used every sample may have been truncated by the sample count
  // rather than by the tolerance; double the samples (up to N) until no node saturates.
  for (int attempt = 0;; ++attempt) {
    result = hss::CompressEntriesResult{};
    out.matrix = hss::compress_from_entries_and_products(exec, tree, op, entries, options, &result);
    out.products += result.products;
    out.transpose_products += result.transpose_products;
    out.entries += result.entries;
    for (const auto& [name, seconds] : result.timings.phases()) timer.add(name, seconds);
    const bool retry = request.rank == 0 && request.samples == 0 && result.saturated_nodes > 0 &&
                       result.samples < tree.size() && attempt < 4;
    if (!retry) break;
    options.samples = static_cast<int>(std::min<index_type>(2 * result.samples, tree.size()));
  }
  out.samples = result.samples;
  out.saturated_nodes = result.saturated_nodes;
  if (request.error_probes > 0) {
    auto phase = timer.scope("estimate");
    out.relative_error_estimate =
        hss::estimate_relative_error(exec, op, out.matrix, request.error_probes, request.seed);
    out.probe_products = request.error_probes;
  }
  return out;
}

template <class T>
Outcome<T> compress_by_products(const ExecSpace& exec, const hss::ClusterTree& tree,
                                const LinearOperator<T>& op, const Request& request,
                                PhaseTimer& timer) {
  hss::CompressOptions options;
  options.method = hss::parse_compress_method(request.method);
  options.rank = request.rank;
  options.tolerance = request.tolerance;
  options.samples = request.samples;
  options.oversampling = request.oversampling;
  options.error_probes = request.error_probes;
  options.seed = request.seed;
  const auto result = hss::compress_from_matvecs(exec, op, tree, options);
  for (const auto& [name, seconds] : result.timings.phases()) timer.add(name, seconds);
  Outcome<T> out;
  out.matrix = result.matrix;
  out.products = result.products;
  out.transpose_products = result.transpose_products;
  out.probe_products = result.probe_products;
  out.samples = result.samples;
  out.relative_error_estimate = result.relative_error_estimate;
  return out;
}

/// y(dst(i), :) = src(from(i), :) for i < from.extent(0).
template <class T>
void scatter_rows(const ExecSpace& exec, const Matrix<T>& src, const hss::IndexArray& from,
                  const Matrix<T>& y, const hss::IndexArray& dst) {
  const auto count = static_cast<index_type>(from.extent(0));
  const auto k = static_cast<index_type>(y.extent(1));
  Kokkos::parallel_for(
      "strata::cli::hss::scatter_rows",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>, Kokkos::IndexType<index_type>>(exec, {0, 0},
                                                                                       {count, k}),
      KOKKOS_LAMBDA(const index_type i, const index_type j) { y(dst(i), j) = src(from(i), j); });
}

/// A built-in problem as a distributed operator in the tree's permuted order, rows and columns
/// split by split_layout(tree, comm) (the form compress_from_matvecs_distributed needs): X's row
/// blocks are allgathered (N k values per rank) and brought to the user's order, and this rank
/// computes its rows perm(p) of op(A) X with Problem::apply_rows over the runs of those indices
/// (sorted; gaps below 64 rows merged into one run). Kernel problems: O((rows + gaps) N k) work
/// per rank; schur-grid / banded-inverse: one O(N b k) banded solve per run.
template <class T>
std::shared_ptr<LinearOperator<T>> permuted_problem_operator(
    const Comm& comm, const hss::ClusterTree& tree,
    const std::shared_ptr<const hss::Problem<T>>& problem) {
  const BlockRowLayout layout = hss::split_layout(tree, comm);
  const index_type row0 = layout.row_begin(comm.rank()), nl = layout.local_rows(comm.rank());
  std::vector<std::pair<index_type, index_type>> rows;  // (original index, local row)
  for (index_type i = 0; i < nl; ++i)
    rows.emplace_back(tree.is_identity() ? row0 + i : tree.permutation_host()(row0 + i), i);
  std::sort(rows.begin(), rows.end());
  struct Run {
    index_type begin, end;
    hss::IndexArray from, dst;
  };
  auto runs = std::make_shared<std::vector<Run>>();
  for (std::size_t a = 0; a < rows.size();) {
    std::size_t b = a + 1;
    while (b < rows.size() && rows[b].first - rows[b - 1].first <= 64) ++b;
    Run run{rows[a].first, rows[b - 1].first + 1, hss::IndexArray("strata::cli::hss::from", b - a),
            hss::IndexArray("strata::cli::hss::dst", b - a)};
    auto from = Kokkos::create_mirror_view(run.from);
    auto dst = Kokkos::create_mirror_view(run.dst);
    for (std::size_t i = a; i < b; ++i) {
      from(i - a) = rows[i].first - run.begin;
      dst(i - a) = rows[i].second;
    }
    Kokkos::deep_copy(run.from, from);
    Kokkos::deep_copy(run.dst, dst);
    runs->push_back(run);
    a = b;
  }
  const auto apply = [comm, tree, problem, layout, runs](bool transpose) {
    return [=](const ExecSpace& exec, const ConstMatrix<T>& x, const Matrix<T>& y) {
      Matrix<T> full = allgather_rows<T>(exec, comm, layout, x);
      if (!tree.is_identity()) {
        Matrix<T> user("strata::cli::hss::X_user", full.extent(0), full.extent(1));
        hss::detail::permute_rows<T>(exec, tree.permutation(), full, user, false);
        full = user;
      }
      for (const auto& run : *runs) {
        Matrix<T> part("strata::cli::hss::rows", run.end - run.begin, full.extent(1));
        problem->apply_rows(exec, transpose, run.begin, full, part);
        scatter_rows<T>(exec, part, run.from, y, run.dst);
      }
      exec.fence();
    };
  };
  return std::make_shared<CallbackOperator<T>>(comm, layout, layout, apply(false), apply(true));
}

/// Levitt-Martinsson or quasi-optimal from products with the distributed problem operator,
/// gathered to the replicated HssMatrix for saving.
template <class T>
Outcome<T> compress_distributed(const ExecSpace& exec, const Comm& comm,
                                const hss::ClusterTree& tree,
                                const std::shared_ptr<const hss::Problem<T>>& problem,
                                const Request& request, PhaseTimer& timer) {
  hss::CompressOptions options;
  options.method = hss::parse_compress_method(request.method);
  options.rank = request.rank;
  options.tolerance = request.tolerance;
  options.samples = request.samples;
  options.oversampling = request.oversampling;
  options.error_probes = request.error_probes;
  options.seed = request.seed;
  const auto op = permuted_problem_operator<T>(comm, tree, problem);
  const auto result = hss::compress_from_matvecs_distributed<T>(exec, *op, tree, options);
  for (const auto& [name, seconds] : result.timings.phases()) timer.add(name, seconds);
  Outcome<T> out;
  {
    auto phase = timer.scope("gather");
    out.matrix = hss::gather<T>(exec, result.matrix);
  }
  out.products = result.products;
  out.transpose_products = result.transpose_products;
  out.probe_products = result.probe_products;
  out.samples = result.samples;
  out.relative_error_estimate = result.relative_error_estimate;
  return out;
}

#if STRATA_HAVE_HDF5
template <class T>
int compress_typed(const Request& request, Context& context) {
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
  // More than one rank, a built-in problem and a product-based method: the distributed construction
  // (each rank its subtrees' rows of the products); otherwise every rank computes the same thing.
  const bool distributed = comm.size() > 1 && problem && request.method != "entries";
  if (distributed) {
    out = compress_distributed<T>(exec, comm, tree, problem, request, timer);
  }
  collective(comm, [&] {
    if (distributed) return;
    if (request.method == "entries") {
      const auto entries = problem ? problem->entry_evaluator() : dense_entries<T>(dense);
      out = compress_by_entries(exec, tree, *op, entries, request, timer);
    } else {
      out = compress_by_products(exec, tree, *op, request, timer);
    }
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
  // Tolerance mode asks for ||A - H||_F <= tol ||A||_F. The product methods check their own
  // estimate against tol (and give up after their rounds); the entry method truncates each of the
  // 2 bases of every level at the relative tolerance tol, and on one level these truncations act on
  // disjoint block rows (columns), so each of the 2 L stages moves H by at most tol ||A||_F in the
  // Frobenius norm: ||A - H||_F <= 2 L tol ||A||_F is what it promises.
  const double promised = request.method == "entries"
                              ? 2.0 * out.matrix.levels() * request.tolerance
                              : request.tolerance;
  const bool estimated = out.relative_error_estimate >= 0;
  const bool met = request.rank > 0 || !estimated || out.relative_error_estimate <= promised;
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
        .add("time_s", time)
        .add("method", request.method)
        .add("ranks", comm.size())
        .add("distributed", distributed)
        .add("precision", std::is_same_v<T, double> ? "fp64" : "fp32")
        .add("output", request.output);
    if (request.method == "entries")
      j.add("saturated_nodes", static_cast<long long>(out.saturated_nodes));
    context.print(j.str() + "\n");
  } else if (!context.quiet) {
    std::ostringstream line;
    line << "  ranks per level [";
    for (std::size_t i = 0; i < ranks.size(); ++i) line << (i ? ", " : "") << ranks[i];
    line << "], " << matvecs << " products (A " << out.products << ", A^T "
         << out.transpose_products << ", error probes " << out.probe_products << ")";
    if (request.method == "entries") line << ", " << out.entries << " entries";
    line << "\n  estimated relative error " << out.relative_error_estimate << ", "
         << out.matrix.memory_bytes() << " bytes, " << timer.total() << " s";
    for (const auto& [name, seconds] : timer.phases()) line << " | " << name << " " << seconds;
    line << "\n";
    if (out.saturated_nodes > 0)
      line << "  warning: " << out.saturated_nodes
           << " nodes used every sample; raise --samples for a more accurate result\n";
    line << "  wrote " << request.output << "\n";
    context.print(line.str());
  }
  if (!met) {
    std::ostringstream warning;
    warning << "the requested accuracy was not met: estimated relative error "
            << out.relative_error_estimate << " > "
            << (request.method == "entries" ? "2 x levels x --tol = " : "--tol ") << promised
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
  if (request.method != "entries") {
    try {
      hss::parse_compress_method(request.method);
    } catch (const Error&) {
      throw UsageError("unknown method '" + request.method +
                       "'; expected levitt-martinsson, quasi-optimal or entries");
    }
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
