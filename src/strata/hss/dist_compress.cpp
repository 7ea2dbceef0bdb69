// The HSS construction from products for 1..P ranks (distributed.hpp; compress_from_matvecs is
// this code on a one-rank communicator), Levitt-Martinsson and quasi-optimal (Amsel et al.): the
// per-level steps of detail/compress_levels.hpp on this rank's subtrees, then on the allgathered
// reduced samples of the split level redundantly on every rank.
#include <algorithm>
#include <cmath>
#include <limits>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/random.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "strata/hss/detail/compress_levels.hpp"
#include "strata/hss/detail/error_bound.hpp"
#include "strata/hss/detail/hss_level.hpp"
#include "strata/hss/distributed.hpp"

namespace strata::hss {

namespace {

using namespace detail::compress;
using linalg::MatrixBatch;

std::vector<int> allgather_ints(const Comm& comm, const std::vector<int>& mine) {
  const auto counts = comm.allgather(static_cast<std::int64_t>(mine.size()));
  std::int64_t total = 0;
  for (const auto c : counts) total += c;
  std::vector<int> all(static_cast<std::size_t>(total));
  comm.allgatherv_raw(mine.data(), static_cast<std::int64_t>(mine.size()), all.data(), counts,
                      strata::detail::mpi_type_tag<int>());
  return all;
}

// Rows per rank of a stacked per-node vector with node sizes `dim` (all nodes of the split level).
BlockRowLayout stacked_layout(const std::vector<int>& dim, const TreeSplit& split) {
  std::vector<index_type> rows(split.first_node.size() - 1, 0);
  for (std::size_t p = 0; p < rows.size(); ++p) {
    for (index_type i = split.first_node[p]; i < split.first_node[p + 1]; ++i)
      rows[p] += dim[static_cast<std::size_t>(i)];
  }
  return BlockRowLayout::from_counts(rows);
}

// A block of columns that grows by appending (the Levitt-Martinsson samples of the adaptive
// rounds): the storage keeps spare columns (allocated without initialization, so untouched columns
// cost neither time nor resident memory) and is reallocated, doubling, only when full; the columns
// in use are a view of it, so appending copies nothing. The first allocation already reserves
// twice the columns asked for (at most `most`, the most that will ever be asked for): the rounds
// grow s by s/8 to s/2 at a time (ToleranceSchedule::grown_samples), so the typical two or three
// rounds fit without a copy (a copy of the four sample blocks and the first touch of the new
// storage were ~18% of the time outside the products: perf, laplace-curve N = 4096, tol 1e-6).
template <class T>
class ColumnStore {
 public:
  /// Columns [0, cols) after making room for them (the first `keep` keep their values); `most`
  /// >= cols bounds the spare columns reserved.
  Matrix<T> grow(const ExecSpace& exec, const std::string& label, index_type rows, index_type keep,
                 index_type cols, index_type most) {
    if (cols > static_cast<index_type>(store_.extent(1))) {
      const index_type spare = std::max(2 * cols, 2 * static_cast<index_type>(store_.extent(1)));
      Matrix<T> bigger(Kokkos::view_alloc(Kokkos::WithoutInitializing, label), rows,
                       std::max(cols, std::min(spare, most)));
      if (keep > 0) {
        const auto old = std::make_pair(index_type(0), keep);
        Kokkos::deep_copy(exec, Kokkos::subview(bigger, Kokkos::ALL, old),
                          Kokkos::subview(store_, Kokkos::ALL, old));
      }
      store_ = bigger;
    }
    return Kokkos::subview(store_, Kokkos::ALL, std::make_pair(index_type(0), cols));
  }

 private:
  Matrix<T> store_;
};

// Matrices [start, start + n) of a batch (a view of the same storage).
template <class T>
MatrixBatch<T> select(const MatrixBatch<T>& b, int start, int n) {
  return carve<T>(b.values, n, [&](int i) {
    const auto k = static_cast<std::size_t>(start + i);
    return Block{b.layout.host_offset[k], b.layout.host_rows[k], b.layout.host_cols[k],
                 b.layout.host_ld[k]};
  });
}

// Copies a batch of bases (node i -> node node0 + i of `lv`) into a level's flat U or V array.
template <class T>
void store_bases(const ExecSpace& exec, const MatrixBatch<T>& src, const FlatArray<T>& dst,
                 const HostIndexArray& offset, index_type node0, index_type shift) {
  linalg::copy_batched(exec, 'N', src, carve<T>(dst, src.layout.count(), [&](int i) {
                         const auto k = static_cast<std::size_t>(i);
                         return Block{offset(node0 + i) - shift, src.layout.host_rows[k],
                                      src.layout.host_cols[k], src.layout.host_rows[k]};
                       }));
}

template <class T, class I>
MatrixBatch<T> level_b(const HssLevel<T>& lev, const std::vector<I>& r, const std::vector<I>& c) {
  return carve<T>(lev.b, static_cast<int>(r.size()), [&](int i) {
    const auto k = static_cast<std::size_t>(i);
    return Block{lev.b_offset_host(i), static_cast<int>(r[k]), static_cast<int>(c[k ^ 1]),
                 static_cast<int>(r[k])};
  });
}

// A single-column matrix over a flat array (for the row collectives).
template <class T>
Matrix<T> as_column(const FlatArray<T>& a) {
  return Matrix<T>(a.data(), a.extent(0), 1);
}

// Calls the user's operator: on one rank directly (its exceptions propagate unchanged), on several
// under collective() (every rank gets a failure of one).
template <class F>
void call_operator(const Comm& comm, F&& f) {
  if (comm.size() == 1) {
    f();
  } else {
    collective(comm, std::forward<F>(f));
  }
}

// Products with the user's operator A for vectors given by this rank's rows in the tree's order:
// moved to the user's order and layout (detail/row_exchange.hpp), multiplied, moved back. Every
// rank gets a failure of the callback or NaN/Inf in its result (collective).
template <class T>
class Sampler {
 public:
  Sampler(const LinearOperator<T>& a, const detail::RowExchange& exchange)
      : a_(a), exchange_(exchange) {}

  const BlockRowLayout& user_layout() const { return exchange_.user_layout(); }

