#include "strata/polar/schedule.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <tuple>

#include "strata/core/error.hpp"

namespace strata::polar {

const char* method_name(Method method) {
  switch (method) {
    case Method::polar_express:
      return "polar-express";
    case Method::newton_schulz:
      return "newton-schulz";
    case Method::muon:
      return "muon";
  }
  return "unknown";
}

Method parse_method(const std::string& name) {
  if (name == "polar-express") return Method::polar_express;
  if (name == "newton-schulz") return Method::newton_schulz;
  if (name == "muon") return Method::muon;
  STRATA_THROW(InvalidArgument, "unknown method '", name,
               "'; expected 'polar-express', 'newton-schulz' or 'muon'");
}

namespace {

// Solves the 4x4 system M z = rhs by Gaussian elimination with partial pivoting, in long double
// (the Remez matrices become ill-conditioned as l -> u).
std::array<long double, 4> solve4(std::array<std::array<long double, 4>, 4> m,
                                  std::array<long double, 4> rhs) {
  for (int col = 0; col < 4; ++col) {
    int pivot = col;
    for (int row = col + 1; row < 4; ++row)
      if (std::fabs(m[row][col]) > std::fabs(m[pivot][col])) pivot = row;
    std::swap(m[col], m[pivot]);
    std::swap(rhs[col], rhs[pivot]);
    STRATA_REQUIRE(m[col][col] != 0.0L, NumericalError, "Remez system is singular");
    for (int row = col + 1; row < 4; ++row) {
      const long double f = m[row][col] / m[col][col];
      for (int k = col; k < 4; ++k) m[row][k] -= f * m[col][k];
      rhs[row] -= f * rhs[col];
    }
  }
  std::array<long double, 4> z{};
  for (int row = 3; row >= 0; --row) {
    long double s = rhs[row];
    for (int k = row + 1; k < 4; ++k) s -= m[row][k] * z[k];
    z[row] = s / m[row][row];
  }
  return z;
}

Step scaled(Step p, double factor) {
  p.a *= factor;
  p.b *= factor;
  p.c *= factor;
  return p;
}

}  // namespace

void optimal_cubic(double l, double u, double& a, double& b) {
  // p(x) = beta p_NS(alpha x), p_NS(x) = 1.5 x - 0.5 x^3 (PE-paper sec. 4.2, degree 3).
  const double alpha = std::sqrt(3.0 / (u * u + l * u + l * l));
  const double beta = 4.0 / (2.0 + l * u * (l + u) * alpha * alpha * alpha);
  a = beta * 1.5 * alpha;
  b = -beta * 0.5 * alpha * alpha * alpha;
}

void optimal_quintic(double l, double u, double& a, double& b, double& c) {
  // Pade/Newton-Schulz limit when the interval is within roundoff of a point (the reference code's
  // cut-off 1 - 5e-6: the Remez matrix is too ill-conditioned beyond it).
  if (l / u >= 1.0 - 5e-6) {
    a = (15.0 / 8.0) / u;
    b = (-10.0 / 8.0) / (u * u * u);
    c = (3.0 / 8.0) / (u * u * u * u * u);
    return;
  }
  long double q = (3.0L * l + u) / 4.0L, r = (l + 3.0L * u) / 4.0L;
  long double error = 0, previous = std::numeric_limits<long double>::infinity();
  std::array<long double, 4> z{};
  for (int iteration = 0; iteration < 100; ++iteration) {
    const std::array<long double, 4> x = {l, q, r, u};
    const std::array<long double, 4> sign = {1, -1, 1, -1};
    std::array<std::array<long double, 4>, 4> m{};
    for (int i = 0; i < 4; ++i)
      m[i] = {x[i], x[i] * x[i] * x[i], x[i] * x[i] * x[i] * x[i] * x[i], sign[i]};
    z = solve4(m, {1, 1, 1, 1});
    error = z[3];
    // New interior extrema: roots of p'(x) = a + 3 b x^2 + 5 c x^4.
    const long double disc = 9 * z[1] * z[1] - 20 * z[0] * z[2];
    STRATA_REQUIRE(disc >= 0 && z[2] != 0, NumericalError, "Remez iteration for the quintic on [",
                   l, ", ", u, "] lost its equioscillation points");
    q = std::sqrt((-3 * z[1] - std::sqrt(disc)) / (10 * z[2]));
    r = std::sqrt((-3 * z[1] + std::sqrt(disc)) / (10 * z[2]));
    if (std::fabs(error - previous) <= 1e-15L) break;
    previous = error;
  }
  a = static_cast<double>(z[0]);
  b = static_cast<double>(z[1]);
  c = static_cast<double>(z[2]);
}

void image_of_interval(const Step& p, double l, double u, double& lo, double& hi) {
  lo = std::min(p(l), p(u));
  hi = std::max(p(l), p(u));
  // Critical points: p'(x) = a + 3 b x^2 + 5 c x^4 = 0, a quadratic in y = x^2.
  std::vector<double> ys;
  if (p.c != 0) {
    const double disc = 9 * p.b * p.b - 20 * p.a * p.c;
    if (disc >= 0) {
      ys.push_back((-3 * p.b - std::sqrt(disc)) / (10 * p.c));
      ys.push_back((-3 * p.b + std::sqrt(disc)) / (10 * p.c));
    }
  } else if (p.b != 0) {
    ys.push_back(-p.a / (3 * p.b));
  }
  for (const double y : ys) {
    if (y <= 0) continue;
    const double x = std::sqrt(y);
    if (x > l && x < u) {
      lo = std::min(lo, p(x));
      hi = std::max(hi, p(x));
    }
  }
}

Schedule make_schedule(const ScheduleOptions& o) {
  STRATA_REQUIRE(o.steps >= 1, InvalidArgument, "schedule: the number of steps must be >= 1, got ",
                 o.steps);
  STRATA_REQUIRE(o.upper > 0 && std::isfinite(o.upper), InvalidArgument,
                 "schedule: the upper bound u must be positive and finite, got ", o.upper);
  STRATA_REQUIRE(o.lower > 0 && o.lower < o.upper, InvalidArgument,
                 "schedule: the lower bound l must satisfy 0 < l < u = ", o.upper,
                 ", got l = ", o.lower);
  STRATA_REQUIRE(o.degree == 3 || o.degree == 5, InvalidArgument,
                 "schedule: degree must be 3 or 5, got ", o.degree);
  STRATA_REQUIRE(o.method != Method::muon || o.degree == 5, InvalidArgument,
                 "schedule: the Muon polynomial is a quintic (degree 5), got degree ", o.degree);
  STRATA_REQUIRE(o.cushion >= 0 && o.cushion < 1, InvalidArgument,
                 "schedule: cushion must be in [0, 1), got ", o.cushion);
  STRATA_REQUIRE(o.safety >= 1, InvalidArgument, "schedule: the safety factor must be >= 1, got ",
                 o.safety);

  Schedule s;
  s.method = o.method;
  s.degree = o.degree;
  s.lower = o.lower;
  s.upper = o.upper;
  if (o.method == Method::polar_express) {
    s.cushion = o.cushion;
    s.safety = o.safety;
  }
  double l = o.lower, u = o.upper;    // design interval of the next step
  double lo = o.lower, hi = o.upper;  // exact image of [lower, upper] so far
  for (int t = 0; t < o.steps; ++t) {
    Step p;
    p.lower = l;
    p.upper = u;
    switch (o.method) {
      case Method::newton_schulz:
        if (o.degree == 3) {
          p.a = 1.5, p.b = -0.5;
        } else {
          p.a = 15.0 / 8.0, p.b = -10.0 / 8.0, p.c = 3.0 / 8.0;
        }
        break;
      case Method::muon:
        p.a = 3.4445, p.b = -4.7750, p.c = 2.0315;
        break;
      case Method::polar_express: {
        // Cushion: design on [max(l, kappa u), u], then recentre so that p(l) + p(u) = 2.
        const double design_lower = std::max(l, o.cushion * u);
        if (o.degree == 3) {
          optimal_cubic(design_lower, u, p.a, p.b);
        } else {
          optimal_quintic(design_lower, u, p.a, p.b, p.c);
        }
        // Recentre on the exact image of [l, u]: for the quintic this is the paper's
        // 2 / (p(l) + p(u)) (its minimum is at l and its maximum 1 + E is attained at u); for the
        // cubic, whose maximum is interior, p(l) + p(u) would not centre the image.
        double image_lo = 0, image_hi = 0;
        image_of_interval(p, l, u, image_lo, image_hi);
        p = scaled(p, 2.0 / (image_lo + image_hi));
        double next = p(l);
        const bool last = t + 1 == o.steps;
        if (!last && o.safety > 1) {
          // p(x / s): coefficients of x^k divided by s^k.
          p.a /= o.safety;
          p.b /= o.safety * o.safety * o.safety;
          p.c /= std::pow(o.safety, 5);
          if (o.safety_in_recursion) next = p(l);
        }
        // Greedy update (Theorem 4.1): l <- p(l), u <- 2 - l, clamped so that l <= u.
        l = std::min(next, 1.0);
        u = std::max(2.0 - next, l);
        break;
      }
    }
    double next_lo = 0, next_hi = 0;
    image_of_interval(p, lo, hi, next_lo, next_hi);
    lo = next_lo;
    hi = next_hi;
    p.bound = std::max(std::fabs(1 - lo), std::fabs(hi - 1));
    s.steps.push_back(p);
  }
  return s;
}

const Schedule& cached_schedule(const ScheduleOptions& o) {
  using Key = std::tuple<int, int, double, double, int, double, double, bool>;
  static std::mutex mutex;
  static std::map<Key, Schedule> cache;
  const Key key{
      static_cast<int>(o.method), o.degree, o.lower, o.upper, o.steps, o.cushion, o.safety,
      o.safety_in_recursion};
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make_schedule(o)).first;
  return it->second;
}

std::string Schedule::describe() const {
  std::ostringstream out;
  char line[200];
  std::snprintf(line, sizeof line, "%s schedule, degree %d, singular values assumed in [%g, %g]",
                method_name(method), degree, lower, upper);
  out << line;
  if (method == Method::polar_express) {
    std::snprintf(line, sizeof line, ", cushion %g, safety %g", cushion, safety);
    out << line;
  }
  out << "\n  step                    a                    b                    c   bound after "
         "step\n";
  for (std::size_t t = 0; t < steps.size(); ++t) {
    std::snprintf(line, sizeof line, "  %4zu %20.15g %20.15g %20.15g %18.6g\n", t + 1, steps[t].a,
                  steps[t].b, steps[t].c, steps[t].bound);
    out << line;
  }
  return out.str();
}

}  // namespace strata::polar
