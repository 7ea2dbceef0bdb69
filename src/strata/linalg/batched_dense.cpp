#include "strata/linalg/batched_dense.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/linalg/detail/batched_dense_team.hpp"

namespace strata::linalg {

using detail::Member;
using detail::ref;
using detail::Scratch;
using detail::TeamPolicy;

int BatchLayout::max_rows() const {
  return host_rows.empty() ? 0 : *std::max_element(host_rows.begin(), host_rows.end());
}
int BatchLayout::max_cols() const {
  return host_cols.empty() ? 0 : *std::max_element(host_cols.begin(), host_cols.end());
}

namespace {
template <class V>
auto to_device(const std::vector<V>& host, const char* label) {
  Kokkos::View<V*, MemSpace> d(std::string(label), host.size());
  auto h = Kokkos::create_mirror_view(d);
  for (std::size_t i = 0; i < host.size(); ++i) h(i) = host[i];
  Kokkos::deep_copy(d, h);
  return d;
}
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
  l.offset = to_device(offset, "strata::linalg::batch::offset");
  l.rows = to_device(rows, "strata::linalg::batch::rows");
  l.cols = to_device(cols, "strata::linalg::batch::cols");
  l.ld = to_device(ld, "strata::linalg::batch::ld");
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

TeamPolicy team_policy(const ExecSpace& exec, int count, std::size_t scratch_bytes) {
  TeamPolicy policy(exec, count, Kokkos::AUTO);
  if (scratch_bytes > 0) policy.set_scratch_size(0, Kokkos::PerTeam(scratch_bytes));
  return policy;
}

/// Throws NumericalError naming the first failing matrix if any entry of `info` is nonzero.
void check_info(const ExecSpace& exec, const Kokkos::View<int*, MemSpace>& info,
                const char* function) {
  kx::fence(exec, "strata::linalg::batched_dense::info");
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, info);
  for (std::size_t b = 0; b < h.extent(0); ++b) {
    STRATA_REQUIRE(h(b) == 0, NumericalError, function, ": matrix ", b,
                   h(b) == 1 ? " holds NaN or Inf entries; expected finite numbers"
                             : " did not converge (one-sided Jacobi sweeps exhausted)");
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
  const bool want_r = r.layout.count() > 0;
  if (want_r) {
    require_shapes(
        "householder_qr", "R", r, count, [&](int b) { return std::min(ar[b], ac[b]); },
        [&](int b) { return ac[b]; });
  }
  if (count == 0) return;
  // Factor a packed copy (the input stays intact).
  auto work = MatrixBatch<T>::allocate("strata::linalg::householder_qr::work", ar, ac);
  const auto a_ref = ref<T>(a), w_ref = ref<T>(work), q_ref = ref<T>(q), r_ref = ref<T>(r);
  const int len = std::max(1, std::min(a.layout.max_rows(), a.layout.max_cols()));
  Kokkos::parallel_for(
      "strata::linalg::householder_qr", team_policy(exec, count, Scratch<T>::shmem_size(len)),
      KOKKOS_LAMBDA(const Member& member) {
        const int b = member.league_rank();
        Scratch<T> tau(member.team_scratch(0), len);
        const auto src = a_ref(b), f = w_ref(b);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, f.cols), [&](const int j) {
          for (int i = 0; i < f.rows; ++i) f(i, j) = src(i, j);
        });
        member.team_barrier();
        detail::team_householder_qr(member, f, tau);
        const int steps = kx::min(f.rows, f.cols);
        detail::team_form_q(member, f, tau, steps, 0, q_ref(b));
        if (want_r) {
          const auto rr = r_ref(b);
          Kokkos::parallel_for(Kokkos::TeamThreadRange(member, rr.cols), [&](const int j) {
            for (int i = 0; i < rr.rows; ++i) rr(i, j) = i <= j ? f(i, j) : T(0);
          });
        }
      });
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
  auto work = MatrixBatch<T>::allocate("strata::linalg::null_space::work", ac, ar);
  const auto a_ref = ref<T>(a), w_ref = ref<T>(work), n_ref = ref<T>(n);
  const int len = std::max(1, a.layout.max_rows());
  Kokkos::parallel_for(
      "strata::linalg::null_space", team_policy(exec, count, Scratch<T>::shmem_size(len)),
      KOKKOS_LAMBDA(const Member& member) {
        const int b = member.league_rank();
        Scratch<T> tau(member.team_scratch(0), len);
        const auto src = a_ref(b), f = w_ref(b);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, f.cols), [&](const int j) {
          for (int i = 0; i < f.rows; ++i) f(i, j) = src(j, i);
        });
        member.team_barrier();
        detail::team_householder_qr(member, f, tau);
        const int steps = kx::min(f.rows, f.cols);
        detail::team_form_q(member, f, tau, steps, f.cols, n_ref(b));
      });
}

