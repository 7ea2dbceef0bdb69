#include "strata/hss/compress_matvec.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/random.hpp"
#include "strata/hss/detail/compress_levels.hpp"
#include "strata/hss/matvec.hpp"
#include "strata/linalg/batched_dense.hpp"
#include "strata/linalg/norms.hpp"

namespace strata::hss {

const char* compress_method_name(CompressMethod method) {
  return method == CompressMethod::levitt_martinsson ? "levitt-martinsson" : "quasi-optimal";
}

CompressMethod parse_compress_method(const std::string& name) {
  if (name == "levitt-martinsson") return CompressMethod::levitt_martinsson;
  if (name == "quasi-optimal") return CompressMethod::quasi_optimal;
  STRATA_THROW(InvalidArgument, "unknown HSS compression method '", name,
               "'; expected levitt-martinsson or quasi-optimal");
}

namespace {

using namespace detail::compress;

template <class T>
std::vector<int> host_ranks(const Kokkos::View<int*, MemSpace>& ranks) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, ranks);
  return std::vector<int>(h.data(), h.data() + h.extent(0));
}

template <class T>
class Sampler {
 public:
  Sampler(const ExecSpace& exec, const LinearOperator<T>& a, const ClusterTree& tree)
      : exec_(exec), a_(a), tree_(tree) {}

  /// Y = op(A) X with X, Y in the tree's permuted order; checks the result for NaN/Inf.
  void apply(const Matrix<T>& x, const Matrix<T>& y, bool transpose) {
    if (x.extent(1) == 0) return;
    Kokkos::Timer timer;
    if (tree_.is_identity()) {
      run(x, y, transpose);
    } else {
      Matrix<T> xu("strata::hss::compress::x_user", x.extent(0), x.extent(1));
      Matrix<T> yu("strata::hss::compress::y_user", y.extent(0), y.extent(1));
      detail::permute_rows<T>(exec_, tree_.permutation(), x, xu, false);
      run(xu, yu, transpose);
      detail::permute_rows<T>(exec_, tree_.permutation(), yu, y, true);
    }
    const index_type bad = count_non_finite(exec_, y);
    STRATA_REQUIRE(bad == 0, NonFiniteInput, "compress_from_matvecs: the products with ",
                   transpose ? "A^T" : "A", " returned ", bad,
                   " NaN or Inf entries; the operator must return finite numbers");
    (transpose ? transpose_products : products) += static_cast<index_type>(x.extent(1));
    seconds += timer.seconds();
  }

  index_type products = 0, transpose_products = 0;
  double seconds = 0;  // spent in apply

 private:
  void run(const Matrix<T>& x, const Matrix<T>& y, bool transpose) {
    if (transpose)
      a_.apply_transpose(exec_, x, y);
    else
      a_.apply(exec_, x, y);
  }
  ExecSpace exec_;
  const LinearOperator<T>& a_;
  const ClusterTree& tree_;
};

/// Gaussian test matrix (rows x cols, columns [col0, col0 + cols) of stream `id`).
template <class T>
Matrix<T> gaussian(const ExecSpace& exec, std::uint64_t seed, std::uint64_t id, index_type rows,
                   index_type cols) {
  Matrix<T> m("strata::hss::compress::gaussian", rows, cols);
  fill_random(exec, RandomStream{Distribution::gaussian, seed, id}, m);
  return m;
}

