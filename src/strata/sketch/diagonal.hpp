// Diagonal estimation from matrix-vector products.
#pragma once

#include <cstdint>
#include <string>

#include "strata/core/progress.hpp"
#include "strata/core/random.hpp"
#include "strata/dist/linear_operator.hpp"
#include "strata/dist/tall_skinny_qr.hpp"

namespace strata::sketch {

enum class DiagonalMethod {
  /// Bekas, Kokiopoulou & Saad (Appl. Numer. Math. 57, 2007, eq. (2)):
  /// d = sum_j (A g_j) .* g_j ./ sum_j g_j .* g_j over m probes. With Rademacher probes it is
  /// unbiased, Var(d_i) = (1/m) sum_{k != i} a_ik^2, and exact for diagonal A.
  hutchinson,
  /// Diag++ (Baston & Nakatsukasa, "Stochastic diagonal estimation: probabilistic bounds and an
  /// improved algorithm", arXiv 2201.10684, Algorithm 3): Q = orth(A S) from floor(m/3) probes;
  /// d = diag(Q Q^T A) exactly (from A^T Q, another floor(m/3) products) plus the estimator
  /// above on (I - Q Q^T) A with the remaining probes. Exact for A of rank <= floor(m/3); the
  /// error depends on the tail of A's singular values instead of ||A||_F.
  deflated,
};

/// "hutchinson", "diag++".
const char* diagonal_method_name(DiagonalMethod method);
/// Parses the names above; throws InvalidArgument otherwise.
DiagonalMethod parse_diagonal_method(const std::string& name);

struct DiagonalOptions {
  DiagonalMethod method = DiagonalMethod::deflated;
  /// Total budget m of products (with A, and with A^T for a non-symmetric A under Diag++).
  index_type matvecs = 30;
  Distribution distribution = Distribution::rademacher;
  std::uint64_t seed = 0;
  /// Diag++ needs Q^T A: for symmetric A it is (A Q)^T; otherwise apply_transpose is used.
  bool symmetric = true;
  TallSkinnyQrOptions qr{TallSkinnyQrMethod::householder};
};

template <class T>
struct DiagonalResult {
  /// The estimate of diag(A): an n x 1 matrix distributed by A's row layout.
  DistMatrix<T> diagonal;
  index_type matvecs = 0;
  index_type hutchinson_probes = 0;
  PhaseTimer timings;
};

/// Estimate of diag(A) for a square operator whose row and column layouts agree. Collective.
/// Cost: options.matvecs products plus O(n m^2 / ranks) flops. Throws ShapeMismatch (A not
/// square), InvalidArgument (budget < 1, or < 3 for Diag++), NonFiniteInput.
template <class T>
DiagonalResult<T> estimate_diagonal(const ExecSpace& exec, const LinearOperator<T>& a,
                                    const DiagonalOptions& options = {});

#define STRATA_DIAGONAL_DECLARE(T)                        \
  extern template DiagonalResult<T> estimate_diagonal<T>( \
      const ExecSpace&, const LinearOperator<T>&, const DiagonalOptions&);
STRATA_DIAGONAL_DECLARE(float)
STRATA_DIAGONAL_DECLARE(double)
#undef STRATA_DIAGONAL_DECLARE

}  // namespace strata::sketch
