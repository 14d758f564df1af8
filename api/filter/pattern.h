// Regular expressions for `matches`: compiled once at parse time with
// std::regex (ECMAScript) in libstdc++'s polynomial mode, so matching neither
// backtracks exponentially nor recurses once per input character. Internal
// to api/filter/.
#pragma once

#include <regex>
#include <string>
#include <string_view>
#include <variant>

namespace cairn::filter {

inline constexpr int kMaxRegexGroupDepth = 64;

// The compiled pattern, or why it does not compile. A leading "(?i)" (Go's
// case-insensitive flag, common in Consul filters) becomes std::regex::icase.
std::variant<std::regex, std::string> compile_pattern(std::string_view pattern);

// Unanchored search, as Go's regexp.MatchString.
bool pattern_found(const std::regex& re, const std::string& subject);

}  // namespace cairn::filter