  /// Y = A X (transpose: A^T X); X, Y this rank's rows in the tree's order.
  void apply(const ExecSpace& exec, const Matrix<T>& x, const Matrix<T>& y, bool transpose) {
    const Comm& comm = a_.comm();
    const auto k = static_cast<index_type>(x.extent(1));
    Kokkos::Timer timer;
    const bool trivial = exchange_.trivial();
    const index_type nu = user_layout().local_rows(comm.rank());
    Matrix<T> xu = x, yu = y;
    if (!trivial) {
      xu = Matrix<T>(
          Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::compress::x_user"),
          nu, k);
      yu = Matrix<T>("strata::hss::compress::y_user", nu, k);
      exchange_.template to_user<T>(exec, comm, x, xu);
    }
    const auto run = [&] {
      if (transpose) {
        a_.apply_transpose(exec, xu, yu);
      } else {
        a_.apply(exec, xu, yu);
      }
      const index_type bad = count_non_finite(exec, yu);
      STRATA_REQUIRE(bad == 0, NonFiniteInput, "hss::compress: the products with ",
                     transpose ? "A^T" : "A", " returned ", bad,
                     " NaN or Inf entries on this rank; the operator must return finite numbers");
    };
    call_operator(comm, run);
    if (!trivial) exchange_.template to_tree<T>(exec, comm, yu, y);
    seconds += timer.seconds();
  }

  double seconds = 0;  ///< spent in apply

