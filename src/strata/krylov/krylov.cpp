#include "strata/krylov/krylov.hpp"

#include <algorithm>

#include "strata/krylov/detail/common.hpp"

namespace strata::krylov {

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::converged:
      return "converged";
    case StopReason::max_iterations:
      return "max-iterations";
    case StopReason::stagnation:
      return "stagnation";
    case StopReason::indefinite:
      return "indefinite";
    case StopReason::preconditioner_indefinite:
      return "preconditioner-indefinite";
  }
  return "unknown";
}

const char* orthogonalization_name(Orthogonalization o) {
  return o == Orthogonalization::mgs ? "mgs" : "cgs2";
}

namespace detail {
void summarize(KrylovResult& result) {
  result.iterations = 0;
  result.converged = true;
  result.relative_residual = 0;
  for (const auto& c : result.columns) {
    result.iterations = std::max(result.iterations, c.iterations);
    result.converged = result.converged && c.converged;
    result.relative_residual = std::max(result.relative_residual, c.relative_residual);
  }
}
}  // namespace detail

}  // namespace strata::krylov
