// The Newton-Schulz iteration, written once (run_iteration), and its shared pieces: the schedule,
// the option checks and the stopping rule. Every driver (dense and distributed polar factors, the
// matrix sign, square roots, strided batches in fp32/fp64 and bf16) runs the same loop over its own
// product policy.
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/progress.hpp"
#include "strata/polar/newton_schulz.hpp"

namespace strata::polar::detail {

/// The schedule of an iteration for these options (cached; see newton_schulz.cpp).
const Schedule& schedule_for(const IterationOptions& o);
/// Throws InvalidArgument for inconsistent options.
void check_options(const IterationOptions& o);

/// Decides after each measured error whether to stop. Shared by all iterations.
class StoppingRule {
 public:
  /// `unit_roundoff` of the storage precision sets where stagnation is recognized as the rounding
  /// floor (bf16's floor, ~sqrt(n) 2^-8, can be far above fp32's).
  /// `rows` > 0 (polar factors of a rows x n iterate, rows >= n) enables check_rank().
  StoppingRule(const IterationOptions& o, const Schedule& s, index_type n, const char* what,
               double unit_roundoff, index_type rows = 0)
      : o_(o), schedule_(s), n_(n), rows_(rows), what_(what), unit_roundoff_(unit_roundoff) {
    tolerance_ = o.tolerance;
    floor_threshold_ = std::max(0.1, 16 * std::sqrt(static_cast<double>(n)) * unit_roundoff);
  }

  /// False once the iteration stopped without meeting its tolerance (only when
  /// o.throw_if_not_converged is false; otherwise that throws).
  bool converged() const { return converged_; }

  /// Whether check_rank() wants the trace of the Gram matrix of the iterate after t steps.
  bool wants_trace(int t) const {
    return rows_ > 0 && o_.steps == 0 && static_cast<std::size_t>(t) >= schedule_.steps.size() + 2;
  }

  /// Rank deficiency of a polar factor's input, from the Gram matrix G = X_t^T X_t of the iterate
  /// after t steps (error = ||G - I||_F, trace = tr G). Throws NumericalError when some singular
  /// values of the scaled input X_0 are below max(rows, n) eps ||X_0||_F: the polar factor is then
  /// not unique, and the iteration would only amplify rounding noise in those directions.
  ///
  /// Derivation. X_t = p(X_0) keeps the singular vectors of X_0 and maps each singular value s to
  /// f_t(s); for small s, f_t(s) = A_t s (1 + O(f_t(s)^2)), A_t the product of the linear
  /// coefficients a of the steps taken. Two steps after the schedule (repeating the classical
  /// contracting step) the singular values >= the assumed lower bound are 1 to working precision,
  /// so with lambda_i the eigenvalues of G, D = sum lambda_i (1 - lambda_i) = tr G - ||G||_F^2 =
  /// n - tr G - ||G - I||_F^2 is the sum of the lambda_i (1 - lambda_i) of the unconverged ones,
  /// and ||G - I||_F^2 is their number k when they are all tiny. G is computed with an error E,
  /// |E| <= gamma_rows |X|^T |X| entrywise, so |D(G + E) - D(G)| <= |tr E| + 2 ||G||_F ||E||_F
  /// + ||E||_F^2 <= 3 rows n^1.5 u =: delta (||X||_F^2 <= n). Every tiny singular value of X_t is
  /// then <= sqrt(max(D, 0) + delta), and that of X_0 is <= sqrt(max(D, 0) + delta) / A_t. Once
  /// that bound is below max(rows, n) eps (numpy's matrix_rank threshold, relative to ||X_0||_2 <=
  /// ||X_0||_F <= 1) the k singular values are zero to working precision. The test is never met by
  /// a singular value above the threshold (the bound is an upper bound), and is met for one at the
  /// rounding-noise level as soon as A_t has grown past sqrt(delta) / threshold.
  void check_rank(int t, double error, double trace) const {
    if (!wants_trace(t)) return;
    const double squared = error * error;
    const double k = std::round(squared);
    if (k < 1 || std::abs(squared - k) > 0.25) return;
    const double n = static_cast<double>(n_), rows = static_cast<double>(rows_);
    const double delta = 3 * rows * n * std::sqrt(n) * unit_roundoff_;
    const double small = std::sqrt(std::max(n - trace - squared, 0.0) + delta);
    if (small > 0.1) return;  // not tiny: lambda (1 - lambda) ~ lambda does not hold yet
    double amplification = 1;
    for (int s = 0; s < t; ++s) amplification *= step(s).a;
    const double threshold = std::max(rows, n) * 2 * unit_roundoff_;
    if (small / amplification > threshold) return;
    STRATA_THROW(NumericalError, what_, ": the input is rank deficient: ", k, " of its ", n_,
                 " singular values are below ", std::max(rows_, n_),
                 " eps ||A||_F (numerical rank ", n_ - static_cast<index_type>(k),
                 "); the polar factor of a rank-deficient matrix is not unique (any orthonormal "
                 "completion of its range serves), so none is returned");
  }

