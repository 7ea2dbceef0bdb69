#include "strata/hss/distributed.hpp"

#include <string>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/operations.hpp"
#include "strata/hss/detail/dist_passes.hpp"

namespace strata::hss {

TreeSplit split_tree(const ClusterTree& tree, int num_ranks) {
  STRATA_REQUIRE(num_ranks >= 1, InvalidArgument, "split_tree: num_ranks = ", num_ranks,
                 "; expected >= 1");
  STRATA_REQUIRE(tree.size() >= 1, InvalidArgument, "split_tree: the cluster tree is empty");
  int ls = 0;
  while ((index_type(1) << ls) < num_ranks) ++ls;
  STRATA_REQUIRE(ls <= tree.levels(), InvalidArgument, "distributed HSS: the cluster tree has ",
                 ClusterTree::nodes_on_level(tree.levels()), " leaves (", tree.levels(),
                 " levels) but there are ", num_ranks,
                 " ranks; every rank needs a subtree of its own, so the tree needs at least ", ls,
                 " levels (a smaller leaf size or fewer ranks)");
  TreeSplit split;
  split.split_level = ls;
  const index_type nodes = ClusterTree::nodes_on_level(ls);
  // 2^ls - P ranks own two (sibling) subtrees, the others one: P <= 2^ls < 2P.
  const index_type doubles = nodes - num_ranks;
  split.first_node.assign(static_cast<std::size_t>(num_ranks) + 1, 0);
  std::vector<index_type> rows(static_cast<std::size_t>(num_ranks));
  for (int p = 0; p < num_ranks; ++p) {
    const index_type count = p < doubles ? 2 : 1;
    const index_type first = split.first_node[static_cast<std::size_t>(p)];
    split.first_node[static_cast<std::size_t>(p) + 1] = first + count;
    rows[static_cast<std::size_t>(p)] =
        (first + count < nodes ? tree.node_begin(ls, first + count) : tree.size()) -
        tree.node_begin(ls, first);
  }
  split.layout = BlockRowLayout::from_counts(rows);
  return split;
}

BlockRowLayout split_layout(const ClusterTree& tree, const Comm& comm) {
  return split_tree(tree, comm.size()).layout;
}

template <class T>
DistHssMatrix<T>::DistHssMatrix(const Comm& comm, const ClusterTree& tree,
                                std::vector<HssMatrix<T>> subtrees, std::vector<HssLevel<T>> top,
                                std::optional<BlockRowLayout> layout)
    : comm_(comm),
      tree_(tree),
      split_(split_tree(tree, comm.size())),
      subtrees_(std::move(subtrees)),
      top_(std::move(top)) {
  const BlockRowLayout user = layout ? *layout : BlockRowLayout(tree_.size(), comm_.size());
  STRATA_REQUIRE(user.num_ranks() == comm_.size() && user.global_rows() == tree_.size(),
                 InvalidArgument, "DistHssMatrix: the vectors' row layout covers ",
                 user.global_rows(), " rows over ", user.num_ranks(), " ranks; the matrix has ",
                 tree_.size(), " rows over ", comm_.size(), " ranks");
  exchange_ = std::make_shared<const detail::RowExchange>(tree_, split_.layout, user, comm_.rank());
  const int ls = split_.split_level;
  const index_type first = split_.first(comm_.rank()), count = split_.count(comm_.rank());
  STRATA_REQUIRE(static_cast<index_type>(subtrees_.size()) == count, InvalidArgument,
                 "DistHssMatrix: rank ", comm_.rank(), " owns ", count, " subtrees but ",
                 subtrees_.size(), " were given");
  STRATA_REQUIRE(top_.size() == static_cast<std::size_t>(ls) + 1, InvalidArgument,
                 "DistHssMatrix: the top holds ", top_.size(), " levels, expected ", ls + 1,
                 " (levels 0..", ls, ", level 0 unused)");
  for (int l = 1; l <= ls; ++l) {
    STRATA_REQUIRE(top_[static_cast<std::size_t>(l)].nodes == ClusterTree::nodes_on_level(l),
                   InvalidArgument, "DistHssMatrix: top level ", l, " has ",
                   top_[static_cast<std::size_t>(l)].nodes, " nodes, expected ",
                   ClusterTree::nodes_on_level(l));
  }
  for (index_type j = 0; j < count; ++j) {
    const auto& sub = subtrees_[static_cast<std::size_t>(j)];
    STRATA_REQUIRE(
        sub.size() == tree_.node_size(ls, first + j) && sub.levels() == tree_.levels() - ls,
        InvalidArgument, "DistHssMatrix: subtree ", j, " on rank ", comm_.rank(), " has size ",
        sub.size(), " and ", sub.levels(), " levels; expected ", tree_.node_size(ls, first + j),
        " and ", tree_.levels() - ls);
  }
}

template <class T>
index_type DistHssMatrix<T>::subtree_row_begin(std::size_t j) const {
  const int ls = split_.split_level;
  const index_type first = first_node();
  return tree_.node_begin(ls, first + static_cast<index_type>(j)) - tree_.node_begin(ls, first);
}

namespace {

// Copies entries [begin, end) of a flat array into a new one.
template <class T>
void copy_range(const ExecSpace& exec, const FlatArray<T>& src, index_type begin,
                const FlatArray<T>& dst) {
  Kokkos::deep_copy(
      exec, dst,
      Kokkos::subview(src,
                      Kokkos::make_pair(begin, begin + static_cast<index_type>(dst.extent(0)))));
}

// This rank's rows of the columns of X (or a copy when it owns two subtrees: one contiguous block
// per subtree, as the subtree kernels read whole columns).
template <class T>
Matrix<T> rows_of(const ExecSpace& exec, const ConstMatrix<T>& x, index_type begin,
                  index_type rows) {
  Matrix<T> out(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::dist::rows"),
                rows, x.extent(1));
  Kokkos::deep_copy(exec, out,
                    Kokkos::subview(x, Kokkos::make_pair(begin, begin + rows), Kokkos::ALL));
  return out;
}

}  // namespace

template <class T>
DistHssMatrix<T> distribute(const ExecSpace& exec, const Comm& comm, const HssMatrix<T>& a,
                            std::optional<BlockRowLayout> layout) {
  std::vector<HssLevel<T>> top;
  std::vector<HssMatrix<T>> subs;
  DistHssMatrix<T> out;
  collective(comm, [&] {
    const ClusterTree& tree = a.tree();
    const TreeSplit split = split_tree(tree, comm.size());
    const int ls = split.split_level, levels = tree.levels();
    top.resize(static_cast<std::size_t>(ls) + 1);
    for (int l = 1; l <= ls; ++l) top[static_cast<std::size_t>(l)] = a.level(l);
    const index_type first = split.first(comm.rank());
    for (index_type g = first; g < first + split.count(comm.rank()); ++g) {
      const int sub_levels = levels - ls;
      const ClusterTree sub_tree = ClusterTree::with_levels(tree.node_size(ls, g), sub_levels);
      HssRanks ranks;
      ranks.row.resize(static_cast<std::size_t>(sub_levels) + 1);
      ranks.col.resize(ranks.row.size());
      for (int j = 1; j <= sub_levels; ++j) {
        const auto& lv = a.level(ls + j);
        const index_type n = ClusterTree::nodes_on_level(j), i0 = g * n;
        for (index_type i = i0; i < i0 + n; ++i) {
          ranks.row[static_cast<std::size_t>(j)].push_back(lv.row_rank_host(i));
          ranks.col[static_cast<std::size_t>(j)].push_back(lv.col_rank_host(i));
        }
      }
      HssMatrix<T> sub(sub_tree, ranks);
      for (int j = 1; j <= sub_levels; ++j) {
        const auto& lv = a.level(ls + j);
        auto& sl = sub.level(j);
        const index_type i0 = g * ClusterTree::nodes_on_level(j);
        copy_range(exec, lv.u, lv.u_offset_host(i0), sl.u);
        copy_range(exec, lv.v, lv.v_offset_host(i0), sl.v);
        copy_range(exec, lv.b, lv.b_offset_host(i0), sl.b);
      }
      const index_type leaf0 = g * ClusterTree::nodes_on_level(sub_levels);
      copy_range(exec, a.d(), a.d_offset_host()(leaf0), sub.d());
      subs.push_back(std::move(sub));
    }
    exec.fence();
    out = DistHssMatrix<T>(comm, a.tree(), std::move(subs), std::move(top), std::move(layout));
  });
  return out;
}

template <class T>
void matvec(const ExecSpace& exec, const DistHssMatrix<T>& a, const ConstMatrix<T>& x,
            const Matrix<T>& y, Op op) {
  const auto& ex = a.exchange();
  if (ex.trivial()) {
    detail::matvec_tree<T>(exec, a, x, y, op);
    return;
  }
  const index_type k = static_cast<index_type>(x.extent(1));
  collective(a.comm(), [&] {
    require_shape(x, a.local_rows(), k, "hss::matvec (distributed): this rank's rows of X");
    require_shape(y, a.local_rows(), k, "hss::matvec (distributed): this rank's rows of Y");
  });
  const index_type nt = a.tree_local_rows();
  Matrix<T> xt(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::dist::x_tree"),
               nt, k),
      yt(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::dist::y_tree"), nt, k);
  ex.template to_tree<T>(exec, a.comm(), x, xt);
  detail::matvec_tree<T>(exec, a, xt, yt, op);
  ex.template to_user<T>(exec, a.comm(), yt, y);
  exec.fence();
}

template <class T>
void detail::matvec_tree(const ExecSpace& exec, const DistHssMatrix<T>& a, const ConstMatrix<T>& x,
                         const Matrix<T>& y, Op op) {
  kx::ScopedRegion region("strata::hss::dist::matvec");
  const Comm& comm = a.comm();
  const index_type n_local = a.tree_local_rows();
  const index_type k = static_cast<index_type>(x.extent(1));
  collective(comm, [&] {
    STRATA_REQUIRE(a.size() >= 1, InvalidArgument,
                   "hss::matvec: the distributed HSS matrix is empty (not built)");
    require_shape(x, n_local, k, "hss::matvec (distributed): this rank's rows of X");
    require_shape(y, n_local, k, "hss::matvec (distributed): this rank's rows of Y");
    STRATA_REQUIRE(
        k == 0 || static_cast<const void*>(x.data()) != static_cast<const void*>(y.data()),
        InvalidArgument, "hss::matvec: X and Y share memory; Y must be a separate array");
    checked_int(k, "hss::matvec: number of vectors");
  });
  const index_type k_min = comm.allreduce(k, ReduceOp::min);
  const index_type k_max = comm.allreduce(k, ReduceOp::max);
  STRATA_REQUIRE(k_min == k_max, ShapeMismatch,
                 "hss::matvec (distributed): the ranks pass different numbers of vectors (", k_min,
                 " to ", k_max, "); every rank must pass the same k");
  if (k == 0) return;
  const int ls = a.split_level();
  const auto& subs = a.subtrees();
  const index_type first = a.first_node();
  const bool single = subs.size() == 1;
  // Local diagonal blocks, and x^ of this rank's subtree roots.
  std::vector<Matrix<T>> xs(subs.size()), ys(subs.size());
  Matrix<T> xhat_local;
  if (ls > 0) {
    const auto w = detail::up_side(a.top_level(ls), op);
    xhat_local = Matrix<T>("strata::hss::dist::xhat_local",
                           w.rank_offset_host(first + static_cast<index_type>(subs.size())) -
                               w.rank_offset_host(first),
                           k);
  }
  for (std::size_t j = 0; j < subs.size(); ++j) {
    const index_type row0 = a.subtree_row_begin(j), rows = subs[j].size();
    const index_type g = first + static_cast<index_type>(j);
    if (single) {
      ys[j] = y;
    } else {
      xs[j] = rows_of<T>(exec, x, row0, rows);
      ys[j] = Matrix<T>(
          Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::dist::y_sub"), rows,
          k);
    }
    const ConstMatrix<T> xj = single ? x : ConstMatrix<T>(xs[j]);
    detail::matvec_permuted<T>(exec, subs[j], xj, ys[j], op);
    if (ls > 0) {
      const auto w = detail::up_side(a.top_level(ls), op);
      detail::subtree_up<T>(exec, subs[j], a.top_level(ls), g, op, xj, xhat_local,
                            w.rank_offset_host(g) - w.rank_offset_host(first));
    }
  }
  if (ls > 0) {
    // The top, redundantly on every rank, from the allgathered x^ of all subtree roots.
    const auto w = detail::up_side(a.top_level(ls), op);
    const BlockRowLayout xhat_layout =
        detail::node_block_layout(w.rank_offset_host, a.split().first_node);
    const Matrix<T> xhat = allgather_rows<T>(exec, comm, xhat_layout, xhat_local);
    const Matrix<T> yhat = detail::top_product<T>(exec, a.top(), ls, op, xhat);
    const auto z = detail::down_side(a.top_level(ls), op);
    for (std::size_t j = 0; j < subs.size(); ++j) {
      const index_type g = first + static_cast<index_type>(j);
      detail::subtree_down<T>(exec, subs[j], a.top_level(ls), g, op, yhat, z.rank_offset_host(g),
                              ys[j]);
    }
  }
  if (!single) {
    for (std::size_t j = 0; j < subs.size(); ++j) {
      const index_type row0 = a.subtree_row_begin(j), rows = subs[j].size();
      Kokkos::deep_copy(exec, Kokkos::subview(y, Kokkos::make_pair(row0, row0 + rows), Kokkos::ALL),
                        ys[j]);
    }
  }
  exec.fence();
}

namespace {

// Writes into `dst` the concatenation over ranks (in rank order) of every rank's pieces (flat
// arrays, concatenated in order): one allgatherv; on one rank the pieces are copied straight into
// dst (no packing and no gathered copy: those copies and their first-touch page faults were ~4%
// of compress_from_matvecs's time outside the products on the host).
template <class T>
void allgather_flat(const ExecSpace& exec, const Comm& comm,
                    const std::vector<FlatArray<T>>& pieces, const FlatArray<T>& dst,
                    const std::string& label) {
  index_type mine = 0;
  for (const auto& p : pieces) mine += static_cast<index_type>(p.extent(0));
  if (comm.size() == 1) {
    STRATA_REQUIRE(mine == static_cast<index_type>(dst.extent(0)), InternalError,
                   "hss::gather: the subtrees hold ", mine, " entries of an array of ",
                   dst.extent(0));
    index_type at = 0;
    for (const auto& p : pieces) {
      const auto len = static_cast<index_type>(p.extent(0));
      Kokkos::deep_copy(exec, Kokkos::subview(dst, Kokkos::make_pair(at, at + len)), p);
      at += len;
    }
    return;
  }
  FlatArray<T> packed(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, label), mine);
  index_type at = 0;
  for (const auto& p : pieces) {
    const auto len = static_cast<index_type>(p.extent(0));
    Kokkos::deep_copy(exec, Kokkos::subview(packed, Kokkos::make_pair(at, at + len)), p);
    at += len;
  }
  const auto counts = comm.allgather(mine);
  const Matrix<T> all = allgather_rows<T>(exec, comm, BlockRowLayout::from_counts(counts),
                                          ConstMatrix<T>(packed.data(), mine, 1));
  Kokkos::deep_copy(exec, dst, FlatArray<T>(all.data(), all.extent(0)));
  exec.fence();  // `all` is freed on return
}

std::vector<index_type> allgather_index(const Comm& comm, const std::vector<index_type>& mine) {
  const auto counts = comm.allgather(static_cast<std::int64_t>(mine.size()));
  std::int64_t total = 0;
  for (const auto c : counts) total += c;
  std::vector<index_type> all(static_cast<std::size_t>(total));
  comm.allgatherv_raw(mine.data(), static_cast<std::int64_t>(mine.size()), all.data(), counts,
                      strata::detail::mpi_type_tag<index_type>());
  return all;
}

}  // namespace

template <class T>
HssMatrix<T> gather(const ExecSpace& exec, const DistHssMatrix<T>& a) {
  kx::ScopedRegion region("strata::hss::dist::gather");
  const Comm& comm = a.comm();
  const ClusterTree& tree = a.tree();
  const int ls = a.split_level(), levels = tree.levels();
  HssRanks ranks;
  ranks.row.resize(static_cast<std::size_t>(levels) + 1);
  ranks.col.resize(ranks.row.size());
  for (int l = 1; l <= levels; ++l) {
    auto& row = ranks.row[static_cast<std::size_t>(l)];
    auto& col = ranks.col[static_cast<std::size_t>(l)];
    if (l <= ls) {
      const auto& lv = a.top_level(l);
      for (index_type i = 0; i < lv.nodes; ++i) {
        row.push_back(lv.row_rank_host(i));
        col.push_back(lv.col_rank_host(i));
      }
      continue;
    }
    std::vector<index_type> mine_r, mine_c;
    for (const auto& sub : a.subtrees()) {
      const auto& r = sub.ranks().row[static_cast<std::size_t>(l - ls)];
      const auto& c = sub.ranks().col[static_cast<std::size_t>(l - ls)];
      mine_r.insert(mine_r.end(), r.begin(), r.end());
      mine_c.insert(mine_c.end(), c.begin(), c.end());
    }
    row = allgather_index(comm, mine_r);
    col = allgather_index(comm, mine_c);
  }
  // Every entry written below (whole arrays).
  auto h = HssMatrix<T>::uninitialized(tree, ranks);
  for (int l = 1; l <= ls; ++l) {
    const auto& src = a.top_level(l);
    auto& dst = h.level(l);
    Kokkos::deep_copy(exec, dst.u, src.u);
    Kokkos::deep_copy(exec, dst.v, src.v);
    Kokkos::deep_copy(exec, dst.b, src.b);
  }
  // Below the split level, node order is rank order, then subtree order: the global arrays are
  // the concatenation of the subtrees' arrays.
  const std::string tag = "strata::hss::dist::gather";
  for (int l = ls + 1; l <= levels; ++l) {
    std::vector<FlatArray<T>> u, v, b;
    for (const auto& sub : a.subtrees()) {
      u.push_back(sub.level(l - ls).u);
      v.push_back(sub.level(l - ls).v);
      b.push_back(sub.level(l - ls).b);
    }
    auto& dst = h.level(l);
    allgather_flat(exec, comm, u, dst.u, tag);
    allgather_flat(exec, comm, v, dst.v, tag);
    allgather_flat(exec, comm, b, dst.b, tag);
  }
  std::vector<FlatArray<T>> d;
  for (const auto& sub : a.subtrees()) d.push_back(sub.d());
  allgather_flat(exec, comm, d, h.d(), tag);
  exec.fence();
  return h;
}

#define STRATA_HSS_DISTRIBUTED_INSTANTIATE(T)                                                 \
  template class DistHssMatrix<T>;                                                            \
  template DistHssMatrix<T> distribute<T>(const ExecSpace&, const Comm&, const HssMatrix<T>&, \
                                          std::optional<BlockRowLayout>);                     \
  template HssMatrix<T> gather<T>(const ExecSpace&, const DistHssMatrix<T>&);                 \
  template void matvec<T>(const ExecSpace&, const DistHssMatrix<T>&, const ConstMatrix<T>&,   \
                          const Matrix<T>&, Op);                                              \
  template void detail::matvec_tree<T>(const ExecSpace&, const DistHssMatrix<T>&,             \
                                       const ConstMatrix<T>&, const Matrix<T>&, Op);
STRATA_HSS_DISTRIBUTED_INSTANTIATE(float)
STRATA_HSS_DISTRIBUTED_INSTANTIATE(double)
#undef STRATA_HSS_DISTRIBUTED_INSTANTIATE

}  // namespace strata::hss
