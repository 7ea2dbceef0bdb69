#include "strata/sketch/trace.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "strata/dist/operations.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/sketch/detail/estimators_common.hpp"
#include "strata/sketch/detail/estimators_lapack.hpp"

namespace strata::sketch {

namespace {

// Streams of the probe blocks under options.seed: the blocks are independent, and each is the
// same for every rank count.
constexpr std::uint64_t stream_sketch = 1;  // S (Hutch++, NA-Hutch++)
constexpr std::uint64_t stream_probes = 2;  // G (the Hutchinson probes of every method)
constexpr std::uint64_t stream_range = 3;   // R (NA-Hutch++)

double mean(const std::vector<double>& v) {
  double s = 0;
  for (const double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

template <class T>
DistMatrix<T> probes(const ExecSpace& exec, const LinearOperator<T>& a, index_type k,
                     const TraceOptions& o, std::uint64_t stream, const char* label) {
  auto x = detail::input_block(a, k, label);
  fill_random(exec, RandomStream{o.distribution, o.seed, stream}, x);
  return x;
}

template <class T>
DistMatrix<T> product(const ExecSpace& exec, const LinearOperator<T>& a, const DistMatrix<T>& x,
                      const char* label) {
  auto y = detail::output_block(a, x.cols(), label);
  detail::apply(exec, a, x, y);
  detail::require_finite_products(exec, a, y, "estimate_trace");
  return y;
}

template <class T>
void hutchinson(const ExecSpace& exec, const LinearOperator<T>& a, const TraceOptions& o,
                TraceResult& r) {
  DistMatrix<T> g, ag;
  {
    auto scope = r.timings.scope("probes");
    g = probes(exec, a, o.matvecs, o, stream_probes, "strata::sketch::trace::G");
  }
  {
    auto scope = r.timings.scope("matvecs");
    ag = product(exec, a, g, "strata::sketch::trace::AG");
  }
  auto scope = r.timings.scope("estimate");
  const auto terms = detail::column_dots<T>(exec, a.comm(), g.local(), ag.local());
  r.estimate = mean(terms);
  r.standard_error = detail::standard_error_of_mean(terms);
  r.hutchinson_probes = o.matvecs;
  r.matvecs = o.matvecs;
}

template <class T>
void hutch_plus_plus(const ExecSpace& exec, const LinearOperator<T>& a, const TraceOptions& o,
                     TraceResult& r) {
  // floor(m/3) sketch vectors (at most n) and the rest (>= m/3) for Hutchinson, so that exactly m
  // products are used and the low-rank part captures any rank <= floor(m/3). At most n sketch
  // vectors: beyond that Q already spans R^n and the estimate is exact.
  const index_type k = std::min(o.matvecs / 3, a.rows());
  const index_type l = o.matvecs - 2 * k;
  DistMatrix<T> q, g;
  {
    auto scope = r.timings.scope("probes");
    q = probes(exec, a, k, o, stream_sketch, "strata::sketch::trace::S");
    g = probes(exec, a, l, o, stream_probes, "strata::sketch::trace::G");
  }
  {
    auto scope = r.timings.scope("range");
    auto as = product(exec, a, q, "strata::sketch::trace::AS");
    orthonormalize(exec, as, o.qr);
    q = as;
  }
  {
    // G' = (I - Q Q^T) G.
    auto scope = r.timings.scope("deflate");
    Matrix<T> c("strata::sketch::trace::QtG", static_cast<std::size_t>(k),
                static_cast<std::size_t>(l));
    inner_product(exec, q, g, c);
    linalg::gemm(exec, "N", "N", T(-1), q.local(), c, T(1), g.local());
  }
  DistMatrix<T> aq, ag;
  {
    auto scope = r.timings.scope("matvecs");
    aq = product(exec, a, q, "strata::sketch::trace::AQ");
    ag = product(exec, a, g, "strata::sketch::trace::AG");
  }
  auto scope = r.timings.scope("estimate");
  const auto exact = detail::column_dots<T>(exec, a.comm(), q.local(), aq.local());
  const auto terms = detail::column_dots<T>(exec, a.comm(), g.local(), ag.local());
  r.low_rank_part = 0;
  for (const double v : exact) r.low_rank_part += v;
  r.estimate = r.low_rank_part + mean(terms);
  r.standard_error = detail::standard_error_of_mean(terms);
  r.hutchinson_probes = l;
  r.matvecs = 2 * k + l;
}

template <class T>
HostMatrix<double> replicated_product(const ExecSpace& exec, const DistMatrix<T>& x,
                                      const DistMatrix<T>& y) {
  Matrix<T> c("strata::sketch::trace::inner", static_cast<std::size_t>(x.cols()),
              static_cast<std::size_t>(y.cols()));
  inner_product(exec, x, y, c);
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), c);
  HostMatrix<double> d("strata::sketch::trace::inner_double", h.extent(0), h.extent(1));
  for (std::size_t j = 0; j < h.extent(1); ++j)
    for (std::size_t i = 0; i < h.extent(0); ++i) d(i, j) = static_cast<double>(h(i, j));
  return d;
}

template <class T>
void na_hutch_plus_plus(const ExecSpace& exec, const LinearOperator<T>& a, const TraceOptions& o,
                        TraceResult& r) {
  // Column counts ceil(m/6), ceil(m/3) and the rest (about m/2), as in the authors'
  // simple_na_hutchplusplus.m; all >= 1 for m >= 3.
  const index_type ks = (o.matvecs + 5) / 6;
  const index_type kr = (o.matvecs + 2) / 3;
  const index_type l = o.matvecs - ks - kr;
  DistMatrix<T> s, rr, g, w, z, ag;
  {
    auto scope = r.timings.scope("probes");
    s = probes(exec, a, ks, o, stream_sketch, "strata::sketch::trace::S");
    rr = probes(exec, a, kr, o, stream_range, "strata::sketch::trace::R");
    g = probes(exec, a, l, o, stream_probes, "strata::sketch::trace::G");
  }
  {
    auto scope = r.timings.scope("matvecs");
    w = product(exec, a, s, "strata::sketch::trace::AS");
    z = product(exec, a, rr, "strata::sketch::trace::AR");
    ag = product(exec, a, g, "strata::sketch::trace::AG");
  }
  auto scope = r.timings.scope("estimate");
  const auto stz = replicated_product(exec, s, z);  // ks x kr
  const auto wtz = replicated_product(exec, w, z);  // ks x kr
  const auto gtz = replicated_product(exec, g, z);  // l x kr
  const auto wtg = replicated_product(exec, w, g);  // ks x l
  const auto gag = detail::column_dots<T>(exec, a.comm(), g.local(), ag.local());
  // The numerical rank of S^T Z is decided relative to the precision of the products.
  const double rcond = static_cast<double>(std::max(ks, kr)) *
                       static_cast<double>(std::numeric_limits<T>::epsilon());
  const auto pinv = detail::pseudo_inverse(stz, rcond);  // kr x ks
  // tr(P W^T Z) with P = (S^T Z)^+.
  double low_rank = 0;
  for (index_type i = 0; i < kr; ++i)
    for (index_type j = 0; j < ks; ++j) low_rank += pinv(i, j) * wtz(j, i);
  // Hutchinson term of column c: g_c^T A g_c - (G^T Z)_c P (W^T G)_:,c.
  std::vector<double> terms(static_cast<std::size_t>(l));
  std::vector<double> pw(static_cast<std::size_t>(kr));
  for (index_type c = 0; c < l; ++c) {
    for (index_type i = 0; i < kr; ++i) {
      double v = 0;
      for (index_type j = 0; j < ks; ++j) v += pinv(i, j) * wtg(j, c);
      pw[static_cast<std::size_t>(i)] = v;
    }
    double deflation = 0;
    for (index_type i = 0; i < kr; ++i) deflation += gtz(c, i) * pw[static_cast<std::size_t>(i)];
    terms[static_cast<std::size_t>(c)] = gag[static_cast<std::size_t>(c)] - deflation;
  }
  r.low_rank_part = low_rank;
  r.estimate = low_rank + mean(terms);
  r.standard_error = detail::standard_error_of_mean(terms);
  r.hutchinson_probes = l;
  r.matvecs = ks + kr + l;
}

}  // namespace

const char* trace_method_name(TraceMethod method) {
  switch (method) {
    case TraceMethod::hutchinson:
      return "hutchinson";
    case TraceMethod::hutch_plus_plus:
      return "hutch++";
    case TraceMethod::na_hutch_plus_plus:
      return "na-hutch++";
  }
  return "unknown";
}

TraceMethod parse_trace_method(const std::string& name) {
  if (name == "hutchinson") return TraceMethod::hutchinson;
  if (name == "hutch++") return TraceMethod::hutch_plus_plus;
  if (name == "na-hutch++") return TraceMethod::na_hutch_plus_plus;
  STRATA_THROW(InvalidArgument, "unknown trace method '", name,
               "'; expected hutch++, na-hutch++ or hutchinson");
}

template <class T>
TraceResult estimate_trace(const ExecSpace& exec, const LinearOperator<T>& a,
                           const TraceOptions& options) {
  detail::require_square(a, "estimate_trace");
  const index_type minimum = options.method == TraceMethod::hutchinson ? 1 : 3;
  STRATA_REQUIRE(options.matvecs >= minimum, InvalidArgument,
                 "estimate_trace: ", trace_method_name(options.method),
                 " needs a budget of at least ", minimum, " matrix-vector products, got ",
                 options.matvecs);
  TraceResult result;
  switch (options.method) {
    case TraceMethod::hutchinson:
      hutchinson(exec, a, options, result);
      break;
    case TraceMethod::hutch_plus_plus:
      hutch_plus_plus(exec, a, options, result);
      break;
    case TraceMethod::na_hutch_plus_plus:
      na_hutch_plus_plus(exec, a, options, result);
      break;
  }
  return result;
}

#define STRATA_TRACE_DEFINE(T)                                                       \
  template TraceResult estimate_trace<T>(const ExecSpace&, const LinearOperator<T>&, \
                                         const TraceOptions&);
STRATA_TRACE_DEFINE(float)
STRATA_TRACE_DEFINE(double)
#undef STRATA_TRACE_DEFINE

}  // namespace strata::sketch
