#include "strata/dist/comm.hpp"

#include <cstring>
#include <limits>

namespace strata {

#if STRATA_HAVE_MPI

namespace {
MPI_Datatype to_mpi(int tag) {
  switch (tag) {
    case detail::type_char:
      return MPI_CHAR;
    case detail::type_int:
      return MPI_INT;
    case detail::type_int64:
      return MPI_INT64_T;
    case detail::type_uint64:
      return MPI_UINT64_T;
    case detail::type_float:
      return MPI_FLOAT;
    case detail::type_double:
      return MPI_DOUBLE;
    default:
      STRATA_THROW(InternalError, "Comm: unknown type tag ", tag);
  }
}

MPI_Op to_mpi(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
      return MPI_SUM;
    case ReduceOp::max:
      return MPI_MAX;
    case ReduceOp::min:
      return MPI_MIN;
  }
  return MPI_SUM;
}

void check(int code, const char* what) {
  if (code != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    STRATA_THROW(CommunicationError, what,
                 " failed: ", std::string(text, static_cast<std::size_t>(length)));
  }
}

int to_count(std::int64_t count) {
  STRATA_REQUIRE(count >= 0 && count <= std::numeric_limits<int>::max(), InvalidArgument,
                 "MPI message of ", count,
                 " elements exceeds the 2^31-1 limit of one MPI call; "
                 "split the data over more ranks or smaller blocks");
  return static_cast<int>(count);
}
}  // namespace

struct Comm::Handle {
  MPI_Comm comm = MPI_COMM_NULL;
  ~Handle() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized && comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
  }
};

Comm::Comm() : Comm(MPI_COMM_WORLD) {}

Comm Comm::self() {
  return Comm(MPI_COMM_SELF);
}

Comm::Comm(MPI_Comm comm) : handle_(std::make_shared<Handle>()) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  STRATA_REQUIRE(initialized, InvalidArgument,
                 "strata::Comm needs MPI to be initialized; create a strata::ScopeGuard (or call "
                 "MPI_Init) first");
  check(MPI_Comm_dup(comm, &handle_->comm), "MPI_Comm_dup");
  // Errors come back as codes, so that they become exceptions instead of aborting the job.
  MPI_Comm_set_errhandler(handle_->comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(handle_->comm, &rank_);
  MPI_Comm_size(handle_->comm, &size_);
}

MPI_Comm Comm::raw() const {
  return handle_->comm;
}

void Comm::barrier() const {
  check(MPI_Barrier(handle_->comm), "MPI_Barrier");
}

void Comm::allreduce_raw(void* buffer, std::int64_t count, int type, ReduceOp op) const {
  if (count == 0) return;
  check(
      MPI_Allreduce(MPI_IN_PLACE, buffer, to_count(count), to_mpi(type), to_mpi(op), handle_->comm),
      "MPI_Allreduce");
}

void Comm::broadcast_raw(void* buffer, std::int64_t count, int type, int root) const {
  if (count == 0) return;
  check(MPI_Bcast(buffer, to_count(count), to_mpi(type), root, handle_->comm), "MPI_Bcast");
}

void Comm::allgatherv_raw(const void* send, std::int64_t send_count, void* recv,
                          const std::vector<std::int64_t>& counts, int type) const {
  std::vector<int> counts32(counts.size()), displs(counts.size());
  std::int64_t offset = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    counts32[r] = to_count(counts[r]);
    displs[r] = to_count(offset);
    offset += counts[r];
  }
  check(MPI_Allgatherv(send, to_count(send_count), to_mpi(type), recv, counts32.data(),
                       displs.data(), to_mpi(type), handle_->comm),
        "MPI_Allgatherv");
}

void Comm::alltoallv_raw(const void* send, const std::vector<std::int64_t>& send_counts, void* recv,
                         const std::vector<std::int64_t>& recv_counts, int type) const {
  const auto ranks = static_cast<std::size_t>(size_);
  STRATA_REQUIRE(send_counts.size() == ranks && recv_counts.size() == ranks, InvalidArgument,
                 "alltoallv: ", send_counts.size(), " send and ", recv_counts.size(),
                 " receive counts for ", size_, " ranks");
  std::vector<int> sc(ranks), sd(ranks), rc(ranks), rd(ranks);
  std::int64_t send_offset = 0, recv_offset = 0;
  for (std::size_t r = 0; r < ranks; ++r) {
    sc[r] = to_count(send_counts[r]);
    sd[r] = to_count(send_offset);
    rc[r] = to_count(recv_counts[r]);
    rd[r] = to_count(recv_offset);
    send_offset += send_counts[r];
    recv_offset += recv_counts[r];
  }
  check(MPI_Alltoallv(send, sc.data(), sd.data(), to_mpi(type), recv, rc.data(), rd.data(),
                      to_mpi(type), handle_->comm),
        "MPI_Alltoallv");
}

std::string Comm::broadcast(const std::string& value, int root) const {
  std::int64_t length = static_cast<std::int64_t>(value.size());
  broadcast_raw(&length, 1, detail::type_int64, root);
  std::string result = rank_ == root ? value : std::string(static_cast<std::size_t>(length), '\0');
  broadcast_raw(result.data(), length, detail::type_char, root);
  return result;
}

#else  // single-rank build without MPI

struct Comm::Handle {};

Comm::Comm() : handle_(std::make_shared<Handle>()) {}

Comm Comm::self() {
  return Comm();
}

void Comm::barrier() const {}
void Comm::allreduce_raw(void*, std::int64_t, int, ReduceOp) const {}
void Comm::broadcast_raw(void*, std::int64_t, int, int) const {}

void Comm::allgatherv_raw(const void* send, std::int64_t send_count, void* recv,
                          const std::vector<std::int64_t>&, int type) const {
  static constexpr std::size_t sizes[] = {sizeof(char),  sizeof(int),   8, 8,
                                          sizeof(float), sizeof(double)};
  std::memcpy(recv, send, static_cast<std::size_t>(send_count) * sizes[type]);
}

void Comm::alltoallv_raw(const void* send, const std::vector<std::int64_t>& send_counts, void* recv,
                         const std::vector<std::int64_t>& recv_counts, int type) const {
  STRATA_REQUIRE(
      send_counts.size() == 1 && recv_counts.size() == 1 && send_counts[0] == recv_counts[0],
      InvalidArgument, "alltoallv: one rank must send itself what it receives");
  static constexpr std::size_t sizes[] = {sizeof(char),  sizeof(int),   8, 8,
                                          sizeof(float), sizeof(double)};
  if (send_counts[0] > 0)
    std::memcpy(recv, send, static_cast<std::size_t>(send_counts[0]) * sizes[type]);
}

std::string Comm::broadcast(const std::string& value, int) const {
  return value;
}

#endif

}  // namespace strata
