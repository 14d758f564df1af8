#include "api/filter/filter.h"

#include <nlohmann/json.hpp>

#include "api/filter/evaluate.h"
#include "api/filter/parser.h"

namespace cairn::filter {

namespace {
// Consul's wording for a filter that does not parse (agent/consul, via bexpr).
constexpr std::string_view kPrefix = "Failed to create boolean expression evaluator: ";
}  // namespace

Result<Filter> Filter::parse(std::string_view expr) {
  if (expr.size() > kMaxExpressionBytes) {
    return Error(errc::invalid_argument,
                 std::string(kPrefix) + "expression is " + std::to_string(expr.size()) +
                     " bytes, over the limit of " + std::to_string(kMaxExpressionBytes));
  }
  auto parsed = parse_expression(expr);
  if (!parsed.ok()) {
    return Error(errc::invalid_argument, std::string(kPrefix) + parsed.error().detail());
  }
  return Filter(std::shared_ptr<const Expression>(std::move(parsed).value()));
}

bool Filter::matches(const nlohmann::json& doc) const { return evaluate(*root_, doc); }

Result<nlohmann::json> apply_filter(std::string_view expr, nlohmann::json list_or_map) {
  if (expr.empty()) return list_or_map;
  if (!list_or_map.is_array() && !list_or_map.is_object()) {
    return Error(errc::invalid_argument,
                 std::string("filter applies to a list or a map, not a ") + list_or_map.type_name());
  }
  CAIRN_TRY(Filter filter, Filter::parse(expr));
  if (list_or_map.is_array()) {
    nlohmann::json kept = nlohmann::json::array();
    for (auto& element : list_or_map) {
      if (filter.matches(element)) kept.push_back(std::move(element));
    }
    return kept;
  }
  nlohmann::json kept = nlohmann::json::object();
  for (auto it = list_or_map.begin(); it != list_or_map.end(); ++it) {
    if (filter.matches(it.value())) kept[it.key()] = std::move(it.value());
  }
  return kept;
}

}  // namespace cairn::filter
