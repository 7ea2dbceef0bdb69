#include "cli.hpp"

#include <cstdio>
#include <limits>

namespace strata::cli {

Args::Args(std::vector<std::string> tokens)
    : tokens_(std::move(tokens)), used_(tokens_.size(), false) {
  // Kokkos' own flags (--kokkos-...) are Kokkos' business.
  for (std::size_t i = 0; i < tokens_.size(); ++i) used_[i] = tokens_[i].rfind("--kokkos-", 0) == 0;
}

bool Args::flag(const std::string& name) {
  bool found = false;
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (!used_[i] && tokens_[i] == name) {
      used_[i] = true;
      found = true;
    } else if (!used_[i] && tokens_[i].rfind(name + "=", 0) == 0) {
      throw UsageError("option '" + name + "' takes no value");
    }
  }
  return found;
}

std::optional<std::string> Args::value(const std::string& name) {
  std::optional<std::string> result;
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (used_[i]) continue;
    if (tokens_[i] == name) {
      if (i + 1 >= tokens_.size()) throw UsageError("option '" + name + "' needs a value");
      used_[i] = used_[i + 1] = true;
      result = tokens_[i + 1];
      ++i;
    } else if (tokens_[i].rfind(name + "=", 0) == 0) {
      used_[i] = true;
      result = tokens_[i].substr(name.size() + 1);
    }
  }
  return result;
}

std::int64_t Args::integer(const std::string& name, std::int64_t fallback, std::int64_t min_value,
                           std::int64_t max_value) {
  const auto text = value(name);
  if (!text) return fallback;
  std::size_t end = 0;
  long long parsed = 0;
  try {
    parsed = std::stoll(*text, &end);
  } catch (const std::exception&) {
    end = 0;
  }
  if (end != text->size() || text->empty()) {
    throw UsageError("option '" + name + "' expects an integer, got '" + *text + "'");
  }
  if (parsed < min_value || parsed > max_value) {
    throw UsageError("option '" + name + "' must be in [" + std::to_string(min_value) + ", " +
                     std::to_string(max_value) + "], got " + *text);
  }
  return parsed;
}

std::uint64_t Args::unsigned_integer(const std::string& name, std::uint64_t fallback) {
  const auto text = value(name);
  if (!text) return fallback;
  std::size_t end = 0;
  unsigned long long parsed = 0;
  try {
    parsed = std::stoull(*text, &end);
  } catch (const std::exception&) {
    end = 0;
  }
  if (end != text->size() || text->empty() || (*text)[0] == '-') {
    throw UsageError("option '" + name + "' expects a non-negative integer, got '" + *text + "'");
  }
  return parsed;
}

std::optional<std::string> Args::positional() {
  if (tokens_.empty() || used_[0] || tokens_[0].rfind("-", 0) == 0) return std::nullopt;
  used_[0] = true;
  return tokens_[0];
}

bool Args::has(const std::string& name) const {
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (!used_[i] && (tokens_[i] == name || tokens_[i].rfind(name + "=", 0) == 0)) return true;
  }
  return false;
}

void Args::finish() const {
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (!used_[i]) {
      const auto& t = tokens_[i];
      throw UsageError(t.rfind("-", 0) == 0 ? "unknown option '" + t + "'"
                                            : "unexpected argument '" + t + "'");
    }
  }
}

void Context::print(const std::string& text) const {
  if (comm.rank() == 0) {
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
  }
}

}  // namespace strata::cli