 private:
  const LinearOperator<T>& a_;
  const detail::RowExchange& exchange_;
};

// The result of one construction from a given batch of samples.
template <class T>
struct DistBuild {
  DistHssMatrix<T> matrix;
  std::vector<index_type> max_rank_per_level;
  bool hit_cap = false;  // some node's rank reached its sample-imposed cap (on any rank)
};

// Factors of one construction: levels max(l_s, 1)..L on this rank's subtrees (`local`), the
// replicated levels 1..l_s - 1 (`top`), the ranks and basis rows of all subtree roots (split level
// l_s >= 1) and the root block.
template <class T>
struct DistFactors {
  std::vector<LevelFactors<T>> local, top;
  std::vector<int> r_all, c_all, urows_all, vrows_all;
  MatrixBatch<T> root;
  BlockRowLayout user_layout;  // of the result's vectors
};

// Levitt-Martinsson: the factors of the levels below the deepest capped level of a pass that
// stopped there (build_distributed with stop_if_capped), for the next pass with more samples. Those
// levels had no capped node, so the next pass keeps their bases and D blocks and only reduces the
// grown samples (old and new columns) through them (reduce, project: GEMMs), instead of factoring
// them again: it resumes at the capped level. Levels l > `above` are kept (local levels on this
// rank's subtrees, replicated top levels); above > L keeps none. `above` is the same on every rank
// (the deepest capped level over all ranks), so every rank count takes the same steps. The kept
// ranks were chosen with the earlier pass's budget (from its estimate of ||A||_F, fewer columns),
// a statistically equivalent one.
template <class T>
struct KeptLevels {
  DistFactors<T> fac;
  int above = std::numeric_limits<int>::max();
};

// Ranks and basis rows of every rank's subtree roots, from this rank's split-level factors.
template <class T>
void gather_split_level(const Comm& comm, int ls, DistFactors<T>& fac) {
  const auto& fs = fac.local[static_cast<std::size_t>(ls)];
  fac.r_all = allgather_ints(comm, fs.r);
  fac.c_all = allgather_ints(comm, fs.c);
  fac.urows_all = allgather_ints(comm, fs.dims.row_dim);
  fac.vrows_all = allgather_ints(comm, fs.dims.col_dim);
}

template <class T>
DistBuild<T> assemble_distributed(const ExecSpace& exec, const Comm& comm, const ClusterTree& tree,
                                  const TreeSplit& split, const DistFactors<T>& fac,
                                  const RankChoice& choice, PhaseTimer& timings);

// Levitt-Martinsson from this rank's rows of the samples `smp` (read, not modified): the local
// levels on this rank's subtrees, the allgathered split level and the replicated top, then the
// conversion to standard generators. Rank decisions per node depend only on that node's samples
// and on `choice` (the same on every rank), so they do not depend on the rank count. `scratch`
// holds factor_level's temporaries (kept by the caller across rounds).
template <class T>
DistBuild<T> build_distributed(const ExecSpace& exec, const Comm& comm, const ClusterTree& tree,
                               const TreeSplit& split, const BlockRowLayout& user_layout,
                               Samples<T> smp, RankChoice& choice, bool stop_if_capped,
                               KeptLevels<T>& kept, LevelScratch<T>& scratch, PhaseTimer& timings) {
  const int levels = tree.levels();
  const int me = comm.rank(), ls = split.split_level;
  const index_type first = split.first(me), count = split.count(me);
  const index_type s = smp.s;
  Kokkos::Timer timer;
  const int si = static_cast<int>(s);
  choice.discard_if_capped = stop_if_capped;  // a capped level ends the pass (below)
  // Local levels L..max(ls, 1) on this rank's subtrees.
  const index_type leaves_per_sub = ClusterTree::nodes_on_level(levels - ls);
  std::vector<int> leaf_m;
  for (index_type i = first * leaves_per_sub; i < (first + count) * leaves_per_sub; ++i)
    leaf_m.push_back(static_cast<int>(tree.node_size(levels, i)));
  LevelDims dims = LevelDims::from(leaf_m, leaf_m);
  DistFactors<T> fac;
  fac.user_layout = user_layout;
  fac.local.resize(static_cast<std::size_t>(levels) + 1);
  fac.top.resize(fac.local.size());
  // Local levels can fail on one rank only (too few samples for a node): agree on the error.
  // With stop_if_capped the pass stops at the first level with a capped node (the levels above
  // would be built on truncated bases, and their predictions of the samples needed polluted by the
  // capped residuals), and the samples asked for are those of the deepest capped level over all
  // ranks: every rank factored that level (none stopped below it), so they are the one-rank ones.
  // The samples reduced through level l's factors (Levitt & Martinsson step 6), into scratch
  // slots that alternate between odd and even levels (level l reads level l + 1's).
  const auto reduce_samples = [&](int l, const LevelFactors<T>& f, const LevelDims& d,
                                  const Samples<T>& in) {
    const std::size_t base = LevelScratch<T>::kReducedSlots + 4 * static_cast<std::size_t>(l % 2);
    Samples<T> up;
    up.s = up.s_d = s;
    up.y = reduce(exec, f, in.y, in.omega, si, false, OutputSlot<T>{&scratch, base});
    up.z = reduce(exec, f, in.z, in.psi, si, true, OutputSlot<T>{&scratch, base + 1});
    up.omega = project(exec, f.v, d.col_off, d.col_dim, f.c, in.omega, si,
                       OutputSlot<T>{&scratch, base + 2});
    up.psi = project(exec, f.u, d.row_off, d.row_dim, f.r, in.psi, si,
                     OutputSlot<T>{&scratch, base + 3});
    return up;
  };
  int capped_level = -1;
  const int reuse_above = kept.above;
  // The leaves of a pass that factors them afresh are likely capped when the samples leave their
  // nodes room for no more than the oversampling's worth of rank (the first pass: s = m + 2p,
  // rank cap p): RankChoice::values_first there. Global quantities only (s, p, the largest leaf),
  // so every rank count takes the same steps.
  index_type max_leaf = 0;
  for (index_type i = 0; i < ClusterTree::nodes_on_level(levels); ++i)
    max_leaf = std::max(max_leaf, tree.node_size(levels, i));
  const bool leaves_likely_capped = stop_if_capped && reuse_above > levels && choice.fixed == 0 &&
                                    s - max_leaf - choice.oversampling <= choice.oversampling;
  collective(comm, [&] {
    for (int l = levels; l >= std::max(ls, 1); --l) {
      choice.values_first = l == levels && leaves_likely_capped;
      auto f = l > reuse_above
                   ? kept.fac.local[static_cast<std::size_t>(l)]
                   : factor_level(exec, dims, smp, l, choice, scratch, l == reuse_above);
      if (stop_if_capped && choice.hit_cap) {
        capped_level = l;
        break;
      }
      smp = reduce_samples(l, f, dims, smp);
      if (l > ls) dims = LevelDims::parent_of(f.r, f.c);
      fac.local[static_cast<std::size_t>(l)] = std::move(f);
    }
  });
  choice.values_first = false;
  const int deepest = comm.allreduce(capped_level, ReduceOp::max);
  if (deepest >= 0) {
    DistBuild<T> capped;
    capped.hit_cap = true;
    choice.s_needed =
        comm.allreduce(capped_level == deepest ? choice.s_needed : index_type(0), ReduceOp::max);
    // Every rank factored the levels below `deepest` without a cap (none stopped below it), and
    // `deepest` itself: the next pass extends that level's QR factors.
    kept.fac = std::move(fac);
    kept.above = deepest;
    scratch.keep_factors_of(deepest);
    timings.add("levels", timer.seconds());
    return capped;
  }
  // The split level's reduced samples on every rank, then levels ls-1..1 and the root there.
  if (ls >= 1) {
    gather_split_level(comm, ls, fac);
    const auto by_r = stacked_layout(fac.r_all, split), by_c = stacked_layout(fac.c_all, split);
    smp.y = allgather_rows<T>(exec, comm, by_r, smp.y);
    smp.psi = allgather_rows<T>(exec, comm, by_r, smp.psi);
    smp.z = allgather_rows<T>(exec, comm, by_c, smp.z);
    smp.omega = allgather_rows<T>(exec, comm, by_c, smp.omega);
    dims = LevelDims::parent_of(fac.r_all, fac.c_all);
    for (int l = ls - 1; l >= 1; --l) {
      auto f = l > reuse_above
                   ? kept.fac.top[static_cast<std::size_t>(l)]
                   : factor_level(exec, dims, smp, l, choice, scratch, l == reuse_above);
      if (stop_if_capped && choice.hit_cap) {  // replicated: the same on every rank
        DistBuild<T> capped;
        capped.hit_cap = true;
        kept.fac = std::move(fac);
        kept.above = l;
        scratch.keep_factors_of(l);
        timings.add("levels", timer.seconds());
        return capped;
      }
      smp = reduce_samples(l, f, dims, smp);
      dims = LevelDims::parent_of(f.r, f.c);
      fac.top[static_cast<std::size_t>(l)] = std::move(f);
    }
  }
  fac.root = root_block(exec, dims, smp);
  timings.add("levels", timer.seconds());
  return assemble_distributed(exec, comm, tree, split, fac, choice, timings);
}

// The conversion of the factors to a DistHssMatrix: the replicated top levels' couplings
// top-down, then this rank's subtrees. `choice.hit_cap` is this rank's flag (allreduced here).
template <class T>
DistBuild<T> assemble_distributed(const ExecSpace& exec, const Comm& comm, const ClusterTree& tree,
                                  const TreeSplit& split, const DistFactors<T>& fac,
                                  const RankChoice& choice, PhaseTimer& timings) {
  const int levels = tree.levels();
  const int me = comm.rank(), ls = split.split_level;
  const index_type first = split.first(me), count = split.count(me);
  const auto& local = fac.local;
  const auto& top_f = fac.top;
  const auto& r_all = fac.r_all;
  const auto& c_all = fac.c_all;
  const auto& root = fac.root;
  DistBuild<T> out;
  Kokkos::Timer timer;
  // Top levels 1..ls (replicated): bases, couplings and the diagonal blocks G of the reduced
  // matrix, top-down.
  std::vector<HssLevel<T>> top(static_cast<std::size_t>(ls) + 1);
  for (int l = 1; l < ls; ++l) {
    const auto& f = top_f[static_cast<std::size_t>(l)];
    auto& lev = top[static_cast<std::size_t>(l)];
    lev = detail::make_level<T>(l, f.r, f.c, f.dims.row_dim, f.dims.col_dim);
    store_bases(exec, f.u, lev.u, lev.u_offset_host, 0, 0);
    store_bases(exec, f.v, lev.v, lev.v_offset_host, 0, 0);
  }
  if (ls >= 1) {
    // The subtree roots' bases: each rank packs its own, then one allgather per kind.
    const auto& fs = local[static_cast<std::size_t>(ls)];
    auto& lev = top[static_cast<std::size_t>(ls)];
    lev = detail::make_level<T>(ls, r_all, c_all, fac.urows_all, fac.vrows_all);
    for (const bool row_side : {true, false}) {
      const HostIndexArray& off = row_side ? lev.u_offset_host : lev.v_offset_host;
      std::vector<index_type> counts(split.first_node.size() - 1);
      for (std::size_t p = 0; p < counts.size(); ++p)
        counts[p] = off(split.first_node[p + 1]) - off(split.first_node[p]);
      FlatArray<T> mine("strata::hss::dist::root_bases", static_cast<std::size_t>(counts[me]));
      store_bases(exec, row_side ? fs.u : fs.v, mine, off, first, off(first));
      const Matrix<T> all =
          allgather_rows<T>(exec, comm, BlockRowLayout::from_counts(counts), as_column(mine));
      Kokkos::deep_copy(exec, as_column(row_side ? lev.u : lev.v), all);
    }
  }
  MatrixBatch<T> g;
  for (int l = 1; l <= ls; ++l) {
    const auto& rl = l < ls ? top_f[static_cast<std::size_t>(l)].r : r_all;
    const auto& cl = l < ls ? top_f[static_cast<std::size_t>(l)].c : c_all;
    g = couplings_level<T>(exec, rl, cl, l == 1 ? root : top_f[static_cast<std::size_t>(l) - 1].d,
                           l >= 2 ? &top_f[static_cast<std::size_t>(l) - 1] : nullptr, g,
                           level_b(top[static_cast<std::size_t>(l)], rl, cl));
  }
  if (ls >= 1) g = select(g, static_cast<int>(first), static_cast<int>(count));
  // Local levels ls+1..L on this rank's nodes (node i's parent is local node i / 2).
  std::vector<MatrixBatch<T>> b_local(local.size());
  for (int l = std::max(ls + 1, 1); l <= levels; ++l) {
    const auto& f = local[static_cast<std::size_t>(l)];
    std::vector<int> c_sibling(f.c.size());
    for (std::size_t i = 0; i < f.c.size(); ++i) c_sibling[i] = f.c[i ^ 1];
    auto b = MatrixBatch<T>::allocate_uninitialized("strata::hss::dist::B", f.r, c_sibling);
    g = couplings_level<T>(exec, f.r, f.c, l == 1 ? root : local[static_cast<std::size_t>(l) - 1].d,
                           l >= 2 ? &local[static_cast<std::size_t>(l) - 1] : nullptr, g, b);
    b_local[static_cast<std::size_t>(l)] = b;
  }
  // Leaf blocks: A(I_i, I_i) = D_i + U_i G_i V_i^T.
  MatrixBatch<T> d_leaf = root;
  if (levels >= 1) {
    const auto& fl = local[static_cast<std::size_t>(levels)];
    auto t = MatrixBatch<T>::allocate_uninitialized("strata::hss::dist::UG", fl.dims.row_dim, fl.c);
    linalg::gemm_batched(exec, 'N', 'N', T(1), fl.u, g, T(0), t);
    d_leaf = MatrixBatch<T>::allocate_uninitialized("strata::hss::dist::Dleaf", fl.dims.row_dim,
                                                    fl.dims.col_dim);
    linalg::copy_batched(exec, 'N', fl.d, d_leaf);
    linalg::gemm_batched(exec, 'N', 'T', T(1), t, fl.v, T(1), d_leaf);
  }
  // This rank's subtrees as HssMatrix objects.
  std::vector<HssMatrix<T>> subs;
  const int sub_levels = levels - ls;
  for (index_type j = 0; j < count; ++j) {
    const ClusterTree sub_tree =
        ClusterTree::with_levels(tree.node_size(ls, first + j), sub_levels);
    HssRanks ranks;
    ranks.row.resize(static_cast<std::size_t>(sub_levels) + 1);
    ranks.col.resize(ranks.row.size());
    for (int q = 1; q <= sub_levels; ++q) {
      const auto& f = local[static_cast<std::size_t>(ls + q)];
      const index_type nps = ClusterTree::nodes_on_level(q);
      for (index_type i = j * nps; i < (j + 1) * nps; ++i) {
        ranks.row[static_cast<std::size_t>(q)].push_back(f.r[static_cast<std::size_t>(i)]);
        ranks.col[static_cast<std::size_t>(q)].push_back(f.c[static_cast<std::size_t>(i)]);
      }
    }
    // Every entry written below (bases, couplings, leaf blocks).
    auto sub = HssMatrix<T>::uninitialized(sub_tree, ranks);
    for (int q = 1; q <= sub_levels; ++q) {
      const auto& f = local[static_cast<std::size_t>(ls + q)];
      const int nps = static_cast<int>(ClusterTree::nodes_on_level(q));
      const int start = static_cast<int>(j) * nps;
      auto& lev = sub.level(q);
      store_bases(exec, select(f.u, start, nps), lev.u, lev.u_offset_host, 0, 0);
      store_bases(exec, select(f.v, start, nps), lev.v, lev.v_offset_host, 0, 0);
      const auto& rr = ranks.row[static_cast<std::size_t>(q)];
      const auto& cc = ranks.col[static_cast<std::size_t>(q)];
      linalg::copy_batched(exec, 'N', select(b_local[static_cast<std::size_t>(ls + q)], start, nps),
                           level_b(lev, rr, cc));
    }
    const int nleaf = static_cast<int>(ClusterTree::nodes_on_level(sub_levels));
    const auto& doff = sub.d_offset_host();
    const auto src = select(d_leaf, static_cast<int>(j) * nleaf, nleaf);
    linalg::copy_batched(exec, 'N', src, carve<T>(sub.d(), nleaf, [&](int i) {
                           const auto k = static_cast<std::size_t>(i);
                           return Block{doff(i), src.layout.host_rows[k], src.layout.host_cols[k],
                                        src.layout.host_rows[k]};
                         }));
    subs.push_back(std::move(sub));
  }
  exec.fence();
  out.matrix = DistHssMatrix<T>(comm, tree, std::move(subs), std::move(top), fac.user_layout);
  timings.add("assemble", timer.seconds());
  out.max_rank_per_level.assign(static_cast<std::size_t>(levels) + 1, 0);
  for (int l = 1; l <= levels; ++l) {
    const auto& rl = l < ls ? top_f[static_cast<std::size_t>(l)].r
                            : (l == ls ? r_all : local[static_cast<std::size_t>(l)].r);
    const index_type mine = rl.empty() ? 0 : *std::max_element(rl.begin(), rl.end());
    out.max_rank_per_level[static_cast<std::size_t>(l)] = comm.allreduce(mine, ReduceOp::max);
  }
  out.hit_cap = comm.allreduce(choice.hit_cap ? 1 : 0, ReduceOp::max) != 0;
  return out;
}

// This rank's first row in a stacked vector whose rank p holds rows[p] rows.
index_type exclusive_offset(const Comm& comm, index_type mine) {
  const auto all = comm.allgather(static_cast<std::int64_t>(mine));
  index_type off = 0;
  for (int p = 0; p < comm.rank(); ++p)
    off += static_cast<index_type>(all[static_cast<std::size_t>(p)]);
  return off;
}

// Rows [r0, r0 + rows) of m (a copy).
template <class T>
Matrix<T> row_slice(const ExecSpace& exec, const Matrix<T>& m, index_type r0, index_type rows) {
  Matrix<T> out("strata::hss::dist::row_slice", rows, m.extent(1));
  Kokkos::deep_copy(exec, out, Kokkos::subview(m, std::make_pair(r0, r0 + rows), Kokkos::ALL));
  return out;
}

// The squared norms of the columns of a row-distributed matrix M (global: summed over the ranks),
// in double, added to `out` (one value per column).
template <class T>
void add_column_squares(const ExecSpace& exec, const Comm& comm, const Matrix<T>& m,
                        detail::SquaredNormSample& out) {
  if (m.extent(1) == 0) return;
  for (const double square : column_dots<T>(exec, comm, m, m)) out.add(square);
}

// Amsel et al. (arXiv 2505.16937; the method of compress_matvec.hpp's file comment): at
// every level l = L..0 fresh sketches (a basis sketch from streams (seed, 0x100 + 4 l) and
// (.., + 1), a D sketch from (.., + 2) and (.., + 3); widths from SketchPlan with the level's
// largest node and the largest rank found below, both over all ranks) of the level's reduced
// space, generated by global row and column of that space, so every rank count draws the same
// numbers; lifted through the bases V^(l+1)..V^(L) found so far (levels above the split level
// redundantly on every rank, the subtrees locally), multiplied by A and A^T (this rank's rows),
// reduced back through U^T (. - D .) locally, the split level's reduced samples allgathered and
// reduced further through the replicated top. Levels >= max(l_s, 1) factor this rank's nodes;
// levels < l_s and the root are factored on every rank. In tolerance mode (budget_scale > 0) a
// level with a node capped by the samples (on any rank) appends basis columns and is factored
// again, and ||A||_F (`norm`, when `norm_columns` is empty) comes from the leaves' unlifted
// sketches (their squared column norms added to `norm_columns`). Adds the columns
// multiplied to `products` (the same count for A^T). `scratch` holds factor_level's temporaries.
template <class T>
DistBuild<T> build_quasi_optimal_distributed(
    const ExecSpace& exec, const Comm& comm, Sampler<T>& sampler, const ClusterTree& tree,
    const TreeSplit& split, const SketchPlan& plan, index_type first_rank, std::uint64_t seed,
    double budget_scale, double& norm, detail::SquaredNormSample& norm_columns, RankChoice& choice,
    index_type& products, std::vector<index_type>& per_level, index_type& widest,
    LevelScratch<T>& scratch, PhaseTimer& timings) {
  const int levels = tree.levels();
  const int me = comm.rank(), ls = split.split_level;
  const index_type first = split.first(me), count = split.count(me);
  const index_type nl = split.layout.local_rows(me);
  Kokkos::Timer timer;
  const index_type leaves_per_sub = ClusterTree::nodes_on_level(levels - ls);
  std::vector<int> leaf_m;
  for (index_type i = first * leaves_per_sub; i < (first + count) * leaves_per_sub; ++i)
    leaf_m.push_back(static_cast<int>(tree.node_size(levels, i)));
  LevelDims dims = LevelDims::from(leaf_m, leaf_m);
  DistFactors<T> fac;
  fac.user_layout = sampler.user_layout();
  fac.local.resize(static_cast<std::size_t>(levels) + 1);
  fac.top.resize(fac.local.size());
  const auto lsz = static_cast<std::size_t>(levels) + 1;
  index_type expected_rank = first_rank;
  double product_seconds = 0;
  struct Sketch {
    Matrix<T> omega, psi, y, z;
  };
  for (int l = levels; l >= 0; --l) {
    const std::uint64_t id = 0x100 + 4 * static_cast<std::uint64_t>(l);
    const bool on_subtrees = l >= ls;  // this rank's nodes of level l (all of them when l_s = 0)
    // Columns [col0, col0 + cols) of the streams (sid, sid + 1) in level l's space (this rank's
    // rows on the subtrees, all rows above), lifted, multiplied and reduced back to level l.
    auto sketch = [&](std::uint64_t sid, index_type col0, index_type cols) {
      const RandomStream om_stream{Distribution::gaussian, seed, sid},
          ps_stream{Distribution::gaussian, seed, sid + 1};
      const int wc = static_cast<int>(cols);
      Sketch sk;
      sk.omega = Matrix<T>("strata::hss::dist::qo_omega", dims.cols(), cols);
      sk.psi = Matrix<T>("strata::hss::dist::qo_psi", dims.rows(), cols);
      // w[k], x[k]: the sketches lifted to level k's column / row space (this rank's rows for
      // k >= l_s, replicated for k < l_s).
      std::vector<Matrix<T>> w(lsz), x(lsz);
      if (on_subtrees) {
        fill_random(exec, om_stream, sk.omega, exclusive_offset(comm, dims.cols()), col0);
        fill_random(exec, ps_stream, sk.psi, exclusive_offset(comm, dims.rows()), col0);
        w[static_cast<std::size_t>(l)] = sk.omega;
        x[static_cast<std::size_t>(l)] = sk.psi;
      } else {
        fill_random(exec, om_stream, sk.omega, 0, col0);
        fill_random(exec, ps_stream, sk.psi, 0, col0);
        w[static_cast<std::size_t>(l)] = sk.omega;
        x[static_cast<std::size_t>(l)] = sk.psi;
        for (int k = l + 1; k < ls; ++k) {
          const auto& f = fac.top[static_cast<std::size_t>(k)];
          const auto kk = static_cast<std::size_t>(k);
          w[kk] = lift(exec, f.v, f.dims.col_off, f.dims.col_dim, f.c, w[kk - 1], wc);
          x[kk] = lift(exec, f.u, f.dims.row_off, f.dims.row_dim, f.r, x[kk - 1], wc);
        }
      }
      // Through the subtrees: level max(l + 1, l_s)..L, starting from this rank's rows.
      const int k0 = std::max(l + 1, ls);
      Matrix<T> wl = w[static_cast<std::size_t>(k0 - 1)], xl = x[static_cast<std::size_t>(k0 - 1)];
      if (!on_subtrees) {
        // The level l_s - 1 space stacks the subtree roots' ranks: this rank's slice.
        index_type c0 = 0, c1 = 0, r0 = 0, r1 = 0;
        for (index_type i = 0; i < first + count; ++i) {
          const auto k = static_cast<std::size_t>(i);
          (i < first ? c0 : c1) += fac.c_all[k];
          (i < first ? r0 : r1) += fac.r_all[k];
        }
        wl = row_slice(exec, wl, c0, c1);
        xl = row_slice(exec, xl, r0, r1);
      }
      std::vector<Matrix<T>> wloc(lsz), xloc(lsz);
      for (int k = k0; k <= levels; ++k) {
        const auto& f = fac.local[static_cast<std::size_t>(k)];
        wl = lift(exec, f.v, f.dims.col_off, f.dims.col_dim, f.c, wl, wc);
        xl = lift(exec, f.u, f.dims.row_off, f.dims.row_dim, f.r, xl, wc);
        wloc[static_cast<std::size_t>(k)] = wl;
        xloc[static_cast<std::size_t>(k)] = xl;
      }
      Matrix<T> y("strata::hss::dist::qo_AW", nl, cols), z("strata::hss::dist::qo_ATX", nl, cols);
      Kokkos::Timer product_timer;
      sampler.apply(exec, wl, y, false);
      sampler.apply(exec, xl, z, true);
      product_seconds += product_timer.seconds();
      products += cols;
      for (int k = levels; k >= k0; --k) {
        const auto kk = static_cast<std::size_t>(k);
        y = reduce(exec, fac.local[kk], y, wloc[kk], wc, false);
        z = reduce(exec, fac.local[kk], z, xloc[kk], wc, true);
      }
      if (!on_subtrees) {
        y = allgather_rows<T>(exec, comm, stacked_layout(fac.r_all, split), y);
        z = allgather_rows<T>(exec, comm, stacked_layout(fac.c_all, split), z);
        for (int k = ls - 1; k > l; --k) {
          const auto kk = static_cast<std::size_t>(k);
          y = reduce(exec, fac.top[kk], y, w[kk], wc, false);
          z = reduce(exec, fac.top[kk], z, x[kk], wc, true);
        }
      }
      sk.y = y;
      sk.z = z;
      return sk;
    };
    // The level's largest node over all ranks (the subtrees hold a part of the level).
    const index_type c = comm.allreduce(largest_node(dims), ReduceOp::max);
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
      if (l == levels && norm_columns.count == 0) {
        add_column_squares(exec, comm, smp.y, norm_columns);
        norm = std::sqrt(norm_columns.mean());
      }
      if (l == 0) {
        fac.root = root_block(exec, dims, smp);
        break;
      }
      RankChoice level = choice;
      level.budget = budget_scale * norm;
      level.hit_cap = false;
      level.s_needed = 0;
      level.max_rank = 0;
      // A level with a capped node (on this rank, hence globally) is factored again with more
      // samples (below) when these may still grow.
      level.discard_if_capped = budget_scale > 0 && sb < plan.s_max;
      LevelFactors<T> f;
      // Can fail on one rank only (too few samples for a node): agree on the error.
      if (on_subtrees) {
        collective(comm, [&] { f = factor_level(exec, dims, smp, l, level, scratch); });
      } else {
        f = factor_level(exec, dims, smp, l, level, scratch);
      }
      // The same decision on every rank: global cap flag, samples asked for and largest rank.
      level.hit_cap = comm.allreduce(level.hit_cap ? 1 : 0, ReduceOp::max) != 0;
      level.s_needed = comm.allreduce(level.s_needed, ReduceOp::max);
      level.max_rank = comm.allreduce(level.max_rank, ReduceOp::max);
      if (level.hit_cap && budget_scale > 0 && sb < plan.s_max) {
        sb = plan.grow(sb, level.s_needed, attempt++);
        continue;
      }
      choice.hit_cap = choice.hit_cap || level.hit_cap;
      expected_rank = level.max_rank;
      if (on_subtrees) {
        fac.local[static_cast<std::size_t>(l)] = std::move(f);
        const auto& fl = fac.local[static_cast<std::size_t>(l)];
        if (l > ls) {
          dims = LevelDims::parent_of(fl.r, fl.c);
        } else {
          gather_split_level(comm, ls, fac);
          dims = LevelDims::parent_of(fac.r_all, fac.c_all);
        }
      } else {
        dims = LevelDims::parent_of(f.r, f.c);
        fac.top[static_cast<std::size_t>(l)] = std::move(f);
      }
      break;
    }
    per_level.push_back(sb + sd);
    widest = std::max(widest, std::max(sb, sd));
  }
  timings.add("products", product_seconds);
  timings.add("levels", timer.seconds() - product_seconds);
  return assemble_distributed(exec, comm, tree, split, fac, choice, timings);
}

// The squared column norms of (A - H) G (`error`) and of A G (`reference`) for `probes` Gaussian
// columns G from stream (seed, 0x9e57), rows generated by global index in the user's order (the
// same G at any rank count and layout).
template <class T>
void probe_squares(const ExecSpace& exec, const LinearOperator<T>& a, const DistHssMatrix<T>& h,
                   int probes, std::uint64_t seed, detail::SquaredNormSample& error,
                   detail::SquaredNormSample& reference) {
  const Comm& comm = h.comm();
  const index_type nl = h.local_rows(), row0 = h.layout().row_begin(comm.rank());
  Matrix<T> g("strata::hss::estimate::probes", nl, probes),
      ag("strata::hss::estimate::AG", nl, probes), hg("strata::hss::estimate::HG", nl, probes);
  fill_random(exec, RandomStream{Distribution::gaussian, seed, 0x9e57}, g, row0, 0);
  call_operator(comm, [&] { a.apply(exec, g, ag); });
  matvec<T>(exec, h, g, hg);
  add_column_squares(exec, comm, ag, reference);
  // hg <- hg - ag: the error's columns.
  Kokkos::parallel_for(
      "strata::hss::estimate::difference",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>, Kokkos::IndexType<index_type>>(
          exec, {0, 0}, {nl, static_cast<index_type>(probes)}),
      KOKKOS_LAMBDA(const index_type i, const index_type j) { hg(i, j) -= ag(i, j); });
  add_column_squares(exec, comm, hg, error);
}

// ||(A - H) G||_F / ||A G||_F over the probes of probe_squares.
template <class T>
double estimate_error(const ExecSpace& exec, const LinearOperator<T>& a, const DistHssMatrix<T>& h,
                      int probes, std::uint64_t seed) {
  detail::SquaredNormSample error, reference;
  probe_squares(exec, a, h, probes, seed, error, reference);
  return reference.sum > 0 ? std::sqrt(error.sum / reference.sum) : std::sqrt(error.sum);
}

}  // namespace

