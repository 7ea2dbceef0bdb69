// strata sketch apply: S A for a reproducible random sketch operator S, on an HDF5 matrix read by
// block rows over the ranks; the d x k result is replicated and written by rank 0.
#include <chrono>
#include <cmath>
#include <sstream>

#include "cli.hpp"
#include "json.hpp"
#include "strata/config.hpp"
#include "strata/core/progress.hpp"
#include "strata/dist/operations.hpp"
#include "strata/linalg/norms.hpp"
#include "strata/sketch/operator.hpp"
#if STRATA_HAVE_HDF5
#include "strata/io/hdf5.hpp"
#endif

namespace strata::cli {

namespace {

const char* const apply_usage =
    "usage: strata sketch apply --input A.h5:/A --operator KIND --rows D --output SA.h5:/SA\n"
    "                           [--nnz S] [--seed N] [--stream N] [--no-scale] [--no-pad]\n"
    "                           [--precision fp64|fp32] [--json]\n\n"
    "Computes S A for a random d x n sketch operator S and the n x k matrix A (read by blocks of\n"
    "rows over the MPI ranks; each rank sketches its rows, the d x k results are summed). S is\n"
    "defined by (KIND, D, n, seed, stream): the same numbers give the same S on any number of\n"
    "ranks, threads or GPUs.\n\n"
    "options:\n"
    "  --input FILE:/DSET   the matrix A (2-D float32/float64 dataset, rows = n)\n"
    "  --operator KIND      gaussian     iid N(0, 1/d) entries\n"
    "                       rademacher   iid +-1/sqrt(d) entries\n"
    "                       srht         subsampled randomized Hadamard transform\n"
    "                                    sqrt(1/d) P H D (n zero-padded to a power of two N; d <= "
    "N)\n"
    "                       hadamard     the rotation (1/N) H D1 H D2 (square: D must equal N)\n"
    "                       sparse-sign  S nonzeros +-1/sqrt(S) per column (CountSketch for S = "
    "1)\n"
    "  --rows D             number of sketch rows d (hadamard: may be omitted, then d = N)\n"
    "  --nnz S              sparse-sign: nonzeros per column, 1 <= S <= min(D, 64) (default\n"
    "                       min(8, D))\n"
    "  --seed N, --stream N the random operator's seed and stream (default 0, 0)\n"
    "  --no-scale           unscaled entries (+-1, N(0,1), ...) instead of the isometry scaling\n"
    "                       E ||S x||^2 = ||x||^2\n"
    "  --no-pad             srht/hadamard: refuse a non-power-of-two n instead of zero padding\n"
    "  --precision P        fp64 (default) or fp32 arithmetic\n"
    "  --output FILE:/DSET  where S A (d x k) is written (dataset default /SA)\n"
    "  --json               one JSON object on standard output (keys: operator, rows, nnz,\n"
    "                       input_shape, seed, stream, scaled, precision, input_frobenius_norm,\n"
    "                       sketch_frobenius_norm, mpi_ranks, time_s)\n";

#if STRATA_HAVE_HDF5
template <class T>
int apply(const io::DatasetPath& input, const io::DatasetPath& output, sketch::SketchOperator op,
          bool rows_given, bool scaled, Context& context) {
  const Comm& comm = context.comm;
  const ExecSpace exec;
  const auto start = std::chrono::steady_clock::now();
  const auto info = io::inspect(comm, input);
  if (info.shape.size() != 2) {
    STRATA_THROW(ShapeMismatch, "dataset '", input.str(), "' has ", info.shape.size(),
                 "-D shape; expected a 2-D matrix (n rows to be sketched, k columns)");
  }
  op.cols = info.shape[0];
  if (op.kind == sketch::OperatorKind::hadamard && !rows_given) op.rows = op.padded_cols();
  op.validate();
  Progress progress("sketch apply (read, sketch, write)", 3, comm.rank());
  const auto a = io::read_dist_matrix<T>(comm, input);
  progress.advance();
  Matrix<T> sa("strata::cli::SA", static_cast<std::size_t>(op.rows),
               static_cast<std::size_t>(a.cols()));
  sketch::ApplyOptions options;
  options.isometry_scaling = scaled;
  sketch::sketch_rows<T>(exec, op, a, sa, options);
  progress.advance();
  const double norm_a = static_cast<double>(frobenius_norm(exec, a));
  const double norm_sa = static_cast<double>(linalg::frobenius_norm(exec, sa));
  io::FileWriter writer(comm, output.file);
  writer.write(output.dataset, ConstMatrix<T>(sa));
  writer.set_attribute(output.dataset, "operator", std::string(sketch::operator_name(op.kind)));
  writer.set_attribute(output.dataset, "seed", static_cast<double>(op.seed));
  writer.set_attribute(output.dataset, "stream", static_cast<double>(op.stream));
  writer.set_attribute(output.dataset, "scaled", scaled ? 1.0 : 0.0);
  if (op.kind == sketch::OperatorKind::sparse_sign) {
    writer.set_attribute(output.dataset, "nnz", static_cast<double>(op.nnz));
  }
  writer.commit();
  progress.advance();
  progress.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const char* precision = std::is_same_v<T, double> ? "fp64" : "fp32";
  if (context.json) {
    const std::vector<long long> shape{static_cast<long long>(op.cols),
                                       static_cast<long long>(a.cols())};
    Json out = Json::object();
    out.add("command", "sketch apply")
        .add("status", "ok")
        .add("operator", sketch::operator_name(op.kind))
        .add("rows", static_cast<long long>(op.rows))
        .add("nnz",
             static_cast<long long>(op.kind == sketch::OperatorKind::sparse_sign ? op.nnz : 0))
        .add("input_shape", shape)
        .add("seed", std::to_string(op.seed))
        .add("stream", std::to_string(op.stream))
        .add("scaled", scaled)
        .add("precision", precision)
        .add("input_frobenius_norm", norm_a)
        .add("sketch_frobenius_norm", norm_sa)
        .add("mpi_ranks", comm.size())
        .add("time_s", seconds);
    context.print(out.str() + "\n");
  } else {
    std::ostringstream out;
    out << "strata sketch apply: " << sketch::operator_name(op.kind) << " S (" << op.rows << " x "
        << op.cols << ", seed " << op.seed << ") times A " << input.str() << " (" << op.cols
        << " x " << a.cols() << ") -> " << output.str() << "\n  ||A||_F = " << norm_a
        << ", ||S A||_F = " << norm_sa << ", " << precision << ", " << seconds << " s on "
        << comm.size() << " rank" << (comm.size() > 1 ? "s" : "") << "\n";
    context.print(out.str());
  }
  return 0;
}
#endif

}  // namespace

int run_sketch_apply(Args& args, Context& context) {
  if (args.flag("--help") || args.flag("-h")) {
    context.print(apply_usage);
    return 0;
  }
  const auto input = args.value("--input");
  const auto output = args.value("--output");
  const auto kind = args.value("--operator");
  const bool rows_given = args.has("--rows");
  const auto rows = args.integer("--rows", 0, 1, std::int64_t(1) << 40);
  const bool nnz_given = args.has("--nnz");
  const auto nnz = args.integer("--nnz", 8, 1, sketch::max_sparse_nnz);
  const auto seed = args.unsigned_integer("--seed", 0);
  const auto stream = args.unsigned_integer("--stream", 0);
  const bool no_scale = args.flag("--no-scale");
  const bool no_pad = args.flag("--no-pad");
  const auto precision = args.value("--precision").value_or("fp64");
  args.finish();
  if (!input) throw UsageError("option '--input FILE.h5:/DATASET' is required");
  if (!output) throw UsageError("option '--output FILE.h5:/DATASET' is required");
  if (!kind) {
    throw UsageError(
        "option '--operator' is required (gaussian, rademacher, srht, hadamard or sparse-sign)");
  }
  sketch::SketchOperator op;
  try {
    op.kind = sketch::parse_operator(*kind);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  if (!rows_given && op.kind != sketch::OperatorKind::hadamard) {
    throw UsageError("option '--rows D' (the number of sketch rows) is required");
  }
  if (nnz_given && op.kind != sketch::OperatorKind::sparse_sign) {
    throw UsageError("option '--nnz' applies to the sparse-sign operator only");
  }
  op.rows = rows;
  op.nnz = nnz_given ? nnz : std::min<std::int64_t>(8, rows);
  op.seed = seed;
  op.stream = stream;
  op.pad = !no_pad;
  if (precision != "fp64" && precision != "fp32") {
    throw UsageError("option '--precision' must be fp64 or fp32, got '" + precision + "'");
  }
#if STRATA_HAVE_HDF5
  io::DatasetPath in, out;
  try {
    in = io::DatasetPath::parse(*input);
    out = io::DatasetPath::parse(*output, "/SA");
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  if (precision == "fp64") return apply<double>(in, out, op, rows_given, !no_scale, context);
  return apply<float>(in, out, op, rows_given, !no_scale, context);
#else
  (void)context;
  STRATA_THROW(Unsupported,
               "strata sketch apply reads and writes HDF5, and this build has no HDF5");
#endif
}

}  // namespace strata::cli
