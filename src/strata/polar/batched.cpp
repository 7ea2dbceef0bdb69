#include "strata/polar/batched.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/core/kokkos_ext/math.hpp"
#include "strata/core/scratch.hpp"
#include "strata/linalg/mixed_gemm.hpp"
#include "strata/polar/bf16.hpp"
#include "strata/polar/detail/batched_driver.hpp"
#include "strata/polar/detail/iteration.hpp"

namespace strata::polar {

namespace {

using Policy = Kokkos::TeamPolicy<ExecSpace>;
using Member = Policy::member_type;

/// Storage type S and the arithmetic on it: fp32/fp64 compute in their own precision; bf16 is
/// stored in 16 bits and computed in fp32 (GEMMs accumulate in fp32 and round once).
template <class S>
struct Arithmetic {
  using compute = S;
  KOKKOS_INLINE_FUNCTION static compute load(S v) { return v; }
  KOKKOS_INLINE_FUNCTION static S store(compute v) { return v; }
  /// Where the stopping rule sees the rounding floor.
  static double unit_roundoff() { return std::numeric_limits<S>::epsilon() / 2; }
  static void gemm(const ExecSpace& exec, char ta, char tb, compute alpha, const Batch<S>& a,
                   const Batch<S>& b, compute beta, const Batch<S>& c) {
    linalg::gemm_batched<S>(exec, ta, tb, alpha, a, b, beta, c);
  }
};

template <>
struct Arithmetic<kx::bf16> {
  using compute = float;
  KOKKOS_INLINE_FUNCTION static float load(kx::bf16 v) { return kx::from_bf16(v); }
  KOKKOS_INLINE_FUNCTION static kx::bf16 store(float v) { return kx::to_bf16(v); }
  /// The value polar_factor_bf16 has always used (see the note in bf16.hpp).
  static double unit_roundoff() { return std::ldexp(1.0, -9); }
  static void gemm(const ExecSpace& exec, char ta, char tb, float alpha, const Batch<kx::bf16>& a,
                   const Batch<kx::bf16>& b, float beta, const Batch<kx::bf16>& c) {
    linalg::gemm_batched_bf16(exec, ta, tb, alpha, a, b, beta, c);
  }
};

/// out(b) = the sum (Max: the largest) of value(i, j, b) over the rows x cols entries of every
/// matrix b of a batch. Each matrix is split into blocks of whole columns, about 2^12 entries per
/// team, so that one large matrix spreads over the whole device (one team per matrix left a single
/// 8192^2 matrix on one GPU block: 40 ms per reduction); the threads of a team take rows (so
/// neighbouring threads read neighbouring entries of the LayoutLeft batch, with no index
/// division). Each (matrix, block) leaves one partial, and one team combines the partials of a
/// matrix in its fixed reduction order: the result does not depend on the scheduling (it depends
/// on the team size, which is fixed per backend and STRATA_HOST_TEAM_SIZE). `partial` is the
/// caller's workspace from reduce_partials (allocated once, not per reduction: these run every
/// step).
using Partials = Kokkos::View<double**, Kokkos::LayoutRight, MemSpace>;

/// The column blocks of reduce_per_matrix for rows x cols matrices. 2^12 entries per team: on an
/// H100, 2^15 gave one 2048^2 matrix 128 teams (about one per SM, too few loads in flight: 35 us
/// for 8 MB, a tenth of the bandwidth).
struct ReduceBlocks {
  std::size_t blocks, per_block;
};
inline ReduceBlocks reduce_blocks(std::size_t rows, std::size_t cols) {
  constexpr std::size_t entries_per_team = std::size_t(1) << 12;
  const std::size_t wanted =
      std::max<std::size_t>(1, std::min(cols, rows * cols / entries_per_team));
  const std::size_t per_block = (cols + wanted - 1) / wanted;
  return {(cols + per_block - 1) / per_block, per_block};
}

/// The workspace of reduce_per_matrix on batches of rows x cols matrices.
inline Partials reduce_partials(strata::detail::Scratch& scratch, std::size_t rows,
                                std::size_t cols, std::size_t batch) {
  return scratch.uninitialized<Partials>(batch, reduce_blocks(rows, cols).blocks);
}

template <bool Max, class Value, class Out>
void reduce_per_matrix(const ExecSpace& exec, const char* label, std::size_t rows, std::size_t cols,
                       std::size_t batch, const Value& value, const Out& out,
                       const Partials& partial) {
  const ReduceBlocks rb = reduce_blocks(rows, cols);
  const std::size_t blocks = rb.blocks, per_block = rb.per_block;
  STRATA_REQUIRE(batch * blocks <= static_cast<std::size_t>(std::numeric_limits<int>::max()),
                 InvalidArgument, label, ": a batch of ", batch, " matrices of ", rows, " x ", cols,
                 " needs ", batch * blocks, " reduction teams, more than one launch can hold");
  STRATA_REQUIRE(partial.extent(0) >= batch && partial.extent(1) >= blocks, InternalError,
                 "reduce_per_matrix: the workspace is ", partial.extent(0), " x ",
                 partial.extent(1), ", expected at least ", batch, " x ", blocks);
  Kokkos::parallel_for(
      label, kx::auto_team_policy(exec, static_cast<int>(batch * blocks)),
      KOKKOS_LAMBDA(const Member& member) {
        const std::size_t b = static_cast<std::size_t>(member.league_rank()) / blocks;
        const std::size_t block = static_cast<std::size_t>(member.league_rank()) % blocks;
        const std::size_t j0 = block * per_block;
        const std::size_t j1 = j0 + per_block < cols ? j0 + per_block : cols;
        double r = 0;
        // A plain if: nvcc rejects an extended lambda's first capture inside `if constexpr`.
        if (Max) {
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(member, rows),
              [&](const std::size_t i, double& m) {
                for (std::size_t j = j0; j < j1; ++j) {
                  const double v = value(i, j, b);
                  if (v > m) m = v;
                }
              },
              Kokkos::Max<double>(r));
        } else {
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(member, rows),
              [&](const std::size_t i, double& sum) {
                for (std::size_t j = j0; j < j1; ++j) sum += value(i, j, b);
              },
              r);
        }
        Kokkos::single(Kokkos::PerTeam(member), [&]() { partial(b, block) = r; });
      });
  // The partials of a matrix combined by one team (a single thread walking ~1000 partials of a
  // large matrix took as long as the reduction itself). A team reduction has a fixed order for a
  // given team size, so the result still does not depend on the scheduling.
  Kokkos::parallel_for(
      label, kx::auto_team_policy(exec, static_cast<int>(batch)),
      KOKKOS_LAMBDA(const Member& member) {
        const std::size_t b = static_cast<std::size_t>(member.league_rank());
        double r = 0;
        if (Max) {
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(member, blocks),
              [&](const std::size_t k, double& m) {
                const double v = partial(b, k);
                if (v > m) m = v;
              },
              Kokkos::Max<double>(r));
        } else {
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(member, blocks),
              [&](const std::size_t k, double& sum) { sum += partial(b, k); }, r);
        }
        Kokkos::single(Kokkos::PerTeam(member), [&]() { out(b) = r; });
      });
}

