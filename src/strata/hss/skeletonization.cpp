#include "strata/hss/skeletonization.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/core/random.hpp"
#include "strata/dist/collective.hpp"
#include "strata/hss/detail/hss_level.hpp"
#include "strata/hss/dist_skeletonization.hpp"
#include "strata/linalg/batched_dense.hpp"
#include "strata/linalg/detail/lapack.hpp"
#include "strata/linalg/detail/truncated_id.hpp"
#include "strata/linalg/host_lapack.hpp"

namespace strata::hss {

namespace {

using linalg::BatchLayout;
using linalg::MatrixBatch;
using Lists = std::vector<std::vector<index_type>>;

// Stream ids of the counter-based draws (key (seed, stream)); the counter is (row, group).
constexpr std::uint64_t sample_stream = 0x5ce1e70a;
constexpr std::uint64_t check_stream = 0x5ce1e70b;
constexpr std::uint64_t norm_stream = 0x5ce1e70c;

// Sampled values per batch of IDs: on the host small enough (2 MiB in double) for the allocator to
// reuse one batch's buffers for the next; on a device large enough to fill it.
constexpr index_type chunk_entries =
    Kokkos::SpaceAccessibility<Kokkos::HostSpace, MemSpace>::accessible ? index_type(1) << 18
                                                                        : index_type(1) << 26;

// Word t of the draws of `row` in pass `pass` (4 words per Philox call).
std::uint64_t draw(const RandomStream& s, index_type row, int pass, index_type t) {
  const auto bits = s.bits(row, (index_type(pass) << 40) + t / 4);
  return bits.v[t % 4];
}

// The values of the blocks A(rows_b, cols_b), rows and columns given as permuted positions.
template <class T>
EntryBlocks<T> evaluate(const ExecSpace& exec, const ClusterTree& tree,
                        const EntryEvaluator<T>& entries, Lists rows, Lists cols,
                        index_type& count) {
  if (!tree.is_identity()) {
    const auto& perm = tree.permutation_host();
    for (auto& list : rows)
      for (auto& i : list) i = perm(i);
    for (auto& list : cols)
      for (auto& j : list) j = perm(j);
  }
  const auto blocks = make_entry_blocks<T>(rows, cols);
  if (blocks.count() > 0) entries(exec, blocks);
  count += static_cast<index_type>(blocks.values.extent(0));
  return blocks;
}

// One copy straight into the vector (a deep copy on every backend, so that tools see each read
// of device data by the host).
template <class T>
std::vector<T> to_host(const Kokkos::View<T*, MemSpace>& v) {
  std::vector<T> out(v.extent(0));
  Kokkos::deep_copy(Kokkos::View<T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                        out.data(), out.size()),
                    v);
  return out;
}

// Nodes of every level (1..L) that are near each node: geometric (boxes whose gap is below `ratio`
// times the larger diameter, or touching) from points, else the index-adjacent nodes.
std::vector<Lists> near_nodes(const ClusterTree& tree, const HostPoints& points, double ratio) {
  const int levels = tree.levels();
  std::vector<Lists> near(static_cast<std::size_t>(levels) + 1);
  if (points.extent(0) == 0) {
    for (int l = 1; l <= levels; ++l) {
      const index_type nodes = ClusterTree::nodes_on_level(l);
      auto& lists = near[static_cast<std::size_t>(l)];
      lists.resize(static_cast<std::size_t>(nodes));
      for (index_type i = 0; i < nodes; ++i) {
        if (i > 0) lists[static_cast<std::size_t>(i)].push_back(i - 1);
        if (i + 1 < nodes) lists[static_cast<std::size_t>(i)].push_back(i + 1);
      }
    }
    return near;
  }
  const auto d = static_cast<index_type>(points.extent(1));
  const auto& perm = tree.permutation_host();
  // Bounding boxes (lo, hi per coordinate) of every node, heap order.
  std::vector<double> lo(static_cast<std::size_t>(tree.num_nodes() * d)), hi(lo.size());
  for (index_type node = tree.num_nodes() - 1; node >= 0; --node) {
    const index_type b = tree.begin_host()(node), n = tree.sizes_host()(node);
    for (index_type c = 0; c < d; ++c) {
      double l0 = std::numeric_limits<double>::infinity(), h0 = -l0;
      for (index_type p = b; p < b + n; ++p) {
        const double x = points(perm(p), c);
        l0 = std::min(l0, x), h0 = std::max(h0, x);
      }
      lo[static_cast<std::size_t>(node * d + c)] = l0;
      hi[static_cast<std::size_t>(node * d + c)] = h0;
    }
  }
  const auto is_near = [&](index_type a, index_type b) {
    double dist = 0, da = 0, db = 0;
    for (index_type c = 0; c < d; ++c) {
      const auto ia = static_cast<std::size_t>(a * d + c), ib = static_cast<std::size_t>(b * d + c);
      const double gap = std::max({0.0, lo[ia] - hi[ib], lo[ib] - hi[ia]});
      dist += gap * gap;
      da += (hi[ia] - lo[ia]) * (hi[ia] - lo[ia]);
      db += (hi[ib] - lo[ib]) * (hi[ib] - lo[ib]);
    }
    return dist == 0 || dist < ratio * ratio * std::max(da, db);
  };
  for (int l = 1; l <= levels; ++l) {
    const index_type nodes = ClusterTree::nodes_on_level(l);
    auto& lists = near[static_cast<std::size_t>(l)];
    lists.resize(static_cast<std::size_t>(nodes));
    for (index_type i = 0; i < nodes; ++i) {
      // A node near i has its parent near i's parent (boxes nest), or is i's sibling.
      std::vector<index_type> candidates{i ^ 1};
      if (l > 1) {
        for (const index_type q :
             near[static_cast<std::size_t>(l) - 1][static_cast<std::size_t>(i / 2)]) {
          candidates.push_back(2 * q), candidates.push_back(2 * q + 1);
        }
      }
      for (const index_type s : candidates) {
        if (is_near(ClusterTree::heap_index(l, i), ClusterTree::heap_index(l, s)))
          lists[static_cast<std::size_t>(i)].push_back(s);
      }
      std::sort(lists[static_cast<std::size_t>(i)].begin(),
                lists[static_cast<std::size_t>(i)].end());
    }
  }
  return near;
}

// Uniform positions outside a set of disjoint ranges, and inside a union of ranges.
struct Region {
  std::vector<std::pair<index_type, index_type>> ranges;  // sorted [begin, end)
  index_type size = 0;
  // Position number u (0 <= u < size) of the region.
  index_type inside(index_type u) const {
    for (const auto& [b, e] : ranges) {
      if (u < e - b) return b + u;
      u -= e - b;
    }
    return -1;
  }
};

// The complement in [0, n) of sorted disjoint ranges.
Region complement(const std::vector<std::pair<index_type, index_type>>& sorted, index_type n) {
  Region r;
  index_type at = 0;
  for (const auto& [b, e] : sorted) {
    if (b > at) r.ranges.emplace_back(at, b), r.size += b - at;
    at = e;
  }
  if (at < n) r.ranges.emplace_back(at, n), r.size += n - at;
  return r;
}

using Ranges = std::vector<std::pair<index_type, index_type>>;

// The union of two lists of sorted disjoint ranges, sorted and coalesced.
Ranges unite(const Ranges& a, const Ranges& b) {
  Ranges all(a);
  all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  Ranges out;
  for (const auto& r : all) {
    if (!out.empty() && r.first <= out.back().second) {
      out.back().second = std::max(out.back().second, r.second);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

// The positions of `outer` not in `inner` (both sorted disjoint ranges in [0, n)).
Region subtract(const Ranges& outer, const Ranges& inner, index_type n) {
  const Region rest = complement(inner, n);
  Region r;
  std::size_t q = 0;
  for (const auto& [b, e] : outer) {
    while (q < rest.ranges.size() && rest.ranges[q].second <= b) ++q;
    for (std::size_t t = q; t < rest.ranges.size() && rest.ranges[t].first < e; ++t) {
      const index_type lo = std::max(b, rest.ranges[t].first);
      const index_type hi = std::min(e, rest.ranges[t].second);
      if (lo < hi) r.ranges.emplace_back(lo, hi), r.size += hi - lo;
    }
  }
  return r;
}

// `count` positions of `region` drawn uniformly (or all of it when it has at most `count`),
// appended to `out`, with sqrt(region size / drawn) in `weights`: the row scale under which sums
// of squares over the drawn positions estimate those over the region without bias.
void draw_region(const Region& region, index_type count, const RandomStream& s, index_type row,
                 int pass, index_type first_word, std::vector<index_type>& out,
                 std::vector<double>& weights) {
  if (region.size == 0 || count == 0) return;
  if (region.size <= count) {
    for (index_type u = 0; u < region.size; ++u)
      out.push_back(region.inside(u)), weights.push_back(1);
    return;
  }
  const double w = static_cast<double>(region.size) / static_cast<double>(count);
  for (index_type t = 0; t < count; ++t) {
    const auto u = static_cast<index_type>(draw(s, row, pass, first_word + t) %
                                           static_cast<std::uint64_t>(region.size));
    out.push_back(region.inside(u));
    weights.push_back(std::sqrt(w));
  }
}

// M_b(a, c) = w_a V_b(a, c), or w_a V_b(c, a) when `transposed` (V_b n x rows then), for blocks of
// rows x n with the same offsets in M and V.
template <class T>
void pack_scaled(const ExecSpace& exec, const Kokkos::View<const T*, MemSpace>& values,
                 const MatrixBatch<T>& m, const Kokkos::View<const double*, MemSpace>& weights,
                 const Kokkos::View<const index_type*, MemSpace>& weight_offset, bool transposed) {
  const int count = m.layout.count();
  if (count == 0) return;
  const auto out = m.values;
  const auto off = m.layout.offset;
  const auto rows = m.layout.rows;
  const auto cols = m.layout.cols;
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  Kokkos::parallel_for(
      "strata::hss::skeletonize::pack", kx::auto_team_policy(exec, count),
      KOKKOS_LAMBDA(const typename Policy::member_type& team) {
        const int b = team.league_rank();
        const int r = rows(b), n = cols(b);
        const index_type o = off(b), wo = weight_offset(b);
        // A plain if (a compile-time constant): nvcc rejects an extended lambda's first capture
        // inside `if constexpr`.
        if (kx::runs_on_host<ExecSpace>) {
          // Host teams: a column per thread, no division per entry.
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, n), [&](const int c) {
            const index_type at = o + index_type(r) * c;
            for (int a = 0; a < r; ++a) {
              const T v = transposed ? values(o + c + index_type(n) * a) : values(at + a);
              out(at + a) = static_cast<T>(weights(wo + a)) * v;
            }
          });
        } else {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, r * n), [&](const int e) {
            const int a = e % r, c = e / r;
            const T v =
                transposed ? values(o + c + index_type(n) * a) : values(o + a + index_type(r) * c);
            out(o + a + index_type(r) * c) = static_cast<T>(weights(wo + a)) * v;
          });
        }
      });
}

