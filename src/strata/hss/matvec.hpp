// Products with an HSS matrix: Y = A X or Y = A^T X for a block of k vectors.
#pragma once

#include "strata/core/op.hpp"
#include "strata/hss/detail/tree_sweep.hpp"
#include "strata/hss/hss_matrix.hpp"

namespace strata::hss {

/// strata::Op (core/op.hpp), also reachable as hss::Op.
using strata::Op;

/// Y = op(A) X for X, Y n x k in the user's original order (the tree's permutation is applied on
/// the way in and out). The standard HSS product (Chandrasekaran, Gu & Pals 2006; Xia et al. 2010,
/// Alg. "HSS matrix-vector multiplication"):
///   upward:   x^_leaf = V_i^T x(I_i),  x^_p = V_p^T [x^_2p; x^_2p+1]               (levels L..1)
///   downward: y^_i = B_{i,i^1} x^_{i^1} + (U_parent)_{rows of i} y^_parent           (levels 1..L)
///   leaves:   y(I_i) = D_i x(I_i) + U_i y^_i
/// (for op = transpose the roles of U and V swap, B_{i,i^1} becomes B_{i^1,i}^T, D becomes D^T).
/// On a GPU every level is one kernel with a Kokkos team per node: 2L + 1 launches; on a host
/// backend four kernels sweep whole subtrees (detail/tree_sweep.hpp). Cost: 2 k times the
/// number of generator entries, O(n r k) flops for rank r, plus O(n k) for the permutation.
/// Throws ShapeMismatch when X or Y is not n x k, InvalidArgument when they share memory.
template <class T>
void matvec(const ExecSpace& exec, const HssMatrix<T>& a, const ConstMatrix<T>& x,
            const Matrix<T>& y, Op op = Op::none);

namespace detail {
/// The same product in the tree's permuted order (no permutation applied): the building block of
/// matvec, also used by the ULV residual check and the distributed code. `sweep`: the route over
/// the levels (detail/tree_sweep.hpp); both give the same result bit for bit.
template <class T>
void matvec_permuted(const ExecSpace& exec, const HssMatrix<T>& a, const ConstMatrix<T>& x,
                     const Matrix<T>& y, Op op, TreeSweep sweep = TreeSweep::automatic);

/// y(p, :) = x(perm(p), :) (to permuted order) or y(perm(p), :) = x(p, :) (back to user order).
template <class T>
void permute_rows(const ExecSpace& exec, const IndexArray& perm, const ConstMatrix<T>& x,
                  const Matrix<T>& y, bool to_permuted);
}  // namespace detail

#define STRATA_HSS_MATVEC_DECLARE(T)                                                           \
  extern template void matvec<T>(const ExecSpace&, const HssMatrix<T>&, const ConstMatrix<T>&, \
                                 const Matrix<T>&, Op);                                        \
  extern template void detail::matvec_permuted<T>(const ExecSpace&, const HssMatrix<T>&,       \
                                                  const ConstMatrix<T>&, const Matrix<T>&, Op, \
                                                  detail::TreeSweep);                          \
  extern template void detail::permute_rows<T>(const ExecSpace&, const IndexArray&,            \
                                               const ConstMatrix<T>&, const Matrix<T>&, bool);
STRATA_HSS_MATVEC_DECLARE(float)
STRATA_HSS_MATVEC_DECLARE(double)
#undef STRATA_HSS_MATVEC_DECLARE

}  // namespace strata::hss
