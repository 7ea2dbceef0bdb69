#include "strata/sketch/low_rank.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "strata/core/checks.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "strata/linalg/small_svd.hpp"
#include "strata/sketch/detail/lowrank_common.hpp"
#include "strata/sketch/detail/range_finder_impl.hpp"
#include "strata/sketch/detail/small_dense.hpp"

namespace strata::sketch {

namespace {

using detail::col_block;
using detail::device_copy;
using detail::host_copy;
using detail::row_block;

template <class T>
void require_square_operator(const LinearOperator<T>& a, const char* what) {
  collective(a.comm(), [&] {
    STRATA_REQUIRE(a.rows() == a.cols(), ShapeMismatch, what, " needs a square operator, got ",
                   a.rows(), " x ", a.cols());
    STRATA_REQUIRE(a.row_layout() == a.col_layout(), ShapeMismatch, what,
                   " needs the operator's rows and columns distributed alike (A Q must be laid "
                   "out like Q); the row and column layouts differ");
  });
}

/// The leading k columns of a host matrix, as a device matrix.
template <class T>
Matrix<T> leading_columns(const ExecSpace& exec, const HostMatrix<T>& m, index_type k,
                          const char* label) {
  HostMatrix<T> lead("strata::sketch::leading", m.extent(0), static_cast<std::size_t>(k));
  for (std::size_t j = 0; j < lead.extent(1); ++j)
    for (std::size_t i = 0; i < lead.extent(0); ++i) lead(i, j) = m(i, j);
  return device_copy(exec, lead, label);
}

/// Symmetric part of a small device matrix, on the host.
template <class T>
HostMatrix<T> symmetric_part(const ExecSpace& exec, const Matrix<T>& b) {
  auto h = host_copy(exec, ConstMatrix<T>(b));
  const std::size_t n = h.extent(0);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = j + 1; i < n; ++i) {
      const T mean = (h(i, j) + h(j, i)) / T(2);
      h(i, j) = mean;
      h(j, i) = mean;
    }
  return h;
}

}  // namespace

template <class T>
SvdResult<T> randomized_svd(const ExecSpace& exec, const LinearOperator<T>& a,
                            const LowRankOptions& options) {
  const bool adaptive = options.tolerance > 0;
  // Temporaries (the test matrix, the basis, B^T and the small factors) from the scratch cache
  // (core/scratch.hpp): repeated calls of one shape allocate only U and V.
  strata::detail::Scratch scratch(exec);
  auto range = adaptive ? detail::blocked_range_finder(exec, a, options, false)
                        : detail::fixed_range_finder(exec, a, options, false, false, &scratch);
  SvdResult<T> result;
  result.timings = range.timings;
  result.matvecs = range.matvecs;
  result.converged = range.converged;
  const index_type l = range.basis.cols();
  const index_type k = adaptive ? l : options.rank;
  result.rank = k;
  result.u = row_block(a, k, "strata::sketch::U");
  result.v = col_block(a, k, "strata::sketch::V");
  if (l == 0) {
    // Adaptive mode on an operator already within the tolerance of zero.
    result.error_estimate = range.error_estimate;
    return result;
  }
  // B^T = A^T Q = Q2 R2, so B = R2^T Q2^T and the SVD of the l x l R2^T gives that of B.
  auto bt = col_block(a, l, scratch);
  {
    auto phase = result.timings.scope("project");
    detail::apply_transpose(exec, a, range.basis, bt, false);
    result.matvecs += l;
  }
  const auto r2 =
      scratch.zeroed<Matrix<T>>(static_cast<std::size_t>(l), static_cast<std::size_t>(l));
  {
    auto phase = result.timings.scope("qr");
    detail::orthonormalize_block(exec, bt, options.qr, r2);
  }
  Matrix<T> left, right;
  {
    // R2 = U2 S V2^T, so B = R2^T Q2^T = V2 S (Q2 U2)^T: B's left singular vectors (in Q's
    // coordinates) are V2, its right ones Q2 U2 (= Bt U2, formed below).
    auto phase = result.timings.scope("svd");
    const auto u2 =
        scratch.uninitialized<Matrix<T>>(static_cast<std::size_t>(l), static_cast<std::size_t>(l));
    const auto v2 =
        scratch.uninitialized<Matrix<T>>(static_cast<std::size_t>(l), static_cast<std::size_t>(l));
    // R2 is the same on every rank, but two ranks' SVDs need not be (cuSOLVER promises no
    // bitwise reproducibility; a sign or a basis of a cluster could differ): rank 0 factors and
    // broadcasts, so U and V are consistent across the rows every rank forms.
    const Comm& comm = a.comm();
    Kokkos::View<T*, Kokkos::HostSpace> s("strata::sketch::singular_values",
                                          static_cast<std::size_t>(l));
    collective(comm, [&] {
      if (comm.rank() != 0) return;
      const auto values = linalg::small_svd(exec, ConstMatrix<T>(r2), u2, v2, options.small_svd);
      for (index_type j = 0; j < l; ++j) s(j) = values[static_cast<std::size_t>(j)];
    });
    comm.broadcast(exec, u2, 0);
    comm.broadcast(exec, v2, 0);
    comm.broadcast(Kokkos::DefaultHostExecutionSpace(), s, 0);
    const auto lead = std::make_pair(std::size_t{0}, static_cast<std::size_t>(k));
    left = Kokkos::subview(v2, Kokkos::ALL, lead);
    right = Kokkos::subview(u2, Kokkos::ALL, lead);
    result.s.assign(s.data(), s.data() + k);
  }
  {
    auto phase = result.timings.scope("assemble");
    multiply_replicated(exec, range.basis, ConstMatrix<T>(left), result.u);
    multiply_replicated(exec, bt, ConstMatrix<T>(right), result.v);
  }
  if (adaptive) {
    // No truncation: U S V^T = Q Q^T A, whose error the range finder already estimated.
    result.error_estimate = range.error_estimate;
  } else {
    auto phase = result.timings.scope("estimate");
    result.error_estimate =
        detail::posterior_error(exec, a, result.u, result.s, result.v, options, result.matvecs);
  }
  return result;
}

