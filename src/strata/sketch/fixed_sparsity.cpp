#include "strata/sketch/fixed_sparsity.hpp"

#include <algorithm>
#include <functional>
#include <unordered_set>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "strata/sketch/detail/estimators_common.hpp"

namespace strata::sketch {

namespace {

constexpr std::uint64_t stream_gaussian = 4;  // G of the least-squares estimator
constexpr std::uint64_t stream_coloring = 5;  // signs of the coloring probes

/// This rank's rows [row_begin, row_end) of `pattern` on the device, offsets rebased to 0.
template <class T>
void local_pattern(const ExecSpace& exec, const SparsityPattern& pattern, index_type row_begin,
                   index_type row_end, SparseApproximation<T>& out) {
  const auto local_rows = static_cast<std::size_t>(row_end - row_begin);
  const index_type first = pattern.row_offsets[static_cast<std::size_t>(row_begin)];
  const index_type last = pattern.row_offsets[static_cast<std::size_t>(row_end)];
  out.row_offsets = Kokkos::View<index_type*, MemSpace>("strata::sketch::fixed_sparsity::offsets",
                                                        local_rows + 1);
  out.col_indices = Kokkos::View<index_type*, MemSpace>("strata::sketch::fixed_sparsity::cols",
                                                        static_cast<std::size_t>(last - first));
  out.values = Kokkos::View<T*, MemSpace>("strata::sketch::fixed_sparsity::values",
                                          static_cast<std::size_t>(last - first));
  auto offsets_host = Kokkos::create_mirror_view(out.row_offsets);
  auto cols_host = Kokkos::create_mirror_view(out.col_indices);
  for (std::size_t i = 0; i <= local_rows; ++i)
    offsets_host(i) = pattern.row_offsets[static_cast<std::size_t>(row_begin) + i] - first;
  for (index_type e = first; e < last; ++e)
    cols_host(static_cast<std::size_t>(e - first)) =
        pattern.col_indices[static_cast<std::size_t>(e)];
  Kokkos::deep_copy(exec, out.row_offsets, offsets_host);
  Kokkos::deep_copy(exec, out.col_indices, cols_host);
  kx::fence(exec, "strata::sketch::fixed_sparsity::pattern");
}

template <class T>
void agree(const LinearOperator<T>& a, const std::function<void()>& check) {
  if (a.distributed()) {
    collective(a.comm(), check);
  } else {
    check();
  }
}

/// Solves every local row's least-squares problem min_x ||G_S^T x - z_i|| (G_S = G[S_i, :], s x m)
/// through the normal equations G_S G_S^T x = G_S z_i, one team per row. Normal equations square
/// the condition number, which is harmless here: for Gaussian G_S with m >= s + 1 + s/eps rows,
/// cond(G_S) <= (sqrt(m) + sqrt(s)) / (sqrt(m) - sqrt(s)) with high probability (Davidson-Szarek),
/// e.g. <= 6 for m >= 2 s, so the squared condition costs at most a couple of digits, and the
/// s x s Cholesky in team scratch is far cheaper than a Householder QR of the m x s matrix.
/// Entries of G are regenerated from the counter stream (bitwise the G that multiplied A), and
/// all sums run in double. Returns the number of rows whose Gram matrix was not positive definite.
template <class T>
index_type solve_rows(const ExecSpace& exec, const RandomStream stream, const Matrix<T>& z,
                      const SparseApproximation<T>& out, int s_max, int m) {
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  using Scratch2 = Kokkos::View<double**, Kokkos::LayoutLeft, ExecSpace::scratch_memory_space,
                                Kokkos::MemoryUnmanaged>;
  using Scratch1 = Kokkos::View<double*, ExecSpace::scratch_memory_space, Kokkos::MemoryUnmanaged>;
  const std::size_t bytes = Scratch2::shmem_size(s_max, m) + Scratch2::shmem_size(s_max, s_max) +
                            Scratch1::shmem_size(s_max);
  // Small problems fit the fast per-team memory (level 0, e.g. CUDA shared memory); larger ones
  // use level 1 (global memory on GPUs).
  const int level = bytes <= 32 * 1024 ? 0 : 1;
  const auto offsets = out.row_offsets;
  const auto cols = out.col_indices;
  const auto values = out.values;
  const index_type local_rows = static_cast<index_type>(offsets.extent(0)) - 1;
  const int width = static_cast<int>(RandomStream::group_width(stream.distribution));
  const int groups = (m + width - 1) / width;
  index_type failures = 0;
  Kokkos::parallel_reduce(
      "strata::sketch::fixed_sparsity::row_least_squares",
      kx::auto_team_policy(exec, static_cast<int>(local_rows))
          .set_scratch_size(level, Kokkos::PerTeam(bytes)),
      KOKKOS_LAMBDA(const typename Policy::member_type& team, index_type& failed) {
        const int i = team.league_rank();
        const index_type begin = offsets(i);
        const int s = static_cast<int>(offsets(i + 1) - begin);
        if (s == 0) return;
        Scratch2 g(team.team_scratch(level), s_max, m);
        Scratch2 gram(team.team_scratch(level), s_max, s_max);
        Scratch1 rhs(team.team_scratch(level), s_max);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, s * groups), [&](const int t) {
          const int e = t % s;
          const int group = t / s;
          const auto r = stream.bits(cols(begin + e), group);
          T gaussians[4];  // the entries of the T-valued stream (stream.entry<T>)
          RandomStream::gaussian_values<T>(r, gaussians);
          const int end = kx::min(width, m - group * width);
          for (int slot = 0; slot < end; ++slot) {
            g(e, group * width + slot) = static_cast<double>(gaussians[slot]);
          }
        });
        team.team_barrier();
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, s * s + s), [&](const int t) {
          if (t < s * s) {
            const int p = t % s, q = t / s;
            if (p < q) return;
            double sum = 0;
            for (int l = 0; l < m; ++l) sum += g(p, l) * g(q, l);
            gram(p, q) = sum;
          } else {
            const int p = t - s * s;
            double sum = 0;
            for (int l = 0; l < m; ++l) sum += g(p, l) * static_cast<double>(z(i, l));
            rhs(p) = sum;
          }
        });
        team.team_barrier();
        int bad = 0;
        Kokkos::single(
            Kokkos::PerTeam(team),
            [&](int& flag) {
              flag = 0;
              // Cholesky gram = L L^T (lower triangle, in place), then L L^T x = rhs.
              for (int c = 0; c < s; ++c) {
                double d = gram(c, c);
                for (int l = 0; l < c; ++l) d -= gram(c, l) * gram(c, l);
                if (!(d > 0)) {
                  flag = 1;
                  return;
                }
                d = kx::sqrt(d);
                gram(c, c) = d;
                for (int p = c + 1; p < s; ++p) {
                  double v = gram(p, c);
                  for (int l = 0; l < c; ++l) v -= gram(p, l) * gram(c, l);
                  gram(p, c) = v / d;
                }
              }
              for (int p = 0; p < s; ++p) {
                double v = rhs(p);
                for (int l = 0; l < p; ++l) v -= gram(p, l) * rhs(l);
                rhs(p) = v / gram(p, p);
              }
              for (int p = s - 1; p >= 0; --p) {
                double v = rhs(p);
                for (int l = p + 1; l < s; ++l) v -= gram(l, p) * rhs(l);
                rhs(p) = v / gram(p, p);
              }
              for (int p = 0; p < s; ++p) values(begin + p) = static_cast<T>(rhs(p));
            },
            bad);
        Kokkos::single(Kokkos::PerTeam(team), [&] { failed += bad; });
      },
      failures);
  return failures;
}

