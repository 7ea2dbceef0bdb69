// Moves blocks of rows between the user's order and row layout and the tree's permuted order split
// over the ranks (split_layout: every rank the rows of its subtrees). The distributed HSS code
// works in the tree's order; its public entry points take and return the user's rows.
//
// Each direction has a plan computed once, on every rank without communication (the permutation
// and both layouts are replicated): which of this rank's rows go to which rank, and where the rows
// that arrive are stored. A move is then one personalized exchange (MPI_Alltoallv) in which every
// row crosses the network at most once: a rank sends only the rows that change owner, and receives
// only its own. The rows that stay on this rank are copied directly, column by column (on one rank
// a move is that copy alone: no packing and no MPI call).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/dist/block_row_layout.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/comm.hpp"
#include "strata/hss/cluster_tree.hpp"

namespace strata::hss::detail {

class RowExchange {
 public:
  RowExchange() = default;
  /// `tree_layout` splits the tree's permuted order, `user_layout` the user's order; both over the
  /// same ranks and rows; `rank` is this process's rank in the communicator of later moves. Cost:
  /// O(N log P) host work and O(N) host memory per direction for the plans (none when trivial).
  RowExchange(const ClusterTree& tree, BlockRowLayout tree_layout, BlockRowLayout user_layout,
              int rank)
      : tree_layout_(std::move(tree_layout)),
        user_layout_(std::move(user_layout)),
        identity_(tree.is_identity()),
        rank_(rank) {
    STRATA_REQUIRE(tree_layout_.global_rows() == user_layout_.global_rows() &&
                       tree_layout_.num_ranks() == user_layout_.num_ranks(),
                   InvalidArgument, "hss: the tree's layout has ", tree_layout_.global_rows(),
                   " rows over ", tree_layout_.num_ranks(), " ranks, the user's ",
                   user_layout_.global_rows(), " over ", user_layout_.num_ranks());
    STRATA_REQUIRE(rank >= 0 && rank < tree_layout_.num_ranks(), InvalidArgument, "hss: rank ",
                   rank, " outside a layout of ", tree_layout_.num_ranks(), " ranks");
    if (trivial()) return;
    const index_type n = tree_layout_.global_rows();
    std::vector<index_type> perm, inverse;
    if (!identity_) {
      const auto& ph = tree.permutation_host();
      perm.resize(static_cast<std::size_t>(n));
      inverse.resize(static_cast<std::size_t>(n));
      for (index_type p = 0; p < n; ++p) {
        perm[static_cast<std::size_t>(p)] = ph(p);
        inverse[static_cast<std::size_t>(ph(p))] = p;
      }
    }
    // Tree row p holds user row perm[p]; user row u holds tree row inverse[u].
    to_tree_ = std::make_shared<const Plan>(make_plan(user_layout_, tree_layout_, perm));
    to_user_ = std::make_shared<const Plan>(make_plan(tree_layout_, user_layout_, inverse));
  }

  const BlockRowLayout& tree_layout() const { return tree_layout_; }
  const BlockRowLayout& user_layout() const { return user_layout_; }
  /// No data movement needed: identity permutation and the same layouts.
  bool trivial() const { return identity_ && tree_layout_ == user_layout_; }

  /// This rank's rows in the tree's layout (out) from this rank's rows in the user's (x).
  /// Collective; every rank sends the rows it holds that another rank needs and receives the ones
  /// it needs (at most N k numbers over all ranks together).
  template <class T>
  void to_tree(const ExecSpace& exec, const Comm& comm, const ConstMatrix<T>& x,
               const Matrix<T>& out) const {
    move<T>(exec, comm, user_layout_, tree_layout_, to_tree_.get(), x, out);
  }
  /// The inverse of to_tree.
  template <class T>
  void to_user(const ExecSpace& exec, const Comm& comm, const ConstMatrix<T>& x,
               const Matrix<T>& out) const {
    move<T>(exec, comm, tree_layout_, user_layout_, to_user_.get(), x, out);
  }

  /// Rows this rank sends and receives per move (for tests and benchmarks): rows sent to other
  /// ranks by to_tree and to_user, and the same for receiving.
  struct Traffic {
    index_type sent_to_tree = 0, received_to_tree = 0, sent_to_user = 0, received_to_user = 0;
  };
  Traffic traffic() const {
    Traffic t;
    if (trivial()) return t;
    t.sent_to_tree = to_tree_->remote_sent;
    t.received_to_tree = to_tree_->remote_received;
    t.sent_to_user = to_user_->remote_sent;
    t.received_to_user = to_user_->remote_received;
    return t;
  }