// For the rows [first_b, last_b) of every M_b (rows_b x n_b, packed): sum of squares of
// M(a, :) - M(a, J) X (J the first k_b skeleton entries, X the k_b x n_b interpolation matrix).
template <class T>
Kokkos::View<double*, MemSpace> residuals(const ExecSpace& exec, const MatrixBatch<T>& m,
                                          const Kokkos::View<const index_type*, MemSpace>& first,
                                          const Kokkos::View<const index_type*, MemSpace>& last,
                                          const Kokkos::View<int*, MemSpace>& ranks,
                                          const MatrixBatch<int>& skeleton,
                                          const MatrixBatch<T>& x) {
  const int count = m.layout.count();
  // Every entry written below.
  Kokkos::View<double*, MemSpace> out(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::hss::skeletonize::residual"), count);
  if (count == 0) return out;
  const auto mv = m.values;
  const auto mo = m.layout.offset;
  const auto mr = m.layout.rows;
  const auto mc = m.layout.cols;
  const auto sv = skeleton.values;
  const auto so = skeleton.layout.offset;
  const auto xv = x.values;
  const auto xo = x.layout.offset;
  const auto xl = x.layout.ld;
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  Kokkos::parallel_for(
      "strata::hss::skeletonize::check", kx::auto_team_policy(exec, count),
      KOKKOS_LAMBDA(const typename Policy::member_type& team) {
        const int b = team.league_rank();
        const int r = mr(b), n = mc(b), f = static_cast<int>(first(b)), k = ranks(b),
                  q = static_cast<int>(last(b)) - f;
        const index_type o = mo(b);
        double sum = 0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, q * n),
            [&](const int e, double& acc) {
              const int a = f + e % q, c = e / q;
              double v = static_cast<double>(mv(o + a + index_type(r) * c));
              for (int t = 0; t < k; ++t) {
                v -= static_cast<double>(mv(o + a + index_type(r) * sv(so(b) + t))) *
                     static_cast<double>(xv(xo(b) + t + index_type(xl(b)) * c));
              }
              acc += v * v;
            },
            sum);
        Kokkos::single(Kokkos::PerTeam(team), [&]() { out(b) = sum; });
      });
  return out;
}

// U_b = X_b(0:k_b, :)^T (n_b x k_b column-major, k_b = ranks(b)) of every interpolation matrix X_b,
// packed at offset(b): only the rows of X that the ID filled, transposed into the basis layout.
template <class T>
Kokkos::View<T*, MemSpace> bases(const ExecSpace& exec, const MatrixBatch<T>& x,
                                 const Kokkos::View<const int*, MemSpace>& ranks,
                                 const Kokkos::View<const index_type*, MemSpace>& offset,
                                 index_type total) {
  Kokkos::View<T*, MemSpace> out(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::hss::skeletonize::bases"),
      static_cast<std::size_t>(total));
  const int count = x.layout.count();
  if (count == 0 || total == 0) return out;
  const auto xv = x.values;
  const auto xo = x.layout.offset;
  const auto xc = x.layout.cols;
  const auto xl = x.layout.ld;
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  Kokkos::parallel_for(
      "strata::hss::skeletonize::bases", kx::auto_team_policy(exec, count),
      KOKKOS_LAMBDA(const typename Policy::member_type& team) {
        const int b = team.league_rank();
        const int n = xc(b), k = ranks(b);
        const index_type o = offset(b), from = xo(b), ld = xl(b);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, n * k), [&](const int e) {
          const int c = e % n, t = e / n;
          out(o + c + index_type(n) * t) = xv(from + t + ld * c);
        });
      });
  return out;
}

// One node's interpolative decomposition: skeleton (permuted positions) and the n x k
// interpolation matrix (U or V, column-major).
template <class T>
struct NodeBasis {
  std::vector<index_type> skeleton;
  std::vector<T> basis;
  index_type rank() const { return static_cast<index_type>(skeleton.size()); }
};

// The Gram matrix G = U^T U (k x k) of a node's nested basis U over all its indices (U = X at a
// leaf, U = diag(U_c1, U_c2) X above), formed from the children's Grams: G = X^T diag(G_c1, G_c2)
// X, O(n k (n + k)) flops for X n x k, and its largest eigenvalue ||U||_2^2. An error E in the
// ID of the candidate rows of a node reaches the node's block row as diag(U_c1, U_c2) E, of norm
// at most max(||U_c1||_2, ||U_c2||_2) ||E||_F (the skeleton rows of a child stand for all its
// rows: this grows like the square root of the indices per skeleton row).
struct NestedGram {
  std::vector<double> g;
  double largest = 0;
};

template <class T>
NestedGram nested_gram(const std::vector<T>& basis, index_type rank, const NestedGram* c1,
                       const NestedGram* c2) {
  NestedGram out;
  const int k = checked_int(rank, "skeletonize: rank");
  if (k == 0) return out;
  const int n = checked_int(static_cast<index_type>(basis.size()) / rank, "skeletonize: rows");
  const std::vector<double> x(basis.begin(), basis.end());
  out.g.assign(static_cast<std::size_t>(k) * static_cast<std::size_t>(k), 0.0);
  const double one = 1, zero = 0;
  if (c1 == nullptr) {
    linalg::lapack::gemm("T", "N", &k, &k, &n, &one, x.data(), &n, x.data(), &n, &zero,
                         out.g.data(), &k);
  } else {
    // W = diag(G_c1, G_c2) X, then G = X^T W.
    std::vector<double> w(x.size(), 0.0);
    int at = 0;
    for (const NestedGram* c : {c1, c2}) {
      const int kc = static_cast<int>(std::lround(std::sqrt(static_cast<double>(c->g.size()))));
      if (kc > 0) {
        linalg::lapack::gemm("N", "N", &kc, &k, &kc, &one, c->g.data(), &kc, x.data() + at, &n,
                             &zero, w.data() + at, &n);
      }
      at += kc;
    }
    linalg::lapack::gemm("T", "N", &k, &k, &n, &one, x.data(), &n, w.data(), &n, &zero,
                         out.g.data(), &k);
  }
  out.largest = linalg::host::symmetric_eigenvalues(HostMatrix<double>(out.g.data(), k, k)).back();
  return out;
}

template <class T>
class Skeletonizer {
 public:
  Skeletonizer(const ExecSpace& exec, const ClusterTree& tree, const EntryEvaluator<T>& entries,
               const SkeletonizationOptions& options, const std::vector<Lists>& near,
               index_type& evaluations)
      : exec_(exec),
        tree_(tree),
        entries_(entries),
        options_(options),
        near_(near),
        evaluations_(evaluations) {}