/// Telescoping factors (levels 1..L, and the root block) -> standard HSS generators.
template <class T>
HssMatrix<T> assemble(const ExecSpace& exec, const ClusterTree& tree,
                      const std::vector<LevelFactors<T>>& f, const MatrixBatch<T>& root) {
  namespace la = linalg;
  const int levels = tree.levels();
  HssRanks ranks;
  ranks.row.resize(static_cast<std::size_t>(levels) + 1);
  ranks.col.resize(ranks.row.size());
  for (int l = 1; l <= levels; ++l) {
    ranks.row[l].assign(f[l].r.begin(), f[l].r.end());
    ranks.col[l].assign(f[l].c.begin(), f[l].c.end());
  }
  HssMatrix<T> h(tree, ranks);
  if (levels == 0) {
    const int m = static_cast<int>(tree.size());
    la::copy_batched(exec, 'N', root, carve<T>(h.d(), 1, [&](int) { return Block{0, m, m, m}; }));
    return h;
  }
  // Bases: U_i and V_i are the standard (transfer) generators as they are.
  for (int l = 1; l <= levels; ++l) {
    auto& lev = h.level(l);
    const int n = static_cast<int>(lev.nodes);
    la::copy_batched(
        exec, 'N', f[l].u, carve<T>(lev.u, n, [&](int i) {
          return Block{lev.u_offset_host(i), f[l].dims.row_dim[i], f[l].r[i], f[l].dims.row_dim[i]};
        }));
    la::copy_batched(
        exec, 'N', f[l].v, carve<T>(lev.v, n, [&](int i) {
          return Block{lev.v_offset_host(i), f[l].dims.col_dim[i], f[l].c[i], f[l].dims.col_dim[i]};
        }));
  }
  // Top-down: G_i (diagonal block of the reduced matrix on node i) and B_{i,i^1}.
  MatrixBatch<T> g_parent;
  for (int l = 1; l <= levels; ++l) {
    const auto& fl = f[l];
    const int n = fl.dims.nodes;
    auto& lev = h.level(l);
    const auto b = carve<T>(lev.b, n, [&](int i) {
      return Block{lev.b_offset_host(i), fl.r[i], fl.c[i ^ 1], fl.r[i]};
    });
    g_parent = couplings_level<T>(exec, fl.r, fl.c, l == 1 ? root : f[l - 1].d,
                                  l >= 2 ? &f[l - 1] : nullptr, g_parent, b);
  }
  // Leaves: A(I_i, I_i) = D_i + U_i G_i V_i^T.
  const auto& fl = f[levels];
  const int n = fl.dims.nodes;
  auto t = MatrixBatch<T>::allocate("strata::hss::compress::UGleaf", fl.dims.row_dim, fl.c);
  la::gemm_batched(exec, 'N', 'N', T(1), fl.u, g_parent, T(0), t);
  const auto& doff = h.d_offset_host();
  const auto dst = carve<T>(h.d(), n, [&](int i) {
    return Block{doff(i), fl.dims.row_dim[i], fl.dims.col_dim[i], fl.dims.row_dim[i]};
  });
  la::copy_batched(exec, 'N', fl.d, dst);
  la::gemm_batched(exec, 'N', 'T', T(1), t, fl.v, T(1), dst);
  return h;
}

template <class T>
struct Build {
  std::vector<LevelFactors<T>> levels;
  MatrixBatch<T> root;
  std::vector<index_type> products_per_level;
  bool hit_cap = false;
};

LevelDims leaf_dims(const ClusterTree& tree) {
  const int l = tree.levels();
  std::vector<int> m(static_cast<std::size_t>(ClusterTree::nodes_on_level(l)));
  for (std::size_t i = 0; i < m.size(); ++i)
    m[i] = static_cast<int>(tree.node_size(l, static_cast<index_type>(i)));
  return LevelDims::from(m, m);
}

/// Levitt-Martinsson: the given single batch of samples (s columns), moved up level by level.
/// With stop_if_capped, the pass stops at the first level with a node capped by the samples: the
/// levels above would be built on truncated bases, and their predictions of the samples needed
/// would be polluted by the capped residuals in their samples.
template <class T>
Build<T> build_levitt_martinsson(const ExecSpace& exec, const ClusterTree& tree, Samples<T> smp,
                                 RankChoice& choice, bool stop_if_capped) {
  Build<T> out;
  const int levels = tree.levels();
  out.levels.resize(static_cast<std::size_t>(levels) + 1);
  auto dims = leaf_dims(tree);
  const int s = static_cast<int>(smp.s);
  for (int l = levels; l >= 1; --l) {
    auto f = factor_level(exec, dims, smp, l, choice);
    if (stop_if_capped && choice.hit_cap) {
      out.hit_cap = true;
      return out;
    }
    Samples<T> up;
    up.s = up.s_d = smp.s;
    up.y = reduce(exec, f, smp.y, smp.omega, s, false);
    up.z = reduce(exec, f, smp.z, smp.psi, s, true);
    up.omega = project(exec, f.v, dims.col_off, dims.col_dim, f.c, smp.omega, s);
    up.psi = project(exec, f.u, dims.row_off, dims.row_dim, f.r, smp.psi, s);
    smp = up;
    dims = LevelDims::parent_of(f.r, f.c);
    out.levels[l] = std::move(f);
  }
  out.root = root_block(exec, dims, smp);
  out.hit_cap = choice.hit_cap;
  return out;
}