/// f(i, j, b) for every entry of a batch of rows x cols matrices. Columns of 128 rows or more: one
/// team per column (j, b) and block of up to 4096 rows, its threads along the rows, so that
/// neighbouring threads touch neighbouring entries of a LayoutLeft batch and no entry index is
/// divided (a flat range with 64-bit k % rows and k / rows, or a 3-D MDRange, took 80 us for one
/// 2048^2 bf16 matrix on an H100, as long as a GEMM step); the row blocks keep tall, narrow
/// matrices spread over the device, and leagues beyond 2^31 - 1 teams are launched in parts.
/// Shorter columns would leave most threads of a team idle: a flat range over the entries.
template <class F>
void for_each_entry(const ExecSpace& exec, const char* label, std::size_t rows, std::size_t cols,
                    std::size_t batch, const F& f) {
  if (rows < 128) {
    Kokkos::parallel_for(
        label, Kokkos::RangePolicy<ExecSpace>(exec, 0, rows * cols * batch),
        KOKKOS_LAMBDA(const std::size_t k) { f(k % rows, (k / rows) % cols, k / (rows * cols)); });
    return;
  }
  constexpr std::size_t rows_per_team = 4096;
  const std::size_t row_blocks = (rows + rows_per_team - 1) / rows_per_team;
  const std::size_t teams = row_blocks * cols * batch;
  const std::size_t most = static_cast<std::size_t>(std::numeric_limits<int>::max());
  for (std::size_t first = 0; first < teams; first += most) {
    const std::size_t league = teams - first < most ? teams - first : most;
    Kokkos::parallel_for(
        label, kx::auto_team_policy(exec, static_cast<int>(league)),
        KOKKOS_LAMBDA(const Member& member) {
          const std::size_t t = first + static_cast<std::size_t>(member.league_rank());
          const std::size_t i0 = (t % row_blocks) * rows_per_team;
          const std::size_t j = (t / row_blocks) % cols, b = t / (row_blocks * cols);
          const std::size_t i1 = i0 + rows_per_team < rows ? i0 + rows_per_team : rows;
          Kokkos::parallel_for(Kokkos::TeamThreadRange(member, i0, i1),
                               [&](const std::size_t i) { f(i, j, b); });
        });
  }
}