template <class T>
SvdResult<T> randomized_svd(const ExecSpace& exec, const DistMatrix<T>& a,
                            const LowRankOptions& options) {
  return randomized_svd(exec, DistDenseOperator<T>(a), options);
}

template <class T>
EigResult<T> randomized_symmetric_eig(const ExecSpace& exec, const LinearOperator<T>& a,
                                      const LowRankOptions& options) {
  require_square_operator(a, "the randomized symmetric eigendecomposition");
  const bool adaptive = options.tolerance > 0;
  auto range = adaptive ? detail::blocked_range_finder(exec, a, options, true)
                        : detail::fixed_range_finder(exec, a, options, true, false);
  EigResult<T> result;
  result.timings = range.timings;
  result.matvecs = range.matvecs;
  result.converged = range.converged;
  const index_type l = range.basis.cols();
  const index_type k = adaptive ? l : options.rank;
  result.rank = k;
  result.vectors = row_block(a, k, "strata::sketch::eigenvectors");
  if (l == 0) {
    result.error_estimate = range.error_estimate;
    return result;
  }
  Matrix<T> b("strata::sketch::B", static_cast<std::size_t>(l), static_cast<std::size_t>(l));
  {
    auto phase = result.timings.scope("project");
    auto aq = row_block(a, l, "strata::sketch::AQ");
    detail::apply(exec, a, range.basis, aq);
    result.matvecs += l;
    inner_product(exec, range.basis, aq, b);
  }
  Matrix<T> w;
  {
    auto phase = result.timings.scope("eig");
    const auto eig = detail::small_symmetric_eig(symmetric_part(exec, b));
    std::vector<std::size_t> order(static_cast<std::size_t>(l));
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
      return std::abs(eig.values[x]) > std::abs(eig.values[y]);
    });
    HostMatrix<T> sorted("strata::sketch::W", l, l);
    result.values.resize(static_cast<std::size_t>(k));
    for (index_type j = 0; j < l; ++j) {
      for (index_type i = 0; i < l; ++i) sorted(i, j) = eig.vectors(i, order[j]);
      if (j < k) result.values[j] = eig.values[order[j]];
    }
    w = leading_columns(exec, sorted, k, "strata::sketch::Wk");
  }
  {
    auto phase = result.timings.scope("assemble");
    multiply_replicated(exec, range.basis, ConstMatrix<T>(w), result.vectors);
  }
  {
    auto phase = result.timings.scope("estimate");
    result.error_estimate = detail::posterior_error(exec, a, result.vectors, result.values,
                                                    result.vectors, options, result.matvecs);
  }
  return result;
}

