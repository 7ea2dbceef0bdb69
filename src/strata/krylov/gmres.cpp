#include "strata/krylov/gmres.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "strata/krylov/detail/common.hpp"
#include "strata/linalg/blas.hpp"

namespace strata::krylov {

namespace {

using detail::Column;

/// One right-hand side: the state shared by the cycles of GMRES(m).
template <class T>
class GmresColumn {
 public:
  GmresColumn(const ExecSpace& exec, const LinearOperator<T>& a, const LinearOperator<T>* m,
              const KrylovOptions& o, KrylovResult& result)
      : exec_(exec),
        a_(a),
        m_(m),
        o_(o),
        result_(result),
        comm_(a.comm()),
        n_local_(static_cast<std::size_t>(
            a.row_layout().local_rows(a.distributed() ? comm_.rank() : 0))),
        restart_(static_cast<std::size_t>(o.restart)),
        basis_("strata::krylov::gmres::V", n_local_, restart_ + 1),
        w_("strata::krylov::gmres::w", n_local_, 1),
        z_("strata::krylov::gmres::z", n_local_, 1),
        h_(restart_ + 1, std::vector<double>(restart_, 0.0)),
        cosines_(restart_, 0.0),
        sines_(restart_, 0.0),
        g_(restart_ + 1, 0.0) {}

  ColumnResult solve(const ConstMatrix<T>& b, const Matrix<T>& x, int column, int columns);

 private:
  void apply_operator(const ConstMatrix<T>& in, const Matrix<T>& out) {
    auto scope = result_.timings.scope("operator");
    a_.apply(exec_, in, out);
    ++result_.operator_applies;
  }
  void apply_preconditioner(const ConstMatrix<T>& in, const Matrix<T>& out) {
    if (!m_) {
      Kokkos::deep_copy(exec_, out, in);
      return;
    }
    auto scope = result_.timings.scope("preconditioner");
    m_->apply(exec_, in, out);
    ++result_.preconditioner_applies;
  }
  /// r = b - A x into `r`, returning ||r||.
  double true_residual(const ConstMatrix<T>& b, const Matrix<T>& x, const Matrix<T>& r) {
    apply_operator(x, r);
    auto scope = result_.timings.scope("update");
    detail::residual_from_product<T>(exec_, r, b);
    return detail::norm<T>(exec_, comm_, r);
  }
  Matrix<T> basis_column(std::size_t j) const {
    return Kokkos::subview(basis_, Kokkos::ALL, Kokkos::make_pair(j, j + 1));
  }
  /// Orthogonalizes w against V_0..V_j; fills h_[0..j + 1][j] and product_norm_ (||w|| before),
  /// and returns ||w|| after it.
  double orthogonalize(std::size_t j);
  /// Applies the previous rotations to column j of H, makes rotation j, updates g. Returns the new
  /// least-squares residual |g_{j+1}|.
  double rotate(std::size_t j);
  /// x += M^{-1} V_k y, y solving the k x k triangular system R y = g.
  void update_solution(std::size_t k, const Matrix<T>& x);

  ExecSpace exec_;
  const LinearOperator<T>& a_;
  const LinearOperator<T>* m_;
  const KrylovOptions& o_;
  KrylovResult& result_;
  const Comm& comm_;
  std::size_t n_local_, restart_;
  Matrix<T> basis_, w_, z_;
  std::vector<std::vector<double>> h_;  // (m + 1) x m Hessenberg, then R after the rotations
  std::vector<double> cosines_, sines_, g_;
  double product_norm_ = 0;
};

template <class T>
double GmresColumn<T>::orthogonalize(std::size_t j) {
  auto scope = result_.timings.scope("orthogonalization");
  for (std::size_t i = 0; i <= j; ++i) h_[i][j] = 0;
  if (o_.orthogonalization == Orthogonalization::mgs) {
    for (std::size_t i = 0; i <= j; ++i) {
      const auto vi = basis_column(i);
      const double hij = detail::dot<T>(exec_, comm_, vi, w_);
      detail::require_finite_value(hij, "gmres", "the product with A M^{-1}");
      detail::add_scaled<T>(exec_, w_, -hij, vi);
      h_[i][j] = hij;
    }
  } else {
    const auto basis =
        Kokkos::subview(basis_, Kokkos::ALL, Kokkos::make_pair(std::size_t(0), j + 1));
    // A fresh contiguous (j + 1) x 1 block each pass: allreduce needs contiguous memory.
    Matrix<T> hj(Kokkos::view_alloc(exec_, Kokkos::WithoutInitializing, "strata::krylov::gmres::h"),
                 j + 1, 1);
    for (int pass = 0; pass < 2; ++pass) {
      linalg::gemm(exec_, "T", "N", T(1), basis, w_, T(0), hj);
      comm_.allreduce(exec_, hj, ReduceOp::sum);
      linalg::gemm(exec_, "N", "N", T(-1), basis, hj, T(1), w_);
      const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), hj);
      for (std::size_t i = 0; i <= j; ++i) h_[i][j] += static_cast<double>(host(i, 0));
    }
    for (std::size_t i = 0; i <= j; ++i)
      detail::require_finite_value(h_[i][j], "gmres", "the product with A M^{-1}");
  }
  const double norm_w = detail::norm<T>(exec_, comm_, w_);
  detail::require_finite_value(norm_w, "gmres", "the product with A M^{-1}");
  h_[j + 1][j] = norm_w;
  // ||A M^{-1} v_j|| by Pythagoras: the projections and the remainder are orthogonal.
  double squares = norm_w * norm_w;
  for (std::size_t i = 0; i <= j; ++i) squares += h_[i][j] * h_[i][j];
  product_norm_ = std::sqrt(squares);
  return norm_w;
}

