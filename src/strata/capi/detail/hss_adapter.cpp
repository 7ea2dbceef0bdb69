#include "strata/capi/detail/hss_adapter.hpp"

#include <algorithm>
#include <climits>

#include "strata/capi/detail/support.hpp"
#include "strata/dist/collective.hpp"
#include "strata/hss/compress_entries.hpp"
#include "strata/hss/hss_io.hpp"

namespace strata::capi::detail {

namespace {

/// A uniform tree with leaves of at most leaf_size rows and at least one leaf per rank (the
/// distributed HSS needs 2^L >= P).
hss::ClusterTree make_tree(index_type n, index_type leaf_size, int ranks) {
  STRATA_REQUIRE(leaf_size >= 1, InvalidArgument, "options.leaf_size must be >= 1, got ",
                 leaf_size);
  auto tree = hss::ClusterTree::uniform(n, leaf_size);
  int levels_for_ranks = 0;
  while ((index_type(1) << levels_for_ranks) < ranks) ++levels_for_ranks;
  if (tree.levels() < levels_for_ranks) {
    STRATA_REQUIRE(n >= (index_type(1) << levels_for_ranks), InvalidArgument, "a matrix of ", n,
                   " rows cannot be split over ", ranks,
                   " ranks (one leaf of at least one row per "
                   "rank is needed)");
    tree = hss::ClusterTree::with_levels(n, levels_for_ranks);
  }
  return tree;
}

hss::CompressOptions compress_options(const strata_hss_options& o) {
  STRATA_REQUIRE(o.method == STRATA_HSS_LEVITT_MARTINSSON || o.method == STRATA_HSS_QUASI_OPTIMAL,
                 InvalidArgument,
                 "options.method must be STRATA_HSS_LEVITT_MARTINSSON (0) or "
                 "STRATA_HSS_QUASI_OPTIMAL (1), got ",
                 o.method);
  hss::CompressOptions c;
  c.method = o.method == STRATA_HSS_QUASI_OPTIMAL ? hss::CompressMethod::quasi_optimal
                                                  : hss::CompressMethod::levitt_martinsson;
  c.rank = o.rank;
  c.tolerance = o.rank > 0 ? 0.0 : o.tolerance;
  c.oversampling = o.oversampling;
  c.samples = o.samples;
  c.max_samples = o.max_samples;
  c.error_probes = o.error_probes;
  c.max_rounds = o.max_rounds;
  c.seed = static_cast<std::uint64_t>(o.seed);
  return c;
}

}  // namespace

template <class T>
HssAdapter<T>::HssAdapter(hss::DistHssMatrix<T> matrix) : matrix_(std::move(matrix)) {
  info_.rows = matrix_.size();
  info_.levels = matrix_.tree().levels();
  index_type max_rank = 0;
  std::size_t bytes = 0;
  for (const auto& subtree : matrix_.subtrees()) {
    for (int l = 1; l <= subtree.levels(); ++l) {
      max_rank = std::max({max_rank, subtree.max_row_rank(l), subtree.max_col_rank(l)});
    }
    bytes += subtree.memory_bytes();
  }
  for (std::size_t l = 1; l < matrix_.top().size(); ++l) {
    const auto& level = matrix_.top()[l];
    for (index_type i = 0; i < level.nodes; ++i) {
      max_rank = std::max({max_rank, level.row_rank_host(i), level.col_rank_host(i)});
    }
    bytes += (level.u.size() + level.v.size() + level.b.size()) * sizeof(T);
  }
  info_.max_rank = matrix_.comm().allreduce(max_rank, ReduceOp::max);
  info_.memory_bytes = static_cast<int64_t>(bytes);
  info_.relative_error_estimate = -1;
}

template <class T>
std::unique_ptr<HssAdapter<T>> HssAdapter<T>::compress_products(
    const ExecSpace& exec, const LinearOperator<T>& user_operator,
    const strata_hss_options& options) {
  const Comm& comm = user_operator.comm();
  hss::ClusterTree tree;
  hss::CompressOptions compress;
  collective(comm, [&] {
    compress = compress_options(options);
    tree = make_tree(user_operator.rows(), options.leaf_size, comm.size());
  });
  auto result = hss::compress_from_matvecs_distributed(exec, user_operator, tree, compress);
  std::unique_ptr<HssAdapter> adapter(new HssAdapter(std::move(result.matrix)));
  adapter->info_.products = result.products;
  adapter->info_.relative_error_estimate = result.relative_error_estimate;
  return adapter;
}

template <class T>
std::unique_ptr<HssAdapter<T>> HssAdapter<T>::compress_entries(
    const ExecSpace& exec, const Comm& comm, const BlockRowLayout& user_layout,
    const hss::EntryEvaluator<T>& entries, const strata_hss_options& options) {
  hss::HssMatrix<T> replicated;
  collective(comm, [&] {
    const auto tree = make_tree(user_layout.global_rows(), options.leaf_size, comm.size());
    STRATA_REQUIRE(options.samples <= INT_MAX && options.rank <= INT_MAX, InvalidArgument,
                   "options.samples and options.rank must fit an int");
    hss::CompressEntriesOptions entry_options;
    entry_options.samples = static_cast<int>(options.samples);
    entry_options.max_rank = options.rank > 0 ? static_cast<int>(options.rank) : -1;
    entry_options.relative_tolerance = options.rank > 0 ? 0.0 : options.tolerance;
    entry_options.seed = static_cast<std::uint64_t>(options.seed);
    replicated = hss::compress_from_entries(exec, tree, entries, entry_options);
  });
  return std::unique_ptr<HssAdapter>(
      new HssAdapter(hss::distribute(exec, comm, replicated, user_layout)));
}

template <class T>
std::unique_ptr<HssAdapter<T>> HssAdapter<T>::load(const ExecSpace& exec, const Comm& comm,
                                                   const BlockRowLayout& user_layout,
                                                   const std::string& file) {
  auto replicated = hss::load_hss<T>(comm, file);
  collective(comm, [&] {
    STRATA_REQUIRE(replicated.size() == user_layout.global_rows(), ShapeMismatch, "'", file,
                   "' holds a matrix of ", replicated.size(),
                   " rows but the ranks' local_rows add up to ", user_layout.global_rows());
  });
  return std::unique_ptr<HssAdapter>(
      new HssAdapter(hss::distribute(exec, comm, replicated, user_layout)));
}

template <class T>
void HssAdapter<T>::matvec(const ExecSpace& exec, bool transpose, const ConstMatrix<T>& x,
                           const Matrix<T>& y) const {
  require_same(comm(), static_cast<index_type>(x.extent(1)), "number of columns k");
  hss::matvec(exec, matrix_, x, y, transpose ? hss::Op::transpose : hss::Op::none);
}

template <class T>
void HssAdapter<T>::factor(const ExecSpace& exec, hss::UlvVariant variant) {
  factor_.reset();
  hss::UlvOptions options;
  options.variant = variant;
  factor_ = hss::ulv_factor(exec, matrix_, options);
}

template <class T>
hss::UlvSolveResult HssAdapter<T>::solve(const ExecSpace& exec, const ConstMatrix<T>& b,
                                         const Matrix<T>& x) const {
  collective(comm(), [&] {
    STRATA_REQUIRE(factor_.has_value(), InvalidArgument,
                   "the matrix is not factored: call strata_*_hss_factor first");
  });
  require_same(comm(), static_cast<index_type>(b.extent(1)), "number of columns k");
  return hss::ulv_solve(exec, *factor_, b, x, true);
}

template <class T>
void HssAdapter<T>::save(const ExecSpace& exec, const std::string& file) const {
  hss::save_hss(comm(), file, hss::gather(exec, matrix_));
}

template class HssAdapter<float>;
template class HssAdapter<double>;

}  // namespace strata::capi::detail
