// The acceptance test of the HSS construction from products (tolerance mode): an upper confidence
// bound of ||A - H||_F / ||A||_F from Gaussian probes, instead of the point estimate alone.
//
// Model. For a fixed matrix M with squared singular values lambda_j and Gaussian vectors g_i, the
// values x_i = ||M g_i||^2 = sum_j lambda_j z_ij^2 (z_ij standard normal) are i.i.d. with mean
// mu = ||M||_F^2 and variance 2 sum_j lambda_j^2 = 2 mu^2 / nu, where nu = (sum lambda)^2 /
// sum lambda^2 in [1, rank M] is the effective rank. The sum S of n of them is a Gaussian quadratic
// form; Satterthwaite's approximation S ~ (mu / nu) chi2(n nu) is exact when the nonzero lambda
// are equal, and nu = 1 (one direction) gives the heaviest lower tail of S / mu (Szekely & Bakirov,
// "Extremal probabilities for Gaussian quadratic forms", PTRF 2003, for the lower tail at the
// levels used here). So, for a known nu,
//   mu <= S nu / chi2_alpha(n nu)            (upper bound, confidence 1 - alpha),
//   mu >= S nu / chi2_{1-alpha}(n nu)        (lower bound),
// with chi2_p(k) the p-quantile, and both bounds move away from S / n as nu decreases: a smaller
// nu is always the conservative side.
//
// nu is not known; it is bounded from below by the sample itself: nu = 2 m^2 / var, with var
// bounded from above by the normal-theory (n - 1) v / chi2_beta(n - 1) (v the sample variance)
// and mu replaced by the sample mean m (a point estimate, not a bound: where S is low, m is low
// too and nu comes out smaller, the safe side; the coverage is checked by Monte Carlo below),
// and clamped to >= 1 (nu >= 1 always holds; at nu = 1 the bounds are the worst case over all
// spectra). Using a point estimate of nu instead (plain Satterthwaite) is not enough: with 10
// probes, v is too often small and the bound too tight (Monte Carlo: 1.5% to 7.6% misses at a
// nominal 0.5%).
//
// What the acceptance guarantees. The ratio's upper bound is sqrt(upper bound of ||A - H||_F^2 /
// lower bound of ||A||_F^2): the upper bound of the numerator (alpha = beta = kTailProbability
// each) over the error probes and the lower bound of the denominator (the same) over every Gaussian
// product column available (the probes' A G and, where the construction has them, the columns of A
// Omega): by the union bound the ratio's upper bound holds with probability >= 1 - 4
// kTailProbability = kConfidence (99%), nominally, for any fixed A - H and A. "Nominally": the
// bound on nu is a normal-theory one; Monte Carlo over twelve spectra (one direction, flat of
// rank 2..200, geometric decay 0.5..0.95, one large direction over a flat tail: the skewed, worst
// case) with 10 probes found at most 0.34% misses of the numerator bound (nominal 0.5%) and, with
// 200 columns, 0.22% of the denominator's (nominal 0.5%). H depends on Omega but not on the probes
// G, so the numerator's probes see a fixed A - H; each round's acceptance is one such test (a run
// of k rounds is wrong with probability at most k times 1 - kConfidence). Chi-square quantiles by
// Wilson-Hilferty: at the lower tail used here it lies below the exact quantile (2.09 vs 2.16 for
// chi2_0.005(10)), on the conservative side.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

