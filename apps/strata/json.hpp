// A minimal JSON writer for the CLI's --json summaries (one object, printed by rank 0).
#pragma once

#include <cmath>
#include <cstdio>
#include <sstream>
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
  /// JSON has no NaN/Inf: they become null.
  static std::string number(double v) {
    if (!std::isfinite(v)) return "null";
    std::ostringstream out;
    out.precision(17);
    out << v;
    return out.str();
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