/// Amsel et al.: fresh sketches at every level (SketchPlan: a basis sketch and an independent D
/// sketch, widths from the level's node sizes and the ranks found below), lifted to R^N through
/// the bases found so far, multiplied by A (A^T), and reduced back through U^T (. - D .). In
/// tolerance mode (budget_scale > 0) a level whose nodes are capped by the samples appends
/// basis columns and is factored again; ||A||_F is estimated from the leaves' unlifted sketches
/// when `norm` is 0 (E ||A G||_F^2 = cols ||A||_F^2).
template <class T>
Build<T> build_quasi_optimal(const ExecSpace& exec, const ClusterTree& tree, Sampler<T>& sampler,
                             const SketchPlan& plan, index_type first_rank, std::uint64_t seed,
                             double budget_scale, double& norm, RankChoice& choice,
                             index_type& widest) {
  Build<T> out;
  const int levels = tree.levels();
  const index_type n = tree.size();
  out.levels.resize(static_cast<std::size_t>(levels) + 1);
  auto dims = leaf_dims(tree);
  index_type expected_rank = first_rank;
  struct Sketch {
    Matrix<T> omega, psi, y, z;
  };
  for (int l = levels; l >= 0; --l) {
    const std::uint64_t id = 0x100 + 4 * static_cast<std::uint64_t>(l);
    // Columns [col0, col0 + cols) of the streams (sid, sid + 1), lifted: W_k = V^(k) W_{k-1} for
    // k = l+1..L (U for the transpose side), multiplied and reduced back to level l.
    auto sketch = [&](std::uint64_t sid, index_type col0, index_type cols) {
      Sketch sk;
      sk.omega = Matrix<T>("strata::hss::compress::qo_omega", dims.cols(), cols);
      sk.psi = Matrix<T>("strata::hss::compress::qo_psi", dims.rows(), cols);
      fill_random(exec, RandomStream{Distribution::gaussian, seed, sid}, sk.omega, 0, col0);
      fill_random(exec, RandomStream{Distribution::gaussian, seed, sid + 1}, sk.psi, 0, col0);
      const int wc = static_cast<int>(cols);
      std::vector<Matrix<T>> w(static_cast<std::size_t>(levels) + 1),
          x(static_cast<std::size_t>(levels) + 1);
      w[l] = sk.omega;
      x[l] = sk.psi;
      for (int k = l + 1; k <= levels; ++k) {
        const auto& f = out.levels[k];
        w[k] = lift(exec, f.v, f.dims.col_off, f.dims.col_dim, f.c, w[k - 1], wc);
        x[k] = lift(exec, f.u, f.dims.row_off, f.dims.row_dim, f.r, x[k - 1], wc);
      }
      Matrix<T> y("strata::hss::compress::AW", n, cols), z("strata::hss::compress::ATX", n, cols);
      sampler.apply(w[levels], y, false);
      sampler.apply(x[levels], z, true);
      for (int k = levels; k > l; --k) {
        y = reduce(exec, out.levels[k], y, w[k], wc, false);
        z = reduce(exec, out.levels[k], z, x[k], wc, true);
      }
      sk.y = y;
      sk.z = z;
      return sk;
    };
    const index_type c = largest_node(dims);
    const index_type sd = plan.d(c);
    index_type sb = l == 0 ? 0 : plan.basis(c, expected_rank);
    const Sketch dsk = sketch(id + 2, 0, sd);
    Sketch bsk;
    index_type have = 0;
    int attempt = 0;
    for (;;) {
      if (sb > have) {
        const Sketch more = sketch(id, have, sb - have);
        bsk.omega = hcat(exec, bsk.omega, more.omega);
        bsk.psi = hcat(exec, bsk.psi, more.psi);
        bsk.y = hcat(exec, bsk.y, more.y);
        bsk.z = hcat(exec, bsk.z, more.z);
        have = sb;
      }
      Samples<T> smp;
      smp.s = sb;
      smp.d_col0 = sb;
      smp.s_d = sd;
      smp.omega = hcat(exec, bsk.omega, dsk.omega);
      smp.psi = hcat(exec, bsk.psi, dsk.psi);
      smp.y = hcat(exec, bsk.y, dsk.y);
      smp.z = hcat(exec, bsk.z, dsk.z);
      if (l == levels && norm == 0)
        norm = static_cast<double>(linalg::frobenius_norm(exec, smp.y)) /
               std::sqrt(static_cast<double>(sb + sd));
      if (l == 0) {
        out.root = root_block(exec, dims, smp);
        break;
      }
      RankChoice level = choice;
      level.budget = budget_scale * norm;
      level.hit_cap = false;
      level.s_needed = 0;
      level.max_rank = 0;
      auto f = factor_level(exec, dims, smp, l, level);
      if (level.hit_cap && budget_scale > 0 && sb < plan.s_max) {
        sb = plan.grow(sb, level.s_needed, attempt++);
        continue;
      }
      choice.hit_cap = choice.hit_cap || level.hit_cap;
      expected_rank = level.max_rank;
      dims = LevelDims::parent_of(f.r, f.c);
      out.levels[l] = std::move(f);
      break;
    }
    out.products_per_level.push_back(sb + sd);
    widest = std::max(widest, std::max(sb, sd));
  }
  out.hit_cap = choice.hit_cap;
  return out;
}

}  // namespace

