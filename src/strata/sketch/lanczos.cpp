#include "strata/sketch/lanczos.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "strata/core/checks.hpp"
#include "strata/dist/collective.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/sketch/detail/estimators_common.hpp"
#include "strata/sketch/detail/estimators_lapack.hpp"

namespace strata::sketch {

namespace {

std::function<double(double)> function_of(const LanczosOptions& o) {
  switch (o.function) {
    case MatrixFunction::inverse:
      return [](double x) {
        return 1.0 / x;
      };
    case MatrixFunction::inverse_sqrt:
      return [](double x) {
        return 1.0 / std::sqrt(x);
      };
    case MatrixFunction::sqrt:
      return [](double x) {
        return std::sqrt(x);
      };
    case MatrixFunction::exp:
      return [](double x) {
        return std::exp(x);
      };
    case MatrixFunction::log:
      return [](double x) {
        return std::log(x);
      };
    case MatrixFunction::custom:
      break;
  }
  return o.custom;
}

/// c = beta0 S f(Theta) S^T e_1 for the tridiagonal matrix (alpha, beta[0..k-2]).
std::vector<double> small_solution(const std::vector<double>& alpha,
                                   const std::vector<double>& beta, std::size_t k, double beta0,
                                   const std::function<double(double)>& f, const char* f_name,
                                   double* ritz_min, double* ritz_max) {
  const std::vector<double> diagonal(alpha.begin(), alpha.begin() + static_cast<long>(k));
  const std::vector<double> off(beta.begin(), beta.begin() + static_cast<long>(k - 1));
  const auto eig = detail::tridiagonal_eigen(diagonal, off);
  std::vector<double> c(k, 0.0);
  for (std::size_t l = 0; l < k; ++l) {
    const double theta = eig.values[l];
    const double fx = f(theta);
    STRATA_REQUIRE(std::isfinite(fx), NumericalError, "lanczos_function: f = ", f_name,
                   " is not finite at the Ritz value ", theta,
                   "; the spectrum of A must lie in the domain of f (log, sqrt and inverse-sqrt "
                   "need a positive definite A, inverse a nonsingular one)");
    const double weight = beta0 * fx * eig.vectors(0, l);
    for (std::size_t i = 0; i < k; ++i) c[i] += eig.vectors(i, l) * weight;
  }
  if (ritz_min) *ritz_min = eig.values.front();
  if (ritz_max) *ritz_max = eig.values.back();
  return c;
}

template <class T>
void scale_column(const ExecSpace& exec, const Matrix<T>& dst, int dst_col,
                  const ConstMatrix<T>& src, T factor) {
  Kokkos::parallel_for(
      "strata::sketch::lanczos::scale", Kokkos::RangePolicy<ExecSpace>(exec, 0, dst.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) { dst(i, dst_col) = factor * src(i, 0); });
}

/// w -= alpha q_j + beta q_{j-1} (beta = 0 skips the second term).
template <class T>
void three_term_update(const ExecSpace& exec, const Matrix<T>& w, const Matrix<T>& q, int j,
                       T alpha, T beta) {
  Kokkos::parallel_for(
      "strata::sketch::lanczos::three_term", Kokkos::RangePolicy<ExecSpace>(exec, 0, w.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) {
        T v = w(i, 0) - alpha * q(i, j);
        if (j > 0) v -= beta * q(i, j - 1);
        w(i, 0) = v;
      });
}

}  // namespace

const char* matrix_function_name(MatrixFunction f) {
  switch (f) {
    case MatrixFunction::inverse:
      return "inverse";
    case MatrixFunction::inverse_sqrt:
      return "inverse-sqrt";
    case MatrixFunction::sqrt:
      return "sqrt";
    case MatrixFunction::exp:
      return "exp";
    case MatrixFunction::log:
      return "log";
    case MatrixFunction::custom:
      return "custom";
  }
  return "unknown";
}

template <class T>
LanczosResult lanczos_function(const ExecSpace& exec, const LinearOperator<T>& a,
                               const DistMatrix<T>& b, const DistMatrix<T>& y,
                               const LanczosOptions& o) {
  detail::require_square(a, "lanczos_function");
  auto check = [&] {
    STRATA_REQUIRE(o.steps >= 1, InvalidArgument,
                   "lanczos_function: the number of steps must be >= 1, got ", o.steps);
    STRATA_REQUIRE(o.function != MatrixFunction::custom || static_cast<bool>(o.custom),
                   InvalidArgument,
                   "lanczos_function: MatrixFunction::custom needs LanczosOptions::custom");
    for (const auto* v : {&b, &y}) {
      const char* what = v == &b ? "b" : "y";
      STRATA_REQUIRE(v->layout() == a.col_layout() && v->cols() == 1, ShapeMismatch,
                     "lanczos_function: ", what, " is ", v->global_rows(), " x ", v->cols(),
                     " (or distributed differently from A); expected ", a.cols(),
                     " x 1 in A's layout");
    }
    require_finite(exec, b.local(), "lanczos_function: b");
  };
  if (a.distributed()) {
    collective(a.comm(), check);
  } else {
    check();
  }
  const Comm& comm = a.comm();
  const auto f = function_of(o);
  const char* f_name = matrix_function_name(o.function);
  LanczosResult r;
  const auto n_local = static_cast<std::size_t>(b.local_rows());
  const int k = o.steps;
  const double beta0 = std::sqrt(detail::column_dots<T>(exec, comm, b.local(), b.local())[0]);
  if (beta0 == 0) {
    Kokkos::deep_copy(exec, y.local(), T(0));  // f(A) 0 = 0
    kx::fence(exec, "strata::sketch::lanczos::zero");
    r.last_change = 0;
    return r;
  }
  Matrix<T> q("strata::sketch::lanczos::Q", n_local, static_cast<std::size_t>(k));
  Matrix<T> w("strata::sketch::lanczos::w", n_local, 1);
  scale_column<T>(exec, q, 0, b.local(), static_cast<T>(1.0 / beta0));
  const double eps = std::numeric_limits<T>::epsilon();
  double norm_estimate = 0;  // max row sum of |T_j|, a lower bound on ||A||_2
  {
    auto scope = r.timings.scope("lanczos");
    for (int j = 0; j < k; ++j) {
      const auto qj = Kokkos::subview(q, Kokkos::ALL, Kokkos::make_pair(j, j + 1));
      a.apply(exec, qj, w);
      const double previous_beta = j > 0 ? r.beta[static_cast<std::size_t>(j - 1)] : 0.0;
      const double alpha = detail::column_dots<T>(exec, comm, qj, w)[0];
      STRATA_REQUIRE(std::isfinite(alpha), NonFiniteInput,
                     "lanczos_function: the product of A with a Lanczos vector is not finite "
                     "(A contains NaN or Inf)");
      three_term_update<T>(exec, w, q, j, static_cast<T>(alpha), static_cast<T>(previous_beta));
      if (o.reorthogonalize) {
        const auto basis = Kokkos::subview(q, Kokkos::ALL, Kokkos::make_pair(0, j + 1));
        // A fresh contiguous (j+1) x 1 block: allreduce needs contiguous memory.
        Matrix<T> hj(
            Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::sketch::lanczos::h"),
            static_cast<std::size_t>(j + 1), 1);
        for (int pass = 0; pass < 2; ++pass) {
          linalg::gemm(exec, "T", "N", T(1), basis, w, T(0), hj);
          comm.allreduce(exec, hj, ReduceOp::sum);
          linalg::gemm(exec, "N", "N", T(-1), basis, hj, T(1), w);
        }
      }
      const double beta = std::sqrt(detail::column_dots<T>(exec, comm, w, w)[0]);
      r.alpha.push_back(alpha);
      r.beta.push_back(beta);
      norm_estimate = std::max(norm_estimate, std::abs(alpha) + previous_beta + beta);
      r.steps = j + 1;
      // beta at the rounding level of A's products: K_{j+1}(A, b) is invariant, y is exact.
      if (beta <= 10 * eps * norm_estimate) {
        r.invariant_subspace = true;
        break;
      }
      if (j + 1 < k) scale_column<T>(exec, q, j + 1, w, static_cast<T>(1.0 / beta));
    }
  }
  auto scope = r.timings.scope("small_problem");
  const auto steps = static_cast<std::size_t>(r.steps);
  const auto c = small_solution(r.alpha, r.beta, steps, beta0, f, f_name, &r.ritz_min, &r.ritz_max);
  if (steps >= 2) {
    const auto previous =
        small_solution(r.alpha, r.beta, steps - 1, beta0, f, f_name, nullptr, nullptr);
    double change = c[steps - 1] * c[steps - 1];
    for (std::size_t i = 0; i + 1 < steps; ++i)
      change += (c[i] - previous[i]) * (c[i] - previous[i]);
    r.last_change = std::sqrt(change);
  } else {
    r.last_change = std::numeric_limits<double>::quiet_NaN();
  }
  Matrix<T> c_device("strata::sketch::lanczos::c", steps, 1);
  auto c_host = Kokkos::create_mirror_view(c_device);
  for (std::size_t i = 0; i < steps; ++i) c_host(i, 0) = static_cast<T>(c[i]);
  Kokkos::deep_copy(exec, c_device, c_host);
  const auto basis = Kokkos::subview(q, Kokkos::ALL, Kokkos::make_pair(std::size_t(0), steps));
  linalg::gemm(exec, "N", "N", T(1), basis, c_device, T(0), y.local());
  kx::fence(exec, "strata::sketch::lanczos::done");
  r.matvecs = r.steps;
  return r;
}

#define STRATA_LANCZOS_DEFINE(T)                                                         \
  template LanczosResult lanczos_function<T>(const ExecSpace&, const LinearOperator<T>&, \
                                             const DistMatrix<T>&, const DistMatrix<T>&, \
                                             const LanczosOptions&);
STRATA_LANCZOS_DEFINE(float)
STRATA_LANCZOS_DEFINE(double)
#undef STRATA_LANCZOS_DEFINE

}  // namespace strata::sketch
