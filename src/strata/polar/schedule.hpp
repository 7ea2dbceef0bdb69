// Schedules of odd polynomials for Newton-Schulz-type iterations X <- p_t(X), each p_t(x) =
// a x + b x^3 + c x^5 acting on the singular values. A schedule is data: produced by the functions
// below, printable, and cached by the callers that use it repeatedly.
//
// Sources:
//  - classical Newton-Schulz: the Pade-type iterations p(x) = (3x - x^3)/2 and
//    p(x) = (15x - 10x^3 + 3x^5)/8 (Kovarik 1970; Higham, Functions of Matrices, sec. 8.3);
//  - Muon: the fixed quintic (3.4445, -4.7750, 2.0315) of K. Jordan et al. (2024);
//  - Polar Express: Amsel, Persson, Musco, Gower, arXiv 2505.16932, Algorithm 1 and sec. 4:
//    greedy minimax-optimal odd polynomials (Theorem 4.1), degree 3 in closed form, degree 5 by the
//    simplified Remez iteration on the equioscillation points {l, q, r, u} (App. D), with the
//    cushion and the finite-precision safety factor of sec. 4.4.
#pragma once

#include <string>
#include <vector>

namespace strata::polar {

enum class Method { polar_express, newton_schulz, muon };
const char* method_name(Method method);
/// "polar-express", "newton-schulz" or "muon"; throws InvalidArgument otherwise.
Method parse_method(const std::string& name);

/// One step p(x) = a x + b x^3 + c x^5 (c = 0 for cubics), with what it does to the singular
/// values.
struct Step {
  double a = 0, b = 0, c = 0;
  double lower = 0, upper = 0;  ///< interval [l_t, u_t] the step was designed for
  /// Worst-case error after this step: max over x in [l, u] (the schedule's input interval) of
  /// |1 - P_t(x)|, P_t = p_t o ... o p_1, computed exactly from interval images (each p_t maps an
  /// interval onto [min, max] of p_t over it, found from its endpoints and critical points).
  double bound = 0;
  double operator()(double x) const { return x * (a + x * x * (b + c * x * x)); }
};

struct Schedule {
  Method method = Method::polar_express;
  int degree = 5;
  double lower = 1e-3;  ///< assumed lower bound on the singular values of the scaled input
  double upper = 1;     ///< assumed upper bound (1 after normalization)
  double cushion = 0;   ///< Polar Express: design interval starts at max(l_t, cushion * u_t)
  double safety = 1;    ///< Polar Express: p_t(x / safety) on all but the last step
  std::vector<Step> steps;

  /// The bound after the last step (1 - lower if there are no steps).
  double final_bound() const { return steps.empty() ? 1 - lower : steps.back().bound; }
  /// Human-readable table of the coefficients and bounds.
  std::string describe() const;
};

struct ScheduleOptions {
  Method method = Method::polar_express;
  int degree = 5;       ///< 3 or 5 (Muon: 5 only)
  double lower = 1e-3;  ///< l in (0, upper)
  double upper = 1.0;
  int steps = 8;  ///< number of steps (>= 1)
  /// Polar Express cushion kappa. The default is the value of the paper's Appendix G code (the
  /// l at which the optimal quintic on [l, 1] has interior minimum 0.1); the prose uses 0.1.
  double cushion = 0.02407327424182761;
  /// Polar Express safety factor s > 1 (the paper uses 1.01).
  double safety = 1.01;
  /// Whether the greedy recursion l_{t+1} = p_t(l_t) uses the safety-scaled p_t (the reference
  /// code's current behaviour) or the unscaled one, with the safety factor applied to the finished
  /// coefficients (the recipe of the paper's Appendix G, which produced its published table).
  bool safety_in_recursion = false;
};

/// Builds the schedule described by `options` (host, double precision). Cost: O(steps) small
/// solves, microseconds. Throws InvalidArgument for l <= 0, l >= u, steps < 1, an unknown degree.
Schedule make_schedule(const ScheduleOptions& options);

/// make_schedule with a process-wide cache (thread-safe): schedules are computed once per set of
/// options and reused, e.g. across the thousands of calls of a training run.
const Schedule& cached_schedule(const ScheduleOptions& options);

/// Minimax-optimal odd polynomial of degree 5 on [l, u] (max |1 - p(x)| minimal), by the simplified
/// Remez iteration; returns (a, b, c). For l/u within roundoff of 1 returns the Pade limit
/// ((15/8)/u, (-10/8)/u^3, (3/8)/u^5).
void optimal_quintic(double l, double u, double& a, double& b, double& c);
/// Minimax-optimal odd cubic on [l, u] in closed form (Chen & Chow's scaled Newton-Schulz).
void optimal_cubic(double l, double u, double& a, double& b);

/// Image [lo, hi] of the interval [l, u] under p (exact: endpoints and critical points).
void image_of_interval(const Step& p, double l, double u, double& lo, double& hi);

}  // namespace strata::polar
