#include "strata/dist/block_row_layout.hpp"

#include <algorithm>

#include "strata/core/error.hpp"
#include "strata/dist/comm.hpp"

namespace strata {

BlockRowLayout::BlockRowLayout(index_type global_rows, int num_ranks) {
  STRATA_REQUIRE(global_rows >= 0, InvalidArgument,
                 "BlockRowLayout: global_rows must be >= 0, got ", global_rows);
  STRATA_REQUIRE(num_ranks >= 1, InvalidArgument, "BlockRowLayout: num_ranks must be >= 1, got ",
                 num_ranks);
  offsets_.resize(static_cast<std::size_t>(num_ranks) + 1);
  const index_type base = global_rows / num_ranks;
  const index_type extra = global_rows % num_ranks;
  offsets_[0] = 0;
  for (int r = 0; r < num_ranks; ++r) {
    offsets_[static_cast<std::size_t>(r) + 1] =
        offsets_[static_cast<std::size_t>(r)] + base + (r < extra ? 1 : 0);
  }
}

BlockRowLayout BlockRowLayout::from_counts(const std::vector<index_type>& rows_per_rank) {
  STRATA_REQUIRE(!rows_per_rank.empty(), InvalidArgument,
                 "BlockRowLayout::from_counts: need one row count per rank, got none");
  BlockRowLayout layout;
  layout.offsets_.assign(1, 0);
  for (std::size_t r = 0; r < rows_per_rank.size(); ++r) {
    STRATA_REQUIRE(rows_per_rank[r] >= 0, InvalidArgument, "BlockRowLayout: rank ", r,
                   " has a negative row count (", rows_per_rank[r], ")");
    layout.offsets_.push_back(layout.offsets_.back() + rows_per_rank[r]);
  }
  return layout;
}

BlockRowLayout BlockRowLayout::from_local_rows(const Comm& comm, index_type local_rows) {
  return from_counts(comm.allgather(local_rows));
}

int BlockRowLayout::owner(index_type row) const {
  STRATA_REQUIRE(row >= 0 && row < global_rows(), InvalidArgument, "BlockRowLayout::owner: row ",
                 row, " is outside [0, ", global_rows(), ")");
  // Last offset <= row; empty ranks are skipped because upper_bound finds the last equal offset.
  const auto it = std::upper_bound(offsets_.begin(), offsets_.end(), row);
  return static_cast<int>(it - offsets_.begin()) - 1;
}

}  // namespace strata
