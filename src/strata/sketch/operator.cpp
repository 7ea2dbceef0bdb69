#include "strata/sketch/operator.hpp"

#include <Kokkos_Sort.hpp>
#include <algorithm>
#include <cmath>
#include <string>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/core/random.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/sketch/detail/kernel_traits.hpp"
#include "strata/sketch/detail/random_bits.hpp"
#include "strata/sketch/detail/team_kernels.hpp"
#include "strata/sketch/fwht.hpp"

namespace strata::sketch {

const char* operator_name(OperatorKind kind) {
  switch (kind) {
    case OperatorKind::gaussian:
      return "gaussian";
    case OperatorKind::rademacher:
      return "rademacher";
    case OperatorKind::srht:
      return "srht";
    case OperatorKind::hadamard:
      return "hadamard";
    case OperatorKind::sparse_sign:
      return "sparse-sign";
  }
  return "unknown";
}

OperatorKind parse_operator(const std::string& name) {
  for (auto k : {OperatorKind::gaussian, OperatorKind::rademacher, OperatorKind::srht,
                 OperatorKind::hadamard, OperatorKind::sparse_sign}) {
    if (name == operator_name(k)) return k;
  }
  STRATA_THROW(InvalidArgument, "unknown sketch operator '", name,
               "'; expected gaussian, rademacher, srht, hadamard or sparse-sign");
}

namespace {
bool is_hadamard_type(OperatorKind k) {
  return k == OperatorKind::srht || k == OperatorKind::hadamard;
}
constexpr index_type max_padded_cols = index_type(1) << 40;
}  // namespace

index_type SketchOperator::padded_cols() const {
  if (!is_hadamard_type(kind) || cols < 1 || cols > max_padded_cols) return cols;
  return next_power_of_two(cols);
}

void SketchOperator::validate() const {
  const char* name = operator_name(kind);
  STRATA_REQUIRE(rows >= 1 && cols >= 1, InvalidArgument, "sketch operator '", name,
                 "': the shape must be at least 1 x 1, got ", rows, " x ", cols);
  if (kind == OperatorKind::sparse_sign) {
    STRATA_REQUIRE(nnz >= 1 && nnz <= rows, InvalidArgument,
                   "sketch operator 'sparse-sign': nonzeros per column (nnz = ", nnz,
                   ") must be between 1 and the number of sketch rows d = ", rows,
                   " (each column has nnz distinct rows)");
    STRATA_REQUIRE(nnz <= max_sparse_nnz, InvalidArgument,
                   "sketch operator 'sparse-sign': nnz = ", nnz, " exceeds the supported maximum ",
                   max_sparse_nnz, " nonzeros per column");
  }
  if (is_hadamard_type(kind)) {
    STRATA_REQUIRE(cols <= max_padded_cols, InvalidArgument, "sketch operator '", name,
                   "': n = ", cols, " exceeds the supported 2^40 columns");
    const index_type padded = next_power_of_two(cols);
    STRATA_REQUIRE(pad || padded == cols, InvalidArgument, "sketch operator '", name,
                   "': n = ", cols,
                   " is not a power of two and zero padding is disabled; enable padding (to ",
                   padded, ") or give a power-of-two n");
    if (kind == OperatorKind::srht) {
      STRATA_REQUIRE(rows <= padded, InvalidArgument, "sketch operator 'srht': d = ", rows,
                     " rows cannot be sampled without replacement from the ", padded,
                     " rows of the (padded) transform; expected d <= ", padded);
    } else {
      STRATA_REQUIRE(rows == padded, InvalidArgument,
                     "sketch operator 'hadamard': the rotation is ", padded, " x ", padded,
                     " for n = ", cols, " (padded to a power of two), so d = ", rows,
                     " must equal ", padded);
    }
  }
}

double entry_scale(const SketchOperator& op, bool isometry_scaling) {
  if (!isometry_scaling) return 1.0;
  switch (op.kind) {
    case OperatorKind::hadamard:
      return 1.0 / static_cast<double>(op.padded_cols());
    case OperatorKind::sparse_sign:
      return 1.0 / std::sqrt(static_cast<double>(op.nnz));
    default:
      return 1.0 / std::sqrt(static_cast<double>(op.rows));
  }
}

std::vector<index_type> srht_sampled_rows(const SketchOperator& op) {
  STRATA_REQUIRE(op.kind == OperatorKind::srht, InvalidArgument,
                 "srht_sampled_rows: the operator is '", operator_name(op.kind), "', not 'srht'");
  op.validate();
  const index_type n = op.padded_cols(), d = op.rows;
  // Partial Fisher-Yates on the virtual array pi = (0, 1, ..., N-1): only displaced positions are
  // stored, so time and memory are O(d) for any N. They live in an open-addressing table
  // (linear probing, Fibonacci hashing) of >= 4 d slots: each step stores at most one position,
  // so the table stays at most a quarter full (a few times faster than std::unordered_map, which
  // allocates a node per position: this runs on the host before every GPU SRHT).
  int log_slots = 4;
  while ((index_type(1) << log_slots) < 4 * d) ++log_slots;
  const std::size_t slots = std::size_t(1) << log_slots;
  std::vector<index_type> keys(slots, -1), values(slots);
  auto slot_of = [&](index_type p) {
    std::size_t s = static_cast<std::size_t>(
        (static_cast<std::uint64_t>(p) * 0x9E3779B97F4A7C15ull) >> (64 - log_slots));
    while (keys[s] != -1 && keys[s] != p) s = (s + 1) & (slots - 1);
    return s;
  };
  auto value_at = [&](index_type p) {
    const std::size_t s = slot_of(p);
    return keys[s] == p ? values[s] : p;
  };
  std::vector<index_type> rows(static_cast<std::size_t>(d));
  for (index_type i = 0; i < d; ++i) {
    const auto bits = detail::philox_bits(op.seed, op.stream, detail::tag_permutation,
                                          static_cast<std::uint64_t>(i), 0);
    const index_type j = i + detail::uniform_below(bits.v[0], n - i);
    const index_type vi = value_at(i), vj = value_at(j);
    const std::size_t s = slot_of(j);
    keys[s] = j;
    values[s] = vi;
    rows[static_cast<std::size_t>(i)] = vj;
  }
  return rows;
}

namespace {

using IndexView = Kokkos::View<index_type*, MemSpace>;

IndexView to_device(const std::vector<index_type>& v, const char* label) {
  IndexView d(std::string(label), v.size());
  Kokkos::View<const index_type*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged> h(v.data(), v.size());
  Kokkos::deep_copy(d, h);
  return d;
}

IndexView identity_rows(const ExecSpace& exec, index_type n) {
  IndexView rows(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::sketch::rows"),
                 static_cast<std::size_t>(n));
  Kokkos::parallel_for(
      "strata::sketch::identity_rows",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, n),
      KOKKOS_LAMBDA(const index_type i) { rows(i) = i; });
  return rows;
}

template <class T>
void fill_zero(const ExecSpace& exec, const Matrix<T>& x) {
  const auto rows = x.extent(0);
  Kokkos::parallel_for(
      "strata::sketch::zero", Kokkos::RangePolicy<ExecSpace>(exec, 0, x.extent(0) * x.extent(1)),
      KOKKOS_LAMBDA(const std::size_t k) { x(k % rows, k / rows) = T(0); });
}

/// out = in^T.
template <class T>
void transpose_into(const ExecSpace& exec, const ConstMatrix<T>& in, const Matrix<T>& out) {
  const auto rows = in.extent(0);
  Kokkos::parallel_for(
      "strata::sketch::transpose",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, in.extent(0) * in.extent(1)),
      KOKKOS_LAMBDA(const std::size_t k) { out(k / rows, k % rows) = in(k % rows, k / rows); });
}

// ---- dense Gaussian / Rademacher ---------------------------------------------------------------

/// Columns per generated block of S so that d * width <= max_block_entries.
index_type block_width(const SketchOperator& op, index_type total, const ApplyOptions& o) {
  const index_type w = o.max_block_entries / op.rows;
  return w < 1 ? 1 : (w < total ? w : total);
}

