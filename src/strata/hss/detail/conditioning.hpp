// Is a computed solution of A X = B meaningful? Shared by the single-process and distributed ULV
// solves (ulv.cpp, dist_ulv.cpp).
//
// The ULV solve is backward stable: the computed X solves (A + dA) X = B with ||dA|| <= K u ||A||,
// K = m + 2 (L + 1) max(m, 2 r) the longest chain of inner products (leaf size m, L levels, largest
// rank r; the bound test_hss_ulv checks). Its forward error is then <= cond(A) K u / (1 - cond(A) K
// u) (Higham, Thm. 7.2), a bound that is void once cond(A) K u >= 1: A is then within the backward
// error of a singular matrix (its distance to singularity ||A||_2 / cond(A) is <= K u ||A||_2), so
// X has no guaranteed digit. A singular A shows up that way, as an X of norm ~ 1/(K u) and a
// relative residual that may be large (1.67 for a singular 256 x 256 example), not as a breakdown.
//
// The criterion is kappa K u >= 1 with a lower bound kappa on cond_2(A) = ||A||_2 ||A^{-1}||_2
// made of two lower bounds:
//   ||A||_2 >= ||A v||_2 for every unit v; v from a few power iterations on A^T A;
//   ||A^{-1}||_2 >= ||X||_F / ||B||_F (X = A^{-1} B), and >= ||A^{-1} g||_2 / ||g||_2 for a
//     Gaussian g and for the normalized result of that solve (two inverse iterations, which
//     pick up a near-null direction that B may miss).
// kappa <= cond_2(A) (up to the rounding of the computed solves), so a matrix whose forward error
// bound is meaningful (cond(A) K u < 1) is never refused; a singular one has kappa ~ 1/(K u) or
// more already after the first inverse iteration (g has a component ~ 1/sqrt(n) along the null
// vector).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "strata/core/checks.hpp"
#include "strata/core/error.hpp"
#include "strata/core/random.hpp"
#include "strata/hss/matvec.hpp"

namespace strata::hss::detail {

struct Conditioning {
  double norm = 0;          ///< lower bound on ||A||_2
  double inverse_norm = 0;  ///< lower bound on ||A^{-1}||_2
  double condition() const { return norm * inverse_norm; }
};

/// v *= factor.
template <class T>
void scale_vector(const ExecSpace& exec, const Matrix<T>& v, double factor) {
  const T f = static_cast<T>(factor);
  Kokkos::parallel_for(
      "strata::hss::conditioning::scale", Kokkos::RangePolicy<ExecSpace>(exec, 0, v.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) { v(i, 0) *= f; });
}

/// The lower bounds above. `rows`: this rank's rows of A; apply(x, y, op): y = op(A) x;
/// solve(b, x): x = A^{-1} b (no checks); norm(v): the global 2-norm of a column (collective in the
/// distributed case); `stream`: which random stream the start vectors use (rank-dependent there).
/// x_over_b: ||X||_F / ||B||_F of the solution being checked (0 if B = 0).
template <class T, class Apply, class Solve, class Norm>
Conditioning estimate_conditioning(const ExecSpace& exec, index_type rows, const Apply& apply,
                                   const Solve& solve, const Norm& norm, std::uint64_t stream,
                                   double x_over_b) {
  constexpr int power_steps = 8;
  Conditioning c;
  const auto size = static_cast<std::size_t>(rows);
  Matrix<T> v("strata::hss::conditioning::v", size, 1), w("strata::hss::conditioning::w", size, 1);
  fill_random(exec, RandomStream{Distribution::gaussian, 0xc0d1, stream}, v);
  double nv = norm(v);
  if (nv > 0) scale_vector<T>(exec, v, 1.0 / nv);
  for (int step = 0; step < power_steps && nv > 0; ++step) {
    apply(v, w, Op::none);  // ||A v|| with ||v|| = 1
    const double nw = norm(w);
    if (!(nw > 0) || !std::isfinite(nw)) break;
    c.norm = std::max(c.norm, nw);
    apply(w, v, Op::transpose);  // v = A^T A v, normalized
    nv = norm(v);
    if (!(nv > 0) || !std::isfinite(nv)) break;
    scale_vector<T>(exec, v, 1.0 / nv);
  }
  c.inverse_norm = x_over_b;
  fill_random(exec, RandomStream{Distribution::gaussian, 0xc0d2, stream}, v);
  nv = norm(v);
  for (int step = 0; step < 2 && nv > 0; ++step) {
    scale_vector<T>(exec, v, 1.0 / nv);
    solve(v, w);
    const double nw = norm(w);
    if (!std::isfinite(nw)) {
      c.inverse_norm = std::numeric_limits<double>::infinity();
      break;
    }
    c.inverse_norm = std::max(c.inverse_norm, nw);
    Kokkos::deep_copy(exec, v, w);
    nv = nw;
  }
  return c;
}

/// K = m + 2 (L + 1) max(m, 2 r): the backward-error constant of the ULV solve (see above).
inline double ulv_chain_length(index_type leaf, int levels, index_type rank) {
  const double m = static_cast<double>(leaf);
  return m + 2.0 * (levels + 1) * std::max(m, 2.0 * static_cast<double>(rank));
}

/// Throws NumericalError unless the solution is meaningful: finite (`non_finite` = 0 entries of X
/// that are NaN or Inf) and kappa K u < 1 (kappa = c.condition(), `chain` = K).
template <class T>
void check_solution(const char* what, index_type non_finite, const Conditioning& c, double chain,
                    double residual) {
  if (non_finite > 0) {
    STRATA_THROW(NumericalError, what, ": the solution has ", non_finite,
                 " NaN or Inf entries; the matrix is singular to working precision");
  }
  const double u = static_cast<double>(std::numeric_limits<T>::epsilon()) / 2;
  if (c.condition() * chain * u >= 1) {
    STRATA_THROW(NumericalError, what,
                 ": the matrix is singular to working precision: its condition number is at "
                 "least ",
                 c.condition(), " (||A||_2 >= ", c.norm, ", ||A^{-1}||_2 >= ", c.inverse_norm,
                 "), at or above 1/(K u) = ", 1 / (chain * u),
                 " where the solve's error bound is void (relative residual ", residual,
                 "); the solution has no correct digit");
  }
}

}  // namespace strata::hss::detail
