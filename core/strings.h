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

}  // namespace cairn
