#include "strata/sketch/detail/lowrank_common.hpp"

#include <algorithm>
#include <cmath>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/sketch/operator.hpp"

namespace strata::sketch::detail {

Distribution distribution_of(TestMatrixKind kind) {
  switch (kind) {
    case TestMatrixKind::gaussian:
      return Distribution::gaussian;
    case TestMatrixKind::rademacher:
      return Distribution::rademacher;
    case TestMatrixKind::srht:
    case TestMatrixKind::sparse_sign:
      break;
  }
  STRATA_THROW(InvalidArgument, "the test matrix '", test_matrix_name(kind),
               "' is not an i.i.d. distribution; expected gaussian or rademacher here");
}

RandomStream basis_stream(const TestMatrixOptions& o) {
  return RandomStream{distribution_of(o.kind), o.seed, 2 * o.stream};
}

RandomStream probe_stream(const TestMatrixOptions& o) {
  // The HMT estimate needs Gaussian probes, whatever the basis distribution.
  return RandomStream{Distribution::gaussian, o.seed, 2 * o.stream + 1};
}

template <class T>
DistMatrix<T> row_block(const LinearOperator<T>& a, index_type cols, const char* label) {
  return DistMatrix<T>(a.comm(), a.row_layout(), cols, label);
}

template <class T>
DistMatrix<T> col_block(const LinearOperator<T>& a, index_type cols, const char* label) {
  return DistMatrix<T>(a.comm(), a.col_layout(), cols, label);
}

template <class T>
DistMatrix<T> row_block(const LinearOperator<T>& a, index_type cols,
                        strata::detail::Scratch& scratch) {
  const auto rows = static_cast<std::size_t>(a.row_layout().local_rows(a.comm().rank()));
  return DistMatrix<T>(a.comm(), a.row_layout(),
                       scratch.zeroed<Matrix<T>>(rows, static_cast<std::size_t>(cols)));
}

template <class T>
DistMatrix<T> col_block(const LinearOperator<T>& a, index_type cols,
                        strata::detail::Scratch& scratch) {
  const auto rows = static_cast<std::size_t>(a.col_layout().local_rows(a.comm().rank()));
  return DistMatrix<T>(a.comm(), a.col_layout(),
                       scratch.zeroed<Matrix<T>>(rows, static_cast<std::size_t>(cols)));
}

template <class T>
void fill_test_matrix(const ExecSpace& exec, const RandomStream& stream, const DistMatrix<T>& x,
                      index_type col_offset) {
  fill_random(exec, stream, x.local(), x.row_begin(), col_offset);
}

template <class T>
void fill_basis_test_matrix(const ExecSpace& exec, const TestMatrixOptions& o,
                            const DistMatrix<T>& x, index_type col_offset) {
  if (o.kind == TestMatrixKind::gaussian || o.kind == TestMatrixKind::rademacher) {
    fill_test_matrix(exec, basis_stream(o), x, col_offset);
    return;
  }
  const index_type l = x.cols();
  SketchOperator op;
  op.kind = o.kind == TestMatrixKind::srht ? OperatorKind::srht : OperatorKind::sparse_sign;
  op.rows = l;
  op.cols = x.global_rows();
  op.seed = o.seed;
  op.stream = 2 * o.stream;
  op.nnz = std::min(o.nnz, l);
  collective(x.comm(), [&] {
    STRATA_REQUIRE(col_offset == 0, InvalidArgument, "the '", test_matrix_name(o.kind),
                   "' test matrix is drawn whole; expected gaussian or rademacher for a test "
                   "matrix drawn block by block");
    STRATA_REQUIRE(o.nnz >= 1, InvalidArgument,
                   "the sparse-sign test matrix needs nnz >= 1 nonzeros per row, got ", o.nnz);
    op.validate();
  });
  ApplyOptions unscaled;
  unscaled.isometry_scaling = false;
  const auto s = materialize<T>(exec, op, x.row_begin(), x.row_begin() + x.local_rows(), unscaled);
  const auto local = x.local();
  Kokkos::parallel_for(
      "strata::sketch::test_matrix_transpose",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, local.extent(0) * local.extent(1)),
      KOKKOS_LAMBDA(const std::size_t q) {
        const std::size_t rows = local.extent(0);
        local(q % rows, q / rows) = s(q / rows, q % rows);
      });
}

template <class T>
DistMatrix<T> columns(const DistMatrix<T>& x, index_type begin, index_type end) {
  typename DistMatrix<T>::local_type local = Kokkos::subview(
      x.local(), Kokkos::ALL,
      Kokkos::make_pair(static_cast<std::size_t>(begin), static_cast<std::size_t>(end)));
  return DistMatrix<T>(x.comm(), x.layout(), local);
}

