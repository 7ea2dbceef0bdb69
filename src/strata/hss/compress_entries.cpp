#include "strata/hss/compress_entries.hpp"

#include <algorithm>
#include <memory>
#include <utility>

#include "strata/core/checks.hpp"
#include "strata/core/random.hpp"
#include "strata/hss/compress_matvec.hpp"
#include "strata/hss/detail/batch_copy.hpp"
#include "strata/hss/detail/compress_levels.hpp"
#include "strata/hss/matvec.hpp"
#include "strata/linalg/blas.hpp"

namespace strata::hss {

namespace {

using linalg::BatchLayout;
using linalg::MatrixBatch;
using Lists = std::vector<std::vector<index_type>>;

// An N x s block whose flat storage has N spare entries at the end: BatchLayout's span of a
// strided row block counts ld * cols entries from the block's offset, past the last column's end.
// Not zero-filled: every column is written (drawn, multiplied or copied) before it is read, and
// the spare entries are never read.
template <class T>
struct Samples {
  Kokkos::View<T*, MemSpace> storage;
  Matrix<T> matrix;
  Samples(const std::string& label, std::size_t n, std::size_t s)
      : storage(Kokkos::view_alloc(label, Kokkos::WithoutInitializing), n * s + n),
        matrix(storage.data(), n, s) {}
};

template <class T>
Kokkos::View<T*, MemSpace> flat(const Samples<T>& m) {
  return m.storage;
}

std::vector<int> repeat(int value, std::size_t count) {
  return std::vector<int>(count, value);
}

std::vector<int> lds_of(const std::vector<int>& rows) {
  std::vector<int> ld(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) ld[i] = std::max(1, rows[i]);
  return ld;
}

// Matrix b of `batch` seen with another (smaller or equal) shape at the same place.
template <class T>
MatrixBatch<T> reshaped(const MatrixBatch<T>& batch, const std::vector<int>& rows,
                        const std::vector<int>& cols) {
  return MatrixBatch<T>(batch.values, BatchLayout::strided(batch.layout.host_offset, rows, cols,
                                                           batch.layout.host_ld));
}

// Sibling order: matrix b of the result is matrix b ^ 1 of `batch`.
template <class T>
MatrixBatch<T> siblings(const MatrixBatch<T>& batch) {
  const auto& l = batch.layout;
  std::vector<index_type> offset(l.host_offset.size());
  std::vector<int> rows(offset.size()), cols(offset.size()), ld(offset.size());
  for (std::size_t b = 0; b < offset.size(); ++b) {
    offset[b] = l.host_offset[b ^ 1], rows[b] = l.host_rows[b ^ 1];
    cols[b] = l.host_cols[b ^ 1], ld[b] = l.host_ld[b ^ 1];
  }
  return MatrixBatch<T>(batch.values, BatchLayout::strided(offset, rows, cols, ld));
}

// A packed batch with `pad` spare entries at the end, so that row blocks of its matrices can be
// described by strided layouts (whose span counts ld * cols from the block's first row). Not
// zero-filled: the callers write every matrix entirely (the stacked children's parts), and the
// spare entries are never read.
template <class T>
MatrixBatch<T> allocate_padded(const std::string& label, const std::vector<int>& rows,
                               const std::vector<int>& cols) {
  auto layout = BatchLayout::packed(rows, cols);
  const int pad = rows.empty() ? 0 : *std::max_element(rows.begin(), rows.end());
  return MatrixBatch<T>(
      Kokkos::View<T*, MemSpace>(Kokkos::view_alloc(label, Kokkos::WithoutInitializing),
                                 layout.span + pad),
      std::move(layout));
}

// The two children's blocks stacked inside their parent's packed matrix (parent_rows x cols):
// child c at row (c odd ? child_rows[c - 1] : 0).
template <class T>
MatrixBatch<T> stacked_parts(const MatrixBatch<T>& parents, const std::vector<int>& child_rows,
                             int cols) {
  const std::size_t n = child_rows.size();
  std::vector<index_type> offset(n);
  std::vector<int> ld(n);
  for (std::size_t c = 0; c < n; ++c) {
    const std::size_t p = c / 2;
    offset[c] = parents.layout.host_offset[p] + ((c & 1) ? child_rows[c - 1] : 0);
    ld[c] = parents.layout.host_ld[p];
  }
  return MatrixBatch<T>(parents.values,
                        BatchLayout::strided(offset, child_rows, repeat(cols, n), ld));
}

template <class T>
class Builder {
 public:
  Builder(const ExecSpace& exec, const ClusterTree& tree, const EntryEvaluator<T>& entries,
          const linalg::RankRule& rule, CompressEntriesResult& result)
      : exec_(exec), tree_(tree), entries_(entries), rule_(rule), result_(result) {}