/// X(j, l) = sign(j, l) if j and probe l have the same color (j mod k == l mod k), else 0, for
/// this rank's rows of X.
template <class T>
void coloring_probes(const ExecSpace& exec, const RandomStream stream, const DistMatrix<T>& x,
                     index_type colors) {
  const auto local = x.local();
  const index_type row_begin = x.row_begin();
  Kokkos::parallel_for(
      "strata::sketch::fixed_sparsity::coloring_probes",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(exec, {0, 0},
                                                        {local.extent(0), local.extent(1)}),
      KOKKOS_LAMBDA(const std::size_t a, const std::size_t l) {
        const index_type j = row_begin + static_cast<index_type>(a);
        const auto probe = static_cast<index_type>(l);
        local(a, l) = j % colors == probe % colors ? stream.entry<T>(j, probe) : T(0);
      });
}

/// A~[i, j] = mean over probes l of j's color of sign(j, l) Y[i, l].
template <class T>
void coloring_values(const ExecSpace& exec, const RandomStream stream, const Matrix<T>& y,
                     const SparseApproximation<T>& out, index_type colors) {
  const auto offsets = out.row_offsets;
  const auto cols = out.col_indices;
  const auto values = out.values;
  const auto m = static_cast<index_type>(y.extent(1));
  Kokkos::parallel_for(
      "strata::sketch::fixed_sparsity::coloring_values",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, y.extent(0)), KOKKOS_LAMBDA(const std::size_t i) {
        for (index_type e = offsets(i); e < offsets(i + 1); ++e) {
          const index_type j = cols(e);
          T sum = 0;
          index_type count = 0;
          for (index_type l = j % colors; l < m; l += colors) {
            sum += stream.entry<T>(j, l) * y(i, l);
            ++count;
          }
          values(e) = sum / static_cast<T>(count);
        }
      });
}

}  // namespace

