// The communicator every distributed Strata object carries.
//
// Comm duplicates the user's communicator (MPI_Comm_dup), so Strata's messages can never match the
// host code's, and frees the duplicate when the last copy goes away. Collectives on Kokkos views
// are host-staged by default: the view is copied to a host mirror after a fence of the given
// execution space instance, MPI runs on host memory, and the result is copied back. With
// Strata_ENABLE_GPU_AWARE_MPI the device pointer is handed to MPI directly (after the fence).
// Without MPI (Strata_ENABLE_MPI=OFF) a Comm is a single rank and every collective is a no-op.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "strata/config.hpp"
#include "strata/core/error.hpp"
#include "strata/core/kokkos_ext.hpp"
#include "strata/core/types.hpp"

#if STRATA_HAVE_MPI
#include <mpi.h>
#endif

namespace strata {

enum class ReduceOp { sum, max, min };

class Comm {
 public:
  /// A duplicate of MPI_COMM_WORLD (a single-rank communicator without MPI).
  Comm();
  /// A duplicate of MPI_COMM_SELF: this rank alone (for replicated objects).
  static Comm self();
#if STRATA_HAVE_MPI
  /// A duplicate of `comm`; the caller keeps ownership of `comm`.
  explicit Comm(MPI_Comm comm);
  /// The duplicated communicator, for calls Strata does not wrap.
  MPI_Comm raw() const;
#endif

  int rank() const {
    return rank_;
  }
  int size() const {
    return size_;
  }
  bool is_root() const {
    return rank_ == 0;
  }

  void barrier() const;

  /// Reduction of one value over all ranks.
  template <class T>
  T allreduce(T value, ReduceOp op) const;
  /// One value from every rank, in rank order.
  template <class T>
  std::vector<T> allgather(T value) const;
  /// Broadcast of a string from `root`.
  std::string broadcast(const std::string& value, int root) const;

  /// In-place element-wise reduction of a contiguous view of any rank and memory space.
  template <class ExecutionSpace, class View>
  void allreduce(const ExecutionSpace& exec, const View& view, ReduceOp op) const;
  /// In-place broadcast of a contiguous view from `root`.
  template <class ExecutionSpace, class View>
  void broadcast(const ExecutionSpace& exec, const View& view, int root) const;

  /// Raw-buffer collectives on host memory (used by the view collectives and the I/O layer).
  void allreduce_raw(void* buffer, std::int64_t count, int type, ReduceOp op) const;
  void broadcast_raw(void* buffer, std::int64_t count, int type, int root) const;
  void allgatherv_raw(const void* send, std::int64_t send_count, void* recv,
                      const std::vector<std::int64_t>& counts, int type) const;
  /// Personalized exchange (MPI_Alltoallv): send_counts[r] elements of `send` go to rank r (the
  /// blocks for ranks 0, 1, ... one after the other), recv_counts[r] elements arrive from rank r in
  /// the same packing. Counts must match pairwise (rank a's send_counts[b] == rank b's
  /// recv_counts[a]); every offset must fit MPI's int.
  void alltoallv_raw(const void* send, const std::vector<std::int64_t>& send_counts, void* recv,
                     const std::vector<std::int64_t>& recv_counts, int type) const;

 private:
  struct Handle;
  std::shared_ptr<Handle> handle_;
  int rank_ = 0;
  int size_ = 1;
};

namespace detail {
// Type tags understood by the *_raw functions.
enum : int {
  type_char = 0,
  type_int = 1,
  type_int64 = 2,
  type_uint64 = 3,
  type_float = 4,
  type_double = 5
};

template <class T>
constexpr int mpi_type_tag() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, char>)
    return type_char;
  else if constexpr (std::is_same_v<U, int>)
    return type_int;
  else if constexpr (std::is_same_v<U, std::int64_t> || std::is_same_v<U, long long>)
    return type_int64;
  else if constexpr (std::is_same_v<U, std::uint64_t>)
    return type_uint64;
  else if constexpr (std::is_same_v<U, float>)
    return type_float;
  else if constexpr (std::is_same_v<U, double>)
    return type_double;
  else
    static_assert(sizeof(T) == 0, "Comm: unsupported element type");
}

template <class View>
void require_contiguous(const View& view, const char* what) {
  if (!view.span_is_contiguous()) {
    STRATA_THROW(InvalidArgument, what,
                 ": the view must be contiguous (a subview with gaps "
                 "cannot be handed to MPI); copy it into a contiguous view first");
  }
}

/// Whether a view in memory space M can be handed to MPI without host staging.
template <class M>
constexpr bool mpi_can_use_directly() {
  return kx::host_accessible<M> || STRATA_GPU_AWARE_MPI;
}
}  // namespace detail

template <class T>
T Comm::allreduce(T value, ReduceOp op) const {
  allreduce_raw(&value, 1, detail::mpi_type_tag<T>(), op);
  return value;
}

template <class T>
std::vector<T> Comm::allgather(T value) const {
  std::vector<T> all(static_cast<std::size_t>(size_));
  std::vector<std::int64_t> counts(static_cast<std::size_t>(size_), 1);
  allgatherv_raw(&value, 1, all.data(), counts, detail::mpi_type_tag<T>());
  return all;
}

template <class ExecutionSpace, class View>
void Comm::allreduce(const ExecutionSpace& exec, const View& view, ReduceOp op) const {
  using T = typename View::non_const_value_type;
  detail::require_contiguous(view, "Comm::allreduce");
  if (size_ == 1 || view.size() == 0) return;
  kx::fence(exec, "strata::Comm::allreduce::before");
  if constexpr (detail::mpi_can_use_directly<typename View::memory_space>()) {
    allreduce_raw(view.data(), static_cast<std::int64_t>(view.span()), detail::mpi_type_tag<T>(),
                  op);
  } else {
    auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), view);
    allreduce_raw(host.data(), static_cast<std::int64_t>(host.span()), detail::mpi_type_tag<T>(),
                  op);
    Kokkos::deep_copy(exec, view, host);
    kx::fence(exec, "strata::Comm::allreduce::after");
  }
}

template <class ExecutionSpace, class View>
void Comm::broadcast(const ExecutionSpace& exec, const View& view, int root) const {
  using T = typename View::non_const_value_type;
  detail::require_contiguous(view, "Comm::broadcast");
  if (size_ == 1 || view.size() == 0) return;
  kx::fence(exec, "strata::Comm::broadcast::before");
  if constexpr (detail::mpi_can_use_directly<typename View::memory_space>()) {
    broadcast_raw(view.data(), static_cast<std::int64_t>(view.span()), detail::mpi_type_tag<T>(),
                  root);
  } else {
    auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), view);
    broadcast_raw(host.data(), static_cast<std::int64_t>(host.span()), detail::mpi_type_tag<T>(),
                  root);
    Kokkos::deep_copy(exec, view, host);
    kx::fence(exec, "strata::Comm::broadcast::after");
  }
}

}  // namespace strata
