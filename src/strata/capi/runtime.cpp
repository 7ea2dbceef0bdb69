// Initialization, finalization and errors of the C interface.
#include <memory>

#include "strata/capi/detail/support.hpp"
#include "strata/capi/strata.h"
#include "strata/core/runtime.hpp"

namespace {
std::unique_ptr<strata::ScopeGuard> guard;
int no_argc = 0;
char* no_arguments[1] = {nullptr};
}  // namespace

using strata::capi::detail::guarded;

extern "C" {

int strata_initialize(int* argc, char*** argv) {
  return guarded(
      "strata_initialize",
      [&] {
        STRATA_REQUIRE(guard == nullptr, InvalidArgument,
                       "Strata is already initialized (call strata_initialize once per process)");
        STRATA_REQUIRE((argc == nullptr) == (argv == nullptr), InvalidArgument,
                       "argc and argv must both be given or both be NULL");
        char** empty = no_arguments;
        int& count = argc != nullptr ? *argc : no_argc;
        char**& arguments = argv != nullptr ? *argv : empty;
        guard = std::make_unique<strata::ScopeGuard>(count, arguments);
      },
      false);
}

int strata_finalize(void) {
  if (guard == nullptr) {
    strata::capi::detail::set_last_error(
        "strata_finalize: Strata was not initialized by strata_initialize");
    return STRATA_ERROR_NOT_INITIALIZED;
  }
  guard.reset();
  strata::capi::detail::set_last_error({});
  return STRATA_SUCCESS;
}

const char* strata_last_error(void) {
  return strata::capi::detail::last_error_message();
}

const char* strata_error_name(int code) {
  switch (code) {
    case STRATA_SUCCESS:
      return "success";
    case STRATA_ERROR_INVALID_ARGUMENT:
    case STRATA_ERROR_SHAPE_MISMATCH:
    case STRATA_ERROR_NON_FINITE:
    case STRATA_ERROR_IO:
    case STRATA_ERROR_UNSUPPORTED:
    case STRATA_ERROR_NUMERICAL:
    case STRATA_ERROR_COMMUNICATION:
    case STRATA_ERROR_INTERNAL:
      return strata::error_code_name(static_cast<strata::ErrorCode>(code));
    case STRATA_ERROR_OUT_OF_MEMORY:
      return "out of memory";
    case STRATA_ERROR_CALLBACK:
      return "callback failed";
    case STRATA_ERROR_NOT_INITIALIZED:
      return "not initialized";
    default:
      return "unknown error code";
  }
}

int strata_have_mpi(void) {
  return STRATA_CAPI_HAVE_MPI;
}

}  // extern "C"
