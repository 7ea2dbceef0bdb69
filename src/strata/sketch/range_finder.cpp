#include "strata/sketch/range_finder.hpp"

#include <algorithm>
#include <cmath>

#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/sketch/detail/lowrank_common.hpp"
#include "strata/sketch/detail/range_finder_impl.hpp"

namespace strata::sketch {

const char* test_matrix_name(TestMatrixKind kind) {
  switch (kind) {
    case TestMatrixKind::gaussian:
      return "gaussian";
    case TestMatrixKind::rademacher:
      return "rademacher";
    case TestMatrixKind::srht:
      return "srht";
    case TestMatrixKind::sparse_sign:
      return "sparse-sign";
  }
  return "unknown";
}

TestMatrixKind parse_test_matrix(const std::string& name) {
  for (auto k : {TestMatrixKind::gaussian, TestMatrixKind::rademacher, TestMatrixKind::srht,
                 TestMatrixKind::sparse_sign}) {
    if (name == test_matrix_name(k)) return k;
  }
  STRATA_THROW(InvalidArgument, "unknown test matrix '", name,
               "'; expected gaussian, rademacher, srht or sparse-sign");
}

namespace detail {

void check_low_rank_options(index_type rows, index_type cols, const LowRankOptions& o,
                            bool adaptive) {
  const index_type smallest = std::min(rows, cols);
  STRATA_REQUIRE(rows >= 1 && cols >= 1, InvalidArgument, "the operator is ", rows, " x ", cols,
                 "; expected at least one row and one column");
  STRATA_REQUIRE(o.oversample >= 0, InvalidArgument, "the oversampling must be >= 0, got ",
                 o.oversample);
  STRATA_REQUIRE(o.power_iterations >= 0, InvalidArgument,
                 "the number of power iterations must be >= 0, got ", o.power_iterations);
  STRATA_REQUIRE(!o.qr.span_only, InvalidArgument,
                 "LowRankOptions::qr.span_only must be false: the drivers use a span-only pass "
                 "for subspace iteration's intermediate bases themselves, and their results need "
                 "orthonormal bases");
  STRATA_REQUIRE(o.error_probes >= 0, InvalidArgument,
                 "the number of error probes must be >= 0, got ", o.error_probes);
  STRATA_REQUIRE(std::isfinite(o.tolerance) && o.tolerance >= 0, InvalidArgument,
                 "the tolerance must be finite and >= 0, got ", o.tolerance);
  if (adaptive) {
    STRATA_REQUIRE(o.tolerance > 0, InvalidArgument,
                   "the adaptive range finder needs a tolerance > 0");
    STRATA_REQUIRE(o.rank == 0, InvalidArgument, "give either a rank (", o.rank,
                   ") or a tolerance (", o.tolerance, "), not both");
    STRATA_REQUIRE(o.block_size >= 1, InvalidArgument, "the block size must be >= 1, got ",
                   o.block_size);
    STRATA_REQUIRE(o.max_rank >= 0 && o.max_rank <= smallest, InvalidArgument,
                   "max_rank must be in [0, min(m, n) = ", smallest, "], got ", o.max_rank);
    STRATA_REQUIRE(o.error_probes >= 1, InvalidArgument,
                   "the adaptive range finder needs at least one error probe, got ",
                   o.error_probes);
    STRATA_REQUIRE(o.test_matrix.kind == TestMatrixKind::gaussian ||
                       o.test_matrix.kind == TestMatrixKind::rademacher,
                   InvalidArgument,
                   "the adaptive range finder draws its test matrix block by "
                   "block as the rank grows; the '",
                   test_matrix_name(o.test_matrix.kind),
                   "' operator is drawn whole for a fixed size, so use gaussian or rademacher "
                   "(or give a fixed rank)");
  } else {
    STRATA_REQUIRE(o.rank >= 1, InvalidArgument, "the rank must be >= 1, got ", o.rank,
                   " (or give a tolerance for an adaptive rank)");
    STRATA_REQUIRE(o.rank <= smallest, InvalidArgument, "the rank ", o.rank,
                   " exceeds min(m, n) = ", smallest, " of the ", rows, " x ", cols, " operator");
  }
}

index_type sketch_size(index_type rows, index_type cols, const LowRankOptions& o) {
  return std::min(o.rank + o.oversample, std::min(rows, cols));
}

template <class T>
RangeFinderResult<T> fixed_range_finder(const ExecSpace& exec, const LinearOperator<T>& a,
                                        const LowRankOptions& o, bool symmetric, bool estimate,
                                        strata::detail::Scratch* scratch) {
  collective(a.comm(), [&] { check_low_rank_options(a.rows(), a.cols(), o, false); });
  const index_type l = sketch_size(a.rows(), a.cols(), o);
  RangeFinderResult<T> result;
  auto omega =
      scratch != nullptr ? col_block(a, l, *scratch) : col_block(a, l, "strata::sketch::Omega");
  auto y = scratch != nullptr ? row_block(a, l, *scratch) : row_block(a, l, "strata::sketch::Y");
  {
    auto phase = result.timings.scope("sketch");
    fill_basis_test_matrix(exec, o.test_matrix, omega, 0);
    apply(exec, a, omega, y);
    result.matvecs += l;
    require_finite_block(exec, y, "the sketch A * Omega");
  }
  // Subspace iteration (HMT Alg. 4.4): W = orth(A^T Q), Q = orth(A W); omega holds W. The bases
  // before the last need only their span and a bounded condition number: one CholeskyQR pass
  // (TallSkinnyQrOptions::span_only); the last is orthonormalized in full.
  TallSkinnyQrOptions intermediate = o.qr;
  intermediate.span_only = true;
  {
    auto phase = result.timings.scope("qr");
    orthonormalize_block(exec, y, o.power_iterations > 0 ? intermediate : o.qr);
  }
  for (int step = 0; step < o.power_iterations; ++step) {
    {
      auto phase = result.timings.scope("sketch");
      apply_transpose(exec, a, y, omega, symmetric);
      result.matvecs += l;
    }
    {
      auto phase = result.timings.scope("qr");
      orthonormalize_block(exec, omega, intermediate);
    }
    {
      auto phase = result.timings.scope("sketch");
      apply(exec, a, omega, y);
      result.matvecs += l;
    }
    {
      auto phase = result.timings.scope("qr");
      orthonormalize_block(exec, y, step + 1 < o.power_iterations ? intermediate : o.qr);
    }
  }
  result.basis = y;
  if (estimate && o.error_probes > 0) {
    auto phase = result.timings.scope("estimate");
    auto w = col_block(a, o.error_probes, "strata::sketch::probes");
    fill_test_matrix(exec, probe_stream(o.test_matrix), w, 0);
    auto z = row_block(a, o.error_probes, "strata::sketch::probe_images");
    apply(exec, a, w, z);
    result.matvecs += o.error_probes;
    project_out(exec, y, z);
    result.error_estimate = estimate_from_norms(column_norms(exec, z), o.estimator);
  }
  return result;
}

template <class T>
RangeFinderResult<T> blocked_range_finder(const ExecSpace& exec, const LinearOperator<T>& a,
                                          const LowRankOptions& o, bool symmetric) {
  collective(a.comm(), [&] { check_low_rank_options(a.rows(), a.cols(), o, true); });
  const index_type max_rank = o.max_rank > 0 ? o.max_rank : std::min(a.rows(), a.cols());
  RangeFinderResult<T> result;
  result.converged = false;
  Progress progress("adaptive range finder (rank)", max_rank, a.comm().rank());

  // Probes: their images are formed once and deflated by every new block of the basis.
  auto w = col_block(a, o.error_probes, "strata::sketch::probes");
  auto z = row_block(a, o.error_probes, "strata::sketch::probe_images");
  {
    auto phase = result.timings.scope("estimate");
    fill_test_matrix(exec, probe_stream(o.test_matrix), w, 0);
    apply(exec, a, w, z);
    result.matvecs += o.error_probes;
    require_finite_block(exec, z, "the sketch A * Omega");
    result.error_estimate = estimate_from_norms(column_norms(exec, z), o.estimator);
  }

  // The basis grows inside a buffer whose capacity doubles, so appending a block copies
  // O(m rank) values amortized.
  index_type rank = 0;
  index_type capacity = std::min(max_rank, std::max<index_type>(2 * o.block_size, 1));
  auto basis = row_block(a, capacity, "strata::sketch::Q");
  while (result.error_estimate > o.tolerance && rank < max_rank) {
    const index_type b = std::min(o.block_size, max_rank - rank);
    auto omega = col_block(a, b, "strata::sketch::Omega");
    auto y = row_block(a, b, "strata::sketch::Y");
    const auto q = columns(basis, 0, rank);
    {
      auto phase = result.timings.scope("sketch");
      // Columns [rank, rank + b) of one global test matrix.
      fill_test_matrix(exec, basis_stream(o.test_matrix), omega, rank);
      apply(exec, a, omega, y);
      result.matvecs += b;
    }
    for (int step = 0; step < o.power_iterations; ++step) {
      {
        auto phase = result.timings.scope("qr");
        project_out(exec, q, y);
        orthonormalize_block(exec, y, o.qr);
      }
      {
        auto phase = result.timings.scope("sketch");
        apply_transpose(exec, a, y, omega, symmetric);
        result.matvecs += b;
      }
      {
        auto phase = result.timings.scope("qr");
        orthonormalize_block(exec, omega, o.qr);
      }
      {
        auto phase = result.timings.scope("sketch");
        apply(exec, a, omega, y);
        result.matvecs += b;
      }
    }
    {
      // Block Gram-Schmidt, twice: the second pass removes what rounding left of range(Q).
      auto phase = result.timings.scope("qr");
      for (int pass = 0; pass < 2; ++pass) {
        project_out(exec, q, y);
        orthonormalize_block(exec, y, o.qr);
      }
    }
    if (rank + b > capacity) {
      capacity = std::min(max_rank, std::max(2 * capacity, rank + b));
      auto grown = row_block(a, capacity, "strata::sketch::Q");
      Kokkos::deep_copy(exec, columns(grown, 0, rank).local(), q.local());
      basis = grown;
    }
    Kokkos::deep_copy(exec, columns(basis, rank, rank + b).local(), y.local());
    rank += b;
    {
      auto phase = result.timings.scope("estimate");
      project_out(exec, y, z);
      result.error_estimate = estimate_from_norms(column_norms(exec, z), o.estimator);
    }
    progress.advance(b);
  }
  progress.finish();
  result.converged = result.error_estimate <= o.tolerance;
  // A contiguous copy of exactly `rank` columns.
  auto final_basis = row_block(a, rank, "strata::sketch::Q");
  Kokkos::deep_copy(exec, final_basis.local(), columns(basis, 0, rank).local());
  result.basis = final_basis;
  return result;
}

}  // namespace detail

template <class T>
RangeFinderResult<T> randomized_range_finder(const ExecSpace& exec, const LinearOperator<T>& a,
                                             const LowRankOptions& options) {
  return detail::fixed_range_finder(exec, a, options, false, true);
}

template <class T>
RangeFinderResult<T> adaptive_range_finder(const ExecSpace& exec, const LinearOperator<T>& a,
                                           const LowRankOptions& options) {
  return detail::blocked_range_finder(exec, a, options, false);
}

#define STRATA_RANGE_FINDER_INSTANTIATE(T)                                           \
  template RangeFinderResult<T> randomized_range_finder<T>(                          \
      const ExecSpace&, const LinearOperator<T>&, const LowRankOptions&);            \
  template RangeFinderResult<T> adaptive_range_finder<T>(                            \
      const ExecSpace&, const LinearOperator<T>&, const LowRankOptions&);            \
  template RangeFinderResult<T> detail::fixed_range_finder<T>(                       \
      const ExecSpace&, const LinearOperator<T>&, const LowRankOptions&, bool, bool, \
      strata::detail::Scratch*);                                                     \
  template RangeFinderResult<T> detail::blocked_range_finder<T>(                     \
      const ExecSpace&, const LinearOperator<T>&, const LowRankOptions&, bool);
STRATA_RANGE_FINDER_INSTANTIATE(float)
STRATA_RANGE_FINDER_INSTANTIATE(double)
#undef STRATA_RANGE_FINDER_INSTANTIATE

}  // namespace strata::sketch
