// URL pieces: percent-decoding and query strings, with the leniencies real
// Consul clients need (DESIGN.md compatibility contract).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace cairn::http {

// Decodes %XX escapes. In a query component ('+' as space) when `plus_is_space`.
// A malformed escape ("%4", "%zz") is an error naming the text.
Result<std::string> percent_decode(std::string_view in, bool plus_is_space = false);

// Encodes everything but unreserved characters (RFC 3986 §2.3); keeps '/' when asked.
std::string percent_encode(std::string_view in, bool keep_slash = false);

// Go's strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False.
std::optional<bool> parse_go_bool(std::string_view text);

// The query string, keeping repeated keys in order and presence-only flags
// (`?recurse` has value "" and is present).
class Query {
 public:
  static Result<Query> parse(std::string_view raw);

  bool has(std::string_view key) const;
  // First value, or nullopt when the key is absent.
  std::optional<std::string> get(std::string_view key) const;
  std::vector<std::string> get_all(std::string_view key) const;
  // A flag as Consul reads it: present with an empty value is true; otherwise
  // the value is parsed as a Go boolean. Absent → fallback. A value that is not
  // a boolean is an error naming the parameter.
  Result<bool> flag(std::string_view key, bool fallback = false) const;

  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }
  void add(std::string key, std::string value) { items_.emplace_back(std::move(key), std::move(value)); }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

}  // namespace cairn::http
