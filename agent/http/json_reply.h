// JSON replies as Consul writes them: Content-Type application/json, indented
// when the request has ?pretty.
#pragma once

#include <nlohmann/json.hpp>

#include "core/http/message.h"

namespace cairn::agent::http {

inline cairn::http::Response json_reply(bool pretty, const nlohmann::json& body, int status = 200) {
  return cairn::http::Response::json(pretty ? body.dump(4) + "\n" : body.dump(), status);
}

inline cairn::http::Response json_reply(const cairn::http::Request& req, const nlohmann::json& body, int status = 200) {
  return json_reply(req.query.has("pretty"), body, status);
}

}  // namespace cairn::agent::http