template <class T>
double estimate_relative_error(const ExecSpace& exec, const LinearOperator<T>& a,
                               const HssMatrix<T>& h, int probes, std::uint64_t seed) {
  STRATA_REQUIRE(probes >= 1, InvalidArgument, "estimate_relative_error: probes = ", probes,
                 "; expected >= 1");
  const index_type n = h.size();
  STRATA_REQUIRE(a.rows() == n && a.cols() == n, ShapeMismatch, "estimate_relative_error: A is ",
                 a.rows(), " x ", a.cols(), " but the HSS matrix is ", n, " x ", n);
  const auto g = gaussian<T>(exec, seed, 0x9e57, n, probes);
  Matrix<T> ag("strata::hss::estimate::AG", n, probes), hg("strata::hss::estimate::HG", n, probes);
  a.apply(exec, g, ag);
  matvec<T>(exec, h, g, hg);
  const double norm_ag = static_cast<double>(linalg::frobenius_norm(exec, ag));
  Kokkos::parallel_for(
      "strata::hss::estimate::difference",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, static_cast<index_type>(n) * probes),
      KOKKOS_LAMBDA(const index_type k) { hg(k % n, k / n) -= ag(k % n, k / n); });
  const double norm_diff = static_cast<double>(linalg::frobenius_norm(exec, hg));
  return norm_ag > 0 ? norm_diff / norm_ag : norm_diff;
}

