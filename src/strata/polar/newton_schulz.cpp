#include "strata/polar/newton_schulz.hpp"
#include "strata/polar/detail/iteration.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "strata/core/checks.hpp"
#include "strata/core/scratch.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/linalg/norms.hpp"
#include "strata/linalg/syrk.hpp"

namespace strata::polar {

namespace detail {

/// The schedule of an iteration. Fixed steps: exactly that many steps (the last one without the
/// safety factor). Tolerance mode: Polar Express steps until their design interval has converged to
/// a point (the Pade limit), the last of them unscaled; the iteration then repeats that last step,
/// the classical Newton-Schulz polynomial, which converges to 1 exactly (a safety-scaled step would
/// stall at its fixed point ~1 - 2e-6 instead).
const Schedule& schedule_for(const IterationOptions& o) {
  ScheduleOptions s;
  s.method = o.method;
  s.degree = o.degree;
  s.lower = o.lower;
  s.cushion = o.cushion;
  s.safety = o.safety;
  if (o.steps > 0) {
    s.steps = o.steps;
    return cached_schedule(s);
  }
  if (o.method != Method::polar_express) {
    s.steps = 1;
    return cached_schedule(s);
  }
  s.steps = o.max_steps;
  const Schedule& full = cached_schedule(s);
  for (std::size_t t = 0; t < full.steps.size(); ++t) {
    if (full.steps[t].lower >= 1 - 1e-5) {
      s.steps = static_cast<int>(t) + 1;
      break;
    }
  }
  return cached_schedule(s);
}

void check_options(const IterationOptions& o) {
  STRATA_REQUIRE(o.steps >= 0, InvalidArgument, "the number of steps must be >= 0, got ", o.steps);
  STRATA_REQUIRE(o.tolerance >= 0 && std::isfinite(o.tolerance), InvalidArgument,
                 "the tolerance must be >= 0 and finite, got ", o.tolerance);
  STRATA_REQUIRE(o.max_steps >= 1, InvalidArgument, "max_steps must be >= 1, got ", o.max_steps);
  STRATA_REQUIRE(o.safety >= 1, InvalidArgument, "the safety factor must be >= 1, got ", o.safety);
  STRATA_REQUIRE(
      o.method != Method::muon || o.steps > 0, InvalidArgument,
      "the Muon polynomial does not converge to the polar factor (it keeps singular values in "
      "about [0.7, 1.2]); give a fixed number of steps");
  STRATA_REQUIRE(o.scaling != Scaling::spectral_estimate || o.power_iterations >= 1,
                 InvalidArgument, "spectral_estimate scaling needs power_iterations >= 1, got ",
                 o.power_iterations);
}

}  // namespace detail

using detail::check_options;
using detail::schedule_for;
using detail::StoppingRule;

namespace {

// ---- small device kernels -----------------------------------------------------------------------

/// sum_ij (G - I)_ij^2 for a square G, accumulated in double (linalg::distance_to_identity's
/// sum, into a device slot for DeferredErrors).
template <class T>
struct SquaredDistanceToIdentity {
  Matrix<T> g;
  std::size_t n;
  KOKKOS_INLINE_FUNCTION void operator()(const std::size_t k, double& s) const {
    const std::size_t i = k % n, j = k / n;
    const double d = static_cast<double>(g(i, j)) - (i == j ? 1.0 : 0.0);
    s += d * d;
  }
};

/// The errors of run_iteration's fixed-step mode, measured without waiting: each squared distance
/// ||G - I||_F^2 is reduced into a device slot, and all are read back once at the end.
struct DeferredErrors {
  Kokkos::View<double*, MemSpace> squares;

