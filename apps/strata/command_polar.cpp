// strata polar: polynomial schedules and the Newton-Schulz family on HDF5 matrices.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <tuple>

#include "cli.hpp"
#include "json.hpp"
#include "strata/config.hpp"
#include "strata/dist/collective.hpp"
#include "strata/polar/batched.hpp"
#include "strata/polar/bf16.hpp"
#include "strata/polar/newton_schulz.hpp"
#if STRATA_HAVE_HDF5
#include "strata/io/hdf5.hpp"
#endif

namespace strata::cli {

namespace {

/// The options shared by `schedule` and the iterations.
polar::ScheduleOptions schedule_options(Args& args, int default_steps) {
  polar::ScheduleOptions o;
  const auto method = args.value("--method");
  if (method) {
    try {
      o.method = polar::parse_method(*method);
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
  }
  o.lower = args.real("--lower", o.lower);
  o.degree = static_cast<int>(args.integer("--degree", 5, 3, 5));
  o.steps = static_cast<int>(args.integer("--steps", default_steps, 0, 1000));
  o.cushion = args.real("--cushion", o.cushion);
  o.safety = args.real("--safety", o.safety);
  // --lower, --degree, --cushion, --safety and --method are checked by the schedule itself: its
  // refusals are option errors (exit status 2), made before any file is read.
  polar::ScheduleOptions check = o;
  check.steps = 1;
  try {
    polar::make_schedule(check);
  } catch (const InvalidArgument& e) {
    throw UsageError(e.what());
  }
  if (o.method == polar::Method::muon && default_steps == 0 && o.steps == 0)
    throw UsageError(
        "--method muon needs --steps T: the Muon polynomial does not converge to the polar factor "
        "(it keeps singular values in about [0.7, 1.2])");
  return o;
}

int run_schedule(Args& args, Context& context) {
  auto o = schedule_options(args, 8);
  args.finish();
  if (o.steps < 1)
    throw UsageError("option '--steps' must be >= 1 for a schedule, got " +
                     std::to_string(o.steps));
  const auto schedule = polar::make_schedule(o);
  if (context.json) {
    Json steps = Json::array();
    for (const auto& s : schedule.steps) {
      steps.push(Json::object()
                     .add("a", s.a)
                     .add("b", s.b)
                     .add("c", s.c)
                     .add("lower", s.lower)
                     .add("upper", s.upper)
                     .add("bound", s.bound));
    }
    Json out = Json::object();
    out.add("command", "polar schedule")
        .add("status", "ok")
        .add("method", polar::method_name(schedule.method))
        .add("degree", schedule.degree)
        .add("lower", schedule.lower)
        .add("cushion", schedule.cushion)
        .add("safety", schedule.safety)
        .add("steps", steps);
    context.print(out.str() + "\n");
  } else {
    context.print(schedule.describe());
  }
  return 0;
}

#if STRATA_HAVE_HDF5
/// Whether an iteration met what was asked: --tol EPS (error <= EPS) or, without --tol and
/// --steps, working precision (the library's stagnation test). Fixed --steps ask for no accuracy.
bool accuracy_met(const polar::IterationOptions& options, bool converged, double error) {
  if (options.steps > 0) return true;
  return converged && (options.tolerance == 0 || error <= options.tolerance);
}

/// The warning for a missed accuracy.
std::string accuracy_warning(const polar::IterationOptions& options, int iterations, double error,
                             const char* error_name) {
  std::ostringstream out;
  out << "the requested accuracy was not met: " << error_name << " = " << error << " after "
      << iterations << " steps, ";
  if (options.tolerance > 0) {
    out << "above --tol " << options.tolerance;
  } else {
    out << "short of working precision";
  }
  out << " (the result was written; raise --max-steps, lower --lower, or use fp64)";
  return out.str();
}

/// A 3-D dataset: a batch of matrices, each rank taking a share of whole matrices.
template <class T>
int run_batch(const std::string& operation, const io::DatasetPath& input,
              const io::DatasetPath& output, const polar::IterationOptions& options,
              Context& context, std::chrono::steady_clock::time_point start) {
  const Comm& comm = context.comm;
  if (operation != "factor") {
    STRATA_THROW(Unsupported,
                 "batched (3-D) input is supported for the polar factor only, not for '", operation,
                 "'");
  }
  const auto a = io::read_batch<T>(comm, input);
  io::DistBatch<T> q{
      Batch<T>("strata::cli::Qbatch", a.local.extent(0), a.local.extent(1), a.local.extent(2)),
      a.layout};
  const auto result = collective(comm, [&] {
    polar::BatchedIterationResult r;
    if (a.local.extent(2) > 0)
      r = polar::polar_factor_batched<T>(ExecSpace(), a.local, q.local, options);
    return std::make_tuple(r.iterations, r.max_error, r.converged ? 1 : 0);
  });
  const int iterations = comm.allreduce(std::get<0>(result), ReduceOp::max);
  const double error = comm.allreduce(std::get<1>(result), ReduceOp::max);
  const bool met =
      accuracy_met(options, comm.allreduce(std::get<2>(result), ReduceOp::min) == 1, error);
  io::FileWriter writer(comm, output.file);
  writer.write(output.dataset, q);
  writer.set_attribute(output.dataset, "operation", operation);
  writer.set_attribute(output.dataset, "method", std::string(polar::method_name(options.method)));
  writer.set_attribute(output.dataset, "iterations", static_cast<double>(iterations));
  writer.set_attribute(output.dataset, "error", error);
  writer.commit();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto count = a.layout.global_rows();
  if (context.json) {
    Json out = Json::object();
    out.add("command", "polar factor")
        .add("status", met ? "ok" : "inaccurate")
        .add("method", polar::method_name(options.method))
        .add("precision", std::is_same_v<T, double> ? "fp64" : "fp32")
        .add("batch", static_cast<long long>(count))
        .add("rows", static_cast<long long>(a.local.extent(0)))
        .add("cols", static_cast<long long>(a.local.extent(1)))
        .add("iterations", iterations)
        .add("orthogonality_error", error)
        .add("error_measure", "max over the batch of ||Q_i^T Q_i - I||_F")
        .add("mpi_ranks", comm.size())
        .add("time_s", seconds);
    context.print(out.str() + "\n");
  } else {
    std::ostringstream out;
    out << "strata polar factor: batch of " << count << " matrices " << a.local.extent(0) << " x "
        << a.local.extent(1) << " " << input.str() << " -> " << output.str() << "\n  "
        << polar::method_name(options.method) << ", " << iterations
        << " iterations, max ||Q_i^T Q_i - I||_F = " << error << ", " << seconds << " s on "
        << comm.size() << " rank" << (comm.size() > 1 ? "s" : "") << "\n";
    context.print(out.str());
  }
  if (!met)
    return context.inaccurate(
        accuracy_warning(options, iterations, error, "max ||Q_i^T Q_i - I||_F"));
  return exit_ok;
}

/// bf16: the matrix is read as fp32, rounded to bf16 on the device, orthogonalized with bf16
/// storage and fp32 accumulation, and written as fp32 (HDF5 and numpy have no standard bf16 type).
int run_bf16(const std::string& operation, const io::DatasetPath& input,
             const io::DatasetPath& output, const polar::IterationOptions& options,
             Context& context) {
  if (operation != "factor")
    STRATA_THROW(Unsupported, "bf16 is supported for the polar factor only, not '", operation, "'");
  const Comm& comm = context.comm;
  const ExecSpace exec;
  const auto start = std::chrono::steady_clock::now();
  const auto a = io::read_matrix<float>(comm, input);
  Matrix<kx::bf16> ab("strata::cli::A_bf16", a.extent(0), a.extent(1)),
      qb("strata::cli::Q_bf16", a.extent(0), a.extent(1));
  Matrix<float> q("strata::cli::Q", a.extent(0), a.extent(1));
  const auto rows = a.extent(0);
  Kokkos::parallel_for(
      "strata::cli::to_bf16", Kokkos::RangePolicy<ExecSpace>(exec, 0, a.size()),
      KOKKOS_LAMBDA(const std::size_t k) {
        ab(k % rows, k / rows) = kx::to_bf16(a(k % rows, k / rows));
      });
  const auto result = polar::polar_factor_bf16(exec, ab, qb, options);
  Kokkos::parallel_for(
      "strata::cli::from_bf16", Kokkos::RangePolicy<ExecSpace>(exec, 0, q.size()),
      KOKKOS_LAMBDA(const std::size_t k) {
        q(k % rows, k / rows) = kx::from_bf16(qb(k % rows, k / rows));
      });
  io::FileWriter writer(comm, output.file);
  writer.write(output.dataset, ConstMatrix<float>(q));
  writer.set_attribute(output.dataset, "precision", std::string("bf16 (stored as float32)"));
  writer.set_attribute(output.dataset, "iterations", static_cast<double>(result.iterations));
  writer.commit();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (context.json) {
    Json out = Json::object();
    out.add("command", "polar factor")
        .add("status", accuracy_met(options, result.converged, result.error) ? "ok" : "inaccurate")
        .add("method", polar::method_name(options.method))
        .add("precision", "bf16")
        .add("rows", static_cast<long long>(a.extent(0)))
        .add("cols", static_cast<long long>(a.extent(1)))
        .add("iterations", result.iterations)
        .add("orthogonality_error", result.error)
        .add("time_s", seconds);
    context.print(out.str() + "\n");
  } else {
    std::ostringstream out;
    out << "strata polar factor (bf16): " << a.extent(0) << " x " << a.extent(1) << ", "
        << result.iterations << " iterations, ||Q^T Q - I||_F = " << result.error << ", " << seconds
        << " s\n";
    context.print(out.str());
  }
  if (!accuracy_met(options, result.converged, result.error))
    return context.inaccurate(
        accuracy_warning(options, result.iterations, result.error, "||Q^T Q - I||_F"));
  return exit_ok;
}

template <class T>
int run_operation(const std::string& operation, const io::DatasetPath& input,
                  const io::DatasetPath& output, const polar::IterationOptions& options,
                  Context& context) {
  const Comm& comm = context.comm;
  const ExecSpace exec;
  const auto start = std::chrono::steady_clock::now();
  const auto info = io::inspect(comm, input);
  if (info.shape.size() == 3)
    return run_batch<T>(operation, input, output, options, context, start);
  if (info.shape.size() != 2) {
    STRATA_THROW(ShapeMismatch, "dataset '", input.str(), "' has ", info.shape.size(),
                 "-D shape; expected a 2-D matrix or a 3-D batch (batch, rows, cols)");
  }
  const index_type rows = info.shape[0], cols = info.shape[1];
  polar::IterationResult result;
  io::FileWriter writer(comm, output.file);
  if (operation == "factor" && rows >= cols) {
    // Tall or square: block rows over the ranks, one n x n allreduce per step.
    const auto a = io::read_dist_matrix<T>(comm, input);
    DistMatrix<T> q(comm, a.layout(), cols, "strata::cli::Q");
    result = polar::polar_factor<T>(exec, a, q, options);
    writer.write(output.dataset, q);
  } else {
    // Wide polar factors, sign and square roots: the matrix is replicated and every rank computes
    // the same result (rank 0 writes it).
    const auto a = io::read_matrix<T>(comm, input);
    Matrix<T> out("strata::cli::out", a.extent(0), a.extent(1));
    if (operation == "factor") {
      result = polar::polar_factor<T>(exec, a, out, options);
    } else if (operation == "sign") {
      result = polar::matrix_sign<T>(exec, a, out, options);
    } else if (operation == "sqrt") {
      result = polar::sqrt_and_inverse_sqrt<T>(exec, a, out, Matrix<T>(), options);
    } else {
      result = polar::sqrt_and_inverse_sqrt<T>(exec, a, Matrix<T>(), out, options);
    }
    writer.write(output.dataset, ConstMatrix<T>(out));
  }
  writer.set_attribute(output.dataset, "operation", operation);
  writer.set_attribute(output.dataset, "method", std::string(polar::method_name(options.method)));
  writer.set_attribute(output.dataset, "iterations", static_cast<double>(result.iterations));
  writer.set_attribute(output.dataset, "error", result.error);
  writer.commit();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const char* error_name = operation == "factor" ? "||Q^T Q - I||_F"
                           : operation == "sign" ? "||S^2 - I||_F"
                                                 : "||Z Y - I||_F";
  const bool met = accuracy_met(options, result.converged, result.error);
  if (context.json) {
    Json phases = Json::object();
    for (const auto& [name, s] : result.timings.phases()) phases.add(name, s);
    Json out = Json::object();
    out.add("command", "polar " + operation)
        .add("status", met ? "ok" : "inaccurate")
        .add("method", polar::method_name(options.method))
        .add("precision", std::is_same_v<T, double> ? "fp64" : "fp32")
        .add("rows", static_cast<long long>(rows))
        .add("cols", static_cast<long long>(cols))
        .add("iterations", result.iterations)
        .add("orthogonality_error", result.error)
        .add("error_measure", error_name)
        .add("scale", result.scale)
        .add("mpi_ranks", comm.size())
        .add("time_s", seconds)
        .add("phases", phases);
    context.print(out.str() + "\n");
  } else {
    std::ostringstream out;
    out << "strata polar " << operation << ": " << rows << " x " << cols << " " << input.str()
        << " -> " << output.str() << "\n  " << polar::method_name(options.method) << ", "
        << (std::is_same_v<T, double> ? "fp64" : "fp32") << ", " << result.iterations
        << " iterations, " << error_name << " = " << result.error << ", " << seconds << " s on "
        << comm.size() << " rank" << (comm.size() > 1 ? "s" : "") << "\n";
    context.print(out.str());
  }
  if (!met)
    return context.inaccurate(
        accuracy_warning(options, result.iterations, result.error, error_name));
  return exit_ok;
}
#endif

}  // namespace

int run_polar(Args& args, Context& context) {
  std::string operation = "factor";
  if (const auto first = args.positional()) operation = *first;
  if (operation != "factor" && operation != "sign" && operation != "sqrt" &&
      operation != "invsqrt" && operation != "schedule") {
    throw UsageError("unknown operation '" + operation +
                     "'; expected factor, sign, sqrt, invsqrt or schedule");
  }
  context.command = "polar " + operation;
  if (operation == "schedule") return run_schedule(args, context);
  // Options are parsed and checked in every build, so that an option error exits 2 (a usage
  // error) also where the build cannot run the command.
  const auto input = args.value("--input");
  const auto output = args.value("--output");
  const auto precision = args.value("--precision").value_or("fp64");
  const bool steps_given = args.has("--steps");
  const auto sched = schedule_options(args, 0);
  const bool tolerance_given = args.has("--tol");
  const double tolerance = args.real("--tol", 0.0, 0.0);
  const auto max_steps = args.integer("--max-steps", 60, 1, 1000);
  const bool spectral = args.flag("--spectral-scaling");
  args.finish();
  if (!input) throw UsageError("option '--input FILE.h5:/DATASET' is required");
  if (!output) throw UsageError("option '--output FILE.h5:/DATASET' is required");
  if (steps_given && sched.steps == 0)
    throw UsageError("option '--steps' must be >= 1 (omit it to iterate to --tol)");
  if (steps_given && tolerance_given)
    throw UsageError(
        "options '--steps' and '--tol' exclude each other: --steps T takes exactly T steps "
        "whatever the error, --tol EPS iterates until the error is <= EPS");
  if (tolerance_given && !(tolerance > 0))
    throw UsageError("option '--tol' must be > 0 (omit it to iterate to working precision)");
  polar::IterationOptions options;
  options.method = sched.method;
  options.degree = sched.degree;
  options.lower = sched.lower;
  options.steps = sched.steps;
  options.cushion = sched.cushion;
  options.safety = sched.safety;
  options.tolerance = tolerance;
  options.max_steps = static_cast<int>(max_steps);
  options.scaling = spectral ? polar::Scaling::spectral_estimate : polar::Scaling::frobenius;
  // A missed tolerance still writes the iterate, with exit status 3 and a warning.
  options.throw_if_not_converged = false;
#if STRATA_HAVE_HDF5
  io::DatasetPath in, out;
  try {
    in = io::DatasetPath::parse(*input);
    out = io::DatasetPath::parse(*output, "/" + std::string(operation == "factor" ? "Q"
                                                            : operation == "sign" ? "S"
                                                                                  : "X"));
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  if (precision == "fp64") return run_operation<double>(operation, in, out, options, context);
  if (precision == "fp32") return run_operation<float>(operation, in, out, options, context);
  if (precision == "bf16") {
    return run_bf16(operation, in, out, options, context);
  }
  throw UsageError("option '--precision' must be fp64, fp32 or bf16, got '" + precision + "'");
#else
  (void)context;
  (void)options;
  STRATA_THROW(Unsupported,
               "strata polar " + operation + " reads and writes HDF5, and this build has no HDF5");
#endif
}

}  // namespace strata::cli
