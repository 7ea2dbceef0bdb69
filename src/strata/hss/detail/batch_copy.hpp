// Copies between batches of small matrices, for the HSS construction: on host-accessible memory
// one matrix per host thread with plain column loops; elsewhere one team per matrix.
#pragma once

#include <algorithm>
#include <type_traits>

#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/core/kokkos_ext/spaces.hpp"
#include "strata/linalg/batched_dense.hpp"

namespace strata::hss::detail {

/// f(b) for b in [0, count) on the host threads (Kokkos::DefaultHostExecutionSpace; `exec` itself
/// when it is that space), after the work queued on `exec` (which wrote the inputs). For host
/// memory: the team loops below divide per entry, which made these copies a fifth of the
/// construction time of compress_from_entries_and_products on Serial (perf, N = 4096).
// Exec is a template parameter so that the branch not taken is discarded (a device ExecSpace does
// not convert to HostExecSpace).
template <class Exec, class F>
void for_each_matrix_on_host(const Exec& exec, const char* label, int count, const F& f) {
  kx::fence(exec, "strata::hss::compress::host_inputs");
  HostExecSpace host;
  if constexpr (std::is_same_v<Exec, HostExecSpace>) host = exec;
  Kokkos::parallel_for(label, Kokkos::RangePolicy<HostExecSpace>(host, 0, count), f);
  kx::fence(host, "strata::hss::compress::host_outputs");
}

/// dst_b = src_b (or src_b^T when transpose) on dst_b's shape, for every matrix b.
template <class T>
void copy_batch(const ExecSpace& exec, const linalg::MatrixBatch<T>& src,
                const linalg::MatrixBatch<T>& dst, bool transpose) {
  const int count = dst.layout.count();
  if (count == 0) return;
  if constexpr (kx::host_accessible<MemSpace>) {
    const T* in = src.values.data();
    T* out = dst.values.data();
    const auto& sl = src.layout;
    const auto& dl = dst.layout;
    for_each_matrix_on_host(exec, "strata::hss::compress::copy_batch_host", count, [&](int b) {
      const auto ub = static_cast<std::size_t>(b);
      const index_type so = sl.host_offset[ub], sld = sl.host_ld[ub];
      const index_type o = dl.host_offset[ub], ld = dl.host_ld[ub];
      const int rows = dl.host_rows[ub], cols = dl.host_cols[ub];
      for (int j = 0; j < cols; ++j) {
        T* column = out + o + ld * j;
        if (transpose) {
          for (int i = 0; i < rows; ++i) column[i] = in[so + j + sld * i];
        } else {
          std::copy(in + so + sld * j, in + so + sld * j + rows, column);
        }
      }
    });
    return;
  }
  const auto s = src.values;
  const auto d = dst.values;
  // Offsets and dimensions have different index types: one declaration each.
  const auto so = src.layout.offset;
  const auto sl = src.layout.ld;
  const auto dof = dst.layout.offset;
  const auto dr = dst.layout.rows;
  const auto dc = dst.layout.cols;
  const auto dl = dst.layout.ld;
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  Kokkos::parallel_for(
      "strata::hss::compress::copy_batch", kx::auto_team_policy(exec, count),
      KOKKOS_LAMBDA(const typename Policy::member_type& team) {
        const int b = team.league_rank();
        const int rows = dr(b);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, rows * dc(b)), [&](const int e) {
          const int i = e % rows, j = e / rows;
          d(dof(b) + i + index_type(dl(b)) * j) = transpose ? s(so(b) + j + index_type(sl(b)) * i)
                                                            : s(so(b) + i + index_type(sl(b)) * j);
        });
      });
}

/// dst_b(r, :) = src_b(rows_b(r), :) for r < rows of dst_b, rows_b the first entries of matrix b
/// of `rows` (an int batch).
template <class T>
void gather_rows(const ExecSpace& exec, const linalg::MatrixBatch<T>& src,
                 const linalg::MatrixBatch<int>& rows, const linalg::MatrixBatch<T>& dst) {
  const int count = dst.layout.count();
  if (count == 0) return;
  if constexpr (kx::host_accessible<MemSpace>) {
    const T* in = src.values.data();
    const int* pick = rows.values.data();
    T* out = dst.values.data();
    const auto& sl = src.layout;
    const auto& dl = dst.layout;
    const auto& pl = rows.layout;
    for_each_matrix_on_host(exec, "strata::hss::compress::gather_rows_host", count, [&](int b) {
      const auto ub = static_cast<std::size_t>(b);
      const index_type so = sl.host_offset[ub], sld = sl.host_ld[ub];
      const index_type o = dl.host_offset[ub], ld = dl.host_ld[ub];
      const int* p = pick + pl.host_offset[ub];
      const int nr = dl.host_rows[ub], cols = dl.host_cols[ub];
      for (int j = 0; j < cols; ++j)
        for (int i = 0; i < nr; ++i) out[o + ld * j + i] = in[so + p[i] + sld * j];
    });
    return;
  }
  const auto s = src.values;
  const auto d = dst.values;
  const auto p = rows.values;
  const auto so = src.layout.offset;
  const auto sl = src.layout.ld;
  const auto po = rows.layout.offset;
  const auto dof = dst.layout.offset;
  const auto dr = dst.layout.rows;
  const auto dc = dst.layout.cols;
  const auto dl = dst.layout.ld;
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  Kokkos::parallel_for(
      "strata::hss::compress::gather_rows", kx::auto_team_policy(exec, count),
      KOKKOS_LAMBDA(const typename Policy::member_type& team) {
        const int b = team.league_rank();
        const int nr = dr(b);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, nr * dc(b)), [&](const int e) {
          const int i = e % nr, j = e / nr;
          d(dof(b) + i + index_type(dl(b)) * j) = s(so(b) + p(po(b) + i) + index_type(sl(b)) * j);
        });
      });
}

}  // namespace strata::hss::detail