  /// The IDs of one kind (0: rows, U; 1: columns, V) of every node of `level`: `own` are the
  /// candidates, `partner` the other kind's candidates (sampled near columns / rows).
  /// Only the nodes with candidates in `own` are computed (a rank passes its own nodes; the
  /// others get rank 0). `max_candidates`: the largest candidate count of the level over ALL its
  /// nodes (every rank's), which sets the pivot threshold, so that a node's ID does not depend on
  /// which nodes share its batch or its rank.
  /// `amplification[i]`: max(||U_c1||_2, ||U_c2||_2) of node i's children (1 at a leaf), by which
  /// the node's sampled rows are scaled, so that its pivot threshold and check bound the error
  /// that reaches the block row (NestedGram).
  std::vector<NodeBasis<T>> level_ids(int level, int kind, const Lists& own, const Lists& partner,
                                      double eps, index_type max_candidates,
                                      const std::vector<double>& amplification,
                                      index_type& unverified) {
    const auto nodes = static_cast<std::size_t>(ClusterTree::nodes_on_level(level));
    std::vector<NodeBasis<T>> out(nodes);
    const bool fixed = options_.rank > 0;
    std::vector<index_type> far(
        nodes, fixed ? std::max(options_.far_samples, options_.rank + 10) : options_.far_samples);
    std::vector<std::size_t> pending;
    for (std::size_t i = 0; i < nodes; ++i) {
      if (!own[i].empty()) pending.push_back(i);
    }
    const RandomStream sample{Distribution::gaussian, options_.seed, sample_stream};
    const RandomStream check{Distribution::gaussian, options_.seed, check_stream};
    for (int pass = 0; !pending.empty(); ++pass) {
      const bool last = fixed || pass >= options_.max_growth;
      Lists lists(pending.size());
      std::vector<double> weights;
      std::vector<index_type> weight_offset{0};
      std::vector<int> sample_rows(pending.size()), total_rows(pending.size()),
          cand(pending.size());
      for (std::size_t p = 0; p < pending.size(); ++p) {
        const std::size_t i = pending[p];
        const index_type row =
            2 * ClusterTree::heap_index(level, static_cast<index_type>(i)) + kind;
        auto& list = lists[p];
        const std::size_t first_weight = weights.size();
        // Near: the partner candidates of the near nodes, each standing for its node's indices.
        std::vector<std::pair<index_type, index_type>> taken{
            {tree_.node_begin(level, static_cast<index_type>(i)),
             tree_.node_begin(level, static_cast<index_type>(i)) +
                 tree_.node_size(level, static_cast<index_type>(i))}};
        for (const index_type s : near_[static_cast<std::size_t>(level)][i]) {
          const index_type b = tree_.node_begin(level, s), m = tree_.node_size(level, s);
          const auto& c = partner[static_cast<std::size_t>(s)];
          const double w = c.empty() ? 0 : std::sqrt(static_cast<double>(m) / c.size());
          for (const index_type j : c) list.push_back(j), weights.push_back(w);
          taken.emplace_back(b, b + m);
        }
        // The far field in rings, sampled separately: ring j = 1 .. level - 1 the indices of the
        // ancestor on level - j and of its near nodes that are not closer (in a ring j' < j or
        // in the near field), the last ring the rest. The closer rings are small and hold the
        // far field's largest entries: uniform draws over all of it would hardly ever see them.
        const auto rings = far_rings(level, static_cast<index_type>(i), unite({}, taken));
        const auto per_ring = [&](index_type total) {
          const auto r = static_cast<index_type>(rings.size());
          return r == 0 ? index_type(0) : (total + r - 1) / r;
        };
        const index_type far_each = per_ring(far[i]), check_each = per_ring(options_.check_samples);
        for (std::size_t j = 0; j < rings.size(); ++j) {
          draw_region(rings[j], far_each, sample, row, pass, index_type(j) * far_each, list,
                      weights);
        }
        sample_rows[p] = checked_int(static_cast<index_type>(list.size()), "skeletonize: samples");
        // Fresh far rows of the check in each ring not wholly in the sample: their weighted
        // residual sum estimates the far part of the block row's without bias.
        if (!fixed) {
          for (std::size_t j = 0; j < rings.size(); ++j) {
            if (rings[j].size > far_each) {
              draw_region(rings[j], check_each, check, row, pass, index_type(j) * check_each, list,
                          weights);
            }
          }
        }
        if (!fixed) {
          for (std::size_t w = first_weight; w < weights.size(); ++w)
            weights[w] *= amplification[i];
        }
        total_rows[p] = static_cast<int>(list.size());
        cand[p] = checked_int(static_cast<index_type>(own[i].size()), "skeletonize: candidates");
        weight_offset.push_back(static_cast<index_type>(weights.size()));
      }
      // Nodes without any sample (nothing outside them to see): rank 0. The others go in chunks
      // of at most chunk_entries sampled values, so that the buffers of one chunk are reused by
      // the next (on the host: no fresh pages, and the working set stays in cache).
      std::vector<std::size_t> with_samples;
      for (std::size_t p = 0; p < pending.size(); ++p) {
        if (sample_rows[p] > 0) with_samples.push_back(p);
      }
      std::vector<std::size_t> next;
      for (std::size_t first = 0; first < with_samples.size();) {
        std::size_t end = first;
        index_type chunk = 0;
        while (end < with_samples.size() &&
               (end == first ||
                chunk + index_type(total_rows[with_samples[end]]) * cand[with_samples[end]] <=
                    chunk_entries)) {
          chunk += index_type(total_rows[with_samples[end]]) * cand[with_samples[end]];
          ++end;
        }
        const std::vector<std::size_t> batch(with_samples.begin() + std::ptrdiff_t(first),
                                             with_samples.begin() + std::ptrdiff_t(end));
        first = end;
        process_chunk(kind, own, eps, max_candidates, last, pending, batch, lists, weights,
                      weight_offset, sample_rows, total_rows, cand, far, next, out, unverified);
      }
      pending = std::move(next);
    }
    return out;
  }

  // The far field of node i of `level` (the positions outside `near`, sorted disjoint ranges of
  // the node and its near field) in rings, nearest first, empty ones left out (level_ids).
  std::vector<Region> far_rings(int level, index_type i, Ranges near) const {
    std::vector<Region> rings;
    for (int j = 1; j < level; ++j) {
      const int up = level - j;
      const index_type a = i >> j;
      Ranges outer{{tree_.node_begin(up, a), tree_.node_begin(up, a) + tree_.node_size(up, a)}};
      for (const index_type s : near_[static_cast<std::size_t>(up)][static_cast<std::size_t>(a)])
        outer.emplace_back(tree_.node_begin(up, s),
                           tree_.node_begin(up, s) + tree_.node_size(up, s));
      std::sort(outer.begin(), outer.end());
      Region ring = subtract(outer, near, tree_.size());
      if (ring.size > 0) rings.push_back(std::move(ring));
      near = unite(near, outer);
    }
    Region rest = complement(near, tree_.size());
    if (rest.size > 0) rings.push_back(std::move(rest));
    return rings;
  }

  // Entries A(rows_b, cols_b) on the device, the blocks column-major one after the other.
  Kokkos::View<T*, MemSpace> device_blocks(const Lists& rows, const Lists& cols) {
    return evaluate(exec_, tree_, entries_, rows, cols, evaluations_).values;
  }

