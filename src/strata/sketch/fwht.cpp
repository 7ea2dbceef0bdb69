#include "strata/sketch/fwht.hpp"

#include "strata/core/error.hpp"
#include "strata/core/kokkos_ext/fence.hpp"

namespace strata::sketch {

index_type next_power_of_two(index_type n) {
  STRATA_REQUIRE(n >= 1 && n <= (index_type(1) << 62), InvalidArgument,
                 "next_power_of_two: n must be in [1, 2^62], got ", n);
  index_type p = 1;
  while (p < n) p <<= 1;
  return p;
}

namespace {

/// The butterflies of stages h = 1 .. tile/2 inside each tile of `tile` rows, in team scratch.
template <class T>
void tiled_stages(const ExecSpace& exec, const Matrix<T>& x, index_type tile, T scale) {
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  using Scratch =
      Kokkos::View<T*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryUnmanaged>;
  const index_type rows = static_cast<index_type>(x.extent(0));
  const index_type tiles_per_column = rows / tile;
  const index_type league = tiles_per_column * static_cast<index_type>(x.extent(1));
  Policy policy(exec, static_cast<int>(league), Kokkos::AUTO);
  policy.set_scratch_size(0, Kokkos::PerTeam(Scratch::shmem_size(static_cast<std::size_t>(tile))));
  Kokkos::parallel_for(
      "strata::sketch::fwht::tiled_stages", policy,
      KOKKOS_LAMBDA(const typename Policy::member_type& team) {
        const index_type column = team.league_rank() / tiles_per_column;
        const index_type first = (team.league_rank() % tiles_per_column) * tile;
        Scratch s(team.team_scratch(0), static_cast<std::size_t>(tile));
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, tile),
                             [&](const index_type t) { s(t) = x(first + t, column); });
        team.team_barrier();
        for (index_type h = 1; h < tile; h <<= 1) {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, tile / 2), [&](const index_type q) {
            // q-th pair of this stage: j has bit h clear.
            const index_type j = (q / h) * 2 * h + q % h;
            const T a = s(j), b = s(j + h);
            s(j) = a + b;
            s(j + h) = a - b;
          });
          team.team_barrier();
        }
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, tile),
                             [&](const index_type t) { x(first + t, column) = scale * s(t); });
      });
}

/// One stage h over all columns: consecutive threads take consecutive j (coalesced).
template <class T>
void upper_stage(const ExecSpace& exec, const Matrix<T>& x, index_type h, T scale) {
  const index_type half = static_cast<index_type>(x.extent(0)) / 2;
  const index_type cols = static_cast<index_type>(x.extent(1));
  Kokkos::parallel_for(
      "strata::sketch::fwht::stage",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, half * cols),
      KOKKOS_LAMBDA(const index_type k) {
        const index_type q = k % half, column = k / half;
        const index_type j = (q / h) * 2 * h + q % h;
        const T a = x(j, column), b = x(j + h, column);
        x(j, column) = scale * (a + b);
        x(j + h, column) = scale * (a - b);
      });
}

}  // namespace

template <class T>
void fwht(const ExecSpace& exec, const Matrix<T>& x, const FwhtOptions& options) {
  const index_type rows = static_cast<index_type>(x.extent(0));
  STRATA_REQUIRE(is_power_of_two(rows), InvalidArgument, "fwht: the number of rows (", rows,
                 ") must be a power of two; zero-pad the input to ", next_power_of_two(rows),
                 " rows");
  STRATA_REQUIRE(options.tile_rows >= 2 && is_power_of_two(options.tile_rows), InvalidArgument,
                 "fwht: tile_rows must be a power of two >= 2, got ", options.tile_rows);
  if (x.extent(1) == 0) return;
  const T scale = static_cast<T>(options.scale);
  if (rows == 1) {
    Kokkos::parallel_for(
        "strata::sketch::fwht::scale", Kokkos::RangePolicy<ExecSpace>(exec, 0, x.extent(1)),
        KOKKOS_LAMBDA(const std::size_t c) { x(0, c) *= scale; });
    return;
  }
  const index_type tile = rows < options.tile_rows ? rows : options.tile_rows;
  tiled_stages(exec, x, tile, tile == rows ? scale : T(1));
  for (index_type h = tile; h < rows; h <<= 1) {
    upper_stage(exec, x, h, 2 * h == rows ? scale : T(1));
  }
}

template void fwht<float>(const ExecSpace&, const Matrix<float>&, const FwhtOptions&);
template void fwht<double>(const ExecSpace&, const Matrix<double>&, const FwhtOptions&);

}  // namespace strata::sketch
