#include "strata/hss/hss_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "strata/core/error.hpp"
#include "strata/core/random.hpp"
#include "strata/linalg/host_lapack.hpp"

namespace strata::hss {

namespace {

IndexArray device_copy(const HostIndexArray& host, const std::string& label) {
  IndexArray d(label, host.extent(0));
  Kokkos::deep_copy(d, host);
  return d;
}

HostIndexArray host_table(const std::string& label, index_type n) {
  return HostIndexArray(label, static_cast<std::size_t>(n));
}

// Column-major dense block on the host in double precision (reference computations).
struct HostBlock {
  index_type rows = 0, cols = 0;
  std::vector<double> a;
  HostBlock() = default;
  HostBlock(index_type r, index_type c)
      : rows(r), cols(c), a(static_cast<std::size_t>(r * c), 0.0) {}
  double& operator()(index_type i, index_type j) {
    return a[static_cast<std::size_t>(i + j * rows)];
  }
  double operator()(index_type i, index_type j) const {
    return a[static_cast<std::size_t>(i + j * rows)];
  }
};

// C(row0 + i, col0 + j) = (A B^T)(i, j) for A (m x k), B (n x k).
void add_abt(const HostBlock& a, const HostBlock& b, HostBlock& c, index_type row0,
             index_type col0) {
  for (index_type j = 0; j < b.rows; ++j) {
    for (index_type p = 0; p < a.cols; ++p) {
      const double bjp = b(j, p);
      for (index_type i = 0; i < a.rows; ++i) c(row0 + i, col0 + j) += a(i, p) * bjp;
    }
  }
}

// A (m x k) times B (k x n).
HostBlock multiply(const HostBlock& a, const HostBlock& b) {
  HostBlock c(a.rows, b.cols);
  for (index_type j = 0; j < b.cols; ++j) {
    for (index_type p = 0; p < a.cols; ++p) {
      const double bpj = b(p, j);
      for (index_type i = 0; i < a.rows; ++i) c(i, j) += a(i, p) * bpj;
    }
  }
  return c;
}

template <class HostFlat>
HostBlock read_block(const HostFlat& flat, index_type offset, index_type rows, index_type cols) {
  HostBlock blk(rows, cols);
  for (index_type k = 0; k < rows * cols; ++k) {
    blk.a[static_cast<std::size_t>(k)] = static_cast<double>(flat(offset + k));
  }
  return blk;
}

template <class HostFlat>
void write_block(HostFlat& flat, index_type offset, const HostBlock& blk) {
  using T = typename HostFlat::non_const_value_type;
  for (index_type k = 0; k < blk.rows * blk.cols; ++k) {
    flat(offset + k) = static_cast<T>(blk.a[static_cast<std::size_t>(k)]);
  }
}

// Random stream of one generator block: kind (1 U, 2 V, 3 B, 4 D), level and node.
RandomStream block_stream(std::uint64_t seed, std::uint64_t kind, int level, index_type node) {
  return RandomStream{
      Distribution::gaussian, seed,
      (kind << 56) | (static_cast<std::uint64_t>(level) << 48) | static_cast<std::uint64_t>(node)};
}

HostBlock gaussian_block(const RandomStream& s, index_type rows, index_type cols, double scale) {
  HostBlock blk(rows, cols);
  for (index_type j = 0; j < cols; ++j) {
    for (index_type i = 0; i < rows; ++i) blk(i, j) = scale * s.entry<double>(i, j);
  }
  return blk;
}

HostBlock orthonormal_block(const RandomStream& s, index_type rows, index_type cols) {
  HostBlock blk = gaussian_block(s, rows, cols, 1.0);
  if (cols == 0) return blk;
  HostMatrix<double> q("strata::hss::random::q", rows, cols);
  for (index_type j = 0; j < cols; ++j) {
    for (index_type i = 0; i < rows; ++i) q(i, j) = blk(i, j);
  }
  linalg::host::qr_in_place(q);
  for (index_type j = 0; j < cols; ++j) {
    for (index_type i = 0; i < rows; ++i) blk(i, j) = q(i, j);
  }
  return blk;
}

}  // namespace

HssRanks uniform_ranks(const ClusterTree& tree, index_type rank) {
  STRATA_REQUIRE(rank >= 0, InvalidArgument, "HSS rank must be >= 0, got ", rank);
  const int levels = tree.levels();
  HssRanks r;
  r.row.resize(static_cast<std::size_t>(levels) + 1);
  for (int l = levels; l >= 1; --l) {
    auto& level = r.row[static_cast<std::size_t>(l)];
    level.resize(static_cast<std::size_t>(ClusterTree::nodes_on_level(l)));
    for (index_type i = 0; i < ClusterTree::nodes_on_level(l); ++i) {
      const index_type rows =
          l == levels
              ? tree.node_size(l, i)
              : r.row[static_cast<std::size_t>(l) + 1][static_cast<std::size_t>(2 * i)] +
                    r.row[static_cast<std::size_t>(l) + 1][static_cast<std::size_t>(2 * i + 1)];
      level[static_cast<std::size_t>(i)] = std::min(rank, rows);
    }
  }
  r.col = r.row;
  return r;
}

template <class T>
HssMatrix<T>::HssMatrix(const ClusterTree& tree, const HssRanks& ranks)
    : HssMatrix(tree, ranks, true) {}

template <class T>
HssMatrix<T> HssMatrix<T>::uninitialized(const ClusterTree& tree, const HssRanks& ranks) {
  return HssMatrix(tree, ranks, false);
}

template <class T>
HssMatrix<T>::HssMatrix(const ClusterTree& tree, const HssRanks& ranks, bool zero_fill)
    : tree_(tree), ranks_(ranks) {
  const auto generators = [zero_fill](const std::string& label, index_type n) {
    const auto len = static_cast<std::size_t>(n);
    return zero_fill ? FlatArray<T>(label, len)
                     : FlatArray<T>(Kokkos::view_alloc(Kokkos::WithoutInitializing, label), len);
  };
  const int levels_count = tree.levels();
  STRATA_REQUIRE(tree.size() >= 1, InvalidArgument, "HssMatrix: the cluster tree is empty");
  STRATA_REQUIRE(ranks.row.size() == static_cast<std::size_t>(levels_count) + 1 &&
                     ranks.col.size() == ranks.row.size(),
                 InvalidArgument, "HssMatrix: ranks are given for ", ranks.row.size(), " / ",
                 ranks.col.size(), " levels, expected ", levels_count + 1,
                 " (levels 0..L; level 0 empty)");
  levels_.resize(static_cast<std::size_t>(levels_count) + 1);
  for (int l = levels_count; l >= 1; --l) {
    const index_type nodes = ClusterTree::nodes_on_level(l);
    const auto& rr = ranks.row[static_cast<std::size_t>(l)];
    const auto& cr = ranks.col[static_cast<std::size_t>(l)];
    STRATA_REQUIRE(
        static_cast<index_type>(rr.size()) == nodes && static_cast<index_type>(cr.size()) == nodes,
        InvalidArgument, "HssMatrix: level ", l, " has ", nodes, " nodes but ranks are given for ",
        rr.size(), " (rows) and ", cr.size(), " (columns)");
    HssLevel<T>& lv = levels_[static_cast<std::size_t>(l)];
    lv.level = l;
    lv.nodes = nodes;
    const std::string tag = "strata::hss::level" + std::to_string(l) + "::";
    // The level's nine index tables are slices of one host array and of one device array (one
    // allocation each and one copy per level instead of nine, with no fill kernels on a device).
    const auto table_len = static_cast<std::size_t>(9 * nodes + 5);
    const HostIndexArray host_tables = host_table(tag + "tables", 9 * nodes + 5);
    // Slice t: tables 0-3 hold `nodes` entries, tables 4-8 `nodes + 1`.
    const auto slice_range = [nodes](int t) {
      const auto n = static_cast<std::size_t>(nodes);
      const std::size_t begin = t < 4 ? t * n : 4 * n + (t - 4) * (n + 1);
      return std::make_pair(begin, begin + (t < 4 ? n : n + 1));
    };
    // The nine tables, in slice order, as views of one array (host or device).
    const auto slice_into = [&slice_range](const auto& tables, auto&... table) {
      int t = 0;
      ((table = Kokkos::subview(tables, slice_range(t++))), ...);
    };
    slice_into(host_tables, lv.row_rank_host, lv.col_rank_host, lv.u_rows_host, lv.v_rows_host,
               lv.u_offset_host, lv.v_offset_host, lv.b_offset_host, lv.row_rank_offset_host,
               lv.col_rank_offset_host);
    for (index_type i = 0; i < nodes; ++i) {
      const index_type r = rr[static_cast<std::size_t>(i)], c = cr[static_cast<std::size_t>(i)];
      index_type urows, vrows;
      if (l == levels_count) {
        urows = vrows = tree.node_size(l, i);
      } else {
        const HssLevel<T>& child = levels_[static_cast<std::size_t>(l) + 1];
        urows = child.row_rank_host(2 * i) + child.row_rank_host(2 * i + 1);
        vrows = child.col_rank_host(2 * i) + child.col_rank_host(2 * i + 1);
      }
      STRATA_REQUIRE(r >= 0 && c >= 0 && r <= urows && c <= vrows, InvalidArgument,
                     "HssMatrix: node ", i, " of level ", l, " has ranks (", r, ", ", c,
                     ") but its bases have ", urows, " and ", vrows,
                     " rows; ranks must be >= 0 and at most the rows of the basis");
      lv.row_rank_host(i) = r;
      lv.col_rank_host(i) = c;
      lv.u_rows_host(i) = urows;
      lv.v_rows_host(i) = vrows;
    }
    lv.u_offset_host(0) = lv.v_offset_host(0) = lv.b_offset_host(0) = 0;
    lv.row_rank_offset_host(0) = lv.col_rank_offset_host(0) = 0;
    for (index_type i = 0; i < nodes; ++i) {
      lv.u_offset_host(i + 1) = lv.u_offset_host(i) + lv.u_rows_host(i) * lv.row_rank_host(i);
      lv.v_offset_host(i + 1) = lv.v_offset_host(i) + lv.v_rows_host(i) * lv.col_rank_host(i);
      lv.b_offset_host(i + 1) = lv.b_offset_host(i) + lv.row_rank_host(i) * lv.col_rank_host(i ^ 1);
      lv.row_rank_offset_host(i + 1) = lv.row_rank_offset_host(i) + lv.row_rank_host(i);
      lv.col_rank_offset_host(i + 1) = lv.col_rank_offset_host(i) + lv.col_rank_host(i);
    }
    const IndexArray device_tables(Kokkos::view_alloc(Kokkos::WithoutInitializing, tag + "tables"),
                                   table_len);
    Kokkos::deep_copy(device_tables, host_tables);
    slice_into(device_tables, lv.row_rank, lv.col_rank, lv.u_rows, lv.v_rows, lv.u_offset,
               lv.v_offset, lv.b_offset, lv.row_rank_offset, lv.col_rank_offset);
    lv.u = generators(tag + "U", lv.u_offset_host(nodes));
    lv.v = generators(tag + "V", lv.v_offset_host(nodes));
    lv.b = generators(tag + "B", lv.b_offset_host(nodes));
  }
  const index_type leaves = ClusterTree::nodes_on_level(levels_count);
  d_offset_host_ = host_table("strata::hss::d_offset", leaves + 1);
  d_offset_host_(0) = 0;
  for (index_type i = 0; i < leaves; ++i) {
    const index_type m = tree.node_size(levels_count, i);
    d_offset_host_(i + 1) = d_offset_host_(i) + m * m;
  }
  d_offset_ = device_copy(d_offset_host_, "strata::hss::d_offset");
  d_ = generators("strata::hss::D", d_offset_host_(leaves));
}

template <class T>
index_type HssMatrix<T>::max_row_rank(int l) const {
  const auto& r = ranks_.row.at(static_cast<std::size_t>(l));
  return r.empty() ? 0 : *std::max_element(r.begin(), r.end());
}

template <class T>
index_type HssMatrix<T>::max_col_rank(int l) const {
  const auto& r = ranks_.col.at(static_cast<std::size_t>(l));
  return r.empty() ? 0 : *std::max_element(r.begin(), r.end());
}

template <class T>
std::size_t HssMatrix<T>::generator_bytes() const {
  std::size_t entries = d_.extent(0);
  for (int l = 1; l <= levels(); ++l) {
    const auto& lv = levels_[static_cast<std::size_t>(l)];
    entries += lv.u.extent(0) + lv.v.extent(0) + lv.b.extent(0);
  }
  return entries * sizeof(T);
}

template <class T>
std::size_t HssMatrix<T>::memory_bytes() const {
  std::size_t tables = d_offset_.extent(0);
  for (int l = 1; l <= levels(); ++l)
    tables += 9 * static_cast<std::size_t>(ClusterTree::nodes_on_level(l)) + 5;
  tables += 2 * static_cast<std::size_t>(tree_.num_nodes()) + static_cast<std::size_t>(size());
  return generator_bytes() + tables * sizeof(index_type);
}

template <class T>
Matrix<T> to_dense(const ExecSpace& exec, const HssMatrix<T>& a) {
  const int levels = a.levels();
  const index_type n = a.size();
  const ClusterTree& tree = a.tree();
  exec.fence();
  HostBlock dense(n, n);
  const auto d = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, a.d());
  for (index_type i = 0; i < ClusterTree::nodes_on_level(levels); ++i) {
    const index_type b = tree.node_begin(levels, i), m = tree.node_size(levels, i);
    const HostBlock blk = read_block(d, a.d_offset_host()(i), m, m);
    for (index_type q = 0; q < m; ++q) {
      for (index_type p = 0; p < m; ++p) dense(b + p, b + q) = blk(p, q);
    }
  }
  // Nested bases U^big, V^big of the nodes of the level below the current one.
  std::vector<HostBlock> ubig_below, vbig_below;
  for (int l = levels; l >= 1; --l) {
    const HssLevel<T>& lv = a.level(l);
    const auto u = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, lv.u);
    const auto v = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, lv.v);
    const auto bf = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, lv.b);
    std::vector<HostBlock> ubig(static_cast<std::size_t>(lv.nodes)),
        vbig(static_cast<std::size_t>(lv.nodes));
    for (index_type i = 0; i < lv.nodes; ++i) {
      const HostBlock ui =
          read_block(u, lv.u_offset_host(i), lv.u_rows_host(i), lv.row_rank_host(i));
      const HostBlock vi =
          read_block(v, lv.v_offset_host(i), lv.v_rows_host(i), lv.col_rank_host(i));
      if (l == levels) {
        ubig[static_cast<std::size_t>(i)] = ui;
        vbig[static_cast<std::size_t>(i)] = vi;
        continue;
      }
      // U^big_i = diag(U^big_2i, U^big_2i+1) U_i.
      const auto stack = [&](const std::vector<HostBlock>& below, const HostBlock& transfer) {
        const HostBlock& left = below[static_cast<std::size_t>(2 * i)];
        const HostBlock& right = below[static_cast<std::size_t>(2 * i + 1)];
        HostBlock top(left.cols, transfer.cols), bottom(right.cols, transfer.cols);
        for (index_type j = 0; j < transfer.cols; ++j) {
          for (index_type p = 0; p < left.cols; ++p) top(p, j) = transfer(p, j);
          for (index_type p = 0; p < right.cols; ++p) bottom(p, j) = transfer(left.cols + p, j);
        }
        const HostBlock lt = multiply(left, top), rb = multiply(right, bottom);
        HostBlock out(lt.rows + rb.rows, transfer.cols);
        for (index_type j = 0; j < out.cols; ++j) {
          for (index_type p = 0; p < lt.rows; ++p) out(p, j) = lt(p, j);
          for (index_type p = 0; p < rb.rows; ++p) out(lt.rows + p, j) = rb(p, j);
        }
        return out;
      };
      ubig[static_cast<std::size_t>(i)] = stack(ubig_below, ui);
      vbig[static_cast<std::size_t>(i)] = stack(vbig_below, vi);
    }
    for (index_type i = 0; i < lv.nodes; ++i) {
      const index_type sib = i ^ 1;
      const HostBlock bi =
          read_block(bf, lv.b_offset_host(i), lv.row_rank_host(i), lv.col_rank_host(sib));
      // A(I_i, I_sib) = U^big_i B_i (V^big_sib)^T.
      const HostBlock ub = multiply(ubig[static_cast<std::size_t>(i)], bi);
      add_abt(ub, vbig[static_cast<std::size_t>(sib)], dense, tree.node_begin(l, i),
              tree.node_begin(l, sib));
    }
    ubig_below = std::move(ubig);
    vbig_below = std::move(vbig);
  }
  Matrix<T> out("strata::hss::to_dense", n, n);
  auto host = Kokkos::create_mirror_view(out);
  const auto& perm = tree.permutation_host();
  for (index_type j = 0; j < n; ++j) {
    for (index_type i = 0; i < n; ++i) host(perm(i), perm(j)) = static_cast<T>(dense(i, j));
  }
  Kokkos::deep_copy(exec, out, host);
  exec.fence();
  return out;
}