  // Values of the blocks A(rows_b, cols_b) (permuted positions), packed column-major.
  Kokkos::View<T*, MemSpace> entries(const Lists& rows, const Lists& cols) {
    Lists r = rows, c = cols;
    if (!tree_.is_identity()) {
      const auto& perm = tree_.permutation_host();
      for (auto& list : r) {
        for (auto& i : list) i = perm(i);
      }
      for (auto& list : c) {
        for (auto& j : list) j = perm(j);
      }
    }
    const auto blocks = make_entry_blocks<T>(r, c);
    entries_(exec_, blocks);
    result_.entries += static_cast<index_type>(blocks.values.extent(0));
    return blocks.values;
  }

  // Row ID of every sample block (n_b x s): returns ranks; skeleton positions and the k x n
  // interpolation matrices (rows [0, k) of x) are left in `skeleton` and `x`.
  std::vector<int> row_id(const MatrixBatch<T>& sample, const std::vector<int>& n, int s,
                          MatrixBatch<int>& skeleton, MatrixBatch<T>& x) {
    const std::size_t count = n.size();
    // Outputs below are overwritten entirely (the copy; the ID writes every skeleton entry and
    // every row of X): no zero fill.
    auto transposed = MatrixBatch<T>::allocate_uninitialized("strata::hss::compress::sample_t",
                                                             repeat(s, count), n);
    detail::copy_batch(exec_, sample, transposed, true);
    std::vector<int> x_rows(count);
    for (std::size_t b = 0; b < count; ++b) x_rows[b] = std::min(s, n[b]);
    skeleton = MatrixBatch<int>::allocate_uninitialized("strata::hss::compress::skeleton", n,
                                                        repeat(1, count));
    x = MatrixBatch<T>::allocate_uninitialized("strata::hss::compress::interpolation", x_rows, n);
    Kokkos::View<int*, MemSpace> ranks("strata::hss::compress::ranks", count);
    linalg::interpolative_decomposition(exec_, transposed, rule_, ranks, skeleton, x);
    auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), ranks);
    std::vector<int> k(host.data(), host.data() + count);
    for (std::size_t b = 0; b < count; ++b) {
      if (k[b] >= s && s < n[b]) ++result_.saturated_nodes;
    }
    return k;
  }

