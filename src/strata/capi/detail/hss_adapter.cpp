#include "strata/capi/detail/hss_adapter.hpp"

#include <algorithm>
#include <climits>
#include <vector>

#include "strata/core/kokkos_ext.hpp"
#include "strata/dist/collective.hpp"
#include "strata/hss/compress_entries.hpp"
#include "strata/hss/hss_io.hpp"

#if STRATA_HAVE_MPI
#include <mpi.h>
#endif

namespace strata::capi::detail {

namespace {

#if STRATA_HAVE_MPI
template <class T>
MPI_Datatype mpi_type() {
  return std::is_same_v<T, double> ? MPI_DOUBLE : MPI_FLOAT;
}

int checked_count(index_type count) {
  STRATA_REQUIRE(count <= INT_MAX, Unsupported, "redistributing ", count,
                 " values between two ranks exceeds MPI's int counts; use fewer columns per call");
  return static_cast<int>(count);
}
#endif

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

template <class T>
void require_same_columns(const Comm& comm, index_type k) {
  const auto kmin = comm.allreduce(k, ReduceOp::min);
  const auto kmax = comm.allreduce(k, ReduceOp::max);
  collective(comm, [&] {
    STRATA_REQUIRE(kmin == kmax, ShapeMismatch,
                   "every rank must pass the same number of columns k; they range from ", kmin,
                   " to ", kmax);
  });
}

}  // namespace

template <class T>
void redistribute(const ExecSpace& exec, const Comm& comm, const BlockRowLayout& from,
                  const ConstMatrix<T>& x, const BlockRowLayout& to, const Matrix<T>& y) {
  if (from == to) {
    Kokkos::deep_copy(exec, y, x);
    return;
  }
#if STRATA_HAVE_MPI
  const int ranks = comm.size();
  const int me = comm.rank();
  const auto k = static_cast<index_type>(x.extent(1));
  kx::fence(exec, "strata::capi::redistribute::before");
  const auto hx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
  const index_type from_begin = from.row_begin(me), to_begin = to.row_begin(me);
  // Rows travel row-major, so that the rows for one rank are one contiguous slice; both layouts
  // are increasing in the rank, so what arrives from ranks 0, 1, ... is this rank's rows in order.
  std::vector<T> send(static_cast<std::size_t>(hx.extent(0)) * static_cast<std::size_t>(k));
  for (index_type i = 0; i < static_cast<index_type>(hx.extent(0)); ++i) {
    for (index_type j = 0; j < k; ++j) send[static_cast<std::size_t>(i * k + j)] = hx(i, j);
  }
  std::vector<T> receive(static_cast<std::size_t>(y.extent(0)) * static_cast<std::size_t>(k));
  std::vector<int> send_counts(ranks), send_displs(ranks), recv_counts(ranks), recv_displs(ranks);
  for (int q = 0; q < ranks; ++q) {
    const index_type send_lo = std::max(from_begin, to.row_begin(q));
    const index_type send_hi = std::min(from.row_end(me), to.row_end(q));
    send_counts[q] = checked_count(std::max<index_type>(0, send_hi - send_lo) * k);
    send_displs[q] = send_counts[q] > 0 ? checked_count((send_lo - from_begin) * k) : 0;
    const index_type recv_lo = std::max(to_begin, from.row_begin(q));
    const index_type recv_hi = std::min(to.row_end(me), from.row_end(q));
    recv_counts[q] = checked_count(std::max<index_type>(0, recv_hi - recv_lo) * k);
    recv_displs[q] = recv_counts[q] > 0 ? checked_count((recv_lo - to_begin) * k) : 0;
  }
  const int status = MPI_Alltoallv(send.data(), send_counts.data(), send_displs.data(),
                                   mpi_type<T>(), receive.data(), recv_counts.data(),
                                   recv_displs.data(), mpi_type<T>(), comm.raw());
  STRATA_REQUIRE(status == MPI_SUCCESS, CommunicationError,
                 "MPI_Alltoallv failed while redistributing rows (error ", status, ")");
  const auto hy = Kokkos::create_mirror_view(y);
  for (index_type i = 0; i < static_cast<index_type>(hy.extent(0)); ++i) {
    for (index_type j = 0; j < k; ++j) hy(i, j) = receive[static_cast<std::size_t>(i * k + j)];
  }
  Kokkos::deep_copy(exec, y, hy);
  kx::fence(exec, "strata::capi::redistribute::after");
#else
  (void)exec;
  (void)comm;
  (void)x;
  (void)y;
  STRATA_THROW(InternalError, "redistribute: two different layouts on a single process");
#endif
}

template <class T>
HssAdapter<T>::HssAdapter(const Comm& comm, BlockRowLayout user_layout,
                          hss::DistHssMatrix<T> matrix)
    : comm_(comm), user_layout_(std::move(user_layout)), matrix_(std::move(matrix)) {
  fill_info();
}

template <class T>
void HssAdapter<T>::fill_info() {
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
  info_.max_rank = comm_.allreduce(max_rank, ReduceOp::max);
  info_.memory_bytes = static_cast<int64_t>(bytes);
  info_.relative_error_estimate = -1;
}

template <class T>
std::unique_ptr<HssAdapter<T>> HssAdapter<T>::compress_products(
    const ExecSpace& exec, const LinearOperator<T>& user_operator,
    const strata_hss_options& options) {
  const Comm& comm = user_operator.comm();
  const BlockRowLayout& user = user_operator.row_layout();
  hss::ClusterTree tree;
  hss::CompressOptions compress;
  collective(comm, [&] {
    compress = compress_options(options);
    tree = make_tree(user.global_rows(), options.leaf_size, comm.size());
  });
  const BlockRowLayout split = hss::split_layout(tree, comm);
  const auto product = [&](bool transpose) {
    return [&, transpose](const ExecSpace& e, const ConstMatrix<T>& x_split,
                          const Matrix<T>& y_split) {
      const auto rows = static_cast<std::size_t>(user.local_rows(comm.rank()));
      const auto k = x_split.extent(1);
      Matrix<T> x_user(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::capi::x_user"),
                       rows, k);
      Matrix<T> y_user(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::capi::y_user"),
                       rows, k);
      redistribute<T>(e, comm, split, x_split, user, x_user);
      if (transpose) {
        user_operator.apply_transpose(e, x_user, y_user);
      } else {
        user_operator.apply(e, x_user, y_user);
      }
      redistribute<T>(e, comm, user, y_user, split, y_split);
    };
  };
  const CallbackOperator<T> split_operator(comm, split, split, product(false), product(true));
  auto result = hss::compress_from_matvecs_distributed(exec, split_operator, tree, compress);
  std::unique_ptr<HssAdapter> adapter(new HssAdapter(comm, user, std::move(result.matrix)));
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
      new HssAdapter(comm, user_layout, hss::distribute(exec, comm, replicated)));
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
    STRATA_REQUIRE(replicated.tree().is_identity(), Unsupported, "'", file,
                   "' was built on a geometric (reordered) cluster tree; the C interface reads "
                   "only matrices in the original order (uniform trees)");
  });
  return std::unique_ptr<HssAdapter>(
      new HssAdapter(comm, user_layout, hss::distribute(exec, comm, replicated)));
}