  // One direction: this rank sends its local rows send_rows (grouped by destination rank, in the
  // destination's row order) and stores the rows that arrive (grouped by source rank) at its local
  // rows recv_rows; both without the rows that stay, which go from local row self_from(i) to local
  // row self_to(i). The counts of this rank in send_counts and recv_counts are 0.
  struct Plan {
    std::vector<std::int64_t> send_counts, recv_counts;  // rows per rank
    Kokkos::View<index_type*, MemSpace> send_rows, recv_rows, self_from, self_to;
    index_type remote_sent = 0, remote_received = 0;
  };

  // Public only because nvcc refuses device lambdas in private member functions; use to_tree
  // and to_user.
  template <class T>
  void move(const ExecSpace& exec, const Comm& comm, const BlockRowLayout& from,
            const BlockRowLayout& to, const Plan* plan, const ConstMatrix<T>& x,
            const Matrix<T>& out) const {
    const index_type cols = static_cast<index_type>(x.extent(1));
    collective(comm, [&] {
      STRATA_REQUIRE(from.num_ranks() == comm.size() && comm.rank() == rank_, InvalidArgument,
                     "hss: the row exchange was planned for rank ", rank_, " of ", from.num_ranks(),
                     ", called on rank ", comm.rank(), " of ", comm.size());
      require_shape(x, from.local_rows(rank_), cols, "hss row exchange: local block");
      require_shape(out, to.local_rows(rank_), cols, "hss row exchange: output block");
    });
    for (const auto c : comm.allgather(cols)) {
      STRATA_REQUIRE(c == cols, CommunicationError,
                     "hss row exchange: ranks disagree on the column count (", c, " vs ", cols,
                     ")");
    }
    if (trivial()) {
      Kokkos::deep_copy(exec, out, x);
      return;
    }
    // The rows that stay: one gather, the row index fastest (contiguous along x's and out's
    // columns, LayoutLeft).
    const auto self_from = plan->self_from;
    const auto self_to = plan->self_to;
    const index_type nself = static_cast<index_type>(self_from.extent(0));
    if (nself > 0 && cols > 0) {
      using Left2 =
          Kokkos::MDRangePolicy<ExecSpace,
                                Kokkos::Rank<2, Kokkos::Iterate::Left, Kokkos::Iterate::Left>,
                                Kokkos::IndexType<index_type>>;
      Kokkos::parallel_for(
          "strata::hss::exchange::local", Left2(exec, {0, 0}, {nself, cols}),
          KOKKOS_LAMBDA(const index_type p, const index_type j) {
            out(self_to(p), j) = x(self_from(p), j);
          });
    }
    // On one rank every row stays; otherwise the exchange is collective (every rank calls it,
    // whatever its own counts).
    if (comm.size() == 1) {
      kx::fence(exec, "strata::hss::exchange::local");
      return;
    }
    // Rows are packed row-major, so that the rows for (and from) one rank are contiguous.
    using Packed = Kokkos::View<T**, Kokkos::LayoutRight, MemSpace>;
    const auto send_rows = plan->send_rows;
    const auto recv_rows = plan->recv_rows;
    const index_type nsend = static_cast<index_type>(send_rows.extent(0));
    const index_type nrecv = static_cast<index_type>(recv_rows.extent(0));
    Packed send(
        Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::exchange::send"),
        static_cast<std::size_t>(nsend), static_cast<std::size_t>(cols));
    Packed recv(
        Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::hss::exchange::recv"),
        static_cast<std::size_t>(nrecv), static_cast<std::size_t>(cols));
    using Range2 = Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>, Kokkos::IndexType<index_type>>;
    if (nsend > 0 && cols > 0) {
      Kokkos::parallel_for(
          "strata::hss::exchange::pack", Range2(exec, {0, 0}, {nsend, cols}),
          KOKKOS_LAMBDA(const index_type p, const index_type j) {
            send(p, j) = x(send_rows(p), j);
          });
    }
    std::vector<std::int64_t> send_counts = plan->send_counts, recv_counts = plan->recv_counts;
    for (auto& c : send_counts) c *= cols;
    for (auto& c : recv_counts) c *= cols;
    kx::fence(exec, "strata::hss::exchange::pack");
    if constexpr (strata::detail::mpi_can_use_directly<MemSpace>()) {
      comm.alltoallv_raw(send.data(), send_counts, recv.data(), recv_counts,
                         strata::detail::mpi_type_tag<T>());
    } else {
      auto send_host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), send);
      auto recv_host = Kokkos::create_mirror_view(recv);
      comm.alltoallv_raw(send_host.data(), send_counts, recv_host.data(), recv_counts,
                         strata::detail::mpi_type_tag<T>());
      Kokkos::deep_copy(exec, recv, recv_host);
    }
    if (nrecv > 0 && cols > 0) {
      Kokkos::parallel_for(
          "strata::hss::exchange::unpack", Range2(exec, {0, 0}, {nrecv, cols}),
          KOKKOS_LAMBDA(const index_type p, const index_type j) {
            out(recv_rows(p), j) = recv(p, j);
          });
    }
    kx::fence(exec, "strata::hss::exchange::unpack");
  }

 private:
  // Destination global row g of `to` takes source global row source[g] of `from` (the identity
  // when `source` is empty). Every rank derives its own part of the same global schedule, so the
  // pairwise counts and orders agree without communication.
  Plan make_plan(const BlockRowLayout& from, const BlockRowLayout& to,
                 const std::vector<index_type>& source) const {
    const int ranks = to.num_ranks();
    const index_type from_begin = from.row_begin(rank_), from_end = from.row_end(rank_);
    auto src = [&](index_type g) {
      return source.empty() ? g : source[static_cast<std::size_t>(g)];
    };
    Plan plan;
    plan.send_counts.assign(static_cast<std::size_t>(ranks), 0);
    plan.recv_counts.assign(static_cast<std::size_t>(ranks), 0);
    std::vector<index_type> send_rows;
    for (int d = 0; d < ranks; ++d) {  // destinations in rank order, their rows in order
      if (d == rank_) continue;
      for (index_type g = to.row_begin(d); g < to.row_end(d); ++g) {
        const index_type s = src(g);
        if (s < from_begin || s >= from_end) continue;
        send_rows.push_back(s - from_begin);
        ++plan.send_counts[static_cast<std::size_t>(d)];
      }
    }
    const index_type to_begin = to.row_begin(rank_), to_rows = to.local_rows(rank_);
    std::vector<std::vector<index_type>> by_source(static_cast<std::size_t>(ranks));
    std::vector<index_type> self_from, self_to;
    for (index_type i = 0; i < to_rows; ++i) {
      const index_type s = src(to_begin + i);
      const int o = from.owner(s);
      if (o == rank_) {
        self_from.push_back(s - from_begin);
        self_to.push_back(i);
      } else {
        by_source[static_cast<std::size_t>(o)].push_back(i);
      }
    }
    std::vector<index_type> recv_rows;
    recv_rows.reserve(static_cast<std::size_t>(to_rows) - self_to.size());
    for (int o = 0; o < ranks; ++o) {
      const auto& rows = by_source[static_cast<std::size_t>(o)];
      plan.recv_counts[static_cast<std::size_t>(o)] = static_cast<std::int64_t>(rows.size());
      recv_rows.insert(recv_rows.end(), rows.begin(), rows.end());
    }
    plan.remote_sent = static_cast<index_type>(send_rows.size());
    plan.remote_received = static_cast<index_type>(recv_rows.size());
    plan.send_rows = to_device(send_rows, "strata::hss::exchange::send_rows");
    plan.recv_rows = to_device(recv_rows, "strata::hss::exchange::recv_rows");
    plan.self_from = to_device(self_from, "strata::hss::exchange::self_from");
    plan.self_to = to_device(self_to, "strata::hss::exchange::self_to");
    return plan;
  }

  static Kokkos::View<index_type*, MemSpace> to_device(const std::vector<index_type>& v,
                                                       const std::string& label) {
    Kokkos::View<index_type*, MemSpace> d(Kokkos::view_alloc(Kokkos::WithoutInitializing, label),
                                          v.size());
    auto h = Kokkos::create_mirror_view(d);
    for (std::size_t i = 0; i < v.size(); ++i) h(i) = v[i];
    Kokkos::deep_copy(d, h);
    return d;
  }

  BlockRowLayout tree_layout_, user_layout_;
  bool identity_ = true;
  int rank_ = 0;
  std::shared_ptr<const Plan> to_tree_, to_user_;
};

}  // namespace strata::hss::detail