/// out = scale * S(:, b:b+r) a for a (r x k).
template <class T>
void dense_left(const ExecSpace& exec, const SketchOperator& op, const ConstMatrix<T>& a,
                index_type b, const Matrix<T>& out, T scale, const ApplyOptions& o) {
  const index_type r = static_cast<index_type>(a.extent(0));
  const index_type k = static_cast<index_type>(a.extent(1));
  if (r == 0) return fill_zero(exec, out);
  const RandomStream stream{
      op.kind == OperatorKind::gaussian ? Distribution::gaussian : Distribution::rademacher,
      op.seed, op.stream};
  const index_type width = block_width(op, r, o);
  Matrix<T> s(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::sketch::S_block"),
              static_cast<std::size_t>(op.rows), static_cast<std::size_t>(width));
  Matrix<T> a_block;
  if (width < r) {
    a_block =
        Matrix<T>(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::sketch::A_block"),
                  static_cast<std::size_t>(width), static_cast<std::size_t>(k));
  }
  for (index_type c0 = 0; c0 < r; c0 += width) {
    const index_type w = (r - c0 < width) ? r - c0 : width;
    Matrix<T> s_w(s.data(), static_cast<std::size_t>(op.rows), static_cast<std::size_t>(w));
    fill_random(exec, stream, s_w, 0, b + c0);
    if (w == r) {
      linalg::gemm(exec, "N", "N", scale, s_w, a, T(0), out);
    } else {
      // Copy the row block of A to a contiguous buffer so that the GEMM reaches the vendor BLAS.
      Matrix<T> a_w(a_block.data(), static_cast<std::size_t>(w), static_cast<std::size_t>(k));
      Kokkos::parallel_for(
          "strata::sketch::copy_rows",
          Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, w * k),
          KOKKOS_LAMBDA(const index_type q) { a_w(q % w, q / w) = a(c0 + q % w, q / w); });
      linalg::gemm(exec, "N", "N", scale, s_w, a_w, c0 == 0 ? T(0) : T(1), out);
    }
  }
}

/// out = scale * a S^T for a (m x n).
template <class T>
void dense_right(const ExecSpace& exec, const SketchOperator& op, const ConstMatrix<T>& a,
                 const Matrix<T>& out, T scale, const ApplyOptions& o) {
  const index_type n = op.cols;
  const RandomStream stream{
      op.kind == OperatorKind::gaussian ? Distribution::gaussian : Distribution::rademacher,
      op.seed, op.stream};
  const index_type width = block_width(op, n, o);
  Matrix<T> s(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::sketch::S_block"),
              static_cast<std::size_t>(op.rows), static_cast<std::size_t>(width));
  for (index_type c0 = 0; c0 < n; c0 += width) {
    const index_type w = (n - c0 < width) ? n - c0 : width;
    Matrix<T> s_w(s.data(), static_cast<std::size_t>(op.rows), static_cast<std::size_t>(w));
    fill_random(exec, stream, s_w, 0, c0);
    const auto a_w = Kokkos::subview(a, Kokkos::ALL, std::make_pair(c0, c0 + w));
    linalg::gemm(exec, "N", "T", scale, a_w, s_w, c0 == 0 ? T(0) : T(1), out);
  }
}

// ---- GPU sparse-sign products: row blocks of S against tiles of A in team scratch -------------

/// Rows of S per lane group, their sums and CSR positions kept in registers.
constexpr int sparse_rows_per_group = 16;

/// The team functor of detail::sparse_product_team. Result entry (i, c): row i of S (row-sorted
/// CSR) against "column" c of B, B = a (not transposed: out(i, c)) or B = a^T (transposed:
/// out(c, i)). A team owns rows [i0, i0 + rows_per_team) of S and columns [c0, c0 + lanes) of B.
/// Its threads form groups of `lanes` consecutive threads (a warp on a GPU); lane l of a group
/// owns column c0 + l and the group owns sparse_rows_per_group consecutive rows of S. The team
/// walks the rows of B in tiles of tile_rows, loading each tile once into scratch with coalesced
/// reads (along j for a, along c for a^T), stored with the column fastest (pitch lanes + 1, so the
/// column-major loads of a do not collide on memory banks). A group then walks each of its rows'
/// CSR entries inside the tile: every lane of the group reads the same entry (a broadcast) and
/// the tile value of its own column (consecutive addresses), so the loop has the same trip count
/// on all lanes and no scattered reads. Each sum runs over its row in increasing column j, the
/// order of the host kernels: the result is deterministic and bitwise equal to theirs.
template <class T, bool Transposed>
struct SparseGather {
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  using Scratch =
      Kokkos::View<T*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryUnmanaged>;
  Kokkos::View<const std::int64_t*, MemSpace> entries;
  Kokkos::View<const index_type*, MemSpace> row_ptr;
  ConstMatrix<T> a;
  Matrix<T> out;
  T scale;
  index_type d, w, width, lanes, rows_per_team, row_blocks, tile_rows;

  KOKKOS_INLINE_FUNCTION index_type pitch() const { return lanes + 1; }

  KOKKOS_INLINE_FUNCTION void operator()(const typename Policy::member_type& team) const {
    const index_type i0 = (team.league_rank() % row_blocks) * rows_per_team;
    const index_type c0 = (team.league_rank() / row_blocks) * lanes;
    const index_type nc = width - c0 < lanes ? width - c0 : lanes;
    const index_type lane = team.team_rank() % lanes;
    const index_type first_row = i0 + (team.team_rank() / lanes) * sparse_rows_per_group;
    const bool active = lane < nc;
    Scratch tile(team.team_scratch(0), static_cast<std::size_t>(tile_rows * pitch()));
    T acc[sparse_rows_per_group];
    index_type pos[sparse_rows_per_group];
    STRATA_SKETCH_UNROLL
    for (int r = 0; r < sparse_rows_per_group; ++r) {
      const index_type row = first_row + r;
      acc[r] = T(0);
      pos[r] = row < d ? row_ptr(row) : 0;
    }
    for (index_type j0 = 0; j0 < w; j0 += tile_rows) {
      const index_type jn = w - j0 < tile_rows ? w - j0 : tile_rows;
      if (j0 > 0) team.team_barrier();  // the previous tile is consumed
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, jn * nc), [&](const index_type q) {
        if (Transposed) {
          tile(q % nc + pitch() * (q / nc)) = a(c0 + q % nc, j0 + q / nc);
        } else {
          tile(q / jn + pitch() * (q % jn)) = a(j0 + q % jn, c0 + q / jn);
        }
      });
      team.team_barrier();
      if (!active) continue;
      const index_type j_end = j0 + jn;
      STRATA_SKETCH_UNROLL
      for (int r = 0; r < sparse_rows_per_group; ++r) {
        const index_type row = first_row + r;
        if (row >= d) continue;
        const index_type row_end = row_ptr(row + 1);
        index_type p = pos[r];
        T sum = acc[r];
        // w: a sentinel column past every tile. The next entry is read before the tile value
        // of the current one, so the two loads overlap.
        std::int64_t e = p < row_end ? entries(p) : std::int64_t(w);
        while ((e >= 0 ? e : ~e) < j_end) {
          ++p;
          const std::int64_t next = p < row_end ? entries(p) : std::int64_t(w);
          const T v = tile(((e >= 0 ? e : ~e) - j0) * pitch() + lane);
          sum += e >= 0 ? v : -v;
          e = next;
        }
        pos[r] = p;
        acc[r] = sum;
      }
    }
    if (!active) return;
    STRATA_SKETCH_UNROLL
    for (int r = 0; r < sparse_rows_per_group; ++r) {
      const index_type row = first_row + r;
      if (row >= d) continue;
      if (Transposed) {
        out(c0 + lane, row) = scale * acc[r];
      } else {
        out(row, c0 + lane) = scale * acc[r];
      }
    }
  }
};