  /// True if the iterate whose error is `error` is the answer. `t` steps were taken so far.
  bool done(int t, double error, std::vector<double>& history) {
    history.push_back(error);
    if (!std::isfinite(error)) {
      STRATA_THROW(NumericalError, what_, ": the iteration diverged (error is ", error, " after ",
                   t, " steps); the input violates the method's assumptions");
    }
    // Within its assumptions an iteration keeps the spectrum of its iterate in (0, 2] (the
    // schedules' [l_t, u_t], u_t <= 2), so the error stays below sqrt(n) max(1, 2^2 - 1) = 3
    // sqrt(n). Far beyond that, and beyond the starting error, the iteration is diverging.
    const double limit = 4 * std::max(history.front(), 3 * std::sqrt(static_cast<double>(n_)) + 1);
    if (t >= 1 && error > limit) {
      STRATA_THROW(NumericalError, what_, ": the iteration diverged (error grew from ",
                   history.front(), " to ", error, " in ", t,
                   " steps); the input violates the method's assumptions");
    }
    if (tolerance_ > 0 && error <= tolerance_) return true;
    if (o_.steps > 0) return t >= o_.steps;  // fixed steps: no stagnation or step-limit checks
    // Exactly converged (X^T X = I in floating point, e.g. a 1 x 1 input): X = U f(S) V^T with
    // f > 0 on the spectrum, so X^T X = I means f = 1 and X is the polar factor.
    if (error == 0) return true;
    // Stagnation: once the schedule is exhausted the iteration repeats its last, contracting step;
    // below an error of 0.1 every singular value is within ~0.1 of 1, where that step converges
    // cubically, so an error that fails to halve has hit the rounding floor. (Above 0.1, slow
    // progress means small singular values still climbing, not stagnation, unless the precision's
    // own floor 16 sqrt(n) u is higher still.)
    const bool in_tail = static_cast<std::size_t>(t) >= schedule_.steps.size();
    const bool stagnated = t >= 2 && in_tail && error <= floor_threshold_ &&
                           error >= 0.5 * history[history.size() - 2];
    if (stagnated) {
      if (tolerance_ > 0) {
        if (!o_.throw_if_not_converged) return not_converged();
        STRATA_THROW(NumericalError, what_, ": cannot reach the tolerance ", tolerance_,
                     "; the error stagnated at ", error,
                     ", the rounding floor of this precision for n = ", n_);
      }
      return true;  // default mode: converged to working precision
    }
    if (t >= o_.max_steps) {
      if (!o_.throw_if_not_converged) return not_converged();
      STRATA_THROW(NumericalError, what_, ": no convergence in ", o_.max_steps, " steps (error ",
                   error, ", tolerance ", tolerance_,
                   "); raise max_steps or lower the assumed lower bound");
    }
    return false;
  }

  bool not_converged() {
    converged_ = false;
    return true;
  }

  const Step& step(int t) const {
    return schedule_
        .steps[std::min<std::size_t>(static_cast<std::size_t>(t), schedule_.steps.size() - 1)];
  }