  void reserve(const ExecSpace& exec, int count) {
    squares =
        Kokkos::View<double*, MemSpace>(Kokkos::view_alloc(exec, "strata::polar::deferred_errors"),
                                        static_cast<std::size_t>(count));
  }
  /// The same with the slots in `scratch` (core/scratch.hpp).
  void reserve(strata::detail::Scratch& scratch, int count) {
    squares = scratch.zeroed<Kokkos::View<double*, MemSpace>>(static_cast<std::size_t>(count));
  }
  template <class T>
  void record(const ExecSpace& exec, const Matrix<T>& g, int slot) {
    const auto n = g.extent(0);
    Kokkos::View<double, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> result(squares.data() +
                                                                                   slot);
    Kokkos::parallel_reduce("strata::polar::distance_to_identity",
                            Kokkos::RangePolicy<ExecSpace>(exec, 0, n * n),
                            SquaredDistanceToIdentity<T>{g, n}, result);
  }
  std::vector<double> read(const ExecSpace& exec, int count) const {
    auto host = Kokkos::create_mirror_view(Kokkos::HostSpace(), squares);
    Kokkos::deep_copy(exec, host, squares);
    kx::fence(exec, "strata::polar::deferred_errors");
    std::vector<double> errors(static_cast<std::size_t>(count));
    for (std::size_t t = 0; t < errors.size(); ++t) errors[t] = std::sqrt(host(t));
    return errors;
  }
};

/// out = a I + b G (G square, out distinct from G): the linear part of the step's polynomial.
template <class T>
void linear_part(const ExecSpace& exec, const Matrix<T>& g, const Step& p, const Matrix<T>& out) {
  const auto n = g.extent(0);
  const T a = static_cast<T>(p.a), b = static_cast<T>(p.b);
  Kokkos::parallel_for(
      "strata::polar::polynomial", Kokkos::RangePolicy<ExecSpace>(exec, 0, n * n),
      KOKKOS_LAMBDA(const std::size_t k) {
        const std::size_t i = k % n, j = k / n;
        out(i, j) = b * g(i, j) + (i == j ? a : T(0));
      });
}

/// out = a I + b G + c G^2 (G square, out distinct from G): the linear part first, then the square
/// added by the GEMM's beta = 1 (no separate axpby pass).
template <class T>
void polynomial_of(const ExecSpace& exec, const Matrix<T>& g, const Step& p, const Matrix<T>& out) {
  linear_part(exec, g, p, out);
  if (p.c != 0) linalg::gemm(exec, "N", "N", static_cast<T>(p.c), g, g, T(1), out);
}

/// The same for a symmetric G (a Gram matrix X^T X): G^2 = G^T G is a symmetric rank-k product
/// (half the multiply-adds of the GEMM), added to the symmetric linear part by its beta = 1.
template <class T>
void symmetric_polynomial_of(const ExecSpace& exec, const Matrix<T>& g, const Step& p,
                             const Matrix<T>& out) {
  linear_part(exec, g, p, out);
  if (p.c != 0) linalg::syrk(exec, 'T', static_cast<T>(p.c), ConstMatrix<T>(g), T(1), out);
}

/// Overflow- and underflow-free scaling. A matrix with entries anywhere in the floating-point
/// range (up to ~1e308, or subnormal ~1e-310) has a Frobenius norm whose square over- or
/// underflows; with amax = max |a_ij|, the norm is amax * sqrt(sum (a_ij / amax)^2), where
/// a_ij / amax <= 1 and the sum is in [1, m n]. Squares that underflow are below (eps^2)^8 of the
/// largest one and change nothing.
template <class View>
double max_abs(const ExecSpace& exec, const View& a) {
  const auto rows = a.extent(0);
  double result = 0;
  Kokkos::parallel_reduce(
      "strata::polar::max_abs", Kokkos::RangePolicy<ExecSpace>(exec, 0, a.extent(0) * a.extent(1)),
      KOKKOS_LAMBDA(const std::size_t k, double& m) {
        const double v = static_cast<double>(a(k % rows, k / rows));
        const double magnitude = v < 0 ? -v : v;
        if (magnitude > m) m = magnitude;
      },
      Kokkos::Max<double>(result));
  return result;
}

/// sum (a_ij / amax)^2 in double.
template <class View>
double relative_sum_of_squares(const ExecSpace& exec, const View& a, double amax) {
  const auto rows = a.extent(0);
  double sum = 0;
  Kokkos::parallel_reduce(
      "strata::polar::relative_sum_of_squares",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, a.extent(0) * a.extent(1)),
      KOKKOS_LAMBDA(const std::size_t k, double& s) {
        const double v = static_cast<double>(a(k % rows, k / rows)) / amax;
        s += v * v;
      },
      sum);
  return sum;
}

/// x = a / (amax * relative), evaluated as (a / amax) / relative in double: no intermediate
/// over- or underflows, whatever the magnitude of amax (amax >= max |a_ij|, relative >= 1).
template <class T, class Source>
void divide_into(const ExecSpace& exec, const Source& a, double amax, double relative,
                 const Matrix<T>& x) {
  const auto rows = a.extent(0);
  Kokkos::parallel_for(
      "strata::polar::divide", Kokkos::RangePolicy<ExecSpace>(exec, 0, a.extent(0) * a.extent(1)),
      KOKKOS_LAMBDA(const std::size_t k) {
        x(k % rows, k / rows) =
            static_cast<T>(static_cast<double>(a(k % rows, k / rows)) / amax / relative);
      });
}

/// The scale of a replicated square input: X_0 = A / (amax * relative), relative = safety *
/// ||A||_F / amax. Throws InvalidArgument (with `zero_message`) for the zero matrix.
struct InputScale {
  double amax = 0, relative = 0;
  double value() const { return amax * relative; }
  /// sqrt(value()) without overflow.
  double root() const { return std::sqrt(amax) * std::sqrt(relative); }
};

template <class T>
InputScale frobenius_scale(const ExecSpace& exec, const ConstMatrix<T>& a, double safety,
                           const char* zero_message) {
  InputScale s;
  s.amax = max_abs(exec, a);
  STRATA_REQUIRE(s.amax > 0, InvalidArgument, zero_message);
  s.relative = safety * std::sqrt(relative_sum_of_squares(exec, a, s.amax));
  return s;
}

/// x = factor * a.
template <class T, class Source>
void scale_into(const ExecSpace& exec, const Source& a, T factor, const Matrix<T>& x) {
  const auto rows = a.extent(0);
  Kokkos::parallel_for(
      "strata::polar::scale", Kokkos::RangePolicy<ExecSpace>(exec, 0, a.extent(0) * a.extent(1)),
      KOKKOS_LAMBDA(const std::size_t k) {
        x(k % rows, k / rows) = factor * a(k % rows, k / rows);
      });
}

template <class T>
void transpose_into(const ExecSpace& exec, const ConstMatrix<T>& a, const Matrix<T>& at) {
  const auto rows = a.extent(0);
  Kokkos::parallel_for(
      "strata::polar::transpose",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, a.extent(0) * a.extent(1)),
      KOKKOS_LAMBDA(const std::size_t k) { at(k / rows, k % rows) = a(k % rows, k / rows); });
}

