// The parsed form of a filter expression. Internal to api/filter/: the parser
// builds it, the evaluator walks it. Immutable once built.
#pragma once

#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace cairn::filter {

enum class MatchOp {
  equal,         // Sel == Val
  not_equal,     // Sel != Val
  in,            // Val in Sel, Sel contains Val
  not_in,        // Val not in Sel, Sel not contains Val
  is_empty,      // Sel is empty
  is_not_empty,  // Sel is not empty
  matches,       // Sel matches Val
  not_matches,   // Sel not matches Val
};

struct Match {
  std::vector<std::string> selector;  // path segments: Service.Meta["env"] -> Service, Meta, env
  MatchOp op = MatchOp::equal;
  std::string value;                  // bexpr's "raw" value; converted to the field's type when evaluated
  std::optional<std::regex> regex;    // compiled at parse time for matches / not matches
};

struct Expression {
  enum class Kind { match, all_of, any_of, negation };
  Kind kind = Kind::match;
  Match match;                                        // kind == match
  std::vector<std::unique_ptr<Expression>> operands;  // all_of / any_of: 2+, negation: 1
};

}  // namespace cairn::filter
