#include "strata/linalg/batched_dense.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "strata/core/checks.hpp"
#include "strata/linalg/detail/batched_dense_backend.hpp"
#include "strata/linalg/detail/batched_dense_team.hpp"

namespace strata::linalg {

int BatchLayout::max_rows() const {
  return host_rows.empty() ? 0 : *std::max_element(host_rows.begin(), host_rows.end());
}
int BatchLayout::max_cols() const {
  return host_cols.empty() ? 0 : *std::max_element(host_cols.begin(), host_cols.end());
}

namespace {
template <class V>
using HostUnmanaged =
    Kokkos::View<const V*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
}  // namespace

BatchLayout BatchLayout::strided(const std::vector<index_type>& offset,
                                 const std::vector<int>& rows, const std::vector<int>& cols,
                                 const std::vector<int>& ld) {
  STRATA_REQUIRE(
      offset.size() == rows.size() && cols.size() == rows.size() && ld.size() == rows.size(),
      InvalidArgument, "BatchLayout: offset, rows, cols and ld have lengths ", offset.size(), ", ",
      rows.size(), ", ", cols.size(), ", ", ld.size(), "; expected one entry per matrix in each");
  BatchLayout l;
  for (std::size_t b = 0; b < rows.size(); ++b) {
    STRATA_REQUIRE(rows[b] >= 0 && cols[b] >= 0 && offset[b] >= 0, InvalidArgument,
                   "BatchLayout: matrix ", b, " has shape ", rows[b], " x ", cols[b], " at offset ",
                   offset[b], "; expected non-negative values");
    STRATA_REQUIRE(ld[b] >= std::max(1, rows[b]), InvalidArgument, "BatchLayout: matrix ", b,
                   " has leading dimension ", ld[b], " < max(1, rows = ", rows[b], ")");
    if (rows[b] > 0 && cols[b] > 0) {
      l.span =
          std::max(l.span, offset[b] + static_cast<index_type>(ld[b]) * (cols[b] - 1) + rows[b]);
    }
  }
  l.host_offset = offset;
  l.host_rows = rows;
  l.host_cols = cols;
  l.host_ld = ld;
  // Device copies: the offsets in one array, rows, cols and ld as three slices of another, each
  // written by one copy and not initialized before (a layout is built for most batched calls: on
  // a device two allocations and two transfers instead of four, and no fill kernels).
  const std::size_t n = rows.size();
  l.offset = Kokkos::View<index_type*, MemSpace>(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::linalg::batch::offset"), n);
  Kokkos::deep_copy(l.offset, HostUnmanaged<index_type>(offset.data(), n));
  std::vector<int> shape(rows);
  shape.insert(shape.end(), cols.begin(), cols.end());
  shape.insert(shape.end(), ld.begin(), ld.end());
  const Kokkos::View<int*, MemSpace> device_shape(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::linalg::batch::shape"), 3 * n);
  Kokkos::deep_copy(device_shape, HostUnmanaged<int>(shape.data(), 3 * n));
  l.rows = Kokkos::subview(device_shape, std::make_pair(std::size_t(0), n));
  l.cols = Kokkos::subview(device_shape, std::make_pair(n, 2 * n));
  l.ld = Kokkos::subview(device_shape, std::make_pair(2 * n, 3 * n));
  return l;
}

BatchLayout BatchLayout::packed(const std::vector<int>& rows, const std::vector<int>& cols) {
  STRATA_REQUIRE(rows.size() == cols.size(), InvalidArgument, "BatchLayout: ", rows.size(),
                 " row counts but ", cols.size(),
                 " column counts; expected one of each per matrix");
  std::vector<index_type> offset(rows.size());
  std::vector<int> ld(rows.size());
  index_type next = 0;
  for (std::size_t b = 0; b < rows.size(); ++b) {
    STRATA_REQUIRE(rows[b] >= 0 && cols[b] >= 0, InvalidArgument, "BatchLayout: matrix ", b,
                   " has shape ", rows[b], " x ", cols[b], "; expected non-negative sizes");
    offset[b] = next;
    ld[b] = std::max(1, rows[b]);
    next += static_cast<index_type>(rows[b]) * cols[b];
  }
  return strided(offset, rows, cols, ld);
}

BatchLayout BatchLayout::uniform(int rows, int cols, int count) {
  return packed(std::vector<int>(static_cast<std::size_t>(count), rows),
                std::vector<int>(static_cast<std::size_t>(count), cols));
}

template <class T>
MatrixBatch<T>::MatrixBatch(Kokkos::View<T*, MemSpace> v, BatchLayout l)
    : values(std::move(v)), layout(std::move(l)) {
  STRATA_REQUIRE(static_cast<index_type>(values.extent(0)) >= layout.span, ShapeMismatch,
                 "MatrixBatch: storage holds ", values.extent(0), " entries but the layout needs ",
                 layout.span);
}

template <class T>
MatrixBatch<T> MatrixBatch<T>::allocate(const std::string& label, const std::vector<int>& rows,
                                        const std::vector<int>& cols) {
  auto l = BatchLayout::packed(rows, cols);
  Kokkos::View<T*, MemSpace> v(label, static_cast<std::size_t>(l.span));
  return MatrixBatch<T>(v, std::move(l));
}

template <class T>
MatrixBatch<T> MatrixBatch<T>::allocate_uninitialized(const std::string& label,
                                                      const std::vector<int>& rows,
                                                      const std::vector<int>& cols) {
  auto l = BatchLayout::packed(rows, cols);
  Kokkos::View<T*, MemSpace> v(Kokkos::view_alloc(Kokkos::WithoutInitializing, label),
                               static_cast<std::size_t>(l.span));
  return MatrixBatch<T>(v, std::move(l));
}

template <class T>
MatrixBatch<T> as_matrix_batch(const Batch<T>& batch) {
  Kokkos::View<T*, MemSpace> flat(batch.data(), batch.size());
  return MatrixBatch<T>(flat, BatchLayout::uniform(static_cast<int>(batch.extent(0)),
                                                   static_cast<int>(batch.extent(1)),
                                                   static_cast<int>(batch.extent(2))));
}

namespace {

template <class T, class Rows, class Cols>
void require_shapes(const char* function, const char* name, const MatrixBatch<T>& x, int count,
                    Rows expected_rows, Cols expected_cols) {
  STRATA_REQUIRE(x.layout.count() == count, ShapeMismatch, function, ": ", name, " holds ",
                 x.layout.count(), " matrices, expected ", count);
  for (int b = 0; b < count; ++b) {
    const int er = expected_rows(b), ec = expected_cols(b);
    const int r = x.layout.host_rows[static_cast<std::size_t>(b)];
    const int c = x.layout.host_cols[static_cast<std::size_t>(b)];
    STRATA_REQUIRE((er < 0 || r == er) && (ec < 0 || c == ec), ShapeMismatch, function, ": ", name,
                   " matrix ", b, " is ", r, " x ", c, ", expected ", er < 0 ? "any" : "",
                   er < 0 ? std::string() : std::to_string(er), " x ", ec < 0 ? "any" : "",
                   ec < 0 ? std::string() : std::to_string(ec));
  }
}

}  // namespace

template <class T>
void householder_qr(const ExecSpace& exec, const MatrixBatch<T>& a, const MatrixBatch<T>& q,
                    const MatrixBatch<T>& r) {
  const int count = a.layout.count();
  const auto& ar = a.layout.host_rows;
  const auto& ac = a.layout.host_cols;
  require_shapes(
      "householder_qr", "Q", q, count, [&](int b) { return ar[b]; }, [](int) { return -1; });
  for (int b = 0; b < count; ++b) {
    STRATA_REQUIRE(q.layout.host_cols[b] <= ar[b], ShapeMismatch, "householder_qr: Q matrix ", b,
                   " has ", q.layout.host_cols[b], " columns; the full Q has only ", ar[b]);
  }
  if (r.layout.count() > 0) {
    require_shapes(
        "householder_qr", "R", r, count, [&](int b) { return std::min(ar[b], ac[b]); },
        [&](int b) { return ac[b]; });
  }
  if (count == 0) return;
  detail::Backend::householder_qr(exec, a, q, r);
}

template <class T>
void null_space(const ExecSpace& exec, const MatrixBatch<T>& a, const MatrixBatch<T>& n) {
  const int count = a.layout.count();
  const auto& ar = a.layout.host_rows;
  const auto& ac = a.layout.host_cols;
  require_shapes(
      "null_space", "N", n, count, [&](int b) { return ac[b]; }, [](int) { return -1; });
  for (int b = 0; b < count; ++b) {
    STRATA_REQUIRE(n.layout.host_cols[b] <= ac[b] - ar[b], ShapeMismatch, "null_space: N matrix ",
                   b, " has ", n.layout.host_cols[b], " columns, but A is ", ar[b], " x ", ac[b],
                   " so at most ", ac[b] - ar[b],
                   " null-space directions are guaranteed; take more columns (samples) than rows");
  }
  if (count == 0) return;
  detail::Backend::null_space(exec, a, n);
}

namespace {
/// Checks shared by column_pivoted_qr and interpolative_decomposition.
template <class T>
void require_pivoted_qr_arguments(const char* label, const MatrixBatch<T>& a, const RankRule& rule,
                                  const Kokkos::View<int*, MemSpace>& ranks,
                                  const MatrixBatch<int>& perm) {
  const int count = a.layout.count();
  STRATA_REQUIRE(static_cast<int>(ranks.extent(0)) == count, ShapeMismatch, label, ": ranks has ",
                 ranks.extent(0), " entries, expected ", count);
  STRATA_REQUIRE(rule.relative_tolerance >= 0 && rule.absolute_tolerance >= 0, InvalidArgument,
                 label, ": tolerances must be >= 0, got relative ", rule.relative_tolerance,
                 ", absolute ", rule.absolute_tolerance);
  const auto& ac = a.layout.host_cols;
  require_shapes(
      label, "perm", perm, count, [&](int b) { return ac[b]; }, [](int) { return 1; });
}
}  // namespace

template <class T>
void column_pivoted_qr(const ExecSpace& exec, const MatrixBatch<T>& a, const RankRule& rule,
                       const Kokkos::View<int*, MemSpace>& ranks, const MatrixBatch<int>& perm,
                       const MatrixBatch<T>& q, const MatrixBatch<T>& r) {
  const int count = a.layout.count();
  const auto& ar = a.layout.host_rows;
  const auto& ac = a.layout.host_cols;
  const bool want_q = q.layout.count() > 0, want_r = r.layout.count() > 0;
  if (want_q) {
    require_shapes(
        "column_pivoted_qr", "Q", q, count, [&](int b) { return ar[b]; }, [](int) { return -1; });
  }
  if (want_r) {
    require_shapes(
        "column_pivoted_qr", "R", r, count, [](int) { return -1; }, [&](int b) { return ac[b]; });
  }
  for (int b = 0; b < count; ++b) {
    STRATA_REQUIRE(!want_q || q.layout.host_cols[b] <= ar[b], ShapeMismatch,
                   "column_pivoted_qr: Q matrix ", b, " has more columns than rows");
    STRATA_REQUIRE(!want_r || r.layout.host_rows[b] <= std::min(ar[b], ac[b]), ShapeMismatch,
                   "column_pivoted_qr: R matrix ", b, " has more than min(m, n) rows");
  }
  require_pivoted_qr_arguments("strata::linalg::column_pivoted_qr", a, rule, ranks, perm);
  if (count == 0) return;
  detail::Backend::column_pivoted_qr(exec, a, rule, ranks, perm, q, r);
}

template <class T>
void interpolative_decomposition(const ExecSpace& exec, const MatrixBatch<T>& a,
                                 const RankRule& rule, const Kokkos::View<int*, MemSpace>& ranks,
                                 const MatrixBatch<int>& skeleton, const MatrixBatch<T>& x) {
  const int count = a.layout.count();
  const auto& ac = a.layout.host_cols;
  const auto& ar = a.layout.host_rows;
  require_shapes(
      "interpolative_decomposition", "X", x, count, [](int) { return -1; },
      [&](int b) { return ac[b]; });
  for (int b = 0; b < count; ++b) {
    const int cap = rule.max_rank < 0 ? std::min(ar[b], ac[b])
                                      : std::min(rule.max_rank, std::min(ar[b], ac[b]));
    STRATA_REQUIRE(x.layout.host_rows[b] >= cap, ShapeMismatch,
                   "interpolative_decomposition: X matrix ", b, " has ", x.layout.host_rows[b],
                   " rows; the rank can reach ", cap, " (min(m, n) or max_rank)");
  }
  require_pivoted_qr_arguments("strata::linalg::interpolative_decomposition", a, rule, ranks,
                               skeleton);
  if (count == 0) return;
  detail::Backend::interpolative_decomposition(exec, a, rule, ranks, skeleton, x);
}

template <class T>
void svd(const ExecSpace& exec, const MatrixBatch<T>& a, const MatrixBatch<T>& u,
         const MatrixBatch<T>& sigma, const MatrixBatch<T>& v) {
  const int count = a.layout.count();
  const auto& ar = a.layout.host_rows;
  const auto& ac = a.layout.host_cols;
  auto k_of = [&](int b) {
    return std::min(ar[b], ac[b]);
  };
  const bool want_u = u.layout.count() > 0;
  if (want_u) {
    require_shapes(
        "svd", "U", u, count, [&](int b) { return ar[b]; }, k_of);
  }
  require_shapes("svd", "sigma", sigma, count, k_of, [](int) { return 1; });
  const bool want_v = v.layout.count() > 0;
  if (want_v) {
    STRATA_REQUIRE(want_u, InvalidArgument,
                   "svd: V was asked for without U; pass a U batch too (or neither, for the "
                   "singular values alone)");
    require_shapes(
        "svd", "V", v, count, [&](int b) { return ac[b]; }, k_of);
  }
  if (count == 0) return;
  detail::Backend::svd(exec, a, u, sigma, v);
}

template <class T>
Kokkos::View<int*, MemSpace> truncation_ranks(const ExecSpace& exec, const MatrixBatch<T>& d,
                                              const RankRule& rule) {
  STRATA_REQUIRE(rule.relative_tolerance >= 0 && rule.absolute_tolerance >= 0, InvalidArgument,
                 "truncation_ranks: tolerances must be >= 0, got relative ",
                 rule.relative_tolerance, ", absolute ", rule.absolute_tolerance);
  const int count = d.layout.count();
  Kokkos::View<int*, MemSpace> ranks("strata::linalg::truncation_ranks", count);
  const auto d_ref = detail::ref<T>(d);
  const int max_rank = rule.max_rank;
  const double rel = rule.relative_tolerance, abs_tol = rule.absolute_tolerance;
  Kokkos::parallel_for(
      "strata::linalg::truncation_ranks", Kokkos::RangePolicy<ExecSpace>(exec, 0, count),
      KOKKOS_LAMBDA(const int b) {
        const auto s = d_ref(b);
        const int n = s.rows * s.cols;
        const double cut = n > 0 ? kx::max(abs_tol, rel * static_cast<double>(s.p[0])) : 0.0;
        int k = 0;
        while (k<n&& static_cast<double>(s.p[k])> cut) ++k;
        ranks(b) = max_rank >= 0 ? kx::min(k, max_rank) : k;
      });
  return ranks;
}

namespace {
/// The pseudo-inverse's relative cut-off: rcond, or for rcond <= 0 max(m, n) u over the batch, as
/// documented.
template <class T>
double pseudo_inverse_cut(const MatrixBatch<T>& a, double rcond) {
  return rcond > 0 ? rcond
                   : static_cast<double>(std::max(a.layout.max_rows(), a.layout.max_cols())) *
                         std::numeric_limits<T>::epsilon();
}
}  // namespace

template <class T>
void pseudo_inverse_apply(const ExecSpace& exec, const MatrixBatch<T>& b, const MatrixBatch<T>& a,
                          const MatrixBatch<T>& x, double rcond) {
  const int count = a.layout.count();
  const auto& ar = a.layout.host_rows;
  const auto& ac = a.layout.host_cols;
  require_shapes(
      "pseudo_inverse_apply", "B", b, count, [](int) { return -1; }, [&](int i) { return ac[i]; });
  const auto& br = b.layout.host_rows;
  require_shapes(
      "pseudo_inverse_apply", "X", x, count, [&](int i) { return br[i]; },
      [&](int i) { return ar[i]; });
  if (count == 0) return;
  detail::Backend::pseudo_inverse_apply(exec, b, a, x, pseudo_inverse_cut(a, rcond));
}

template <class T>
void detail::null_space_project_pseudo_inverse_apply(const ExecSpace& exec, const MatrixBatch<T>& a,
                                                     const MatrixBatch<T>& b,
                                                     const MatrixBatch<T>& bn,
                                                     const MatrixBatch<T>& x, double rcond,
                                                     NullSpaceProjectFactors<T>* factors,
                                                     bool extend) {
  const int count = a.layout.count();
  const auto& ar = a.layout.host_rows;
  const auto& ac = a.layout.host_cols;
  require_shapes(
      "null_space_project_pseudo_inverse_apply", "B", b, count, [](int) { return -1; },
      [&](int i) { return ac[i]; });
  const auto& br = b.layout.host_rows;
  require_shapes(
      "null_space_project_pseudo_inverse_apply", "BN", bn, count, [&](int i) { return br[i]; },
      [](int) { return -1; });
  for (int i = 0; i < count; ++i) {
    STRATA_REQUIRE(bn.layout.host_cols[i] <= ac[i] - ar[i], ShapeMismatch,
                   "null_space_project_pseudo_inverse_apply: BN matrix ", i, " has ",
                   bn.layout.host_cols[i], " columns, but A is ", ar[i], " x ", ac[i],
                   " so at most ", ac[i] - ar[i], " null-space directions are guaranteed");
  }
  const bool want_x = x.layout.count() > 0;
  if (want_x) {
    require_shapes(
        "null_space_project_pseudo_inverse_apply", "X", x, count, [&](int i) { return br[i]; },
        [&](int i) { return ar[i]; });
  }
  if (count == 0) return;
  if constexpr (std::is_same_v<detail::Backend, detail::HostKernels>) {
    detail::host_null_space_project_pseudo_inverse_apply(
        exec, a, b, bn, x, pseudo_inverse_cut(a, rcond), factors, extend);
  } else {
    if (factors != nullptr) *factors = NullSpaceProjectFactors<T>{};
    std::vector<int> s(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) s[i] = ac[i];
    auto n = MatrixBatch<T>::allocate_uninitialized("strata::linalg::null_space_project::N", s,
                                                    bn.layout.host_cols);
    linalg::null_space(exec, a, n);
    linalg::gemm_batched(exec, 'N', 'N', T(1), b, n, T(0), bn);
    if (want_x) linalg::pseudo_inverse_apply(exec, b, a, x, rcond);
  }
}

template <class T>
void gemm_batched(const ExecSpace& exec, char trans_a, char trans_b, T alpha,
                  const MatrixBatch<T>& a, const MatrixBatch<T>& b, T beta,
                  const MatrixBatch<T>& c) {
  const bool ta = trans_a == 'T' || trans_a == 't', tb = trans_b == 'T' || trans_b == 't';
  const int count = c.layout.count();
  STRATA_REQUIRE(a.layout.count() == count && b.layout.count() == count, ShapeMismatch,
                 "gemm_batched: batch sizes differ (A ", a.layout.count(), ", B ", b.layout.count(),
                 ", C ", count, ")");
  for (int i = 0; i < count; ++i) {
    const int am = ta ? a.layout.host_cols[i] : a.layout.host_rows[i];
    const int ak = ta ? a.layout.host_rows[i] : a.layout.host_cols[i];
    const int bk = tb ? b.layout.host_cols[i] : b.layout.host_rows[i];
    const int bn = tb ? b.layout.host_rows[i] : b.layout.host_cols[i];
    STRATA_REQUIRE(ak == bk && c.layout.host_rows[i] == am && c.layout.host_cols[i] == bn,
                   ShapeMismatch, "gemm_batched: matrix ", i, ": op(A) is ", am, " x ", ak,
                   ", op(B) is ", bk, " x ", bn, ", C is ", c.layout.host_rows[i], " x ",
                   c.layout.host_cols[i], "; shapes do not fit");
  }
  if (count == 0) return;
  detail::Backend::gemm_batched(exec, ta, tb, alpha, a, b, beta, c);
}

template <class T>
void copy_batched(const ExecSpace& exec, char trans, const MatrixBatch<T>& a,
                  const MatrixBatch<T>& b) {
  const bool t = trans == 'T' || trans == 't';
  const int count = a.layout.count();
  require_shapes(
      "copy_batched", "B", b, count,
      [&](int i) { return t ? a.layout.host_cols[i] : a.layout.host_rows[i]; },
      [&](int i) { return t ? a.layout.host_rows[i] : a.layout.host_cols[i]; });
  if (count == 0) return;
  detail::Backend::copy_batched(exec, t, a, b);
}

#define STRATA_BATCHED_DENSE_DEFINE(T)                                                             \
  template struct MatrixBatch<T>;                                                                  \
  template MatrixBatch<T> as_matrix_batch<T>(const Batch<T>&);                                     \
  template void householder_qr<T>(const ExecSpace&, const MatrixBatch<T>&, const MatrixBatch<T>&,  \
                                  const MatrixBatch<T>&);                                          \
  template void null_space<T>(const ExecSpace&, const MatrixBatch<T>&, const MatrixBatch<T>&);     \
  template void column_pivoted_qr<T>(const ExecSpace&, const MatrixBatch<T>&, const RankRule&,     \
                                     const Kokkos::View<int*, MemSpace>&, const MatrixBatch<int>&, \
                                     const MatrixBatch<T>&, const MatrixBatch<T>&);                \
  template void interpolative_decomposition<T>(                                                    \
      const ExecSpace&, const MatrixBatch<T>&, const RankRule&,                                    \
      const Kokkos::View<int*, MemSpace>&, const MatrixBatch<int>&, const MatrixBatch<T>&);        \
  template void svd<T>(const ExecSpace&, const MatrixBatch<T>&, const MatrixBatch<T>&,             \
                       const MatrixBatch<T>&, const MatrixBatch<T>&);                              \
  template Kokkos::View<int*, MemSpace> truncation_ranks<T>(                                       \
      const ExecSpace&, const MatrixBatch<T>&, const RankRule&);                                   \
  template void pseudo_inverse_apply<T>(const ExecSpace&, const MatrixBatch<T>&,                   \
                                        const MatrixBatch<T>&, const MatrixBatch<T>&, double);     \
  template void detail::null_space_project_pseudo_inverse_apply<T>(                                \
      const ExecSpace&, const MatrixBatch<T>&, const MatrixBatch<T>&, const MatrixBatch<T>&,       \
      const MatrixBatch<T>&, double, detail::NullSpaceProjectFactors<T>*, bool);                   \
  template void gemm_batched<T>(const ExecSpace&, char, char, T, const MatrixBatch<T>&,            \
                                const MatrixBatch<T>&, T, const MatrixBatch<T>&);                  \
  template void copy_batched<T>(const ExecSpace&, char, const MatrixBatch<T>&,                     \
                                const MatrixBatch<T>&);
STRATA_BATCHED_DENSE_DEFINE(float)
STRATA_BATCHED_DENSE_DEFINE(double)
#undef STRATA_BATCHED_DENSE_DEFINE
template struct MatrixBatch<int>;

}  // namespace strata::linalg
