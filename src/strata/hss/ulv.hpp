// ULV factorization and solution of linear systems with an HSS matrix.
//
// General variant (Chandrasekaran, Gu & Pals, SIAM J. Matrix Anal. Appl. 28 (2006); Xia,
// Chandrasekaran, Gu & Li, Numer. Linear Algebra Appl. 17 (2010), Sec. 3 "ULV-type
// factorization"). Bottom-up over the levels, for every node tau of the current (reduced) problem
// D_tau x_tau + U_tau y^_tau = b_tau with m unknowns and row rank r:
//   1. QR of U_tau: Q^T U_tau = [R; 0] (R r x r): the last m - r equations no longer see the rest
//      of the matrix;
//   2. LQ of those rows: (Q^T D_tau)(r:m, :) P = [L 0] (L lower triangular), x_tau = P [z1; z2]:
//      z1 (m - r unknowns) is solved locally, z2 (r unknowns) stays;
//   3. merge: the parent's reduced block is [[D^_a, R_a B_ab V^_b^T], [R_b B_ba V^_a^T, D^_b]] with
//      D^ = (Q^T D P)(0:r, m-r:m) and V^ = (P^T V)(m-r:m, :); its bases are diag(R_a, R_b) U_p and
//      diag(V^_a, V^_b) V_p; the known part of z1 enters the parents' right-hand sides.
// The root block (sum of its children's ranks) is factored by LU with partial pivoting.
// Symmetric positive definite variant (Xia et al. 2010, Sec. 4; needs V = U, B_ba = B_ab^T, D
// symmetric): the same Q, then Q^T D Q = [[W_kk, W_ke], [W_ek, W_ee]], Cholesky W_ee = L L^T and
// the Schur complement W_kk - W_ke W_ee^{-1} W_ek as the reduced block (with V^ = R); root by
// Cholesky. Only orthogonal transforms and triangular solves on the leaves' blocks.
//
// The per-level steps are detail/ulv_steps.hpp; the distributed ULV (distributed.hpp) runs the
// same steps on each rank's subtrees and on the replicated top.
//
// Cost: O(sum over nodes of m_tau^3) = O(N r^2) flops for leaf size m ~ 2r to factor, O(N r k) to
// solve k right-hand sides. Each level of the factorization and of each solve sweep is one kernel
// with a Kokkos team per node. Backward stable in the general variant (orthogonal transforms plus
// pivoted LU at the root); the SPD variant is stable for SPD matrices.
#pragma once

#include "strata/hss/hss_matrix.hpp"
#include "strata/hss/matvec.hpp"

namespace strata::hss {

enum class UlvVariant {
  general,                     ///< any nonsingular HSS matrix (QR/LQ + pivoted LU at the root)
  symmetric_positive_definite  ///< SPD with V = U, B_ba = B_ab^T (Cholesky-based, ~half the work)
};

/// Per-level factor data; tables indexed by node position on the level (device + host copies).
///   m(i): unknowns of the node's reduced problem (leaf size, or the sum of the children's ranks);
///   r(i): its row rank (kept unknowns), c(i): its column rank; 0 at the root.
///   square_offset: prefix sums of m^2 (Q, P, W); rank_square_offset: of r^2 (R);
///   basis_offset: of m c (Vt = P^T V); m_offset, r_offset, e_offset, c_offset: prefix sums of
///   m, r, m - r and c (row slices of the stacked vectors of the solve).
template <class T>
struct UlvLevel {
  index_type nodes = 0;
  IndexArray m, r, c, square_offset, rank_square_offset, basis_offset, m_offset, r_offset, e_offset,
      c_offset;
  HostIndexArray m_host, r_host, c_host, square_offset_host, rank_square_offset_host,
      basis_offset_host, m_offset_host, r_offset_host, e_offset_host, c_offset_host;
  FlatArray<T> q, p, w, rfactor, vt;
};

/// The ULV factors of an HSS matrix: levels 1..L as above, level 0 the root's LU (or Cholesky)
/// factor `root` (m_root x m_root) with pivots. Shares the HSS generators (B, V) with `matrix`.
template <class T>
struct UlvFactor {
  HssMatrix<T> matrix;
  UlvVariant variant = UlvVariant::general;
  std::vector<UlvLevel<T>> levels;  // index 0: the root (one node, r = c = 0)
  Kokkos::View<int*, MemSpace> root_pivots;
  double factor_time_s = 0;
};

struct UlvOptions {
  UlvVariant variant = UlvVariant::general;
};

/// Factors A. Throws NumericalError when a triangular factor or the root is exactly singular
/// (general) or a pivot is not positive (SPD variant: A is not SPD to working precision), and
/// InvalidArgument when the SPD variant is asked for a matrix whose row and column ranks differ.
template <class T>
UlvFactor<T> ulv_factor(const ExecSpace& exec, const HssMatrix<T>& a,
                        const UlvOptions& options = {});

struct UlvSolveResult {
  /// ||A X - B||_F / ||B||_F with A applied by the HSS matvec; -1 when not computed.
  double residual = -1;
  /// A lower bound on cond_2(A) (detail/conditioning.hpp); -1 when not computed.
  double condition_lower_bound = -1;
  double time_s = 0;  ///< time of the solve sweeps (residual excluded)
};

/// X = A^{-1} B for B, X n x k in the user's original order (X may not alias B). One upward sweep,
/// a root solve and one downward sweep: 2L + 1 kernels, O(N r k) flops. With
/// compute_residual, one more HSS matvec gives the relative residual, and X is checked: 16 HSS
/// products with one vector and 2 solves give a lower bound on cond_2(A), and NumericalError is
/// thrown when X has NaN/Inf entries or that bound reaches 1/(K u), where the solve's forward error
/// bound is void (A singular to working precision; see detail/conditioning.hpp). X holds the
/// computed solution then.
template <class T>
UlvSolveResult ulv_solve(const ExecSpace& exec, const UlvFactor<T>& factor, const ConstMatrix<T>& b,
                         const Matrix<T>& x, bool compute_residual = true);

#define STRATA_HSS_ULV_DECLARE(T)                                                    \
  extern template UlvFactor<T> ulv_factor<T>(const ExecSpace&, const HssMatrix<T>&,  \
                                             const UlvOptions&);                     \
  extern template UlvSolveResult ulv_solve<T>(const ExecSpace&, const UlvFactor<T>&, \
                                              const ConstMatrix<T>&, const Matrix<T>&, bool);
STRATA_HSS_ULV_DECLARE(float)
STRATA_HSS_ULV_DECLARE(double)
#undef STRATA_HSS_ULV_DECLARE

}  // namespace strata::hss