template <class T, bool Transposed>
void run_sparse_gather(const ExecSpace& exec, const SparseSignMatrix& s, const ConstMatrix<T>& a,
                       const Matrix<T>& out, T scale) {
  using F = SparseGather<T, Transposed>;
  F f{s.row_entries(), s.row_offsets(), a, out, scale, 0, 0, 0, 0, 0, 0, 0};
  f.d = s.description().rows;
  f.w = s.col_end() - s.col_begin();
  f.width = static_cast<index_type>(Transposed ? a.extent(0) : a.extent(1));
  // The scratch tile always takes the whole team_scratch_values budget; its rows follow from the
  // group width chosen below.
  const index_type scratch_values = detail::team_scratch_values<T>();
  const std::size_t scratch_bytes =
      F::Scratch::shmem_size(static_cast<std::size_t>(scratch_values));
  typename F::Policy probe(exec, static_cast<int>(std::max<index_type>(1, f.d)), 1);
  probe.set_scratch_size(0, Kokkos::PerTeam(scratch_bytes));
  // GPU: 512 threads = 16 warps of 16 rows each, 256 rows of S per team.
  const int team_size = kx::team_size(exec, probe, f, 512);
  // Lanes per group: a warp on GPUs (the largest power of two <= min(32, team size)); one on the
  // host's one-thread teams, where the same code runs in the unit tests.
  index_type lanes = 1;
  while (2 * lanes <= std::min<index_type>(32, team_size)) lanes *= 2;
  f.lanes = lanes;
  const index_type col_batches = (f.width + lanes - 1) / lanes;
  index_type groups = std::min<index_type>(
      team_size / lanes, (f.d + sparse_rows_per_group - 1) / sparse_rows_per_group);
  // Fewer groups (rows of S per team, hence more row blocks) while the league is smaller than
  // one team of the wanted size per 2048 resident threads (one per multiprocessor on NVIDIA
  // GPUs): narrow B would otherwise leave most of the device idle. Each row block reads B once
  // (from L2 when its neighbours in the league read the same tile at the same time).
  const index_type target_teams =
      std::max<index_type>(1, static_cast<index_type>(exec.concurrency()) / 2048);
  while (groups > 1 && col_batches * ((f.d + groups * sparse_rows_per_group - 1) /
                                      (groups * sparse_rows_per_group)) <
                           target_teams) {
    groups = (groups + 1) / 2;
  }
  f.rows_per_team = groups * sparse_rows_per_group;
  f.row_blocks = (f.d + f.rows_per_team - 1) / f.rows_per_team;
  f.tile_rows = std::max<index_type>(1, scratch_values / f.pitch());
  typename F::Policy policy(exec, static_cast<int>(f.row_blocks * col_batches),
                            static_cast<int>(groups * lanes));
  policy.set_scratch_size(0, Kokkos::PerTeam(scratch_bytes));
  Kokkos::parallel_for(
      Transposed ? "strata::sketch::sparse_right_team" : "strata::sketch::sparse_left_team", policy,
      f);
}

/// The team functor of sparse_product_team's columns kernel: out(i, c) = scale * (row i of S) .
/// a(:, c). A team owns column c of a and every row of S. It streams the column through team
/// scratch in chunks of `chunk` rows (coalesced reads, each entry of a read once by the whole
/// league); after each chunk, every row i (a thread's, cyclically) walks its CSR entries that fall
/// into the chunk, resuming where the last chunk stopped. Sums and positions stay in scratch
/// between chunks. Each sum runs over its row in increasing column j: the order of the tiles
/// kernel and of the host kernels (bitwise equal results).
template <class T>
struct SparseColumns {
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  using ScratchT =
      Kokkos::View<T*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryUnmanaged>;
  using ScratchI =
      Kokkos::View<index_type*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryUnmanaged>;
  Kokkos::View<const std::int64_t*, MemSpace> entries;
  Kokkos::View<const index_type*, MemSpace> row_ptr;
  ConstMatrix<T> a;
  Matrix<T> out;
  T scale;
  index_type d, w, chunk;

  static std::size_t scratch_bytes(index_type d, index_type chunk) {
    return ScratchT::shmem_size(static_cast<std::size_t>(chunk)) +
           ScratchT::shmem_size(static_cast<std::size_t>(d)) +
           ScratchI::shmem_size(static_cast<std::size_t>(d));
  }

  KOKKOS_INLINE_FUNCTION void operator()(const typename Policy::member_type& team) const {
    const index_type c = team.league_rank();
    ScratchT tile(team.team_scratch(0), static_cast<std::size_t>(chunk));
    ScratchT acc(team.team_scratch(0), static_cast<std::size_t>(d));
    ScratchI pos(team.team_scratch(0), static_cast<std::size_t>(d));
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, d), [&](const index_type i) {
      acc(i) = T(0);
      pos(i) = row_ptr(i);
    });
    for (index_type j0 = 0; j0 < w; j0 += chunk) {
      const index_type jn = w - j0 < chunk ? w - j0 : chunk;
      team.team_barrier();  // the sums are initialized / the previous chunk is consumed
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, jn),
                           [&](const index_type q) { tile(q) = a(j0 + q, c); });
      team.team_barrier();
      const index_type j_end = j0 + jn;
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, d), [&](const index_type i) {
        const index_type row_end = row_ptr(i + 1);
        index_type p = pos(i);
        T sum = acc(i);
        while (p < row_end) {
          const std::int64_t e = entries(p);
          const index_type j = static_cast<index_type>(e >= 0 ? e : ~e);
          if (j >= j_end) break;
          const T v = tile(j - j0);
          sum += e >= 0 ? v : -v;
          ++p;
        }
        pos(i) = p;
        acc(i) = sum;
      });
    }
    team.team_barrier();
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, d),
                         [&](const index_type i) { out(i, c) = scale * acc(i); });
  }
};

/// The team functor of sparse_product_team's column-blocks kernel: out(i, c) = scale * (row i of
/// S) . a(:, c), a team per block of `cols` consecutive columns of a and every row of S. The
/// columns kernel above reads the CSR entries of S once per column of a, which at nnz >= 8 costs
/// more than a itself (d = 1024, nnz 8: 1 MB of entries per column against 128 KB of the column);
/// here each CSR entry read serves `cols` columns. The team streams its columns of a through team
/// scratch in chunks of `chunk` rows (coalesced reads along each column, stored row by row so
/// that a CSR entry's `cols` values are consecutive); thread t owns rows t, t + T, ..., t + (R - 1)
/// T of S (T the team size, R = rows) with their sums and CSR positions in registers, and walks
/// their entries that fall into the chunk. Where d > R T the rows go in passes of R T, each
/// streaming the columns again (the team asks for up to 1024 threads, but its registers cap it:
/// ptxas on sm_90 gives 115 registers per thread in fp64, 71 in fp32, so at most about 544 / 896
/// threads and one pass for d up to about 2176 / 3584). Each sum runs over its row in increasing
/// column j, as in the other kernels (bitwise equal results).
template <class T>
struct SparseColumnBlocks {
  static constexpr int cols = 8;  ///< columns of a per team
  static constexpr int rows = 4;  ///< rows of S per thread and pass
  /// Values per row of the tile: one more than the columns, so that the loads of a column (rows
  /// of the tile in consecutive threads) do not fall into the same memory bank.
  static constexpr int pitch = cols + 1;
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  using ScratchT =
      Kokkos::View<T*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryUnmanaged>;
  Kokkos::View<const std::int64_t*, MemSpace> entries;
  Kokkos::View<const index_type*, MemSpace> row_ptr;
  ConstMatrix<T> a;
  Matrix<T> out;
  T scale;
  index_type d, w, width, chunk;

  static std::size_t scratch_bytes(index_type chunk) {
    return ScratchT::shmem_size(static_cast<std::size_t>(chunk) * pitch);
  }

