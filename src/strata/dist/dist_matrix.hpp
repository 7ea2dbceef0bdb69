// Dense matrix distributed by blocks of rows over the ranks of a communicator.
#pragma once

#include <string>
#include <utility>

#include "strata/core/error.hpp"
#include "strata/core/types.hpp"
#include "strata/dist/block_row_layout.hpp"
#include "strata/dist/comm.hpp"

namespace strata {

/// A global_rows x cols matrix whose rank r holds rows [layout.row_begin(r), layout.row_end(r)) as
/// a column-major local block in `MemorySpace`. Copies share the local block (Kokkos view
/// semantics).
template <class T, class MemorySpace = MemSpace>
class DistMatrix {
 public:
  using value_type = T;
  using memory_space = MemorySpace;
  using local_type = Matrix<T, MemorySpace>;

  DistMatrix() = default;

  /// Balanced block-row distribution of a global_rows x cols matrix, zero-initialized.
  DistMatrix(const Comm& comm, index_type global_rows, index_type cols,
             const std::string& label = "strata::DistMatrix")
      : DistMatrix(comm, BlockRowLayout(global_rows, comm.size()), cols, label) {}

  /// Distribution given by `layout` (one entry per rank of `comm`), zero-initialized.
  DistMatrix(const Comm& comm, BlockRowLayout layout, index_type cols,
             const std::string& label = "strata::DistMatrix")
      : comm_(comm), layout_(std::move(layout)), cols_(cols) {
    check_layout();
    local_ = local_type(label, static_cast<std::size_t>(layout_.local_rows(comm_.rank())),
                        static_cast<std::size_t>(cols));
  }

  /// Wraps an existing local block (no copy). Its row count must match the layout.
  DistMatrix(const Comm& comm, BlockRowLayout layout, local_type local)
      : comm_(comm),
        layout_(std::move(layout)),
        cols_(static_cast<index_type>(local.extent(1))),
        local_(std::move(local)) {
    check_layout();
    STRATA_REQUIRE(static_cast<index_type>(local_.extent(0)) == layout_.local_rows(comm_.rank()),
                   ShapeMismatch, "DistMatrix: the local block on rank ", comm_.rank(), " has ",
                   local_.extent(0), " rows but the layout gives this rank ",
                   layout_.local_rows(comm_.rank()), " rows");
  }

  const Comm& comm() const { return comm_; }
  const BlockRowLayout& layout() const { return layout_; }
  index_type global_rows() const { return layout_.global_rows(); }
  index_type cols() const { return cols_; }
  index_type local_rows() const { return static_cast<index_type>(local_.extent(0)); }
  /// Global index of this rank's first row.
  index_type row_begin() const { return layout_.row_begin(comm_.rank()); }
  const local_type& local() const { return local_; }

 private:
  void check_layout() const {
    STRATA_REQUIRE(layout_.num_ranks() == comm_.size(), InvalidArgument,
                   "DistMatrix: the layout has ", layout_.num_ranks(),
                   " ranks but the communicator has ", comm_.size());
    STRATA_REQUIRE(cols_ >= 0, InvalidArgument, "DistMatrix: cols must be >= 0, got ", cols_);
  }

  Comm comm_;
  BlockRowLayout layout_;
  index_type cols_ = 0;
  local_type local_;
};

}  // namespace strata
