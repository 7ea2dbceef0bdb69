// Variable HSS ranks for tests (HSS matvec and ULV): row and column ranks between 1 and 9 that
// differ between nodes, levels, rows and columns, each capped by what the node can hold (its size
// at the leaves, the sum of its children's ranks above).
#pragma once

#include <algorithm>
#include <vector>

#include "strata/hss/cluster_tree.hpp"
#include "strata/hss/hss_matrix.hpp"

namespace strata::testing {

inline hss::HssRanks variable_ranks(const hss::ClusterTree& tree) {
  hss::HssRanks ranks;
  ranks.row.resize(static_cast<std::size_t>(tree.levels()) + 1);
  ranks.col = ranks.row;
  for (int l = tree.levels(); l >= 1; --l) {
    for (index_type i = 0; i < hss::ClusterTree::nodes_on_level(l); ++i) {
      const auto rows = [&](const std::vector<std::vector<index_type>>& r) {
        return l == tree.levels() ? tree.node_size(l, i) : r[l + 1][2 * i] + r[l + 1][2 * i + 1];
      };
      ranks.row[l].push_back(std::min<index_type>(1 + (i * 7 + l * 3) % 9, rows(ranks.row)));
      ranks.col[l].push_back(std::min<index_type>(1 + (i * 5 + l) % 9, rows(ranks.col)));
    }
  }
  return ranks;
}

}  // namespace strata::testing