  KOKKOS_INLINE_FUNCTION void operator()(const typename Policy::member_type& team) const {
    const index_type c0 = static_cast<index_type>(team.league_rank()) * cols;
    const int nc = width - c0 < cols ? static_cast<int>(width - c0) : cols;
    const index_type threads = team.team_size();
    const index_type t = team.team_rank();
    ScratchT tile(team.team_scratch(0), static_cast<std::size_t>(chunk) * pitch);
    for (index_type base = 0; base < d; base += threads * rows) {
      T acc[rows][cols];
      index_type pos[rows], end[rows];
      STRATA_SKETCH_UNROLL
      for (int r = 0; r < rows; ++r) {
        const index_type i = base + r * threads + t;
        pos[r] = i < d ? row_ptr(i) : 0;
        end[r] = i < d ? row_ptr(i + 1) : 0;
        STRATA_SKETCH_UNROLL
        for (int cc = 0; cc < cols; ++cc) acc[r][cc] = T(0);
      }
      for (index_type j0 = 0; j0 < w; j0 += chunk) {
        const int jn = static_cast<int>(w - j0 < chunk ? w - j0 : chunk);
        // Every thread has consumed the previous chunk (or pass) before the tile is overwritten.
        team.team_barrier();
        // Coalesced along each column of a; columns past the last one are zero (never stored).
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, jn * cols), [&](const int q) {
          const int cc = q / jn, row = q - cc * jn;
          tile(static_cast<std::size_t>(row) * pitch + cc) = cc < nc ? a(j0 + row, c0 + cc) : T(0);
        });
        // The tile is complete before any thread reads it.
        team.team_barrier();
        const index_type j_end = j0 + jn;
        STRATA_SKETCH_UNROLL
        for (int r = 0; r < rows; ++r) {
          index_type p = pos[r];
          // w: a sentinel column past every chunk; the next entry is read before the values of
          // the current one, so the two loads overlap.
          std::int64_t e = p < end[r] ? entries(p) : std::int64_t(w);
          while ((e >= 0 ? e : ~e) < j_end) {
            ++p;
            const std::int64_t next = p < end[r] ? entries(p) : std::int64_t(w);
            const std::size_t at = static_cast<std::size_t>((e >= 0 ? e : ~e) - j0) * pitch;
            if (e >= 0) {
              STRATA_SKETCH_UNROLL
              for (int cc = 0; cc < cols; ++cc) acc[r][cc] += tile(at + cc);
            } else {
              STRATA_SKETCH_UNROLL
              for (int cc = 0; cc < cols; ++cc) acc[r][cc] -= tile(at + cc);
            }
            e = next;
          }
          pos[r] = p;
        }
      }
      STRATA_SKETCH_UNROLL
      for (int r = 0; r < rows; ++r) {
        const index_type i = base + r * threads + t;
        if (i >= d) continue;
        // Constant trip count (unrolled): acc stays in registers, a loop to nc would index it
        // dynamically and put it in local memory on GPUs.
        STRATA_SKETCH_UNROLL
        for (int cc = 0; cc < cols; ++cc)
          if (cc < nc) out(i, c0 + cc) = scale * acc[r][cc];
      }
    }
  }
};

/// The scratch budget of the columns kernel, in bytes (the team scratch limit, as fwht_team's).
inline std::size_t sparse_columns_budget() {
  const auto limit = static_cast<std::size_t>(Kokkos::TeamPolicy<ExecSpace>::scratch_size_max(0));
  return limit > 256 ? limit - 256 : 0;
}

/// The longest chunk of rows of A that fits `free_bytes` of team scratch at `per_row` bytes per row
/// (the views' padding already taken off), in whole multiples of 32 rows, and no longer than the
/// w rows of A.
inline index_type scratch_chunk(std::size_t free_bytes, std::size_t per_row, index_type w) {
  index_type chunk = static_cast<index_type>(free_bytes / per_row);
  if (chunk > 32) chunk -= chunk % 32;
  return std::max<index_type>(1, std::min(chunk, std::max<index_type>(w, 1)));
}

template <class T>
void run_sparse_columns(const ExecSpace& exec, const SparseSignMatrix& s, const ConstMatrix<T>& a,
                        const Matrix<T>& out, T scale) {
  using F = SparseColumns<T>;
  F f{s.row_entries(), s.row_offsets(), a, out, scale, 0, 0, 0};
  f.d = s.description().rows;
  f.w = s.col_end() - s.col_begin();
  if (f.d == 0) return;
  const std::size_t budget = sparse_columns_budget();
  const std::size_t fixed = F::scratch_bytes(f.d, 0);
  STRATA_REQUIRE(fixed < budget, InvalidArgument,
                 "sparse-sign S A: the columns GPU kernel "
                 "(ApplyOptions::sparse_kernel) needs ",
                 fixed, " bytes of team scratch for d = ", f.d, " rows of S, more than the ",
                 budget, " available; use SparseGpuKernel::automatic or tiles");
  // The longest chunk that fits (scratch_bytes is fixed + chunk * sizeof(T) exactly: each view
  // is padded by the same amount whatever its length).
  f.chunk = scratch_chunk(budget - fixed, sizeof(T), f.w);
  const int league = checked_int(static_cast<index_type>(out.extent(1)),
                                 "sparse-sign S A: columns of A (the columns kernel's league)");
  // 256 threads: a few rows of S per thread on the usual d <= 2048, and 8 warps to hide latency.
  Kokkos::parallel_for("strata::sketch::sparse_left_columns",
                       kx::team_policy(exec, league, 256, F::scratch_bytes(f.d, f.chunk), f), f);
}

/// The team size the column-blocks kernel asks for: enough threads for all d rows of S in one
/// pass (SparseColumnBlocks::rows per thread), in whole warps, between 128 and 1024.
inline int sparse_column_blocks_team(index_type d) {
  const index_type per = SparseColumnBlocks<double>::rows;
  index_type t = (d + per - 1) / per;
  t = (t + 31) / 32 * 32;
  return static_cast<int>(std::min<index_type>(1024, std::max<index_type>(128, t)));
}

template <class T>
void run_sparse_column_blocks(const ExecSpace& exec, const SparseSignMatrix& s,
                              const ConstMatrix<T>& a, const Matrix<T>& out, T scale) {
  using F = SparseColumnBlocks<T>;
  F f{s.row_entries(), s.row_offsets(), a, out, scale, 0, 0, 0, 0};
  f.d = s.description().rows;
  f.w = s.col_end() - s.col_begin();
  f.width = static_cast<index_type>(a.extent(1));
  if (f.d == 0 || f.width == 0) return;
  // The longest chunk that fits the team scratch (scratch_bytes is chunk * pitch * sizeof(T) plus
  // a fixed padding).
  const std::size_t budget = sparse_columns_budget();
  const std::size_t per_row = F::pitch * sizeof(T);
  STRATA_REQUIRE(budget >= 2 * per_row, InternalError,
                 "sparse-sign S A: no team scratch for the column-blocks kernel");
  f.chunk = scratch_chunk(budget - F::scratch_bytes(0), per_row, f.w);
  const int league = checked_int((f.width + F::cols - 1) / F::cols,
                                 "sparse-sign S A: column blocks of A (the league)");
  Kokkos::parallel_for(
      "strata::sketch::sparse_left_column_blocks",
      kx::team_policy(exec, league, sparse_column_blocks_team(f.d), F::scratch_bytes(f.chunk), f),
      f);
}

}  // namespace