  // Entries A(rows_b, cols_b) as host column-major blocks.
  std::vector<std::vector<T>> blocks(const Lists& rows, const Lists& cols) {
    const auto b = evaluate(exec_, tree_, entries_, rows, cols, evaluations_);
    const auto values = to_host(b.values);
    std::vector<std::vector<T>> out(rows.size());
    std::size_t at = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const std::size_t size = rows[i].size() * cols[i].size();
      out[i].assign(values.begin() + static_cast<std::ptrdiff_t>(at),
                    values.begin() + static_cast<std::ptrdiff_t>(at + size));
      at += size;
    }
    return out;
  }

 private:
  // The IDs of the pending nodes pending[p], p in `batch` (level_ids): evaluate the samples,
  // factor, check; a node passing (or on the last pass) goes to out, the others to `next` with
  // twice the far samples.
  void process_chunk(int kind, const Lists& own, double eps, index_type max_candidates, bool last,
                     const std::vector<std::size_t>& pending, const std::vector<std::size_t>& batch,
                     const Lists& lists, const std::vector<double>& weights,
                     const std::vector<index_type>& weight_offset,
                     const std::vector<int>& sample_rows, const std::vector<int>& total_rows,
                     const std::vector<int>& cand, std::vector<index_type>& far,
                     std::vector<std::size_t>& next, std::vector<NodeBasis<T>>& out,
                     index_type& unverified) {
    const bool fixed = options_.rank > 0;
    Lists rows, cols;
    std::vector<int> br, bs, bn;
    std::vector<index_type> bw;
    std::vector<double> bweights;
    for (const std::size_t p : batch) {
      const std::size_t i = pending[p];
      if (kind == 0) {
        rows.push_back(own[i]), cols.push_back(lists[p]);
      } else {
        rows.push_back(lists[p]), cols.push_back(own[i]);
      }
      br.push_back(total_rows[p]), bs.push_back(sample_rows[p]), bn.push_back(cand[p]);
      bw.push_back(static_cast<index_type>(bweights.size()));
      bweights.insert(bweights.end(), weights.begin() + weight_offset[p],
                      weights.begin() + weight_offset[p + 1]);
    }
    const auto blocks =
        evaluate(exec_, tree_, entries_, std::move(rows), std::move(cols), evaluations_);
    Kokkos::View<double*, MemSpace> w(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::hss::skeletonize::weights"),
        bweights.size());
    Kokkos::deep_copy(
        w, Kokkos::View<const double*, Kokkos::HostSpace>(bweights.data(), bweights.size()));
    // Per matrix: the weights' offset, and the check's rows [sample rows, total rows): one array,
    // one copy.
    const std::size_t count = batch.size();
    std::vector<index_type> per_matrix(bw);
    per_matrix.insert(per_matrix.end(), bs.begin(), bs.end());
    per_matrix.insert(per_matrix.end(), br.begin(), br.end());
    Kokkos::View<index_type*, MemSpace> per_matrix_device(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::hss::skeletonize::per_matrix"),
        per_matrix.size());
    Kokkos::deep_copy(per_matrix_device, Kokkos::View<const index_type*, Kokkos::HostSpace>(
                                             per_matrix.data(), per_matrix.size()));
    const auto slice = [&](std::size_t part) {
      return Kokkos::View<const index_type*, MemSpace>(
          Kokkos::subview(per_matrix_device, std::make_pair(part * count, (part + 1) * count)));
    };
    const auto wo = slice(0);
    const auto packed =
        MatrixBatch<T>::allocate_uninitialized("strata::hss::skeletonize::m", br, bn);
    pack_scaled<T>(exec_, blocks.values, packed, w, wo, kind == 0);
    std::vector<int> ld(br), x_rows(batch.size());
    for (std::size_t b = 0; b < batch.size(); ++b) x_rows[b] = std::max(1, std::min(bs[b], bn[b]));
    const MatrixBatch<T> a(packed.values,
                           BatchLayout::strided(packed.layout.host_offset, bs, bn, ld));
    // Both fully written by the ID.
    auto skeleton = MatrixBatch<int>::allocate_uninitialized("strata::hss::skeletonize::skeleton",
                                                             bn, std::vector<int>(batch.size(), 1));
    auto x = MatrixBatch<T>::allocate_uninitialized("strata::hss::skeletonize::x", x_rows, bn);
    // Every entry written by the ID.
    Kokkos::View<int*, MemSpace> ranks(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::hss::skeletonize::ranks"),
        batch.size());
    linalg::RankRule rule;
    // Column-pivoted QR stopped at the first pivot <= pivot_tolerance: every trailing column
    // norm is then <= pivot_tolerance, so the weighted sample residual is at most
    // (n_b - k_b) pivot_tolerance^2 <= eps^2 (zero when k_b = min(sample rows, n_b)), as
    // n_b <= max_candidates.
    double pivot_tolerance = 0;
    if (fixed) {
      rule.max_rank = checked_int(options_.rank, "skeletonize: rank");
    } else {
      pivot_tolerance =
          eps / std::sqrt(static_cast<double>(std::max(index_type(1), max_candidates)));
      rule.absolute_tolerance = pivot_tolerance;
    }
    // Host memory: the QRCP stops at the rank (linalg/detail/truncated_id.hpp; xGEQP3 would
    // factor every candidate column); the team kernel of device memory stops there already.
    if constexpr (Kokkos::SpaceAccessibility<Kokkos::HostSpace, MemSpace>::accessible) {
      linalg::detail::host_truncated_interpolative_decomposition(exec_, a, rule, ranks, skeleton,
                                                                 x);
    } else {
      linalg::interpolative_decomposition(exec_, a, rule, ranks, skeleton, x);
    }
    // Residual estimate of the whole block row: the near field is entirely in the sample (by its
    // candidates), so its part is at most the sample residual, bounded above from the pivots; the
    // far part is measured on the fresh rows. Launched before the host reads anything back.
    const auto far_device =
        fixed ? Kokkos::View<double*, MemSpace>()
              : residuals<T>(exec_, packed, slice(1), slice(2), ranks, skeleton, x);
    const auto k = to_host(ranks);
    std::vector<double> residual(batch.size(), 0);
    if (!fixed) {
      const auto far_part = to_host(far_device);
      for (std::size_t b = 0; b < batch.size(); ++b) {
        const double near_bound = k[b] < std::min(bs[b], bn[b])
                                      ? (bn[b] - k[b]) * pivot_tolerance * pivot_tolerance
                                      : 0.0;
        residual[b] = near_bound + far_part[b];
      }
    }
    // The bases U_b = X_b(0:k_b, :)^T, formed on the device and read back packed (X has min(sample
    // rows, n_b) rows, of which the ID fills k_b).
    std::vector<index_type> basis_offset(count + 1, 0);
    for (std::size_t b = 0; b < count; ++b)
      basis_offset[b + 1] = basis_offset[b] + index_type(bn[b]) * k[b];
    Kokkos::View<index_type*, MemSpace> basis_offset_device(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::hss::skeletonize::basis_offset"),
        count + 1);
    Kokkos::deep_copy(basis_offset_device, Kokkos::View<const index_type*, Kokkos::HostSpace>(
                                               basis_offset.data(), basis_offset.size()));
    const auto u_device = bases<T>(exec_, x, ranks, basis_offset_device, basis_offset[count]);
    const auto skel = to_host(skeleton.values);
    const auto uh = to_host(u_device);
    for (std::size_t b = 0; b < batch.size(); ++b) {
      const std::size_t i = pending[batch[b]];
      // Saturated: the rank reached the sample count while fresh rows were drawn (the sample may
      // miss directions). The residual allowance 2 eps^2: eps^2 for the truncation, as much again
      // for the spread of the fresh estimate.
      const bool saturated = k[b] >= bs[b] && bs[b] < bn[b] && br[b] > bs[b];
      const bool passed = fixed || (residual[b] <= 2 * eps * eps && !saturated);
      if (!passed && !last) {
        next.push_back(i);
        far[i] *= 2;
        continue;
      }
      if (!passed) ++unverified;
      auto& node = out[i];
      node.skeleton.resize(static_cast<std::size_t>(k[b]));
      const index_type so = skeleton.layout.host_offset[b];
      for (int t = 0; t < k[b]; ++t)
        node.skeleton[static_cast<std::size_t>(t)] = own[i][static_cast<std::size_t>(skel[so + t])];
      node.basis.assign(uh.begin() + static_cast<std::ptrdiff_t>(basis_offset[b]),
                        uh.begin() + static_cast<std::ptrdiff_t>(basis_offset[b + 1]));
    }
  }

  ExecSpace exec_;
  const ClusterTree& tree_;
  const EntryEvaluator<T>& entries_;
  const SkeletonizationOptions& options_;
  const std::vector<Lists>& near_;
  index_type& evaluations_;
};

// Entry evaluations (or unverified nodes) of one rank: `local` on its subtrees' nodes, `shared` on
// the levels every rank computes alike (counted once in the global total).
struct Tally {
  index_type local = 0, shared = 0;
  index_type global(const Comm& comm) const {
    return comm.allreduce(local, ReduceOp::sum) + shared;
  }
};

// The lists `mine` of every rank, in rank order (one allgather of the sizes, one of the values).
template <class V>
std::vector<std::vector<V>> allgather_lists(const Comm& comm, const std::vector<V>& mine) {
  const auto counts = comm.allgather(static_cast<std::int64_t>(mine.size()));
  std::int64_t total = 0;
  for (const auto c : counts) total += c;
  std::vector<V> all(static_cast<std::size_t>(total));
  comm.allgatherv_raw(mine.data(), static_cast<std::int64_t>(mine.size()), all.data(), counts,
                      strata::detail::mpi_type_tag<V>());
  std::vector<std::vector<V>> out(counts.size());
  std::size_t at = 0;
  for (std::size_t p = 0; p < counts.size(); ++p) {
    const auto c = static_cast<std::size_t>(counts[p]);
    out[p].assign(all.begin() + static_cast<std::ptrdiff_t>(at),
                  all.begin() + static_cast<std::ptrdiff_t>(at + c));
    at += c;
  }
  return out;
}

index_type max_size(const Lists& lists) {
  std::size_t m = 0;
  for (const auto& l : lists) m = std::max(m, l.size());
  return static_cast<index_type>(m);
}