namespace {
/// Shared driver of column_pivoted_qr and interpolative_decomposition.
template <class T, class Finish>
void pivoted_qr_driver(const ExecSpace& exec, const char* label, const MatrixBatch<T>& a,
                       const RankRule& rule, const Kokkos::View<int*, MemSpace>& ranks,
                       const MatrixBatch<int>& perm, Finish finish) {
  const int count = a.layout.count();
  STRATA_REQUIRE(static_cast<int>(ranks.extent(0)) == count, ShapeMismatch, label, ": ranks has ",
                 ranks.extent(0), " entries, expected ", count);
  STRATA_REQUIRE(rule.relative_tolerance >= 0 && rule.absolute_tolerance >= 0, InvalidArgument,
                 label, ": tolerances must be >= 0, got relative ", rule.relative_tolerance,
                 ", absolute ", rule.absolute_tolerance);
  const auto& ac = a.layout.host_cols;
  require_shapes(
      label, "perm", perm, count, [&](int b) { return ac[b]; }, [](int) { return 1; });
  if (count == 0) return;
  auto work = MatrixBatch<T>::allocate("strata::linalg::pivoted_qr::work", a.layout.host_rows, ac);
  const auto a_ref = ref<T>(a), w_ref = ref<T>(work);
  const auto p_ref = ref<int>(perm);
  const int len = std::max(1, std::max(a.layout.max_rows(), a.layout.max_cols()));
  const std::size_t bytes = 2 * Scratch<T>::shmem_size(len) + Scratch<int>::shmem_size(4);
  const int max_rank = rule.max_rank;
  const double rel = rule.relative_tolerance, abs_tol = rule.absolute_tolerance;
  Kokkos::parallel_for(
      label, team_policy(exec, count, bytes), KOKKOS_LAMBDA(const Member& member) {
        const int b = member.league_rank();
        Scratch<T> tau(member.team_scratch(0), len), norms(member.team_scratch(0), len);
        Scratch<int> shared(member.team_scratch(0), 4);
        const auto src = a_ref(b), f = w_ref(b);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, f.cols), [&](const int j) {
          for (int i = 0; i < f.rows; ++i) f(i, j) = src(i, j);
        });
        member.team_barrier();
        int* pv = p_ref(b).p;
        const int k =
            detail::team_pivoted_qr(member, f, pv, tau, norms, shared, max_rank, rel, abs_tol);
        Kokkos::single(Kokkos::PerTeam(member), [&]() { ranks(b) = k; });
        finish(member, b, f, tau, k, pv);
      });
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
  const auto q_ref = ref<T>(q), r_ref = ref<T>(r);
  pivoted_qr_driver(
      exec, "strata::linalg::column_pivoted_qr", a, rule, ranks, perm,
      KOKKOS_LAMBDA(const Member& member, const int b, const detail::MatRef<T>& f,
                    const Scratch<T>& tau, const int k, int*) {
        if (want_q) {
          const auto qq = q_ref(b);
          detail::team_form_q(member, f, tau, k, 0, qq);
        }
        if (want_r) {
          const auto rr = r_ref(b);
          Kokkos::parallel_for(Kokkos::TeamThreadRange(member, rr.cols), [&](const int j) {
            for (int i = 0; i < rr.rows; ++i) rr(i, j) = (i <= j && i < k) ? f(i, j) : T(0);
          });
        }
      });
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
  const auto x_ref = ref<T>(x);
  pivoted_qr_driver(
      exec, "strata::linalg::interpolative_decomposition", a, rule, ranks, skeleton,
      KOKKOS_LAMBDA(const Member& member, const int b, const detail::MatRef<T>& f,
                    const Scratch<T>&, const int k, int* pv) {
        // T = R11^{-1} R12 by back substitution, in place over R12 (one column per thread).
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, k, f.cols), [&](const int j) {
          for (int i = k - 1; i >= 0; --i) {
            T s = f(i, j);
            for (int l = i + 1; l < k; ++l) s -= f(i, l) * f(l, j);
            f(i, j) = s / f(i, i);
          }
        });
        member.team_barrier();
        const auto xx = x_ref(b);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, f.cols), [&](const int j) {
          const int c = pv[j];
          for (int i = 0; i < xx.rows; ++i) {
            xx(i, c) = i >= k ? T(0) : (j < k ? (i == j ? T(1) : T(0)) : f(i, j));
          }
        });
      });
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
  require_shapes(
      "svd", "U", u, count, [&](int b) { return ar[b]; }, k_of);
  require_shapes("svd", "sigma", sigma, count, k_of, [](int) { return 1; });
  require_shapes(
      "svd", "V", v, count, [&](int b) { return ac[b]; }, k_of);
  if (count == 0) return;
  const auto a_ref = ref<T>(a), u_ref = ref<T>(u), s_ref = ref<T>(sigma), v_ref = ref<T>(v);
  const int len = std::max(1, a.layout.max_rows() + a.layout.max_cols());
  const T tiny = std::numeric_limits<T>::min() / std::numeric_limits<T>::epsilon();
  Kokkos::View<int*, MemSpace> info("strata::linalg::svd::info", count);
  Kokkos::parallel_for(
      "strata::linalg::svd",
      team_policy(exec, count, Scratch<T>::shmem_size(len) + Scratch<int>::shmem_size(2)),
      KOKKOS_LAMBDA(const Member& member) {
        const int b = member.league_rank();
        Scratch<T> work(member.team_scratch(0), len);
        Scratch<int> shared(member.team_scratch(0), 2);
        const auto src = a_ref(b), uu = u_ref(b), vv = v_ref(b);
        const bool tall = src.rows >= src.cols;
        // Tall: W = A in U, rotations in V. Wide: W = A^T in V, rotations in U.
        const auto w = tall ? uu : vv, j = tall ? vv : uu;
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, w.cols), [&](const int c) {
          for (int i = 0; i < w.rows; ++i) w(i, c) = tall ? src(i, c) : src(c, i);
          for (int i = 0; i < j.rows; ++i) j(i, c) = i == c ? T(1) : T(0);
        });
        member.team_barrier();
        const int status =
            detail::team_jacobi_svd(member, w, j, s_ref(b).p, work, shared, tiny, 60);
        Kokkos::single(Kokkos::PerTeam(member), [&]() { info(b) = status; });
      });
  check_info(exec, info, "svd");
}

