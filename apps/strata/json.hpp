// A minimal JSON writer for the CLI's --json summaries (one object, printed by rank 0).
#pragma once

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <type_traits>
#include <vector>

namespace strata::cli {

class Json {
 public:
  static Json object() { return Json("{", "}"); }
  static Json array() { return Json("[", "]"); }

  Json& add(const std::string& key, const std::string& value) { return raw(key, quote(value)); }
  Json& add(const std::string& key, const char* value) { return raw(key, quote(value)); }
  Json& add(const std::string& key, bool value) { return raw(key, value ? "true" : "false"); }
  Json& add(const std::string& key, int value) { return raw(key, std::to_string(value)); }
  Json& add(const std::string& key, long value) { return raw(key, std::to_string(value)); }
  Json& add(const std::string& key, long long value) { return raw(key, std::to_string(value)); }
  Json& add(const std::string& key, double value) { return raw(key, number(value)); }
  Json& add(const std::string& key, const Json& value) { return raw(key, value.str()); }
  Json& add(const std::string& key, const std::vector<std::string>& values) {
    Json list = array();
    for (const auto& v : values) list.push(quote(v));
    return raw(key, list.str());
  }
  /// An array of numbers.
  template <class Number, class = std::enable_if_t<std::is_arithmetic_v<Number>>>
  Json& add(const std::string& key, const std::vector<Number>& values) {
    Json list = array();
    for (const auto v : values) list.push_number(static_cast<double>(v));
    return raw(key, list.str());
  }
  /// Appends an element to an array.
  Json& push(const Json& value) { return push(value.str()); }
  /// Appends a number to an array (integers print without a fraction).
  Json& push_number(double value) { return push(number(value)); }

  std::string str() const { return open_ + body_ + close_; }

  static std::string quote(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\r':
          out += "\\r";
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
            out += buffer;
          } else {
            out += c;
          }
      }
    }
    return out + "\"";
  }
  /// The shortest text that reads back as exactly `v` (std::to_chars), so 0.1 prints as 0.1, not
  /// 0.10000000000000001. Integral values below 2^53 print as integers (1000000, not 1e+06), as
  /// JSON readers expect for counts. JSON has no NaN/Inf: they become null.
  static std::string number(double v) {
    if (!std::isfinite(v)) return "null";
    char buffer[32];
    constexpr double exact_integers = 9007199254740992.0;  // 2^53
    const auto [end, error] =
        std::trunc(v) == v && std::fabs(v) < exact_integers && !(v == 0 && std::signbit(v))
            ? std::to_chars(buffer, buffer + sizeof buffer, static_cast<long long>(v))
            : std::to_chars(buffer, buffer + sizeof buffer, v);
    (void)error;  // 32 characters hold any double ("-2.2250738585072014e-308" is 24)
    return std::string(buffer, end);
  }

 private:
  Json(const char* open, const char* close) : open_(open), close_(close) {}
  Json& raw(const std::string& key, const std::string& value) {
    body_ += (body_.empty() ? "" : ", ") + quote(key) + ": " + value;
    return *this;
  }
  Json& push(const std::string& value) {
    body_ += (body_.empty() ? "" : ", ") + value;
    return *this;
  }
  std::string open_, close_, body_;
};

}  // namespace strata::cli