namespace detail {

/// The columns kernel launches a team per column of A: below one team per 2048 resident threads
/// (one per multiprocessor on NVIDIA GPUs) most of the device would idle, and the tiles kernel
/// splits the rows of S instead.
index_type sparse_columns_min_width(const ExecSpace& exec) {
  return std::max<index_type>(1, static_cast<index_type>(exec.concurrency()) / 2048);
}

/// Above this many nonzeros per column of S the columns kernel's per-team CSR walks (about
/// nnz w / d entries per row of S, against team scratch) cost more than the tiles kernel's extra
/// reads of A. H100, S 1024 x 16384 times A 16384 x 4096 (strata_bench_sketch, cached S):
/// columns / tiles 0.72 / 3.77 ms at nnz 1, 3.45 / 4.97 at nnz 8, 6.90 / 6.10 at nnz 16 (fp64);
/// 0.56 / 2.98, 3.58 / 3.99, 8.01 / 5.12 (fp32).
constexpr index_type sparse_columns_max_nnz = 8;

/// From this many nonzeros per column of S on, the automatic choice is the column-blocks kernel
/// (where A is wide enough): there the columns kernel's per-column CSR reads cost more than A
/// itself and both measured kernels were slower than the dense GEMM. Below it (nnz 1: the columns
/// kernel at 0.72 ms, 0.23 of the copy floor, H100) the measured kernel stays the default until
/// the column blocks are timed on a GPU (they have not been yet).
constexpr index_type sparse_column_blocks_min_nnz = 8;

template <class T>
bool sparse_columns_fit(index_type d) {
  return 2 * SparseColumns<T>::scratch_bytes(d, 0) <= sparse_columns_budget();
}

template <class T>
void sparse_product_team(const ExecSpace& exec, const SparseSignMatrix& s, const ConstMatrix<T>& a,
                         const Matrix<T>& out, T scale, bool transposed, SparseGpuKernel kernel) {
  const index_type d = s.description().rows, w = s.col_end() - s.col_begin();
  STRATA_REQUIRE(static_cast<index_type>(s.row_offsets().extent(0)) == d + 1, InvalidArgument,
                 "sparse_product_team: the row-sorted copy of the sparse-sign block is missing; "
                 "call build_rows first");
  const index_type width = static_cast<index_type>(transposed ? a.extent(0) : a.extent(1));
  STRATA_REQUIRE(static_cast<index_type>(transposed ? a.extent(1) : a.extent(0)) == w &&
                     static_cast<index_type>(out.extent(transposed ? 0 : 1)) == width &&
                     static_cast<index_type>(out.extent(transposed ? 1 : 0)) == d,
                 ShapeMismatch, "sparse_product_team: A is ", a.extent(0), " x ", a.extent(1),
                 " and the output ", out.extent(0), " x ", out.extent(1), " for a ", d, " x ", w,
                 " block of S");
  if (width == 0) return;
  const index_type blocks = (width + SparseColumnBlocks<T>::cols - 1) / SparseColumnBlocks<T>::cols;
  if (transposed) {
    run_sparse_gather<T, true>(exec, s, a, out, scale);
  } else if (kernel == SparseGpuKernel::column_blocks ||
             (kernel == SparseGpuKernel::automatic && blocks >= sparse_columns_min_width(exec) &&
              s.description().nnz >= sparse_column_blocks_min_nnz)) {
    run_sparse_column_blocks<T>(exec, s, a, out, scale);
  } else if (kernel == SparseGpuKernel::columns ||
             (kernel == SparseGpuKernel::automatic && sparse_columns_fit<T>(d) &&
              width >= sparse_columns_min_width(exec) &&
              s.description().nnz <= sparse_columns_max_nnz)) {
    run_sparse_columns<T>(exec, s, a, out, scale);
  } else {
    run_sparse_gather<T, false>(exec, s, a, out, scale);
  }
}

template void sparse_product_team<float>(const ExecSpace&, const SparseSignMatrix&,
                                         const ConstMatrix<float>&, const Matrix<float>&, float,
                                         bool, SparseGpuKernel);
template void sparse_product_team<double>(const ExecSpace&, const SparseSignMatrix&,
                                          const ConstMatrix<double>&, const Matrix<double>&, double,
                                          bool, SparseGpuKernel);
template bool sparse_columns_fit<float>(index_type);
template bool sparse_columns_fit<double>(index_type);

}  // namespace detail

namespace {

// ---- sparse sign -------------------------------------------------------------------------------

/// out = scale * S(:, b:b+r) a for a (r x k) with the cached columns of S.
template <class T>
void sparse_left(const ExecSpace& exec, const SparseSignMatrix& s, const ConstMatrix<T>& a,
                 const Matrix<T>& out, T scale, SparseGpuKernel kernel) {
  const index_type d = s.description().rows, nnz = s.description().nnz;
  const index_type r = static_cast<index_type>(a.extent(0)),
                   k = static_cast<index_type>(a.extent(1));
  if constexpr (detail::KernelTraits<ExecSpace>::host_loops) {
    // A task per tile of `tile` columns of A: its d x tile block of the output stays in cache
    // while the rows of A stream by; row j adds +-a(j, c) to the nnz rows of S's column j, in
    // order of j (a deterministic sum). The entries of column j are decoded once per tile.
    constexpr index_type tile = 4;
    const auto entries = s.column_entries();
    Kokkos::parallel_for(
        "strata::sketch::sparse_left_host",
        Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0,
                                                                      (k + tile - 1) / tile),
        KOKKOS_LAMBDA(const index_type task) {
          const index_type c0 = task * tile, width = k - c0 < tile ? k - c0 : tile;
          for (index_type c = 0; c < width; ++c) {
            for (index_type i = 0; i < d; ++i) out(i, c0 + c) = T(0);
          }
          for (index_type j = 0; j < r; ++j) {
            const int* e = &entries(j * nnz);
            for (index_type c = 0; c < width; ++c) {
              // Branch-free: the signs are random, so a branch on them mispredicts half the time.
              const T v = a(j, c0 + c);
              const T plus_minus[2] = {v, -v};
              T* o = &out(0, c0 + c);
              for (index_type q = 0; q < nnz; ++q) {
                const int e_q = e[q];
                o[e_q ^ (e_q >> 31)] += plus_minus[static_cast<unsigned>(e_q) >> 31];
              }
            }
          }
          for (index_type c = 0; c < width; ++c) {
            for (index_type i = 0; i < d; ++i) out(i, c0 + c) *= scale;
          }
        });
  } else {
    detail::sparse_product_team(exec, s, a, out, scale, false, kernel);
  }
}

/// out = scale * a S(:, b:b+r)^T for a (m x r).
template <class T>
void sparse_right(const ExecSpace& exec, const SparseSignMatrix& s, const ConstMatrix<T>& a,
                  const Matrix<T>& out, T scale) {
  const index_type d = s.description().rows, nnz = s.description().nnz;
  const index_type m = static_cast<index_type>(a.extent(0)),
                   r = static_cast<index_type>(a.extent(1));
  if constexpr (detail::KernelTraits<ExecSpace>::host_loops) {
    // A task per tile of rows of A: column j of A (its tile) is added, +-, to the nnz columns of
    // the output named by S's column j; every update is a contiguous loop that vectorizes.
    constexpr index_type tile = 128;
    const auto entries = s.column_entries();
    Kokkos::parallel_for(
        "strata::sketch::sparse_right_host",
        Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0,
                                                                      (m + tile - 1) / tile),
        KOKKOS_LAMBDA(const index_type task) {
          const index_type i0 = task * tile, len = m - i0 < tile ? m - i0 : tile;
          for (index_type i = 0; i < d; ++i) {
            for (index_type t = 0; t < len; ++t) out(i0 + t, i) = T(0);
          }
          for (index_type j = 0; j < r; ++j) {
            const T* x = &a(i0, j);
            for (index_type q = 0; q < nnz; ++q) {
              const int row = entries(j * nnz + q);
              T* o = &out(i0, row >= 0 ? row : ~row);
              const T sign = row >= 0 ? T(1) : T(-1);
              for (index_type t = 0; t < len; ++t) o[t] += sign * x[t];
            }
          }
          for (index_type i = 0; i < d; ++i) {
            for (index_type t = 0; t < len; ++t) out(i0 + t, i) *= scale;
          }
        });
  } else {
    detail::sparse_product_team(exec, s, a, out, scale, true);
  }
}

// ---- Hadamard-based (srht, hadamard) -----------------------------------------------------------

/// The caller's FWHT options (ApplyOptions::fwht) with scale 1: the operators scale themselves.
FwhtOptions unscaled(FwhtOptions f) {
  f.scale = 1;
  return f;
}

/// D2(j) for j in [b, b + r): the input signs of srht / hadamard.
template <class T>
Kokkos::View<T*, MemSpace> random_signs(const ExecSpace& exec, const SketchOperator& op,
                                        index_type b, index_type r) {
  Kokkos::View<T*, MemSpace> signs(
      Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::sketch::signs"),
      static_cast<std::size_t>(r));
  const std::uint64_t seed = op.seed, stream = op.stream;
  Kokkos::parallel_for(
      "strata::sketch::signs",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, r),
      KOKKOS_LAMBDA(const index_type t) {
        signs(t) = detail::random_sign<T>(seed, stream, detail::tag_signs_d2, b + t);
      });
  return signs;
}

