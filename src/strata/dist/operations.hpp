// Basic operations on block-row distributed matrices. All are collective over the matrix's
// communicator; small results are replicated on every rank. Explicitly instantiated for float and
// double in the default memory space.
#pragma once

#include <vector>

#include "strata/core/random.hpp"
#include "strata/dist/dist_matrix.hpp"

namespace strata {

/// Fills X with rows [row_begin, row_end) of the random matrix `stream` on every rank: the result
/// is the same global matrix for any number of ranks. No communication.
template <class T>
void fill_random(const ExecSpace& exec, const RandomStream& stream, const DistMatrix<T>& x);

/// The whole matrix on every rank (allgather of the row blocks). Cost: global_rows * cols values
/// received per rank.
template <class T>
Matrix<T> allgather_rows(const ExecSpace& exec, const DistMatrix<T>& x);

/// Same as allgather_rows for a plain local block distributed by `layout`.
template <class T>
Matrix<T> allgather_rows(const ExecSpace& exec, const Comm& comm, const BlockRowLayout& layout,
                         const ConstMatrix<T>& local);

/// C = X^T Y for tall-skinny X (n x p) and Y (n x q) with the same layout: a local GEMM and one
/// allreduce of the p x q result, which is replicated. Cost 2 n p q / ranks flops + allreduce(p q).
template <class T>
void inner_product(const ExecSpace& exec, const DistMatrix<T>& x, const DistMatrix<T>& y,
                   const Matrix<T>& c);

/// C = X^T X for a tall-skinny X (n x p): a local symmetric rank-k product (linalg::syrk, half the
/// multiply-adds of inner_product(x, x, c)) and one allreduce of the p x p result, which is
/// replicated and exactly symmetric. Cost n p^2 / ranks flops + allreduce(p^2).
template <class T>
void gram(const ExecSpace& exec, const DistMatrix<T>& x, const Matrix<T>& c);

/// Y = X B with B (p x q) replicated: local GEMM, no communication.
template <class T>
void multiply_replicated(const ExecSpace& exec, const DistMatrix<T>& x, const ConstMatrix<T>& b,
                         const DistMatrix<T>& y);

/// Frobenius norm of X, the same value on every rank.
template <class T>
T frobenius_norm(const ExecSpace& exec, const DistMatrix<T>& x);

/// d_j = x_j . y_j for every column j of the local row blocks x and y (same shape), accumulated
/// in double and summed over `comm`: the same values on every rank. One team per column; one
/// allreduce of k doubles.
template <class T>
std::vector<double> column_dots(const ExecSpace& exec, const Comm& comm, const ConstMatrix<T>& x,
                                const ConstMatrix<T>& y);

#define STRATA_DIST_OPERATIONS_DECLARE(T)                                                    \
  extern template void fill_random<T>(const ExecSpace&, const RandomStream&,                 \
                                      const DistMatrix<T>&);                                 \
  extern template Matrix<T> allgather_rows<T>(const ExecSpace&, const DistMatrix<T>&);       \
  extern template Matrix<T> allgather_rows<T>(const ExecSpace&, const Comm&,                 \
                                              const BlockRowLayout&, const ConstMatrix<T>&); \
  extern template void inner_product<T>(const ExecSpace&, const DistMatrix<T>&,              \
                                        const DistMatrix<T>&, const Matrix<T>&);             \
  extern template void gram<T>(const ExecSpace&, const DistMatrix<T>&, const Matrix<T>&);    \
  extern template void multiply_replicated<T>(const ExecSpace&, const DistMatrix<T>&,        \
                                              const ConstMatrix<T>&, const DistMatrix<T>&);  \
  extern template T frobenius_norm<T>(const ExecSpace&, const DistMatrix<T>&);               \
  extern template std::vector<double> column_dots<T>(                                        \
      const ExecSpace&, const Comm&, const ConstMatrix<T>&, const ConstMatrix<T>&);
STRATA_DIST_OPERATIONS_DECLARE(float)
STRATA_DIST_OPERATIONS_DECLARE(double)
#undef STRATA_DIST_OPERATIONS_DECLARE

}  // namespace strata