// One construction with the per-level budgets eps[l] (tolerance mode) or the fixed rank, split
// over the ranks (dist_skeletonization.hpp): levels below the split on this rank's subtrees, the
// skeletons of each such level allgathered, the levels up to the split on every rank. Returns the
// distributed matrix; `max_rank` receives the largest row rank per level (global).
template <class T>
DistHssMatrix<T> skeletonize(const ExecSpace& exec, const Comm& comm, const ClusterTree& tree,
                             const TreeSplit& split, const EntryEvaluator<T>& entries,
                             const SkeletonizationOptions& options, const std::vector<Lists>& near,
                             const std::vector<double>& eps,
                             const std::optional<BlockRowLayout>& layout, Tally& evaluations,
                             Tally& unverified, std::vector<index_type>& max_rank) {
  const int levels = tree.levels(), ls = split.split_level;
  const int me = comm.rank();
  // Nodes [first, end) of level l >= ls in the subtrees of rank p.
  const auto owned = [&](int l, int p) {
    return std::make_pair(split.first(p) << (l - ls), (split.first(p) + split.count(p))
                                                          << (l - ls));
  };
  Skeletonizer<T> local(exec, tree, entries, options, near, evaluations.local);
  Skeletonizer<T> shared(exec, tree, entries, options, near, evaluations.shared);
  const auto leaves = static_cast<std::size_t>(ClusterTree::nodes_on_level(levels));
  Lists cand_r(leaves);
  for (std::size_t i = 0; i < leaves; ++i) {
    const index_type b = tree.node_begin(levels, static_cast<index_type>(i));
    for (index_type a = 0; a < tree.node_size(levels, static_cast<index_type>(i)); ++a)
      cand_r[i].push_back(b + a);
  }
  Lists cand_c = cand_r;
  const auto leaf_range = owned(levels, me);
  const index_type leaf0 = leaf_range.first, leaf1 = leaf_range.second;
  // The leaf blocks D of this rank's leaves stay on the device, in the order and layout of the
  // subtrees' D arrays (each leaf's block column-major after the previous one's).
  Kokkos::View<T*, MemSpace> d;
  collective(comm, [&] {
    const Lists mine(cand_r.begin() + leaf0, cand_r.begin() + leaf1);
    d = local.device_blocks(mine, mine);
  });
  HssRanks ranks;
  ranks.row.assign(static_cast<std::size_t>(levels) + 1, {});
  ranks.col = ranks.row;
  std::vector<std::vector<NodeBasis<T>>> u(ranks.row.size()), v(ranks.row.size());
  std::vector<std::vector<std::vector<T>>> b(ranks.row.size());
  // Tolerance mode: the Grams of the nested row and column bases of the level below (the
  // children; at the split level every node's, else this rank's).
  const bool fixed = options.rank > 0;
  std::vector<NestedGram> gram_r, gram_c;
  unverified = {};
  for (int level = levels; level >= 1; --level) {
    kx::ScopedRegion region("strata::hss::skeletonize::level " + std::to_string(level));
    const auto l = static_cast<std::size_t>(level);
    const bool is_shared = level <= ls;
    const auto nodes = static_cast<std::size_t>(ClusterTree::nodes_on_level(level));
    const auto range = is_shared ? std::make_pair(index_type(0), static_cast<index_type>(nodes))
                                 : owned(level, me);
    const index_type b0 = range.first, b1 = range.second;
    auto& sk = is_shared ? shared : local;
    auto& unv = is_shared ? unverified.shared : unverified.local;
    Lists own_r(nodes), own_c(nodes);
    for (index_type i = b0; i < b1; ++i) {
      own_r[static_cast<std::size_t>(i)] = cand_r[static_cast<std::size_t>(i)];
      own_c[static_cast<std::size_t>(i)] = cand_c[static_cast<std::size_t>(i)];
    }
    std::vector<double> amp_r(nodes, 1.0), amp_c(nodes, 1.0);
    if (!fixed && level < levels) {
      for (index_type i = b0; i < b1; ++i) {
        const auto si = static_cast<std::size_t>(i);
        amp_r[si] = std::sqrt(std::max(gram_r[2 * si].largest, gram_r[2 * si + 1].largest));
        amp_c[si] = std::sqrt(std::max(gram_c[2 * si].largest, gram_c[2 * si + 1].largest));
      }
    }
    collective(comm, [&] {
      u[l] = sk.level_ids(level, 0, own_r, cand_c, eps[l], max_size(cand_r), amp_r, unv);
      v[l] = sk.level_ids(level, 1, own_c, cand_r, eps[l], max_size(cand_c), amp_c, unv);
    });
    std::vector<NestedGram> next_r(fixed ? 0 : nodes), next_c(fixed ? 0 : nodes);
    if (!fixed) {
      collective(comm, [&] {
        // Many tiny products: a threaded BLAS would only spin (lapack.hpp).
        const linalg::lapack::SingleThreadedBlas single_threaded;
        for (index_type i = b0; i < b1; ++i) {
          const auto si = static_cast<std::size_t>(i);
          const bool leaf = level == levels;
          next_r[si] =
              nested_gram(u[l][si].basis, u[l][si].rank(), leaf ? nullptr : &gram_r[2 * si],
                          leaf ? nullptr : &gram_r[2 * si + 1]);
          next_c[si] =
              nested_gram(v[l][si].basis, v[l][si].rank(), leaf ? nullptr : &gram_c[2 * si],
                          leaf ? nullptr : &gram_c[2 * si + 1]);
        }
      });
    }
    if (!is_shared) {
      // Every rank's skeletons of this level: the near fields of the next level and the top need
      // them (bases stay with their rank).
      std::vector<index_type> meta, indices;
      for (index_type i = b0; i < b1; ++i) {
        const auto& ui = u[l][static_cast<std::size_t>(i)];
        const auto& vi = v[l][static_cast<std::size_t>(i)];
        meta.push_back(ui.rank()), meta.push_back(vi.rank());
        indices.insert(indices.end(), ui.skeleton.begin(), ui.skeleton.end());
        indices.insert(indices.end(), vi.skeleton.begin(), vi.skeleton.end());
      }
      const Lists all_meta = allgather_lists(comm, meta),
                  all_indices = allgather_lists(comm, indices);
      for (int p = 0; p < comm.size(); ++p) {
        if (p == me) continue;
        const auto p_range = owned(level, p);
        const index_type p0 = p_range.first, p1 = p_range.second;
        const auto& pm = all_meta[static_cast<std::size_t>(p)];
        auto at = all_indices[static_cast<std::size_t>(p)].begin();
        for (index_type i = p0; i < p1; ++i) {
          const auto r = pm[static_cast<std::size_t>(2 * (i - p0))];
          const auto c = pm[static_cast<std::size_t>(2 * (i - p0) + 1)];
          u[l][static_cast<std::size_t>(i)].skeleton.assign(at, at + r);
          v[l][static_cast<std::size_t>(i)].skeleton.assign(at + r, at + r + c);
          at += r + c;
        }
      }
      // The replicated levels above need every child's Gram: (largest, G) per node and kind.
      if (!fixed && level == ls + 1) {
        std::vector<double> grams;
        for (index_type i = b0; i < b1; ++i) {
          for (const auto* g :
               {&next_r[static_cast<std::size_t>(i)], &next_c[static_cast<std::size_t>(i)]}) {
            grams.push_back(g->largest);
            grams.insert(grams.end(), g->g.begin(), g->g.end());
          }
        }
        const auto all_grams = allgather_lists(comm, grams);
        for (int p = 0; p < comm.size(); ++p) {
          if (p == me) continue;
          const auto p_range = owned(level, p);
          auto at = all_grams[static_cast<std::size_t>(p)].begin();
          for (index_type i = p_range.first; i < p_range.second; ++i) {
            const auto si = static_cast<std::size_t>(i);
            for (auto* g : {&next_r[si], &next_c[si]}) {
              const index_type k = g == &next_r[si] ? u[l][si].rank() : v[l][si].rank();
              g->largest = *at++;
              g->g.assign(at, at + k * k);
              at += k * k;
            }
          }
        }
      }
    }
    gram_r = std::move(next_r), gram_c = std::move(next_c);
    Lists rows(nodes), cols(nodes);
    for (std::size_t i = 0; i < nodes; ++i) {
      ranks.row[l].push_back(u[l][i].rank());
      ranks.col[l].push_back(v[l][i].rank());
    }
    for (index_type i = b0; i < b1; ++i) {
      const auto si = static_cast<std::size_t>(i);
      rows[si] = u[l][si].skeleton;
      cols[si] = v[l][si ^ 1].skeleton;
    }
    collective(comm, [&] { b[l] = sk.blocks(rows, cols); });
    Lists pr(nodes / 2), pc(nodes / 2);
    for (std::size_t p = 0; p < nodes / 2; ++p) {
      for (std::size_t c = 2 * p; c < 2 * p + 2; ++c) {
        pr[p].insert(pr[p].end(), u[l][c].skeleton.begin(), u[l][c].skeleton.end());
        pc[p].insert(pc[p].end(), v[l][c].skeleton.begin(), v[l][c].skeleton.end());
      }
    }
    cand_r = std::move(pr), cand_c = std::move(pc);
  }
  max_rank.assign(static_cast<std::size_t>(levels) + 1, 0);
  for (int l = 1; l <= levels; ++l) {
    const auto& r = ranks.row[static_cast<std::size_t>(l)];
    max_rank[static_cast<std::size_t>(l)] = *std::max_element(r.begin(), r.end());
  }
  // Copies node i's generators into the level arrays of g, as node i - node0 there.
  const auto store = [&](HssLevel<T>& g, int level, index_type node0) {
    const auto l = static_cast<std::size_t>(level);
    auto uh = Kokkos::create_mirror_view(g.u);
    auto vh = Kokkos::create_mirror_view(g.v);
    auto bh = Kokkos::create_mirror_view(g.b);
    for (index_type i = 0; i < g.nodes; ++i) {
      const auto si = static_cast<std::size_t>(node0 + i);
      std::copy(u[l][si].basis.begin(), u[l][si].basis.end(), uh.data() + g.u_offset_host(i));
      std::copy(v[l][si].basis.begin(), v[l][si].basis.end(), vh.data() + g.v_offset_host(i));
      std::copy(b[l][si].begin(), b[l][si].end(), bh.data() + g.b_offset_host(i));
    }
    Kokkos::deep_copy(exec, g.u, uh);
    Kokkos::deep_copy(exec, g.v, vh);
    Kokkos::deep_copy(exec, g.b, bh);
    exec.fence();
  };
  DistHssMatrix<T> out;
  kx::ScopedRegion region("strata::hss::skeletonize::store");
  collective(comm, [&] {
    std::vector<HssLevel<T>> top(static_cast<std::size_t>(ls) + 1);
    for (int level = 1; level <= ls; ++level) {
      const auto l = static_cast<std::size_t>(level);
      std::vector<int> r, c, ur, vr;
      for (index_type i = 0; i < ClusterTree::nodes_on_level(level); ++i) {
        const auto si = static_cast<std::size_t>(i);
        r.push_back(static_cast<int>(ranks.row[l][si]));
        c.push_back(static_cast<int>(ranks.col[l][si]));
        if (level == levels) {
          ur.push_back(checked_int(tree.node_size(level, i), "skeletonize: leaf size"));
          vr.push_back(ur.back());
        } else {
          ur.push_back(static_cast<int>(ranks.row[l + 1][2 * si] + ranks.row[l + 1][2 * si + 1]));
          vr.push_back(static_cast<int>(ranks.col[l + 1][2 * si] + ranks.col[l + 1][2 * si + 1]));
        }
      }
      top[l] = detail::make_level<T>(level, r, c, ur, vr);
      store(top[l], level, 0);
    }
    std::vector<HssMatrix<T>> subs;
    const int sub_levels = levels - ls;
    std::size_t d_at = 0;
    for (index_type g = split.first(me); g < split.first(me) + split.count(me); ++g) {
      HssRanks sr;
      sr.row.assign(static_cast<std::size_t>(sub_levels) + 1, {});
      sr.col = sr.row;
      for (int q = 1; q <= sub_levels; ++q) {
        const auto l = static_cast<std::size_t>(ls + q);
        for (index_type i = g << q; i < (g + 1) << q; ++i) {
          sr.row[static_cast<std::size_t>(q)].push_back(ranks.row[l][static_cast<std::size_t>(i)]);
          sr.col[static_cast<std::size_t>(q)].push_back(ranks.col[l][static_cast<std::size_t>(i)]);
        }
      }
      // Every generator entry is written below (U, V: the interpolation matrices, B: the coupling
      // blocks, D: the leaf blocks, each filling its node's slot): no zero fill.
      auto sub = HssMatrix<T>::uninitialized(
          ClusterTree::with_levels(tree.node_size(ls, g), sub_levels), sr);
      for (int q = 1; q <= sub_levels; ++q) store(sub.level(q), ls + q, g << q);
      // The subtrees' leaves are consecutive in d: one device copy per subtree.
      const auto d_len = static_cast<std::size_t>(sub.d().extent(0));
      Kokkos::deep_copy(exec, sub.d(), Kokkos::subview(d, std::make_pair(d_at, d_at + d_len)));
      d_at += d_len;
      subs.push_back(std::move(sub));
    }
    out = DistHssMatrix<T>(comm, tree, std::move(subs), std::move(top), layout);
  });
  return out;
}

