#include "strata/hss/cluster_tree.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "strata/core/error.hpp"

namespace strata::hss {

namespace {
template <class HostView, class DeviceView>
DeviceView to_device(const HostView& host, const std::string& label) {
  DeviceView d(label, host.extent(0));
  Kokkos::deep_copy(d, host);
  return d;
}
}  // namespace

void ClusterTree::build_tables(index_type n, int levels) {
  n_ = n;
  levels_ = levels;
  const index_type nodes = num_nodes();
  begin_host_ = HostIndexArray("strata::hss::tree::begin_host", nodes);
  size_host_ = HostIndexArray("strata::hss::tree::size_host", nodes);
  begin_host_(0) = 0;
  size_host_(0) = n;
  for (int l = 0; l < levels; ++l) {
    for (index_type i = 0; i < nodes_on_level(l); ++i) {
      const index_type p = heap_index(l, i);
      const index_type left = heap_index(l + 1, 2 * i);
      begin_host_(left) = begin_host_(p);
      size_host_(left) = left_child_size(size_host_(p));
      begin_host_(left + 1) = begin_host_(p) + size_host_(left);
      size_host_(left + 1) = size_host_(p) - size_host_(left);
    }
  }
  begin_ = to_device<HostIndexArray, IndexArray>(begin_host_, "strata::hss::tree::begin");
  size_ = to_device<HostIndexArray, IndexArray>(size_host_, "strata::hss::tree::size");
  std::vector<index_type> identity(static_cast<std::size_t>(n));
  std::iota(identity.begin(), identity.end(), index_type(0));
  set_permutation(identity);
  identity_ = true;
}

void ClusterTree::set_permutation(const std::vector<index_type>& perm) {
  perm_host_ = HostIndexArray("strata::hss::tree::permutation_host", perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) perm_host_(i) = perm[i];
  perm_ = to_device<HostIndexArray, IndexArray>(perm_host_, "strata::hss::tree::permutation");
  identity_ = false;
}

ClusterTree ClusterTree::with_levels(index_type n, int levels) {
  STRATA_REQUIRE(levels >= 0 && levels <= 40, InvalidArgument,
                 "cluster tree: levels must be in [0, 40], got ", levels);
  STRATA_REQUIRE(n >= (index_type(1) << levels), InvalidArgument, "cluster tree: n = ", n,
                 " indices cannot fill the 2^", levels, " = ", index_type(1) << levels,
                 " leaves of a ", levels, "-level tree; use fewer levels or a larger matrix");
  ClusterTree t;
  t.build_tables(n, levels);
  return t;
}

ClusterTree ClusterTree::uniform(index_type n, index_type leaf_size) {
  STRATA_REQUIRE(n >= 1, InvalidArgument, "cluster tree: the matrix size must be >= 1, got ", n);
  STRATA_REQUIRE(leaf_size >= 1, InvalidArgument, "cluster tree: leaf size must be >= 1, got ",
                 leaf_size);
  int levels = 0;
  // Nodes of level l have at most ceil(n / 2^l) indices; every leaf keeps at least one index.
  while (((n + (index_type(1) << levels) - 1) >> levels) > leaf_size &&
         (index_type(2) << levels) <= n) {
    ++levels;
  }
  return with_levels(n, levels);
}

ClusterTree ClusterTree::with_permutation(index_type n, int levels,
                                          const std::vector<index_type>& permutation) {
  ClusterTree t = with_levels(n, levels);
  if (permutation.empty()) return t;
  STRATA_REQUIRE(static_cast<index_type>(permutation.size()) == n, InvalidArgument,
                 "cluster tree: permutation has ", permutation.size(), " entries, expected ", n);
  std::vector<char> seen(static_cast<std::size_t>(n), 0);
  for (const index_type p : permutation) {
    STRATA_REQUIRE(p >= 0 && p < n && !seen[static_cast<std::size_t>(p)], InvalidArgument,
                   "cluster tree: the stored permutation is not a permutation of [0, ", n,
                   ") (entry ", p, " out of range or repeated)");
    seen[static_cast<std::size_t>(p)] = 1;
  }
  t.set_permutation(permutation);
  return t;
}

ClusterTree ClusterTree::geometric(
    const Kokkos::View<const double**, Kokkos::LayoutLeft, Kokkos::HostSpace>& points,
    index_type leaf_size) {
  const auto n = static_cast<index_type>(points.extent(0));
  const auto d = static_cast<index_type>(points.extent(1));
  STRATA_REQUIRE(n >= 1 && d >= 1, InvalidArgument,
                 "cluster tree: points must be an n x d array with n, d >= 1, got ", n, " x ", d);
  for (index_type j = 0; j < d; ++j) {
    for (index_type i = 0; i < n; ++i) {
      STRATA_REQUIRE(std::isfinite(points(i, j)), InvalidArgument, "cluster tree: coordinate ", j,
                     " of point ", i, " is NaN or Inf; expected finite coordinates");
    }
  }
  ClusterTree t = uniform(n, leaf_size);
  std::vector<index_type> perm(static_cast<std::size_t>(n));
  std::iota(perm.begin(), perm.end(), index_type(0));
  for (int l = 0; l < t.levels_; ++l) {
    for (index_type i = 0; i < nodes_on_level(l); ++i) {
      const index_type b = t.node_begin(l, i);
      const index_type s = t.node_size(l, i);
      const auto first = perm.begin() + b;
      const auto last = first + s;
      index_type widest = 0;
      double widest_extent = -1;
      for (index_type j = 0; j < d; ++j) {
        const auto [lo, hi] = std::minmax_element(
            first, last, [&](index_type a, index_type c) { return points(a, j) < points(c, j); });
        const double extent = points(*hi, j) - points(*lo, j);
        if (extent > widest_extent) {
          widest_extent = extent;
          widest = j;
        }
      }
      std::nth_element(first, first + left_child_size(s), last, [&](index_type a, index_type c) {
        const double pa = points(a, widest), pc = points(c, widest);
        return pa < pc || (pa == pc && a < c);
      });
    }
  }
  t.set_permutation(perm);
  return t;
}

index_type ClusterTree::max_leaf_size() const {
  index_type m = 0;
  for (index_type i = 0; i < nodes_on_level(levels_); ++i) m = std::max(m, node_size(levels_, i));
  return m;
}

}  // namespace strata::hss
