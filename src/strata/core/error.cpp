#include "strata/core/error.hpp"

namespace strata {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
      return "invalid argument";
    case ErrorCode::shape_mismatch:
      return "shape mismatch";
    case ErrorCode::non_finite:
      return "non-finite input";
    case ErrorCode::io:
      return "I/O error";
    case ErrorCode::unsupported:
      return "unsupported";
    case ErrorCode::numerical:
      return "numerical failure";
    case ErrorCode::communication:
      return "communication error";
    case ErrorCode::internal:
      return "internal error";
  }
  return "unknown error";
}

void throw_error(ErrorCode code, const std::string& message, const std::string& where) {
  switch (code) {
    case ErrorCode::invalid_argument:
      throw InvalidArgument(message, where);
    case ErrorCode::shape_mismatch:
      throw ShapeMismatch(message, where);
    case ErrorCode::non_finite:
      throw NonFiniteInput(message, where);
    case ErrorCode::io:
      throw IOError(message, where);
    case ErrorCode::unsupported:
      throw Unsupported(message, where);
    case ErrorCode::numerical:
      throw NumericalError(message, where);
    case ErrorCode::communication:
      throw CommunicationError(message, where);
    case ErrorCode::internal:
      break;
  }
  throw InternalError(message, where);
}

namespace detail {
std::string source_location(const char* file, int line, const char* function) {
  std::string path(file);
  // Keep the path from "strata/" on, so locations read the same on every machine.
  const auto pos = path.rfind("strata/");
  if (pos != std::string::npos) path = path.substr(pos);
  return path + ":" + std::to_string(line) + " (" + function + ")";
}
}  // namespace detail

}  // namespace strata
