#include "strata/hss/compress_matvec.hpp"

#include <algorithm>
#include <cmath>

#include "strata/core/checks.hpp"
#include "strata/hss/compress_entries.hpp"
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

namespace {

/// The entries method (file comment of compress_matvec.hpp): compress_from_entries_and_products
/// with sample doubling while nodes saturate, and the ID tolerance tightened until the estimate
/// meets options.tolerance.
template <class T>
CompressResult<T> compress_by_entries(const ExecSpace& exec, const LinearOperator<T>& a,
                                      const ClusterTree& tree, const CompressOptions& options,
                                      const EntryEvaluator<T>& entries) {
  const index_type n = tree.size();
  STRATA_REQUIRE(static_cast<bool>(entries), InvalidArgument,
                 "hss::compress: the entries method needs an entry evaluator of A");
  const bool fixed = options.rank > 0;
  STRATA_REQUIRE(options.rank >= 0 && options.oversampling >= 0 && options.samples >= 0 &&
                     options.max_samples >= 0,
                 InvalidArgument,
                 "hss::compress: rank, oversampling, samples and max_samples must be >= 0");
  if (!fixed) {
    STRATA_REQUIRE(options.tolerance > 0 && std::isfinite(options.tolerance), InvalidArgument,
                   "hss::compress: tolerance = ", options.tolerance,
                   "; give a rank > 0 or a tolerance > 0 (relative Frobenius error)");
    STRATA_REQUIRE(options.error_probes >= 1, InvalidArgument,
                   "hss::compress: the tolerance mode needs error_probes >= 1");
  }
  const index_type max_samples = std::min(n, options.max_samples > 0 ? options.max_samples : n);
  CompressEntriesOptions eo;
  eo.seed = options.seed;
  if (fixed) {
    eo.max_rank = static_cast<int>(checked_int(options.rank, "hss::compress: rank"));
    eo.samples = static_cast<int>(
        checked_int(options.samples > 0 ? options.samples : options.rank + options.oversampling,
                    "hss::compress: samples"));
  } else {
    eo.relative_tolerance = options.tolerance;
    eo.samples = static_cast<int>(checked_int(options.samples, "hss::compress: samples"));
  }
  CompressResult<T> out;
  for (int round = 1;; ++round) {
    CompressEntriesResult r;
    // A node whose ID used every sample may have been truncated by the sample count rather than
    // by the tolerance: double the samples (up to max_samples) until no node saturates.
    for (int attempt = 0;; ++attempt) {
      r = CompressEntriesResult{};
      out.matrix = compress_from_entries_and_products(exec, tree, a, entries, eo, &r);
      out.products += r.products;
      out.transpose_products += r.transpose_products;
      out.entries += r.entries;
      for (const auto& [name, seconds] : r.timings.phases()) out.timings.add(name, seconds);
      const bool retry = !fixed && options.samples == 0 && r.saturated_nodes > 0 &&
                         r.samples < max_samples && attempt < 4;
      if (!retry) break;
      eo.samples = static_cast<int>(std::min<index_type>(2 * index_type(r.samples), max_samples));
    }
    out.samples = r.samples;
    out.saturated_nodes = r.saturated_nodes;
    out.rounds = round;
    out.products_per_level = {static_cast<index_type>(r.samples)};
    if (options.error_probes > 0) {
      auto phase = out.timings.scope("estimate");
      out.relative_error_estimate =
          estimate_relative_error(exec, a, out.matrix, options.error_probes,
                                  options.seed + static_cast<std::uint64_t>(round));
      out.probe_products += options.error_probes;
    }
    if (fixed || out.relative_error_estimate <= options.tolerance || round >= options.max_rounds)
      break;
    // The error follows the truncation tolerance about linearly: aim at half the target.
    eo.relative_tolerance *=
        std::max(1.0 / 64, 0.5 * options.tolerance / out.relative_error_estimate);
  }
  out.max_rank_per_level.assign(static_cast<std::size_t>(tree.levels()) + 1, 0);
  for (int l = 1; l <= tree.levels(); ++l) out.max_rank_per_level[l] = out.matrix.max_row_rank(l);
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
