// Consul's `?filter=` expressions (hashicorp/go-bexpr) over JSON documents.
//
// An endpoint that honours `?filter=` calls apply_filter() on the array (or
// the map, as /v1/agent/services answers) it is about to return; each element
// is kept when the expression is true for it. Grammar, semantics and where we
// depart from bexpr: api/filter/README.md.
//
// Pure: no I/O, threads or clocks. A parsed Filter is immutable, so one
// instance may be evaluated from several threads at once.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/result.h"

namespace cairn::filter {

// Input limits; going over either is an invalid_argument error, never a crash.
inline constexpr std::size_t kMaxExpressionBytes = 8 * 1024;
inline constexpr int kMaxNestingDepth = 64;  // parentheses plus `not`s

struct Expression;  // the parsed tree (api/filter/ast.h)

class Filter {
 public:
  // Parses `expr`. Errors (errc::invalid_argument) read as Consul answers them:
  // "Failed to create boolean expression evaluator: 1:17 (16): ..." with a
  // 1-based line:column and the 0-based byte offset of the offending text.
  static Result<Filter> parse(std::string_view expr);

  // True when the expression holds for `doc` (one element of a result list).
  bool matches(const nlohmann::json& doc) const;

 private:
  explicit Filter(std::shared_ptr<const Expression> root) : root_(std::move(root)) {}
  std::shared_ptr<const Expression> root_;
};

// Keeps the elements of an array, or the members of an object whose value
// matches (keys are kept with their values). An empty `expr` keeps
// everything, as Consul does when `?filter=` is absent or empty. Any other
// JSON type is an invalid_argument error.
Result<nlohmann::json> apply_filter(std::string_view expr, nlohmann::json list_or_map);

}  // namespace cairn::filter