/// Per-matrix Frobenius norm of a batch, in double (its temporaries and result in `scratch`).
template <class S>
Kokkos::View<double*, MemSpace> frobenius_per_matrix(const ExecSpace& exec, const ConstBatch<S>& x,
                                                     strata::detail::Scratch& scratch) {
  using A = Arithmetic<S>;
  const std::size_t rows = x.extent(0), cols = x.extent(1), batch = x.extent(2);
  // amax * sqrt(sum (x / amax)^2): no overflow or underflow for entries anywhere in the
  // floating-point range (squares of 1e300 or 1e-310 would over/underflow).
  using Values = Kokkos::View<double*, MemSpace>;
  const auto amax = scratch.uninitialized<Values>(batch);
  const auto partial = reduce_partials(scratch, rows, cols, batch);
  reduce_per_matrix<true>(
      exec, "strata::polar::batched::frobenius_max", rows, cols, batch,
      KOKKOS_LAMBDA(const std::size_t i, const std::size_t j, const std::size_t b) {
        return kx::abs(static_cast<double>(A::load(x(i, j, b))));
      },
      amax, partial);
  const auto sums = scratch.uninitialized<Values>(batch);
  reduce_per_matrix<false>(
      exec, "strata::polar::batched::frobenius_sum", rows, cols, batch,
      KOKKOS_LAMBDA(const std::size_t i, const std::size_t j, const std::size_t b) {
        const double m = amax(b);
        const double v = m > 0 ? static_cast<double>(A::load(x(i, j, b))) / m : 0.0;
        return v * v;
      },
      sums, partial);
  const auto norms = scratch.uninitialized<Values>(batch);
  Kokkos::parallel_for(
      "strata::polar::batched::frobenius", Kokkos::RangePolicy<ExecSpace>(exec, 0, batch),
      KOKKOS_LAMBDA(const std::size_t b) { norms(b) = amax(b) * kx::sqrt(sums(b)); });
  return norms;
}

/// Products of the polar iteration on a strided batch (rows >= cols): one batched GEMM per
/// product for the whole batch, one elementwise kernel for the polynomial, one team reduction for
/// the per-matrix errors.
template <class S>
struct BatchedProducts {
  using A = Arithmetic<S>;
  using C = typename A::compute;

  // Every buffer comes from the scratch cache (core/scratch.hpp): repeated calls of one shape
  // allocate nothing after the first.
  BatchedProducts(const ExecSpace& exec_, std::size_t rows, std::size_t cols, std::size_t batch)
      // Not zero-filled (a fill kernel per solve): x is written whole by the scale kernel before
      // any read, next, g and poly by GEMMs with beta = 0, which do not read C (BLAS, cuBLAS;
      // KokkosBatched sets C to zero first) or, for poly with c = 0, by a fill.
      : exec(exec_),
        scratch(exec_),
        x(scratch.uninitialized<Batch<S>>(rows, cols, batch)),
        next(scratch.uninitialized<Batch<S>>(rows, cols, batch)),
        g(scratch.uninitialized<Batch<S>>(cols, cols, batch)),
        poly(scratch.uninitialized<Batch<S>>(cols, cols, batch)),
        distances(scratch.zeroed<Kokkos::View<double*, MemSpace>>(batch)),
        distance_partials(reduce_partials(scratch, cols, cols, batch)),
        errors(batch, 0.0),
        skip(batch, false) {}

