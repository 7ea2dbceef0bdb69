// Shared pieces of the Newton-Schulz iterations (single, distributed and batched drivers).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "strata/core/error.hpp"
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
  StoppingRule(const IterationOptions& o, const Schedule& s, index_type n, const char* what,
               double unit_roundoff)
      : o_(o), schedule_(s), n_(n), what_(what) {
    tolerance_ = o.tolerance;
    floor_threshold_ = std::max(0.1, 16 * std::sqrt(static_cast<double>(n)) * unit_roundoff);
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
    // Stagnation: once the schedule is exhausted the iteration repeats its last, contracting step;
    // below an error of 0.1 every singular value is within ~0.1 of 1, where that step converges
    // cubically, so an error that fails to halve has hit the rounding floor. (Above 0.1, slow
    // progress means small singular values still climbing, not stagnation, unless the precision's
    // own floor 16 sqrt(n) u is higher still.)
    const bool in_tail = static_cast<std::size_t>(t) >= schedule_.steps.size();
    const bool stagnated =
        t >= 2 && in_tail && error <= floor_threshold_ && error > 0.5 * history[history.size() - 2];
    if (stagnated) {
      if (tolerance_ > 0) {
        STRATA_THROW(NumericalError, what_, ": cannot reach the tolerance ", tolerance_,
                     "; the error stagnated at ", error,
                     ", the rounding floor of this precision for n = ", n_);
      }
      return true;  // default mode: converged to working precision
    }
    if (t >= o_.max_steps) {
      STRATA_THROW(NumericalError, what_, ": no convergence in ", o_.max_steps, " steps (error ",
                   error, ", tolerance ", tolerance_,
                   "); raise max_steps or lower the assumed lower bound");
    }
    return false;
  }

  const Step& step(int t) const {
    return schedule_
        .steps[std::min<std::size_t>(static_cast<std::size_t>(t), schedule_.steps.size() - 1)];
  }

 private:
  const IterationOptions& o_;
  const Schedule& schedule_;
  index_type n_;
  const char* what_;
  double tolerance_ = 0;
  double floor_threshold_ = 0.1;
};

}  // namespace strata::polar::detail
