#include "strata/sketch/diagonal.hpp"

#include <algorithm>

#include "strata/dist/operations.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/sketch/detail/estimators_common.hpp"

namespace strata::sketch {

namespace {

constexpr std::uint64_t stream_sketch = 1;  // S (Diag++)
constexpr std::uint64_t stream_probes = 2;  // G

/// d_i += sum_j y_ij g_ij / sum_j g_ij^2 (the Bekas-Kokiopoulou-Saad ratio, row by row).
template <class T>
void add_probe_ratio(const ExecSpace& exec, const Matrix<T>& g, const Matrix<T>& y,
                     const Matrix<T>& d) {
  const auto k = static_cast<int>(g.extent(1));
  Kokkos::parallel_for(
      "strata::sketch::diagonal::probe_ratio", Kokkos::RangePolicy<ExecSpace>(exec, 0, g.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) {
        T num = 0, den = 0;
        for (int j = 0; j < k; ++j) {
          num += y(i, j) * g(i, j);
          den += g(i, j) * g(i, j);
        }
        d(i, 0) += den > T(0) ? num / den : T(0);
      });
}

/// d_i += sum_j q_ij p_ij: the diagonal of Q P^T, here of Q Q^T A with P = A^T Q.
template <class T>
void add_row_dots(const ExecSpace& exec, const Matrix<T>& q, const Matrix<T>& p,
                  const Matrix<T>& d) {
  const auto k = static_cast<int>(q.extent(1));
  Kokkos::parallel_for(
      "strata::sketch::diagonal::low_rank", Kokkos::RangePolicy<ExecSpace>(exec, 0, q.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) {
        T sum = 0;
        for (int j = 0; j < k; ++j) sum += q(i, j) * p(i, j);
        d(i, 0) += sum;
      });
}

template <class T>
DistMatrix<T> random_block(const ExecSpace& exec, const LinearOperator<T>& a, index_type k,
                           const DiagonalOptions& o, std::uint64_t stream, const char* label) {
  auto x = sketch::detail::input_block(a, k, label);
  fill_random(exec, RandomStream{o.distribution, o.seed, stream}, x);
  return x;
}

template <class T>
DistMatrix<T> product(const ExecSpace& exec, const LinearOperator<T>& a, const DistMatrix<T>& x,
                      bool transpose, const char* label) {
  auto y = sketch::detail::output_block(a, x.cols(), label);
  if (transpose) {
    a.apply_transpose(exec, x.local(), y.local());
  } else {
    sketch::detail::apply(exec, a, x, y);
  }
  sketch::detail::require_finite_products(exec, a, y, "estimate_diagonal");
  return y;
}

}  // namespace

const char* diagonal_method_name(DiagonalMethod method) {
  return method == DiagonalMethod::hutchinson ? "hutchinson" : "diag++";
}

DiagonalMethod parse_diagonal_method(const std::string& name) {
  if (name == "hutchinson") return DiagonalMethod::hutchinson;
  if (name == "diag++") return DiagonalMethod::deflated;
  STRATA_THROW(InvalidArgument, "unknown diagonal method '", name,
               "'; expected diag++ or hutchinson");
}

template <class T>
DiagonalResult<T> estimate_diagonal(const ExecSpace& exec, const LinearOperator<T>& a,
                                    const DiagonalOptions& o) {
  sketch::detail::require_square(a, "estimate_diagonal");
  const bool deflated = o.method == DiagonalMethod::deflated;
  const index_type minimum = deflated ? 3 : 1;
  STRATA_REQUIRE(
      o.matvecs >= minimum, InvalidArgument, "estimate_diagonal: ", diagonal_method_name(o.method),
      " needs a budget of at least ", minimum, " matrix-vector products, got ", o.matvecs);
  DiagonalResult<T> r;
  r.diagonal = sketch::detail::output_block(a, 1, "strata::sketch::diagonal");
  // At most n sketch vectors: beyond that Q spans R^n and diag(Q Q^T A) is all of diag(A).
  const index_type k = deflated ? std::min(o.matvecs / 3, a.rows()) : 0;
  const index_type l = o.matvecs - 2 * k;
  DistMatrix<T> q;
  if (deflated) {
    {
      auto scope = r.timings.scope("range");
      auto s = random_block(exec, a, k, o, stream_sketch, "strata::sketch::diagonal::S");
      q = product(exec, a, s, false, "strata::sketch::diagonal::AS");
      orthonormalize(exec, q, o.qr);
    }
    auto scope = r.timings.scope("low_rank");
    const auto p = product(exec, a, q, !o.symmetric, "strata::sketch::diagonal::AtQ");
    add_row_dots(exec, q.local(), p.local(), r.diagonal.local());
  }
  auto scope = r.timings.scope("hutchinson");
  auto g = random_block(exec, a, l, o, stream_probes, "strata::sketch::diagonal::G");
  auto y = product(exec, a, g, false, "strata::sketch::diagonal::AG");
  if (deflated) {
    // Y = (I - Q Q^T) A G.
    Matrix<T> c("strata::sketch::diagonal::QtAG", static_cast<std::size_t>(k),
                static_cast<std::size_t>(l));
    inner_product(exec, q, y, c);
    linalg::gemm(exec, "N", "N", T(-1), q.local(), c, T(1), y.local());
  }
  add_probe_ratio(exec, g.local(), y.local(), r.diagonal.local());
  kx::fence(exec, "strata::sketch::diagonal::done");
  r.matvecs = 2 * k + l;
  r.hutchinson_probes = l;
  return r;
}

#define STRATA_DIAGONAL_DEFINE(T)                                                             \
  template DiagonalResult<T> estimate_diagonal<T>(const ExecSpace&, const LinearOperator<T>&, \
                                                  const DiagonalOptions&);
STRATA_DIAGONAL_DEFINE(float)
STRATA_DIAGONAL_DEFINE(double)
#undef STRATA_DIAGONAL_DEFINE

}  // namespace strata::sketch