template <class T>
void set_identity(const ExecSpace& exec, const Matrix<T>& x) {
  const auto n = x.extent(0);
  Kokkos::parallel_for(
      "strata::polar::identity", Kokkos::RangePolicy<ExecSpace>(exec, 0, n * n),
      KOKKOS_LAMBDA(const std::size_t k) { x(k % n, k / n) = (k % n == k / n) ? T(1) : T(0); });
}

// ---- the iteration ------------------------------------------------------------------------------

/// Largest singular value estimate of a tall distributed X by power iteration on X^T X.
template <class T>
double spectral_estimate(const ExecSpace& exec, const DistMatrix<T>& x, int iterations) {
  const index_type n = x.cols();
  Matrix<T> v("strata::polar::power_v", static_cast<std::size_t>(n), 1);
  fill_random(exec, RandomStream{Distribution::gaussian, 0x5eed, 0}, v);
  DistMatrix<T> xv(x.comm(), x.layout(), 1, "strata::polar::power_xv");
  Matrix<T> w("strata::polar::power_w", static_cast<std::size_t>(n), 1);
  double sigma = 0;
  for (int k = 0; k < iterations; ++k) {
    const double norm_v = linalg::frobenius_norm(exec, v);
    multiply_replicated<T>(exec, x, v, xv);
    inner_product(exec, x, xv, w);  // w = X^T X v
    const double norm_w = linalg::frobenius_norm(exec, w);
    if (norm_w == 0) return 0;
    sigma = std::sqrt(norm_w / norm_v);
    scale_into<T>(exec, w, static_cast<T>(1.0 / norm_w), v);
  }
  return sigma;
}

