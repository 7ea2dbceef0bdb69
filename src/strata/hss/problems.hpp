// Built-in test matrices for HSS construction: kernel matrices on point sets, the Schur complement
// of a 2-D grid Laplacian and the inverse of a banded matrix. Each problem gives the four kinds of
// access an HSS builder or a check may want:
//   - points (N x dim, for geometric clustering),
//   - entries: any batch of blocks A(I_b, J_b) filled by one device kernel,
//   - products A X and A^T X with a block of vectors, never storing A,
//   - the dense matrix, for moderate N (checks and references).
//
// Registry names (make_problem), "<kernel>-<geometry>":
//   kernel   laplace      -log r (dim 1 and 2), 1/r (dim 3)
//            gaussian     exp(-r^2 / h^2), h = options.length_scale (default 0.25)
//            cauchy       1 / (r + delta), delta = options.delta (default 1e-3)
//            exponential  exp(-r / l) (Matern 1/2), l = options.length_scale (default 0.25)
//   geometry 1d     N points in [0, 1]: the midpoints (i + 1/2)/N, or sorted uniform random
//                   points with options.random_points
//            2d     N uniform random points in the unit square
//            3d     N uniform random points in the unit cube
//            curve  N points on a smooth closed curve in the plane (a five-armed star,
//                   r(t) = 0.35 (1 + 0.3 cos 5t) around (0.5, 0.5)), equispaced in the parameter t
//   A bare kernel name ("laplace") takes its dimension from options.dim (1, 2 or 3).
//   "curve-2d" is the Laplace kernel on the curve (same as "laplace-curve").
//   Random 2-D/3-D points come from the counter-based streams of core/random.hpp (options.seed) and
//   are put in recursive-coordinate-bisection order (split the index range in halves at the median
//   of the widest coordinate), so that index order is already a geometric clustering: the leaves of
//   a balanced binary tree over the indices are compact boxes.
//   schur-grid      the Schur complement on the middle grid line of the 5-point Laplacian
//                   (4 on the diagonal, -1 for the four neighbours, zero Dirichlet boundary) on an
//                   options.grid_rows x N grid (grid_rows odd, default 51): Levitt & Martinsson's
//                   model problem (SISC 2024, Sec. 6, Fig. 7). S = T - 2 P^T L_h^{-1} P, where T =
//                   tridiag(-1, 4, -1) is the line's own block, L_h the Laplacian of one half
//                   (h = (grid_rows - 1)/2 rows of N points; the two halves are mirror images, so
//                   one factorization serves both), P places a line vector on the half's row next
//                   to the line. Symmetric positive definite.
//   banded-inverse  A = B^{-1}, B banded with half bandwidth b = options.band (default 1):
//                   B_ii = options.diagonal (default 2 + 2 H_b (1 + |skew|), H_b the harmonic
//                   number, so B is strictly diagonally dominant), B_{i,i+d} = -(1 + skew)/d and
//                   B_{i+d,i} = -(1 - skew)/d for d = 1..b. skew = options.skew (default 0: B and A
//                   symmetric; b = 1, skew = 0, diagonal 4 is inv(tridiag(-1, 4, -1))). The inverse
//                   of a banded matrix is HSS with off-diagonal ranks <= b (exactly, any N).
//
// Diagonal of the singular kernels (Laplace): the kernel is replaced on the diagonal by its
// average over the point's own cell (a Nystrom discretization's self term), so the matrix is a
// consistent discretization of the integral operator and is positive on the diagonal:
//   dim 1 (cell [-s/2, s/2], s = 1/N):             -log(s/2) + 1
//   curve (cell of local arclength s_i):           -log(s_i/2) + 1
//   dim 2 (disc of the cell's area s^2, s = N^{-1/2}, radius rho = s/sqrt(pi)):   -log(rho) + 1/2
//   dim 3 (ball of the cell's volume s^3, s = N^{-1/3}, rho = s (3/(4 pi))^{1/3}): 3 / (2 rho)
// Gaussian and exponential have value 1 on the diagonal, Cauchy 1/delta. options.ridge is added to
// every diagonal entry of the kernel matrices: the kernel matrices are symmetric, and for
// Gaussian/exponential kernels (positive definite functions) ridge > 0 bounds the condition number
// by (lambda_max + ridge)/ridge — use it for solves.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "strata/core/op.hpp"
#include "strata/dist/linear_operator.hpp"
#include "strata/hss/callbacks.hpp"

namespace strata::hss {

struct ProblemOptions {
  int dim = 0;                    ///< dimension for a bare kernel name ("laplace"); 0 means 1
  std::uint64_t seed = 20240501;  ///< random points (2-D/3-D, and 1-D with random_points)
  bool random_points = false;     ///< 1-D: sorted uniform random points instead of midpoints
  double length_scale = 0;        ///< Gaussian h / exponential l; 0: 0.25
  double delta = 0;               ///< Cauchy shift; 0: 1e-3
  double ridge = 0;               ///< added to the diagonal of kernel matrices
  int grid_rows = 0;              ///< schur-grid: rows of the grid (odd, >= 3); 0: 51
  int band = 1;                   ///< banded-inverse: half bandwidth b >= 1
  double skew = 0;                ///< banded-inverse: asymmetry, |skew| < 1
  double diagonal = 0;            ///< banded-inverse: B_ii; 0: 2 + 2 H_b (1 + |skew|)
};

/// An N x N test matrix with entry, product and dense access. Stateless apart from caches:
/// every method may be called repeatedly; none is thread-safe against concurrent calls.
template <class T>
class Problem {
 public:
  virtual ~Problem() = default;

