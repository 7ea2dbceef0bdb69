#include "strata/hss/compress_matvec.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/random.hpp"
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

using linalg::BatchLayout;
using linalg::MatrixBatch;

struct Block {
  index_type offset;
  int rows, cols, ld;
};

/// A batch of `count` blocks of `storage` described by f(i) -> Block.
template <class T, class F>
MatrixBatch<T> carve(const Kokkos::View<T*, MemSpace>& storage, int count, F f) {
  std::vector<index_type> off(static_cast<std::size_t>(count));
  std::vector<int> rows(off.size()), cols(off.size()), ld(off.size());
  for (int i = 0; i < count; ++i) {
    const Block b = f(i);
    off[i] = b.offset;
    rows[i] = b.rows;
    cols[i] = b.cols;
    ld[i] = std::max(1, b.ld);
  }
  return MatrixBatch<T>(storage, BatchLayout::strided(off, rows, cols, ld));
}

template <class T>
Kokkos::View<T*, MemSpace> flat(const Matrix<T>& m) {
  return Kokkos::View<T*, MemSpace>(m.data(), m.span());
}

/// Dimensions of the nodes of one level: row space (rows of U, of Y) and column space (rows of V,
/// of Omega), with the stacked offsets of the level's vectors.
struct LevelDims {
  int nodes = 0;
  std::vector<int> row_dim, col_dim;
  std::vector<index_type> row_off, col_off;  // length nodes + 1
  index_type rows() const { return row_off.back(); }
  index_type cols() const { return col_off.back(); }
  static LevelDims from(const std::vector<int>& r, const std::vector<int>& c) {
    LevelDims d;
    d.nodes = static_cast<int>(r.size());
    d.row_dim = r;
    d.col_dim = c;
    d.row_off.assign(r.size() + 1, 0);
    d.col_off.assign(c.size() + 1, 0);
    for (std::size_t i = 0; i < r.size(); ++i) {
      d.row_off[i + 1] = d.row_off[i] + r[i];
      d.col_off[i + 1] = d.col_off[i] + c[i];
    }
    return d;
  }
  /// The parent level: node p's rows are the ranks of children 2p, 2p+1.
  static LevelDims parent_of(const std::vector<int>& r, const std::vector<int>& c) {
    std::vector<int> pr(r.size() / 2), pc(c.size() / 2);
    for (std::size_t p = 0; p < pr.size(); ++p) {
      pr[p] = r[2 * p] + r[2 * p + 1];
      pc[p] = c[2 * p] + c[2 * p + 1];
    }
    return from(pr, pc);
  }
};

/// Generators of one level in telescoping form: U_i (row_dim x r_i), V_i (col_dim x c_i),
/// D_i (row_dim x col_dim).
template <class T>
struct LevelFactors {
  LevelDims dims;
  std::vector<int> r, c;
  MatrixBatch<T> u, v, d;
};

/// Row blocks of a stacked matrix m (rows = Σ dims, `cols` columns starting at column `col0`).
template <class T>
MatrixBatch<T> row_blocks(const Matrix<T>& m, const std::vector<index_type>& off,
                          const std::vector<int>& dim, index_type col0, int cols) {
  const int ld = static_cast<int>(m.stride(1));
  return carve<T>(flat(m), static_cast<int>(dim.size()), [&](int i) {
    return Block{off[i] + col0 * ld, dim[i], cols, ld};
  });
}

/// Settings of the per-level factorization.
struct RankChoice {
  index_type fixed = 0;  // > 0: fixed rank
  double threshold = 0;  // tolerance mode: absolute threshold on sigma_j(Y P) / sqrt(k)
  index_type oversampling = 0;
  index_type cap = 0;    // tolerance mode: global cap
  bool hit_cap = false;  // set when some node's rank reached its cap
};

/// Sample blocks of one level: (Y, Omega) in row/col space, (Z, Psi) in col/row space, and the
/// (possibly identical) pair used for D.
template <class T>
struct Samples {
  Matrix<T> y, omega, z, psi;
  index_type s = 0;       // columns used for the bases (columns [0, s))
  index_type d_col0 = 0;  // the D sketch: columns [d_col0, d_col0 + s_d)
  index_type s_d = 0;
};

template <class T>
std::vector<int> host_ranks(const Kokkos::View<int*, MemSpace>& ranks) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, ranks);
  return std::vector<int>(h.data(), h.data() + h.extent(0));
}