/// Products of the polar iteration on a block-row distributed tall X (the dense case is one
/// rank): G = X^T X is a local GEMM and one n x n allreduce, the polynomial is replicated, and
/// X <- X P is a local GEMM.
/// Its buffers come from the scratch cache (core/scratch.hpp), zero-filled as the allocations they
/// replace were: repeated calls of one shape allocate nothing after the first.
template <class T>
struct DistributedProducts {
  DistributedProducts(const ExecSpace& exec_, const DistMatrix<T>& x)
      : exec(exec_),
        scratch(exec_),
        current(x),
        next(x.comm(), x.layout(),
             scratch.zeroed<Matrix<T>>(x.local().extent(0), static_cast<std::size_t>(x.cols()))),
        gram_matrix(scratch.zeroed<Matrix<T>>(static_cast<std::size_t>(x.cols()),
                                              static_cast<std::size_t>(x.cols()))),
        poly(scratch.zeroed<Matrix<T>>(static_cast<std::size_t>(x.cols()),
                                       static_cast<std::size_t>(x.cols()))) {}

  double gram() {
    strata::gram(exec, current, gram_matrix);
    return linalg::distance_to_identity(exec, gram_matrix);
  }
  void defer_errors(int count) { errors.reserve(scratch, count); }
  void gram_deferred(int slot) {
    strata::gram(exec, current, gram_matrix);
    errors.record(exec, gram_matrix, slot);
  }
  std::vector<double> deferred_errors(int count) const { return errors.read(exec, count); }
  double trace() { return linalg::trace(exec, gram_matrix); }
  void polynomial(const Step& p) { symmetric_polynomial_of<T>(exec, gram_matrix, p, poly); }
  void update() {
    multiply_replicated<T>(exec, current, poly, next);
    std::swap(current, next);
  }

  ExecSpace exec;
  strata::detail::Scratch scratch;  ///< before the Views: its buffers outlive them
  DistMatrix<T> current, next;
  Matrix<T> gram_matrix, poly;
  DeferredErrors errors;
};

template <class T>
IterationResult polar_distributed(const ExecSpace& exec, const DistMatrix<T>& a,
                                  const DistMatrix<T>& q, const IterationOptions& o,
                                  const char* what) {
  IterationResult result;
  const Comm& comm = a.comm();
  const index_type n = a.cols();
  const Schedule* schedule = nullptr;
  collective(comm, [&] {
    check_options(o);
    STRATA_REQUIRE(a.global_rows() >= n, ShapeMismatch, what,
                   ": a distributed input must be tall (rows >= cols), got ", a.global_rows(),
                   " x ", n);
    STRATA_REQUIRE(n > 0, InvalidArgument, what, ": the input is empty (", a.global_rows(), " x ",
                   n, "); expected at least one column");
    STRATA_REQUIRE(q.layout() == a.layout() && q.cols() == n, ShapeMismatch, what,
                   ": the output must have the input's shape and row distribution (",
                   a.global_rows(), " x ", n, ")");
    require_finite(exec, a.local(), std::string(what) + ": the input");
    schedule = &schedule_for(o);
  });
  {
    // Without overflow or underflow (see max_abs): the largest entry first, then the norm of
    // A / amax.
    auto phase = result.timings.scope("scale");
    const double amax = comm.allreduce(max_abs(exec, a.local()), ReduceOp::max);
    STRATA_REQUIRE(amax > 0, InvalidArgument, what,
                   ": the input is the zero matrix; its polar factor is not unique");
    double relative = 0;
    if (o.scaling == Scaling::frobenius) {
      relative =
          std::sqrt(comm.allreduce(relative_sum_of_squares(exec, a.local(), amax), ReduceOp::sum));
      divide_into<T>(exec, a.local(), amax, relative * o.safety, q.local());
    } else {
      divide_into<T>(exec, a.local(), amax, 1.0, q.local());
      relative = spectral_estimate(exec, q, o.power_iterations);
      STRATA_REQUIRE(relative > 0, InvalidArgument, what,
                     ": the power iteration found no nonzero singular value; the input is zero "
                     "to working precision");
      scale_into<T>(exec, q.local(), static_cast<T>(1.0 / (relative * o.safety)), q.local());
    }
    result.scale = amax * relative * o.safety;
  }
  StoppingRule rule(o, *schedule, n, what, std::numeric_limits<T>::epsilon() / 2, a.global_rows());
  DistributedProducts<T> products(exec, q);
  Progress progress(what, o.steps > 0 ? o.steps : o.max_steps, comm.rank());
  const auto outcome =
      detail::run_iteration(products, o, rule, result.error_history, result.timings, &progress);
  result.iterations = outcome.iterations;
  result.error = outcome.error;
  result.converged = outcome.converged;
  const DistMatrix<T>& current = products.current;
  if (current.local().data() != q.local().data())
    Kokkos::deep_copy(exec, q.local(), current.local());
  kx::fence(exec, "strata::polar::done");
  return result;
}

