#include "strata/polar/bf16.hpp"

#if STRATA_HAVE_BF16
#include <cmath>

#include "strata/core/checks.hpp"
#include "strata/polar/detail/iteration.hpp"

namespace strata::polar {

namespace {
using bf16 = kx::bf16;

/// Sum of squares and count of non-finite entries, in double.
void inspect(const ExecSpace& exec, const ConstMatrix<bf16>& a, double& sum_squares,
             index_type& non_finite) {
  const auto rows = a.extent(0);
  Kokkos::parallel_reduce(
      "strata::polar::bf16::inspect",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, a.extent(0) * a.extent(1)),
      KOKKOS_LAMBDA(const std::size_t k, double& s, index_type& bad) {
        const float v = kx::from_bf16(a(k % rows, k / rows));
        if (kx::isfinite(v)) {
          s += static_cast<double>(v) * static_cast<double>(v);
        } else {
          ++bad;
        }
      },
      sum_squares, non_finite);
}

double distance_to_identity(const ExecSpace& exec, const Matrix<bf16>& g) {
  const auto n = g.extent(0);
  double sum = 0;
  Kokkos::parallel_reduce(
      "strata::polar::bf16::distance", Kokkos::RangePolicy<ExecSpace>(exec, 0, n * n),
      KOKKOS_LAMBDA(const std::size_t k, double& s) {
        const std::size_t i = k % n, j = k / n;
        const double d = static_cast<double>(kx::from_bf16(g(i, j))) - (i == j ? 1.0 : 0.0);
        s += d * d;
      },
      sum);
  return std::sqrt(sum);
}
}  // namespace

IterationResult polar_factor_bf16(const ExecSpace& exec, const ConstMatrix<bf16>& a,
                                  const Matrix<bf16>& q, const IterationOptions& o) {
  detail::check_options(o);
  const std::size_t m = a.extent(0), n = a.extent(1);
  require_shape(q, static_cast<index_type>(m), static_cast<index_type>(n), "polar_factor_bf16: Q");
  require_nonempty(a, "polar_factor_bf16: A");
  STRATA_REQUIRE(q.data() != a.data(), InvalidArgument, "polar_factor_bf16: Q may not alias A");
  double sum_squares = 0;
  index_type non_finite = 0;
  inspect(exec, a, sum_squares, non_finite);
  STRATA_REQUIRE(non_finite == 0, NonFiniteInput, "polar_factor_bf16: the input contains ",
                 non_finite, " NaN or Inf entries; expected finite numbers");
  STRATA_REQUIRE(sum_squares > 0, InvalidArgument,
                 "polar_factor_bf16: the input is the zero matrix");
  IterationResult result;
  result.scale = std::sqrt(sum_squares) * o.safety;
  const Schedule& schedule = detail::schedule_for(o);
  // Tall orientation: the Gram matrix is the small one.
  const bool wide = m < n;
  const std::size_t rows = wide ? n : m, cols = wide ? m : n;
  Matrix<bf16> x("strata::polar::bf16::X", rows, cols),
      next("strata::polar::bf16::next", rows, cols);
  Matrix<bf16> gram("strata::polar::bf16::G", cols, cols),
      poly("strata::polar::bf16::P", cols, cols);
  const float inverse_scale = static_cast<float>(1.0 / result.scale);
  Kokkos::parallel_for(
      "strata::polar::bf16::scale", Kokkos::RangePolicy<ExecSpace>(exec, 0, m * n),
      KOKKOS_LAMBDA(const std::size_t k) {
        const std::size_t i = k % m, j = k / m;
        const bf16 v = kx::to_bf16(kx::from_bf16(a(i, j)) * inverse_scale);
        if (wide) {
          x(j, i) = v;
        } else {
          x(i, j) = v;
        }
      });
  detail::StoppingRule rule(o, schedule, static_cast<index_type>(cols), "polar_factor_bf16",
                            std::ldexp(1.0, -9));  // bf16: 8 significand bits
  for (int t = 0;; ++t) {
    const bool need_gram = !(o.steps > 0 && o.tolerance == 0 && t == o.steps && !o.report_error);
    double error = 0;
    if (need_gram) {
      auto phase = result.timings.scope("gram");
      linalg::gemm_bf16(exec, 'T', 'N', 1.0f, x, x, 0.0f, gram);
      error = distance_to_identity(exec, gram);
    }
    if (rule.done(t, error, result.error_history)) {
      result.iterations = t;
      result.error = error;
      break;
    }
    const Step& p = rule.step(t);
    {
      auto phase = result.timings.scope("polynomial");
      linalg::gemm_bf16(exec, 'N', 'N', static_cast<float>(p.c), gram, gram, 0.0f, poly);
      const float pa = static_cast<float>(p.a), pb = static_cast<float>(p.b);
      Kokkos::parallel_for(
          "strata::polar::bf16::polynomial", Kokkos::RangePolicy<ExecSpace>(exec, 0, cols * cols),
          KOKKOS_LAMBDA(const std::size_t k) {
            const std::size_t i = k % cols, j = k / cols;
            poly(i, j) = kx::to_bf16(kx::from_bf16(poly(i, j)) + pb * kx::from_bf16(gram(i, j)) +
                                     (i == j ? pa : 0.0f));
          });
    }
    {
      auto phase = result.timings.scope("update");
      linalg::gemm_bf16(exec, 'N', 'N', 1.0f, x, poly, 0.0f, next);
    }
    std::swap(x, next);
  }
  Kokkos::parallel_for(
      "strata::polar::bf16::store", Kokkos::RangePolicy<ExecSpace>(exec, 0, m * n),
      KOKKOS_LAMBDA(const std::size_t k) {
        const std::size_t i = k % m, j = k / m;
        q(i, j) = wide ? x(j, i) : x(i, j);
      });
  kx::fence(exec, "strata::polar_factor_bf16");
  return result;
}

}  // namespace strata::polar
#endif
