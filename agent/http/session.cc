// /v1/session/*: create, destroy/<id>, renew/<id> (PUT) and info/<id>,
// node/<node>, list (GET), as Consul's agent/session_endpoint.go answers them.
#include <nlohmann/json.hpp>

#include "agent/http/endpoints.h"
#include "agent/http/query_options.h"
#include "api/json.h"

namespace cairn::agent::http {
namespace {

using namespace api::rpc;

// Consul's session_ttl_min default and its fixed maximum.
constexpr Duration kSessionTtlMin = std::chrono::seconds(10);
constexpr Duration kSessionTtlMax = std::chrono::hours(24);

template <typename Q>
void session_list_query(EndpointContext& ctx, Request& req, Responder responder, Result<Q> q) {
  if (!q.ok()) return responder.respond(error_response(q.error()));
  auto params = parse_read(req, ctx.config);
  if (!params.ok()) return responder.respond(error_response(params.error()));
  run_query<Q>(ctx, *params, std::move(*q), responder,
               [p = *params](std::vector<api::Session>& s) { return json_text_reply(p, api::to_json(s)); });
}

}  // namespace

void register_session(Router& router, EndpointContext& ctx) {
  router.add(Method::put, "/v1/session/create", [&ctx](Request& req, Responder responder) {
    if (auto st = check_datacenter(req, ctx.config); !st.ok()) return responder.respond(error_response(st.error()));
    auto session = api::decode_session_create(req.body, api::default_session_for(ctx.config.node_name), kSessionTtlMin,
                                              kSessionTtlMax);
    if (!session.ok()) return responder.respond(error_response(session.error()));
    run_write<SessionCreate>(ctx, request_token(req), SessionCreate{std::move(*session)}, responder, [](std::string& id) {
      nlohmann::json out = {{"ID", id}};
      return Response::json(out.dump());
    });
  });

  router.add(Method::put, "/v1/session/destroy/<id...>", [&ctx](Request& req, Responder responder) {
    if (auto st = check_datacenter(req, ctx.config); !st.ok()) return responder.respond(error_response(st.error()));
    auto id = path_value(req, "id", "Missing session");
    if (!id.ok()) return responder.respond(error_response(id.error()));
    run_write<SessionDestroy>(ctx, request_token(req), SessionDestroy{*id}, responder, [](bool&) { return bool_reply(true); });
  });

  router.add(Method::put, "/v1/session/renew/<id...>", [&ctx](Request& req, Responder responder) {
    if (auto st = check_datacenter(req, ctx.config); !st.ok()) return responder.respond(error_response(st.error()));
    auto id = path_value(req, "id", "Missing session");
    if (!id.ok()) return responder.respond(error_response(id.error()));
    ReadParams p;
    p.pretty = req.query.has("pretty");
    run_write<SessionRenew>(
        ctx, request_token(req), SessionRenew{*id}, responder,
        [p](api::Session& s) { return json_text_reply(p, api::to_json(std::vector<api::Session>{std::move(s)})); },
        // An unknown session is Consul's 404 text with the id.
        [id = *id](const Error& e) {
          return e.is(errc::not_found) ? Response::error(404, "Session id '" + id + "' not found") : rpc_error(e);
        });
  });

  router.add(Method::get, "/v1/session/info/<id...>", [&ctx](Request& req, Responder responder) {
    auto id = path_value(req, "id", "Missing session");
    if (!id.ok()) return responder.respond(error_response(id.error()));
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    // An unknown id is [] with 200, as Consul answers.
    run_query<SessionGet>(ctx, *params, SessionGet{*id}, responder, [p = *params](std::optional<api::Session>& s) {
      std::vector<api::Session> out;
      if (s) out.push_back(std::move(*s));
      return json_text_reply(p, api::to_json(out));
    });
  });

  router.add(Method::get, "/v1/session/node/<node...>", [&ctx](Request& req, Responder responder) {
    auto node = path_value(req, "node", "Missing node name");
    Result<SessionNode> q = node.ok() ? Result<SessionNode>(SessionNode{*node}) : Result<SessionNode>(node.error());
    session_list_query<SessionNode>(ctx, req, responder, std::move(q));
  });

  router.add(Method::get, "/v1/session/list", [&ctx](Request& req, Responder responder) {
    session_list_query<SessionList>(ctx, req, responder, SessionList{});
  });
}

}  // namespace cairn::agent::http
