// The callback types through which the HSS constructions read a matrix's entries: a batch of
// blocks A(I_b, J_b) filled on the device by one call (EntryEvaluator). Products with A go through
// dist/linear_operator.hpp (LinearOperator, CallbackOperator).
#pragma once

#include <functional>
#include <vector>

#include "strata/core/types.hpp"

namespace strata::hss {

/// A batch of blocks A(I_b, J_b), b = 0..count-1, in device memory. Block b has the row indices
/// rows[row_offsets[b] .. row_offsets[b+1]) and the column indices cols[col_offsets[b] ..
/// col_offsets[b+1]) (global, 0-based, any order, repeats allowed); its m_b x n_b values are
/// written column-major at values[value_offsets[b] ..), with leading dimension m_b:
/// values[value_offsets[b] + a + m_b * c] = A(rows[row_offsets[b] + a], cols[col_offsets[b] + c]).
/// value_offsets[b+1] - value_offsets[b] must be >= m_b n_b.
template <class T>
struct EntryBlocks {
  Kokkos::View<const index_type*, MemSpace> rows, row_offsets;
  Kokkos::View<const index_type*, MemSpace> cols, col_offsets;
  Kokkos::View<const index_type*, MemSpace> value_offsets;
  Kokkos::View<T*, MemSpace> values;

  index_type count() const {
    return row_offsets.extent(0) == 0 ? 0 : static_cast<index_type>(row_offsets.extent(0)) - 1;
  }
};

/// Packs host index lists into an EntryBlocks (device copies; values allocated, tightly packed and
/// not initialized: the evaluator must write every value).
template <class T>
EntryBlocks<T> make_entry_blocks(const std::vector<std::vector<index_type>>& rows,
                                 const std::vector<std::vector<index_type>>& cols);

/// A batched device entry evaluator: fills blocks.values for every block of the batch.
template <class T>
using EntryEvaluator = std::function<void(const ExecSpace&, const EntryBlocks<T>&)>;

/// The entries of a dense n x n matrix in device memory (held by reference counting: the view is
/// kept alive by the evaluator). Checks every index against [0, n) and throws InvalidArgument on
/// one outside. Cost: one device kernel per batch, one read per entry.
template <class T>
EntryEvaluator<T> dense_entry_evaluator(const ConstMatrix<T>& a);

#define STRATA_HSS_CALLBACKS_DECLARE(T)                                                          \
  extern template EntryBlocks<T> make_entry_blocks<T>(                                           \
      const std::vector<std::vector<index_type>>&, const std::vector<std::vector<index_type>>&); \
  extern template EntryEvaluator<T> dense_entry_evaluator<T>(const ConstMatrix<T>&);
STRATA_HSS_CALLBACKS_DECLARE(float)
STRATA_HSS_CALLBACKS_DECLARE(double)
#undef STRATA_HSS_CALLBACKS_DECLARE

}  // namespace strata::hss