  // With stop_when_saturated, returns an empty HssMatrix as soon as a level has a saturated node
  // (the caller then grows the samples and starts again: the levels above would be discarded).
  HssMatrix<T> build(const Samples<T>& y, const Samples<T>& z, const Samples<T>& omega,
                     const Samples<T>& psi, bool stop_when_saturated) {
    const int levels = tree_.levels();
    const index_type n = tree_.size();
    const int s = static_cast<int>(y.matrix.extent(1));
    HssRanks ranks;
    ranks.row.assign(static_cast<std::size_t>(levels) + 1, {});
    ranks.col.assign(static_cast<std::size_t>(levels) + 1, {});
    result_.max_row_rank.assign(static_cast<std::size_t>(levels) + 1, 0);
    result_.max_col_rank.assign(static_cast<std::size_t>(levels) + 1, 0);

    // Leaves: D, then the samples of the off-diagonal block rows and columns.
    const auto leaves = static_cast<std::size_t>(ClusterTree::nodes_on_level(levels));
    std::vector<int> m(leaves);
    std::vector<index_type> begin(leaves);
    Lists cand_r(leaves), cand_c;
    for (std::size_t i = 0; i < leaves; ++i) {
      begin[i] = tree_.node_begin(levels, static_cast<index_type>(i));
      m[i] = checked_int(tree_.node_size(levels, static_cast<index_type>(i)), "leaf size");
      for (int a = 0; a < m[i]; ++a) cand_r[i].push_back(begin[i] + a);
    }
    cand_c = cand_r;
    const MatrixBatch<T> d(entries(cand_r, cand_r), BatchLayout::packed(m, m));
    const auto svec = repeat(s, leaves);
    const std::vector<int> ld_n(leaves, checked_int(n, "N"));
    const MatrixBatch<T> omega_leaf(flat(omega), BatchLayout::strided(begin, m, svec, ld_n));
    const MatrixBatch<T> psi_leaf(flat(psi), BatchLayout::strided(begin, m, svec, ld_n));
    // Written entirely by the copies below when levels > 0, and never read otherwise.
    MatrixBatch<T> y_in =
        MatrixBatch<T>::allocate_uninitialized("strata::hss::compress::y", m, svec);
    MatrixBatch<T> z_in =
        MatrixBatch<T>::allocate_uninitialized("strata::hss::compress::z", m, svec);
    if (levels > 0) {
      detail::copy_batch(exec_, MatrixBatch<T>(flat(y), BatchLayout::strided(begin, m, svec, ld_n)),
                         y_in, false);
      detail::copy_batch(exec_, MatrixBatch<T>(flat(z), BatchLayout::strided(begin, m, svec, ld_n)),
                         z_in, false);
      linalg::gemm_batched(exec_, 'N', 'N', T(-1), d, omega_leaf, T(1), y_in);
      linalg::gemm_batched(exec_, 'T', 'N', T(-1), d, psi_leaf, T(1), z_in);
    }
    MatrixBatch<T> omega_in = omega_leaf, psi_in = psi_leaf;
    std::vector<int> nr = m, nc = m;

    std::vector<MatrixBatch<T>> u(static_cast<std::size_t>(levels) + 1), v(u.size()), b(u.size());
    for (int level = levels; level >= 1; --level) {
      const std::size_t nodes = nr.size();
      const auto sv = repeat(s, nodes);
      MatrixBatch<int> skel_r, skel_c;
      MatrixBatch<T> x_r, x_c;
      const auto kr = row_id(y_in, nr, s, skel_r, x_r);
      const auto kc = row_id(z_in, nc, s, skel_c, x_c);
      if (stop_when_saturated && result_.saturated_nodes > 0) return HssMatrix<T>();
      // U = X_r^T (nr x kr), V = X_c^T (nc x kc).
      // Outputs of full copies, gathers and beta = 0 GEMMs from here on: no zero fill.
      u[level] = MatrixBatch<T>::allocate_uninitialized("strata::hss::compress::u", nr, kr);
      v[level] = MatrixBatch<T>::allocate_uninitialized("strata::hss::compress::v", nc, kc);
      detail::copy_batch(exec_, reshaped(x_r, kr, nr), u[level], true);
      detail::copy_batch(exec_, reshaped(x_c, kc, nc), v[level], true);
      // Skeletons (global permuted positions) and the skeleton rows of the samples.
      auto skel_r_host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), skel_r.values);
      auto skel_c_host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), skel_c.values);
      Lists row_skeleton(nodes), col_skeleton(nodes);
      for (std::size_t i = 0; i < nodes; ++i) {
        for (int a = 0; a < kr[i]; ++a) {
          row_skeleton[i].push_back(cand_r[i][skel_r_host(skel_r.layout.host_offset[i] + a)]);
        }
        for (int a = 0; a < kc[i]; ++a) {
          col_skeleton[i].push_back(cand_c[i][skel_c_host(skel_c.layout.host_offset[i] + a)]);
        }
        result_.max_row_rank[level] = std::max<index_type>(result_.max_row_rank[level], kr[i]);
        result_.max_col_rank[level] = std::max<index_type>(result_.max_col_rank[level], kc[i]);
      }
      ranks.row[level].assign(kr.begin(), kr.end());
      ranks.col[level].assign(kc.begin(), kc.end());
      // B_i = A(J_i, K_{i^1}).
      Lists sibling_cols(nodes);
      std::vector<int> kc_sibling(nodes);
      for (std::size_t i = 0; i < nodes; ++i) {
        sibling_cols[i] = col_skeleton[i ^ 1];
        kc_sibling[i] = kc[i ^ 1];
      }
      b[level] =
          MatrixBatch<T>(entries(row_skeleton, sibling_cols), BatchLayout::packed(kr, kc_sibling));
      if (level == 1) break;

      auto y_skel = MatrixBatch<T>::allocate_uninitialized("strata::hss::compress::y_skel", kr, sv);
      auto z_skel = MatrixBatch<T>::allocate_uninitialized("strata::hss::compress::z_skel", kc, sv);
      detail::gather_rows(exec_, y_in, skel_r, y_skel);
      detail::gather_rows(exec_, z_in, skel_c, z_skel);
      // Omega^ = X_c Omega_in (kc x s), Psi^ = X_r Psi_in (kr x s).
      auto omega_hat =
          MatrixBatch<T>::allocate_uninitialized("strata::hss::compress::omega_hat", kc, sv);
      auto psi_hat =
          MatrixBatch<T>::allocate_uninitialized("strata::hss::compress::psi_hat", kr, sv);
      linalg::gemm_batched(exec_, 'N', 'N', T(1), reshaped(x_c, kc, nc), omega_in, T(0), omega_hat);
      linalg::gemm_batched(exec_, 'N', 'N', T(1), reshaped(x_r, kr, nr), psi_in, T(0), psi_hat);

      // Parent inputs: stacked children, minus the sibling couplings.
      const std::size_t parents = nodes / 2;
      std::vector<int> pr(parents), pc(parents);
      Lists parent_r(parents), parent_c(parents);
      for (std::size_t p = 0; p < parents; ++p) {
        pr[p] = kr[2 * p] + kr[2 * p + 1];
        pc[p] = kc[2 * p] + kc[2 * p + 1];
        for (std::size_t c = 2 * p; c < 2 * p + 2; ++c) {
          parent_r[p].insert(parent_r[p].end(), row_skeleton[c].begin(), row_skeleton[c].end());
          parent_c[p].insert(parent_c[p].end(), col_skeleton[c].begin(), col_skeleton[c].end());
        }
      }
      const auto ps = repeat(s, parents);
      auto y_parent = allocate_padded<T>("strata::hss::compress::y", pr, ps);
      auto z_parent = allocate_padded<T>("strata::hss::compress::z", pc, ps);
      auto omega_parent = allocate_padded<T>("strata::hss::compress::omega", pc, ps);
      auto psi_parent = allocate_padded<T>("strata::hss::compress::psi", pr, ps);
      const auto y_parts = stacked_parts(y_parent, kr, s);
      const auto z_parts = stacked_parts(z_parent, kc, s);
      detail::copy_batch(exec_, y_skel, y_parts, false);
      detail::copy_batch(exec_, z_skel, z_parts, false);
      detail::copy_batch(exec_, omega_hat, stacked_parts(omega_parent, kc, s), false);
      detail::copy_batch(exec_, psi_hat, stacked_parts(psi_parent, kr, s), false);
      // Y part of child c: Y_c(J_c) - B_{c,c^1} Omega^_{c^1};
      // Z part: Z_c(K_c) - B_{c^1,c}^T Psi^_{c^1}.
      linalg::gemm_batched(exec_, 'N', 'N', T(-1), b[level], siblings(omega_hat), T(1), y_parts);
      linalg::gemm_batched(exec_, 'T', 'N', T(-1), siblings(b[level]), siblings(psi_hat), T(1),
                           z_parts);
      y_in = y_parent, z_in = z_parent, omega_in = omega_parent, psi_in = psi_parent;
      cand_r = std::move(parent_r), cand_c = std::move(parent_c);
      nr = pr, nc = pc;
    }

    // Standard generators into the HSS storage.
    HssMatrix<T> h(tree_, ranks);
    for (int level = 1; level <= levels; ++level) {
      auto& g = h.level(level);
      const auto nodes = static_cast<std::size_t>(g.nodes);
      std::vector<index_type> uo(nodes), vo(nodes), bo(nodes);
      std::vector<int> ur(nodes), vr(nodes), rr(nodes), cr(nodes), cs(nodes);
      for (std::size_t i = 0; i < nodes; ++i) {
        uo[i] = g.u_offset_host(i), vo[i] = g.v_offset_host(i), bo[i] = g.b_offset_host(i);
        ur[i] = static_cast<int>(g.u_rows_host(i)), vr[i] = static_cast<int>(g.v_rows_host(i));
        rr[i] = static_cast<int>(g.row_rank_host(i)), cr[i] = static_cast<int>(g.col_rank_host(i));
      }
      for (std::size_t i = 0; i < nodes; ++i) cs[i] = cr[i ^ 1];
      detail::copy_batch(exec_, u[level],
                         MatrixBatch<T>(g.u, BatchLayout::strided(uo, ur, rr, lds_of(ur))), false);
      detail::copy_batch(exec_, v[level],
                         MatrixBatch<T>(g.v, BatchLayout::strided(vo, vr, cr, lds_of(vr))), false);
      detail::copy_batch(exec_, b[level],
                         MatrixBatch<T>(g.b, BatchLayout::strided(bo, rr, cs, lds_of(rr))), false);
    }
    std::vector<index_type> dof(leaves);
    for (std::size_t i = 0; i < leaves; ++i) dof[i] = h.d_offset_host()(i);
    detail::copy_batch(exec_, d, MatrixBatch<T>(h.d(), BatchLayout::strided(dof, m, m, lds_of(m))),
                       false);
    kx::fence(exec_, "strata::hss::compress_entries");
    return h;
  }

 private:
  ExecSpace exec_;
  const ClusterTree& tree_;
  const EntryEvaluator<T>& entries_;
  linalg::RankRule rule_;
  CompressEntriesResult& result_;
};