/// One level of the bottom-up construction: null spaces, projected samples, truncated SVD bases
/// and the discrepancy blocks, each step one batched call over all nodes of the level.
template <class T>
LevelFactors<T> factor_level(const ExecSpace& exec, const LevelDims& dims, const Samples<T>& smp,
                             RankChoice& choice) {
  namespace la = linalg;
  const int n = dims.nodes, s = static_cast<int>(smp.s);
  const auto y = row_blocks(smp.y, dims.row_off, dims.row_dim, 0, s);
  const auto om = row_blocks(smp.omega, dims.col_off, dims.col_dim, 0, s);
  const auto z = row_blocks(smp.z, dims.col_off, dims.col_dim, 0, s);
  const auto ps = row_blocks(smp.psi, dims.row_off, dims.row_dim, 0, s);
  std::vector<int> kp(n), kq(n), sv(n, s), ku(n), kv(n), ones(n, 1);
  for (int i = 0; i < n; ++i) {
    kp[i] = s - dims.col_dim[i];
    kq[i] = s - dims.row_dim[i];
    STRATA_REQUIRE(kp[i] >= 1 && kq[i] >= 1, InvalidArgument, "compress_from_matvecs: ", s,
                   " samples leave no null space for a node with ",
                   std::max(dims.row_dim[i], dims.col_dim[i]),
                   " rows; the null-space step needs more samples than rows (s >= m + r)");
    ku[i] = std::min(dims.row_dim[i], kp[i]);
    kv[i] = std::min(dims.col_dim[i], kq[i]);
  }
  // Null-space projections and projected samples Y P, Z Q (Levitt & Martinsson Alg. 4.1 step 3).
  auto p = MatrixBatch<T>::allocate("strata::hss::compress::P", sv, kp);
  auto q = MatrixBatch<T>::allocate("strata::hss::compress::Q", sv, kq);
  la::null_space(exec, om, p);
  la::null_space(exec, ps, q);
  auto yp = MatrixBatch<T>::allocate("strata::hss::compress::YP", dims.row_dim, kp);
  auto zq = MatrixBatch<T>::allocate("strata::hss::compress::ZQ", dims.col_dim, kq);
  la::gemm_batched(exec, 'N', 'N', T(1), y, p, T(0), yp);
  la::gemm_batched(exec, 'N', 'N', T(1), z, q, T(0), zq);
  // Bases: leading left singular vectors (step 4; top-k SVD as in Amsel et al.).
  auto uf = MatrixBatch<T>::allocate("strata::hss::compress::Ufull", dims.row_dim, ku);
  auto vf = MatrixBatch<T>::allocate("strata::hss::compress::Vfull", dims.col_dim, kv);
  auto su = MatrixBatch<T>::allocate("strata::hss::compress::sigmaU", ku, ones);
  auto svv = MatrixBatch<T>::allocate("strata::hss::compress::sigmaV", kv, ones);
  {
    auto wu = MatrixBatch<T>::allocate("strata::hss::compress::Wu", kp, ku);
    auto wv = MatrixBatch<T>::allocate("strata::hss::compress::Wv", kq, kv);
    la::svd(exec, yp, uf, su, wu);
    la::svd(exec, zq, vf, svv, wv);
  }
  LevelFactors<T> f;
  f.dims = dims;
  f.r.resize(n);
  f.c.resize(n);
  if (choice.fixed > 0) {
    for (int i = 0; i < n; ++i) {
      f.r[i] = static_cast<int>(std::min<index_type>(choice.fixed, ku[i]));
      f.c[i] = static_cast<int>(std::min<index_type>(choice.fixed, kv[i]));
    }
  } else {
    // sigma_j(B G) ~ sqrt(k) sigma_j(B) for a k-column Gaussian G: compare against sqrt(k) t.
    auto rank_by_threshold = [&](const MatrixBatch<T>& sigma, const std::vector<int>& k,
                                 const std::vector<int>& rows, std::vector<int>& out) {
      const auto sh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, sigma.values);
      for (int i = 0; i < n; ++i) {
        const index_type cap = std::max<index_type>(
            1, std::min<index_type>(
                   {choice.cap, static_cast<index_type>(rows[i]), k[i] - choice.oversampling}));
        const double cut = choice.threshold * std::sqrt(static_cast<double>(k[i]));
        index_type kept = 0;
        const int avail = sigma.layout.host_rows[i];
        while (kept<avail&& static_cast<double>(sh(sigma.layout.host_offset[i] + kept))> cut)
          ++kept;
        if (kept >= cap) choice.hit_cap = true;
        out[i] = static_cast<int>(std::max<index_type>(1, std::min(kept, cap)));
      }
    };
    rank_by_threshold(su, kp, dims.row_dim, f.r);
    rank_by_threshold(svv, kq, dims.col_dim, f.c);
  }
  f.u = carve<T>(uf.values, n, [&](int i) {
    return Block{uf.layout.host_offset[i], dims.row_dim[i], f.r[i], uf.layout.host_ld[i]};
  });
  f.v = carve<T>(vf.values, n, [&](int i) {
    return Block{vf.layout.host_offset[i], dims.col_dim[i], f.c[i], vf.layout.host_ld[i]};
  });
  // Discrepancy D = (I - UU^T) Y Om^+ + UU^T [(I - VV^T) Z Psi^+]^T (step 5), written as
  // D = Yp + U (H - U^T Yp) - U (H V) V^T with Yp = Y Om^+, H = U^T Zp^T, Zp = Z Psi^+.
  const int sd = static_cast<int>(smp.s_d);
  const auto yd = row_blocks(smp.y, dims.row_off, dims.row_dim, smp.d_col0, sd);
  const auto omd = row_blocks(smp.omega, dims.col_off, dims.col_dim, smp.d_col0, sd);
  const auto zd = row_blocks(smp.z, dims.col_off, dims.col_dim, smp.d_col0, sd);
  const auto psd = row_blocks(smp.psi, dims.row_off, dims.row_dim, smp.d_col0, sd);
  f.d = MatrixBatch<T>::allocate("strata::hss::compress::D", dims.row_dim, dims.col_dim);
  auto zp = MatrixBatch<T>::allocate("strata::hss::compress::Zp", dims.col_dim, dims.row_dim);
  la::pseudo_inverse_apply(exec, yd, omd, f.d);
  la::pseudo_inverse_apply(exec, zd, psd, zp);
  auto h = MatrixBatch<T>::allocate("strata::hss::compress::H", f.r, dims.col_dim);
  auto g = MatrixBatch<T>::allocate("strata::hss::compress::G", f.r, f.c);
  auto k = MatrixBatch<T>::allocate("strata::hss::compress::K", f.r, dims.col_dim);
  la::gemm_batched(exec, 'T', 'T', T(1), f.u, zp, T(0), h);
  la::gemm_batched(exec, 'N', 'N', T(1), h, f.v, T(0), g);
  la::gemm_batched(exec, 'N', 'T', T(1), g, f.v, T(0), k);
  la::gemm_batched(exec, 'T', 'N', T(-1), f.u, f.d, T(1), h);  // h = H - U^T Yp
  la::gemm_batched(exec, 'N', 'N', T(1), f.u, h, T(1), f.d);
  la::gemm_batched(exec, 'N', 'N', T(-1), f.u, k, T(1), f.d);
  return f;
}

