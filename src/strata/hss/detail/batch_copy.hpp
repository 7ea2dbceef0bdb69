// Copies between batches of small matrices (team per matrix), for the HSS construction.
#pragma once

#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/linalg/batched_dense.hpp"

namespace strata::hss::detail {

/// dst_b = src_b (or src_b^T when transpose) on dst_b's shape, for every matrix b.
template <class T>
void copy_batch(const ExecSpace& exec, const linalg::MatrixBatch<T>& src,
                const linalg::MatrixBatch<T>& dst, bool transpose) {
  const int count = dst.layout.count();
  if (count == 0) return;
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