/// Products of the sign iteration on a square X: G = X^2, X <- X p(X^2) (X and X^2 commute, so the
/// order of the update product needs no care).
template <class T>
struct SignProducts {
  double gram() {
    linalg::gemm(exec, "N", "N", T(1), x, x, T(0), square);
    return linalg::distance_to_identity(exec, square);
  }
  void defer_errors(int count) { errors.reserve(exec, count); }
  void gram_deferred(int slot) {
    linalg::gemm(exec, "N", "N", T(1), x, x, T(0), square);
    errors.record(exec, square, slot);
  }
  std::vector<double> deferred_errors(int count) const { return errors.read(exec, count); }
  double trace() { return linalg::trace(exec, square); }
  void polynomial(const Step& p) { polynomial_of<T>(exec, square, p, poly); }
  void update() {
    linalg::gemm(exec, "N", "N", T(1), x, poly, T(0), next);
    std::swap(x, next);
  }

  ExecSpace exec;
  Matrix<T> x, next, square, poly;
  DeferredErrors errors{};
};

/// Products of the coupled square-root iteration: G = Z Y, Y <- Y h(G), Z <- h(G) Z.
template <class T>
struct SqrtProducts {
  double gram() {
    linalg::gemm(exec, "N", "N", T(1), z, y, T(0), m);
    return linalg::distance_to_identity(exec, m);
  }
  void defer_errors(int count) { errors.reserve(exec, count); }
  void gram_deferred(int slot) {
    linalg::gemm(exec, "N", "N", T(1), z, y, T(0), m);
    errors.record(exec, m, slot);
  }
  std::vector<double> deferred_errors(int count) const { return errors.read(exec, count); }
  double trace() { return linalg::trace(exec, m); }
  void polynomial(const Step& p) { polynomial_of<T>(exec, m, p, poly); }
  void update() {
    linalg::gemm(exec, "N", "N", T(1), y, poly, T(0), next);
    std::swap(y, next);
    linalg::gemm(exec, "N", "N", T(1), poly, z, T(0), next);
    std::swap(z, next);
  }

  ExecSpace exec;
  Matrix<T> y, z, m, poly, next;
  DeferredErrors errors{};
};

}  // namespace

// ---- public entry points ------------------------------------------------------------------------

template <class T>
IterationResult polar_factor(const ExecSpace& exec, const DistMatrix<T>& a, const DistMatrix<T>& q,
                             const IterationOptions& options) {
  return polar_distributed(exec, a, q, options, "polar_factor");
}