  /// Per-matrix ||G_b - I||_F; returns the largest (or the first non-finite one).
  double gram() {
    A::gemm(exec, 'T', 'N', C(1), x, x, C(0), g);
    squared_distances(distances);
    const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), distances);
    return worst_of(host);
  }

  /// run_iteration's fixed-step mode: the squared distances of every measurement go to row `slot`
  /// of a device buffer, read back once.
  void defer_errors(int count) {
    deferred = scratch.zeroed<Kokkos::View<double**, Kokkos::LayoutRight, MemSpace>>(
        static_cast<std::size_t>(count), g.extent(2));
  }
  /// The distance is reduced in the next polynomial()'s pass over G (one read of G instead of
  /// two), or by deferred_errors() when no polynomial follows (the final measurement).
  void gram_deferred(int slot) {
    A::gemm(exec, 'T', 'N', C(1), x, x, C(0), g);
    pending_slot = slot;
  }
  std::vector<double> deferred_errors(int count) {
    if (pending_slot >= 0) {
      squared_distances(Kokkos::subview(deferred, pending_slot, Kokkos::ALL));
      pending_slot = -1;
    }
    auto host = Kokkos::create_mirror_view(Kokkos::HostSpace(), deferred);
    Kokkos::deep_copy(exec, host, deferred);
    kx::fence(exec, "strata::polar::batched::deferred_errors");
    std::vector<double> worst(static_cast<std::size_t>(count));
    // In order, so that `errors` ends with the last measurement's per-matrix values.
    for (int t = 0; t < count; ++t)
      worst[static_cast<std::size_t>(t)] = worst_of(Kokkos::subview(host, t, Kokkos::ALL));
    return worst;
  }

  /// out(b) = ||G_b - I||_F^2 (reduce_per_matrix: several teams per matrix).
  template <class Out>
  void squared_distances(const Out& out) {
    const auto n = g.extent(0);
    const auto gram_batch = g;
    reduce_per_matrix<false>(
        exec, "strata::polar::batched::distance", n, n, g.extent(2),
        KOKKOS_LAMBDA(const std::size_t i, const std::size_t j, const std::size_t b) {
          const double d = static_cast<double>(A::load(gram_batch(i, j, b))) - (i == j ? 1.0 : 0.0);
          return d * d;
        },
        out, distance_partials);
  }

  /// errors = the per-matrix errors of host squared distances; returns the largest (or the first
  /// non-finite one).
  template <class HostSquares>
  double worst_of(const HostSquares& host) {
    double worst = 0;
    bool finite = true;
    for (std::size_t b = 0; b < errors.size(); ++b) {
      errors[b] = skip[b] ? 0.0 : std::sqrt(host(b));
      if (finite && !std::isfinite(errors[b])) {
        worst = errors[b];
        finite = false;
      }
      if (finite) worst = std::max(worst, errors[b]);
    }
    return worst;
  }
  double trace() { return 0; }  // never asked for: the batched rule has no rank check

  /// P = a I + b G + c G^2 for every matrix: one elementwise kernel for the linear part, then the
  /// square added by one batched GEMM with beta = 1 (so P is rounded to storage once, after the
  /// GEMM's fp32 accumulation). In fixed-step mode the elementwise pass also reduces the pending
  /// ||G - I||_F^2 (gram_deferred).
  void polynomial(const Step& p) {
    const C pa = static_cast<C>(p.a), pb = static_cast<C>(p.b);
    const auto cols = g.extent(0);
    const auto gram_batch = g;
    const auto out = poly;
    if (pending_slot >= 0) {
      reduce_per_matrix<false>(
          exec, "strata::polar::batched::polynomial_distance", cols, cols, g.extent(2),
          KOKKOS_LAMBDA(const std::size_t i, const std::size_t j, const std::size_t b) {
            const C value = A::load(gram_batch(i, j, b));
            out(i, j, b) = A::store(pb * value + (i == j ? pa : C(0)));
            const double d = static_cast<double>(value) - (i == j ? 1.0 : 0.0);
            return d * d;
          },
          Kokkos::subview(deferred, pending_slot, Kokkos::ALL), distance_partials);
      pending_slot = -1;
    } else {
      for_each_entry(
          exec, "strata::polar::batched::polynomial", cols, cols, out.extent(2),
          KOKKOS_LAMBDA(const std::size_t i, const std::size_t j, const std::size_t b) {
            out(i, j, b) = A::store(pb * A::load(gram_batch(i, j, b)) + (i == j ? pa : C(0)));
          });
    }
    if (p.c != 0) A::gemm(exec, 'N', 'N', static_cast<C>(p.c), g, g, C(1), poly);
  }
  void update() {
    A::gemm(exec, 'N', 'N', C(1), x, poly, C(0), next);
    std::swap(x, next);
  }

  ExecSpace exec;
  strata::detail::Scratch scratch;  ///< first: its buffers outlive every View below
  Batch<S> x, next, g, poly;
  Kokkos::View<double**, Kokkos::LayoutRight, MemSpace> deferred;
  int pending_slot = -1;  ///< gram_deferred's slot whose distance is not reduced yet
  Kokkos::View<double*, MemSpace> distances;  ///< gram()'s per-matrix squared distances
  Partials distance_partials;                 ///< the workspace of squared_distances
  std::vector<double> errors;
  std::vector<bool> skip;  ///< zero matrices (only where the caller allows them): error 0, kept 0
};

}  // namespace