/// out(i, :) = scale * sum_{j in [b, b+r)} H_N(rows_i, j) D_j a(j - b, :) for the selected rows
/// `rows` of H_N (d of them), by the aligned dyadic split of [b, e) described in operator.hpp.
template <class T>
void hadamard_left(const ExecSpace& exec, const SketchOperator& op, const ConstMatrix<T>& a,
                   index_type b, const IndexView& rows, const Matrix<T>& out, T scale,
                   const FwhtOptions& fwht_options) {
  const index_type r = static_cast<index_type>(a.extent(0));
  const index_type k = static_cast<index_type>(a.extent(1));
  const index_type n = op.cols, big_n = op.padded_cols();
  const index_type d = static_cast<index_type>(rows.extent(0));
  if (r == 0) return fill_zero(exec, out);
  // The rank holding row n-1 also takes the zero rows [n, N), which usually merges its range into
  // fewer (larger) aligned blocks: one block [0, N) on a single rank.
  const index_type e = (b + r == n) ? big_n : b + r;
  std::vector<std::pair<index_type, index_type>> blocks;  // (start, length)
  index_type largest = 1;
  for (index_type c = b; c < e;) {
    index_type len = 1;
    while ((c % (2 * len)) == 0 && c + 2 * len <= e) len *= 2;
    blocks.emplace_back(c, len);
    largest = len > largest ? len : largest;
    c += len;
  }
  Matrix<T> z(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::sketch::fwht_block"),
              static_cast<std::size_t>(largest), static_cast<std::size_t>(k));
  const index_type end = b + r;
  // D's signs for [b, b + r), drawn once (one Philox call each) instead of once per entry of A.
  const auto signs = random_signs<T>(exec, op, b, r);
  for (std::size_t blk = 0; blk < blocks.size(); ++blk) {
    const index_type c0 = blocks[blk].first, len = blocks[blk].second;
    Matrix<T> zb(z.data(), static_cast<std::size_t>(len), static_cast<std::size_t>(k));
    Kokkos::parallel_for(
        "strata::sketch::hadamard_load",
        Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, len * k),
        KOKKOS_LAMBDA(const index_type q) {
          const index_type t = q % len, c = q / len, j = c0 + t;
          zb(t, c) = j < end ? signs(j - b) * a(j - b, c) : T(0);
        });
    fwht(exec, zb, unscaled(fwht_options));
    const bool first = blk == 0;
    Kokkos::parallel_for(
        "strata::sketch::hadamard_gather",
        Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, d * k),
        KOKKOS_LAMBDA(const index_type q) {
          const index_type i = q % d, c = q / d;
          const auto p = static_cast<std::uint64_t>(rows(i));
          const T v = scale * detail::hadamard_sign<T>(p & static_cast<std::uint64_t>(c0)) *
                      zb(static_cast<index_type>(p & static_cast<std::uint64_t>(len - 1)), c);
          out(i, c) = first ? v : out(i, c) + v;
        });
  }
}

/// The srht's hadamard_left with its sampled rows on the host: on GPUs with the grouped FWHT
/// kernel, detail::srht_left_team (every dyadic block one fused pipeline: sign flip in the first
/// pass, the sampled rows gathered from team scratch in the last, workspace of a few column
/// groups); otherwise the rows go to the device for the separate load, FWHT and gather above.
template <class T>
void hadamard_left(const ExecSpace& exec, const SketchOperator& op, const ConstMatrix<T>& a,
                   index_type b, const std::vector<index_type>& rows, const Matrix<T>& out, T scale,
                   const FwhtOptions& fwht_options) {
  const index_type r = static_cast<index_type>(a.extent(0));
  if (detail::KernelTraits<ExecSpace>::host_loops ||
      fwht_options.gpu_kernel != FwhtGpuKernel::grouped || r == 0) {
    return hadamard_left(exec, op, a, b, to_device(rows, "strata::sketch::srht_rows"), out, scale,
                         fwht_options);
  }
  detail::srht_left_team(exec, op, a, b, rows, out, scale, fwht_options);
}

/// y <- scale * H_N D1 y (the second half of the Hadamard rotation), y N x k.
template <class T>
void hadamard_finish(const ExecSpace& exec, const SketchOperator& op, const Matrix<T>& y, T scale,
                     const FwhtOptions& fwht_options) {
  const index_type big_n = static_cast<index_type>(y.extent(0));
  const std::uint64_t seed = op.seed, stream = op.stream;
  Kokkos::parallel_for(
      "strata::sketch::hadamard_d1",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(
          exec, 0, big_n * static_cast<index_type>(y.extent(1))),
      KOKKOS_LAMBDA(const index_type q) {
        const index_type i = q % big_n;
        y(i, q / big_n) *= detail::random_sign<T>(seed, stream, detail::tag_signs_d1, i);
      });
  FwhtOptions f = fwht_options;
  f.scale = static_cast<double>(scale);
  fwht(exec, y, f);
}

/// out = scale * a S^T for a (m x n): the transposed, zero-padded, sign-flipped copy of a is
/// transformed in place (N x m workspace) and the sampled rows are gathered transposed.
template <class T>
void hadamard_right(const ExecSpace& exec, const SketchOperator& op, const ConstMatrix<T>& a,
                    const Matrix<T>& out, T scale, const FwhtOptions& fwht_options) {
  const index_type m = static_cast<index_type>(a.extent(0));
  const index_type n = op.cols, big_n = op.padded_cols();
  Matrix<T> z(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::sketch::fwht_right"),
              static_cast<std::size_t>(big_n), static_cast<std::size_t>(m));
  const auto signs = random_signs<T>(exec, op, 0, n);
  Kokkos::parallel_for(
      "strata::sketch::hadamard_load_transposed",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, big_n * m),
      KOKKOS_LAMBDA(const index_type q) {
        const index_type t = q % big_n, row = q / big_n;
        z(t, row) = t < n ? signs(t) * a(row, t) : T(0);
      });
  if (op.kind == OperatorKind::hadamard) {
    fwht(exec, z, unscaled(fwht_options));
    hadamard_finish(exec, op, z, scale, fwht_options);
    Kokkos::parallel_for(
        "strata::sketch::hadamard_store_transposed",
        Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, m * big_n),
        KOKKOS_LAMBDA(const index_type q) { out(q % m, q / m) = z(q / m, q % m); });
    return;
  }
  fwht(exec, z, unscaled(fwht_options));
  const auto rows = to_device(srht_sampled_rows(op), "strata::sketch::srht_rows");
  const index_type d = op.rows;
  Kokkos::parallel_for(
      "strata::sketch::srht_gather_transposed",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, m * d),
      KOKKOS_LAMBDA(const index_type q) {
        const index_type row = q % m, i = q / m;
        out(row, i) = scale * z(rows(i), row);
      });
}

// ---- dispatch ----------------------------------------------------------------------------------

/// Partial left product of the columns [b, b + rows(a)) of S with a, written to out (d x k).
/// hadamard: out (N x k) receives only H_N D2 a (the part that is summed over ranks); the caller
/// applies hadamard_finish after the sum.
template <class T>
void partial_left(const ExecSpace& exec, const SketchOperator& op, const ConstMatrix<T>& a,
                  index_type b, const Matrix<T>& out, const ApplyOptions& o) {
  const T scale = static_cast<T>(entry_scale(op, o.isometry_scaling));
  switch (op.kind) {
    case OperatorKind::gaussian:
    case OperatorKind::rademacher:
      return dense_left(exec, op, a, b, out, scale, o);
    case OperatorKind::sparse_sign:
      return sparse_left(exec,
                         SparseSignMatrix(exec, op, b, b + static_cast<index_type>(a.extent(0))), a,
                         out, scale, o.sparse_kernel);
    case OperatorKind::srht:
      return hadamard_left(exec, op, a, b, srht_sampled_rows(op), out, scale, o.fwht);
    case OperatorKind::hadamard:
      return hadamard_left(exec, op, a, b, identity_rows(exec, op.padded_cols()), out, T(1),
                           o.fwht);
  }
}

template <class T>
void finish_left(const ExecSpace& exec, const SketchOperator& op, const Matrix<T>& out,
                 const ApplyOptions& o) {
  if (op.kind == OperatorKind::hadamard) {
    hadamard_finish(exec, op, out, static_cast<T>(entry_scale(op, o.isometry_scaling)), o.fwht);
  }
}

void check_block(const SketchOperator& op, index_type b, index_type e, const char* what) {
  STRATA_REQUIRE(0 <= b && b <= e && e <= op.cols, InvalidArgument, what, ": the column range [", b,
                 ", ", e, ") is not inside [0, ", op.cols, ")");
}

/// Column c of the block: its s rows (bit-complemented for a negative sign), from the counter
/// stream. A free function: CUDA lambdas cannot live in a constructor.
void generate_sparse_columns(const ExecSpace& exec, const SketchOperator& op, index_type b,
                             index_type r, const Kokkos::View<int*, MemSpace>& columns) {
  const std::uint64_t seed = op.seed, stream = op.stream;
  const index_type d = op.rows, s = op.nnz;
  Kokkos::parallel_for(
      "strata::sketch::sparse_generate",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, r),
      KOKKOS_LAMBDA(const index_type c) {
        index_type rows[max_sparse_nnz];
        int signs[max_sparse_nnz];
        detail::sparse_column(seed, stream, b + c, d, s, rows, signs);
        for (index_type q = 0; q < s; ++q) {
          const int row = static_cast<int>(rows[q]);
          columns(c * s + q) = signs[q] > 0 ? row : ~row;
        }
      });
}

}  // namespace