template <class T>
HssMatrix<T> make_random_hss(const ExecSpace& exec, const ClusterTree& tree, const HssRanks& ranks,
                             std::uint64_t seed, const RandomHssOptions& options) {
  HssMatrix<T> a(tree, ranks);
  const int levels = tree.levels();
  if (options.symmetric) {
    STRATA_REQUIRE(ranks.row == ranks.col, InvalidArgument,
                   "make_random_hss: a symmetric HSS matrix needs equal row and column ranks");
  }
  const double shift =
      options.diagonal_shift >= 0 ? options.diagonal_shift : 2.0 * (levels + 1) + 2.0;
  for (int l = 1; l <= levels; ++l) {
    HssLevel<T>& lv = a.level(l);
    auto u = Kokkos::create_mirror_view(lv.u);
    auto v = Kokkos::create_mirror_view(lv.v);
    auto b = Kokkos::create_mirror_view(lv.b);
    std::vector<HostBlock> bs(static_cast<std::size_t>(lv.nodes));
    for (index_type i = 0; i < lv.nodes; ++i) {
      const HostBlock ui =
          orthonormal_block(block_stream(seed, 1, l, i), lv.u_rows_host(i), lv.row_rank_host(i));
      write_block(u, lv.u_offset_host(i), ui);
      write_block(v, lv.v_offset_host(i),
                  options.symmetric ? ui
                                    : orthonormal_block(block_stream(seed, 2, l, i),
                                                        lv.v_rows_host(i), lv.col_rank_host(i)));
      const index_type r = lv.row_rank_host(i), c = lv.col_rank_host(i ^ 1);
      const double scale =
          1.0 / std::sqrt(static_cast<double>(std::max<index_type>(1, std::max(r, c))));
      bs[static_cast<std::size_t>(i)] = gaussian_block(block_stream(seed, 3, l, i), r, c, scale);
    }
    for (index_type i = 0; i < lv.nodes; ++i) {
      HostBlock bi = bs[static_cast<std::size_t>(i)];
      if (options.symmetric && (i & 1)) {
        // B_{i, i-1} = B_{i-1, i}^T.
        const HostBlock& partner = bs[static_cast<std::size_t>(i - 1)];
        for (index_type q = 0; q < bi.cols; ++q) {
          for (index_type p = 0; p < bi.rows; ++p) bi(p, q) = partner(q, p);
        }
      }
      write_block(b, lv.b_offset_host(i), bi);
    }
    Kokkos::deep_copy(exec, lv.u, u);
    Kokkos::deep_copy(exec, lv.v, v);
    Kokkos::deep_copy(exec, lv.b, b);
    exec.fence();
  }
  auto d = Kokkos::create_mirror_view(a.d());
  for (index_type i = 0; i < ClusterTree::nodes_on_level(levels); ++i) {
    const index_type m = tree.node_size(levels, i);
    HostBlock di = gaussian_block(block_stream(seed, 4, levels, i), m, m,
                                  1.0 / std::sqrt(static_cast<double>(m)));
    if (options.symmetric) {
      for (index_type q = 0; q < m; ++q) {
        for (index_type p = 0; p < q; ++p) di(p, q) = di(q, p);
      }
    }
    for (index_type p = 0; p < m; ++p) di(p, p) += shift;
    write_block(d, a.d_offset_host()(i), di);
  }
  Kokkos::deep_copy(exec, a.d(), d);
  exec.fence();
  return a;
}

template <class T>
HssMatrix<T> make_random_hss(const ExecSpace& exec, const ClusterTree& tree, index_type rank,
                             std::uint64_t seed, const RandomHssOptions& options) {
  return make_random_hss<T>(exec, tree, uniform_ranks(tree, rank), seed, options);
}

#define STRATA_HSS_MATRIX_INSTANTIATE(T)                                                          \
  template class HssMatrix<T>;                                                                    \
  template Matrix<T> to_dense<T>(const ExecSpace&, const HssMatrix<T>&);                          \
  template HssMatrix<T> make_random_hss<T>(const ExecSpace&, const ClusterTree&, const HssRanks&, \
                                           std::uint64_t, const RandomHssOptions&);               \
  template HssMatrix<T> make_random_hss<T>(const ExecSpace&, const ClusterTree&, index_type,      \
                                           std::uint64_t, const RandomHssOptions&);
STRATA_HSS_MATRIX_INSTANTIATE(float)
STRATA_HSS_MATRIX_INSTANTIATE(double)
#undef STRATA_HSS_MATRIX_INSTANTIATE

}  // namespace strata::hss