// ---- sampled Frobenius norms (the certificate) ----

// Entries (i, j) (permuted positions) of the strata, `per` per stratum, with their
// Horvitz-Thompson weights: stratum 0 the main diagonal (often the largest entries: self terms,
// ridges), stratum L + 1 the rest of the leaf diagonal blocks, stratum l = 1..L the sibling blocks
// of level l.
struct StratumSamples {
  std::vector<index_type> row, col;
  std::vector<double> weight;
  std::vector<int> stratum;
};

StratumSamples draw_strata(const ClusterTree& tree, index_type per, std::uint64_t seed,
                           std::uint64_t stream) {
  const RandomStream s{Distribution::gaussian, seed, stream};
  const int levels = tree.levels();
  StratumSamples out;
  const index_type n = tree.size();
  const index_type leaves = ClusterTree::nodes_on_level(levels);
  for (int stratum = 0; stratum <= levels + 1; ++stratum) {
    const int level = stratum == 0 || stratum == levels + 1 ? levels : stratum;
    const index_type nodes = ClusterTree::nodes_on_level(level);
    for (index_type t = 0; t < per; ++t) {
      const auto bits = s.bits(t, stratum);
      if (stratum == 0) {
        const auto i = static_cast<index_type>(bits.v[0] % static_cast<std::uint64_t>(n));
        out.row.push_back(i), out.col.push_back(i);
        out.weight.push_back(static_cast<double>(n));
        out.stratum.push_back(stratum);
        continue;
      }
      const auto a = static_cast<index_type>(bits.v[0] % static_cast<std::uint64_t>(nodes));
      const index_type na = tree.node_size(level, a);
      const index_type begin = tree.node_begin(level, a);
      const auto i = static_cast<index_type>(bits.v[1] % static_cast<std::uint64_t>(na));
      if (stratum == levels + 1) {
        // Off the diagonal inside a leaf block: j uniform among the other na - 1 indices.
        if (na < 2) continue;
        auto j = static_cast<index_type>(bits.v[2] % static_cast<std::uint64_t>(na - 1));
        if (j >= i) ++j;
        out.row.push_back(begin + i), out.col.push_back(begin + j);
        out.weight.push_back(static_cast<double>(leaves) * static_cast<double>(na) *
                             static_cast<double>(na - 1));
      } else {
        const index_type b = a ^ 1, nb = tree.node_size(level, b);
        out.row.push_back(begin + i);
        out.col.push_back(tree.node_begin(level, b) +
                          static_cast<index_type>(bits.v[2] % static_cast<std::uint64_t>(nb)));
        out.weight.push_back(static_cast<double>(nodes) * static_cast<double>(na) *
                             static_cast<double>(nb));
      }
      out.stratum.push_back(stratum);
    }
  }
  return out;
}

// The sampled entries of A, each evaluated on the rank owning its row in `rows` (the split's
// layout of tree positions) and summed over the ranks (x + 0 = x: the same values on every rank,
// bit for bit). `count` grows by the entries evaluated over all ranks.
template <class T>
std::vector<double> sampled_entries(const ExecSpace& exec, const Comm& comm,
                                    const ClusterTree& tree, const BlockRowLayout& rows_layout,
                                    const EntryEvaluator<T>& entries, const StratumSamples& s,
                                    index_type& count) {
  std::vector<double> out(s.row.size(), 0.0);
  index_type local = 0;
  collective(comm, [&] {
    Lists rows, cols;
    std::vector<std::size_t> mine;
    for (std::size_t t = 0; t < s.row.size(); ++t) {
      if (rows_layout.owner(s.row[t]) != comm.rank()) continue;
      rows.push_back({s.row[t]}), cols.push_back({s.col[t]});
      mine.push_back(t);
    }
    const auto blocks = evaluate(exec, tree, entries, rows, cols, local);
    const auto v = to_host(blocks.values);
    for (std::size_t q = 0; q < mine.size(); ++q) out[mine[q]] = static_cast<double>(v[q]);
  });
  comm.allreduce_raw(out.data(), static_cast<std::int64_t>(out.size()),
                     strata::detail::mpi_type_tag<double>(), ReduceOp::sum);
  count += comm.allreduce(local, ReduceOp::sum);
  return out;
}

// Stratified estimate of sum_ij x_ij (x = squares at the samples): (total, variance).
std::pair<double, double> stratified_sum(const StratumSamples& s, const std::vector<double>& x) {
  const int strata =
      s.stratum.empty() ? 0 : *std::max_element(s.stratum.begin(), s.stratum.end()) + 1;
  double total = 0, variance = 0;
  for (int st = 0; st < strata; ++st) {
    double sum = 0, sum2 = 0;
    index_type m = 0;
    for (std::size_t t = 0; t < x.size(); ++t) {
      if (s.stratum[t] != st) continue;
      const double y = s.weight[t] * x[t];
      sum += y, sum2 += y * y, ++m;
    }
    if (m == 0) continue;
    const double mean = sum / m;
    total += mean;
    if (m > 1) variance += std::max(0.0, (sum2 - m * mean * mean) / (m - 1)) / m;
  }
  return {total, variance};
}

