// `strata sketch trace` and `strata sketch diag`: trace and diagonal of a matrix in an HDF5 file
// from matrix-vector products (Hutch++, NA-Hutch++, Hutchinson; Diag++, Hutchinson).
#include <chrono>
#include <cmath>
#include <sstream>

#include "cli.hpp"
#include "json.hpp"
#include "strata/config.hpp"
#include "strata/core/checks.hpp"
#include "strata/core/progress.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "strata/sketch/diagonal.hpp"
#include "strata/sketch/trace.hpp"
#if STRATA_HAVE_HDF5
#include "strata/io/hdf5.hpp"
#endif

namespace strata::cli {

namespace {

const char* const trace_usage =
    "usage: strata sketch trace --input A.h5:/A [--matvecs M] [--method hutch++|na-hutch++|"
    "hutchinson]\n"
    "                           [--probes rademacher|gaussian] [--seed S] [--json]\n\n"
    "Estimates the trace of the square matrix A from M products of A with random vectors\n"
    "(A is read by blocks of rows over the MPI ranks; the result does not depend on their "
    "number).\n"
    "  --matvecs M   budget of matrix-vector products (default 30; >= 3 for hutch++ and\n"
    "                na-hutch++). Hutch++ is exact for A of rank <= M/3.\n"
    "  --method      hutch++ (default; Meyer, Musco, Musco & Woodruff 2021), na-hutch++ (all\n"
    "                products in one pass) or hutchinson (plain average of g^T A g)\n"
    "  --probes      distribution of the random vectors (default rademacher)\n"
    "  --seed S      random seed (default 0)\n"
    "  --json        one JSON object: estimate, matvecs, method, standard_error, time_s\n";

const char* const diag_usage =
    "usage: strata sketch diag --input A.h5:/A --output D.h5:/d [--matvecs M]\n"
    "                          [--method diag++|hutchinson] [--probes rademacher|gaussian]\n"
    "                          [--seed S] [--nonsymmetric] [--json]\n\n"
    "Estimates the diagonal of the square matrix A from M matrix-vector products and writes it as\n"
    "a 1-D dataset.\n"
    "  --matvecs M     budget of products (default 30; >= 3 for diag++). Diag++ is exact for A of\n"
    "                  rank <= M/3.\n"
    "  --method        diag++ (default; Baston & Nakatsukasa 2022) or hutchinson (Bekas,\n"
    "                  Kokiopoulou & Saad 2007: exact for diagonal A with rademacher probes)\n"
    "  --nonsymmetric  A is not symmetric: diag++ then also multiplies by A^T\n"
    "  --json          one JSON object: matvecs, method, rows, output, time_s\n";

struct Common {
  std::string input;
  index_type matvecs = 30;
  Distribution probes = Distribution::rademacher;
  std::uint64_t seed = 0;
};

Common common_options(Args& args) {
  Common c;
  const auto input = args.value("--input");
  c.matvecs = args.integer("--matvecs", 30, 1, 1000000);
  const auto probes = args.value("--probes");
  c.seed = args.unsigned_integer("--seed", 0);
  if (probes) {
    try {
      c.probes = parse_distribution(*probes);
    } catch (const Error& e) {
      throw UsageError("option '--probes': " + std::string(e.what()));
    }
  }
  if (!input) throw UsageError("option '--input FILE.h5:/DATASET' is required");
  c.input = *input;
  return c;
}

#if STRATA_HAVE_HDF5
io::DatasetPath dataset(const std::string& spec, const std::string& fallback = {}) {
  try {
    return io::DatasetPath::parse(spec, fallback);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

/// A read by blocks of rows, as a distributed operator (same layout for rows and columns).
DistDenseOperator<double> read_operator(const Context& context, const io::DatasetPath& path) {
  const auto info = io::inspect(context.comm, path);
  STRATA_REQUIRE(info.shape.size() == 2 && info.shape[0] == info.shape[1], ShapeMismatch,
                 "dataset '", path.str(), "' has shape ",
                 info.shape.size() == 2
                     ? std::to_string(info.shape[0]) + " x " + std::to_string(info.shape[1])
                     : std::to_string(info.shape.size()) + "-D",
                 "; the trace and the diagonal need a square matrix");
  auto a = io::read_dist_matrix<double>(context.comm, path);
  collective(context.comm, [&] { require_finite(ExecSpace(), a.local(), "the input matrix"); });
  return DistDenseOperator<double>(a);
}
#endif

[[maybe_unused]] double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int run_sketch_trace(Args& args, Context& context) {
  if (args.flag("--help") || args.flag("-h")) {
    context.print(trace_usage);
    return 0;
  }
  const auto method = args.value("--method");
  const auto c = common_options(args);
  args.finish();
  [[maybe_unused]] sketch::TraceOptions o;
  if (method) {
    try {
      o.method = sketch::parse_trace_method(*method);
    } catch (const Error& e) {
      throw UsageError("option '--method': " + std::string(e.what()));
    }
  }
  o.matvecs = c.matvecs;
  o.distribution = c.probes;
  o.seed = c.seed;
#if STRATA_HAVE_HDF5
  const auto start = std::chrono::steady_clock::now();
  const auto path = dataset(c.input);
  Progress progress("sketch trace (read, estimate)", 2, context.comm.rank());
  const auto a = read_operator(context, path);
  progress.advance();
  const auto r = sketch::estimate_trace(ExecSpace(), a, o);
  progress.advance();
  progress.finish();
  const double seconds = seconds_since(start);
  if (context.json) {
    Json phases = Json::object();
    for (const auto& [name, s] : r.timings.phases()) phases.add(name, s);
    Json out = Json::object();
    out.add("command", "sketch trace")
        .add("status", "ok")
        .add("method", sketch::trace_method_name(o.method))
        .add("estimate", r.estimate)
        .add("matvecs", static_cast<long long>(r.matvecs))
        .add("standard_error", r.standard_error)
        .add("low_rank_part", r.low_rank_part)
        .add("rows", static_cast<long long>(a.rows()))
        .add("probes", distribution_name(o.distribution))
        .add("seed", static_cast<long long>(o.seed))
        .add("mpi_ranks", context.comm.size())
        .add("time_s", seconds)
        .add("phases", phases);
    context.print(out.str() + "\n");
  } else {
    std::ostringstream out;
    out.precision(10);
    out << "strata sketch trace: " << a.rows() << " x " << a.rows() << " " << path.str() << "\n  "
        << sketch::trace_method_name(o.method) << " with " << r.matvecs
        << " matrix-vector products: trace ~ " << r.estimate;
    if (std::isfinite(r.standard_error)) out << " (standard error ~ " << r.standard_error << ")";
    out << ", " << seconds << " s on " << context.comm.size() << " rank"
        << (context.comm.size() > 1 ? "s" : "") << "\n";
    context.print(out.str());
  }
  return 0;
#else
  STRATA_THROW(Unsupported, "strata sketch trace reads HDF5, and this build has no HDF5");
#endif
}

int run_sketch_diag(Args& args, Context& context) {
  if (args.flag("--help") || args.flag("-h")) {
    context.print(diag_usage);
    return 0;
  }
  const auto method = args.value("--method");
  const auto output = args.value("--output");
  const bool nonsymmetric = args.flag("--nonsymmetric");
  const auto c = common_options(args);
  args.finish();
  if (!output) throw UsageError("option '--output FILE.h5:/DATASET' is required");
  [[maybe_unused]] sketch::DiagonalOptions o;
  if (method) {
    try {
      o.method = sketch::parse_diagonal_method(*method);
    } catch (const Error& e) {
      throw UsageError("option '--method': " + std::string(e.what()));
    }
  }
  o.matvecs = c.matvecs;
  o.distribution = c.probes;
  o.seed = c.seed;
  o.symmetric = !nonsymmetric;
#if STRATA_HAVE_HDF5
  const auto start = std::chrono::steady_clock::now();
  const auto in = dataset(c.input);
  const auto out_path = dataset(*output, "/diagonal");
  Progress progress("sketch diag (read, estimate, write)", 3, context.comm.rank());
  const auto a = read_operator(context, in);
  progress.advance();
  const auto r = sketch::estimate_diagonal(ExecSpace(), a, o);
  progress.advance();
  // The diagonal is n numbers: gathered on every rank and written by rank 0 as a 1-D dataset.
  const auto full = allgather_rows(ExecSpace(), r.diagonal);
  const Kokkos::View<const double*, Kokkos::LayoutLeft, MemSpace> d =
      Kokkos::subview(full, Kokkos::ALL, 0);
  io::FileWriter writer(context.comm, out_path.file);
  writer.write(out_path.dataset, d);
  writer.set_attribute(out_path.dataset, "method",
                       std::string(sketch::diagonal_method_name(o.method)));
  writer.set_attribute(out_path.dataset, "matvecs", static_cast<double>(r.matvecs));
  writer.commit();
  progress.advance();
  progress.finish();
  const double seconds = seconds_since(start);
  if (context.json) {
    Json out = Json::object();
    out.add("command", "sketch diag")
        .add("status", "ok")
        .add("method", sketch::diagonal_method_name(o.method))
        .add("matvecs", static_cast<long long>(r.matvecs))
        .add("rows", static_cast<long long>(a.rows()))
        .add("output", out_path.str())
        .add("mpi_ranks", context.comm.size())
        .add("time_s", seconds);
    context.print(out.str() + "\n");
  } else {
    std::ostringstream out;
    out << "strata sketch diag: " << a.rows() << " x " << a.rows() << " " << in.str() << " -> "
        << out_path.str() << "\n  " << sketch::diagonal_method_name(o.method) << " with "
        << r.matvecs << " matrix-vector products, " << seconds << " s\n";
    context.print(out.str());
  }
  return 0;
#else
  (void)nonsymmetric;
  STRATA_THROW(Unsupported, "strata sketch diag reads and writes HDF5, and this build has no HDF5");
#endif
}

}  // namespace strata::cli
