// Trace estimation from matrix-vector products: Hutchinson, Hutch++ and NA-Hutch++.
//
// All three see the square matrix A only through products with blocks of random probe vectors
// (LinearOperator::apply), so they work for dense, distributed, implicit (callback) and HSS
// operators alike. Probes come from counter-based streams (seed, stream): the estimate does not
// depend on the number of ranks.
#pragma once

#include <cstdint>
#include <string>

#include "strata/core/progress.hpp"
#include "strata/core/random.hpp"
#include "strata/dist/linear_operator.hpp"
#include "strata/dist/tall_skinny_qr.hpp"

namespace strata::sketch {

enum class TraceMethod {
  /// Hutchinson (1990): t = (1/m) sum_j g_j^T A g_j. Unbiased; Var = (2/m)(||A||_F^2 - sum a_ii^2)
  /// with Rademacher probes, (2/m)||A||_F^2 with Gaussian ones: O(1/eps^2) matvecs for a
  /// (1 +- eps) estimate of the trace of a PSD matrix.
  hutchinson,
  /// Hutch++ (Meyer, Musco, Musco & Woodruff, SOSA 2021, Algorithm 1): Q = orth(A S) from m/3
  /// probes; t = tr(Q^T A Q) + Hutchinson on (I - Q Q^T) A (I - Q Q^T) with m/3 probes. For PSD
  /// A, O(1/eps) matvecs give (1 +- eps) tr(A) with constant probability (Theorem 1); exact for
  /// symmetric A of rank <= floor(m/3). Adaptive: two rounds of products.
  hutch_plus_plus,
  /// NA-Hutch++ (same paper, Algorithm 2): all products in one round, Z = A R (m/3), W = A S
  /// (m/6), A G (m/2); t = tr((S^T Z)^+ W^T Z) + Hutchinson on A - Z (S^T Z)^+ W^T. Same O(1/eps)
  /// guarantee with larger constants; exact for symmetric A of rank <= ceil(m/6).
  na_hutch_plus_plus,
};

/// "hutchinson", "hutch++", "na-hutch++".
const char* trace_method_name(TraceMethod method);
/// Parses the names above; throws InvalidArgument otherwise.
TraceMethod parse_trace_method(const std::string& name);

struct TraceOptions {
  TraceMethod method = TraceMethod::hutch_plus_plus;
  /// Total budget m of products with A (vectors). Hutchinson needs m >= 1, the others m >= 3.
  /// Hutch++ uses min(floor(m/3), n) sketch vectors, so a budget above 3n is exact.
  index_type matvecs = 30;
  /// Probe distribution. Rademacher minimizes Hutchinson's variance for a given ||A||_F.
  Distribution distribution = Distribution::rademacher;
  std::uint64_t seed = 0;
  /// Orthonormalization of A S for Hutch++. The default (Householder TSQR) is exact also when A S
  /// is rank deficient (A of low rank), where CholeskyQR2 would fail.
  TallSkinnyQrOptions qr{TallSkinnyQrMethod::householder};
};

struct TraceResult {
  double estimate = 0;
  /// Products with A actually used (vectors).
  index_type matvecs = 0;
  /// Part of the estimate computed exactly from the low-rank approximation (0 for Hutchinson).
  double low_rank_part = 0;
  /// Estimated standard error of `estimate`: the sample standard deviation of the Hutchinson
  /// terms divided by sqrt(their number); NaN when fewer than two terms were used. Measures only
  /// the Hutchinson part's randomness (the low-rank part's randomness is not included).
  double standard_error = 0;
  /// Number of Hutchinson probes (m, m/3 or m/2 for the three methods).
  index_type hutchinson_probes = 0;
  PhaseTimer timings;
};

/// Estimate of tr(A) for a square operator whose row and column layouts agree. Collective over
/// A's communicator for distributed operators. Cost: options.matvecs products with A (in two
/// blocks for Hutch++, one block for the others), plus O(n m^2 / ranks) flops and m x m
/// allreduces. Throws ShapeMismatch (A not square), InvalidArgument (budget too small, layouts
/// differ), NonFiniteInput (A's products contain NaN/Inf).
template <class T>
TraceResult estimate_trace(const ExecSpace& exec, const LinearOperator<T>& a,
                           const TraceOptions& options = {});

#define STRATA_TRACE_DECLARE(T)                                                             \
  extern template TraceResult estimate_trace<T>(const ExecSpace&, const LinearOperator<T>&, \
                                                const TraceOptions&);
STRATA_TRACE_DECLARE(float)
STRATA_TRACE_DECLARE(double)
#undef STRATA_TRACE_DECLARE

}  // namespace strata::sketch
