// The filter grammar (go-bexpr's grammar.peg, read as a recursive descent
// parser that never backtracks more than a keyword). Internal to api/filter/.
#pragma once

#include <memory>
#include <string_view>

#include "api/filter/ast.h"
#include "core/result.h"

namespace cairn::filter {

// Parses a whole expression. The error detail is the bexpr-style text without
// Consul's prefix: "1:17 (16): no match found, expected: ..., found \"x\"".
Result<std::unique_ptr<Expression>> parse_expression(std::string_view text);

}  // namespace cairn::filter
