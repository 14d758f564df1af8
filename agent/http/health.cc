// /v1/health/node/<n>, checks/<service>, service/<service> (?tag repeated,
// ?passing, ?node-meta, ?filter) and state/<state>, as Consul's
// agent/health_endpoint.go answers them. ?near is accepted; coordinates do
// not exist yet, so the server's order is kept.
#include "agent/http/endpoints.h"
#include "agent/http/query_options.h"
#include "api/json.h"

namespace cairn::agent::http {
namespace {

using namespace api::rpc;

// ?node-meta needs the checks' nodes, which a HealthCheck does not carry.
Status refuse_node_meta(const ReadParams& p, std::string_view path) {
  if (p.node_meta.empty()) return {};
  return Error(errc::invalid_argument, "?node-meta is not supported on " + std::string(path) + " yet");
}

template <typename Q>
void checks_query(EndpointContext& ctx, Request& req, Responder responder, std::string_view param,
                  std::string_view missing, std::string_view path, Q (*make)(std::string)) {
  auto read = parse_named_read(req, ctx.config, param, missing);
  if (!read.ok()) return responder.respond(error_response(read.error()));
  if (auto st = refuse_node_meta(read->params, path); !st.ok()) return responder.respond(error_response(st.error()));
  run_query<Q>(ctx, read->params, make(std::move(read->name)), responder,
               [p = read->params](std::vector<api::HealthCheck>& checks) { return json_text_reply(p, api::to_json(checks)); });
}

bool valid_state(std::string_view s) {
  return s == "any" || s == api::kHealthPassing || s == api::kHealthWarning || s == api::kHealthCritical;
}

}  // namespace

void register_health(Router& router, EndpointContext& ctx) {
  router.add(Method::get, "/v1/health/node/<node...>", [&ctx](Request& req, Responder responder) {
    checks_query<HealthNode>(ctx, req, responder, "node", "Missing node name", "/v1/health/node",
                             [](std::string n) { return HealthNode{std::move(n)}; });
  });

  router.add(Method::get, "/v1/health/checks/<service...>", [&ctx](Request& req, Responder responder) {
    checks_query<HealthChecks>(ctx, req, responder, "service", "Missing service name", "/v1/health/checks",
                               [](std::string s) { return HealthChecks{std::move(s)}; });
  });

  router.add(Method::get, "/v1/health/state/<state...>", [&ctx](Request& req, Responder responder) {
    std::string state(req.param("state"));
    if (state.empty()) return responder.respond(Response::error(400, "Missing check state"));
    if (!valid_state(state)) return responder.respond(Response::error(400, "Invalid state"));
    checks_query<HealthState>(ctx, req, responder, "state", "Missing check state", "/v1/health/state",
                              [](std::string s) { return HealthState{std::move(s)}; });
  });

  router.add(Method::get, "/v1/health/service/<service...>", [&ctx](Request& req, Responder responder) {
    auto read = parse_named_read(req, ctx.config, "service", "Missing service name");
    if (!read.ok()) return responder.respond(error_response(read.error()));
    auto passing = req.query.flag("passing");
    if (!passing.ok()) return responder.respond(Response::error(400, "Invalid value for ?passing"));
    HealthService q{read->name, req.query.get_all("tag"), *passing};
    run_query<HealthService>(ctx, read->params, std::move(q), responder,
                             [p = read->params](std::vector<api::HealthServiceEntry>& entries) {
                               if (!p.node_meta.empty()) {
                                 std::erase_if(entries, [&](const api::HealthServiceEntry& e) {
                                   return !node_meta_matches(p.node_meta, e.node.meta);
                                 });
                               }
                               return json_text_reply(p, api::to_json(entries));
                             });
  });
}

}  // namespace cairn::agent::http