SparsityPattern SparsityPattern::diagonal(index_type n) {
  return banded(n, 0);
}

SparsityPattern SparsityPattern::banded(index_type n, index_type half_bandwidth) {
  STRATA_REQUIRE(n >= 0 && half_bandwidth >= 0, InvalidArgument,
                 "SparsityPattern::banded: n and the half-bandwidth must be >= 0, got n = ", n,
                 ", b = ", half_bandwidth);
  SparsityPattern p;
  p.rows = p.cols = n;
  p.row_offsets.reserve(static_cast<std::size_t>(n) + 1);
  p.row_offsets.push_back(0);
  for (index_type i = 0; i < n; ++i) {
    for (index_type j = std::max<index_type>(0, i - half_bandwidth);
         j <= std::min(n - 1, i + half_bandwidth); ++j) {
      p.col_indices.push_back(j);
    }
    p.row_offsets.push_back(static_cast<index_type>(p.col_indices.size()));
  }
  return p;
}

index_type SparsityPattern::max_row_entries() const {
  index_type s = 0;
  for (std::size_t i = 0; i + 1 < row_offsets.size(); ++i)
    s = std::max(s, row_offsets[i + 1] - row_offsets[i]);
  return s;
}

void SparsityPattern::validate() const {
  STRATA_REQUIRE(rows >= 0 && cols >= 0, InvalidArgument, "sparsity pattern: shape ", rows, " x ",
                 cols, " must be non-negative");
  STRATA_REQUIRE(static_cast<index_type>(row_offsets.size()) == rows + 1, InvalidArgument,
                 "sparsity pattern: ", row_offsets.size(), " row offsets for ", rows,
                 " rows; expected rows + 1");
  STRATA_REQUIRE(
      row_offsets.front() == 0 && row_offsets.back() == static_cast<index_type>(col_indices.size()),
      InvalidArgument, "sparsity pattern: row offsets must start at 0 and end at the ",
      col_indices.size(), " column indices");
  std::unordered_set<index_type> seen;
  for (index_type i = 0; i < rows; ++i) {
    const auto begin = row_offsets[static_cast<std::size_t>(i)];
    const auto end = row_offsets[static_cast<std::size_t>(i) + 1];
    STRATA_REQUIRE(begin <= end, InvalidArgument, "sparsity pattern: row offsets decrease at row ",
                   i);
    seen.clear();
    for (index_type e = begin; e < end; ++e) {
      const index_type j = col_indices[static_cast<std::size_t>(e)];
      STRATA_REQUIRE(j >= 0 && j < cols, InvalidArgument, "sparsity pattern: row ", i,
                     " has column index ", j, ", outside [0, ", cols, ")");
      STRATA_REQUIRE(seen.insert(j).second, InvalidArgument, "sparsity pattern: row ", i,
                     " lists column ", j, " twice");
    }
  }
}

