#include "strata/polar/batched.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/math.hpp"
#include "strata/polar/detail/iteration.hpp"

namespace strata::polar {

namespace {

using Policy = Kokkos::TeamPolicy<ExecSpace>;
using Member = Policy::member_type;

/// Per-matrix Frobenius norm of a batch (one team per matrix), in double.
template <class View>
Kokkos::View<double*, MemSpace> frobenius_per_matrix(const ExecSpace& exec, const View& x) {
  Kokkos::View<double*, MemSpace> norms("strata::polar::batched::norms", x.extent(2));
  const auto rows = x.extent(0), entries = x.extent(0) * x.extent(1);
  Kokkos::parallel_for(
      "strata::polar::batched::frobenius",
      Policy(exec, static_cast<int>(x.extent(2)), Kokkos::AUTO),
      KOKKOS_LAMBDA(const Member& member) {
        const int b = member.league_rank();
        // amax * sqrt(sum (x / amax)^2): no overflow or underflow for entries anywhere in the
        // floating-point range (squares of 1e300 or 1e-310 would over/underflow).
        double amax = 0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(member, entries),
            [&](const std::size_t k, double& m) {
              const double v = kx::abs(static_cast<double>(x(k % rows, k / rows, b)));
              if (v > m) m = v;
            },
            Kokkos::Max<double>(amax));
        double sum = 0;
        if (amax > 0) {
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(member, entries),
              [&](const std::size_t k, double& s) {
                const double v = static_cast<double>(x(k % rows, k / rows, b)) / amax;
                s += v * v;
              },
              sum);
        }
        Kokkos::single(Kokkos::PerTeam(member), [&]() { norms(b) = amax * kx::sqrt(sum); });
      });
  return norms;
}

/// Per-matrix ||G_b - I||_F (one team per matrix), copied to the host.
template <class T>
std::vector<double> distances_to_identity(const ExecSpace& exec, const Batch<T>& g) {
  Kokkos::View<double*, MemSpace> out("strata::polar::batched::errors", g.extent(2));
  const auto n = g.extent(0);
  Kokkos::parallel_for(
      "strata::polar::batched::distance", Policy(exec, static_cast<int>(g.extent(2)), Kokkos::AUTO),
      KOKKOS_LAMBDA(const Member& member) {
        const int b = member.league_rank();
        double sum = 0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(member, n * n),
            [&](const std::size_t k, double& s) {
              const std::size_t i = k % n, j = k / n;
              const double d = static_cast<double>(g(i, j, b)) - (i == j ? 1.0 : 0.0);
              s += d * d;
            },
            sum);
        Kokkos::single(Kokkos::PerTeam(member), [&]() { out(b) = sum; });
      });
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out);
  std::vector<double> errors(host.extent(0));
  for (std::size_t b = 0; b < errors.size(); ++b) errors[b] = std::sqrt(host(b));
  return errors;
}

}  // namespace

