// JSON string escaping without pulling nlohmann/json into a translation unit.
#pragma once

#include <string>
#include <string_view>

namespace cairn {

// Escapes s for use inside a JSON string literal (no surrounding quotes).
std::string json_escape(std::string_view s);

}  // namespace cairn
