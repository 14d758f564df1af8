#include "api/filter/pattern.h"

#include <optional>

namespace cairn::filter {
namespace {

// What Go's regexp would refuse or what could hurt us: std::regex's compiler
// recurses once per nested group, so deep nesting is refused before it can
// exhaust the stack; back-references do not exist in Go (RE2) and would force
// the backtracking executor.
std::optional<std::string> refuse(std::string_view p) {
  int depth = 0;
  bool in_class = false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\') {
      if (!in_class && i + 1 < p.size() && p[i + 1] >= '1' && p[i + 1] <= '9') {
        return "back-references such as \\" + std::string(1, p[i + 1]) + " are not supported";
      }
      ++i;
    } else if (in_class) {
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
    } else if (c == '(') {
      if (++depth > kMaxRegexGroupDepth) {
        return "groups nest deeper than " + std::to_string(kMaxRegexGroupDepth) + " levels";
      }
    } else if (c == ')') {
      --depth;
    }
  }
  return std::nullopt;
}

}  // namespace

std::variant<std::regex, std::string> compile_pattern(std::string_view pattern) {
  auto flags = std::regex::ECMAScript | std::regex_constants::__polynomial;
  if (pattern.substr(0, 4) == "(?i)") {
    flags |= std::regex::icase;
    pattern.remove_prefix(4);
  }
  if (auto why = refuse(pattern)) return *why;
  try {
    // Compile the pattern alone first so that text such as "a)(b" is refused
    // rather than silently balanced by the wrapper below.
    std::regex alone(pattern.begin(), pattern.end(), flags);
    // Searching is a whole-string match of [\s\S]*(?:p)[\s\S]*: the polynomial
    // executor then reads the subject once instead of once per start
    // position. ^ and $ still assert the ends of the subject.
    std::string wrapped = "[\\s\\S]*(?:";
    wrapped.append(pattern);
    wrapped.append(")[\\s\\S]*");
    return std::regex(wrapped, flags);
  } catch (const std::regex_error& e) {
    return std::string(e.what());
  }
}

bool pattern_found(const std::regex& re, const std::string& subject) {
  return std::regex_match(subject, re);
}

}  // namespace cairn::filter