template <class T>
BatchedIterationResult polar_factor_batched(const ExecSpace& exec, const ConstBatch<T>& a,
                                            const Batch<T>& q, const IterationOptions& o) {
  detail::check_options(o);
  const std::size_t m = a.extent(0), n = a.extent(1), batch = a.extent(2);
  STRATA_REQUIRE(q.extent(0) == m && q.extent(1) == n && q.extent(2) == batch, ShapeMismatch,
                 "polar_factor_batched: Q is ", q.extent(0), " x ", q.extent(1), " x ", q.extent(2),
                 "; expected the input's shape ", m, " x ", n, " x ", batch);
  STRATA_REQUIRE(m > 0 && n > 0 && batch > 0, InvalidArgument,
                 "polar_factor_batched: the input is empty (", m, " x ", n, " x ", batch, ")");
  {
    const auto flat = Kokkos::View<const T*, MemSpace>(a.data(), a.size());
    require_finite(exec, flat, "polar_factor_batched: the input");
  }
  const Schedule& schedule = detail::schedule_for(o);
  BatchedIterationResult result;
  // Work on the tall orientation: rows >= cols (wide matrices are transposed in and out).
  const bool wide = m < n;
  const std::size_t rows = wide ? n : m, cols = wide ? m : n;
  Batch<T> x("strata::polar::batched::X", rows, cols, batch),
      next("strata::polar::batched::next", rows, cols, batch);
  Batch<T> gram("strata::polar::batched::G", cols, cols, batch),
      poly("strata::polar::batched::P", cols, cols, batch);
  {
    auto phase = result.timings.scope("scale");
    const auto norms = frobenius_per_matrix(exec, a);
    const auto host_norms = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), norms);
    for (std::size_t b = 0; b < batch; ++b) {
      STRATA_REQUIRE(host_norms(b) > 0, InvalidArgument, "polar_factor_batched: matrix ", b,
                     " of the batch is zero; its polar factor is not unique");
    }
    const double safety = o.safety;
    Kokkos::parallel_for(
        "strata::polar::batched::scale", Kokkos::RangePolicy<ExecSpace>(exec, 0, a.size()),
        KOKKOS_LAMBDA(const std::size_t k) {
          const std::size_t i = k % m, j = (k / m) % n, b = k / (m * n);
          const T value = static_cast<T>(a(i, j, b) / (safety * norms(b)));
          if (wide) {
            x(j, i, b) = value;
          } else {
            x(i, j, b) = value;
          }
        });
  }
  detail::StoppingRule rule(o, schedule, static_cast<index_type>(cols), "polar_factor_batched",
                            std::numeric_limits<T>::epsilon() / 2);
  for (int t = 0;; ++t) {
    const bool need_gram = !(o.steps > 0 && o.tolerance == 0 && t == o.steps && !o.report_error);
    std::vector<double> errors(batch, 0.0);
    if (need_gram) {
      auto phase = result.timings.scope("gram");
      linalg::gemm_batched<T>(exec, 'T', 'N', T(1), x, x, T(0), gram);
      errors = distances_to_identity(exec, gram);
    }
    double worst = 0;
    for (const double e : errors) {
      if (!std::isfinite(e)) {
        worst = e;
        break;
      }
      worst = std::max(worst, e);
    }
    if (rule.done(t, worst, result.max_error_history)) {
      result.iterations = t;
      result.errors = errors;
      result.max_error = worst;
      result.converged = rule.converged();
      break;
    }
    const Step& p = rule.step(t);
    {
      auto phase = result.timings.scope("polynomial");
      // P = a I + b G + c G^2 for every matrix: one batched GEMM and one elementwise kernel.
      if (p.c != 0) {
        linalg::gemm_batched<T>(exec, 'N', 'N', static_cast<T>(p.c), gram, gram, T(0), poly);
      } else {
        Kokkos::deep_copy(exec, poly, T(0));
      }
      const T pa = static_cast<T>(p.a), pb = static_cast<T>(p.b);
      Kokkos::parallel_for(
          "strata::polar::batched::polynomial",
          Kokkos::RangePolicy<ExecSpace>(exec, 0, poly.size()), KOKKOS_LAMBDA(const std::size_t k) {
            const std::size_t i = k % cols, j = (k / cols) % cols, b = k / (cols * cols);
            poly(i, j, b) += pb * gram(i, j, b) + (i == j ? pa : T(0));
          });
    }
    {
      auto phase = result.timings.scope("update");
      linalg::gemm_batched<T>(exec, 'N', 'N', T(1), x, poly, T(0), next);
    }
    std::swap(x, next);
  }
  Kokkos::parallel_for(
      "strata::polar::batched::store", Kokkos::RangePolicy<ExecSpace>(exec, 0, q.size()),
      KOKKOS_LAMBDA(const std::size_t k) {
        const std::size_t i = k % m, j = (k / m) % n, b = k / (m * n);
        q(i, j, b) = wide ? x(j, i, b) : x(i, j, b);
      });
  kx::fence(exec, "strata::polar_factor_batched");
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
