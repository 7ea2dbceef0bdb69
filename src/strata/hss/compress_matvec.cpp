#include "strata/hss/compress_matvec.hpp"

#include <algorithm>
#include <cmath>

#include "strata/core/checks.hpp"
#include "strata/hss/distributed.hpp"

namespace strata::hss {

const char* compress_method_name(CompressMethod method) {
  switch (method) {
    case CompressMethod::levitt_martinsson:
      return "levitt-martinsson";
    case CompressMethod::quasi_optimal:
      return "quasi-optimal";
    case CompressMethod::entries:
      return "entries";
  }
  return "unknown";
}

CompressMethod parse_compress_method(const std::string& name) {
  if (name == "levitt-martinsson") return CompressMethod::levitt_martinsson;
  if (name == "quasi-optimal") return CompressMethod::quasi_optimal;
  if (name == "entries") return CompressMethod::entries;
  STRATA_THROW(InvalidArgument, "unknown HSS compression method '", name,
               "'; expected levitt-martinsson, quasi-optimal or entries");
}

SkeletonizationOptions skeletonization_options(const CompressOptions& options) {
  SkeletonizationOptions so;
  so.tolerance = options.rank > 0 ? 0 : options.tolerance;
  so.rank = options.rank;
  if (options.samples > 0) so.far_samples = options.samples;
  so.max_rounds = options.max_rounds;
  so.seed = options.seed;
  so.points = options.points;
  return so;
}

namespace {

/// The entries method (file comment of compress_matvec.hpp): recursive skeletonization from
/// entries, with its sampled certificate in place of the product-based estimate.
template <class T>
CompressResult<T> compress_by_entries(const ExecSpace& exec, const LinearOperator<T>& a,
                                      const ClusterTree& tree, const CompressOptions& options,
                                      const EntryEvaluator<T>& entries) {
  const index_type n = tree.size();
  STRATA_REQUIRE(static_cast<bool>(entries), InvalidArgument,
                 "hss::compress: the entries method needs an entry evaluator of A");
  STRATA_REQUIRE(a.rows() == n && a.cols() == n, ShapeMismatch, "hss::compress: A is ", a.rows(),
                 " x ", a.cols(), " but the cluster tree covers ", n, " indices");
  STRATA_REQUIRE(options.rank >= 0 && options.samples >= 0, InvalidArgument,
                 "hss::compress: rank and samples must be >= 0");
  const SkeletonizationOptions so = skeletonization_options(options);
  auto r = compress_by_skeletonization<T>(exec, tree, entries, so);
  CompressResult<T> out;
  out.matrix = std::move(r.matrix);
  out.entries = r.entries;
  out.saturated_nodes = r.unverified_nodes;
  out.max_rank_per_level = std::move(r.max_rank_per_level);
  out.samples = so.far_samples;
  out.rounds = r.rounds;
  out.relative_error_estimate = r.certificate.estimate;
  out.relative_error_bound = r.certificate.upper;
  out.met_tolerance = r.met_tolerance;
  out.certificate = r.certificate;
  out.timings = std::move(r.timings);
  return out;
}

}  // namespace

template <class T>
double estimate_relative_error(const ExecSpace& exec, const LinearOperator<T>& a,
                               const HssMatrix<T>& h, int probes, std::uint64_t seed) {
  STRATA_REQUIRE(!a.distributed(), Unsupported,
                 "estimate_relative_error: the operator is distributed; pass the distributed HSS "
                 "matrix (distributed.hpp)");
  return estimate_relative_error<T>(exec, a, distribute<T>(exec, a.comm(), h), probes, seed);
}

template <class T>
CompressResult<T> compress_from_matvecs(const ExecSpace& exec, const LinearOperator<T>& a,
                                        const ClusterTree& tree, const CompressOptions& options,
                                        const EntryEvaluator<T>& entries) {
  STRATA_REQUIRE(!a.distributed(), Unsupported,
                 "compress_from_matvecs: distributed operators are not supported; pass a "
                 "replicated operator (whole vectors on every rank) or call "
                 "compress_from_matvecs_distributed");
  if (options.method == CompressMethod::entries)
    return compress_by_entries<T>(exec, a, tree, options, entries);
  auto d = compress_from_matvecs_distributed<T>(exec, a, tree, options);
  CompressResult<T> out;
  {
    auto phase = d.timings.scope("assemble");
    out.matrix = gather<T>(exec, d.matrix);
  }
  out.products = d.products;
  out.transpose_products = d.transpose_products;
  out.probe_products = d.probe_products;
  out.products_per_level = std::move(d.products_per_level);
  out.max_rank_per_level = std::move(d.max_rank_per_level);
  out.samples = d.samples;
  out.rounds = d.rounds;
  out.relative_error_estimate = d.relative_error_estimate;
  out.relative_error_bound = d.relative_error_bound;
  out.met_tolerance = d.met_tolerance;
  out.timings = std::move(d.timings);
  return out;
}

#define STRATA_HSS_COMPRESS_DEFINE(T)                                                             \
  template CompressResult<T> compress_from_matvecs<T>(const ExecSpace&, const LinearOperator<T>&, \
                                                      const ClusterTree&, const CompressOptions&, \
                                                      const EntryEvaluator<T>&);                  \
  template double estimate_relative_error<T>(const ExecSpace&, const LinearOperator<T>&,          \
                                             const HssMatrix<T>&, int, std::uint64_t);
STRATA_HSS_COMPRESS_DEFINE(float)
STRATA_HSS_COMPRESS_DEFINE(double)
#undef STRATA_HSS_COMPRESS_DEFINE

}  // namespace strata::hss
