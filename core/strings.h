// Small string helpers several components need.
#pragma once

#include <algorithm>
#include <cctype>
#include <string_view>

namespace cairn {

// ASCII case-insensitive equality (Go's strings.EqualFold for ASCII): JSON
// field names, HTTP header names, Consul's case-insensitive tags.
inline bool equal_fold(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The value of a hexadecimal digit, or -1 (percent-escapes, Go string escapes).
inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace cairn