// H(i, j) from the generators of a distributed matrix, on host copies of this rank's subtrees and
// the replicated top: entries of this rank's subtrees, and rows of the nested bases of its rows up
// to any level (the same operations in the same order at any rank count).
template <class T>
class HostGenerators {
 public:
  explicit HostGenerators(const DistHssMatrix<T>& h)
      : tree_(h.tree()), ls_(h.split_level()), first_(h.first_node()) {
    const int levels = tree_.levels();
    parts_.resize(static_cast<std::size_t>(levels) + 1);
    const auto part = [](const HssLevel<T>& g) {
      return Part{&g, to_host(g.u), to_host(g.v), to_host(g.b)};
    };
    for (int l = 1; l <= levels; ++l) {
      auto& parts = parts_[static_cast<std::size_t>(l)];
      if (l <= ls_) {
        parts.push_back(part(h.top_level(l)));
      } else {
        for (const auto& sub : h.subtrees()) parts.push_back(part(sub.level(l - ls_)));
      }
    }
    for (const auto& sub : h.subtrees()) {
      d_.push_back(to_host(sub.d()));
      d_offset_.push_back(sub.d_offset_host());
    }
    for (index_type i = 0; i < ClusterTree::nodes_on_level(levels); ++i)
      leaf_begin_.push_back(tree_.node_begin(levels, i));
  }

  /// H(i, j) for i, j in one of this rank's subtrees (a stratum above the split crosses them).
  double entry(index_type i, index_type j, int stratum) const {
    const int levels = tree_.levels();
    if (stratum == 0 || stratum == levels + 1) {
      const index_type a = leaf(i), begin = leaf_begin_[static_cast<std::size_t>(a)];
      const int shift = levels - ls_;
      const index_type g = a >> shift;
      const auto sj = static_cast<std::size_t>(g - first_);
      const index_type m = tree_.node_size(levels, a);
      return static_cast<double>(d_[sj][static_cast<std::size_t>(d_offset_[sj](a - (g << shift)) +
                                                                 (i - begin) + m * (j - begin))]);
    }
    return coupling(up(true, i, stratum), up(false, j, stratum), stratum,
                    leaf(i) >> (levels - stratum));
  }

  /// x^T B y for the coupling B of `node` of `level` with its sibling.
  double coupling(const std::vector<double>& x, const std::vector<double>& y, int level,
                  index_type node) const {
    const At n = at(level, node);
    const index_type r = n.part->g->row_rank_host(n.i);
    const auto& b = n.part->b;
    const index_type off = n.part->g->b_offset_host(n.i);
    double sum = 0;
    for (std::size_t q = 0; q < y.size(); ++q) {
      double column = 0;
      for (std::size_t p = 0; p < x.size(); ++p)
        column += x[p] * static_cast<double>(
                             b[static_cast<std::size_t>(off + index_type(p) + r * index_type(q))]);
      sum += column * y[q];
    }
    return sum;
  }

  /// Row of position p (one of this rank's) of the nested basis (U if rows, else V) of its
  /// ancestor on `level`.
  std::vector<double> up(bool rows, index_type p, int level) const {
    const int levels = tree_.levels();
    index_type node = leaf(p);
    const index_type local = p - leaf_begin_[static_cast<std::size_t>(node)];
    const At leaf_at = at(levels, node);
    const auto& gl = *leaf_at.part->g;
    const index_type k = rows ? gl.row_rank_host(leaf_at.i) : gl.col_rank_host(leaf_at.i);
    const index_type ld = rows ? gl.u_rows_host(leaf_at.i) : gl.v_rows_host(leaf_at.i);
    const index_type off = rows ? gl.u_offset_host(leaf_at.i) : gl.v_offset_host(leaf_at.i);
    const auto& leaf_data = rows ? leaf_at.part->u : leaf_at.part->v;
    std::vector<double> x(static_cast<std::size_t>(k));
    for (index_type t = 0; t < k; ++t)
      x[static_cast<std::size_t>(t)] =
          static_cast<double>(leaf_data[static_cast<std::size_t>(off + local + ld * t)]);
    for (int l = levels - 1; l >= level; --l) {
      const index_type parent = node / 2;
      const At pa = at(l, parent);
      const auto& g = *pa.part->g;
      const index_type rp = rows ? g.row_rank_host(pa.i) : g.col_rank_host(pa.i);
      const index_type lp = rows ? g.u_rows_host(pa.i) : g.v_rows_host(pa.i);
      const index_type op = rows ? g.u_offset_host(pa.i) : g.v_offset_host(pa.i);
      index_type shift = 0;
      if (node & 1) {
        const At sibling = at(l + 1, node - 1);
        shift = rows ? sibling.part->g->row_rank_host(sibling.i)
                     : sibling.part->g->col_rank_host(sibling.i);
      }
      std::vector<double> y(static_cast<std::size_t>(rp), 0.0);
      const auto& dl = rows ? pa.part->u : pa.part->v;
      for (index_type t = 0; t < rp; ++t) {
        double sum = 0;
        for (std::size_t q = 0; q < x.size(); ++q)
          sum += x[q] * static_cast<double>(
                            dl[static_cast<std::size_t>(op + shift + index_type(q) + lp * t)]);
        y[static_cast<std::size_t>(t)] = sum;
      }
      x = std::move(y);
      node = parent;
    }
    return x;
  }

  index_type leaf(index_type p) const {
    return static_cast<index_type>(std::upper_bound(leaf_begin_.begin(), leaf_begin_.end(), p) -
                                   leaf_begin_.begin()) -
           1;
  }

 private:
  struct Part {
    const HssLevel<T>* g;
    std::vector<T> u, v, b;
  };
  struct At {
    const Part* part;
    index_type i;  // the node's position in part->g
  };
  // Node `node` of `level`: in the top (replicated) or in one of this rank's subtrees.
  At at(int level, index_type node) const {
    const auto& parts = parts_[static_cast<std::size_t>(level)];
    if (level <= ls_) return {&parts[0], node};
    const int shift = level - ls_;
    const index_type g = node >> shift;
    return {&parts[static_cast<std::size_t>(g - first_)], node - (g << shift)};
  }

  const ClusterTree& tree_;
  int ls_ = 0;
  index_type first_ = 0;
  std::vector<std::vector<Part>> parts_;
  std::vector<std::vector<T>> d_;
  std::vector<HostIndexArray> d_offset_;
  std::vector<index_type> leaf_begin_;
};

constexpr double certificate_z = 3.0;
constexpr double certificate_confidence = 0.997;

}  // namespace

template <class T>
ErrorCertificate certify_relative_error(const ExecSpace& exec, const EntryEvaluator<T>& entries,
                                        const DistHssMatrix<T>& h, index_type samples,
                                        std::uint64_t seed) {
  const Comm& comm = h.comm();
  collective(comm, [&] {
    STRATA_REQUIRE(static_cast<bool>(entries), InvalidArgument,
                   "certify_relative_error: the entry evaluator is empty");
    STRATA_REQUIRE(samples >= 2, InvalidArgument, "certify_relative_error: samples = ", samples,
                   "; at least 2 entries per stratum are needed for a variance");
  });
  const auto& tree = h.tree();
  const int levels = tree.levels(), ls = h.split_level();
  const auto& rows = h.tree_layout();
  const auto s = draw_strata(tree, samples, seed, check_stream + 1);
  ErrorCertificate c;
  const auto a = sampled_entries(exec, comm, tree, rows, entries, s, c.entries);
  // Strata 1..l_s pair two subtrees: the column side's nested-basis row comes from the column's
  // owner (one allreduce of those vectors), the entry is then formed on the row's owner.
  const std::size_t count = a.size();
  std::vector<std::size_t> y_offset(count + 1, 0);
  const auto crossing = [&](std::size_t t) {
    return s.stratum[t] >= 1 && s.stratum[t] <= ls;
  };
  std::optional<HostGenerators<T>> g;
  collective(comm, [&] {
    g.emplace(h);
    for (std::size_t t = 0; t < count; ++t) {
      std::size_t len = 0;
      if (crossing(t)) {
        const index_type node = g->leaf(s.col[t]) >> (levels - s.stratum[t]);
        len = static_cast<std::size_t>(h.top_level(s.stratum[t]).col_rank_host(node));
      }
      y_offset[t + 1] = y_offset[t] + len;
    }
  });
  std::vector<double> y(y_offset.back(), 0.0), hv(count, 0.0);
  collective(comm, [&] {
    for (std::size_t t = 0; t < count; ++t) {
      if (!crossing(t) || rows.owner(s.col[t]) != comm.rank()) continue;
      const auto yt = g->up(false, s.col[t], s.stratum[t]);
      std::copy(yt.begin(), yt.end(), y.begin() + static_cast<std::ptrdiff_t>(y_offset[t]));
    }
  });
  if (ls > 0) {
    comm.allreduce_raw(y.data(), static_cast<std::int64_t>(y.size()),
                       strata::detail::mpi_type_tag<double>(), ReduceOp::sum);
  }
  collective(comm, [&] {
    for (std::size_t t = 0; t < count; ++t) {
      if (rows.owner(s.row[t]) != comm.rank()) continue;
      if (!crossing(t)) {
        hv[t] = g->entry(s.row[t], s.col[t], s.stratum[t]);
        continue;
      }
      const std::vector<double> yt(y.begin() + static_cast<std::ptrdiff_t>(y_offset[t]),
                                   y.begin() + static_cast<std::ptrdiff_t>(y_offset[t + 1]));
      hv[t] = g->coupling(g->up(true, s.row[t], s.stratum[t]), yt, s.stratum[t],
                          g->leaf(s.row[t]) >> (levels - s.stratum[t]));
    }
  });
  comm.allreduce_raw(hv.data(), static_cast<std::int64_t>(hv.size()),
                     strata::detail::mpi_type_tag<double>(), ReduceOp::sum);
  std::vector<double> err2(count), a2(count);
  for (std::size_t t = 0; t < count; ++t) {
    const double e = a[t] - hv[t];
    err2[t] = e * e, a2[t] = a[t] * a[t];
  }
  const auto [num, num_var] = stratified_sum(s, err2);
  const auto [den, den_var] = stratified_sum(s, a2);
  const double num_hi = num + certificate_z * std::sqrt(num_var);
  const double num_lo = std::max(0.0, num - certificate_z * std::sqrt(num_var));
  const double den_lo = den - certificate_z * std::sqrt(den_var);
  const double den_hi = den + certificate_z * std::sqrt(den_var);
  c.estimate =
      den > 0 ? std::sqrt(num / den) : (num > 0 ? std::numeric_limits<double>::infinity() : 0.0);
  c.upper = den_lo > 0 ? std::sqrt(num_hi / den_lo)
                       : (num_hi > 0 ? std::numeric_limits<double>::infinity() : 0.0);
  c.lower = den_hi > 0 ? std::sqrt(num_lo / den_hi) : 0.0;
  c.confidence = certificate_confidence;
  return c;
}

