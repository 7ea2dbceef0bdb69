// HSS construction from entries by recursive skeletonization (skeletonization.hpp: method, cost,
// guarantees, certificate) for 1..P ranks, producing the distributed HSS matrix of
// distributed.hpp. One driver: the one-process compress_by_skeletonization is this function on
// Comm::self().
#pragma once

#include <cstdint>
#include <optional>

#include "strata/hss/distributed.hpp"
#include "strata/hss/skeletonization.hpp"

namespace strata::hss {

template <class T>
using DistSkeletonizationResult = SkeletonizationResultOf<DistHssMatrix<T>>;

/// The same construction for 1..P ranks (one driver; compress_by_skeletonization is P = 1).
/// The evaluator (and the points) must be available on every rank of `comm`. The tree is cut at
/// the split level l_s (distributed.hpp): levels L..l_s + 1 of every rank's subtrees are
/// skeletonized there with the same per-node samples as on one rank (the draws are keyed by node,
/// the pivot threshold by level), the skeletons of each such level (index lists, sum of ranks per
/// level) are allgathered after it, because a node's near field may lie in a neighbouring rank's
/// subtree and the levels above need every child's skeleton; levels l_s..1 are computed
/// redundantly on every rank (2^l_s nodes per level, few for few ranks), which is the replicated
/// top that DistHssMatrix holds. The norm estimate and the certificate evaluate each sampled
/// entry on the rank owning its row (the column nested basis of a pair across two subtrees comes
/// from the column's owner by one allreduce of the sampled vectors) and agree by allreduce. So
/// skeletons, ranks, generators, certificate and rounds are those of the one-rank run, bit for
/// bit, at any rank count. Communication per round: two allgathers of integers per level below
/// the split (O(N k / m) indices in all), a handful of allreduces. `layout`: the user's row
/// layout of vectors (default balanced over comm). Collective; errors (those of the one-process
/// function, an exception of the evaluator on any rank, fewer leaves than ranks) are agreed on
/// every rank.
template <class T>
DistSkeletonizationResult<T> compress_by_skeletonization_distributed(
    const ExecSpace& exec, const Comm& comm, const ClusterTree& tree,
    const EntryEvaluator<T>& entries, const SkeletonizationOptions& options,
    std::optional<BlockRowLayout> layout = {});

/// The certificate of a distributed HSS matrix h against A (file comment; every rank evaluates
/// the sampled entries of its rows, one allreduce): identical on every rank, and to the one-rank
/// certificate of the same generators. Collective; errors agreed.
template <class T>
ErrorCertificate certify_relative_error(const ExecSpace& exec, const EntryEvaluator<T>& entries,
                                        const DistHssMatrix<T>& h, index_type samples,
                                        std::uint64_t seed);

#define STRATA_HSS_DIST_SKELETONIZATION_DECLARE(T)                                         \
  extern template DistSkeletonizationResult<T> compress_by_skeletonization_distributed<T>( \
      const ExecSpace&, const Comm&, const ClusterTree&, const EntryEvaluator<T>&,         \
      const SkeletonizationOptions&, std::optional<BlockRowLayout>);                       \
  extern template ErrorCertificate certify_relative_error<T>(                              \
      const ExecSpace&, const EntryEvaluator<T>&, const DistHssMatrix<T>&, index_type,     \
      std::uint64_t);
STRATA_HSS_DIST_SKELETONIZATION_DECLARE(float)
STRATA_HSS_DIST_SKELETONIZATION_DECLARE(double)
#undef STRATA_HSS_DIST_SKELETONIZATION_DECLARE

}  // namespace strata::hss