template <class T>
void apply(const ExecSpace& exec, const LinearOperator<T>& a, const DistMatrix<T>& x,
           const DistMatrix<T>& y) {
  a.apply(exec, x.local(), y.local());
}

template <class T>
void apply_transpose(const ExecSpace& exec, const LinearOperator<T>& a, const DistMatrix<T>& x,
                     const DistMatrix<T>& y, bool symmetric) {
  if (symmetric) {
    a.apply(exec, x.local(), y.local());
  } else {
    a.apply_transpose(exec, x.local(), y.local());
  }
}

template <class T>
void orthonormalize_block(const ExecSpace& exec, const DistMatrix<T>& x,
                          const TallSkinnyQrOptions& qr, const Matrix<T>& r) {
  // A failed Cholesky pass (agreed on every rank: the Gram matrix is replicated) hands the block
  // to householder TSQR where it stands, with no copy of X kept for the common success.
  TallSkinnyQrOptions robust = qr;
  robust.householder_fallback = true;
  tall_skinny_qr(exec, x, r, robust);
}

template <class T>
void project_out(const ExecSpace& exec, const DistMatrix<T>& q, const DistMatrix<T>& y) {
  if (q.cols() == 0 || y.cols() == 0) return;
  Matrix<T> c("strata::sketch::project::C", static_cast<std::size_t>(q.cols()),
              static_cast<std::size_t>(y.cols()));
  inner_product(exec, q, y, c);
  linalg::gemm(exec, "N", "N", T(-1), q.local(), c, T(1), y.local());
}

template <class T>
std::vector<double> column_norms(const ExecSpace& exec, const DistMatrix<T>& x) {
  const auto rows = x.local().extent(0);
  const auto cols = x.local().extent(1);
  Kokkos::View<double*, MemSpace> sums("strata::sketch::column_norms", cols);
  const auto local = x.local();
  using Team = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  if (rows > 0 && cols > 0) {
    // One team per column, a team reduction over its rows.
    Kokkos::parallel_for(
        "strata::sketch::column_norms", kx::auto_team_policy(exec, static_cast<int>(cols)),
        KOKKOS_LAMBDA(const Team& team) {
          const std::size_t j = static_cast<std::size_t>(team.league_rank());
          double s = 0;
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(team, rows),
              [&](const std::size_t i, double& acc) {
                const double v = static_cast<double>(local(i, j));
                acc += v * v;
              },
              s);
          Kokkos::single(Kokkos::PerTeam(team), [&]() { sums(j) = s; });
        });
  }
  x.comm().allreduce(exec, sums, ReduceOp::sum);
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), sums);
  std::vector<double> norms(cols);
  for (std::size_t j = 0; j < cols; ++j) norms[j] = std::sqrt(host(j));
  return norms;
}

double estimate_from_norms(const std::vector<double>& norms, ErrorEstimator estimator) {
  if (norms.empty()) return -1;
  if (estimator == ErrorEstimator::spectral_bound) {
    // HMT eq. (4.3): 10 sqrt(2/pi) max_i ||(I - Q Q^T) A w_i||.
    const double pi = 3.14159265358979323846;
    return 10.0 * std::sqrt(2.0 / pi) * *std::max_element(norms.begin(), norms.end());
  }
  double sum = 0;
  for (const double n : norms) sum += n * n;
  return std::sqrt(sum / static_cast<double>(norms.size()));
}

template <class T>
void require_finite_block(const ExecSpace& exec, const DistMatrix<T>& x, const char* what) {
  const index_type bad = x.comm().allreduce(count_non_finite(exec, x.local()), ReduceOp::sum);
  STRATA_REQUIRE(bad == 0, NonFiniteInput, what, " contains ", bad,
                 " NaN or Inf entries; the operator (matrix) must hold finite numbers");
}