template <class T>
SparseApproximation<T> fixed_sparsity_approximation(const ExecSpace& exec,
                                                    const LinearOperator<T>& a,
                                                    const SparsityPattern& pattern,
                                                    const FixedSparsityOptions& o) {
  index_type s = 0;
  agree(a, [&] {
    pattern.validate();
    STRATA_REQUIRE(pattern.rows == a.rows() && pattern.cols == a.cols(), ShapeMismatch,
                   "fixed_sparsity_approximation: the pattern is ", pattern.rows, " x ",
                   pattern.cols, " but the operator is ", a.rows(), " x ", a.cols());
    s = pattern.max_row_entries();
    STRATA_REQUIRE(o.matvecs >= std::max<index_type>(s, 1), InvalidArgument,
                   "fixed_sparsity_approximation: a row of the pattern has ", s,
                   " entries but only ", o.matvecs,
                   " products were allowed; each row's least-squares problem needs m >= s (and "
                   "m >= s + 2 for a finite expected error)");
    checked_int(o.matvecs, "fixed_sparsity_approximation: matvecs");
  });
  SparseApproximation<T> r;
  r.rows = a.rows();
  r.cols = a.cols();
  const int rank = a.comm().rank();
  r.row_begin = a.row_layout().row_begin(rank);
  const RandomStream stream{Distribution::gaussian, o.seed, stream_gaussian};
  auto z = sketch::detail::output_block(a, o.matvecs, "strata::sketch::fixed_sparsity::Z");
  {
    auto scope = r.timings.scope("matvecs");
    auto g = sketch::detail::input_block(a, o.matvecs, "strata::sketch::fixed_sparsity::G");
    fill_random(exec, stream, g);
    sketch::detail::apply(exec, a, g, z);
    sketch::detail::require_finite_products(exec, a, z, "fixed_sparsity_approximation");
  }
  auto scope = r.timings.scope("row_least_squares");
  local_pattern(exec, pattern, r.row_begin, a.row_layout().row_end(rank), r);
  const index_type failures =
      solve_rows(exec, stream, z.local(), r, static_cast<int>(s), static_cast<int>(o.matvecs));
  agree(a, [&] {
    STRATA_REQUIRE(failures == 0, NumericalError, "fixed_sparsity_approximation: ", failures,
                   " rows have a numerically singular Gram matrix G[S_i,:] G[S_i,:]^T; use more "
                   "products (m > s)");
  });
  r.matvecs = o.matvecs;
  return r;
}

template <class T>
SparseApproximation<T> banded_coloring_approximation(const ExecSpace& exec,
                                                     const LinearOperator<T>& a,
                                                     index_type half_bandwidth,
                                                     const FixedSparsityOptions& o) {
  const index_type colors = 2 * half_bandwidth + 1;
  agree(a, [&] {
    STRATA_REQUIRE(a.rows() == a.cols(), ShapeMismatch,
                   "banded_coloring_approximation: the operator is ", a.rows(), " x ", a.cols(),
                   "; expected a square matrix");
    STRATA_REQUIRE(half_bandwidth >= 0, InvalidArgument,
                   "banded_coloring_approximation: the half-bandwidth must be >= 0, got ",
                   half_bandwidth);
    STRATA_REQUIRE(o.matvecs >= colors, InvalidArgument,
                   "banded_coloring_approximation: half-bandwidth ", half_bandwidth, " needs ",
                   colors, " colors and at least one probe per color, but only ", o.matvecs,
                   " products were allowed");
  });
  SparseApproximation<T> r;
  r.rows = r.cols = a.rows();
  const int rank = a.comm().rank();
  r.row_begin = a.row_layout().row_begin(rank);
  const RandomStream stream{Distribution::rademacher, o.seed, stream_coloring};
  auto y = sketch::detail::output_block(a, o.matvecs, "strata::sketch::fixed_sparsity::Y");
  {
    auto scope = r.timings.scope("matvecs");
    auto x = sketch::detail::input_block(a, o.matvecs, "strata::sketch::fixed_sparsity::X");
    coloring_probes(exec, stream, x, colors);
    sketch::detail::apply(exec, a, x, y);
    sketch::detail::require_finite_products(exec, a, y, "banded_coloring_approximation");
  }
  auto scope = r.timings.scope("coloring");
  local_pattern(exec, SparsityPattern::banded(a.rows(), half_bandwidth), r.row_begin,
                a.row_layout().row_end(rank), r);
  coloring_values(exec, stream, y.local(), r, colors);
  kx::fence(exec, "strata::sketch::fixed_sparsity::coloring");
  r.matvecs = o.matvecs;
  return r;
}

#define STRATA_FIXED_SPARSITY_DEFINE(T)                                   \
  template SparseApproximation<T> fixed_sparsity_approximation<T>(        \
      const ExecSpace&, const LinearOperator<T>&, const SparsityPattern&, \
      const FixedSparsityOptions&);                                       \
  template SparseApproximation<T> banded_coloring_approximation<T>(       \
      const ExecSpace&, const LinearOperator<T>&, index_type, const FixedSparsityOptions&);
STRATA_FIXED_SPARSITY_DEFINE(float)
STRATA_FIXED_SPARSITY_DEFINE(double)
#undef STRATA_FIXED_SPARSITY_DEFINE

}  // namespace strata::sketch
