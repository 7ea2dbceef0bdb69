// Device kernels of the built-in kernel-matrix problems: the kernel functions, the batched entry
// gather and the tiled product A X computed on the fly (no N x N storage).
#pragma once

#include "strata/core/error.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/core/kokkos_ext/math.hpp"
#include "strata/hss/problems.hpp"

namespace strata::hss::detail {

enum class KernelKind { laplace, gaussian, cauchy, exponential };

/// k(x_i, x_j) for i != j and a per-point diagonal for i == j. Dim is the dimension of the points;
/// `log_laplace` selects -log r (planar Laplace, used for dim 1, 2 and the curve) over 1/r.
/// `parameter`: 1/h^2 (gaussian), 1/l (exponential), delta (cauchy); unused for laplace.
template <KernelKind Kind, int Dim>
struct PointKernel {
  Kokkos::View<const double**, Kokkos::LayoutLeft, MemSpace> points;
  Kokkos::View<const double*, MemSpace> diagonal;
  double parameter = 0;

  KOKKOS_INLINE_FUNCTION double of_squared_distance(double r2) const {
    if constexpr (Kind == KernelKind::laplace) {
      if constexpr (Dim == 3) {
        return 1.0 / kx::sqrt(r2);
      } else {
        return -0.5 * kx::log(r2);
      }
    } else if constexpr (Kind == KernelKind::gaussian) {
      return kx::exp(-r2 * parameter);
    } else if constexpr (Kind == KernelKind::cauchy) {
      return 1.0 / (kx::sqrt(r2) + parameter);
    } else {
      return kx::exp(-kx::sqrt(r2) * parameter);
    }
  }

  KOKKOS_INLINE_FUNCTION double operator()(index_type i, index_type j) const {
    if (i == j) return diagonal(i);
    double r2 = 0;
    for (int c = 0; c < Dim; ++c) {
      const double d = points(i, c) - points(j, c);
      r2 += d * d;
    }
    return of_squared_distance(r2);
  }
};

/// Entry (i, j) read from a dense device matrix.
template <class T>
struct DenseLookup {
  Kokkos::View<const T**, Kokkos::LayoutLeft, MemSpace> matrix;
  KOKKOS_INLINE_FUNCTION double operator()(index_type i, index_type j) const {
    return static_cast<double>(matrix(i, j));
  }
};

/// Checks a batch's index lists and value slots against an N x N matrix (one device reduction
/// plus a few scalar copies). Throws InvalidArgument / ShapeMismatch.
template <class T>
void check_entry_blocks(const ExecSpace& exec, const EntryBlocks<T>& blocks, index_type n);

/// Fills every block of the batch: one team per block, the team's threads over the block's
/// entries (column-major, so consecutive threads write consecutive values).
template <class T, class Entry>
void fill_entry_blocks(const ExecSpace& exec, const EntryBlocks<T>& blocks, const Entry& entry) {
  const index_type count = blocks.count();
  if (count == 0) return;
  const auto rows = blocks.rows;
  const auto row_offsets = blocks.row_offsets;
  const auto cols = blocks.cols;
  const auto col_offsets = blocks.col_offsets;
  const auto value_offsets = blocks.value_offsets;
  const auto values = blocks.values;
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  using Member = typename Policy::member_type;
  Kokkos::parallel_for(
      "strata::hss::problems::entries", kx::auto_team_policy(exec, static_cast<int>(count)),
      KOKKOS_LAMBDA(const Member& team) {
        const index_type b = team.league_rank();
        const index_type r0 = row_offsets(b), m = row_offsets(b + 1) - r0;
        const index_type c0 = col_offsets(b), n = col_offsets(b + 1) - c0;
        const index_type v0 = value_offsets(b);
        // A plain if (a compile-time constant): nvcc rejects an extended lambda's first capture
        // inside `if constexpr`.
        if (kx::runs_on_host<ExecSpace>) {
          // Host teams (one thread, or a few): a column per thread and a plain loop down it, no
          // 64-bit division per entry (as costly as a Cauchy entry itself).
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, n), [&](const index_type c) {
            const index_type j = cols(c0 + c), at = v0 + m * c;
            for (index_type a = 0; a < m; ++a)
              values(at + a) = static_cast<T>(entry(rows(r0 + a), j));
          });
        } else {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, m * n), [&](const index_type e) {
            const index_type a = e % m, c = e / m;
            values(v0 + e) = static_cast<T>(entry(rows(r0 + a), cols(c0 + c)));
          });
        }
      });
}

/// Fills the dense N x N matrix entry by entry.
template <class T, class Entry>
void fill_dense(const ExecSpace& exec, const Matrix<T>& a, const Entry& entry) {
  Kokkos::parallel_for(
      "strata::hss::problems::dense",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(exec, {0, 0}, {a.extent(0), a.extent(1)}),
      KOKKOS_LAMBDA(const std::size_t i, const std::size_t j) {
        a(i, j) = static_cast<T>(entry(static_cast<index_type>(i), static_cast<index_type>(j)));
      });
}