template <class T>
DistCompressResult<T> compress_from_matvecs_distributed(const ExecSpace& exec,
                                                        const LinearOperator<T>& a,
                                                        const ClusterTree& tree,
                                                        const CompressOptions& options) {
  kx::ScopedRegion region("strata::hss::dist::compress");
  const Comm& comm = a.comm();
  const index_type n = tree.size();
  const int levels = tree.levels();
  TreeSplit split;
  index_type s = options.samples;
  const bool fixed = options.rank > 0;
  collective(comm, [&] {
    STRATA_REQUIRE(options.method != CompressMethod::entries, InvalidArgument,
                   "hss::compress: the entries method needs an entry evaluator; call "
                   "compress_from_matvecs with one (replicated operator)");
    STRATA_REQUIRE(a.rows() == a.cols(), ShapeMismatch, "hss::compress: A is ", a.rows(), " x ",
                   a.cols(), "; HSS compression needs a square operator");
    STRATA_REQUIRE(a.rows() == n, ShapeMismatch, "hss::compress: A is ", a.rows(), " x ", a.cols(),
                   " but the cluster tree covers ", n, " indices");
    STRATA_REQUIRE(a.row_layout() == a.col_layout() && a.row_layout().num_ranks() == comm.size(),
                   InvalidArgument,
                   "hss::compress: the operator's rows and columns must be split alike over its "
                   "communicator's ranks (vectors in one layout)");
    split = split_tree(tree, comm.size());
    STRATA_REQUIRE(options.rank >= 0, InvalidArgument, "hss::compress: rank = ", options.rank,
                   "; expected >= 0 (0 selects the tolerance mode)");
    STRATA_REQUIRE(options.oversampling >= 0 && options.samples >= 0 && options.max_samples >= 0,
                   InvalidArgument,
                   "hss::compress: oversampling, samples and max_samples must "
                   "be >= 0");
    index_type min_leaf = n, max_leaf = 0;
    for (index_type i = 0; i < ClusterTree::nodes_on_level(levels); ++i) {
      min_leaf = std::min(min_leaf, tree.node_size(levels, i));
      max_leaf = std::max(max_leaf, tree.node_size(levels, i));
    }
    if (fixed) {
      STRATA_REQUIRE(levels == 0 || min_leaf >= options.rank, InvalidArgument,
                     "hss::compress: the smallest leaf has ", min_leaf,
                     " indices, fewer than the rank ", options.rank, "; use a leaf size >= rank");
      const index_type need = levels == 0 ? n : std::max(max_leaf + options.rank, 3 * options.rank);
      if (s == 0) s = need + options.oversampling;
      STRATA_REQUIRE(s >= need, InvalidArgument, "hss::compress: ", s,
                     " samples are too few for rank ", options.rank, " and leaves of up to ",
                     max_leaf, " indices: the null-space step needs s >= max(m + r, 3r) = ", need);
    } else {
      STRATA_REQUIRE(options.tolerance > 0 && std::isfinite(options.tolerance), InvalidArgument,
                     "hss::compress: tolerance = ", options.tolerance,
                     "; give a rank > 0 or a tolerance > 0 (relative Frobenius error)");
      STRATA_REQUIRE(options.error_probes >= detail::kMinBoundProbes, InvalidArgument,
                     "hss::compress: the tolerance mode needs error_probes >= ",
                     detail::kMinBoundProbes, ", got ", options.error_probes,
                     " (it accepts on a 99% upper bound of the error: with 1 or 2 probes that "
                     "bound is infinite, with 3 or 4 it is 16x or 7x the estimate; 10 is the "
                     "default)");
      if (s == 0) s = max_leaf + 2 * std::max<index_type>(options.oversampling, 1);
    }
  });
  const int me = comm.rank();
  const index_type row0 = split.layout.row_begin(me), nl = split.layout.local_rows(me);
  DistCompressResult<T> result;
  const detail::RowExchange exchange(tree, split.layout, a.row_layout(), me);
  Sampler<T> sampler(a, exchange);

  // This rank's rows of Omega, Psi (rank-count independent streams, generated by global row and
  // column) and of A Omega, A^T Psi; kept between rounds, new columns appended (Levitt-Martinsson;
  // the stores hold them, the matrices view the columns in use).
  Matrix<T> omega, psi, y, z;
  ColumnStore<T> omega_store, psi_store, y_store, z_store;
  KeptLevels<T> kept;       // Levitt-Martinsson: levels kept from a pass stopped by a capped node
  LevelScratch<T> scratch;  // factor_level's temporaries, for every level and round
  ToleranceSchedule schedule(options, n, s);
  double norm_estimate = 0;
  // Squared norms of the Gaussian product columns A Omega (Levitt-Martinsson: every column of Y;
  // quasi-optimal: the leaves' unlifted sketches): E ||A omega||^2 = ||A||_F^2, for the budgets
  // and for the lower bound of ||A||_F in the acceptance test (detail/error_bound.hpp).
  detail::SquaredNormSample norm_columns;
  // Quasi-optimal sketch widths (fixed: the given s, or from the rank; tolerance mode: the
  // leaves start from m + 2p, i.e. an expected rank p, and every level grows as needed).
  SketchPlan plan;
  plan.fixed_s = options.samples;
  plan.p = options.oversampling;
  plan.s_max = schedule.s_max;
  const index_type first_rank =
      fixed ? options.rank : std::max<index_type>(options.oversampling, 1);
  // Rounds capped by the samples end early and grow s geometrically (at most ~log2(N / s) of
  // them, bounded by s_max); max_rounds bounds the rounds that reach the estimate.
  int estimated_rounds = 0;
  for (int round = 1;; ++round) {
    RankChoice choice;
    choice.fixed = options.rank;
    choice.levels = levels;
    choice.oversampling = std::min(options.oversampling, s / 4);
    DistBuild<T> built;
    index_type widest = 0;
    const bool lm = options.method == CompressMethod::levitt_martinsson;
    if (lm) {
      {
        auto phase = result.timings.scope("products");
        const index_type have = static_cast<index_type>(omega.extent(1));
        // The new columns [have, s) are appended in place (every entry written below: random
        // fill, products).
        // Fixed rank: one round, no spare columns.
        const index_type most = fixed ? s : std::max(s, schedule.s_max);
        omega = omega_store.grow(exec, "strata::hss::dist::Omega", nl, have, s, most);
        psi = psi_store.grow(exec, "strata::hss::dist::Psi", nl, have, s, most);
        y = y_store.grow(exec, "strata::hss::dist::Y", nl, have, s, most);
        z = z_store.grow(exec, "strata::hss::dist::Z", nl, have, s, most);
        const auto added = std::make_pair(have, s);
        const Matrix<T> om_new = Kokkos::subview(omega, Kokkos::ALL, added),
                        ps_new = Kokkos::subview(psi, Kokkos::ALL, added),
                        y_new = Kokkos::subview(y, Kokkos::ALL, added),
                        z_new = Kokkos::subview(z, Kokkos::ALL, added);
        fill_random(exec, RandomStream{Distribution::gaussian, options.seed, 1}, om_new, row0,
                    have);
        fill_random(exec, RandomStream{Distribution::gaussian, options.seed, 2}, ps_new, row0,
                    have);
        sampler.apply(exec, om_new, y_new, false);
        sampler.apply(exec, ps_new, z_new, true);
        result.products += s - have;
        result.transpose_products += s - have;
        // E ||A Omega||_F^2 = s ||A||_F^2 (global norm: the same budget on every rank); the
        // squares of the earlier rounds' columns are kept, only the new ones are summed.
        add_column_squares(exec, comm, y_new, norm_columns);
        norm_estimate = std::sqrt(norm_columns.mean());
      }
      choice.budget = schedule.budget_scale * norm_estimate;
      // The level steps only read the samples (reduce leaves them untouched).
      Samples<T> smp;
      smp.s = smp.s_d = s;
      smp.y = y;
      smp.z = z;
      smp.omega = omega;
      smp.psi = psi;
      // Capped by the samples: no assembly and no estimate, more samples.
      const bool may_grow = !fixed && s < schedule.s_max;
      built = build_distributed(exec, comm, tree, split, sampler.user_layout(), smp, choice,
                                may_grow, kept, scratch, result.timings);
      result.samples = s;
      result.rounds = round;
      if (may_grow && built.hit_cap) {  // the next pass resumes at the capped level
        schedule.after_missed_round(true, choice.s_needed, 0, s);
        continue;
      }
      kept = KeptLevels<T>{};  // complete: a next pass (smaller budgets) factors every level
      result.products_per_level = {s};
    } else {
      index_type products = 0;
      std::vector<index_type> per_level;
      built = build_quasi_optimal_distributed(
          exec, comm, sampler, tree, split, plan, first_rank,
          options.seed + 7919 * static_cast<std::uint64_t>(round),
          fixed ? 0.0 : schedule.budget_scale, norm_estimate, norm_columns, choice, products,
          per_level, widest, scratch, result.timings);
      result.products += products;
      result.transpose_products += products;
      result.products_per_level = per_level;
      result.samples = widest;
      result.rounds = round;
    }
    result.matrix = std::move(built.matrix);
    result.max_rank_per_level = std::move(built.max_rank_per_level);
    // The level temporaries (leaf-sized, about 18 of them) are not needed by the estimate: free
    // them before it (a further round allocates them again).
    scratch = LevelScratch<T>{};
    if (options.error_probes > 0) {
      auto phase = result.timings.scope("estimate");
      // The numerator from this round's probes, the denominator from the probes' A G and every
      // Gaussian product column of A (detail/error_bound.hpp).
      detail::SquaredNormSample error, reference = norm_columns;
      probe_squares(exec, a, result.matrix, options.error_probes,
                    options.seed + static_cast<std::uint64_t>(round), error, reference);
      const auto bound = detail::relative_error_bound(error, reference);
      result.relative_error_estimate = bound.estimate;
      result.relative_error_bound = bound.upper;
      result.probe_products += options.error_probes;
    }
    result.met_tolerance = fixed || (result.relative_error_bound >= 0 &&
                                     result.relative_error_bound <= options.tolerance);
    // Accepted only when the upper confidence bound meets the tolerance (the same decision on
    // every rank: global sums).
    if (result.met_tolerance || ++estimated_rounds >= options.max_rounds) break;
    // Not accurate enough although no node was capped: smaller budgets.
    schedule.after_missed_round(false, 0, result.relative_error_bound, s);
  }
  return result;
}

