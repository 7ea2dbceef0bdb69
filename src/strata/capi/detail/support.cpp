#include "strata/capi/detail/support.hpp"

#include <algorithm>
#include <exception>
#include <new>
#include <type_traits>
#include <vector>

#include "strata/dist/collective.hpp"

#if STRATA_HAVE_MPI
#include <mpi.h>
#endif

namespace strata::capi::detail {

#if STRATA_HAVE_MPI
static_assert(std::is_same_v<strata_fint, MPI_Fint>, "strata.h: strata_fint must be MPI_Fint");
#endif
static_assert(sizeof(strata_fint) == sizeof(int),
              "the Fortran module passes communicators as integer(c_int)");

namespace {
thread_local std::string last_error;
thread_local bool callback_failure = false;
}  // namespace

const char* last_error_message() {
  return last_error.c_str();
}

void set_last_error(std::string message) {
  last_error = std::move(message);
}

void mark_callback_failed() {
  callback_failure = true;
}

bool callback_failed() {
  return callback_failure;
}

void agree_on_callback_failure(const Comm& comm) {
  if (comm.allreduce(callback_failure ? 1 : 0, ReduceOp::max) != 0) callback_failure = true;
}

int guarded_impl(const char* function, bool require_initialized, void (*thunk)(void*),
                 void* f) noexcept {
  callback_failure = false;
  const auto fail = [&](int code, const char* what) noexcept {
    try {
      last_error = std::string(function) + ": " + what;
    } catch (...) {
      last_error.clear();  // no memory even for the message: the code still says what happened
    }
    return code;
  };
  try {
    if (require_initialized && !Kokkos::is_initialized()) {
      return fail(STRATA_ERROR_NOT_INITIALIZED,
                  "Strata is not initialized: call strata_initialize first (or initialize Kokkos "
                  "yourself), and destroy every handle before strata_finalize");
    }
    thunk(f);
    last_error.clear();
    return STRATA_SUCCESS;
  } catch (const Error& e) {
    if (callback_failure) return fail(STRATA_ERROR_CALLBACK, e.what());
    return fail(static_cast<int>(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return fail(STRATA_ERROR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return fail(STRATA_ERROR_INTERNAL, e.what());
  } catch (...) {
    return fail(STRATA_ERROR_INTERNAL, "an unknown exception (a bug in Strata or a callback)");
  }
}

Comm make_comm(strata_fint fortran_handle) {
#if STRATA_HAVE_MPI
  int initialized = 0;
  MPI_Initialized(&initialized);
  STRATA_REQUIRE(initialized, InvalidArgument,
                 "MPI is not initialized: call strata_initialize (or MPI_Init) first");
  return Comm(MPI_Comm_f2c(fortran_handle));
#else
  (void)fortran_handle;
  return Comm();
#endif
}

BlockRowLayout user_layout(const Comm& comm, index_type local_rows) {
  collective(comm, [&] {
    STRATA_REQUIRE(local_rows >= 0, InvalidArgument, "local_rows must be >= 0, got ", local_rows);
  });
  return BlockRowLayout::from_local_rows(comm, local_rows);
}

void require_same(const Comm& comm, index_type value, const char* what) {
  const auto low = comm.allreduce(value, ReduceOp::min);
  const auto high = comm.allreduce(value, ReduceOp::max);
  collective(comm, [&] {
    STRATA_REQUIRE(low == high, ShapeMismatch, "every rank must pass the same ", what,
                   "; the ranks pass values from ", low, " to ", high);
  });
}

void require_pointer(const void* pointer, bool needed, const char* what) {
  STRATA_REQUIRE(pointer != nullptr || !needed, InvalidArgument, what, " is a null pointer");
}

namespace {
void check_shape(const void* a, index_type rows, index_type cols, index_type ld, const char* what) {
  STRATA_REQUIRE(rows >= 0 && cols >= 0, ShapeMismatch, what, ": the sizes must be >= 0, got ",
                 rows, " x ", cols);
  require_pointer(a, rows > 0 && cols > 0, what);
  STRATA_REQUIRE(ld >= std::max<index_type>(1, rows), ShapeMismatch, what,
                 ": the leading dimension must be >= max(1, rows) = ",
                 std::max<index_type>(1, rows), ", got ", ld);
}
}  // namespace

template <class T>
Matrix<T> copy_in(const T* a, index_type rows, index_type cols, index_type ld, const char* what) {
  check_shape(a, rows, cols, ld, what);
  HostMatrix<T> host(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("strata::capi::") + what),
      static_cast<std::size_t>(rows), static_cast<std::size_t>(cols));
  for (index_type j = 0; j < cols; ++j) {
    std::copy(a + j * ld, a + j * ld + rows, &host(0, j));
  }
  return Kokkos::create_mirror_view_and_copy(MemSpace(), host);
}

template <class T>
void check_out(const T* out, index_type rows, index_type cols, index_type ld, const char* what) {
  check_shape(out, rows, cols, ld, what);
}

template <class T>
void copy_out(const ConstMatrix<T>& m, T* out, index_type ld) {
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m);
  const auto rows = static_cast<index_type>(host.extent(0));
  for (index_type j = 0; j < static_cast<index_type>(host.extent(1)); ++j) {
    for (index_type i = 0; i < rows; ++i) out[i + j * ld] = host(i, j);
  }
}

template <class T>
HostMatrix<T> gather_rows(const DistMatrix<T>& a) {
  const auto local = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a.local());
  const index_type cols = a.cols();
  // Row-major rows, so that each rank's part is one contiguous slice of the gathered buffer.
  std::vector<T> send(static_cast<std::size_t>(a.local_rows() * cols));
  for (index_type i = 0; i < a.local_rows(); ++i) {
    for (index_type j = 0; j < cols; ++j)
      send[static_cast<std::size_t>(i * cols + j)] = local(i, j);
  }
  std::vector<std::int64_t> counts(static_cast<std::size_t>(a.comm().size()));
  for (int q = 0; q < a.comm().size(); ++q) {
    counts[static_cast<std::size_t>(q)] = a.layout().local_rows(q) * cols;
  }
  std::vector<T> all(static_cast<std::size_t>(a.global_rows() * cols));
  a.comm().allgatherv_raw(send.data(), static_cast<std::int64_t>(send.size()), all.data(), counts,
                          strata::detail::mpi_type_tag<T>());
  HostMatrix<T> whole("strata::capi::gathered", static_cast<std::size_t>(a.global_rows()),
                      static_cast<std::size_t>(cols));
  for (index_type i = 0; i < a.global_rows(); ++i) {
    for (index_type j = 0; j < cols; ++j) whole(i, j) = all[static_cast<std::size_t>(i * cols + j)];
  }
  return whole;
}

#define STRATA_CAPI_SUPPORT_INSTANTIATE(T)                                                  \
  template Matrix<T> copy_in<T>(const T*, index_type, index_type, index_type, const char*); \
  template void check_out<T>(const T*, index_type, index_type, index_type, const char*);    \
  template void copy_out<T>(const ConstMatrix<T>&, T*, index_type);                         \
  template HostMatrix<T> gather_rows<T>(const DistMatrix<T>&);
STRATA_CAPI_SUPPORT_INSTANTIATE(float)
STRATA_CAPI_SUPPORT_INSTANTIATE(double)
#undef STRATA_CAPI_SUPPORT_INSTANTIATE

}  // namespace strata::capi::detail
