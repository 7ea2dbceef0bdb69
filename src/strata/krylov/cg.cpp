#include "strata/krylov/cg.hpp"

#include <string>

#include "strata/krylov/detail/common.hpp"

namespace strata::krylov {

namespace {

/// One right-hand side of preconditioned CG (Saad, Alg. 9.1) with residual replacement.
template <class T>
class CgColumn {
 public:
  CgColumn(const ExecSpace& exec, const LinearOperator<T>& a, const LinearOperator<T>* m,
           const KrylovOptions& o, KrylovResult& result)
      : exec_(exec),
        a_(a),
        m_(m),
        o_(o),
        result_(result),
        comm_(a.comm()),
        r_("strata::krylov::cg::r", local_rows(a), 1),
        z_("strata::krylov::cg::z", local_rows(a), 1),
        p_("strata::krylov::cg::p", local_rows(a), 1),
        q_("strata::krylov::cg::q", local_rows(a), 1) {}

  ColumnResult solve(const ConstMatrix<T>& b, const Matrix<T>& x, int column, int columns);

 private:
  static std::size_t local_rows(const LinearOperator<T>& a) {
    return static_cast<std::size_t>(
        a.row_layout().local_rows(a.distributed() ? a.comm().rank() : 0));
  }
  void apply_operator(const ConstMatrix<T>& in, const Matrix<T>& out) {
    auto scope = result_.timings.scope("operator");
    a_.apply(exec_, in, out);
    ++result_.operator_applies;
  }
  /// z = M^{-1} r and returns r . z (r . r without a preconditioner).
  double precondition() {
    if (m_) {
      auto scope = result_.timings.scope("preconditioner");
      m_->apply(exec_, r_, z_);
      ++result_.preconditioner_applies;
    } else {
      Kokkos::deep_copy(exec_, z_, r_);
    }
    auto scope = result_.timings.scope("update");
    const double rz = detail::dot<T>(exec_, comm_, r_, z_);
    detail::require_finite_value(rz, "cg", "the preconditioner");
    return rz;
  }
  /// r = b - A x, returning ||r|| / ||b||.
  double true_residual(const ConstMatrix<T>& b, const Matrix<T>& x, double norm_b) {
    apply_operator(x, r_);
    auto scope = result_.timings.scope("update");
    detail::residual_from_product<T>(exec_, r_, b);
    const double norm_r = detail::norm<T>(exec_, comm_, r_);
    detail::require_finite_value(norm_r, "cg", "the product with A");
    return norm_r / norm_b;
  }