 private:
  const IterationOptions& o_;
  const Schedule& schedule_;
  index_type n_;
  index_type rows_ = 0;
  const char* what_;
  double unit_roundoff_;
  double tolerance_ = 0;
  double floor_threshold_ = 0.1;
  bool converged_ = true;
};

/// What run_iteration() ended with.
struct IterationOutcome {
  int iterations = 0;
  double error = 0;       ///< error of the final iterate (0 when it was not measured)
  bool measured = true;   ///< false: fixed steps without report_error, the last Gram was skipped
  bool converged = true;  ///< see StoppingRule::converged()
};

/// Whether a product policy can measure its errors without waiting for them (see run_iteration).
template <class Policy, class = void>
struct defers_errors : std::false_type {};
template <class Policy>
struct defers_errors<Policy, std::void_t<decltype(std::declval<Policy&>().defer_errors(0)),
                                         decltype(std::declval<Policy&>().gram_deferred(0)),
                                         decltype(std::declval<Policy&>().deferred_errors(0))>>
    : std::true_type {};

/// The Newton-Schulz loop: measure the iterate (a Gram-type product and its distance to the
/// identity), let the stopping rule decide, form the step's polynomial, update the iterate. A
/// product policy supplies the products for its storage and distribution:
///   double gram()                -- forms the Gram-type matrix G of the current iterate (X^T X for
///                                   polar factors, X^2 for sign, Z Y for square roots) and returns
///                                   ||G - I||_F (over a batch: the largest, or the first
///                                   non-finite)
///   double trace()               -- tr G (only asked for when rule.wants_trace(t): rank checks)
///   void polynomial(const Step&) -- P = a I + b G + c G^2
///   void update()                -- X <- X P (and what else the iteration updates)
/// and optionally, for fixed-step mode without a device-to-host synchronisation per step:
///   void defer_errors(int count)           -- room for `count` deferred errors
///   void gram_deferred(int slot)           -- forms G and starts the reduction of ||G - I||_F
///                                             into slot `slot` of a device buffer, not waiting
///   std::vector<double> deferred_errors(int count) -- slots [0, count), read back once
/// With those, fixed-step mode (steps > 0, tolerance 0) runs every step without waiting for the
/// device (the step coefficients are host scalars known in advance) and hands the errors to the
/// stopping rule afterwards: the same iterate, history and outcome, and the same exceptions for a
/// diverging iteration, raised at the end instead of at the step where it showed.
/// In fixed-step mode without report_error the final Gram product is skipped.
template <class Policy>
IterationOutcome run_iteration(Policy& policy, const IterationOptions& o, StoppingRule& rule,
                               std::vector<double>& history, PhaseTimer& timings,
                               Progress* progress = nullptr) {
  if constexpr (defers_errors<Policy>::value) {
    if (o.steps > 0 && o.tolerance == 0) {
      policy.defer_errors(o.steps + 1);
      for (int t = 0; t < o.steps; ++t) {
        {
          auto phase = timings.scope("gram");
          policy.gram_deferred(t);
        }
        {
          auto phase = timings.scope("polynomial");
          policy.polynomial(rule.step(t));
        }
        {
          auto phase = timings.scope("update");
          policy.update();
        }
        if (progress != nullptr) progress->advance();
      }
      if (o.report_error) {
        auto phase = timings.scope("gram");
        policy.gram_deferred(o.steps);
      }
      const std::vector<double> errors = policy.deferred_errors(o.steps + (o.report_error ? 1 : 0));
      for (int t = 0; t < o.steps; ++t) rule.done(t, errors[static_cast<std::size_t>(t)], history);
      const double last = o.report_error ? errors.back() : 0.0;
      rule.done(o.steps, last, history);
      return {o.steps, last, o.report_error, rule.converged()};
    }
  }
  for (int t = 0;; ++t) {
    const bool need_gram = !(o.steps > 0 && o.tolerance == 0 && t == o.steps && !o.report_error);
    double error = 0;
    if (need_gram) {
      auto phase = timings.scope("gram");
      error = policy.gram();
    }
    if (need_gram && rule.wants_trace(t)) rule.check_rank(t, error, policy.trace());
    if (rule.done(t, error, history)) return {t, error, need_gram, rule.converged()};
    {
      auto phase = timings.scope("polynomial");
      policy.polynomial(rule.step(t));
    }
    {
      auto phase = timings.scope("update");
      policy.update();
    }
    if (progress != nullptr) progress->advance();
  }
}

}  // namespace strata::polar::detail