template <class T>
IterationResult polar_factor(const ExecSpace& exec, const ConstMatrix<T>& a, const Matrix<T>& q,
                             const IterationOptions& options, const Matrix<T>& hermitian) {
  const auto m = static_cast<index_type>(a.extent(0)), n = static_cast<index_type>(a.extent(1));
  require_shape(q, m, n, "polar_factor: Q");
  STRATA_REQUIRE(q.data() != a.data() || a.size() == 0, InvalidArgument,
                 "polar_factor: Q may not alias A");
  STRATA_REQUIRE(hermitian.size() == 0 || m >= n, InvalidArgument,
                 "polar_factor: the Hermitian factor H = Q^T A is available for m >= n only, got ",
                 m, " x ", n);
  if (hermitian.size() != 0) require_shape(hermitian, n, n, "polar_factor: H");
  const Comm self = Comm::self();
  IterationResult result;
  strata::detail::Scratch scratch(exec);  // the copies below (core/scratch.hpp)
  if (m >= n) {
    const BlockRowLayout layout(m, 1);
    const auto a_copy = scratch.uninitialized<Matrix<T>>(a.extent(0), a.extent(1));
    Kokkos::deep_copy(exec, a_copy, a);
    result = polar_distributed(exec, DistMatrix<T>(self, layout, a_copy),
                               DistMatrix<T>(self, layout, q), options, "polar_factor");
    if (hermitian.size() != 0) {
      linalg::gemm(exec, "T", "N", T(1), q, a, T(0), hermitian);
      // H is symmetric in exact arithmetic; symmetrize the rounding.
      const auto size = hermitian.extent(0);
      Kokkos::parallel_for(
          "strata::polar::symmetrize", Kokkos::RangePolicy<ExecSpace>(exec, 0, size * size),
          KOKKOS_LAMBDA(const std::size_t k) {
            const std::size_t i = k % size, j = k / size;
            if (i < j) {
              const T mean = (hermitian(i, j) + hermitian(j, i)) / T(2);
              hermitian(i, j) = mean;
              hermitian(j, i) = mean;
            }
          });
    }
  } else {
    // polar(A) = polar(A^T)^T: iterate on the tall transpose, whose Gram matrix is the small one.
    const auto at = scratch.uninitialized<Matrix<T>>(a.extent(1), a.extent(0));
    const auto qt = scratch.uninitialized<Matrix<T>>(a.extent(1), a.extent(0));
    transpose_into<T>(exec, a, at);
    const BlockRowLayout layout(n, 1);
    result = polar_distributed(exec, DistMatrix<T>(self, layout, at),
                               DistMatrix<T>(self, layout, qt), options, "polar_factor");
    transpose_into<T>(exec, qt, q);
  }
  kx::fence(exec, "strata::polar_factor");
  return result;
}

template <class T>
IterationResult matrix_sign(const ExecSpace& exec, const ConstMatrix<T>& a, const Matrix<T>& s,
                            const IterationOptions& o) {
  const auto n = static_cast<index_type>(a.extent(0));
  check_options(o);
  STRATA_REQUIRE(a.extent(0) == a.extent(1), ShapeMismatch, "matrix_sign: A is ", a.extent(0),
                 " x ", a.extent(1), "; expected a square matrix");
  require_nonempty(a, "matrix_sign: A");
  require_shape(s, n, n, "matrix_sign: S");
  require_finite(exec, a, "matrix_sign: A");
  IterationResult result;
  const Schedule& schedule = schedule_for(o);
  const auto scale = frobenius_scale<T>(exec, a, o.safety,
                                        "matrix_sign: A is the zero matrix; its sign is undefined");
  result.scale = scale.value();
  Matrix<T> x("strata::sign::X", a.extent(0), a.extent(1)),
      next("strata::sign::next", a.extent(0), a.extent(1));
  Matrix<T> square("strata::sign::X2", a.extent(0), a.extent(1)),
      poly("strata::sign::poly", a.extent(0), a.extent(1));
  divide_into<T>(exec, a, scale.amax, scale.relative, x);
  StoppingRule rule(o, schedule, n, "matrix_sign", std::numeric_limits<T>::epsilon() / 2);
  SignProducts<T> products{exec, x, next, square, poly, {}};
  const auto outcome =
      detail::run_iteration(products, o, rule, result.error_history, result.timings);
  result.iterations = outcome.iterations;
  result.error = outcome.error;
  result.converged = outcome.converged;
  x = products.x;
  Kokkos::deep_copy(exec, s, x);
  kx::fence(exec, "strata::matrix_sign");
  return result;
}