namespace strata::hss::detail {

/// Sums of i.i.d. squared norms x_i = ||M g_i||^2 (Gaussian g_i): their count, sum and sum of
/// squares.
struct SquaredNormSample {
  double count = 0, sum = 0, sum_squares = 0;
  void add(double x) {
    count += 1;
    sum += x;
    sum_squares += x * x;
  }
  void add(const SquaredNormSample& other) {
    count += other.count;
    sum += other.sum;
    sum_squares += other.sum_squares;
  }
  double mean() const { return count > 0 ? sum / count : 0.0; }
  /// Unbiased sample variance (0 for fewer than two values).
  double variance() const {
    if (count < 2) return 0;
    const double m = mean();
    return std::max(0.0, (sum_squares - count * m * m) / (count - 1));
  }
};

/// Wilson-Hilferty's chi-square quantile with k degrees of freedom at the standard normal quantile
/// z: k (1 - 2/(9k) + z sqrt(2/(9k)))^3 (0 where the cube's base is negative).
inline double chi_square_quantile(double k, double z) {
  const double a = 2.0 / (9.0 * k);
  const double t = std::max(0.0, 1.0 - a + z * std::sqrt(a));
  return k * t * t * t;
}

/// Per tail (bound on nu, bound on the mean; numerator and denominator): 0.25%, four of them.
inline constexpr double kTailProbability = 0.0025;
/// The ratio bound's nominal confidence, 1 - 4 kTailProbability.
inline constexpr double kConfidence = 0.99;
/// The standard normal quantile of 1 - kTailProbability.
inline constexpr double kTailZ = 2.807;
/// Fewest probes the tolerance mode accepts: below 3 the bound is infinite, at 3 and 4 it is 16x
/// and 7x the point estimate (at 5: 3.4x; 10: 1.2x).
inline constexpr int kMinBoundProbes = 5;

/// A lower confidence bound of the effective rank nu = 2 mu^2 / var of the distribution of x, in
/// [1, inf) (file comment).
inline double effective_rank_lower_bound(const SquaredNormSample& x) {
  const double v = x.variance();
  if (x.count < 2 || v <= 0) return x.count < 2 ? 1.0 : std::numeric_limits<double>::infinity();
  const double dof = x.count - 1;
  const double var_upper = v * dof / chi_square_quantile(dof, -kTailZ);
  const double m = x.mean();
  return std::max(1.0, 2.0 * m * m / var_upper);
}

/// Upper confidence bound of E x = ||M||_F^2 (file comment); +inf for an empty sample, and for
/// fewer than 3 values (Wilson-Hilferty's quantile is 0 below about 2.1 degrees of freedom).
inline double mean_upper_bound(const SquaredNormSample& x) {
  if (x.count <= 0) return std::numeric_limits<double>::infinity();
  const double nu = effective_rank_lower_bound(x);
  if (!std::isfinite(nu)) return x.mean();  // equal values: no spread seen
  const double q = chi_square_quantile(x.count * nu, -kTailZ);
  return q > 0 ? x.sum * nu / q : std::numeric_limits<double>::infinity();
}

/// Lower confidence bound of E x = ||M||_F^2 (file comment).
inline double mean_lower_bound(const SquaredNormSample& x) {
  if (x.count <= 0) return 0;
  const double nu = effective_rank_lower_bound(x);
  if (!std::isfinite(nu)) return x.mean();
  return x.sum * nu / chi_square_quantile(x.count * nu, kTailZ);
}

/// Point estimate and upper bound (kConfidence) of ||A - H||_F / ||A||_F from the squared norms of
/// (A - H) G's columns (`error`) and of Gaussian product columns of A (`reference`).
struct RelativeErrorBound {
  double estimate = -1, upper = -1;
};
inline RelativeErrorBound relative_error_bound(const SquaredNormSample& error,
                                               const SquaredNormSample& reference) {
  RelativeErrorBound b;
  const double norm = reference.mean(), norm_lower = mean_lower_bound(reference);
  b.estimate = norm > 0 ? std::sqrt(error.mean() / norm) : std::sqrt(error.mean());
  const double err_upper = mean_upper_bound(error);
  b.upper = norm_lower > 0 ? std::sqrt(err_upper / norm_lower)
                           : (err_upper > 0 ? std::numeric_limits<double>::infinity() : 0.0);
  return b;
}

}  // namespace strata::hss::detail