namespace detail {

template <class S>
BatchedIterationResult batched_polar(const ExecSpace& exec, const ConstBatch<S>& a,
                                     const Batch<S>& q, const IterationOptions& o, const char* what,
                                     const BatchedDriverOptions& driver) {
  using A = Arithmetic<S>;
  detail::check_options(o);
  const std::size_t m = a.extent(0), n = a.extent(1), batch = a.extent(2);
  STRATA_REQUIRE(q.extent(0) == m && q.extent(1) == n && q.extent(2) == batch, ShapeMismatch, what,
                 ": Q is ", q.extent(0), " x ", q.extent(1), " x ", q.extent(2),
                 "; expected the input's shape ", m, " x ", n, " x ", batch);
  STRATA_REQUIRE(m > 0 && n > 0 && batch > 0, InvalidArgument, what, ": the input is empty (", m,
                 " x ", n, " x ", batch, ")");
  STRATA_REQUIRE(q.data() != a.data(), InvalidArgument, what, ": Q may not alias A");
  {
    const S* values = a.data();
    index_type non_finite = 0;
    Kokkos::parallel_reduce(
        "strata::polar::batched::finite", Kokkos::RangePolicy<ExecSpace>(exec, 0, a.size()),
        KOKKOS_LAMBDA(const std::size_t k, index_type& bad) {
          if (!kx::isfinite(static_cast<double>(A::load(values[k])))) ++bad;
        },
        non_finite);
    STRATA_REQUIRE(non_finite == 0, NonFiniteInput, what, ": the input contains ", non_finite,
                   " NaN or Inf entries; expected finite numbers");
  }
  const Schedule& schedule = detail::schedule_for(o);
  BatchedIterationResult result;
  // Work on the tall orientation: rows >= cols (wide matrices are transposed in and out).
  const bool wide = m < n;
  const std::size_t rows = wide ? n : m, cols = wide ? m : n;
  BatchedProducts<S> products(exec, rows, cols, batch);
  {
    auto phase = result.timings.scope("scale");
    const auto norms = frobenius_per_matrix<S>(exec, a, products.scratch);
    const auto host_norms = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), norms);
    for (std::size_t b = 0; b < batch; ++b) {
      if (driver.zero_matrices_give_zero && host_norms(b) == 0) {
        products.skip[b] = true;
        continue;
      }
      STRATA_REQUIRE(host_norms(b) > 0, InvalidArgument, what,
                     batch == 1 ? ": the input is the zero matrix" : ": matrix ",
                     batch == 1 ? std::string() : std::to_string(b),
                     batch == 1 ? "" : " of the batch is zero", "; its polar factor is not unique");
    }
    if (driver.first_scale != nullptr) *driver.first_scale = host_norms(0) * o.safety;
    const double safety = o.safety;
    const auto x = products.x;
    for_each_entry(
        exec, "strata::polar::batched::scale", m, n, batch,
        KOKKOS_LAMBDA(const std::size_t i, const std::size_t j, const std::size_t b) {
          const double norm = norms(b);
          const S value = A::store(static_cast<typename A::compute>(
              norm > 0 ? A::load(a(i, j, b)) / (safety * norm) : 0.0));
          if (wide) {
            x(j, i, b) = value;
          } else {
            x(i, j, b) = value;
          }
        });
  }
  detail::StoppingRule rule(o, schedule, static_cast<index_type>(cols), what, A::unit_roundoff());
  const auto outcome =
      detail::run_iteration(products, o, rule, result.max_error_history, result.timings);
  result.iterations = outcome.iterations;
  result.max_error = outcome.error;
  result.converged = outcome.converged;
  result.errors = outcome.measured ? products.errors : std::vector<double>(batch, 0.0);
  const auto x = products.x;
  for_each_entry(
      exec, "strata::polar::batched::store", m, n, batch,
      KOKKOS_LAMBDA(const std::size_t i, const std::size_t j, const std::size_t b) {
        q(i, j, b) = wide ? x(j, i, b) : x(i, j, b);
      });
  kx::fence(exec, "strata::polar_factor_batched");
  return result;
}

