// `strata hss compress`: an HSS approximation of a dense matrix from products with A and A^T
// (Levitt-Martinsson or the quasi-optimal method of Amsel et al.), saved with the HSS HDF5 writer.
//
//   strata hss compress --input A.h5:/A (--tol EPS | --rank R) [--leaf-size M]
//                       [--method levitt-martinsson|quasi-optimal] [--samples S]
//                       [--oversampling P] [--seed N] --output H.h5 [--json]
//
// The built-in --problem generators (src/strata/hss/problems.hpp) are not merged into this branch
// yet, so the matrix comes from --input only.
#include <cstdlib>
#include <string>

#include "hss_commands.hpp"
#include "json.hpp"
#include "strata/config.hpp"
#include "strata/core/error.hpp"
#include "strata/hss/compress_matvec.hpp"
#if STRATA_HAVE_HDF5
#include "strata/hss/hss_io.hpp"
#include "strata/io/hdf5.hpp"
#endif

namespace strata::cli {

namespace {

double parse_number(const std::string& option, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0')
    throw UsageError("option '" + option + "' expects a number, got '" + text + "'");
  return v;
}

Json phases_json(const PhaseTimer& timer) {
  Json j = Json::object();
  for (const auto& [name, seconds] : timer.phases()) j.add(name, seconds);
  return j;
}

}  // namespace

int run_hss_compress(Args& args, Context& context) {
  const auto input = args.value("--input");
  const auto output = args.value("--output");
  const auto problem = args.value("--problem");
  const auto tol_text = args.value("--tol");
  const auto rank = args.integer("--rank", 0, 0, 1 << 20);
  const auto leaf_size = args.integer("--leaf-size", 0, 0, 1 << 24);
  const auto samples = args.integer("--samples", 0, 0, 1 << 24);
  const auto oversampling = args.integer("--oversampling", 10, 0, 1 << 20);
  const auto seed = args.unsigned_integer("--seed", 0);
  const auto method_name = args.value("--method").value_or("levitt-martinsson");
  args.finish();
  if (problem)
    throw UsageError(
        "option '--problem' is not available in this build (the built-in problems are not "
        "merged yet); pass the matrix with --input FILE.h5:/DATASET");
  if (!input) throw UsageError("option '--input FILE.h5:/DATASET' is required");
  if (!output) throw UsageError("option '--output FILE.h5' is required");
  if ((tol_text.has_value()) == (rank > 0))
    throw UsageError("give exactly one of '--tol EPS' (EPS > 0) and '--rank R' (R >= 1)");
  if (method_name == "entries")
    throw UsageError(
        "option '--method entries' (explicit-entry construction) is not implemented; use "
        "levitt-martinsson or quasi-optimal");
  hss::CompressOptions options;
  try {
    options.method = hss::parse_compress_method(method_name);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  options.rank = rank;
  if (tol_text) {
    options.tolerance = parse_number("--tol", *tol_text);
    if (!(options.tolerance > 0)) throw UsageError("option '--tol' must be > 0");
  }
  options.samples = samples;
  options.oversampling = oversampling;
  options.seed = seed;
#if STRATA_HAVE_HDF5
  io::DatasetPath in;
  try {
    in = io::DatasetPath::parse(*input);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  const auto a = io::read_matrix<double>(context.comm, in);
  const index_type n = static_cast<index_type>(a.extent(0));
  if (a.extent(0) != a.extent(1))
    STRATA_THROW(ShapeMismatch, "hss compress: ", in.str(), " is ", a.extent(0), " x ", a.extent(1),
                 "; an HSS approximation needs a square matrix");
  const index_type m = leaf_size > 0 ? leaf_size : std::max<index_type>(2 * rank, 64);
  const auto tree = hss::ClusterTree::uniform(n, m);
  const DenseOperator<double> op(a);
  if (!context.json)
    context.print("hss compress: n = " + std::to_string(n) + ", " + std::to_string(tree.levels()) +
                  " levels, method " + method_name + "\n");
  const auto result = hss::compress_from_matvecs(ExecSpace(), op, tree, options);
  hss::save_hss(context.comm, *output, result.matrix);
  // Largest rank on each level, keyed by the level number (1 = just below the root).
  Json ranks = Json::object();
  index_type max_rank = 0;
  for (int l = 1; l <= tree.levels(); ++l) {
    ranks.add(std::to_string(l), static_cast<long long>(result.max_rank_per_level[l]));
    max_rank = std::max(max_rank, result.max_rank_per_level[l]);
  }
  Json matvecs = Json::object();
  matvecs.add("A", static_cast<long long>(result.products));
  matvecs.add("AT", static_cast<long long>(result.transpose_products));
  matvecs.add("error_probes", static_cast<long long>(result.probe_products));
  matvecs.add("samples", static_cast<long long>(result.samples));
  matvecs.add("rounds", result.rounds);
  Json time = phases_json(result.timings);
  time.add("total", result.timings.total());
  if (context.json) {
    Json j = Json::object();
    j.add("n", static_cast<long long>(n));
    j.add("levels", tree.levels());
    j.add("leaf_size", static_cast<long long>(tree.max_leaf_size()));
    j.add("method", method_name);
    j.add("max_rank", static_cast<long long>(max_rank));
    j.add("ranks_per_level", ranks);
    j.add("matvecs", matvecs);
    j.add("memory_bytes", static_cast<long long>(result.matrix.memory_bytes()));
    j.add("relative_error_estimate", result.relative_error_estimate);
    j.add("time_s", time);
    j.add("output", *output);
    context.print(j.str() + "\n");
  } else {
    context.print("  ranks per level " + ranks.str() + ", products A " +
                  std::to_string(result.products) + ", A^T " +
                  std::to_string(result.transpose_products) + ", estimated relative error " +
                  std::to_string(result.relative_error_estimate) + ", " +
                  std::to_string(result.timings.total()) + " s\n  wrote " + *output + "\n");
  }
  return 0;
#else
  (void)context;
  STRATA_THROW(Unsupported,
               "strata hss compress reads and writes HDF5, and this build has no HDF5");
#endif
}

}  // namespace strata::cli
