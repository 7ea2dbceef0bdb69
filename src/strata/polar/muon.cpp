#include "strata/polar/muon.hpp"

#include <cmath>

#include "strata/core/checks.hpp"
#include "strata/core/scratch.hpp"
#include "strata/polar/bf16.hpp"
#include "strata/polar/detail/batched_driver.hpp"

namespace strata::polar {

template <class T>
IterationResult muon_update(const ExecSpace& exec, const Matrix<T>& weight,
                            const ConstMatrix<T>& gradient, const Matrix<T>& momentum,
                            const MuonOptions& o) {
  const auto m = static_cast<index_type>(weight.extent(0)),
             n = static_cast<index_type>(weight.extent(1));
  require_nonempty(weight, "muon_update: W");
  require_shape(gradient, m, n, "muon_update: the gradient");
  require_shape(momentum, m, n, "muon_update: the momentum buffer");
  STRATA_REQUIRE(o.beta >= 0 && o.beta < 1, InvalidArgument,
                 "muon_update: beta must be in [0, 1), got ", o.beta);
  STRATA_REQUIRE(std::isfinite(o.learning_rate) && std::isfinite(o.weight_decay), InvalidArgument,
                 "muon_update: learning rate and weight decay must be finite");
  require_finite(exec, gradient, "muon_update: the gradient");

  const T beta = static_cast<T>(o.beta), one_minus = static_cast<T>(1 - o.beta);
  const bool nesterov = o.nesterov;
  const auto rows = weight.extent(0);
  // Every temporary from the scratch cache (core/scratch.hpp): an optimizer calls this at every
  // step with the same shapes. None needs zeros: each is written whole before it is read.
  strata::detail::Scratch scratch(exec);
  const auto update = scratch.uninitialized<Matrix<T>>(weight.extent(0), weight.extent(1));
  double norm2 = 0;
  Kokkos::parallel_reduce(
      "strata::muon::momentum",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, weight.extent(0) * weight.extent(1)),
      KOKKOS_LAMBDA(const std::size_t k, double& s) {
        const std::size_t i = k % rows, j = k / rows;
        const T b = beta * momentum(i, j) + one_minus * gradient(i, j);
        momentum(i, j) = b;
        const T u = nesterov ? one_minus * gradient(i, j) + beta * b : b;
        update(i, j) = u;
        s += static_cast<double>(u) * static_cast<double>(u);
      },
      norm2);
  IterationResult result;
  // Zeroed: a zero update (norm2 == 0) leaves it untouched and the step applies only the decay.
  const auto orthogonal = scratch.zeroed<Matrix<T>>(weight.extent(0), weight.extent(1));
  if (norm2 > 0 && o.bf16) {
    const auto update_bf16 =
        scratch.uninitialized<Matrix<kx::bf16>>(weight.extent(0), weight.extent(1));
    const auto orthogonal_bf16 =
        scratch.uninitialized<Matrix<kx::bf16>>(weight.extent(0), weight.extent(1));
    Kokkos::parallel_for(
        "strata::muon::to_bf16",
        Kokkos::RangePolicy<ExecSpace>(exec, 0, weight.extent(0) * weight.extent(1)),
        KOKKOS_LAMBDA(const std::size_t k) {
          update_bf16(k % rows, k / rows) =
              kx::to_bf16(static_cast<float>(update(k % rows, k / rows)));
        });
    result = polar_factor_bf16(exec, update_bf16, orthogonal_bf16, o.orthogonalize);
    Kokkos::parallel_for(
        "strata::muon::from_bf16",
        Kokkos::RangePolicy<ExecSpace>(exec, 0, weight.extent(0) * weight.extent(1)),
        KOKKOS_LAMBDA(const std::size_t k) {
          orthogonal(k % rows, k / rows) =
              static_cast<T>(kx::from_bf16(orthogonal_bf16(k % rows, k / rows)));
        });
  } else if (norm2 > 0) {
    result = polar_factor<T>(exec, update, orthogonal, o.orthogonalize);
  }
  const T scale =
      static_cast<T>(o.learning_rate * std::sqrt(std::max(1.0, static_cast<double>(m) / n)));
  const T decay = static_cast<T>(1 - o.learning_rate * o.weight_decay);
  Kokkos::parallel_for(
      "strata::muon::apply",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, weight.extent(0) * weight.extent(1)),
      KOKKOS_LAMBDA(const std::size_t k) {
        const std::size_t i = k % rows, j = k / rows;
        weight(i, j) = decay * weight(i, j) - scale * orthogonal(i, j);
      });
  kx::fence(exec, "strata::muon_update");
  return result;
}

