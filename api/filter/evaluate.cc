#include "api/filter/evaluate.h"

#include <nlohmann/json.hpp>

#include "api/filter/filter.h"
#include "api/filter/literals.h"
#include "api/filter/pattern.h"

namespace cairn::filter {
namespace {

using nlohmann::json;

// A missing field (or null, what Go's nil pointers, slices and maps encode
// to) holds nothing: it equals nothing, contains nothing, matches nothing and
// is empty. The negated operators answer the opposite, as bexpr does for a
// map key that is not there.
bool on_missing(MatchOp op) {
  switch (op) {
    case MatchOp::not_equal:
    case MatchOp::not_in:
    case MatchOp::not_matches:
    case MatchOp::is_empty:
      return true;
    default:
      return false;
  }
}

// `==` with the raw value converted to the field's type (bexpr's
// getMatchExprValue). A value that does not convert equals nothing.
bool equals(const json& field, const std::string& raw) {
  switch (field.type()) {
    case json::value_t::string:
      return field.get_ref<const std::string&>() == raw;
    case json::value_t::boolean: {
      auto b = parse_go_bool(raw);
      return b && *b == field.get<bool>();
    }
    case json::value_t::number_unsigned: {
      auto v = parse_go_int(raw);
      return v && (!v->negative || v->magnitude == 0) && v->magnitude == field.get<std::uint64_t>();
    }
    case json::value_t::number_integer: {
      auto v = parse_go_int(raw);
      if (!v) return false;
      const std::int64_t f = field.get<std::int64_t>();
      if (f < 0) return v->negative && v->magnitude == 0 - static_cast<std::uint64_t>(f);
      return (!v->negative || v->magnitude == 0) && v->magnitude == static_cast<std::uint64_t>(f);
    }
    case json::value_t::number_float: {
      auto v = parse_go_float(raw);
      return v && *v == field.get<double>();
    }
    default:
      return false;  // arrays and objects are never equal to a value
  }
}

// `in` / `contains`: substring of a string, element of an array (each element
// compared as `==` would), key of an object.
bool contains(const json& field, const std::string& raw) {
  switch (field.type()) {
    case json::value_t::string:
      return field.get_ref<const std::string&>().find(raw) != std::string::npos;
    case json::value_t::array:
      for (const auto& element : field) {
        if (equals(element, raw)) return true;
      }
      return false;
    case json::value_t::object:
      return field.contains(raw);
    default:
      return false;
  }
}

bool is_empty(const json& field) {
  switch (field.type()) {
    case json::value_t::string:
      return field.get_ref<const std::string&>().empty();
    case json::value_t::array:
    case json::value_t::object:
      return field.empty();
    default:
      return false;  // numbers and booleans have no length
  }
}

bool apply(const Match& m, const json& field) {
  if (field.is_null()) return on_missing(m.op);
  switch (m.op) {
    case MatchOp::equal: return equals(field, m.value);
    case MatchOp::not_equal: return !equals(field, m.value);
    case MatchOp::in: return contains(field, m.value);
    case MatchOp::not_in: return !contains(field, m.value);
    case MatchOp::is_empty: return is_empty(field);
    case MatchOp::is_not_empty: return !is_empty(field);
    case MatchOp::matches:
    case MatchOp::not_matches: {
      const bool found = field.is_string() && m.regex &&
                         pattern_found(*m.regex, field.get_ref<const std::string&>());
      return (m.op == MatchOp::matches) == found;
    }
  }
  return false;
}

// Walks the selector. An array met before the selector's end stands for
// each of its elements and the match holds when it holds for any one
// (bexpr: "operations on slices are implicitly ANY"): `Checks.Status ==
// "critical"` asks whether some check is critical. Arrays nested in arrays
// are searched the same way, down to kMaxNestingDepth levels: documents can
// carry user JSON (a proxy's Config), and the walk must not recurse without
// bound.
bool match_at(const Match& m, const json& value, std::size_t depth, int array_levels) {
  if (depth == m.selector.size()) return apply(m, value);
  if (value.is_object()) {
    auto it = value.find(m.selector[depth]);
    if (it == value.end()) return on_missing(m.op);
    return match_at(m, *it, depth + 1, 0);
  }
  if (value.is_array()) {
    if (array_levels >= kMaxNestingDepth) return false;
    for (const auto& element : value) {
      if (match_at(m, element, depth, array_levels + 1)) return true;
    }
    return false;
  }
  return on_missing(m.op);
}

}  // namespace

bool evaluate(const Expression& expr, const json& doc) {
  switch (expr.kind) {
    case Expression::Kind::match:
      return match_at(expr.match, doc, 0, 0);
    case Expression::Kind::all_of:
      for (const auto& operand : expr.operands) {
        if (!evaluate(*operand, doc)) return false;
      }
      return true;
    case Expression::Kind::any_of:
      for (const auto& operand : expr.operands) {
        if (evaluate(*operand, doc)) return true;
      }
      return false;
    case Expression::Kind::negation:
      return !evaluate(*expr.operands.front(), doc);
  }
  return false;
}

}  // namespace cairn::filter