  ExecSpace exec_;
  const LinearOperator<T>& a_;
  const LinearOperator<T>* m_;
  const KrylovOptions& o_;
  KrylovResult& result_;
  const Comm& comm_;
  Matrix<T> r_, z_, p_, q_;
};

template <class T>
ColumnResult CgColumn<T>::solve(const ConstMatrix<T>& b, const Matrix<T>& x, int column,
                                int columns) {
  ColumnResult c;
  const double norm_b = detail::norm<T>(exec_, comm_, b);
  if (norm_b == 0) {
    Kokkos::deep_copy(exec_, x, T(0));
    kx::fence(exec_, "strata::krylov::cg::zero");
    c.converged = true;
    c.stop = StopReason::converged;
    c.residual_history.push_back(0);
    c.true_residual_history.push_back(0);
    return c;
  }
  double relative;
  if (o_.use_initial_guess) {
    relative = true_residual(b, x, norm_b);
  } else {
    Kokkos::deep_copy(exec_, x, T(0));
    Kokkos::deep_copy(exec_, r_, b);
    relative = 1;
  }
  c.residual_history.push_back(relative);
  c.true_residual_history.push_back(relative);
  // Whether `relative` is the true residual of the current x (else the recurrence's).
  bool relative_is_true = true;
  double last_true = relative;
  Progress progress(columns > 1 ? "CG iterations (right-hand side " + std::to_string(column + 1) +
                                      " of " + std::to_string(columns) + ")"
                                : std::string("CG iterations"),
                    o_.max_iterations, comm_.rank());
  bool restart_direction = true;
  double rz = 0;
  while (relative > o_.tolerance) {
    if (restart_direction) {
      rz = precondition();
      if (rz <= 0) {
        c.stop = StopReason::preconditioner_indefinite;
        break;
      }
      Kokkos::deep_copy(exec_, p_, z_);
      restart_direction = false;
    }
    if (c.iterations >= o_.max_iterations) {
      c.stop = StopReason::max_iterations;
      break;
    }
    apply_operator(p_, q_);
    double pq;
    {
      auto scope = result_.timings.scope("update");
      pq = detail::dot<T>(exec_, comm_, p_, q_);
    }
    detail::require_finite_value(pq, "cg", "the product with A");
    if (pq <= 0) {
      // p^T A p <= 0 for p != 0 (rz > 0 makes p = z nonzero at a restart; later p = z + beta p
      // with conjugate terms): A is not positive definite.
      c.stop = StopReason::indefinite;
      break;
    }
    const double alpha = rz / pq;
    {
      auto scope = result_.timings.scope("update");
      detail::add_scaled<T>(exec_, x, alpha, p_);
      detail::add_scaled<T>(exec_, r_, -alpha, q_);
      relative = detail::norm<T>(exec_, comm_, r_) / norm_b;
    }
    ++c.iterations;
    progress.advance();
    c.residual_history.push_back(relative);
    relative_is_true = false;
    if (relative <= o_.tolerance) {
      // The updated residual drifts from b - A x by rounding; only the true one decides.
      relative = true_residual(b, x, norm_b);
      relative_is_true = true;
      c.true_residual_history.push_back(relative);
      if (relative <= o_.tolerance) break;
      if (relative >= last_true) {
        c.stop = StopReason::stagnation;
        break;
      }
      last_true = relative;
      restart_direction = true;
      continue;
    }
    const double rz_next = precondition();
    if (rz_next <= 0) {
      c.stop = StopReason::preconditioner_indefinite;
      break;
    }
    {
      auto scope = result_.timings.scope("update");
      detail::scale_and_add<T>(exec_, p_, rz_next / rz, z_);
    }
    rz = rz_next;
  }
  if (!relative_is_true) {
    relative = true_residual(b, x, norm_b);
    c.true_residual_history.push_back(relative);
  }
  c.relative_residual = relative;
  if (relative <= o_.tolerance) {
    c.converged = true;
    c.stop = StopReason::converged;
  }
  progress.finish();
  return c;
}

template <class T>
KrylovResult run_cg(const ExecSpace& exec, const LinearOperator<T>& a, const LinearOperator<T>* m,
                    const DistMatrix<T>& b, const DistMatrix<T>& x, const KrylovOptions& o) {
  detail::check_arguments(exec, a, m, b, x, o, "cg");
  KrylovResult result;
  CgColumn<T> column(exec, a, m, o, result);
  detail::solve_columns<T>(exec, column, b, x, result, "strata::krylov::cg::done");
  return result;
}

}  // namespace

template <class T>
KrylovResult cg(const ExecSpace& exec, const LinearOperator<T>& a,
                const LinearOperator<T>& preconditioner, const DistMatrix<T>& b,
                const DistMatrix<T>& x, const KrylovOptions& options) {
  return run_cg(exec, a, &preconditioner, b, x, options);
}

template <class T>
KrylovResult cg(const ExecSpace& exec, const LinearOperator<T>& a, const DistMatrix<T>& b,
                const DistMatrix<T>& x, const KrylovOptions& options) {
  return run_cg<T>(exec, a, nullptr, b, x, options);
}

#define STRATA_KRYLOV_CG_DEFINE(T)                                                              \
  template KrylovResult cg<T>(const ExecSpace&, const LinearOperator<T>&,                       \
                              const LinearOperator<T>&, const DistMatrix<T>&,                   \
                              const DistMatrix<T>&, const KrylovOptions&);                      \
  template KrylovResult cg<T>(const ExecSpace&, const LinearOperator<T>&, const DistMatrix<T>&, \
                              const DistMatrix<T>&, const KrylovOptions&);
STRATA_KRYLOV_CG_DEFINE(float)
STRATA_KRYLOV_CG_DEFINE(double)
#undef STRATA_KRYLOV_CG_DEFINE

}  // namespace strata::krylov