template <class T>
IterationResult sqrt_and_inverse_sqrt(const ExecSpace& exec, const ConstMatrix<T>& a,
                                      const Matrix<T>& sqrt_a, const Matrix<T>& inverse_sqrt_a,
                                      const IterationOptions& o) {
  const auto n = static_cast<index_type>(a.extent(0));
  check_options(o);
  STRATA_REQUIRE(a.extent(0) == a.extent(1), ShapeMismatch, "sqrt: A is ", a.extent(0), " x ",
                 a.extent(1), "; expected a square symmetric positive definite matrix");
  require_nonempty(a, "sqrt: A");
  if (sqrt_a.size() != 0) require_shape(sqrt_a, n, n, "sqrt: the square root output");
  if (inverse_sqrt_a.size() != 0)
    require_shape(inverse_sqrt_a, n, n, "sqrt: the inverse square root output");
  require_finite(exec, a, "sqrt: A");
  const auto scale = frobenius_scale<T>(
      exec, a, o.safety, "sqrt: A is the zero matrix; expected a positive definite matrix");
  {
    // Symmetry to rounding: ||A - A^T||_F <= n eps ||A||_F.
    Matrix<T> at("strata::sqrt::At", a.extent(1), a.extent(0));
    transpose_into<T>(exec, a, at);
    const auto rows = a.extent(0);
    const double amax = scale.amax;
    double asym = 0;
    Kokkos::parallel_reduce(
        "strata::sqrt::asymmetry",
        Kokkos::RangePolicy<ExecSpace>(exec, 0, a.extent(0) * a.extent(1)),
        KOKKOS_LAMBDA(const std::size_t k, double& s) {
          const double d = (static_cast<double>(a(k % rows, k / rows)) -
                            static_cast<double>(at(k % rows, k / rows))) /
                           amax;
          s += d * d;
        },
        asym);
    // Relative to amax, like the norm: ||A - A^T||_F / ||A||_F = sqrt(asym) / (relative/safety).
    const double relative_asymmetry = std::sqrt(asym) * o.safety / scale.relative;
    STRATA_REQUIRE(relative_asymmetry <= static_cast<double>(n) * std::numeric_limits<T>::epsilon(),
                   InvalidArgument,
                   "sqrt: A is not symmetric (||A - A^T||_F / ||A||_F = ", relative_asymmetry,
                   "); expected a symmetric positive definite matrix");
  }
  IterationResult result;
  const Schedule& schedule = schedule_for(o);
  result.scale = scale.value();
  Matrix<T> y("strata::sqrt::Y", a.extent(0), a.extent(1)),
      z("strata::sqrt::Z", a.extent(0), a.extent(1));
  Matrix<T> m("strata::sqrt::M", a.extent(0), a.extent(1)),
      poly("strata::sqrt::poly", a.extent(0), a.extent(1));
  Matrix<T> next("strata::sqrt::next", a.extent(0), a.extent(1));
  divide_into<T>(exec, a, scale.amax, scale.relative, y);
  set_identity<T>(exec, z);
  StoppingRule rule(o, schedule, n, "sqrt", std::numeric_limits<T>::epsilon() / 2);
  SqrtProducts<T> products{exec, y, z, m, poly, next, {}};
  const auto outcome =
      detail::run_iteration(products, o, rule, result.error_history, result.timings);
  result.iterations = outcome.iterations;
  result.error = outcome.error;
  result.converged = outcome.converged;
  y = products.y;
  z = products.z;
  const double root = scale.root();
  if (sqrt_a.size() != 0) scale_into<T>(exec, y, static_cast<T>(root), sqrt_a);
  if (inverse_sqrt_a.size() != 0)
    scale_into<T>(exec, z, static_cast<T>(1.0 / root), inverse_sqrt_a);
  kx::fence(exec, "strata::sqrt");
  return result;
}

