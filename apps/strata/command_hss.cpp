// strata hss: products with and solves by HSS matrices stored in HDF5 files.
#include <algorithm>
#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "hss_commands.hpp"
#include "json.hpp"
#include "strata/config.hpp"
#include "strata/core/progress.hpp"
#include "strata/core/random.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "strata/hss/distributed.hpp"
#include "strata/hss/hss_io.hpp"
#include "strata/hss/matvec.hpp"
#include "strata/hss/ulv.hpp"
#include "strata/linalg/norms.hpp"
#if STRATA_HAVE_HDF5
#include "strata/io/hdf5.hpp"
#endif

namespace strata::cli {

const char* const hss_usage =
    "usage: strata hss <operation> [options]   (strata hss <operation> --help)\n\n"
    "operations:\n"
    "  compress  build an HSS approximation of a matrix\n"
    "  matvec    Y = A X (or A^T X) for an HSS matrix A stored by Strata\n"
    "  solve     X = A^{-1} B by the ULV factorization of an HSS matrix A\n"
    "  random    write a random HSS matrix (and optionally a random block B): test data\n";

namespace {

const char* const matvec_usage =
    "usage: strata hss matvec --hss H.h5 --input X.h5:/X --output Y.h5:/Y [--transpose] "
    "[--json]\n\n"
    "Multiplies the HSS matrix stored in H.h5 (group /hss) by the n x k block X.\n"
    "  --hss FILE        HSS matrix written by Strata (hss compress or hss random)\n"
    "  --input F:/D      the block X, a 2-D dataset (n, k)\n"
    "  --output F:/D     where Y is written (the file's other datasets are kept)\n"
    "  --transpose       Y = A^T X\n"
    "  --json            one JSON object: rows, cols, levels, ranks, distributed, norm_y,\n"
    "                    time_s\n\n"
    "Under mpirun with more than one rank the matrix is split over the ranks (each rank its\n"
    "subtrees' generators and rows) and the distributed product is gathered for writing.\n";

const char* const solve_usage =
    "usage: strata hss solve --hss H.h5 --rhs B.h5:/B --output X.h5:/X [--spd] [--json]\n"
    "       strata hss solve --problem NAME --n N --tol EPS [--method M]\n"
    "                        [--krylov gmres|cg|none]\n"
    "                        [--krylov-tol 1e-10] [--max-iter 100] [--restart 30] [--json]\n\n"
    "Solves A X = B with the ULV factorization of the HSS matrix in H.h5 (O(n r^2) work).\n"
    "  --hss FILE        HSS matrix written by Strata\n"
    "  --rhs F:/D        right-hand sides B, a 2-D dataset (n, k)\n"
    "  --output F:/D     where X is written\n"
    "  --spd             Cholesky-based variant for symmetric positive definite A\n"
    "  --json            one JSON object: residual ||AX - B||_F / ||B||_F,\n"
    "                    condition_lower_bound, ranks, distributed, factor_time_s, time_s\n\n"
    "A matrix that is singular to working precision is an error (exit status 1, nothing\n"
    "written): a lower bound on cond_2(A) from a few products and solves reaches 1/(K u), where\n"
    "the solve's forward error bound cond(A) K u / (1 - cond(A) K u) is void (K = m + 2 (L + 1)\n"
    "max(m, 2 r) for leaf size m, L levels, rank r; u the unit roundoff).\n\n"
    "Under mpirun with more than one rank the solve is a distributed ULV: elimination inside\n"
    "each rank's subtrees, then a small reduced system factored on every rank; it solves any\n"
    "nonsingular A, as on one rank.\n\n"
    "With --problem the matrix is a built-in test matrix (as in 'hss compress': kernel\n"
    "matrices never stored, their products computed on the fly), compressed here to an HSS\n"
    "approximation H at --tol and factored by ULV; B is --columns Gaussian columns (--seed).\n"
    "  --method M        how H is built: entries (default; recursive skeletonization from\n"
    "                    O(N k) entries of A, with a sampled error certificate),\n"
    "                    levitt-martinsson or quasi-optimal (from products with A: each\n"
    "                    product costs N^2 kernel evaluations here)\n"
    "  --krylov none     (default) X = H^{-1} B, the direct ULV solve; its residual against the\n"
    "                    exact matrix is reported\n"
    "  --krylov gmres    restarted GMRES on the exact matrix A, preconditioned by H^{-1}: a\n"
    "                    loose --tol (1e-3 to 1e-4) makes H cheap, and GMRES reaches full\n"
    "                    accuracy in a few iterations\n"
    "  --krylov cg       preconditioned CG, for symmetric positive definite A (stops with\n"
    "                    status inaccurate if A or H^{-1} turns out indefinite)\n"
    "  --krylov-tol T    target true relative residual ||B - A X|| / ||B|| per column\n"
    "                    (default 1e-10)\n"
    "  --max-iter K      most iterations per column (default 100)\n"
    "  --restart M       GMRES restart length (default 30)\n"
    "  --precision P     fp64 (default) or fp32: the precision of H (compression and ULV);\n"
    "                    A, B, X and the Krylov iteration stay fp64, so an fp32 H still\n"
    "                    preconditions GMRES to full fp64 accuracy\n"
    "  --leaf-size M, --dim D, --columns K, --seed S\n"
    "  --json            one JSON object: iterations, converged, relative_residual (true,\n"
    "                    against A), residual_history, per_column, hss {tol, method,\n"
    "                    met_tolerance, entries, products, compress_time_s, factor_time_s,\n"
    "                    relative_error_estimate, relative_error_bound}, time_s {compress,\n"
    "                    factor, solve, operator, preconditioner, orthogonalization, update}\n"
    "A Krylov solve that misses --krylov-tol exits with status 3 (inaccurate); so does a direct\n"
    "solve whose H missed --tol, judged by the bound against the fp64 matrix (an fp32 H adds\n"
    "fp32's rounding of A to its certificate); a Krylov solve then only warns (its own residual\n"
    "decides). Progress (--progress) is reported by rank 0 after every GMRES cycle and CG\n"
    "iteration. Under mpirun the HSS matrix, its ULV factor, the exact operator and the vectors\n"
    "are distributed.\n";

const char* const random_usage =
    "usage: strata hss random --n N --output H.h5 [--leaf-size 64] [--rank 16] [--seed 0]\n"
    "                         [--symmetric] [--dtype float64|float32] [--rhs B.h5:/B --columns K]\n"
    "                         [--json]\n\n"
    "Writes an exact HSS matrix with random generators (orthonormal bases, well conditioned;\n"
    "--symmetric makes it symmetric positive definite), and optionally a Gaussian block B.\n";

#if STRATA_HAVE_HDF5
io::DatasetPath required_path(Args& args, const std::string& name) {
  const auto v = args.value(name);
  if (!v) throw UsageError("missing option '" + name + "' (FILE.h5:/dataset)");
  try {
    return io::DatasetPath::parse(*v);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

std::string required_file(Args& args, const std::string& name) {
  const auto v = args.value(name);
  if (!v) throw UsageError("missing option '" + name + "' (an HDF5 file)");
  return *v;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// This rank's rows (the distributed matrix's layout) of a replicated matrix.
template <class T>
Matrix<T> local_rows_of(const ExecSpace& exec, const hss::DistHssMatrix<T>& a, const Matrix<T>& x) {
  const index_type row0 = a.layout().row_begin(a.comm().rank());
  Matrix<T> local("strata::cli::hss::local", a.local_rows(), x.extent(1));
  Kokkos::deep_copy(exec, local,
                    Kokkos::subview(x, std::make_pair(row0, row0 + a.local_rows()), Kokkos::ALL));
  return local;
}

template <class T>
int matvec_typed(const std::string& file, const io::DatasetPath& input,
                 const io::DatasetPath& output, bool transpose, Context& context) {
  const Comm& comm = context.comm;
  Progress progress("hss matvec (read, multiply, write)", 3, comm.rank());
  const auto a = hss::load_hss<T>(comm, file);
  const auto x = io::read_matrix<T>(comm, input);
  progress.advance();
  if (static_cast<index_type>(x.extent(0)) != a.size()) {
    STRATA_THROW(ShapeMismatch, input.str(), " has ", x.extent(0), " rows but the HSS matrix in ",
                 file, " is ", a.size(), " x ", a.size());
  }
  Matrix<T> y("strata::cli::hss::Y", x.extent(0), x.extent(1));
  const auto start = std::chrono::steady_clock::now();
  const hss::Op op = transpose ? hss::Op::transpose : hss::Op::none;
  if (comm.size() > 1) {
    // Distributed: each rank its subtrees' generators and rows (hss/distributed.hpp).
    const ExecSpace exec;
    const auto dist = hss::distribute<T>(exec, comm, a);
    const auto xl = local_rows_of<T>(exec, dist, x);
    Matrix<T> yl("strata::cli::hss::Y_local", xl.extent(0), xl.extent(1));
    hss::matvec<T>(exec, dist, xl, yl, op);
    y = allgather_rows<T>(exec, comm, dist.layout(), yl);
    exec.fence();
  } else {
    collective(comm, [&] {
      hss::matvec<T>(ExecSpace(), a, x, y, op);
      ExecSpace().fence();
    });
  }
  const double norm_y = static_cast<double>(linalg::frobenius_norm(ExecSpace(), y));
  const double time = seconds_since(start);
  progress.advance();
  io::write_matrix<T>(comm, output, y);
  progress.advance();
  progress.finish();
  if (context.json) {
    Json out = Json::object();
    out.add("command", "hss matvec")
        .add("status", "ok")
        .add("rows", static_cast<long long>(a.size()))
        .add("cols", static_cast<long long>(x.extent(1)))
        .add("levels", a.levels())
        .add("transpose", transpose)
        .add("ranks", comm.size())
        .add("distributed", comm.size() > 1)
        .add("norm_y", norm_y)
        .add("dtype", scalar_name<T>())
        .add("time_s", time);
    context.print(out.str() + "\n");
  } else if (!context.quiet) {
    std::ostringstream out;
    out << "strata hss matvec: " << (transpose ? "A^T X" : "A X") << " for A " << a.size() << " x "
        << a.size() << " (" << a.levels() << " levels) and " << x.extent(1) << " vectors -> "
        << output.str() << " in " << time << " s\n";
    context.print(out.str());
  }
  return 0;
}

template <class T>
int solve_typed(const std::string& file, const io::DatasetPath& rhs, const io::DatasetPath& output,
                bool spd, Context& context) {
  const Comm& comm = context.comm;
  Progress progress("hss solve (read, factor and solve, write)", 3, comm.rank());
  const auto a = hss::load_hss<T>(comm, file);
  const auto b = io::read_matrix<T>(comm, rhs);
  progress.advance();
  if (static_cast<index_type>(b.extent(0)) != a.size()) {
    STRATA_THROW(ShapeMismatch, rhs.str(), " has ", b.extent(0), " rows but the HSS matrix in ",
                 file, " is ", a.size(), " x ", a.size());
  }
  Matrix<T> x("strata::cli::hss::X", b.extent(0), b.extent(1));
  const auto start = std::chrono::steady_clock::now();
  hss::UlvOptions options;
  options.variant = spd ? hss::UlvVariant::symmetric_positive_definite : hss::UlvVariant::general;
  std::pair<double, hss::UlvSolveResult> result;
  if (comm.size() > 1) {
    // Distributed ULV: elimination inside each rank's subtrees, the small reduced system of the
    // subtree roots factored on every rank (any nonsingular A).
    const ExecSpace exec;
    const auto dist = hss::distribute<T>(exec, comm, a);
    const auto factor_start = std::chrono::steady_clock::now();
    const auto factor = hss::ulv_factor<T>(exec, dist, options);
    exec.fence();
    result.first = seconds_since(factor_start);
    const auto bl = local_rows_of<T>(exec, dist, b);
    Matrix<T> xl("strata::cli::hss::X_local", bl.extent(0), bl.extent(1));
    result.second = hss::ulv_solve<T>(exec, factor, bl, xl);
    x = allgather_rows<T>(exec, comm, dist.layout(), xl);
    exec.fence();
  } else {
    result = collective(comm, [&] {
      const auto factor = hss::ulv_factor<T>(ExecSpace(), a, options);
      auto r = hss::ulv_solve<T>(ExecSpace(), factor, b, x);
      return std::make_pair(factor.factor_time_s, r);
    });
  }
  const double time = seconds_since(start);
  progress.advance();
  io::write_matrix<T>(comm, output, x);
  progress.advance();
  progress.finish();
  if (context.json) {
    Json out = Json::object();
    out.add("command", "hss solve")
        .add("status", "ok")
        .add("rows", static_cast<long long>(a.size()))
        .add("cols", static_cast<long long>(b.extent(1)))
        .add("levels", a.levels())
        .add("variant", spd ? "spd" : "general")
        .add("ranks", comm.size())
        .add("distributed", comm.size() > 1)
        .add("dtype", scalar_name<T>())
        .add("residual", result.second.residual)
        .add("condition_lower_bound", result.second.condition_lower_bound)
        .add("factor_time_s", result.first)
        .add("solve_time_s", result.second.time_s)
        .add("time_s", time);
    context.print(out.str() + "\n");
  } else if (!context.quiet) {
    std::ostringstream out;
    out << "strata hss solve: A X = B for A " << a.size() << " x " << a.size() << " (" << a.levels()
        << " levels, " << (spd ? "SPD" : "general") << " ULV) and " << b.extent(1)
        << " right-hand sides -> " << output.str()
        << "\n  ||AX - B||_F / ||B||_F = " << result.second.residual
        << ", cond_2(A) >= " << result.second.condition_lower_bound << ", factor " << result.first
        << " s, solve " << result.second.time_s << " s\n";
    context.print(out.str());
  }
  return 0;
}

template <class T>
int random_typed(index_type n, index_type leaf, index_type rank, std::uint64_t seed, bool symmetric,
                 const std::string& file, const std::optional<io::DatasetPath>& rhs,
                 index_type columns, Context& context) {
  const Comm& comm = context.comm;
  Progress progress("hss random (generate, write)", 2, comm.rank());
  const auto tree = hss::ClusterTree::uniform(n, leaf);
  hss::RandomHssOptions options;
  options.symmetric = symmetric;
  const auto a = collective(
      comm, [&] { return hss::make_random_hss<T>(ExecSpace(), tree, rank, seed, options); });
  // A node's rank is at most its number of rows (leaves smaller than --leaf-size when n is not
  // leaf-size times a power of 2): report the ranks used, not the one asked for.
  std::vector<long long> ranks;
  long long used = 0;
  for (int l = 1; l <= a.levels(); ++l) {
    ranks.push_back(static_cast<long long>(std::max(a.max_row_rank(l), a.max_col_rank(l))));
    used = std::max(used, ranks.back());
  }
  progress.advance();
  hss::save_hss(comm, file, a);
  if (rhs) {
    Matrix<T> b("strata::cli::hss::B", n, columns);
    fill_random(ExecSpace(), RandomStream{Distribution::gaussian, seed, 1}, b);
    ExecSpace().fence();
    io::write_matrix<T>(comm, *rhs, b);
  }
  progress.advance();
  progress.finish();
  if (context.json) {
    Json out = Json::object();
    out.add("command", "hss random")
        .add("status", "ok")
        .add("n", static_cast<long long>(n))
        .add("levels", a.levels())
        .add("leaf_size", static_cast<long long>(tree.max_leaf_size()))
        .add("rank", used)
        .add("requested_rank", static_cast<long long>(rank))
        .add("ranks_per_level", ranks)
        .add("symmetric", symmetric)
        .add("dtype", scalar_name<T>())
        .add("generator_bytes", static_cast<long long>(a.generator_bytes()));
    context.print(out.str() + "\n");
  } else if (!context.quiet) {
    std::ostringstream out;
    out << "strata hss random: " << n << " x " << n << " HSS matrix, " << a.levels()
        << " levels, rank " << used
        << (used < static_cast<long long>(rank)
                ? " (--rank " + std::to_string(rank) + " exceeds the smallest nodes' sizes)"
                : std::string())
        << " -> " << file << " (" << a.generator_bytes() << " bytes of generators)\n";
    context.print(out.str());
  }
  return 0;
}
#endif

int run_hss_matvec(Args& args, Context& context) {
  if (args.flag("--help")) {
    context.print(matvec_usage);
    return 0;
  }
#if STRATA_HAVE_HDF5
  const std::string file = required_file(args, "--hss");
  const auto input = required_path(args, "--input");
  const auto output = required_path(args, "--output");
  const bool transpose = args.flag("--transpose");
  args.finish();
  if (hss::stored_hss_dtype(context.comm, file) == "float32") {
    return matvec_typed<float>(file, input, output, transpose, context);
  }
  return matvec_typed<double>(file, input, output, transpose, context);
#else
  throw UsageError("'hss matvec' needs HDF5, which this build lacks");
#endif
}

int run_hss_solve(Args& args, Context& context) {
  if (args.flag("--help")) {
    context.print(solve_usage);
    return 0;
  }
  if (args.has("--problem")) return run_hss_solve_problem(args, context);
  for (const char* name : {"--krylov", "--krylov-tol", "--max-iter", "--restart"}) {
    if (args.has(name))
      throw UsageError(std::string("option '") + name +
                       "' needs '--problem NAME --n N --tol EPS': the Krylov solvers iterate on "
                       "the exact built-in matrix, preconditioned by its HSS approximation");
  }
#if STRATA_HAVE_HDF5
  const std::string file = required_file(args, "--hss");
  const auto rhs = required_path(args, "--rhs");
  const auto output = required_path(args, "--output");
  const bool spd = args.flag("--spd");
  args.finish();
  if (hss::stored_hss_dtype(context.comm, file) == "float32") {
    return solve_typed<float>(file, rhs, output, spd, context);
  }
  return solve_typed<double>(file, rhs, output, spd, context);
#else
  throw UsageError("'hss solve' needs HDF5, which this build lacks");
#endif
}

int run_hss_random(Args& args, Context& context) {
  if (args.flag("--help")) {
    context.print(random_usage);
    return 0;
  }
#if STRATA_HAVE_HDF5
  if (!args.has("--n")) throw UsageError("missing option '--n' (the matrix size)");
  const index_type n = args.integer("--n", 1, 1, index_type(1) << 40);
  const index_type leaf = args.integer("--leaf-size", 64, 1, index_type(1) << 30);
  const index_type rank = args.integer("--rank", 16, 0, index_type(1) << 20);
  const std::uint64_t seed = args.unsigned_integer("--seed", 0);
  const bool symmetric = args.flag("--symmetric");
  const std::string dtype = args.value("--dtype").value_or("float64");
  const std::string file = required_file(args, "--output");
  std::optional<io::DatasetPath> rhs;
  if (args.has("--rhs")) rhs = required_path(args, "--rhs");
  const index_type columns = args.integer("--columns", 1, 1, index_type(1) << 20);
  args.finish();
  if (dtype != "float64" && dtype != "float32") {
    throw UsageError("option '--dtype' must be float64 or float32, got '" + dtype + "'");
  }
  if (rank > leaf) {
    throw UsageError("--rank " + std::to_string(rank) + " is larger than --leaf-size " +
                     std::to_string(leaf) +
                     "; a leaf basis cannot have more columns than the leaf has rows (use a leaf "
                     "size >= rank, typically 2 x rank)");
  }
  {
    // The generators: D (n x leaf), U and V (n x rank each at the leaves, about as much above),
    // and B if asked for.
    const double scalar = dtype == "float32" ? 4.0 : 8.0;
    const double count =
        static_cast<double>(n) * (static_cast<double>(leaf) + 4.0 * static_cast<double>(rank) +
                                  (rhs ? static_cast<double>(columns) : 0.0));
    require_memory(count * scalar, "--n " + std::to_string(n));
  }
  if (dtype == "float32") {
    return random_typed<float>(n, leaf, rank, seed, symmetric, file, rhs, columns, context);
  }
  return random_typed<double>(n, leaf, rank, seed, symmetric, file, rhs, columns, context);
#else
  throw UsageError("'hss random' needs HDF5, which this build lacks");
#endif
}

}  // namespace

int run_hss(Args& args, Context& context) {
  const auto op = args.positional();
  if (!op) throw UsageError("missing operation (compress, matvec, solve or random)");
  if (*op == "compress" || *op == "matvec" || *op == "solve" || *op == "random")
    context.command = "hss " + *op;
  if (*op == "compress") return run_hss_compress(args, context);
  if (*op == "matvec") return run_hss_matvec(args, context);
  if (*op == "solve") return run_hss_solve(args, context);
  if (*op == "random") return run_hss_random(args, context);
  throw UsageError("unknown operation '" + *op + "' (compress, matvec, solve or random)");
}

}  // namespace strata::cli