template <class T>
double posterior_error(const ExecSpace& exec, const LinearOperator<T>& a, const DistMatrix<T>& u,
                       const std::vector<T>& s, const DistMatrix<T>& v,
                       const LowRankOptions& options, index_type& matvecs) {
  const index_type r = options.error_probes;
  if (r <= 0) return -1;
  auto w = col_block(a, r, "strata::sketch::probes");
  fill_test_matrix(exec, probe_stream(options.test_matrix), w, 0);
  auto z = row_block(a, r, "strata::sketch::probe_images");
  apply(exec, a, w, z);
  matvecs += r;
  const auto k = static_cast<std::size_t>(s.size());
  if (k > 0) {
    Matrix<T> c("strata::sketch::probe_coefficients", k, static_cast<std::size_t>(r));
    inner_product(exec, v, w, c);
    Kokkos::View<T*, MemSpace> scale("strata::sketch::probe_scale", k);
    const auto scale_host = Kokkos::create_mirror_view(scale);
    for (std::size_t i = 0; i < k; ++i) scale_host(i) = s[i];
    Kokkos::deep_copy(exec, scale, scale_host);
    Kokkos::parallel_for(
        "strata::sketch::scale_probe_coefficients",
        Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(exec, {0, 0}, {c.extent(0), c.extent(1)}),
        KOKKOS_LAMBDA(const std::size_t i, const std::size_t j) { c(i, j) *= scale(i); });
    linalg::gemm(exec, "N", "N", T(-1), u.local(), c, T(1), z.local());
  }
  return estimate_from_norms(column_norms(exec, z), options.estimator);
}

template <class T>
HostMatrix<T> host_copy(const ExecSpace& exec, const ConstMatrix<T>& a) {
  HostMatrix<T> h("strata::sketch::host_copy", a.extent(0), a.extent(1));
  Matrix<T> staged(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::sketch::staged"),
                   a.extent(0), a.extent(1));
  Kokkos::deep_copy(exec, staged, a);
  kx::fence(exec, "strata::sketch::host_copy");
  Kokkos::deep_copy(h, staged);
  return h;
}

template <class T>
Matrix<T> device_copy(const ExecSpace& exec, const HostMatrix<T>& a, const char* label) {
  Matrix<T> d(std::string(label), a.extent(0), a.extent(1));
  const auto mirror = Kokkos::create_mirror_view(d);
  Kokkos::deep_copy(mirror, a);
  Kokkos::deep_copy(exec, d, mirror);
  kx::fence(exec, "strata::sketch::device_copy");
  return d;
}

#define STRATA_LOWRANK_COMMON_INSTANTIATE(T)                                                     \
  template DistMatrix<T> row_block<T>(const LinearOperator<T>&, index_type, const char*);        \
  template DistMatrix<T> col_block<T>(const LinearOperator<T>&, index_type, const char*);        \
  template DistMatrix<T> row_block<T>(const LinearOperator<T>&, index_type,                      \
                                      strata::detail::Scratch&);                                 \
  template DistMatrix<T> col_block<T>(const LinearOperator<T>&, index_type,                      \
                                      strata::detail::Scratch&);                                 \
  template void fill_test_matrix<T>(const ExecSpace&, const RandomStream&, const DistMatrix<T>&, \
                                    index_type);                                                 \
  template DistMatrix<T> columns<T>(const DistMatrix<T>&, index_type, index_type);               \
  template void fill_basis_test_matrix<T>(const ExecSpace&, const TestMatrixOptions&,            \
                                          const DistMatrix<T>&, index_type);                     \
  template void apply<T>(const ExecSpace&, const LinearOperator<T>&, const DistMatrix<T>&,       \
                         const DistMatrix<T>&);                                                  \
  template void apply_transpose<T>(const ExecSpace&, const LinearOperator<T>&,                   \
                                   const DistMatrix<T>&, const DistMatrix<T>&, bool);            \
  template void orthonormalize_block<T>(const ExecSpace&, const DistMatrix<T>&,                  \
                                        const TallSkinnyQrOptions&, const Matrix<T>&);           \
  template void project_out<T>(const ExecSpace&, const DistMatrix<T>&, const DistMatrix<T>&);    \
  template std::vector<double> column_norms<T>(const ExecSpace&, const DistMatrix<T>&);          \
  template void require_finite_block<T>(const ExecSpace&, const DistMatrix<T>&, const char*);    \
  template double posterior_error<T>(const ExecSpace&, const LinearOperator<T>&,                 \
                                     const DistMatrix<T>&, const std::vector<T>&,                \
                                     const DistMatrix<T>&, const LowRankOptions&, index_type&);  \
  template HostMatrix<T> host_copy<T>(const ExecSpace&, const ConstMatrix<T>&);                  \
  template Matrix<T> device_copy<T>(const ExecSpace&, const HostMatrix<T>&, const char*);
STRATA_LOWRANK_COMMON_INSTANTIATE(float)
STRATA_LOWRANK_COMMON_INSTANTIATE(double)
#undef STRATA_LOWRANK_COMMON_INSTANTIATE

}  // namespace strata::sketch::detail
