// Polynomial schedules: the paper's published Polar Express table is reproduced from scratch, the
// reported worst-case bounds agree with a dense-grid evaluation, and they decrease as the theory
// says.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/polar/schedule.hpp"

namespace {

using strata::polar::Method;
using strata::polar::ScheduleOptions;

// Algorithm 1 of arXiv 2505.16932 (before its safety factor): degree 5, l = 1e-3, cushion
// 0.02407327424182761, recursion on the unscaled polynomials.
const double paper_table[8][3] = {
    {8.28721201814563, -23.595886519098837, 17.300387312530933},
    {4.107059111542203, -2.9478499167379106, 0.5448431082926601},
    {3.9486908534822946, -2.908902115962949, 0.5518191394370137},
    {3.3184196573706015, -2.488488024314874, 0.51004894012372},
    {2.300652019954817, -1.6689039845747493, 0.4188073119525673},
    {1.891301407787398, -1.2679958271945868, 0.37680408948524835},
    {1.8750014808534479, -1.2500016453999487, 0.3750001645474248},
    {1.875, -1.25, 0.375},
};

TEST(PolarExpressSchedule, ReproducesThePublishedTable) {
  ScheduleOptions o;
  o.steps = 8;
  o.safety = 1.0;
  const auto s = strata::polar::make_schedule(o);
  ASSERT_EQ(s.steps.size(), 8u);
  // Rows 1-7 come from Remez solves whose 4x4 systems grow ill-conditioned as l_t / u_t -> 1
  // (condition ~1e5 at step 7, where l/u = 0.78); a float64 reference is then accurate to about
  // cond * 1e-16 ~ 1e-11 relative. Row 8 is the Pade limit (15/8, -10/8, 3/8) scaled to u_8 = 1 + d
  // with d ~ 1e-9 (the reference prints it unscaled), so it differs by about 5 d relative.
  for (int t = 0; t < 8; ++t) {
    const double rtol = t < 7 ? 1e-10 : 10 * std::fabs(s.steps[t].upper - 1);
    EXPECT_NEAR(s.steps[t].a, paper_table[t][0], rtol * std::fabs(paper_table[t][0]))
        << "step " << t + 1;
    EXPECT_NEAR(s.steps[t].b, paper_table[t][1], rtol * std::fabs(paper_table[t][1]))
        << "step " << t + 1;
    EXPECT_NEAR(s.steps[t].c, paper_table[t][2], rtol * std::fabs(paper_table[t][2]))
        << "step " << t + 1;
  }
  // The safety factor divides a, b, c by s, s^3, s^5 on all but the last step.
  o.safety = 1.01;
  const auto safe = strata::polar::make_schedule(o);
  for (int t = 0; t < 7; ++t) {
    EXPECT_DOUBLE_EQ(safe.steps[t].a, s.steps[t].a / 1.01);
    EXPECT_DOUBLE_EQ(safe.steps[t].b, s.steps[t].b / std::pow(1.01, 3));
    EXPECT_DOUBLE_EQ(safe.steps[t].c, s.steps[t].c / std::pow(1.01, 5));
  }
  EXPECT_EQ(safe.steps[7].a, s.steps[7].a);
}

// max over a dense grid of [l, u] (log-spaced and linear) of |1 - P_t(x)| after every step.
std::vector<double> grid_errors(const strata::polar::Schedule& s) {
  std::vector<double> xs;
  const int n = 200000;
  for (int i = 0; i <= n; ++i) {
    xs.push_back(s.lower * std::pow(s.upper / s.lower, static_cast<double>(i) / n));
    xs.push_back(s.lower + (s.upper - s.lower) * i / n);
  }
  std::vector<double> errors;
  for (const auto& step : s.steps) {
    double worst = 0;
    for (auto& x : xs) {
      x = step(x);
      worst = std::max(worst, std::fabs(1 - x));
    }
    errors.push_back(worst);
  }
  return errors;
}

struct Case {
  Method method;
  int degree;
  double lower;
  double safety;
};

class ScheduleBounds : public ::testing::TestWithParam<Case> {};

TEST_P(ScheduleBounds, ReportedBoundsMatchADenseGridEvaluation) {
  const auto c = GetParam();
  ScheduleOptions o;
  o.method = c.method;
  o.degree = c.degree;
  o.lower = c.lower;
  o.safety = c.safety;
  o.steps = 10;
  const auto s = strata::polar::make_schedule(o);
  const auto grid = grid_errors(s);
  for (std::size_t t = 0; t < s.steps.size(); ++t) {
    // The bound is exact; the grid can only miss a little of it (grid spacing ~ 1e-5 relative near
    // the extremes, where p is flat) and both carry double rounding.
    EXPECT_LE(grid[t], s.steps[t].bound * (1 + 1e-12) + 1e-15) << "step " << t + 1;
    EXPECT_GE(grid[t], s.steps[t].bound * (1 - 1e-6) - 1e-15) << "step " << t + 1;
  }
}

INSTANTIATE_TEST_SUITE_P(Methods, ScheduleBounds,
                         ::testing::Values(Case{Method::polar_express, 5, 1e-3, 1.01},
                                           Case{Method::polar_express, 5, 1e-6, 1.0},
                                           Case{Method::polar_express, 3, 1e-3, 1.01},
                                           Case{Method::newton_schulz, 3, 1e-3, 1.0},
                                           Case{Method::newton_schulz, 5, 1e-2, 1.0},
                                           Case{Method::muon, 5, 1e-3, 1.0}));

TEST(PolarExpressSchedule, ConvergesAtLeastAsFastAsNewtonSchulz) {
  for (const int degree : {3, 5}) {
    ScheduleOptions pe;
    pe.degree = degree;
    pe.steps = 12;
    pe.safety = 1.0;
    pe.cushion = 0;  // the pure greedy composition of Theorem 4.1
    ScheduleOptions ns = pe;
    ns.method = Method::newton_schulz;
    const auto p = strata::polar::make_schedule(pe);
    const auto n = strata::polar::make_schedule(ns);
    for (std::size_t t = 0; t < p.steps.size(); ++t) {
      // Theorem 4.1: the greedy composition is optimal among compositions of the same length, so it
      // is never worse than Newton-Schulz (itself such a composition).
      EXPECT_LE(p.steps[t].bound, n.steps[t].bound * (1 + 1e-12))
          << "degree " << degree << " step " << t + 1;
      if (t > 0) {
        EXPECT_LE(p.steps[t].bound, p.steps[t - 1].bound) << "monotone decrease";
      }
    }
    // Super-exponential convergence: from l = 1e-3, degree 5 reaches double precision within 8
    // steps and degree 3 within 12; Newton-Schulz is still far away.
    EXPECT_LT(p.steps[degree == 5 ? 7 : 11].bound, 1e-14);
    EXPECT_GT(n.steps[degree == 5 ? 7 : 11].bound, 1e-3);
  }
}

TEST(MinimaxPolynomials, EquioscillateOnTheirInterval) {
  for (const auto& [l, u] :
       std::vector<std::pair<double, double>>{{1e-3, 1.0}, {0.1, 1.0}, {0.5, 1.2}}) {
    strata::polar::Step p;
    strata::polar::optimal_quintic(l, u, p.a, p.b, p.c);
    double lo = 0, hi = 0;
    strata::polar::image_of_interval(p, l, u, lo, hi);
    // Equioscillation: min and max of p on [l, u] sit symmetrically around 1, min at x = l.
    EXPECT_NEAR(1 - lo, hi - 1, 1e-12);
    EXPECT_NEAR(p(l), lo, 1e-14);
    strata::polar::Step cubic;
    strata::polar::optimal_cubic(l, u, cubic.a, cubic.b);
    strata::polar::image_of_interval(cubic, l, u, lo, hi);
    EXPECT_NEAR(1 - lo, hi - 1, 1e-12);
  }
}

TEST(Schedules, BadParametersAreRejected) {
  auto make = [](auto change) {
    ScheduleOptions o;
    change(o);
    return strata::polar::make_schedule(o);
  };
  EXPECT_THROW(make([](ScheduleOptions& o) { o.steps = 0; }), strata::InvalidArgument);
  EXPECT_THROW(make([](ScheduleOptions& o) { o.lower = 0; }), strata::InvalidArgument);
  EXPECT_THROW(make([](ScheduleOptions& o) { o.lower = 1.0; }), strata::InvalidArgument);
  EXPECT_THROW(make([](ScheduleOptions& o) { o.degree = 4; }), strata::InvalidArgument);
  EXPECT_THROW(make([](ScheduleOptions& o) {
                 o.method = Method::muon;
                 o.degree = 3;
               }),
               strata::InvalidArgument);
  EXPECT_THROW(make([](ScheduleOptions& o) { o.safety = 0.9; }), strata::InvalidArgument);
  EXPECT_THROW(strata::polar::parse_method("svd"), strata::InvalidArgument);
  EXPECT_EQ(strata::polar::parse_method("muon"), Method::muon);
}

}  // namespace