int sample_count(const CompressEntriesOptions& o) {
  STRATA_REQUIRE(o.samples >= 0 && o.relative_tolerance >= 0 && o.absolute_tolerance >= 0,
                 InvalidArgument, "compress: samples = ", o.samples,
                 ", relative_tolerance = ", o.relative_tolerance,
                 ", absolute_tolerance = ", o.absolute_tolerance, "; expected values >= 0");
  if (o.samples > 0) return o.samples;
  return o.max_rank > 0 ? o.max_rank + 10 : 64;
}

linalg::RankRule rank_rule(const CompressEntriesOptions& o) {
  linalg::RankRule rule;
  rule.max_rank = o.max_rank;
  rule.relative_tolerance = o.relative_tolerance;
  rule.absolute_tolerance = o.absolute_tolerance;
  return rule;
}

// Gaussian Omega, Psi in the tree's permuted order.
template <class T>
void draw(const ExecSpace& exec, std::uint64_t seed, Matrix<T>& omega, Matrix<T>& psi) {
  fill_random(exec, RandomStream{Distribution::gaussian, seed, 1}, omega);
  fill_random(exec, RandomStream{Distribution::gaussian, seed, 2}, psi);
}

}  // namespace

template <class T>
HssMatrix<T> compress_from_entries_and_products(const ExecSpace& exec, const ClusterTree& tree,
                                                const LinearOperator<T>& op,
                                                const EntryEvaluator<T>& entries,
                                                const CompressEntriesOptions& options,
                                                CompressEntriesResult* result) {
  CompressEntriesResult local;
  CompressEntriesResult& r = result ? *result : local;
  r = CompressEntriesResult{};
  const index_type n = tree.size();
  STRATA_REQUIRE(!op.distributed(), Unsupported,
                 "compress_from_entries_and_products: the operator is distributed; pass a "
                 "replicated operator (X and Y whole on every rank)");
  STRATA_REQUIRE(op.rows() == n && op.cols() == n, ShapeMismatch,
                 "compress_from_entries_and_products: the operator is ", op.rows(), " x ",
                 op.cols(), " but the cluster tree has ", n, " indices");
  STRATA_REQUIRE(static_cast<bool>(entries), InvalidArgument,
                 "compress_from_entries_and_products: the entry evaluator is empty");
  STRATA_REQUIRE(
      options.sample_step >= 0 && options.target_tolerance >= 0 &&
          (options.target_tolerance == 0 || (options.error_probes >= 1 && options.max_rounds >= 1)),
      InvalidArgument, "compress_from_entries_and_products: sample_step = ", options.sample_step,
      ", target_tolerance = ", options.target_tolerance, ", error_probes = ", options.error_probes,
      ", max_rounds = ", options.max_rounds,
      "; expected sample_step >= 0, target_tolerance >= 0 and, with a target, probes "
      "and rounds >= 1");
  int s = sample_count(options);
  const auto un = static_cast<std::size_t>(n);
  // Columns [have, s) of Omega, Psi (the streams' columns have..s-1: the same as drawing all s at
  // once) and of Y = A Omega, Z = A^T Psi; columns [0, have) are copied from the previous arrays.
  std::unique_ptr<Samples<T>> omega_s, psi_s, y_s, z_s;
  auto sample = [&](int have) {
    auto scope = r.timings.scope("samples");
    auto grown = [&](std::unique_ptr<Samples<T>>& old, const char* label) {
      auto fresh = std::make_unique<Samples<T>>(label, un, static_cast<std::size_t>(s));
      if (have > 0)
        Kokkos::deep_copy(exec,
                          Kokkos::subview(fresh->matrix, Kokkos::ALL, std::make_pair(0, have)),
                          old->matrix);
      old = std::move(fresh);
    };
    grown(omega_s, "strata::hss::omega");
    grown(psi_s, "strata::hss::psi");
    grown(y_s, "strata::hss::y");
    grown(z_s, "strata::hss::z");
    const auto cols = std::make_pair(have, s);
    const Matrix<T> omega = Kokkos::subview(omega_s->matrix, Kokkos::ALL, cols),
                    psi = Kokkos::subview(psi_s->matrix, Kokkos::ALL, cols),
                    y = Kokkos::subview(y_s->matrix, Kokkos::ALL, cols),
                    z = Kokkos::subview(z_s->matrix, Kokkos::ALL, cols);
    fill_random(exec, RandomStream{Distribution::gaussian, options.seed, 1}, omega, 0, have);
    fill_random(exec, RandomStream{Distribution::gaussian, options.seed, 2}, psi, 0, have);
    if (tree.is_identity()) {
      op.apply(exec, omega, y);
      op.apply_transpose(exec, psi, z);
    } else {
      const auto k = static_cast<std::size_t>(s - have);
      Matrix<T> in("strata::hss::in", un, k), out("strata::hss::out", un, k);
      detail::permute_rows<T>(exec, tree.permutation(), omega, in, false);
      op.apply(exec, in, out);
      detail::permute_rows<T>(exec, tree.permutation(), out, y, true);
      detail::permute_rows<T>(exec, tree.permutation(), psi, in, false);
      op.apply_transpose(exec, in, out);
      detail::permute_rows<T>(exec, tree.permutation(), out, z, true);
    }
    r.products += s - have, r.transpose_products += s - have;
  };
  sample(0);
  linalg::RankRule rule = rank_rule(options);
  HssMatrix<T> h;
  int estimated = 0;  // rounds that ended with an estimate (max_rounds bounds them)
  for (int round = 1;; ++round) {
    r.rounds = round;
    r.samples = s;
    r.saturated_nodes = 0;
    r.final_relative_tolerance = rule.relative_tolerance;
    {
      auto scope = r.timings.scope("construction");
      h = Builder<T>(exec, tree, entries, rule, r)
              .build(*y_s, *z_s, *omega_s, *psi_s, options.sample_step > 0 && s < n);
    }
    if (r.saturated_nodes > 0 && options.sample_step > 0 && s < n) {
      const int have = s;
      s = static_cast<int>(std::min<index_type>(n, s + options.sample_step));
      sample(have);
      continue;
    }
    if (options.target_tolerance <= 0) break;
    {
      auto scope = r.timings.scope("estimate");
      r.relative_error_estimate = estimate_relative_error<T>(
          exec, op, h, options.error_probes, options.seed + static_cast<std::uint64_t>(round));
      r.probe_products += options.error_probes;
    }
    // Accepted at kEstimateMargin x target: the estimate scatters by ~+-25% around the true
    // error (ToleranceSchedule in detail/compress_levels.hpp; the product methods accept on an
    // upper confidence bound instead, detail/error_bound.hpp).
    const double aim =
        detail::compress::ToleranceSchedule::kEstimateMargin * options.target_tolerance;
    if (r.relative_error_estimate <= aim || ++estimated >= options.max_rounds) break;
    // The error follows the ID tolerance sub-linearly: measured error ~ id_tol^0.5..0.7 on the
    // built-in kernels (laplace-curve N = 4096, tol 1e-10: the ID tolerance / 2.8 lowered the
    // estimate / 1.95, then / 1.45 lowered it / 1.5), because the ranks move in integer steps and
    // the dropped pivots of a node decay slower than its kept ones. Shrinking by the square of
    // the missing factor (exponent 1/2) reaches the aim in one more round where a linear step
    // took two or three.
    const double missing = std::min(1.0, 0.8 * aim / r.relative_error_estimate);
    rule.relative_tolerance *= std::clamp(missing * missing, 0.05, 0.8);
  }
  return h;
}