template <class T>
double estimate_relative_error(const ExecSpace& exec, const LinearOperator<T>& a,
                               const DistHssMatrix<T>& h, int probes, std::uint64_t seed) {
  collective(h.comm(), [&] {
    STRATA_REQUIRE(probes >= 1, InvalidArgument, "estimate_relative_error: probes = ", probes,
                   "; expected >= 1");
    STRATA_REQUIRE(a.rows() == h.size() && a.cols() == h.size(), ShapeMismatch,
                   "estimate_relative_error: A is ", a.rows(), " x ", a.cols(),
                   " but the HSS matrix is ", h.size(), " x ", h.size());
    STRATA_REQUIRE(a.row_layout() == h.layout() && a.col_layout() == h.layout(), InvalidArgument,
                   "estimate_relative_error: the operator's rows are not split like the HSS "
                   "matrix's vectors (layout())");
  });
  return estimate_error(exec, a, h, probes, seed);
}

#define STRATA_HSS_DIST_COMPRESS_INSTANTIATE(T)                                                \
  template DistCompressResult<T> compress_from_matvecs_distributed<T>(                         \
      const ExecSpace&, const LinearOperator<T>&, const ClusterTree&, const CompressOptions&); \
  template double estimate_relative_error<T>(const ExecSpace&, const LinearOperator<T>&,       \
                                             const DistHssMatrix<T>&, int, std::uint64_t);
STRATA_HSS_DIST_COMPRESS_INSTANTIATE(float)
STRATA_HSS_DIST_COMPRESS_INSTANTIATE(double)
#undef STRATA_HSS_DIST_COMPRESS_INSTANTIATE

}  // namespace strata::hss