  /// Registry name and a one-line description of the parameters (for logs and --json).
  const std::string& name() const { return name_; }
  const std::string& description() const { return description_; }
  index_type size() const { return n_; }
  /// A == A^T in exact arithmetic (kernel matrices: bit for bit; schur-grid and banded-inverse
  /// with skew 0: to rounding, their dense form comes from banded solves).
  virtual bool symmetric() const = 0;
  /// Point coordinates, size() x dimension(), in device memory (double). For schur-grid and
  /// banded-inverse: the 1-D positions (i + 1/2)/N of the unknowns along the line.
  const Matrix<double>& points() const { return points_; }
  int dimension() const { return static_cast<int>(points_.extent(1)); }

  /// Fills a batch of blocks (one device kernel for kernel matrices; for schur-grid and
  /// banded-inverse a gather from the dense matrix, formed on the first call, so only for
  /// moderate N). Throws InvalidArgument on an index outside [0, N) or too small value slots.
  virtual void entries(const ExecSpace& exec, const EntryBlocks<T>& blocks) const = 0;

  /// Rows [row_begin, row_begin + y.extent(0)) of op(A) X, op(A) = A or A^T, for X (N x k).
  /// Kernel matrices: O(rows N k) work on the device, tiled (a team per 128-row tile and 8
  /// vectors, the kernel recomputed per tile), no N x N storage. schur-grid / banded-inverse:
  /// banded solves on the host in double, O(N b k) (b the band), whatever the row range.
  virtual void apply_rows(const ExecSpace& exec, Op op, index_type row_begin,
                          const ConstMatrix<T>& x, const Matrix<T>& y) const = 0;

  /// Y = A X and Y = A^T X for X, Y of size N x k.
  void apply(const ExecSpace& exec, const ConstMatrix<T>& x, const Matrix<T>& y) const;
  void apply_transpose(const ExecSpace& exec, const ConstMatrix<T>& x, const Matrix<T>& y) const;

  /// The whole matrix, N x N in device memory. Throws Unsupported if N^2 values exceed 2^31.
  /// Kernel matrices: O(N^2) evaluations. schur-grid / banded-inverse: N banded solves.
  virtual Matrix<T> dense(const ExecSpace& exec) const = 0;

  /// The entry evaluator as a function object (holds a reference to this problem: keep the
  /// problem alive while it is used).
  EntryEvaluator<T> entry_evaluator() const;

 protected:
  Problem(std::string name, std::string description, index_type n, Matrix<double> points);
  void check_apply_shapes(index_type row_begin, const ConstMatrix<T>& x, const Matrix<T>& y) const;

 private:
  std::string name_, description_;
  index_type n_;
  Matrix<double> points_;
};

/// Builds a registered problem of size n (names and parameters in the file comment). Throws
/// InvalidArgument for an unknown name, a size or option out of range, or options.dim
/// contradicting a name with a dimension.
template <class T>
std::shared_ptr<const Problem<T>> make_problem(const std::string& name, index_type n,
                                               const ProblemOptions& options = {});

/// The registered names (kernel-geometry pairs, curve-2d, schur-grid, banded-inverse).
std::vector<std::string> problem_names();

/// The problem as a replicated LinearOperator (X and Y whole on every rank).
template <class T>
std::shared_ptr<LinearOperator<T>> make_operator(std::shared_ptr<const Problem<T>> problem);

/// The problem as a distributed LinearOperator: rows and columns split by `layout` (default:
/// balanced over comm). apply / apply_transpose allgather X (each rank receives N k values, the
/// whole block of vectors: the product needs every column of A's block row) and compute this
/// rank's rows of A X (kernel matrices: O(N_local N k) work per rank). For schur-grid and
/// banded-inverse every rank does the whole O(N b k) banded solve and keeps its rows. Collective.
template <class T>
std::shared_ptr<LinearOperator<T>> make_operator(std::shared_ptr<const Problem<T>> problem,
                                                 const Comm& comm,
                                                 std::optional<BlockRowLayout> layout = {});

#define STRATA_HSS_PROBLEMS_DECLARE(T)                                 \
  extern template class Problem<T>;                                    \
  extern template std::shared_ptr<const Problem<T>> make_problem<T>(   \
      const std::string&, index_type, const ProblemOptions&);          \
  extern template std::shared_ptr<LinearOperator<T>> make_operator<T>( \
      std::shared_ptr<const Problem<T>>);                              \
  extern template std::shared_ptr<LinearOperator<T>> make_operator<T>( \
      std::shared_ptr<const Problem<T>>, const Comm&, std::optional<BlockRowLayout>);
STRATA_HSS_PROBLEMS_DECLARE(float)
STRATA_HSS_PROBLEMS_DECLARE(double)
#undef STRATA_HSS_PROBLEMS_DECLARE

}  // namespace strata::hss