template <class T>
BatchedIterationResult muon_update_batched(const ExecSpace& exec, const Batch<T>& weight,
                                           const ConstBatch<T>& gradient, const Batch<T>& momentum,
                                           const MuonOptions& o) {
  const std::size_t m = weight.extent(0), n = weight.extent(1), batch = weight.extent(2);
  STRATA_REQUIRE(m > 0 && n > 0 && batch > 0, InvalidArgument,
                 "muon_update_batched: the weights are empty (", m, " x ", n, " x ", batch, ")");
  STRATA_REQUIRE(gradient.extent(0) == m && gradient.extent(1) == n && gradient.extent(2) == batch,
                 ShapeMismatch, "muon_update_batched: the gradient is ", gradient.extent(0), " x ",
                 gradient.extent(1), " x ", gradient.extent(2), "; expected ", m, " x ", n, " x ",
                 batch);
  STRATA_REQUIRE(momentum.extent(0) == m && momentum.extent(1) == n && momentum.extent(2) == batch,
                 ShapeMismatch, "muon_update_batched: the momentum buffer is ", momentum.extent(0),
                 " x ", momentum.extent(1), " x ", momentum.extent(2), "; expected ", m, " x ", n,
                 " x ", batch);
  STRATA_REQUIRE(o.beta >= 0 && o.beta < 1, InvalidArgument,
                 "muon_update_batched: beta must be in [0, 1), got ", o.beta);
  STRATA_REQUIRE(std::isfinite(o.learning_rate) && std::isfinite(o.weight_decay), InvalidArgument,
                 "muon_update_batched: learning rate and weight decay must be finite");
  require_finite(exec, Kokkos::View<const T*, MemSpace>(gradient.data(), gradient.size()),
                 "muon_update_batched: the gradient");

  const T beta = static_cast<T>(o.beta), one_minus = static_cast<T>(1 - o.beta);
  const bool nesterov = o.nesterov;
  const T* g = gradient.data();
  T* b = momentum.data();
  // Temporaries from the scratch cache (core/scratch.hpp), as in muon_update.
  strata::detail::Scratch scratch(exec);
  const auto update = scratch.uninitialized<Batch<T>>(m, n, batch);
  T* u = update.data();
  Kokkos::parallel_for(
      "strata::muon::batched_momentum", Kokkos::RangePolicy<ExecSpace>(exec, 0, update.size()),
      KOKKOS_LAMBDA(const std::size_t k) {
        const T next = beta * b[k] + one_minus * g[k];
        b[k] = next;
        u[k] = nesterov ? one_minus * g[k] + beta * next : next;
      });
  const detail::BatchedDriverOptions driver{nullptr, true};
  BatchedIterationResult result;
  // batched_polar writes every entry of its Q (zero matrices give zeros): no fill needed.
  const auto orthogonal = scratch.uninitialized<Batch<T>>(m, n, batch);
  T* q = orthogonal.data();
  if (o.bf16) {
    const auto update_bf16 = scratch.uninitialized<Batch<kx::bf16>>(m, n, batch);
    const auto orthogonal_bf16 = scratch.uninitialized<Batch<kx::bf16>>(m, n, batch);
    kx::bf16* ub = update_bf16.data();
    const kx::bf16* qb = orthogonal_bf16.data();
    Kokkos::parallel_for(
        "strata::muon::batched_to_bf16", Kokkos::RangePolicy<ExecSpace>(exec, 0, update.size()),
        KOKKOS_LAMBDA(const std::size_t k) { ub[k] = kx::to_bf16(static_cast<float>(u[k])); });
    result = detail::batched_polar<kx::bf16>(exec, update_bf16, orthogonal_bf16, o.orthogonalize,
                                             "muon_update_batched", driver);
    Kokkos::parallel_for(
        "strata::muon::batched_from_bf16", Kokkos::RangePolicy<ExecSpace>(exec, 0, update.size()),
        KOKKOS_LAMBDA(const std::size_t k) { q[k] = static_cast<T>(kx::from_bf16(qb[k])); });
  } else {
    result = detail::batched_polar<T>(exec, update, orthogonal, o.orthogonalize,
                                      "muon_update_batched", driver);
  }
  const T scale =
      static_cast<T>(o.learning_rate * std::sqrt(std::max(1.0, static_cast<double>(m) / n)));
  const T decay = static_cast<T>(1 - o.learning_rate * o.weight_decay);
  T* w = weight.data();
  Kokkos::parallel_for(
      "strata::muon::batched_apply", Kokkos::RangePolicy<ExecSpace>(exec, 0, update.size()),
      KOKKOS_LAMBDA(const std::size_t k) { w[k] = decay * w[k] - scale * q[k]; });
  kx::fence(exec, "strata::muon_update_batched");
  return result;
}

template IterationResult muon_update<float>(const ExecSpace&, const Matrix<float>&,
                                            const ConstMatrix<float>&, const Matrix<float>&,
                                            const MuonOptions&);
template IterationResult muon_update<double>(const ExecSpace&, const Matrix<double>&,
                                             const ConstMatrix<double>&, const Matrix<double>&,
                                             const MuonOptions&);

template BatchedIterationResult muon_update_batched<float>(const ExecSpace&, const Batch<float>&,
                                                           const ConstBatch<float>&,
                                                           const Batch<float>&, const MuonOptions&);
template BatchedIterationResult muon_update_batched<double>(const ExecSpace&, const Batch<double>&,
                                                            const ConstBatch<double>&,
                                                            const Batch<double>&,
                                                            const MuonOptions&);

}  // namespace strata::polar
