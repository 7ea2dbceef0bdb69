// Sketches for matrix products A^T B by coordinated (priority or threshold) row sampling (Daliri,
// Freire, Li & Musco, "Matrix product sketching via coordinated sampling", ICLR 2025,
// arXiv 2501.17836; the inner-product case is Daliri, Freire, Musco, Santos & Zhang, arXiv
// 2309.16157). Each matrix is sketched on its own, with only a seed shared; the two sketches
// alone then give an unbiased estimate of A^T B.
#pragma once

#include <cstdint>
#include <string>

#include "strata/core/progress.hpp"
#include "strata/dist/dist_matrix.hpp"

namespace strata::sketch {

enum class SamplingScheme {
  /// Priority sampling: rank R_i = h(i) / w_i with w_i = ||a_i||^2; keep the k rows of smallest
  /// rank; tau = the (k+1)-th smallest rank (infinity if at most k rows are nonzero). Exactly k
  /// rows (fewer if A has fewer nonzero rows).
  priority,
  /// Threshold sampling: keep row i iff h(i) <= k w_i / ||A||_F^2 (expected size <= k).
  threshold,
};

/// "priority", "threshold".
const char* sampling_scheme_name(SamplingScheme scheme);

struct CoordinatedSamplingOptions {
  SamplingScheme scheme = SamplingScheme::priority;
  /// Sketch size k. k = 2 / (delta eps^2) + 1 gives ||W - A^T B||_F <= eps ||A||_F ||B||_F with
  /// probability >= 1 - delta (priority sampling; Theorem 1 of arXiv 2501.17836).
  index_type sample_size = 64;
  /// Shared seed: the two matrices of a product must be sketched with the same seed.
  std::uint64_t seed = 0;
};

/// The sketch of one n x d matrix: the kept rows (global indices, ascending) with their values and
/// squared norms, replicated on every rank, and the sampling parameter.
template <class T>
struct ProductSketch {
  SamplingScheme scheme = SamplingScheme::priority;
  std::uint64_t seed = 0;
  index_type rows = 0, cols = 0;  ///< shape n x d of the sketched matrix
  index_type sample_size = 0;     ///< k requested
  /// Priority: tau. Threshold: k / ||A||_F^2 (row i is kept iff h(i) <= w_i * this).
  double tau = 0;
  HostVector<index_type> indices;  ///< kept rows, ascending (host)
  HostVector<double> weights;      ///< ||a_i||^2 of the kept rows (host)
  Matrix<T> values;                ///< kept rows of A, (kept x d), device
  PhaseTimer timings;
};

/// The shared hash h(i) in (0, 1): a 53-bit uniform from the Philox stream (seed, stream
/// 0x68617368), the same on every rank and backend.
double coordinated_hash(std::uint64_t seed, index_type row);

/// Sketch of A (n x d, rows distributed). Each rank selects its local k + 1 smallest ranks, the
/// candidates are gathered and the global k + 1 smallest chosen (ties broken by row index), so the
/// sketch is the same for every rank count. Cost: O(n d / ranks) for the row norms, O(n/ranks)
/// selection, an allgather of (k + 1) ranks per rank and an allreduce of the k x d kept rows.
/// Collective. Throws InvalidArgument (k < 1), NonFiniteInput (A has NaN/Inf).
template <class T>
ProductSketch<T> build_product_sketch(const ExecSpace& exec, const DistMatrix<T>& a,
                                      const CoordinatedSamplingOptions& options = {});

/// W = sum over rows i kept in both sketches of a_i b_i^T / p_i, an unbiased estimate of A^T B
/// (d x m, replicated), with p_i = min(1, w_i^A tau_A, w_i^B tau_B) the probability that i is in
/// both sketches. Cost O(k log k + c d m) for c common rows; no communication. Throws
/// InvalidArgument if the sketches differ in seed, scheme or row count.
template <class T>
Matrix<T> estimate_product(const ExecSpace& exec, const ProductSketch<T>& a,
                           const ProductSketch<T>& b);

#define STRATA_COORDINATED_SAMPLING_DECLARE(T)                                                     \
  extern template ProductSketch<T> build_product_sketch<T>(const ExecSpace&, const DistMatrix<T>&, \
                                                           const CoordinatedSamplingOptions&);     \
  extern template Matrix<T> estimate_product<T>(const ExecSpace&, const ProductSketch<T>&,         \
                                                const ProductSketch<T>&);
STRATA_COORDINATED_SAMPLING_DECLARE(float)
STRATA_COORDINATED_SAMPLING_DECLARE(double)
#undef STRATA_COORDINATED_SAMPLING_DECLARE

}  // namespace strata::sketch
