#include "cli.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include <unistd.h>

namespace strata::cli {

Args::Args(std::vector<std::string> tokens)
    : tokens_(std::move(tokens)), used_(tokens_.size(), false) {
  // Kokkos' own flags (--kokkos-...) are Kokkos' business.
  for (std::size_t i = 0; i < tokens_.size(); ++i) used_[i] = tokens_[i].rfind("--kokkos-", 0) == 0;
}

namespace {

[[noreturn]] void repeated(const std::string& name) {
  throw UsageError("option '" + name + "' is given more than once; give it once");
}

}  // namespace

bool Args::flag(const std::string& name) {
  bool found = false;
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (!used_[i] && tokens_[i] == name) {
      if (found) repeated(name);
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
      if (result) repeated(name);
      used_[i] = used_[i + 1] = true;
      result = tokens_[i + 1];
      ++i;
    } else if (tokens_[i].rfind(name + "=", 0) == 0) {
      if (result) repeated(name);
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

double Args::real(const std::string& name, double fallback, double min_value, double max_value) {
  const auto text = value(name);
  if (!text) return fallback;
  std::size_t end = 0;
  double parsed = 0;
  try {
    parsed = std::stod(*text, &end);
  } catch (const std::out_of_range&) {
    throw UsageError("option '" + name + "' is out of the range of a double, got '" + *text + "'");
  } catch (const std::exception&) {
    end = 0;
  }
  if (end != text->size() || text->empty() || !std::isfinite(parsed)) {
    throw UsageError("option '" + name + "' expects a finite number, got '" + *text + "'");
  }
  if (parsed < min_value || parsed > max_value) {
    std::ostringstream range;
    range << "option '" << name << "' must be ";
    if (min_value > -std::numeric_limits<double>::max() &&
        max_value < std::numeric_limits<double>::max()) {
      range << "in [" << min_value << ", " << max_value << "]";
    } else if (min_value > -std::numeric_limits<double>::max()) {
      range << ">= " << min_value;
    } else {
      range << "<= " << max_value;
    }
    range << ", got " << *text;
    throw UsageError(range.str());
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

void Context::warn(const std::string& message) const {
  if (comm.rank() == 0) {
    std::fprintf(stderr, "strata %s: warning: %s\n", command.c_str(), message.c_str());
    std::fflush(stderr);
  }
}

int Context::inaccurate(const std::string& message) const {
  warn(message);
  return exit_inaccurate;
}

namespace {

/// Bytes this process can allocate: MemAvailable (Linux), else the physical memory; 0 if unknown.
double available_memory() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024.0;
  }
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0.0;
}

std::string gigabytes(double bytes) {
  std::ostringstream out;
  out.precision(3);
  out << bytes / 1e9 << " GB";
  return out.str();
}

}  // namespace

void require_memory(double bytes, const std::string& option) {
  const double available = available_memory();
  if (available > 0 && bytes > available) {
    throw UsageError(option + " needs at least " + gigabytes(bytes) + " of memory, and " +
                     gigabytes(available) + " are available");
  }
}

}  // namespace strata::cli