SparseSignMatrix::SparseSignMatrix(const ExecSpace& exec, const SketchOperator& op,
                                   index_type col_begin, index_type col_end)
    : op_(op), col_begin_(col_begin), col_end_(col_end) {
  STRATA_REQUIRE(op.kind == OperatorKind::sparse_sign, InvalidArgument,
                 "SparseSignMatrix: the operator is '", operator_name(op.kind),
                 "', not 'sparse-sign'");
  op.validate();
  check_block(op, col_begin, col_end, "SparseSignMatrix");
  const index_type d = op.rows, s = op.nnz, r = col_end - col_begin, b = col_begin;
  STRATA_REQUIRE(d <= std::numeric_limits<int>::max(), InvalidArgument, "sparse-sign: d = ", d,
                 " rows exceed the supported 2^31 - 1");
  columns_ = Kokkos::View<int*, MemSpace>(
      Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::sketch::sparse_columns"),
      static_cast<std::size_t>(r * s));
  generate_sparse_columns(exec, op, b, r, columns_);
  if constexpr (!detail::KernelTraits<ExecSpace>::host_loops) build_rows(exec);
}

void SparseSignMatrix::build_rows(const ExecSpace& exec) {
  const index_type d = op_.rows, s = op_.nnz, r = col_end_ - col_begin_;
  STRATA_REQUIRE(r == 0 || d <= (std::numeric_limits<std::int64_t>::max() / 2 - 1) / r,
                 InvalidArgument, "sparse-sign: d * n_local = ", d, " * ", r,
                 " is too large for the 63-bit row-column key; split the columns over more ranks");
  // Keys ((row * r + local column) * 2 + sign bit), sorted: the order inside each row (and hence
  // every sum over it) is by column, deterministic for any thread count and backend.
  Kokkos::View<std::int64_t*, MemSpace> keys(
      Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::sketch::sparse_keys"),
      static_cast<std::size_t>(r * s));
  row_offsets_ = Kokkos::View<index_type*, MemSpace>(
      Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::sketch::sparse_row_ptr"),
      static_cast<std::size_t>(d + 1));
  const auto columns = columns_;
  const auto row_ptr = row_offsets_;
  Kokkos::parallel_for(
      "strata::sketch::sparse_keys",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, r * s),
      KOKKOS_LAMBDA(const index_type p) {
        const int e = columns(p);
        const std::int64_t row = e >= 0 ? e : ~e;
        keys(p) = (row * r + p / s) * 2 + (e >= 0 ? 1 : 0);
      });
  kx::fence(exec, "strata::sketch::sparse_keys");
  Kokkos::sort(keys);
  Kokkos::fence();
  const index_type total = r * s;
  Kokkos::parallel_for(
      "strata::sketch::sparse_row_ptr",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, d + 1),
      KOKKOS_LAMBDA(const index_type i) {
        // First key of row >= i (lower bound of i * r * 2).
        const std::int64_t target = i * r * 2;
        index_type lo = 0, hi = total;
        while (lo < hi) {
          const index_type mid = lo + (hi - lo) / 2;
          if (keys(mid) < target) {
            lo = mid + 1;
          } else {
            hi = mid;
          }
        }
        row_ptr(i) = lo;
      });
  // Decode once: column c with sign +1 -> c, with sign -1 -> ~c (negative).
  Kokkos::parallel_for(
      "strata::sketch::sparse_decode",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, total),
      KOKKOS_LAMBDA(const index_type p) {
        const std::int64_t key = keys(p);
        const std::int64_t c = (key >> 1) % r;
        keys(p) = (key & 1) ? c : ~c;
      });
  rows_ = keys;
}

template <class T>
void sketch_rows(const ExecSpace& exec, const SparseSignMatrix& s, const ConstMatrix<T>& a,
                 const Matrix<T>& sa, const ApplyOptions& options) {
  const SketchOperator& op = s.description();
  const index_type r = s.col_end() - s.col_begin(), k = static_cast<index_type>(a.extent(1));
  require_shape(a, r, k, "sketch_rows: A (the operator's column block of rows x k)");
  require_shape(sa, op.rows, k, "sketch_rows: the output S A");
  if (options.check_finite) require_finite(exec, a, "sketch_rows: A");
  if (k == 0) return;
  if (r == 0) return fill_zero(exec, sa);
  sparse_left(exec, s, a, sa, static_cast<T>(entry_scale(op, options.isometry_scaling)),
              options.sparse_kernel);
}

template <class T>
void sketch_columns(const ExecSpace& exec, const SparseSignMatrix& s, const ConstMatrix<T>& a,
                    const Matrix<T>& as, const ApplyOptions& options) {
  const SketchOperator& op = s.description();
  const index_type r = s.col_end() - s.col_begin(), m = static_cast<index_type>(a.extent(0));
  require_shape(a, m, r, "sketch_columns: A (m x the operator's column block)");
  require_shape(as, m, op.rows, "sketch_columns: the output A S^T");
  if (options.check_finite) require_finite(exec, a, "sketch_columns: A");
  if (m == 0) return;
  if (r == 0) return fill_zero(exec, as);
  sparse_right(exec, s, a, as, static_cast<T>(entry_scale(op, options.isometry_scaling)));
}

template <class T>
Matrix<T> materialize(const ExecSpace& exec, const SketchOperator& op, index_type col_begin,
                      index_type col_end, const ApplyOptions& options) {
  op.validate();
  check_block(op, col_begin, col_end, "materialize");
  const index_type d = op.rows, w = col_end - col_begin, b = col_begin;
  Matrix<T> s("strata::sketch::S", static_cast<std::size_t>(d), static_cast<std::size_t>(w));
  if (w == 0) return s;
  const T scale = static_cast<T>(entry_scale(op, options.isometry_scaling));
  const std::uint64_t seed = op.seed, stream = op.stream;
  switch (op.kind) {
    case OperatorKind::gaussian:
    case OperatorKind::rademacher: {
      fill_random(exec,
                  RandomStream{op.kind == OperatorKind::gaussian ? Distribution::gaussian
                                                                 : Distribution::rademacher,
                               op.seed, op.stream},
                  s, 0, b);
      Kokkos::parallel_for(
          "strata::sketch::materialize_scale",
          Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, d * w),
          KOKKOS_LAMBDA(const index_type q) { s(q % d, q / d) *= scale; });
      break;
    }
    case OperatorKind::srht: {
      const auto rows = to_device(srht_sampled_rows(op), "strata::sketch::srht_rows");
      Kokkos::parallel_for(
          "strata::sketch::materialize_srht",
          Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, d * w),
          KOKKOS_LAMBDA(const index_type q) {
            const index_type i = q % d, j = b + q / d;
            s(i, q / d) = scale * detail::random_sign<T>(seed, stream, detail::tag_signs_d2, j) *
                          detail::hadamard_sign<T>(static_cast<std::uint64_t>(rows(i) & j));
          });
      break;
    }
    case OperatorKind::hadamard: {
      // Column j of T is (1/N) H D1 h_j D2_j with h_j = H(:, j): formed directly, then one FWHT.
      Kokkos::parallel_for(
          "strata::sketch::materialize_hadamard",
          Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, d * w),
          KOKKOS_LAMBDA(const index_type q) {
            const index_type l = q % d, j = b + q / d;
            s(l, q / d) = detail::hadamard_sign<T>(static_cast<std::uint64_t>(l & j)) *
                          detail::random_sign<T>(seed, stream, detail::tag_signs_d1, l) *
                          detail::random_sign<T>(seed, stream, detail::tag_signs_d2, j);
          });
      FwhtOptions f;
      f.scale = static_cast<double>(scale);
      fwht(exec, s, f);
      break;
    }
    case OperatorKind::sparse_sign: {
      const index_type nnz = op.nnz;
      Kokkos::parallel_for(
          "strata::sketch::materialize_sparse",
          Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_type>>(exec, 0, w),
          KOKKOS_LAMBDA(const index_type c) {
            index_type rows[max_sparse_nnz];
            T signs[max_sparse_nnz];
            detail::sparse_column(seed, stream, b + c, d, nnz, rows, signs);
            for (index_type q = 0; q < nnz; ++q) s(rows[q], c) = scale * signs[q];
          });
      break;
    }
  }
  return s;
}