/// out_i = B_i^T x_i for the node bases B (U or V) of a level: projection onto the rank space.
template <class T>
Matrix<T> project(const ExecSpace& exec, const MatrixBatch<T>& basis,
                  const std::vector<index_type>& off, const std::vector<int>& dim,
                  const std::vector<int>& rank, const Matrix<T>& x, int cols) {
  const auto parent = LevelDims::from(rank, rank);
  Matrix<T> out("strata::hss::compress::projected", parent.rows(), cols);
  linalg::gemm_batched(exec, 'T', 'N', T(1), basis, row_blocks(x, off, dim, 0, cols), T(0),
                       row_blocks(out, parent.row_off, rank, 0, cols));
  return out;
}

/// out_i = B_i x_i (x stacked by rank, out stacked by the basis rows): lifting test vectors.
template <class T>
Matrix<T> lift(const ExecSpace& exec, const MatrixBatch<T>& basis,
               const std::vector<index_type>& off, const std::vector<int>& dim,
               const std::vector<int>& rank, const Matrix<T>& x, int cols) {
  const auto parent = LevelDims::from(rank, rank);
  Matrix<T> out("strata::hss::compress::lifted", off.back(), cols);
  linalg::gemm_batched(exec, 'N', 'N', T(1), basis, row_blocks(x, parent.row_off, rank, 0, cols),
                       T(0), row_blocks(out, off, dim, 0, cols));
  return out;
}

