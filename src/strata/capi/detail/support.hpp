// What every C interface function shares: the exception barrier (errors to codes and the
// thread-local message), communicators from Fortran handles, and copies between the caller's
// column-major host arrays and Kokkos views.
#pragma once

#include <string>
#include <type_traits>

#include "strata/capi/strata.h"
#include "strata/core/error.hpp"
#include "strata/core/types.hpp"
#include "strata/dist/block_row_layout.hpp"
#include "strata/dist/comm.hpp"
#include "strata/dist/dist_matrix.hpp"

namespace strata::capi::detail {

/// This thread's last-error message.
const char* last_error_message();
/// Sets this thread's last-error message.
void set_last_error(std::string message);
/// Marks that a user callback failed (the call then returns STRATA_ERROR_CALLBACK).
void mark_callback_failed();
/// Whether a callback failed on this rank during the current call.
bool callback_failed();
/// After a collective call failed on every rank: marks the callback failure on every rank if it
/// happened on any. Collective.
void agree_on_callback_failure(const Comm& comm);

/// Runs `f` and turns whatever it throws into an error code and this thread's last-error message
/// ("<function>: <what went wrong>"). Returns STRATA_SUCCESS when f returns normally. Checks first
/// that Kokkos is initialized (unless `require_initialized` is false).
int guarded_impl(const char* function, bool require_initialized, void (*thunk)(void*),
                 void* f) noexcept;

template <class F>
int guarded(const char* function, F&& f, bool require_initialized = true) noexcept {
  return guarded_impl(
      function, require_initialized,
      [](void* p) { (*static_cast<std::remove_reference_t<F>*>(p))(); }, static_cast<void*>(&f));
}

/// Throws ShapeMismatch on every rank unless every rank passes the same `value`. Collective.
void require_same(const Comm& comm, index_type value, const char* what);

/// The whole matrix (global_rows x cols) from every rank's block, on every rank. Collective.
template <class T>
HostMatrix<T> gather_rows(const DistMatrix<T>& a);

/// A duplicate of the caller's communicator given by its Fortran handle (the single-process
/// communicator in a build without MPI, whatever `fortran_handle` is). Collective.
Comm make_comm(strata_fint fortran_handle);

/// The caller's block-row layout from every rank's local_rows. Collective; InvalidArgument (on
/// every rank) when some rank passes a negative count.
BlockRowLayout user_layout(const Comm& comm, index_type local_rows);

/// Throws InvalidArgument when `pointer` is null although `needed`.
void require_pointer(const void* pointer, bool needed, const char* what);

/// A rows x cols device copy of the column-major host array `a` (leading dimension ld). Checks
/// rows, cols >= 0, a non-null when rows * cols > 0 and ld >= max(1, rows).
template <class T>
Matrix<T> copy_in(const T* a, index_type rows, index_type cols, index_type ld, const char* what);

/// Checks that `out` can receive a rows x cols matrix with leading dimension ld (as copy_in).
template <class T>
void check_out(const T* out, index_type rows, index_type cols, index_type ld, const char* what);

/// Copies the device matrix `m` to the column-major host array `out` (leading dimension ld,
/// checked by check_out before the computation).
template <class T>
void copy_out(const ConstMatrix<T>& m, T* out, index_type ld);

}  // namespace strata::capi::detail
