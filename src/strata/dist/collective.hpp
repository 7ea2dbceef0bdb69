// Error agreement for collective algorithms: a failure on one rank becomes the same exception on
// every rank, so that no rank is left waiting in a collective call that the failed rank never
// enters.
//
// Pattern: do each phase's local work (argument checks, allocation, local kernels, file access)
// inside collective(comm, ...) and the communication after it. All ranks must call collective().
#pragma once

#include <exception>
#include <type_traits>
#include <utility>

#include "strata/dist/comm.hpp"

namespace strata {

/// Collective over `comm`. If `local_error` is set on any rank, throws on every rank an exception
/// of the class of the lowest failing rank's error, with its message prefixed by "rank R: " (and
/// the number of other failing ranks appended). A single-rank communicator rethrows a Strata error
/// unchanged. Exceptions that are not Strata errors become InternalError (std::bad_alloc: "out of
/// memory") on any number of ranks.
/// Cost: one allreduce of an int when nothing failed.
void agree_on_error(const Comm& comm, std::exception_ptr local_error);

/// Runs `f()` on every rank and agrees on failure (see agree_on_error); returns f's result.
template <class F>
auto collective(const Comm& comm, F&& f) -> decltype(f()) {
  using R = decltype(f());
  std::exception_ptr error;
  if constexpr (std::is_void_v<R>) {
    try {
      std::forward<F>(f)();
    } catch (...) {
      error = std::current_exception();
    }
    agree_on_error(comm, error);
  } else {
    static_assert(std::is_default_constructible_v<R>,
                  "collective(): the result type must be default-constructible");
    R result{};
    try {
      result = std::forward<F>(f)();
    } catch (...) {
      error = std::current_exception();
    }
    agree_on_error(comm, error);
    return result;
  }
}

}  // namespace strata