template <class T>
HssMatrix<T> compress_from_entries(const ExecSpace& exec, const ClusterTree& tree,
                                   const EntryEvaluator<T>& entries,
                                   const CompressEntriesOptions& options,
                                   CompressEntriesResult* result) {
  CompressEntriesResult local;
  CompressEntriesResult& r = result ? *result : local;
  r = CompressEntriesResult{};
  STRATA_REQUIRE(static_cast<bool>(entries), InvalidArgument,
                 "compress_from_entries: the entry evaluator is empty");
  const index_type n = tree.size();
  const int s = sample_count(options);
  r.samples = s;
  const auto un = static_cast<std::size_t>(n);
  Samples<T> omega_s("strata::hss::omega", un, s), psi_s("strata::hss::psi", un, s),
      y_s("strata::hss::y", un, s), z_s("strata::hss::z", un, s);
  Matrix<T> omega = omega_s.matrix, psi = psi_s.matrix, y = y_s.matrix, z = z_s.matrix;
  Builder<T> builder(exec, tree, entries, rank_rule(options), r);
  {
    // Row panels A(P, :) in permuted order: Y(P) = A(P, :) Omega, Z += A(P, :)^T Psi(P).
    auto scope = r.timings.scope("samples");
    draw(exec, options.seed, omega, psi);
    Kokkos::deep_copy(exec, z, T(0));  // accumulated over the panels below
    const index_type panel = std::max<index_type>(1, (index_type(1) << 22) / n);
    std::vector<index_type> all(un);
    for (index_type j = 0; j < n; ++j) all[j] = j;
    for (index_type p0 = 0; p0 < n; p0 += panel) {
      const index_type rows = std::min(panel, n - p0);
      std::vector<index_type> panel_rows(static_cast<std::size_t>(rows));
      for (index_type i = 0; i < rows; ++i) panel_rows[i] = p0 + i;
      const auto values = builder.entries({panel_rows}, {all});
      const ConstMatrix<T> a(values.data(), static_cast<std::size_t>(rows), un);
      const auto range =
          Kokkos::make_pair(static_cast<std::size_t>(p0), static_cast<std::size_t>(p0 + rows));
      linalg::gemm(exec, "N", "N", T(1), a, omega, T(0), Kokkos::subview(y, range, Kokkos::ALL));
      linalg::gemm(exec, "T", "N", T(1), a, Kokkos::subview(psi, range, Kokkos::ALL), T(1), z);
      kx::fence(exec, "strata::hss::compress_from_entries::panel");
    }
  }
  auto scope = r.timings.scope("construction");
  return builder.build(y_s, z_s, omega_s, psi_s, false);
}

#define STRATA_HSS_COMPRESS_ENTRIES_INSTANTIATE(T)                                              \
  template HssMatrix<T> compress_from_entries_and_products<T>(                                  \
      const ExecSpace&, const ClusterTree&, const LinearOperator<T>&, const EntryEvaluator<T>&, \
      const CompressEntriesOptions&, CompressEntriesResult*);                                   \
  template HssMatrix<T> compress_from_entries<T>(                                               \
      const ExecSpace&, const ClusterTree&, const EntryEvaluator<T>&,                           \
      const CompressEntriesOptions&, CompressEntriesResult*);
STRATA_HSS_COMPRESS_ENTRIES_INSTANTIATE(float)
STRATA_HSS_COMPRESS_ENTRIES_INSTANTIATE(double)
#undef STRATA_HSS_COMPRESS_ENTRIES_INSTANTIATE

}  // namespace strata::hss