template <class T>
Kokkos::View<int*, MemSpace> truncation_ranks(const ExecSpace& exec, const MatrixBatch<T>& d,
                                              const RankRule& rule) {
  STRATA_REQUIRE(rule.relative_tolerance >= 0 && rule.absolute_tolerance >= 0, InvalidArgument,
                 "truncation_ranks: tolerances must be >= 0, got relative ",
                 rule.relative_tolerance, ", absolute ", rule.absolute_tolerance);
  const int count = d.layout.count();
  Kokkos::View<int*, MemSpace> ranks("strata::linalg::truncation_ranks", count);
  const auto d_ref = ref<T>(d);
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
  std::vector<int> k(static_cast<std::size_t>(count)), ones(static_cast<std::size_t>(count), 1);
  for (int i = 0; i < count; ++i) k[i] = std::min(ar[i], ac[i]);
  auto u = MatrixBatch<T>::allocate("strata::linalg::pinv::u", ar, k);
  auto s = MatrixBatch<T>::allocate("strata::linalg::pinv::sigma", k, ones);
  auto v = MatrixBatch<T>::allocate("strata::linalg::pinv::v", ac, k);
  svd(exec, a, u, s, v);
  auto t = MatrixBatch<T>::allocate("strata::linalg::pinv::bv", br, k);
  const auto b_ref = ref<T>(b), x_ref = ref<T>(x), u_ref = ref<T>(u), s_ref = ref<T>(s),
             v_ref = ref<T>(v), t_ref = ref<T>(t);
  const double cut_factor =
      rcond > 0 ? rcond
                : static_cast<double>(std::max(a.layout.max_rows(), a.layout.max_cols())) *
                      std::numeric_limits<T>::epsilon();
  Kokkos::parallel_for(
      "strata::linalg::pseudo_inverse_apply", team_policy(exec, count, 0),
      KOKKOS_LAMBDA(const Member& member) {
        const int i = member.league_rank();
        const auto bb = b_ref(i), uu = u_ref(i), vv = v_ref(i), tt = t_ref(i), xx = x_ref(i);
        const T* sg = s_ref(i).p;
        const int kk = uu.cols;
        const T cut = kk > 0 ? static_cast<T>(cut_factor) * sg[0] : T(0);
        // T = B V diag(1/sigma) with the singular values <= cut dropped.
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, tt.rows * kk), [&](const int e) {
          const int r = e % tt.rows, l = e / tt.rows;
          T acc = 0;
          if (sg[l] > cut) {
            for (int c = 0; c < bb.cols; ++c) acc += bb(r, c) * vv(c, l);
            acc /= sg[l];
          }
          tt(r, l) = acc;
        });
        member.team_barrier();
        // X = T U^T.
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, xx.rows * xx.cols), [&](const int e) {
          const int r = e % xx.rows, c = e / xx.rows;
          T acc = 0;
          for (int l = 0; l < kk; ++l) acc += tt(r, l) * uu(c, l);
          xx(r, c) = acc;
        });
      });
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
  const auto a_ref = ref<T>(a), b_ref = ref<T>(b), c_ref = ref<T>(c);
  Kokkos::parallel_for(
      "strata::linalg::gemm_batched::variable", team_policy(exec, count, 0),
      KOKKOS_LAMBDA(const Member& member) {
        const int i = member.league_rank();
        const auto aa = a_ref(i), bb = b_ref(i), cc = c_ref(i);
        const int inner = ta ? aa.rows : aa.cols;
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, cc.rows * cc.cols), [&](const int e) {
          const int r = e % cc.rows, col = e / cc.rows;
          T acc = 0;
          for (int l = 0; l < inner; ++l)
            acc += (ta ? aa(l, r) : aa(r, l)) * (tb ? bb(col, l) : bb(l, col));
          cc(r, col) = beta == T(0) ? alpha * acc : alpha * acc + beta * cc(r, col);
        });
      });
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
  const auto a_ref = ref<T>(a), b_ref = ref<T>(b);
  Kokkos::parallel_for(
      "strata::linalg::copy_batched", team_policy(exec, count, 0),
      KOKKOS_LAMBDA(const Member& member) {
        const int i = member.league_rank();
        const auto aa = a_ref(i), bb = b_ref(i);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(member, bb.rows * bb.cols), [&](const int e) {
          const int r = e % bb.rows, c = e / bb.rows;
          bb(r, c) = t ? aa(c, r) : aa(r, c);
        });
      });
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
  template void gemm_batched<T>(const ExecSpace&, char, char, T, const MatrixBatch<T>&,            \
                                const MatrixBatch<T>&, T, const MatrixBatch<T>&);                  \
  template void copy_batched<T>(const ExecSpace&, char, const MatrixBatch<T>&,                     \
                                const MatrixBatch<T>&);
STRATA_BATCHED_DENSE_DEFINE(float)
STRATA_BATCHED_DENSE_DEFINE(double)
#undef STRATA_BATCHED_DENSE_DEFINE
template struct MatrixBatch<int>;

}  // namespace strata::linalg
