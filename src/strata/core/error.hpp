// Strata's exception hierarchy and argument checks.
//
// Every error says what was wrong and what was expected, in words a computational scientist can act
// on. Each exception carries a code (so that an error can be re-created on every MPI rank, see
// strata::collective in dist/collective.hpp) and the source location where it was raised.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace strata {

enum class ErrorCode : int {
  invalid_argument = 1,  ///< a value is out of range or inconsistent with the others
  shape_mismatch = 2,    ///< array extents do not fit together
  non_finite = 3,        ///< NaN or Inf where finite numbers are needed
  io = 4,                ///< a file or dataset is missing, unreadable or not writable
  unsupported = 5,       ///< valid request that this build or backend cannot do (e.g. a dtype)
  numerical = 6,         ///< an algorithm broke down (no convergence, singular matrix, ...)
  communication = 7,     ///< MPI failed or ranks disagree on a collective argument
  internal = 8,          ///< a bug in Strata or an unexpected exception
};

/// Short name of an error code ("invalid argument", ...).
const char* error_code_name(ErrorCode code);

/// Base class of every exception Strata throws.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, std::string where = {})
      : std::runtime_error(message), code_(code), where_(std::move(where)) {}
  ErrorCode code() const noexcept { return code_; }
  /// "file:line (function)" where the error was raised; empty if unknown.
  const std::string& where() const noexcept { return where_; }

 private:
  ErrorCode code_;
  std::string where_;
};

#define STRATA_DEFINE_ERROR(Name, Code)                               \
  class Name : public Error {                                         \
   public:                                                            \
    explicit Name(const std::string& message, std::string where = {}) \
        : Error(Code, message, std::move(where)) {}                   \
  };
STRATA_DEFINE_ERROR(InvalidArgument, ErrorCode::invalid_argument)
STRATA_DEFINE_ERROR(ShapeMismatch, ErrorCode::shape_mismatch)
STRATA_DEFINE_ERROR(NonFiniteInput, ErrorCode::non_finite)
STRATA_DEFINE_ERROR(IOError, ErrorCode::io)
STRATA_DEFINE_ERROR(Unsupported, ErrorCode::unsupported)
STRATA_DEFINE_ERROR(NumericalError, ErrorCode::numerical)
STRATA_DEFINE_ERROR(CommunicationError, ErrorCode::communication)
STRATA_DEFINE_ERROR(InternalError, ErrorCode::internal)
#undef STRATA_DEFINE_ERROR

/// Throws the exception class that belongs to `code`.
[[noreturn]] void throw_error(ErrorCode code, const std::string& message,
                              const std::string& where = {});

namespace detail {
std::string source_location(const char* file, int line, const char* function);

template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}
}  // namespace detail

}  // namespace strata

/// Throws strata::<Kind> (e.g. STRATA_THROW(InvalidArgument, "rank must be > 0, got ", r)).
#define STRATA_THROW(Kind, ...)                               \
  throw ::strata::Kind(::strata::detail::concat(__VA_ARGS__), \
                       ::strata::detail::source_location(__FILE__, __LINE__, __func__))

/// Checks a condition on the host and throws strata::<Kind> with the message when it fails.
#define STRATA_REQUIRE(condition, Kind, ...) \
  do {                                       \
    if (!(condition)) {                      \
      STRATA_THROW(Kind, __VA_ARGS__);       \
    }                                        \
  } while (false)
