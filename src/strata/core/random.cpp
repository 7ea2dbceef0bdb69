#include "strata/core/random.hpp"

namespace strata {

const char* distribution_name(Distribution d) {
  switch (d) {
    case Distribution::gaussian:
      return "gaussian";
    case Distribution::rademacher:
      return "rademacher";
  }
  return "unknown";
}

Distribution parse_distribution(const std::string& name) {
  if (name == "gaussian") return Distribution::gaussian;
  if (name == "rademacher") return Distribution::rademacher;
  STRATA_THROW(InvalidArgument, "unknown distribution '", name,
               "'; expected 'gaussian' or 'rademacher'");
}

}  // namespace strata