template <class T>
void sketch_rows(const ExecSpace& exec, const SketchOperator& op, const ConstMatrix<T>& a,
                 const Matrix<T>& sa, const ApplyOptions& options) {
  op.validate();
  require_shape(a, op.cols, static_cast<index_type>(a.extent(1)), "sketch_rows: A (n x k)");
  require_shape(sa, op.rows, static_cast<index_type>(a.extent(1)), "sketch_rows: the output S A");
  if (options.check_finite) require_finite(exec, a, "sketch_rows: A");
  if (a.extent(1) == 0) return;
  partial_left(exec, op, a, 0, sa, options);
  finish_left(exec, op, sa, options);
}

template <class T>
void sketch_columns(const ExecSpace& exec, const SketchOperator& op, const ConstMatrix<T>& a,
                    const Matrix<T>& as, const ApplyOptions& options) {
  op.validate();
  const auto m = static_cast<index_type>(a.extent(0));
  require_shape(a, m, op.cols, "sketch_columns: A (m x n)");
  require_shape(as, m, op.rows, "sketch_columns: the output A S^T");
  if (options.check_finite) require_finite(exec, a, "sketch_columns: A");
  if (m == 0) return;
  const T scale = static_cast<T>(entry_scale(op, options.isometry_scaling));
  switch (op.kind) {
    case OperatorKind::gaussian:
    case OperatorKind::rademacher:
      return dense_right(exec, op, a, as, scale, options);
    case OperatorKind::sparse_sign:
      return sparse_right(exec, SparseSignMatrix(exec, op, 0, op.cols), a, as, scale);
    case OperatorKind::srht:
    case OperatorKind::hadamard:
      return hadamard_right(exec, op, a, as, scale, options.fwht);
  }
}

template <class T>
void sketch_rows(const ExecSpace& exec, const SketchOperator& op, const DistMatrix<T>& a,
                 const Matrix<T>& sa, const ApplyOptions& options) {
  collective(a.comm(), [&] {
    op.validate();
    STRATA_REQUIRE(a.global_rows() == op.cols, ShapeMismatch, "sketch_rows: A has ",
                   a.global_rows(), " rows but the operator is ", op.rows, " x ", op.cols,
                   "; expected A with ", op.cols, " rows");
    require_shape(sa, op.rows, a.cols(), "sketch_rows: the output S A");
    if (options.check_finite) require_finite(exec, a.local(), "sketch_rows: A");
    if (a.cols() > 0) partial_left(exec, op, ConstMatrix<T>(a.local()), a.row_begin(), sa, options);
  });
  if (a.cols() == 0) return;
  a.comm().allreduce(exec, sa, ReduceOp::sum);
  finish_left(exec, op, sa, options);
}

template <class T>
void sketch_columns(const ExecSpace& exec, const SketchOperator& op, const DistMatrix<T>& a,
                    const DistMatrix<T>& as, const ApplyOptions& options) {
  collective(a.comm(), [&] {
    op.validate();
    STRATA_REQUIRE(as.layout() == a.layout() && as.cols() == op.rows, ShapeMismatch,
                   "sketch_columns: the output must have A's row distribution and d = ", op.rows,
                   " columns");
    sketch_columns(exec, op, ConstMatrix<T>(a.local()), as.local(), options);
  });
}

template <class T>
void sketch_rows(const ExecSpace& exec, const SketchOperator& op, const LinearOperator<T>& a,
                 const Matrix<T>& sa, const ApplyOptions& options) {
  const int rank = a.comm().rank();
  const BlockRowLayout& rows = a.row_layout();
  const BlockRowLayout& cols = a.col_layout();
  const index_type d = op.rows;
  Matrix<T> y;
  collective(a.comm(), [&] {
    op.validate();
    STRATA_REQUIRE(a.rows() == op.cols, ShapeMismatch, "sketch_rows: the operator A is ", a.rows(),
                   " x ", a.cols(), " but S is ", op.rows, " x ", op.cols, "; expected A with ",
                   op.cols, " rows");
    require_shape(sa, d, a.cols(), "sketch_rows: the output S A");
    y = Matrix<T>("strata::sketch::AtSt", static_cast<std::size_t>(cols.local_rows(rank)),
                  static_cast<std::size_t>(d));
  });
  const auto s = materialize<T>(exec, op, rows.row_begin(rank), rows.row_end(rank), options);
  Matrix<T> st("strata::sketch::St", s.extent(1), s.extent(0));
  transpose_into(exec, ConstMatrix<T>(s), st);
  a.apply_transpose(exec, st, y);  // (S A)^T = A^T S^T
  if (a.distributed()) {
    const auto full = allgather_rows(exec, a.comm(), cols, ConstMatrix<T>(y));
    transpose_into(exec, ConstMatrix<T>(full), sa);
  } else {
    transpose_into(exec, ConstMatrix<T>(y), sa);
  }
}

template <class T>
void sketch_columns(const ExecSpace& exec, const SketchOperator& op, const LinearOperator<T>& a,
                    const Matrix<T>& as, const ApplyOptions& options) {
  const int rank = a.comm().rank();
  const BlockRowLayout& rows = a.row_layout();
  const BlockRowLayout& cols = a.col_layout();
  collective(a.comm(), [&] {
    op.validate();
    STRATA_REQUIRE(a.cols() == op.cols, ShapeMismatch, "sketch_columns: the operator A is ",
                   a.rows(), " x ", a.cols(), " but S is ", op.rows, " x ", op.cols,
                   "; expected A with ", op.cols, " columns");
    require_shape(as, rows.local_rows(rank), op.rows,
                  "sketch_columns: the output A S^T (this rank's rows of A)");
  });
  const auto s = materialize<T>(exec, op, cols.row_begin(rank), cols.row_end(rank), options);
  Matrix<T> st("strata::sketch::St", s.extent(1), s.extent(0));
  transpose_into(exec, ConstMatrix<T>(s), st);
  a.apply(exec, st, as);
}

#define STRATA_SKETCH_OPERATOR_DEFINE(T)                                                          \
  template void sketch_rows<T>(const ExecSpace&, const SparseSignMatrix&, const ConstMatrix<T>&,  \
                               const Matrix<T>&, const ApplyOptions&);                            \
  template void sketch_columns<T>(const ExecSpace&, const SparseSignMatrix&,                      \
                                  const ConstMatrix<T>&, const Matrix<T>&, const ApplyOptions&);  \
  template Matrix<T> materialize<T>(const ExecSpace&, const SketchOperator&, index_type,          \
                                    index_type, const ApplyOptions&);                             \
  template void sketch_rows<T>(const ExecSpace&, const SketchOperator&, const ConstMatrix<T>&,    \
                               const Matrix<T>&, const ApplyOptions&);                            \
  template void sketch_columns<T>(const ExecSpace&, const SketchOperator&, const ConstMatrix<T>&, \
                                  const Matrix<T>&, const ApplyOptions&);                         \
  template void sketch_rows<T>(const ExecSpace&, const SketchOperator&, const DistMatrix<T>&,     \
                               const Matrix<T>&, const ApplyOptions&);                            \
  template void sketch_columns<T>(const ExecSpace&, const SketchOperator&, const DistMatrix<T>&,  \
                                  const DistMatrix<T>&, const ApplyOptions&);                     \
  template void sketch_rows<T>(const ExecSpace&, const SketchOperator&, const LinearOperator<T>&, \
                               const Matrix<T>&, const ApplyOptions&);                            \
  template void sketch_columns<T>(const ExecSpace&, const SketchOperator&,                        \
                                  const LinearOperator<T>&, const Matrix<T>&,                     \
                                  const ApplyOptions&);
STRATA_SKETCH_OPERATOR_DEFINE(float)
STRATA_SKETCH_OPERATOR_DEFINE(double)
#undef STRATA_SKETCH_OPERATOR_DEFINE

}  // namespace strata::sketch