template <class T>
EigResult<T> nystrom(const ExecSpace& exec, const LinearOperator<T>& a,
                     const LowRankOptions& options) {
  require_square_operator(a, "the Nystrom approximation");
  collective(a.comm(), [&] {
    STRATA_REQUIRE(options.tolerance == 0 && options.power_iterations == 0, InvalidArgument,
                   "the Nystrom approximation takes a fixed rank without power iterations; got "
                   "tolerance ",
                   options.tolerance, " and ", options.power_iterations,
                   " power iterations (use randomized_symmetric_eig for those)");
    detail::check_low_rank_options(a.rows(), a.cols(), options, false);
  });
  const index_type n = a.rows();
  const index_type l = detail::sketch_size(n, n, options);
  const index_type k = options.rank;
  EigResult<T> result;
  result.rank = k;
  auto omega = col_block(a, l, "strata::sketch::Omega");
  auto y = row_block(a, l, "strata::sketch::Y");
  {
    auto phase = result.timings.scope("qr");
    detail::fill_basis_test_matrix(exec, options.test_matrix, omega, 0);
    detail::orthonormalize_block(exec, omega, options.qr);
  }
  {
    auto phase = result.timings.scope("sketch");
    detail::apply(exec, a, omega, y);
    result.matvecs += l;
    detail::require_finite_block(exec, y, "the sketch A * Omega");
  }
  Matrix<T> cinv;
  {
    auto phase = result.timings.scope("shift");
    // nu = sqrt(n) eps(||Y||_2), ||Y||_2 from the eigenvalues of the l x l Gram matrix Y^T Y.
    Matrix<T> gram("strata::sketch::YtY", static_cast<std::size_t>(l), static_cast<std::size_t>(l));
    inner_product(exec, y, y, gram);
    const auto gram_eig = detail::small_symmetric_eig(symmetric_part(exec, gram));
    const T norm_y = std::sqrt(std::max(T(0), gram_eig.values.back()));
    STRATA_REQUIRE(norm_y > 0, NumericalError,
                   "the Nystrom sketch A * Omega is zero: the operator vanishes on the sketched "
                   "subspace, so there is nothing to approximate");
    const T spacing = std::nextafter(norm_y, std::numeric_limits<T>::infinity()) - norm_y;
    const T nu = std::sqrt(static_cast<T>(n)) * spacing;
    result.shift = static_cast<double>(nu);
    const auto yl = y.local();
    const auto ol = omega.local();
    const auto rows = yl.extent(0);
    Kokkos::parallel_for(
        "strata::sketch::nystrom::shift", Kokkos::RangePolicy<ExecSpace>(exec, 0, yl.size()),
        KOKKOS_LAMBDA(const std::size_t t) {
          yl(t % rows, t / rows) += nu * ol(t % rows, t / rows);
        });
    Matrix<T> b("strata::sketch::OmegaTY", static_cast<std::size_t>(l),
                static_cast<std::size_t>(l));
    inner_product(exec, omega, y, b);
    HostMatrix<T> c("strata::sketch::C", l, l);
    const bool ok = detail::small_cholesky_upper(symmetric_part(exec, b), c);
    STRATA_REQUIRE(ok, NumericalError,
                   "the Cholesky factor of Omega^T (A + nu I) Omega failed: the operator does not "
                   "look positive semidefinite (use randomized_symmetric_eig for indefinite "
                   "operators)");
    cinv = device_copy(exec, detail::small_triangular_inverse(c), "strata::sketch::Cinv");
  }
  auto e = row_block(a, l, "strata::sketch::E");
  Matrix<T> re("strata::sketch::RE", static_cast<std::size_t>(l), static_cast<std::size_t>(l));
  {
    auto phase = result.timings.scope("qr");
    multiply_replicated(exec, y, ConstMatrix<T>(cinv), e);
    detail::orthonormalize_block(exec, e, options.qr, re);
  }
  Matrix<T> ur;
  {
    auto phase = result.timings.scope("svd");
    const auto svd = detail::small_svd(host_copy(exec, ConstMatrix<T>(re)));
    result.values.resize(static_cast<std::size_t>(k));
    for (index_type j = 0; j < k; ++j) {
      result.values[j] = std::max(T(0), svd.s[j] * svd.s[j] - static_cast<T>(result.shift));
    }
    ur = leading_columns(exec, svd.u, k, "strata::sketch::Ur");
  }
  result.vectors = row_block(a, k, "strata::sketch::eigenvectors");
  {
    auto phase = result.timings.scope("assemble");
    multiply_replicated(exec, e, ConstMatrix<T>(ur), result.vectors);
  }
  {
    auto phase = result.timings.scope("estimate");
    result.error_estimate = detail::posterior_error(exec, a, result.vectors, result.values,
                                                    result.vectors, options, result.matvecs);
  }
  return result;
}

#define STRATA_LOW_RANK_INSTANTIATE(T)                                                          \
  template SvdResult<T> randomized_svd<T>(const ExecSpace&, const LinearOperator<T>&,           \
                                          const LowRankOptions&);                               \
  template SvdResult<T> randomized_svd<T>(const ExecSpace&, const DistMatrix<T>&,               \
                                          const LowRankOptions&);                               \
  template EigResult<T> randomized_symmetric_eig<T>(const ExecSpace&, const LinearOperator<T>&, \
                                                    const LowRankOptions&);                     \
  template EigResult<T> nystrom<T>(const ExecSpace&, const LinearOperator<T>&,                  \
                                   const LowRankOptions&);
STRATA_LOW_RANK_INSTANTIATE(float)
STRATA_LOW_RANK_INSTANTIATE(double)
#undef STRATA_LOW_RANK_INSTANTIATE

}  // namespace strata::sketch
