#include "strata/dist/collective.hpp"

#include <new>

namespace strata {

namespace {
void describe(std::exception_ptr error, ErrorCode& code, std::string& message) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    code = e.code();
    message = e.what();
  } catch (const std::bad_alloc&) {
    code = ErrorCode::internal;
    message = "out of memory (std::bad_alloc)";
  } catch (const std::exception& e) {
    code = ErrorCode::internal;
    message = e.what();
  } catch (...) {
    code = ErrorCode::internal;
    message = "unknown exception";
  }
}
}  // namespace

void agree_on_error(const Comm& comm, std::exception_ptr local_error) {
  if (comm.size() == 1) {
    if (!local_error) return;
    ErrorCode code = ErrorCode::internal;
    std::string message;
    describe(local_error, code, message);
    try {
      std::rethrow_exception(local_error);
    } catch (const Error&) {
      throw;  // already a Strata error: keep it as it is
    } catch (...) {
      throw_error(code, message);
    }
  }
  const int failed = local_error ? 1 : 0;
  const int first_failed = comm.allreduce(failed ? comm.rank() : comm.size(), ReduceOp::min);
  if (first_failed == comm.size()) return;
  const int failures = comm.allreduce(failed, ReduceOp::sum);

  ErrorCode code = ErrorCode::internal;
  std::string message;
  if (comm.rank() == first_failed) describe(local_error, code, message);
  int code_value = comm.rank() == first_failed ? static_cast<int>(code) : 0;
  code_value = comm.allreduce(code_value, ReduceOp::max);  // only the first failing rank's is > 0
  message = comm.broadcast(message, first_failed);
  std::string text = "rank " + std::to_string(first_failed) + ": " + message;
  if (failures > 1) {
    text += " (" + std::to_string(failures - 1) + " other rank" + (failures > 2 ? "s" : "") +
            " failed too)";
  }
  throw_error(static_cast<ErrorCode>(code_value), text);
}

}  // namespace strata
