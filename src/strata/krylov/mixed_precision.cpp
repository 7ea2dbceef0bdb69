#include "strata/krylov/mixed_precision.hpp"

#include "strata/core/error.hpp"

namespace strata::krylov {

namespace {

/// to = from, converted entry by entry (same extents).
template <class To, class From>
void copy_cast(const ExecSpace& exec, const ConstMatrix<From>& from, const Matrix<To>& to) {
  const auto rows = from.extent(0);
  Kokkos::parallel_for(
      "strata::krylov::precision_cast",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, from.extent(0) * from.extent(1)),
      KOKKOS_LAMBDA(const std::size_t k) {
        to(k % rows, k / rows) = static_cast<To>(from(k % rows, k / rows));
      });
}

template <class To, class From>
Matrix<To> cast(const ExecSpace& exec, const ConstMatrix<From>& from) {
  Matrix<To> to(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::krylov::cast"),
                from.extent(0), from.extent(1));
  copy_cast(exec, from, to);
  return to;
}

}  // namespace

template <class High, class Low>
PrecisionCastOperator<High, Low>::PrecisionCastOperator(
    std::shared_ptr<const LinearOperator<Low>> low)
    : low_(std::move(low)) {
  STRATA_REQUIRE(static_cast<bool>(low_), InvalidArgument,
                 "PrecisionCastOperator: the wrapped operator is empty");
}

template <class High, class Low>
void PrecisionCastOperator<High, Low>::do_apply(const ExecSpace& exec, const const_matrix_type& x,
                                                const matrix_type& y) const {
  const Matrix<Low> x_low = cast<Low, High>(exec, x);
  Matrix<Low> y_low(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::krylov::y_low"),
                    y.extent(0), y.extent(1));
  low_->apply(exec, x_low, y_low);
  copy_cast<High, Low>(exec, y_low, y);
  kx::fence(exec, "strata::krylov::PrecisionCastOperator::apply");
}

template <class High, class Low>
void PrecisionCastOperator<High, Low>::do_apply_transpose(const ExecSpace& exec,
                                                          const const_matrix_type& x,
                                                          const matrix_type& y) const {
  const Matrix<Low> x_low = cast<Low, High>(exec, x);
  Matrix<Low> y_low(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::krylov::y_low"),
                    y.extent(0), y.extent(1));
  low_->apply_transpose(exec, x_low, y_low);
  copy_cast<High, Low>(exec, y_low, y);
  kx::fence(exec, "strata::krylov::PrecisionCastOperator::apply_transpose");
}

template class PrecisionCastOperator<double, float>;

}  // namespace strata::krylov
