// Internal to api/config_entry*.cc: small readers of canonical entry JSON
// shared by the per-kind rules (config_entry.cc) and the rules across
// entries (config_entry_graph.cc).
#pragma once

#include <cctype>
#include <string>
#include <string_view>

#include "api/json_detail.h"

namespace cairn::api::config_entry_detail {

using detail::Json;

inline std::string str(const Json& j, std::string_view field) {
  auto it = j.find(std::string(field));
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

inline const Json& sub(const Json& j, std::string_view field) {
  static const Json kEmpty = Json::object();
  auto it = j.find(std::string(field));
  return it != j.end() ? *it : kEmpty;
}

inline Error invalid(std::string why) { return Error(errc::invalid_argument, std::move(why)); }

inline std::string go_quote(std::string_view s) { return Json(std::string(s)).dump(); }

inline bool routes_l7(std::string_view p) { return p == "http" || p == "http2" || p == "grpc"; }

inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace cairn::api::config_entry_detail