template <class T>
void HssAdapter<T>::matvec(const ExecSpace& exec, bool transpose, const ConstMatrix<T>& x,
                           const Matrix<T>& y) const {
  require_same_columns<T>(comm_, static_cast<index_type>(x.extent(1)));
  const auto rows = static_cast<std::size_t>(matrix_.local_rows());
  Matrix<T> x_split("strata::capi::x_split", rows, x.extent(1));
  Matrix<T> y_split("strata::capi::y_split", rows, x.extent(1));
  redistribute<T>(exec, comm_, user_layout_, x, matrix_.layout(), x_split);
  hss::matvec(exec, matrix_, ConstMatrix<T>(x_split), y_split,
              transpose ? hss::Op::transpose : hss::Op::none);
  redistribute<T>(exec, comm_, matrix_.layout(), y_split, user_layout_, y);
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
  collective(comm_, [&] {
    STRATA_REQUIRE(factor_.has_value(), InvalidArgument,
                   "the matrix is not factored: call strata_*_hss_factor first");
  });
  require_same_columns<T>(comm_, static_cast<index_type>(b.extent(1)));
  const auto rows = static_cast<std::size_t>(matrix_.local_rows());
  Matrix<T> b_split("strata::capi::b_split", rows, b.extent(1));
  Matrix<T> x_split("strata::capi::x_split", rows, b.extent(1));
  redistribute<T>(exec, comm_, user_layout_, b, matrix_.layout(), b_split);
  const auto result = hss::ulv_solve(exec, *factor_, ConstMatrix<T>(b_split), x_split, true);
  redistribute<T>(exec, comm_, matrix_.layout(), x_split, user_layout_, x);
  return result;
}

template <class T>
void HssAdapter<T>::save(const ExecSpace& exec, const std::string& file) const {
  hss::save_hss(comm_, file, hss::gather(exec, matrix_));
}

#define STRATA_CAPI_HSS_ADAPTER_INSTANTIATE(T)                                                   \
  template void redistribute<T>(const ExecSpace&, const Comm&, const BlockRowLayout&,            \
                                const ConstMatrix<T>&, const BlockRowLayout&, const Matrix<T>&); \
  template class HssAdapter<T>;
STRATA_CAPI_HSS_ADAPTER_INSTANTIATE(float)
STRATA_CAPI_HSS_ADAPTER_INSTANTIATE(double)
#undef STRATA_CAPI_HSS_ADAPTER_INSTANTIATE

}  // namespace strata::capi::detail