template <class T>
ErrorCertificate certify_relative_error(const ExecSpace& exec, const EntryEvaluator<T>& entries,
                                        const HssMatrix<T>& h, index_type samples,
                                        std::uint64_t seed) {
  STRATA_REQUIRE(samples >= 2, InvalidArgument, "certify_relative_error: samples = ", samples,
                 "; at least 2 entries per stratum are needed for a variance");
  return certify_relative_error<T>(exec, entries, distribute<T>(exec, Comm::self(), h), samples,
                                   seed);
}

template <class T>
DistSkeletonizationResult<T> compress_by_skeletonization_distributed(
    const ExecSpace& exec, const Comm& comm, const ClusterTree& tree,
    const EntryEvaluator<T>& entries, const SkeletonizationOptions& options,
    std::optional<BlockRowLayout> layout) {
  const bool fixed = options.rank > 0;
  const index_type n = tree.size();
  TreeSplit split;
  std::vector<Lists> near;
  collective(comm, [&] {
    STRATA_REQUIRE(static_cast<bool>(entries), InvalidArgument,
                   "hss skeletonization: the entry evaluator is empty");
    STRATA_REQUIRE(n >= 1, InvalidArgument, "hss skeletonization: the cluster tree is empty");
    STRATA_REQUIRE(options.rank >= 0, InvalidArgument, "hss skeletonization: rank = ", options.rank,
                   "; expected >= 0");
    STRATA_REQUIRE(fixed || (options.tolerance > 0 && std::isfinite(options.tolerance)),
                   InvalidArgument, "hss skeletonization: tolerance = ", options.tolerance,
                   "; give a rank > 0 or a tolerance > 0 (relative Frobenius error)");
    STRATA_REQUIRE(options.far_samples >= 1 && options.check_samples >= 1 &&
                       options.max_growth >= 0 && options.max_rounds >= 1 &&
                       options.certificate_samples >= 2 && options.budget_fraction > 0 &&
                       options.budget_fraction <= 1 && options.near_ratio >= 0 &&
                       std::isfinite(options.near_ratio),
                   InvalidArgument,
                   "hss skeletonization: far_samples and check_samples must be >= 1, max_growth "
                   ">= 0, max_rounds >= 1, certificate_samples >= 2, budget_fraction in (0, 1] and "
                   "near_ratio finite and >= 0");
    STRATA_REQUIRE(
        options.points.extent(0) == 0 || (static_cast<index_type>(options.points.extent(0)) == n &&
                                          options.points.extent(1) >= 1),
        InvalidArgument, "hss skeletonization: points are ", options.points.extent(0), " x ",
        options.points.extent(1), "; expected ", n, " x d (one per index)");
    split = split_tree(tree, comm.size());
    near = near_nodes(tree, options.points, options.near_ratio);
  });
  DistSkeletonizationResult<T> result;
  const int levels = tree.levels();
  double norm = 0;
  if (!fixed) {
    auto phase = result.timings.scope("norm");
    const auto s = draw_strata(tree, options.certificate_samples, options.seed, norm_stream);
    const auto a = sampled_entries(exec, comm, tree, split.layout, entries, s, result.entries);
    std::vector<double> a2(a.size());
    for (std::size_t t = 0; t < a.size(); ++t) a2[t] = a[t] * a[t];
    norm = std::sqrt(stratified_sum(s, a2).first);
    result.norm_estimate = norm;
  }
  // Error budget per node of level l (file comment); beta shrinks while the certificate fails.
  double beta = options.budget_fraction;
  double previous_upper = std::numeric_limits<double>::infinity();
  for (int round = 1;; ++round) {
    std::vector<double> eps(static_cast<std::size_t>(levels) + 1, 0.0);
    for (int l = 1; l <= levels; ++l) {
      eps[static_cast<std::size_t>(l)] =
          beta * options.tolerance * norm /
          std::sqrt(2.0 * levels * static_cast<double>(ClusterTree::nodes_on_level(l)));
    }
    Tally evaluations, unverified;
    {
      auto phase = result.timings.scope("construction");
      result.matrix = skeletonize<T>(exec, comm, tree, split, entries, options, near, eps, layout,
                                     evaluations, unverified, result.max_rank_per_level);
    }
    const index_type construction = evaluations.global(comm);
    result.entries += construction;
    result.construction_entries = construction;
    result.unverified_nodes = unverified.global(comm);
    result.rounds = round;
    {
      auto phase = result.timings.scope("certificate");
      result.certificate =
          certify_relative_error<T>(exec, entries, result.matrix, options.certificate_samples,
                                    options.seed + static_cast<std::uint64_t>(round));
      result.entries += result.certificate.entries;
    }
    result.met_tolerance = fixed || result.certificate.upper <= options.tolerance;
    // A round that does not halve the upper end has hit a floor (rounding, or entries that no
    // HSS matrix reproduces): further rounds would only cost entries.
    const bool stalled = round > 1 && result.certificate.upper > 0.5 * previous_upper;
    previous_upper = result.certificate.upper;
    if (result.met_tolerance || round >= options.max_rounds || stalled) break;
    // The error follows the budget about linearly: aim at half the tolerance.
    beta *= std::clamp(0.5 * options.tolerance / result.certificate.upper, 1.0 / 16, 0.5);
  }
  return result;
}

template <class T>
SkeletonizationResult<T> compress_by_skeletonization(const ExecSpace& exec, const ClusterTree& tree,
                                                     const EntryEvaluator<T>& entries,
                                                     const SkeletonizationOptions& options) {
  auto d = compress_by_skeletonization_distributed<T>(exec, Comm::self(), tree, entries, options);
  SkeletonizationResult<T> r;
  r.matrix = gather<T>(exec, d.matrix);
  static_cast<SkeletonizationReport&>(r) = std::move(static_cast<SkeletonizationReport&>(d));
  return r;
}

#define STRATA_HSS_SKELETONIZATION_INSTANTIATE(T)                                                  \
  template SkeletonizationResult<T> compress_by_skeletonization<T>(                                \
      const ExecSpace&, const ClusterTree&, const EntryEvaluator<T>&,                              \
      const SkeletonizationOptions&);                                                              \
  template ErrorCertificate certify_relative_error<T>(                                             \
      const ExecSpace&, const EntryEvaluator<T>&, const HssMatrix<T>&, index_type, std::uint64_t); \
  template DistSkeletonizationResult<T> compress_by_skeletonization_distributed<T>(                \
      const ExecSpace&, const Comm&, const ClusterTree&, const EntryEvaluator<T>&,                 \
      const SkeletonizationOptions&, std::optional<BlockRowLayout>);                               \
  template ErrorCertificate certify_relative_error<T>(const ExecSpace&, const EntryEvaluator<T>&,  \
                                                      const DistHssMatrix<T>&, index_type,         \
                                                      std::uint64_t);
STRATA_HSS_SKELETONIZATION_INSTANTIATE(float)
STRATA_HSS_SKELETONIZATION_INSTANTIATE(double)
#undef STRATA_HSS_SKELETONIZATION_INSTANTIATE

}  // namespace strata::hss
