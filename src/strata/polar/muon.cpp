#include "strata/polar/muon.hpp"

#include <cmath>

#include "strata/core/checks.hpp"

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
  Matrix<T> update(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::muon::update"),
                   weight.extent(0), weight.extent(1));
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
  Matrix<T> orthogonal("strata::muon::orthogonal", weight.extent(0), weight.extent(1));
  if (norm2 > 0) result = polar_factor<T>(exec, update, orthogonal, o.orthogonalize);
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

template IterationResult muon_update<float>(const ExecSpace&, const Matrix<float>&,
                                            const ConstMatrix<float>&, const Matrix<float>&,
                                            const MuonOptions&);
template IterationResult muon_update<double>(const ExecSpace&, const Matrix<double>&,
                                             const ConstMatrix<double>&, const Matrix<double>&,
                                             const MuonOptions&);

}  // namespace strata::polar
