// Lanczos-FA against dense references (LAPACK eigendecomposition of A) on known spectra: the
// Theorem-1 bound against the best approximation from the Krylov space for A^-1, decrease with k,
// exactness once the Krylov space is invariant, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "estimators_test_matrices.hpp"
#include "strata/sketch/detail/estimators_lapack.hpp"
#include "strata/sketch/lanczos.hpp"

namespace {

using strata::HostMatrix;
namespace sketch = strata::sketch;
using strata::testing::symmetric_with_spectrum;
using strata::testing::to_device_as;

constexpr std::size_t n = 100;

std::vector<double> linspace_spectrum() {
  std::vector<double> l(n);
  for (std::size_t i = 0; i < n; ++i) l[i] = 1.0 + 99.0 * static_cast<double>(i) / (n - 1);
  return l;
}

std::vector<double> geometric_spectrum() {
  std::vector<double> l(n);
  for (std::size_t i = 0; i < n; ++i) l[i] = std::pow(100.0, static_cast<double>(i) / (n - 1));
  return l;
}

/// f(A) b from the LAPACK eigendecomposition of the formed A (an independent reference).
std::vector<double> reference(const HostMatrix<double>& a, const std::vector<double>& b,
                              const std::function<double(double)>& f) {
  const auto eig = sketch::detail::symmetric_eigen(a);
  std::vector<double> out(n, 0.0);
  for (std::size_t l = 0; l < n; ++l) {
    double c = 0;
    for (std::size_t i = 0; i < n; ++i) c += eig.vectors(i, l) * b[i];
    c *= f(eig.values[l]);
    for (std::size_t i = 0; i < n; ++i) out[i] += eig.vectors(i, l) * c;
  }
  return out;
}

double norm(const std::vector<double>& v) {
  double s = 0;
  for (const double x : v) s += x * x;
  return std::sqrt(s);
}

/// min over x in K_k(A, b) of ||target - x||: projection onto an orthonormal Krylov basis built by
/// Gram-Schmidt with full reorthogonalization (twice) in double on the host.
std::vector<double> best_krylov_errors(const HostMatrix<double>& a, const std::vector<double>& b,
                                       const std::vector<double>& target, std::size_t kmax) {
  HostMatrix<double> basis("basis", n, kmax);
  std::vector<double> errors(kmax);
  HostMatrix<double> v("v", n, 1);
  for (std::size_t i = 0; i < n; ++i) v(i, 0) = b[i];
  for (std::size_t k = 0; k < kmax; ++k) {
    for (int pass = 0; pass < 2; ++pass) {
      for (std::size_t l = 0; l < k; ++l) {
        double c = 0;
        for (std::size_t i = 0; i < n; ++i) c += basis(i, l) * v(i, 0);
        for (std::size_t i = 0; i < n; ++i) v(i, 0) -= c * basis(i, l);
      }
    }
    double nv = 0;
    for (std::size_t i = 0; i < n; ++i) nv += v(i, 0) * v(i, 0);
    nv = std::sqrt(nv);
    for (std::size_t i = 0; i < n; ++i) basis(i, k) = v(i, 0) / nv;
    double residual = 0;
    std::vector<double> coefficients(k + 1);
    for (std::size_t l = 0; l <= k; ++l)
      for (std::size_t i = 0; i < n; ++i) coefficients[l] += basis(i, l) * target[i];
    for (std::size_t i = 0; i < n; ++i) {
      double r = target[i];
      for (std::size_t l = 0; l <= k; ++l) r -= coefficients[l] * basis(i, l);
      residual += r * r;
    }
    errors[k] = std::sqrt(residual);
    for (std::size_t i = 0; i < n; ++i) {
      double s = 0;
      for (std::size_t j = 0; j < n; ++j) s += a(i, j) * basis(j, k);
      v(i, 0) = s;
    }
  }
  return errors;
}

struct Run {
  double error;
  sketch::LanczosResult result;
};

Run run(const strata::LinearOperator<double>& op, const std::vector<double>& b,
        const std::vector<double>& exact, sketch::LanczosOptions o) {
  const strata::BlockRowLayout layout(static_cast<strata::index_type>(n), 1);
  strata::DistMatrix<double> bd(strata::Comm::self(), layout, 1),
      y(strata::Comm::self(), layout, 1);
  auto bh = Kokkos::create_mirror_view(bd.local());
  for (std::size_t i = 0; i < n; ++i) bh(i, 0) = b[i];
  Kokkos::deep_copy(bd.local(), bh);
  Run r{0, sketch::lanczos_function(strata::ExecSpace(), op, bd, y, o)};
  const auto yh = strata::testing::to_host(y.local());
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += (yh(i, 0) - exact[i]) * (yh(i, 0) - exact[i]);
  r.error = std::sqrt(s);
  return r;
}

TEST(Lanczos, InverseMeetsTheoremOneAgainstTheBestKrylovApproximation) {
  // Theorem 1 of arXiv 2303.03358 for r(x) = 1/x (q = 1, pole 0 below the spectrum):
  // ||A^-1 b - y_k|| <= kappa min_{x in K_k} ||A^-1 b - x||, kappa = 100. Rounding: A is formed
  // with relative error ~ n eps, which moves A^-1 b by ~ kappa n eps ||A^-1 b||; we add 10x that.
  const auto lambda = linspace_spectrum();
  const auto a = symmetric_with_spectrum(lambda, 21);
  const strata::DenseOperator<double> op(to_device_as<double>(a));
  const std::vector<double> b(n, 1.0);
  const auto f = [](double x) {
    return 1.0 / x;
  };
  const auto exact = reference(a, b, f);
  const auto best = best_krylov_errors(a, b, exact, 40);
  const double kappa = 100, eps = std::numeric_limits<double>::epsilon();
  const double floor = 10 * kappa * n * eps * norm(exact);
  double previous = std::numeric_limits<double>::infinity();
  for (int k = 2; k <= 40; k += 2) {
    sketch::LanczosOptions o;
    o.steps = k;
    const auto r = run(op, b, exact, o);
    EXPECT_EQ(r.result.matvecs, k);
    EXPECT_LE(r.error, kappa * best[static_cast<std::size_t>(k - 1)] + floor) << "k = " << k;
    EXPECT_GE(r.error, best[static_cast<std::size_t>(k - 1)] * (1 - 1e-8)) << "k = " << k;
    // CG's error decreases monotonically in the 2-norm (Hestenes & Stiefel 1952, Thm 6:3).
    EXPECT_LT(r.error, previous) << "k = " << k;
    previous = r.error;
    // Ritz values lie inside the spectrum (Cauchy interlacing), up to rounding.
    EXPECT_GE(r.result.ritz_min, 1 - 1e-10);
    EXPECT_LE(r.result.ritz_max, 100 + 1e-10);
  }
}

TEST(Lanczos, FunctionsOfAGeometricSpectrumConvergeAndAreExactOnTheFullSpace) {
  const auto lambda = geometric_spectrum();
  const auto a = symmetric_with_spectrum(lambda, 22);
  const strata::DenseOperator<double> op(to_device_as<double>(a));
  std::vector<double> b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = 1.0 + 0.5 * std::sin(static_cast<double>(i));
  const double eps = std::numeric_limits<double>::epsilon();
  struct Case {
    sketch::MatrixFunction function;
    std::function<double(double)> f;
  };
  const std::vector<Case> cases = {
      {sketch::MatrixFunction::inverse,
       [](double x) {
         return 1.0 / x;
       }},
      {sketch::MatrixFunction::inverse_sqrt,
       [](double x) {
         return 1.0 / std::sqrt(x);
       }},
      {sketch::MatrixFunction::sqrt,
       [](double x) {
         return std::sqrt(x);
       }},
      {sketch::MatrixFunction::log,
       [](double x) {
         return std::log(x);
       }},
      {sketch::MatrixFunction::exp,
       [](double x) {
         return std::exp(x / 20);
       }},
  };
  for (const auto& c : cases) {
    sketch::LanczosOptions o;
    o.function = c.function;
    if (c.function == sketch::MatrixFunction::exp) {
      // exp(A/20) through the custom hook, so that the values stay moderate.
      o.function = sketch::MatrixFunction::custom;
      o.custom = c.f;
    }
    const auto exact = reference(a, b, c.f);
    double fmax = 0;
    for (const double l : lambda) fmax = std::max(fmax, std::abs(c.f(l)));
    // Rounding floor of f(A) b: the condition of f(A) b in A is at most kappa(A) * max |x f'(x) /
    // f(x)| = 100 * 1 for the powers and log (log's values near 0 make its relative condition
    // larger, hence the absolute scale max |f| ||b||), times the n eps error of forming A.
    const double floor = 100 * 100 * n * eps * fmax * norm(b);
    double previous = std::numeric_limits<double>::infinity();
    double previous_change = std::numeric_limits<double>::infinity();
    for (const int k : {5, 10, 20, 40}) {
      o.steps = k;
      const auto r = run(op, b, exact, o);
      // Decrease until the rounding floor is reached (exp(A/20) gets there by k = 20).
      if (previous > floor) {
        EXPECT_LT(r.error, previous) << sketch::matrix_function_name(c.function) << " k = " << k;
        EXPECT_LT(r.result.last_change, previous_change);
      }
      previous = r.error;
      previous_change = r.result.last_change;
    }
    // k = n: the Krylov space is all of R^n (or invariant earlier), so y = f(A) b up to rounding.
    o.steps = static_cast<int>(n);
    const auto r = run(op, b, exact, o);
    EXPECT_LT(r.error, floor) << sketch::matrix_function_name(c.function);
  }
}

TEST(Lanczos, RejectsBadInput) {
  const auto a = symmetric_with_spectrum(linspace_spectrum(), 23);
  const strata::DenseOperator<double> op(to_device_as<double>(a));
  const strata::ExecSpace exec;
  const strata::Comm self = strata::Comm::self();
  const strata::BlockRowLayout layout(static_cast<strata::index_type>(n), 1);
  strata::DistMatrix<double> b(self, layout, 1), y(self, layout, 1);
  Kokkos::deep_copy(b.local(), 1.0);
  strata::DistMatrix<double> short_b(self, strata::BlockRowLayout(n - 1, 1), 1);
  EXPECT_THROW(sketch::lanczos_function(exec, op, short_b, y), strata::ShapeMismatch);
  sketch::LanczosOptions o;
  o.steps = 0;
  EXPECT_THROW(sketch::lanczos_function(exec, op, b, y, o), strata::InvalidArgument);
  o.steps = 5;
  o.function = sketch::MatrixFunction::custom;
  EXPECT_THROW(sketch::lanczos_function(exec, op, b, y, o), strata::InvalidArgument);
  o.custom = [](double) {
    return std::numeric_limits<double>::quiet_NaN();
  };
  EXPECT_THROW(sketch::lanczos_function(exec, op, b, y, o), strata::NumericalError);
  // log of an indefinite matrix: Ritz values below 0 are outside log's domain.
  std::vector<double> indefinite = linspace_spectrum();
  for (std::size_t i = 0; i < n; i += 2) indefinite[i] = -indefinite[i];
  const strata::DenseOperator<double> op2(
      to_device_as<double>(symmetric_with_spectrum(indefinite, 24)));
  o.function = sketch::MatrixFunction::log;
  EXPECT_THROW(sketch::lanczos_function(exec, op2, b, y, o), strata::NumericalError);
  auto bh = Kokkos::create_mirror_view(b.local());
  Kokkos::deep_copy(bh, b.local());
  bh(3, 0) = std::numeric_limits<double>::infinity();
  Kokkos::deep_copy(b.local(), bh);
  o.function = sketch::MatrixFunction::inverse;
  EXPECT_THROW(sketch::lanczos_function(exec, op, b, y, o), strata::NonFiniteInput);
}

TEST(Lanczos, FloatMatchesDouble) {
  // The fp32 iterate agrees with the fp64 one to the fp32 rounding of a kappa = 100 problem.
  const auto a = symmetric_with_spectrum(linspace_spectrum(), 25);
  const strata::ExecSpace exec;
  const strata::Comm self = strata::Comm::self();
  const strata::BlockRowLayout layout(static_cast<strata::index_type>(n), 1);
  const strata::DenseOperator<double> opd(to_device_as<double>(a));
  const strata::DenseOperator<float> opf(to_device_as<float>(a));
  strata::DistMatrix<double> bd(self, layout, 1), yd(self, layout, 1);
  strata::DistMatrix<float> bf(self, layout, 1), yf(self, layout, 1);
  Kokkos::deep_copy(bd.local(), 1.0);
  Kokkos::deep_copy(bf.local(), 1.0f);
  sketch::LanczosOptions o;
  o.steps = 20;
  sketch::lanczos_function(exec, opd, bd, yd, o);
  sketch::lanczos_function(exec, opf, bf, yf, o);
  const auto hd = strata::testing::to_host(yd.local());
  const auto hf = strata::testing::to_host(yf.local());
  double diff = 0, ref = 0;
  for (std::size_t i = 0; i < n; ++i) {
    diff += (hd(i, 0) - hf(i, 0)) * (hd(i, 0) - hf(i, 0));
    ref += hd(i, 0) * hd(i, 0);
  }
  EXPECT_LT(std::sqrt(diff / ref), 10 * 100 * n * std::numeric_limits<float>::epsilon());
}

}  // namespace