/// y <- U^T (y - D w) (transpose: V^T (y - D^T w)): one level of the reduction A -> U^T (A - D) V
/// applied to a sample pair, with no new products (Levitt & Martinsson step 6).
template <class T>
Matrix<T> reduce(const ExecSpace& exec, const LevelFactors<T>& f, const Matrix<T>& y,
                 const Matrix<T>& w, int cols, bool transpose) {
  const auto& d = f.dims;
  const auto& yo = transpose ? d.col_off : d.row_off;
  const auto& yd = transpose ? d.col_dim : d.row_dim;
  const auto& wo = transpose ? d.row_off : d.col_off;
  const auto& wd = transpose ? d.row_dim : d.col_dim;
  linalg::gemm_batched(exec, transpose ? 'T' : 'N', 'N', T(-1), f.d, row_blocks(w, wo, wd, 0, cols),
                       T(1), row_blocks(y, yo, yd, 0, cols));
  return project(exec, transpose ? f.v : f.u, yo, yd, transpose ? f.c : f.r, y, cols);
}

template <class T>
class Sampler {
 public:
  Sampler(const ExecSpace& exec, const LinearOperator<T>& a, const ClusterTree& tree)
      : exec_(exec), a_(a), tree_(tree) {}

  /// Y = op(A) X with X, Y in the tree's permuted order; checks the result for NaN/Inf.
  void apply(const Matrix<T>& x, const Matrix<T>& y, bool transpose) {
    if (x.extent(1) == 0) return;
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
  }