/// Rows [row_begin, row_begin + y.extent(0)) of K X for a kernel matrix K, X (N x k), computed
/// without storing K: one team per (tile of 128 rows, chunk of 8 vectors). The team walks over
/// the columns in tiles of 128: it stages the tile's points and X rows in scratch memory, then each
/// thread evaluates the kernel for its rows against the tile and accumulates 8 products in
/// registers (an n-body pattern: the kernel is recomputed once per vector chunk). Work: N rows k
/// flops times (2 + kernel cost / 8); memory traffic O(N k) per row tile.
template <class T, KernelKind Kind, int Dim>
void kernel_product(const ExecSpace& exec, const PointKernel<Kind, Dim>& kernel,
                    index_type row_begin, const ConstMatrix<T>& x, const Matrix<T>& y) {
  constexpr int tile_rows = 128, tile_cols = 128, chunk = 8;
  const index_type n = static_cast<index_type>(x.extent(0));
  const index_type rows = static_cast<index_type>(y.extent(0));
  const int k = static_cast<int>(x.extent(1));
  if (rows == 0 || k == 0) return;
  const index_type row_tiles = (rows + tile_rows - 1) / tile_rows;
  const int chunks = (k + chunk - 1) / chunk;
  STRATA_REQUIRE(row_tiles * chunks <= static_cast<index_type>(std::numeric_limits<int>::max()),
                 InvalidArgument, "kernel product: ", row_tiles * chunks,
                 " tiles do not fit in one launch; use fewer rows per rank");

  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  using Member = typename Policy::member_type;
  using Scratch = typename ExecSpace::scratch_memory_space;
  using PointTile = Kokkos::View<double**, Kokkos::LayoutLeft, Scratch, Kokkos::MemoryUnmanaged>;
  using ValueTile = Kokkos::View<T**, Kokkos::LayoutLeft, Scratch, Kokkos::MemoryUnmanaged>;
  const std::size_t scratch = PointTile::shmem_size(tile_cols, Dim) +
                              ValueTile::shmem_size(tile_cols, chunk) +
                              ValueTile::shmem_size(tile_rows, chunk);
  const auto points = kernel.points;
  const auto diagonal = kernel.diagonal;

  auto body = KOKKOS_LAMBDA(const Member& team) {
    const index_type tile = team.league_rank() / chunks;
    const int v0 = (team.league_rank() % chunks) * chunk;
    const int nv = kx::min(chunk, k - v0);
    const index_type i0 = row_begin + tile * tile_rows;
    const int nr = static_cast<int>(kx::min<index_type>(tile_rows, row_begin + rows - i0));
    PointTile tile_points(team.team_scratch(0), tile_cols, Dim);
    ValueTile tile_x(team.team_scratch(0), tile_cols, chunk);
    ValueTile sums(team.team_scratch(0), tile_rows, chunk);
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, nr), [&](const int r) {
      for (int v = 0; v < chunk; ++v) sums(r, v) = T(0);
    });
    for (index_type j0 = 0; j0 < n; j0 += tile_cols) {
      const int nc = static_cast<int>(kx::min<index_type>(tile_cols, n - j0));
      team.team_barrier();  // the previous tile is consumed
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, nc), [&](const int c) {
        for (int d = 0; d < Dim; ++d) tile_points(c, d) = points(j0 + c, d);
        for (int v = 0; v < chunk; ++v) tile_x(c, v) = v < nv ? x(j0 + c, v0 + v) : T(0);
      });
      team.team_barrier();
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, nr), [&](const int r) {
        const index_type i = i0 + r;
        double xi[Dim];
        for (int d = 0; d < Dim; ++d) xi[d] = points(i, d);
        T acc[chunk];
        for (int v = 0; v < chunk; ++v) acc[v] = T(0);
        for (int c = 0; c < nc; ++c) {
          double r2 = 0;
          for (int d = 0; d < Dim; ++d) {
            const double diff = xi[d] - tile_points(c, d);
            r2 += diff * diff;
          }
          const T kij = static_cast<T>(j0 + c == i ? diagonal(i) : kernel.of_squared_distance(r2));
          for (int v = 0; v < chunk; ++v) acc[v] += kij * tile_x(c, v);
        }
        for (int v = 0; v < chunk; ++v) sums(r, v) += acc[v];
      });
    }
    team.team_barrier();
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, nr), [&](const int r) {
      for (int v = 0; v < nv; ++v) y(i0 - row_begin + r, v0 + v) = sums(r, v);
    });
  };
  const Policy policy =
      kx::team_policy(exec, static_cast<int>(row_tiles * chunks), tile_rows, scratch, body);
  Kokkos::parallel_for("strata::hss::problems::kernel_product", policy, body);
}

}  // namespace strata::hss::detail
