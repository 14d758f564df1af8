// /v1/status/leader and /v1/status/peers, answered by a server through the
// Handler: the leader's RPC "ip:port" ("" when there is none) and the voters'.
#include <nlohmann/json.hpp>

#include "agent/http/endpoints.h"
#include "agent/http/query_options.h"
#include "api/json.h"

namespace cairn::agent::http {

void register_status(Router& router, EndpointContext& ctx) {
  router.add(Method::get, "/v1/status/leader", [&ctx](Request& req, Responder responder) {
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    run_query<api::rpc::StatusLeader>(ctx, *params, {}, responder, [p = *params](std::string& leader) {
      return json_text_reply(p, nlohmann::json(leader).dump());
    });
  });
  router.add(Method::get, "/v1/status/peers", [&ctx](Request& req, Responder responder) {
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    run_query<api::rpc::StatusPeers>(ctx, *params, {}, responder, [p = *params](std::vector<std::string>& peers) {
      return json_text_reply(p, api::to_json(peers));
    });
  });
}

}  // namespace cairn::agent::http