template BatchedIterationResult batched_polar<float>(const ExecSpace&, const ConstBatch<float>&,
                                                     const Batch<float>&, const IterationOptions&,
                                                     const char*, const BatchedDriverOptions&);
template BatchedIterationResult batched_polar<double>(const ExecSpace&, const ConstBatch<double>&,
                                                      const Batch<double>&, const IterationOptions&,
                                                      const char*, const BatchedDriverOptions&);
template BatchedIterationResult batched_polar<kx::bf16>(const ExecSpace&,
                                                        const ConstBatch<kx::bf16>&,
                                                        const Batch<kx::bf16>&,
                                                        const IterationOptions&, const char*,
                                                        const BatchedDriverOptions&);

}  // namespace detail

template <class T>
BatchedIterationResult polar_factor_batched(const ExecSpace& exec, const ConstBatch<T>& a,
                                            const Batch<T>& q, const IterationOptions& o) {
  return detail::batched_polar<T>(exec, a, q, o, "polar_factor_batched", {});
}

BatchedIterationResult polar_factor_batched_bf16(const ExecSpace& exec,
                                                 const ConstBatch<kx::bf16>& a,
                                                 const Batch<kx::bf16>& q,
                                                 const IterationOptions& o) {
  return detail::batched_polar<kx::bf16>(exec, a, q, o, "polar_factor_batched_bf16", {});
}

IterationResult polar_factor_bf16(const ExecSpace& exec, const ConstMatrix<kx::bf16>& a,
                                  const Matrix<kx::bf16>& q, const IterationOptions& o) {
  require_shape(q, static_cast<index_type>(a.extent(0)), static_cast<index_type>(a.extent(1)),
                "polar_factor_bf16: Q");
  require_nonempty(a, "polar_factor_bf16: A");
  // One matrix is a batch of one: contiguous matrices are viewed as batches in place (no copy),
  // others go through scratch copies, and so does A when Q is A (in place, as before).
  const auto contiguous = [](const auto& v) {
    return v.span_is_contiguous() && (v.extent(1) <= 1 || v.stride(1) == v.extent(0));
  };
  strata::detail::Scratch scratch(exec);
  ConstBatch<kx::bf16> a1;
  if (contiguous(a) && a.data() != q.data()) {
    a1 = ConstBatch<kx::bf16>(a.data(), a.extent(0), a.extent(1), 1);
  } else {
    auto copy = scratch.uninitialized<Batch<kx::bf16>>(a.extent(0), a.extent(1), 1);
    Kokkos::deep_copy(exec, Kokkos::subview(copy, Kokkos::ALL, Kokkos::ALL, 0), a);
    a1 = copy;
  }
  const bool q_in_place = contiguous(q);
  const Batch<kx::bf16> q1 =
      q_in_place ? Batch<kx::bf16>(q.data(), q.extent(0), q.extent(1), 1)
                 : scratch.uninitialized<Batch<kx::bf16>>(q.extent(0), q.extent(1), 1);
  IterationResult result;
  const auto batched =
      detail::batched_polar<kx::bf16>(exec, a1, q1, o, "polar_factor_bf16", {&result.scale, false});
  if (!q_in_place) Kokkos::deep_copy(exec, q, Kokkos::subview(q1, Kokkos::ALL, Kokkos::ALL, 0));
  kx::fence(exec, "strata::polar_factor_bf16");
  result.iterations = batched.iterations;
  result.error = batched.max_error;
  result.error_history = batched.max_error_history;
  result.converged = batched.converged;
  result.timings = batched.timings;
  return result;
}

template BatchedIterationResult polar_factor_batched<float>(const ExecSpace&,
                                                            const ConstBatch<float>&,
                                                            const Batch<float>&,
                                                            const IterationOptions&);
template BatchedIterationResult polar_factor_batched<double>(const ExecSpace&,
                                                             const ConstBatch<double>&,
                                                             const Batch<double>&,
                                                             const IterationOptions&);

}  // namespace strata::polar