template <class T>
IterationResult inverse_pth_root(const ExecSpace& exec, const ConstMatrix<T>& a, int p,
                                 const Matrix<T>& root, const IterationOptions& o) {
  const auto n = static_cast<index_type>(a.extent(0));
  STRATA_REQUIRE(p >= 1, InvalidArgument, "inverse_pth_root: p must be >= 1, got ", p);
  STRATA_REQUIRE(o.max_steps >= 1 && o.tolerance >= 0, InvalidArgument,
                 "inverse_pth_root: need max_steps >= 1 and tolerance >= 0");
  STRATA_REQUIRE(a.extent(0) == a.extent(1), ShapeMismatch, "inverse_pth_root: A is ", a.extent(0),
                 " x ", a.extent(1), "; expected a square symmetric positive definite matrix");
  require_nonempty(a, "inverse_pth_root: A");
  require_shape(root, n, n, "inverse_pth_root: the output");
  require_finite(exec, a, "inverse_pth_root: A");
  const auto scale = frobenius_scale<T>(
      exec, a, 1.0, "inverse_pth_root: A is the zero matrix; expected positive definite");
  IterationResult result;
  result.scale = scale.value();  // c^p
  // One contracting step repeated: the stopping rule's stagnation test applies from the start.
  Schedule single;
  single.steps.resize(1);
  IterationOptions rule_options = o;
  rule_options.steps = 0;
  StoppingRule rule(rule_options, single, n, "inverse_pth_root",
                    std::numeric_limits<T>::epsilon() / 2);
  const std::size_t size = a.extent(0);
  Matrix<T> x("strata::root::X", size, size), m("strata::root::M", size, size),
      t("strata::root::T", size, size);
  Matrix<T> next("strata::root::next", size, size);
  const double c = std::pow(scale.amax, 1.0 / p) * std::pow(scale.relative, 1.0 / p);
  divide_into<T>(exec, a, scale.amax, scale.relative, m);
  set_identity<T>(exec, x);
  scale_into<T>(exec, x, static_cast<T>(1.0 / c), x);
  for (int step = 0;; ++step) {
    const double error = linalg::distance_to_identity(exec, m);
    if (rule.done(step, error, result.error_history)) {
      result.iterations = step;
      result.error = error;
      break;
    }
    // T = ((p + 1) I - M) / p
    const T inv_p = static_cast<T>(1.0 / p), diag = static_cast<T>((p + 1.0) / p);
    Kokkos::parallel_for(
        "strata::root::T", Kokkos::RangePolicy<ExecSpace>(exec, 0, size * size),
        KOKKOS_LAMBDA(const std::size_t k) {
          const std::size_t i = k % size, j = k / size;
          t(i, j) = (i == j ? diag : T(0)) - inv_p * m(i, j);
        });
    linalg::gemm(exec, "N", "N", T(1), x, t, T(0), next);
    std::swap(x, next);
    // M <- T^p M, by p products with T.
    for (int k = 0; k < p; ++k) {
      linalg::gemm(exec, "N", "N", T(1), t, m, T(0), next);
      std::swap(m, next);
    }
  }
  Kokkos::deep_copy(exec, root, x);
  kx::fence(exec, "strata::inverse_pth_root");
  return result;
}

#define STRATA_POLAR_INSTANTIATE(T)                                                          \
  template IterationResult polar_factor<T>(const ExecSpace&, const ConstMatrix<T>&,          \
                                           const Matrix<T>&, const IterationOptions&,        \
                                           const Matrix<T>&);                                \
  template IterationResult polar_factor<T>(const ExecSpace&, const DistMatrix<T>&,           \
                                           const DistMatrix<T>&, const IterationOptions&);   \
  template IterationResult matrix_sign<T>(const ExecSpace&, const ConstMatrix<T>&,           \
                                          const Matrix<T>&, const IterationOptions&);        \
  template IterationResult sqrt_and_inverse_sqrt<T>(const ExecSpace&, const ConstMatrix<T>&, \
                                                    const Matrix<T>&, const Matrix<T>&,      \
                                                    const IterationOptions&);                \
  template IterationResult inverse_pth_root<T>(const ExecSpace&, const ConstMatrix<T>&, int, \
                                               const Matrix<T>&, const IterationOptions&);
STRATA_POLAR_INSTANTIATE(float)
STRATA_POLAR_INSTANTIATE(double)

}  // namespace strata::polar
