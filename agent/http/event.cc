// User events: PUT /v1/event/fire/<name> (?node, ?service, ?tag filters; the
// body is the payload) and GET /v1/event/list (?name; blocking on ?index).
#include <regex>

#include "agent/http/blocking.h"
#include "agent/http/endpoints.h"
#include "agent/http/json_reply.h"
#include "agent/http/query_options.h"
#include "agent/user_events.h"
#include "agent/uuid.h"
#include "core/http/error_response.h"
#include "core/base64.h"
#include "gossip/io/node.h"

namespace cairn::agent::http {
namespace {

nlohmann::json event_json(const Event& e) {
  nlohmann::json payload = e.payload.empty() ? nlohmann::json(nullptr) : nlohmann::json(base64_encode(e.payload));
  return {{"ID", e.id},
          {"Name", e.name},
          {"Payload", payload},
          {"NodeFilter", e.node_filter},
          {"ServiceFilter", e.service_filter},
          {"TagFilter", e.tag_filter},
          {"Version", 1},
          {"LTime", e.ltime}};
}

Status check_filter(const std::string& name, const std::string& pattern) {
  if (pattern.empty()) return {};
  try {
    std::regex re(pattern);
  } catch (const std::regex_error&) {
    return Error(errc::invalid_argument, "Invalid " + name + " filter: \"" + pattern + "\" is not a regular expression");
  }
  return {};
}

void answer_list(EndpointContext& ctx, const std::string& name, Responder responder) {
  auto list = ctx.events->list(name);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : list) out.push_back(event_json(e));
  Response resp = Response::json(out.dump());
  set_index(resp, ctx.events->index(name));
  responder.respond(std::move(resp));
}

}  // namespace

void register_events(Router& router, EndpointContext& ctx) {
  router.add(Method::put, "/v1/event/fire/<name...>", [&ctx](Request& req, Responder responder) {
    Event e;
    e.id = random_uuid();
    e.name = std::string(req.param("name"));
    e.payload = req.body;
    e.node_filter = req.query.get("node").value_or("");
    e.service_filter = req.query.get("service").value_or("");
    e.tag_filter = req.query.get("tag").value_or("");
    if (e.name.empty()) return responder.respond(Response::error(400, "Missing name"));
    if (!e.tag_filter.empty() && e.service_filter.empty())
      return responder.respond(Response::error(400, "Cannot provide tag filter without service filter"));
    for (auto [field, pattern] : {std::pair{"node", &e.node_filter}, {"service", &e.service_filter}, {"tag", &e.tag_filter}}) {
      if (auto st = check_filter(field, *pattern); !st.ok()) return responder.respond(error_response(st.error()));
    }
    std::string wire = encode_event(e);
    bool pretty = req.query.has("pretty");
    ctx.gossip->user_event(std::string(kEventPrefix) + e.name, wire, [responder, e, pretty](Status st) {
      if (!st.ok()) {
        // The gossip layer limits name + payload; Consul answers 400 there too.
        return responder.respond(Response::error(st.error().is(errc::too_large) ? 413 : 500, st.error().message()));
      }
      responder.respond(json_reply(pretty, event_json(e)));
    });
  });

  router.add(Method::get, "/v1/event/list", [&ctx](Request& req, Responder responder) {
    auto params = parse_blocking(req, handler_rng());
    if (!params.ok()) return responder.respond(error_response(params.error()));
    std::string name = req.query.get("name").value_or("");
    ctx.on_event_strand([&ctx, name, p = *params, responder] {
      // Block while the caller has already seen the newest event.
      if (p.blocking() && ctx.events->index(name) == p.index) {
        ctx.events->wait(p.wait, [&ctx, name, responder] { answer_list(ctx, name, responder); });
      } else {
        answer_list(ctx, name, responder);
      }
    });
  });
}

}  // namespace cairn::agent::http