template <class T>
double GmresColumn<T>::rotate(std::size_t j) {
  for (std::size_t i = 0; i < j; ++i) {
    const double upper = h_[i][j], lower = h_[i + 1][j];
    h_[i][j] = cosines_[i] * upper + sines_[i] * lower;
    h_[i + 1][j] = -sines_[i] * upper + cosines_[i] * lower;
  }
  // The rotation that zeroes H(j + 1, j); hypot avoids overflow and underflow.
  const double upper = h_[j][j], lower = h_[j + 1][j];
  const double radius = std::hypot(upper, lower);
  cosines_[j] = radius > 0 ? upper / radius : 1.0;
  sines_[j] = radius > 0 ? lower / radius : 0.0;
  h_[j][j] = radius;
  h_[j + 1][j] = 0;
  g_[j + 1] = -sines_[j] * g_[j];
  g_[j] = cosines_[j] * g_[j];
  return std::abs(g_[j + 1]);
}

template <class T>
void GmresColumn<T>::update_solution(std::size_t k, const Matrix<T>& x) {
  if (k == 0) return;
  {
    auto scope = result_.timings.scope("update");
    // Back substitution with the k x k upper triangle R. A zero pivot (H singular: A M^{-1}
    // singular on the Krylov space) leaves that component 0: the least-squares solution of
    // minimum effort, and the true residual check below reports what was achieved.
    std::vector<double> y(k, 0.0);
    for (std::size_t i = k; i-- > 0;) {
      double s = g_[i];
      for (std::size_t l = i + 1; l < k; ++l) s -= h_[i][l] * y[l];
      y[i] = h_[i][i] != 0 ? s / h_[i][i] : 0.0;
    }
    Matrix<T> y_device("strata::krylov::gmres::y", k, 1);
    auto y_host = Kokkos::create_mirror_view(y_device);
    for (std::size_t i = 0; i < k; ++i) y_host(i, 0) = static_cast<T>(y[i]);
    Kokkos::deep_copy(exec_, y_device, y_host);
    const auto basis = Kokkos::subview(basis_, Kokkos::ALL, Kokkos::make_pair(std::size_t(0), k));
    linalg::gemm(exec_, "N", "N", T(1), basis, y_device, T(0), w_);
  }
  apply_preconditioner(w_, z_);
  auto scope = result_.timings.scope("update");
  detail::add_scaled<T>(exec_, x, 1.0, z_);
}

