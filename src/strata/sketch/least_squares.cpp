#include "strata/sketch/least_squares.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "strata/core/checks.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/sketch/detail/lowrank_common.hpp"
#include "strata/sketch/detail/small_dense.hpp"
#include "strata/sketch/fwht.hpp"

namespace strata::sketch {

namespace {

using detail::column_norms;
using detail::device_copy;
using detail::host_copy;

/// y(:, j) = a_j y(:, j) + b_j x(:, j); a column with b_j = 0 is only scaled (so a NaN-free y stays
/// NaN-free whatever x holds).
template <class T>
void combine_columns(const ExecSpace& exec, const Matrix<T>& y, const std::vector<double>& a,
                     const Matrix<T>& x, const std::vector<double>& b) {
  const std::size_t k = y.extent(1), rows = y.extent(0);
  Kokkos::View<T* [2], MemSpace> coef("strata::sketch::lsqr::coefficients", k);
  const auto host = Kokkos::create_mirror_view(coef);
  for (std::size_t j = 0; j < k; ++j) {
    host(j, 0) = static_cast<T>(a[j]);
    host(j, 1) = static_cast<T>(b[j]);
  }
  Kokkos::deep_copy(exec, coef, host);
  Kokkos::parallel_for(
      "strata::sketch::lsqr::combine", Kokkos::RangePolicy<ExecSpace>(exec, 0, rows * k),
      KOKKOS_LAMBDA(const std::size_t t) {
        const std::size_t i = t % rows, j = t / rows;
        const T aj = coef(j, 0), bj = coef(j, 1);
        y(i, j) = bj == T(0) ? aj * y(i, j) : aj * y(i, j) + bj * x(i, j);
      });
  kx::fence(exec, "strata::sketch::lsqr::combine");
}

/// d default per method and operator (see LeastSquaresOptions::sketch_rows).
index_type default_sketch_rows(index_type n, LeastSquaresMethod method, OperatorKind kind) {
  const bool dense = kind == OperatorKind::gaussian || kind == OperatorKind::rademacher;
  return method == LeastSquaresMethod::sketch_and_precondition && dense ? 2 * n : 4 * n;
}

template <class T>
double default_tolerance(double given) {
  return given > 0 ? given : 10.0 * static_cast<double>(std::numeric_limits<T>::epsilon());
}

/// The sketch operator of the options for an m-row A and d sketch rows.
SketchOperator sketch_operator(const LeastSquaresOptions& o, index_type m, index_type d) {
  SketchOperator op;
  op.kind = o.sketch_operator;
  op.rows = d;
  op.cols = m;
  op.seed = o.test_matrix.seed;
  op.stream = o.test_matrix.stream;
  op.nnz = std::min(o.sparse_nnz, d);
  return op;
}

/// (S A, S b) on the host: each rank applies its column block of S to its rows, one allreduce
/// per product sums them (sketch_rows on a DistMatrix).
template <class T>
std::pair<HostMatrix<T>, HostMatrix<T>> sketch_rows_of(const ExecSpace& exec,
                                                       const DistMatrix<T>& a,
                                                       const DistMatrix<T>& b,
                                                       const SketchOperator& op) {
  const auto dd = static_cast<std::size_t>(op.rows);
  Matrix<T> sa("strata::sketch::SA", dd, static_cast<std::size_t>(a.cols()));
  Matrix<T> sb("strata::sketch::Sb", dd, static_cast<std::size_t>(b.cols()));
  ApplyOptions apply;
  apply.check_finite = false;  // checked by check_inputs
  sketch_rows(exec, op, a, sa, apply);
  sketch_rows(exec, op, b, sb, apply);
  return {host_copy(exec, ConstMatrix<T>(sa)), host_copy(exec, ConstMatrix<T>(sb))};
}

/// LSQR (Paige & Saunders 1982, Sec. 4 and the stopping rules of Sec. 6) on M = A R^{-1}, one
/// independent recurrence per column of B sharing the products. Vectors of length m (u) are
/// distributed like A's rows; those of length n (v, w, y) are replicated. Returns y.
template <class T>
Matrix<T> lsqr(const ExecSpace& exec, const DistMatrix<T>& a, const DistMatrix<T>& b,
               const Matrix<T>& rinv, double atol, double btol, int max_iterations,
               LeastSquaresResult<T>& result) {
  const Comm self = Comm::self();
  const auto n = static_cast<std::size_t>(a.cols()), k = static_cast<std::size_t>(b.cols());
  const auto m_local = static_cast<std::size_t>(a.local_rows());
  const BlockRowLayout replicated(a.cols(), 1);
  auto replicated_norms = [&](const Matrix<T>& x) {
    return column_norms(exec, DistMatrix<T>(self, replicated, x));
  };
  // M v = A (R^{-1} v) into `out` (m_local x k).
  Matrix<T> tn("strata::sketch::lsqr::tn", n, k);
  auto apply_m = [&](const Matrix<T>& v, const Matrix<T>& out) {
    linalg::gemm(exec, "N", "N", T(1), rinv, v, T(0), tn);
    linalg::gemm(exec, "N", "N", T(1), a.local(), tn, T(0), out);
  };
  // M^T u = R^{-T} (A^T u) into `out` (n x k, replicated).
  auto apply_mt = [&](const Matrix<T>& u, const Matrix<T>& out) {
    linalg::gemm(exec, "T", "N", T(1), a.local(), u, T(0), tn);
    a.comm().allreduce(exec, tn, ReduceOp::sum);
    linalg::gemm(exec, "T", "N", T(1), rinv, tn, T(0), out);
  };
  const std::vector<double> zeros(k, 0.0), ones(k, 1.0);
  Matrix<T> u("strata::sketch::lsqr::u", m_local, k), tm("strata::sketch::lsqr::tm", m_local, k);
  Matrix<T> v("strata::sketch::lsqr::v", n, k), w("strata::sketch::lsqr::w", n, k),
      y("strata::sketch::lsqr::y", n, k), tv("strata::sketch::lsqr::tv", n, k);
  Kokkos::deep_copy(exec, u, b.local());
  std::vector<double> beta = column_norms(exec, DistMatrix<T>(a.comm(), a.layout(), u));
  std::vector<bool> active(k, true);
  std::vector<double> inverse(k);
  for (std::size_t j = 0; j < k; ++j) inverse[j] = beta[j] > 0 ? 1.0 / beta[j] : 0.0;
  combine_columns(exec, u, inverse, u, zeros);
  apply_mt(u, v);
  std::vector<double> alpha = replicated_norms(v);
  for (std::size_t j = 0; j < k; ++j) inverse[j] = alpha[j] > 0 ? 1.0 / alpha[j] : 0.0;
  combine_columns(exec, v, inverse, v, zeros);
  Kokkos::deep_copy(exec, w, v);
  result.matvecs += static_cast<index_type>(k);
  std::vector<double> rhobar = alpha, phibar = beta, bnorm = beta, anorm(k, 0.0), ddnorm(k, 0.0),
                      acond(k, 0.0);
  result.column_converged.assign(k, false);
  for (std::size_t j = 0; j < k; ++j) {
    // b = 0 (x = 0 is exact) or A^T b = 0 (x = 0 solves the normal equations).
    if (beta[j] == 0 || alpha[j] == 0) {
      active[j] = false;
      result.column_converged[j] = true;
    }
  }
  Progress progress("LSQR iterations", max_iterations, a.comm().rank());
  std::vector<double> a_coef(k), b_coef(k), t1(k), t2(k), rho(k);
  int iteration = 0;
  while (iteration < max_iterations &&
         std::any_of(active.begin(), active.end(), [](bool x) { return x; })) {
    ++iteration;
    // u = M v - alpha u, beta = ||u||.
    apply_m(v, tm);
    for (std::size_t j = 0; j < k; ++j) {
      a_coef[j] = active[j] ? -alpha[j] : 1.0;
      b_coef[j] = active[j] ? 1.0 : 0.0;
    }
    combine_columns(exec, u, a_coef, tm, b_coef);
    const auto new_beta = column_norms(exec, DistMatrix<T>(a.comm(), a.layout(), u));
    for (std::size_t j = 0; j < k; ++j) {
      if (!active[j]) continue;
      beta[j] = new_beta[j];
      anorm[j] = std::sqrt(anorm[j] * anorm[j] + alpha[j] * alpha[j] + beta[j] * beta[j]);
      inverse[j] = beta[j] > 0 ? 1.0 / beta[j] : 0.0;
    }
    for (std::size_t j = 0; j < k; ++j) a_coef[j] = active[j] ? inverse[j] : 1.0;
    combine_columns(exec, u, a_coef, u, zeros);
    // v = M^T u - beta v, alpha = ||v||.
    apply_mt(u, tv);
    for (std::size_t j = 0; j < k; ++j) {
      a_coef[j] = active[j] ? -beta[j] : 1.0;
      b_coef[j] = active[j] ? 1.0 : 0.0;
    }
    combine_columns(exec, v, a_coef, tv, b_coef);
    const auto new_alpha = replicated_norms(v);
    for (std::size_t j = 0; j < k; ++j) {
      if (!active[j]) continue;
      alpha[j] = new_alpha[j];
      inverse[j] = alpha[j] > 0 ? 1.0 / alpha[j] : 0.0;
    }
    for (std::size_t j = 0; j < k; ++j) a_coef[j] = active[j] ? inverse[j] : 1.0;
    combine_columns(exec, v, a_coef, v, zeros);
    result.matvecs += 2 * static_cast<index_type>(k);
    // The plane rotation eliminating beta, and the updates of y and w.
    const auto wnorm = replicated_norms(w);
    std::vector<double> tau(k, 0.0);
    for (std::size_t j = 0; j < k; ++j) {
      t1[j] = 0;
      t2[j] = 1;
      if (!active[j]) continue;
      rho[j] = std::hypot(rhobar[j], beta[j]);
      if (rho[j] == 0) {
        active[j] = false;
        result.column_converged[j] = true;
        continue;
      }
      const double c = rhobar[j] / rho[j], s = beta[j] / rho[j];
      const double theta = s * alpha[j];
      rhobar[j] = -c * alpha[j];
      const double phi = c * phibar[j];
      phibar[j] = s * phibar[j];
      tau[j] = s * phi;
      t1[j] = phi / rho[j];
      t2[j] = -theta / rho[j];
      ddnorm[j] += (wnorm[j] / rho[j]) * (wnorm[j] / rho[j]);
    }
    combine_columns(exec, y, ones, w, t1);
    for (std::size_t j = 0; j < k; ++j) b_coef[j] = active[j] ? 1.0 : 0.0;
    combine_columns(exec, w, t2, v, b_coef);
    const auto ynorm = replicated_norms(y);
    for (std::size_t j = 0; j < k; ++j) {
      if (!active[j]) continue;
      const double rnorm = phibar[j];
      const double arnorm = alpha[j] * std::abs(tau[j]);
      acond[j] = anorm[j] * std::sqrt(ddnorm[j]);
      const double test1 = rnorm / bnorm[j];
      const double test2 = rnorm > 0 ? arnorm / (anorm[j] * rnorm) : 0.0;
      const double rtol = btol + atol * anorm[j] * ynorm[j] / bnorm[j];
      if (test1 <= rtol || test2 <= atol) {
        active[j] = false;
        result.column_converged[j] = true;
      }
    }
    progress.advance();
  }
  progress.finish();
  result.iterations = iteration;
  result.preconditioned_condition = *std::max_element(acond.begin(), acond.end());
  return y;
}

template <class T>
void check_inputs(const ExecSpace& exec, const DistMatrix<T>& a, const DistMatrix<T>& b,
                  const LeastSquaresOptions& o) {
  collective(a.comm(), [&] {
    STRATA_REQUIRE(a.global_rows() >= a.cols() && a.cols() >= 1, ShapeMismatch,
                   "least squares needs a tall matrix A (m >= n >= 1), got ", a.global_rows(),
                   " x ", a.cols(),
                   "; an underdetermined system has no unique least-squares "
                   "solution");
    STRATA_REQUIRE(b.global_rows() == a.global_rows() && b.layout() == a.layout(), ShapeMismatch,
                   "the right-hand side has ", b.global_rows(),
                   " rows distributed differently from A's ", a.global_rows(),
                   " rows; expected B with the same rows and row layout as A");
    STRATA_REQUIRE(b.cols() >= 1, ShapeMismatch,
                   "the right-hand side has no columns; expected at least one");
    STRATA_REQUIRE(o.sketch_rows == 0 || o.sketch_rows >= a.cols(), InvalidArgument,
                   "the sketch needs at least n = ", a.cols(), " rows, got ", o.sketch_rows);
    STRATA_REQUIRE(o.atol >= 0 && o.btol >= 0 && std::isfinite(o.atol) && std::isfinite(o.btol),
                   InvalidArgument, "atol and btol must be finite and >= 0, got ", o.atol, " and ",
                   o.btol);
    STRATA_REQUIRE(o.max_iterations >= 1, InvalidArgument, "max_iterations must be >= 1, got ",
                   o.max_iterations);
    STRATA_REQUIRE(o.sketch_operator != OperatorKind::hadamard, InvalidArgument,
                   "the 'hadamard' operator is a square rotation (d = padded m), not a sketch; "
                   "use srht, sparse-sign, gaussian or rademacher for least squares");
    STRATA_REQUIRE(o.sparse_nnz >= 1, InvalidArgument,
                   "sparse-sign needs at least one nonzero per column, got ", o.sparse_nnz);
  });
  detail::require_finite_block(exec, a, "the matrix A");
  detail::require_finite_block(exec, b, "the right-hand side b");
}

}  // namespace

template <class T>
LeastSquaresResult<T> least_squares(const ExecSpace& exec, const DistMatrix<T>& a,
                                    const DistMatrix<T>& b, const LeastSquaresOptions& options) {
  check_inputs(exec, a, b, options);
  const index_type n = a.cols();
  const auto k = static_cast<std::size_t>(b.cols());
  LeastSquaresResult<T> result;
  index_type d = options.sketch_rows;
  if (d == 0) {
    d = default_sketch_rows(n, options.method, options.sketch_operator);
    // srht samples rows of the padded transform without replacement.
    if (options.sketch_operator == OperatorKind::srht)
      d = std::min(d, next_power_of_two(a.global_rows()));
  }
  result.sketch_rows = d;
  const SketchOperator op = sketch_operator(options, a.global_rows(), d);
  collective(a.comm(), [&] { op.validate(); });
  HostMatrix<T> sa, sb;
  {
    auto phase = result.timings.scope("sketch");
    std::tie(sa, sb) = sketch_rows_of(exec, a, b, op);
    result.matvecs += d;
  }
  // Both methods need full column rank: S is a subspace embedding for range(A), so S A has A's
  // singular values within a factor (1 +- eps_S), and a diagonal of R (S A = Q R) at n eps of the
  // largest marks a column dependent on the others to working precision. Sketch-and-solve
  // would otherwise return an x of norm ~1/eps (the minimizer is not unique).
  HostMatrix<T> r;
  {
    auto phase = result.timings.scope("factor");
    r = detail::small_qr_r(sa);
    double largest = 0, smallest = std::numeric_limits<double>::infinity();
    for (index_type i = 0; i < n; ++i) {
      largest = std::max(largest, std::abs(static_cast<double>(r(i, i))));
      smallest = std::min(smallest, std::abs(static_cast<double>(r(i, i))));
    }
    const double floor =
        static_cast<double>(n) * static_cast<double>(std::numeric_limits<T>::epsilon());
    STRATA_REQUIRE(smallest > floor * largest, NumericalError,
                   "A is numerically rank deficient: the R factor of its sketch has diagonal "
                   "entries from ",
                   largest, " down to ", smallest,
                   "; least squares needs full column rank (remove dependent columns)");
  }
  if (options.method == LeastSquaresMethod::sketch_and_solve) {
    auto phase = result.timings.scope("factor");
    result.x = device_copy(exec, detail::small_least_squares(sa, sb), "strata::sketch::x");
  } else {
    Matrix<T> rinv;
    {
      auto phase = result.timings.scope("factor");
      rinv = device_copy(exec, detail::small_triangular_inverse(r), "strata::sketch::Rinv");
    }
    Matrix<T> y;
    {
      auto phase = result.timings.scope("iterate");
      y = lsqr(exec, a, b, rinv, default_tolerance<T>(options.atol),
               default_tolerance<T>(options.btol), options.max_iterations, result);
    }
    result.x = Matrix<T>("strata::sketch::x", static_cast<std::size_t>(n), k);
    linalg::gemm(exec, "N", "N", T(1), rinv, y, T(0), result.x);
    result.converged = std::all_of(result.column_converged.begin(), result.column_converged.end(),
                                   [](bool c) { return c; });
  }
  if (options.method == LeastSquaresMethod::sketch_and_solve)
    result.column_converged.assign(k, true);
  {
    // The true residuals, independent of the method's own estimates.
    auto phase = result.timings.scope("residual");
    DistMatrix<T> r(a.comm(), a.layout(), static_cast<index_type>(k), "strata::sketch::residual");
    Kokkos::deep_copy(exec, r.local(), b.local());
    linalg::gemm(exec, "N", "N", T(1), a.local(), result.x, T(-1), r.local());
    result.residual_norm = column_norms(exec, r);
    Matrix<T> normal("strata::sketch::normal_residual", static_cast<std::size_t>(n), k);
    linalg::gemm(exec, "T", "N", T(1), a.local(), r.local(), T(0), normal);
    a.comm().allreduce(exec, normal, ReduceOp::sum);
    result.normal_residual_norm =
        column_norms(exec, DistMatrix<T>(Comm::self(), BlockRowLayout(n, 1), normal));
    result.matvecs += 2 * static_cast<index_type>(k);
  }
  return result;
}

template <class T>
LeastSquaresResult<T> least_squares(const ExecSpace& exec, const ConstMatrix<T>& a,
                                    const ConstMatrix<T>& b, const LeastSquaresOptions& options) {
  const Comm self = Comm::self();
  const BlockRowLayout layout(static_cast<index_type>(a.extent(0)), 1);
  STRATA_REQUIRE(b.extent(0) == a.extent(0), ShapeMismatch, "the right-hand side has ", b.extent(0),
                 " rows but A has ", a.extent(0), "; expected the same number");
  Matrix<T> a_copy(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::sketch::A"),
                   a.extent(0), a.extent(1));
  Matrix<T> b_copy(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::sketch::b"),
                   b.extent(0), b.extent(1));
  Kokkos::deep_copy(exec, a_copy, a);
  Kokkos::deep_copy(exec, b_copy, b);
  return least_squares(exec, DistMatrix<T>(self, layout, a_copy),
                       DistMatrix<T>(self, layout, b_copy), options);
}

#define STRATA_LEAST_SQUARES_INSTANTIATE(T)                                                      \
  template LeastSquaresResult<T> least_squares<T>(                                               \
      const ExecSpace&, const DistMatrix<T>&, const DistMatrix<T>&, const LeastSquaresOptions&); \
  template LeastSquaresResult<T> least_squares<T>(                                               \
      const ExecSpace&, const ConstMatrix<T>&, const ConstMatrix<T>&, const LeastSquaresOptions&);
STRATA_LEAST_SQUARES_INSTANTIATE(float)
STRATA_LEAST_SQUARES_INSTANTIATE(double)
#undef STRATA_LEAST_SQUARES_INSTANTIATE

}  // namespace strata::sketch