template <class T>
CompressResult<T> compress_from_matvecs(const ExecSpace& exec, const LinearOperator<T>& a,
                                        const ClusterTree& tree, const CompressOptions& options) {
  const index_type n = tree.size();
  STRATA_REQUIRE(a.rows() == a.cols(), ShapeMismatch, "compress_from_matvecs: A is ", a.rows(),
                 " x ", a.cols(), "; HSS compression needs a square operator");
  STRATA_REQUIRE(a.rows() == n, ShapeMismatch, "compress_from_matvecs: A is ", a.rows(), " x ",
                 a.cols(), " but the cluster tree covers ", n, " indices");
  STRATA_REQUIRE(!a.distributed(), Unsupported,
                 "compress_from_matvecs: distributed operators are not supported; pass a "
                 "replicated operator (whole vectors on every rank)");
  STRATA_REQUIRE(options.rank >= 0, InvalidArgument, "compress_from_matvecs: rank = ", options.rank,
                 "; expected >= 0 (0 selects the tolerance mode)");
  STRATA_REQUIRE(options.oversampling >= 0 && options.samples >= 0 && options.max_samples >= 0,
                 InvalidArgument,
                 "compress_from_matvecs: oversampling, samples and max_samples must be >= 0");
  const bool fixed = options.rank > 0;
  if (!fixed) {
    STRATA_REQUIRE(options.tolerance > 0 && std::isfinite(options.tolerance), InvalidArgument,
                   "compress_from_matvecs: tolerance = ", options.tolerance,
                   "; give a rank > 0 or a tolerance > 0 (relative Frobenius error)");
    STRATA_REQUIRE(options.error_probes >= 1, InvalidArgument,
                   "compress_from_matvecs: the tolerance mode needs error_probes >= 1");
  }
  index_type min_leaf = n, max_leaf = 0;
  const int levels = tree.levels();
  for (index_type i = 0; i < ClusterTree::nodes_on_level(levels); ++i) {
    min_leaf = std::min(min_leaf, tree.node_size(levels, i));
    max_leaf = std::max(max_leaf, tree.node_size(levels, i));
  }
  index_type s = options.samples;
  if (fixed) {
    STRATA_REQUIRE(levels == 0 || min_leaf >= options.rank, InvalidArgument,
                   "compress_from_matvecs: the smallest leaf has ", min_leaf,
                   " indices, fewer than the rank ", options.rank,
                   "; use a leaf size >= rank (Levitt & Martinsson use leaf size 2 x rank)");
    const index_type need = levels == 0 ? n : std::max(max_leaf + options.rank, 3 * options.rank);
    if (s == 0) s = need + options.oversampling;
    STRATA_REQUIRE(s >= need, InvalidArgument, "compress_from_matvecs: ", s,
                   " samples are too few for rank ", options.rank, " and leaves of up to ",
                   max_leaf, " indices: the null-space step needs s >= max(m + r, 3r) = ", need);
  } else if (s == 0) {
    s = max_leaf + 2 * std::max<index_type>(options.oversampling, 1);
  }

  CompressResult<T> result;
  Sampler<T> sampler(exec, a, tree);
  const bool lm = options.method == CompressMethod::levitt_martinsson;
  // Levitt-Martinsson keeps its N x s samples and appends columns when s grows.
  Matrix<T> omega, psi, y, z;
  ToleranceSchedule schedule(options, n, s);
  double norm_estimate = 0;
  // Quasi-optimal: widths per level (fixed: the given s, or from the rank; tolerance mode: the
  // leaves start from m + 2p, i.e. an expected rank p, and every level grows as needed).
  SketchPlan plan;
  plan.fixed_s = options.samples;
  plan.p = options.oversampling;
  plan.s_max = schedule.s_max;
  const index_type first_rank =
      fixed ? options.rank : std::max<index_type>(options.oversampling, 1);
  index_type widest = 0;
  // Rounds capped by the samples end early and grow s geometrically (at most ~log2(N / s) of
  // them, bounded by s_max); max_rounds bounds the rounds that reach the estimate.
  int estimated_rounds = 0;
  for (int round = 1;; ++round) {
    Build<T> built;
    RankChoice choice;
    choice.fixed = options.rank;
    choice.levels = levels;
    choice.oversampling = std::min(options.oversampling, s / 4);
    // Capped by the samples (Levitt-Martinsson; quasi-optimal grows per level): no estimate is
    // needed to know that more samples are due.
    const bool may_grow = !fixed && s < schedule.s_max;
    if (lm) {
      {
        auto phase = result.timings.scope("products");
        const index_type have = static_cast<index_type>(omega.extent(1));
        Matrix<T> om_new("strata::hss::compress::Omega_new", n, s - have),
            ps_new("strata::hss::compress::Psi_new", n, s - have);
        fill_random(exec, RandomStream{Distribution::gaussian, options.seed, 1}, om_new, 0, have);
        fill_random(exec, RandomStream{Distribution::gaussian, options.seed, 2}, ps_new, 0, have);
        Matrix<T> y_new("strata::hss::compress::Y_new", n, s - have),
            z_new("strata::hss::compress::Z_new", n, s - have);
        sampler.apply(om_new, y_new, false);
        sampler.apply(ps_new, z_new, true);
        omega = hcat(exec, omega, om_new);
        psi = hcat(exec, psi, ps_new);
        y = hcat(exec, y, y_new);
        z = hcat(exec, z, z_new);
        // E ||A Omega||_F^2 = s ||A||_F^2.
        norm_estimate = static_cast<double>(linalg::frobenius_norm(exec, y)) /
                        std::sqrt(static_cast<double>(s));
      }
      choice.budget = schedule.budget_scale * norm_estimate;
      auto phase = result.timings.scope("levels");
      Samples<T> smp;
      smp.s = smp.s_d = s;
      // The level steps overwrite their inputs (Y <- Y - D Omega): hand them copies.
      smp.y = Matrix<T>("strata::hss::compress::Yw", n, s);
      smp.z = Matrix<T>("strata::hss::compress::Zw", n, s);
      Kokkos::deep_copy(exec, smp.y, y);
      Kokkos::deep_copy(exec, smp.z, z);
      smp.omega = omega;
      smp.psi = psi;
      built = build_levitt_martinsson(exec, tree, smp, choice, may_grow);
      built.products_per_level = {s};
      widest = s;
    } else {
      Kokkos::Timer timer;
      const double before = sampler.seconds;
      built =
          build_quasi_optimal(exec, tree, sampler, plan, first_rank, options.seed + 7919 * round,
                              fixed ? 0.0 : schedule.budget_scale, norm_estimate, choice, widest);
      const double in_products = sampler.seconds - before;
      result.timings.add("products", in_products);
      result.timings.add("levels", timer.seconds() - in_products);
    }
    result.samples = widest;
    result.rounds = round;
    if (lm && may_grow && built.hit_cap) {
      schedule.after_missed_round(true, choice.s_needed, 0, s);
      continue;
    }
    {
      auto phase = result.timings.scope("assemble");
      result.matrix = assemble(exec, tree, built.levels, built.root);
    }
    result.products_per_level = built.products_per_level;
    if (options.error_probes > 0) {
      auto phase = result.timings.scope("estimate");
      result.relative_error_estimate =
          estimate_relative_error(exec, a, result.matrix, options.error_probes,
                                  options.seed + static_cast<std::uint64_t>(round));
      result.probe_products += options.error_probes;
    }
    if (fixed || result.relative_error_estimate <= options.tolerance ||
        ++estimated_rounds >= options.max_rounds)
      break;
    // Not accurate enough although no node was capped: smaller budgets.
    schedule.after_missed_round(false, 0, result.relative_error_estimate, s);
  }
  result.products = sampler.products;
  result.transpose_products = sampler.transpose_products;
  result.max_rank_per_level.assign(static_cast<std::size_t>(levels) + 1, 0);
  for (int l = 1; l <= levels; ++l) result.max_rank_per_level[l] = result.matrix.max_row_rank(l);
  return result;
}

#define STRATA_HSS_COMPRESS_DEFINE(T)                                                              \
  template CompressResult<T> compress_from_matvecs<T>(const ExecSpace&, const LinearOperator<T>&,  \
                                                      const ClusterTree&, const CompressOptions&); \
  template double estimate_relative_error<T>(const ExecSpace&, const LinearOperator<T>&,           \
                                             const HssMatrix<T>&, int, std::uint64_t);
STRATA_HSS_COMPRESS_DEFINE(float)
STRATA_HSS_COMPRESS_DEFINE(double)
#undef STRATA_HSS_COMPRESS_DEFINE

}  // namespace strata::hss