template <class T>
ColumnResult GmresColumn<T>::solve(const ConstMatrix<T>& b, const Matrix<T>& x, int column,
                                   int columns) {
  ColumnResult c;
  const double norm_b = detail::norm<T>(exec_, comm_, b);
  if (norm_b == 0) {
    // A x = 0 is solved by x = 0 whatever the initial guess.
    Kokkos::deep_copy(exec_, x, T(0));
    kx::fence(exec_, "strata::krylov::gmres::zero");
    c.converged = true;
    c.stop = StopReason::converged;
    c.residual_history.push_back(0);
    c.true_residual_history.push_back(0);
    return c;
  }
  const auto r0 = basis_column(0);
  double beta;
  if (o_.use_initial_guess) {
    beta = true_residual(b, x, r0);
  } else {
    Kokkos::deep_copy(exec_, x, T(0));
    Kokkos::deep_copy(exec_, r0, b);
    beta = norm_b;
  }
  detail::require_finite_value(beta, "gmres", "the product with A");
  double relative = beta / norm_b;
  c.residual_history.push_back(relative);
  c.true_residual_history.push_back(relative);
  c.relative_residual = relative;
  Progress progress(columns > 1
                        ? "GMRES iterations (right-hand side " + std::to_string(column + 1) +
                              " of " + std::to_string(columns) + ")"
                        : std::string("GMRES iterations"),
                    o_.max_iterations, comm_.rank());
  while (relative > o_.tolerance) {
    if (c.iterations >= o_.max_iterations) {
      c.stop = StopReason::max_iterations;
      break;
    }
    // One cycle: r0 = V_0 beta is in basis column 0.
    {
      auto scope = result_.timings.scope("update");
      detail::assign_scaled<T>(exec_, r0, 1.0 / beta, r0);
    }
    std::fill(g_.begin(), g_.end(), 0.0);
    g_[0] = beta;
    std::size_t k = 0;
    const int cycle_start = c.iterations;
    while (k < restart_ && c.iterations < o_.max_iterations) {
      apply_preconditioner(basis_column(k), z_);
      apply_operator(z_, w_);
      const double norm_w = orthogonalize(k);
      const double estimate = rotate(k) / norm_b;
      ++k;
      ++c.iterations;
      c.residual_history.push_back(estimate);
      // The new direction at the rounding level of the product (eps(T) times ||A M^{-1} v||,
      // with a factor 4 for the Gram-Schmidt passes): K_k is invariant and the least-squares
      // solution exact (a "happy breakdown"); the direction cannot be normalized.
      const bool invariant = norm_w <= 4 * std::numeric_limits<T>::epsilon() * product_norm_;
      if (estimate <= o_.tolerance || invariant) break;
      if (k < restart_) {
        auto scope = result_.timings.scope("orthogonalization");
        detail::assign_scaled<T>(exec_, basis_column(k), 1.0 / norm_w, w_);
      }
    }
    update_solution(k, x);
    progress.advance(c.iterations - cycle_start);
    // The true residual decides, not the recurrence; it also seeds the next cycle.
    const double previous = relative;
    beta = true_residual(b, x, r0);
    detail::require_finite_value(beta, "gmres", "the product with A");
    relative = beta / norm_b;
    c.true_residual_history.push_back(relative);
    c.relative_residual = relative;
    if (relative > o_.tolerance && relative >= previous) {
      // In exact arithmetic GMRES(m) never increases the residual; a cycle without progress
      // repeats forever (or rounding has reached its floor above the tolerance).
      c.stop = StopReason::stagnation;
      break;
    }
  }
  if (relative <= o_.tolerance) {
    c.converged = true;
    c.stop = StopReason::converged;
  }
  progress.finish();
  return c;
}

template <class T>
KrylovResult run_gmres(const ExecSpace& exec, const LinearOperator<T>& a,
                       const LinearOperator<T>* m, const DistMatrix<T>& b, const DistMatrix<T>& x,
                       const KrylovOptions& o) {
  detail::check_arguments(exec, a, m, b, x, o, "gmres");
  KrylovResult result;
  GmresColumn<T> column(exec, a, m, o, result);
  detail::solve_columns<T>(exec, column, b, x, result, "strata::krylov::gmres::done");
  return result;
}

}  // namespace

template <class T>
KrylovResult gmres(const ExecSpace& exec, const LinearOperator<T>& a,
                   const LinearOperator<T>& preconditioner, const DistMatrix<T>& b,
                   const DistMatrix<T>& x, const KrylovOptions& options) {
  return run_gmres(exec, a, &preconditioner, b, x, options);
}

template <class T>
KrylovResult gmres(const ExecSpace& exec, const LinearOperator<T>& a, const DistMatrix<T>& b,
                   const DistMatrix<T>& x, const KrylovOptions& options) {
  return run_gmres<T>(exec, a, nullptr, b, x, options);
}

#define STRATA_KRYLOV_GMRES_DEFINE(T)                                                              \
  template KrylovResult gmres<T>(const ExecSpace&, const LinearOperator<T>&,                       \
                                 const LinearOperator<T>&, const DistMatrix<T>&,                   \
                                 const DistMatrix<T>&, const KrylovOptions&);                      \
  template KrylovResult gmres<T>(const ExecSpace&, const LinearOperator<T>&, const DistMatrix<T>&, \
                                 const DistMatrix<T>&, const KrylovOptions&);
STRATA_KRYLOV_GMRES_DEFINE(float)
STRATA_KRYLOV_GMRES_DEFINE(double)
#undef STRATA_KRYLOV_GMRES_DEFINE

}  // namespace strata::krylov
