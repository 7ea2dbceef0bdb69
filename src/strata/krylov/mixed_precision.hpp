// A lower-precision operator used in a higher-precision solve: typically an HSS ULV solve in float
// (half the memory and, on GPUs, about twice the speed of double) preconditioning GMRES or CG that
// run, with the exact operator, in double. A preconditioner only needs to be accurate to its own
// compression tolerance (1e-3 to 1e-4), far above float's rounding, so nothing is lost.
#pragma once

#include <memory>

#include "strata/dist/linear_operator.hpp"

namespace strata::krylov {

/// Y = B X computed as cast<High>(B cast<Low>(X)) for an operator B in precision Low. Same shape,
/// layouts and communicator as B; apply_transpose likewise through B's. Cost: B's product plus
/// two conversion passes over X and Y (and temporary Low copies of both). Values of X beyond
/// Low's range become Inf (and are then caught by the solvers' finiteness checks).
template <class High, class Low>
class PrecisionCastOperator final : public LinearOperator<High> {
 public:
  using typename LinearOperator<High>::matrix_type;
  using typename LinearOperator<High>::const_matrix_type;
  explicit PrecisionCastOperator(std::shared_ptr<const LinearOperator<Low>> low);

  index_type rows() const override { return low_->rows(); }
  index_type cols() const override { return low_->cols(); }
  bool distributed() const override { return low_->distributed(); }
  const Comm& comm() const override { return low_->comm(); }
  const BlockRowLayout& row_layout() const override { return low_->row_layout(); }
  const BlockRowLayout& col_layout() const override { return low_->col_layout(); }

 protected:
  void do_apply(const ExecSpace& exec, const const_matrix_type& x,
                const matrix_type& y) const override;
  void do_apply_transpose(const ExecSpace& exec, const const_matrix_type& x,
                          const matrix_type& y) const override;

 private:
  std::shared_ptr<const LinearOperator<Low>> low_;
};

extern template class PrecisionCastOperator<double, float>;

}  // namespace strata::krylov
