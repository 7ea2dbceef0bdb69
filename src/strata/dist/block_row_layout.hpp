// How the rows of a distributed matrix are split over the ranks of a communicator: rank r owns the
// contiguous global rows [row_begin(r), row_end(r)).
#pragma once

#include <vector>

#include "strata/core/types.hpp"

namespace strata {

class Comm;

class BlockRowLayout {
 public:
  BlockRowLayout() = default;
  /// Balanced split of `global_rows` over `num_ranks`: the first global_rows % num_ranks ranks get
  /// one row more than the others.
  BlockRowLayout(index_type global_rows, int num_ranks);
  /// Layout from explicit row counts, one per rank (each >= 0).
  static BlockRowLayout from_counts(const std::vector<index_type>& rows_per_rank);
  /// Collective: every rank passes the number of rows it owns.
  static BlockRowLayout from_local_rows(const Comm& comm, index_type local_rows);

  index_type global_rows() const { return offsets_.empty() ? 0 : offsets_.back(); }
  int num_ranks() const { return static_cast<int>(offsets_.size()) - 1; }
  index_type row_begin(int rank) const { return offsets_.at(static_cast<std::size_t>(rank)); }
  index_type row_end(int rank) const { return offsets_.at(static_cast<std::size_t>(rank) + 1); }
  index_type local_rows(int rank) const { return row_end(rank) - row_begin(rank); }
  /// Rank owning global row `row` (binary search, O(log ranks)).
  int owner(index_type row) const;
  const std::vector<index_type>& offsets() const { return offsets_; }

  bool operator==(const BlockRowLayout& other) const { return offsets_ == other.offsets_; }
  bool operator!=(const BlockRowLayout& other) const { return !(*this == other); }

 private:
  std::vector<index_type> offsets_;  // num_ranks + 1 entries, offsets_[0] = 0
};

}  // namespace strata