  index_type products = 0, transpose_products = 0;

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
    const MatrixBatch<T>& dp = l == 1 ? root : f[l - 1].d;
    auto start_r = [&](int i) {
      return (i % 2) ? fl.r[i - 1] : 0;
    };
    auto start_c = [&](int i) {
      return (i % 2) ? fl.c[i - 1] : 0;
    };
    auto sub = [&](const MatrixBatch<T>& base, int i, int r0, int c0, int rows, int cols) {
      const int p = i / 2;
      const int ld = base.layout.host_ld[p];
      return Block{base.layout.host_offset[p] + r0 + static_cast<index_type>(c0) * ld, rows, cols,
                   ld};
    };
    auto g = MatrixBatch<T>::allocate("strata::hss::compress::Gdiag", fl.r, fl.c);
    auto& lev = h.level(l);
    const auto b = carve<T>(lev.b, n, [&](int i) {
      return Block{lev.b_offset_host(i), fl.r[i], fl.c[i ^ 1], fl.r[i]};
    });
    la::copy_batched(
        exec, 'N',
        carve<T>(dp.values, n,
                 [&](int i) { return sub(dp, i, start_r(i), start_c(i), fl.r[i], fl.c[i]); }),
        g);
    la::copy_batched(exec, 'N',
                     carve<T>(dp.values, n,
                              [&](int i) {
                                return sub(dp, i, start_r(i), start_c(i ^ 1), fl.r[i], fl.c[i ^ 1]);
                              }),
                     b);
    if (l >= 2) {
      const auto& fp = f[l - 1];
      std::vector<int> cp(n);
      for (int i = 0; i < n; ++i) cp[i] = fp.c[i / 2];
      auto t = MatrixBatch<T>::allocate("strata::hss::compress::UG", fl.r, cp);
      const auto usub = carve<T>(
          fp.u.values, n, [&](int i) { return sub(fp.u, i, start_r(i), 0, fl.r[i], fp.r[i / 2]); });
      const auto gp = carve<T>(g_parent.values, n, [&](int i) {
        return Block{g_parent.layout.host_offset[i / 2], fp.r[i / 2], fp.c[i / 2],
                     g_parent.layout.host_ld[i / 2]};
      });
      la::gemm_batched(exec, 'N', 'N', T(1), usub, gp, T(0), t);
      const auto vsub_i = carve<T>(
          fp.v.values, n, [&](int i) { return sub(fp.v, i, start_c(i), 0, fl.c[i], fp.c[i / 2]); });
      const auto vsub_j = carve<T>(fp.v.values, n, [&](int i) {
        return sub(fp.v, i, start_c(i ^ 1), 0, fl.c[i ^ 1], fp.c[i / 2]);
      });
      la::gemm_batched(exec, 'N', 'T', T(1), t, vsub_i, T(1), g);
      la::gemm_batched(exec, 'N', 'T', T(1), t, vsub_j, T(1), b);
    }
    g_parent = g;
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

/// Root block D^(0) = Y Omega^+ of the last reduced matrix.
template <class T>
MatrixBatch<T> root_block(const ExecSpace& exec, const LevelDims& dims, const Samples<T>& smp) {
  const int sd = static_cast<int>(smp.s_d);
  auto root = MatrixBatch<T>::allocate("strata::hss::compress::D0", dims.row_dim, dims.col_dim);
  linalg::pseudo_inverse_apply(exec, row_blocks(smp.y, dims.row_off, dims.row_dim, smp.d_col0, sd),
                               row_blocks(smp.omega, dims.col_off, dims.col_dim, smp.d_col0, sd),
                               root);
  return root;
}

/// Levitt-Martinsson: the given single batch of samples (s columns), moved up level by level.
template <class T>
Build<T> build_levitt_martinsson(const ExecSpace& exec, const ClusterTree& tree, Samples<T> smp,
                                 RankChoice& choice) {
  Build<T> out;
  const int levels = tree.levels();
  out.levels.resize(static_cast<std::size_t>(levels) + 1);
  auto dims = leaf_dims(tree);
  const int s = static_cast<int>(smp.s);
  for (int l = levels; l >= 1; --l) {
    auto f = factor_level(exec, dims, smp, choice);
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

/// Amsel et al.: fresh sketches [Omega | Omega~] at every level, lifted to R^N through the bases
/// found so far, multiplied by A (A^T), and reduced back through U^T (. - D .).
template <class T>
Build<T> build_quasi_optimal(const ExecSpace& exec, const ClusterTree& tree, Sampler<T>& sampler,
                             index_type s, std::uint64_t seed, RankChoice& choice) {
  Build<T> out;
  const int levels = tree.levels();
  out.levels.resize(static_cast<std::size_t>(levels) + 1);
  auto dims = leaf_dims(tree);
  for (int l = levels; l >= 0; --l) {
    // Level 0 (the root) needs only the D sketch.
    const index_type width = l == 0 ? s : 2 * s;
    const std::uint64_t id = 0x100 + 4 * static_cast<std::uint64_t>(l);
    Samples<T> smp;
    smp.s = s;
    smp.s_d = s;
    smp.d_col0 = l == 0 ? 0 : s;
    smp.omega = gaussian<T>(exec, seed, id, dims.cols(), width);
    smp.psi = gaussian<T>(exec, seed, id + 1, dims.rows(), width);
    // Lift: W_k = V^(k) W_{k-1} for k = l+1..L (and U for the transpose side).
    std::vector<Matrix<T>> w(static_cast<std::size_t>(levels) + 1),
        x(static_cast<std::size_t>(levels) + 1);
    w[l] = smp.omega;
    x[l] = smp.psi;
    const int wc = static_cast<int>(width);
    for (int k = l + 1; k <= levels; ++k) {
      const auto& f = out.levels[k];
      w[k] = lift(exec, f.v, f.dims.col_off, f.dims.col_dim, f.c, w[k - 1], wc);
      x[k] = lift(exec, f.u, f.dims.row_off, f.dims.row_dim, f.r, x[k - 1], wc);
    }
    const index_type n = tree.size();
    Matrix<T> y("strata::hss::compress::AW", n, width), z("strata::hss::compress::ATX", n, width);
    sampler.apply(w[levels], y, false);
    sampler.apply(x[levels], z, true);
    out.products_per_level.push_back(width);
    for (int k = levels; k > l; --k) {
      y = reduce(exec, out.levels[k], y, w[k], wc, false);
      z = reduce(exec, out.levels[k], z, x[k], wc, true);
    }
    smp.y = y;
    smp.z = z;
    if (l == 0) {
      out.root = root_block(exec, dims, smp);
      break;
    }
    auto f = factor_level(exec, dims, smp, choice);
    dims = LevelDims::parent_of(f.r, f.c);
    out.levels[l] = std::move(f);
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
  const index_type s_max = options.max_samples > 0 ? options.max_samples : std::max(n, s);

  CompressResult<T> result;
  Sampler<T> sampler(exec, a, tree);
  const bool lm = options.method == CompressMethod::levitt_martinsson;
  // Levitt-Martinsson keeps its N x s samples and appends columns when s grows.
  Matrix<T> omega, psi, y, z;
  double threshold_scale =
      options.tolerance / std::sqrt(2.0 * static_cast<double>(tree.num_nodes()));
  double norm_estimate = 0;
  for (int round = 1;; ++round) {
    Build<T> built;
    RankChoice choice;
    choice.fixed = options.rank;
    choice.oversampling = std::min(options.oversampling, s / 4);
    choice.cap = std::max<index_type>(1, (s - choice.oversampling) / 3);
    if (lm) {
      {
        auto phase = result.timings.scope("products");
        const index_type have = static_cast<index_type>(omega.extent(1));
        Matrix<T> om("strata::hss::compress::Omega", n, s), ps("strata::hss::compress::Psi", n, s);
        Matrix<T> yy("strata::hss::compress::Y", n, s), zz("strata::hss::compress::Z", n, s);
        if (have > 0) {
          const auto old = std::make_pair(index_type(0), have);
          Kokkos::deep_copy(exec, Kokkos::subview(om, Kokkos::ALL, old), omega);
          Kokkos::deep_copy(exec, Kokkos::subview(ps, Kokkos::ALL, old), psi);
          Kokkos::deep_copy(exec, Kokkos::subview(yy, Kokkos::ALL, old), y);
          Kokkos::deep_copy(exec, Kokkos::subview(zz, Kokkos::ALL, old), z);
        }
        const auto fresh = std::make_pair(have, s);
        Matrix<T> om_new("strata::hss::compress::Omega_new", n, s - have),
            ps_new("strata::hss::compress::Psi_new", n, s - have);
        fill_random(exec, RandomStream{Distribution::gaussian, options.seed, 1}, om_new, 0, have);
        fill_random(exec, RandomStream{Distribution::gaussian, options.seed, 2}, ps_new, 0, have);
        Matrix<T> y_new("strata::hss::compress::Y_new", n, s - have),
            z_new("strata::hss::compress::Z_new", n, s - have);
        sampler.apply(om_new, y_new, false);
        sampler.apply(ps_new, z_new, true);
        Kokkos::deep_copy(exec, Kokkos::subview(om, Kokkos::ALL, fresh), om_new);
        Kokkos::deep_copy(exec, Kokkos::subview(ps, Kokkos::ALL, fresh), ps_new);
        Kokkos::deep_copy(exec, Kokkos::subview(yy, Kokkos::ALL, fresh), y_new);
        Kokkos::deep_copy(exec, Kokkos::subview(zz, Kokkos::ALL, fresh), z_new);
        omega = om;
        psi = ps;
        y = yy;
        z = zz;
        // E ||A Omega||_F^2 = s ||A||_F^2.
        norm_estimate = static_cast<double>(linalg::frobenius_norm(exec, y)) /
                        std::sqrt(static_cast<double>(s));
      }
      choice.threshold = threshold_scale * norm_estimate;
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
      built = build_levitt_martinsson(exec, tree, smp, choice);
      built.products_per_level = {s};
    } else {
      if (!fixed && norm_estimate == 0) {
        auto phase = result.timings.scope("products");
        const auto g = gaussian<T>(exec, options.seed, 0x4e0, n, options.error_probes);
        Matrix<T> ag("strata::hss::compress::norm_probe", n, options.error_probes);
        sampler.apply(g, ag, false);
        norm_estimate = static_cast<double>(linalg::frobenius_norm(exec, ag)) /
                        std::sqrt(static_cast<double>(options.error_probes));
      }
      choice.threshold = threshold_scale * norm_estimate;
      auto phase = result.timings.scope("levels");
      built = build_quasi_optimal(exec, tree, sampler, s, options.seed + 7919 * round, choice);
    }
    {
      auto phase = result.timings.scope("assemble");
      result.matrix = assemble(exec, tree, built.levels, built.root);
    }
    result.products_per_level = built.products_per_level;
    result.samples = s;
    result.rounds = round;
    if (options.error_probes > 0) {
      auto phase = result.timings.scope("estimate");
      result.relative_error_estimate =
          estimate_relative_error(exec, a, result.matrix, options.error_probes,
                                  options.seed + static_cast<std::uint64_t>(round));
      result.probe_products += options.error_probes;
    }
    if (fixed || result.relative_error_estimate <= options.tolerance || round >= options.max_rounds)
      break;
    // Not accurate enough: more samples if some rank hit its sample-imposed cap, and a lower
    // truncation threshold in proportion to the miss.
    if (built.hit_cap && s < s_max) s = std::min(s_max, s + std::max(s / 2, index_type(8)));
    threshold_scale *=
        std::clamp(0.5 * options.tolerance / result.relative_error_estimate, 0.05, 0.5);
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
