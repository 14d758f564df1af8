// Evaluation of a parsed expression against one JSON document. Internal to
// api/filter/ (the public entry points are in filter.h).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "api/filter/ast.h"

namespace cairn::filter {

bool evaluate(const Expression& expr, const nlohmann::json& doc);

}  // namespace cairn::filter
