// /v1/agent/checks, check/register, check/deregister/<id> and
// check/pass|warn|fail|update/<id>, as Consul's agent/agent_endpoint.go
// answers them, over the agent's LocalState (agent/local).
#include "agent/http/agent_local.h"
#include "agent/http/query_options.h"
#include "api/json.h"

namespace cairn::agent::http {
namespace {

// PUT /v1/agent/check/update/<id> body: {"Status": "...", "Output": "..."}.
struct CheckUpdate {
  std::string status;
  std::string output;
};

Result<CheckUpdate> decode_check_update(const std::string& body) {
  auto j = nlohmann::json::parse(body.empty() ? "{}" : body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error(errc::invalid_argument, "Request decode failed: not a JSON object");
  CheckUpdate u;
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string key = it.key();
    for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (key != "status" && key != "output") continue;
    if (it->is_null()) continue;
    if (!it->is_string())
      return Error(errc::invalid_argument, "Request decode failed: " + it.key() + ": expected a string");
    (key == "status" ? u.status : u.output) = it->get<std::string>();
  }
  if (u.status != api::kHealthPassing && u.status != api::kHealthWarning && u.status != api::kHealthCritical)
    return Error(errc::invalid_argument, "Invalid check status: '" + u.status + "'");
  return u;
}

void ttl_route(Router& router, EndpointContext& ctx, const char* verb, std::string_view status) {
  // GET too: python-consul 0.7.1 sends TTL heartbeats with GET (consul-api.md §2).
  router.add({Method::put, Method::get}, std::string("/v1/agent/check/") + verb + "/<id...>",
             [&ctx, status = std::string(status)](Request& req, Responder responder) {
               auto id = path_value(req, "id", "Missing check ID");
               if (!id.ok()) return responder.respond(error_response(id.error()));
               local_write(ctx, responder, [id = *id, status, note = req.query.get("note").value_or("")](
                                               local::LocalState& l) { return l.update_ttl(id, status, note); });
             });
}

}  // namespace

void register_agent_checks(Router& router, EndpointContext& ctx) {
  router.add(Method::get, "/v1/agent/checks", [&ctx](Request& req, Responder responder) {
    if (!ctx.local) return responder.respond(no_local_state());
    auto params = parse_read(req, ctx.config, Filtering::applied);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const auto& c : ctx.local->checks()) out[c.check.check_id] = nlohmann::ordered_json::parse(api::to_json(c.check));
    responder.respond(json_text_reply(*params, out.dump()));
  });

  router.add(Method::put, "/v1/agent/check/register", [&ctx](Request& req, Responder responder) {
    auto def = api::decode_check_definition(req.body);
    if (!def.ok()) return responder.respond(error_response(def.error()));
    local_write(ctx, responder, [def = std::move(*def), token = request_token(req)](local::LocalState& l) mutable {
      return l.add_check(std::move(def), checks::Origin::api, std::move(token));
    });
  });

  router.add({Method::put, Method::get}, "/v1/agent/check/deregister/<id...>", [&ctx](Request& req, Responder responder) {
    auto id = path_value(req, "id", "Missing check ID");
    if (!id.ok()) return responder.respond(error_response(id.error()));
    local_write(ctx, responder, [id = *id](local::LocalState& l) { return l.remove_check(id); });
  });

  ttl_route(router, ctx, "pass", api::kHealthPassing);
  ttl_route(router, ctx, "warn", api::kHealthWarning);
  ttl_route(router, ctx, "fail", api::kHealthCritical);

  router.add(Method::put, "/v1/agent/check/update/<id...>", [&ctx](Request& req, Responder responder) {
    auto id = path_value(req, "id", "Missing check ID");
    if (!id.ok()) return responder.respond(error_response(id.error()));
    auto update = decode_check_update(req.body);
    if (!update.ok()) return responder.respond(error_response(update.error()));
    local_write(ctx, responder, [id = *id, u = std::move(*update)](local::LocalState& l) {
      return l.update_ttl(id, u.status, u.output);
    });
  });
}

}  // namespace cairn::agent::http
