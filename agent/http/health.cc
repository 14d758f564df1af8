// /v1/health/node/<n>, checks/<service>, service/<service> (?tag repeated,
// ?passing, ?node-meta, ?filter) and state/<state>, as Consul's
// agent/health_endpoint.go answers them. ?near=<node>|_agent sorts nodes by
// estimated round-trip time (api::rpc::QueryOptions::near; the server sorts).
#include <set>

#include "agent/http/endpoints.h"
#include "agent/http/query_options.h"
#include "api/json.h"

namespace cairn::agent::http {
namespace {

using namespace api::rpc;

// How ?node-meta applies to a list of checks: Consul filters
// checks/<service> and state/<state> by their node's metadata and ignores the
// parameter on node/<node>.
enum class NodeMeta { ignored, applies };

// A HealthCheck carries only its node's name, so ?node-meta first reads the
// catalog's nodes (non-blocking, same consistency and token) and keeps the
// names whose metadata matches; `next` then runs the checks query.
void matching_nodes(EndpointContext& ctx, const ReadParams& p, Responder responder,
                    std::function<void(std::shared_ptr<const std::set<std::string>>)> next) {
  QueryOptions options = p.options;
  options.min_index = 0;
  options.max_wait = Duration{0};
  query_then<CatalogNodes>(ctx, std::move(options), {}, responder,
                           [wanted = p.node_meta, next = std::move(next)](std::vector<api::Node>& nodes,
                                                                          const QueryMeta&) {
                             auto names = std::make_shared<std::set<std::string>>();
                             for (const auto& n : nodes)
                               if (node_meta_matches(wanted, n.meta)) names->insert(n.node);
                             next(std::move(names));
                           });
}

template <typename Q>
void checks_query(EndpointContext& ctx, Request& req, Responder responder, std::string_view param,
                  std::string_view missing, NodeMeta node_meta, Q (*make)(std::string)) {
  auto read = parse_named_read(req, ctx.config, param, missing);
  if (!read.ok()) return responder.respond(error_response(read.error()));
  auto run = [&ctx, p = read->params, q = make(std::move(read->name)), responder](
                 std::shared_ptr<const std::set<std::string>> nodes) {
    run_query<Q>(ctx, p, q, responder, [p, nodes](std::vector<api::HealthCheck>& checks) {
      if (nodes) std::erase_if(checks, [&](const api::HealthCheck& c) { return !nodes->contains(c.node); });
      return json_text_reply(p, api::to_json(checks));
    });
  };
  if (node_meta == NodeMeta::ignored || read->params.node_meta.empty()) return run(nullptr);
  matching_nodes(ctx, read->params, responder, std::move(run));
}

bool valid_state(std::string_view s) {
  return s == "any" || s == api::kHealthPassing || s == api::kHealthWarning || s == api::kHealthCritical;
}

}  // namespace

void register_health(Router& router, EndpointContext& ctx) {
  router.add(Method::get, "/v1/health/node/<node...>", [&ctx](Request& req, Responder responder) {
    checks_query<HealthNode>(ctx, req, responder, "node", "Missing node name", NodeMeta::ignored,
                             [](std::string n) { return HealthNode{std::move(n)}; });
  });

  router.add(Method::get, "/v1/health/checks/<service...>", [&ctx](Request& req, Responder responder) {
    checks_query<HealthChecks>(ctx, req, responder, "service", "Missing service name", NodeMeta::applies,
                               [](std::string s) { return HealthChecks{std::move(s)}; });
  });

  router.add(Method::get, "/v1/health/state/<state...>", [&ctx](Request& req, Responder responder) {
    std::string state(req.param("state"));
    if (state.empty()) return responder.respond(Response::error(400, "Missing check state"));
    if (!valid_state(state)) return responder.respond(Response::error(400, "Invalid state"));
    checks_query<HealthState>(ctx, req, responder, "state", "Missing check state", NodeMeta::applies,
                              [](std::string s) { return HealthState{std::move(s)}; });
  });

  // /v1/health/service/<s> (?connect=true as Consul's older form of the
  // next route) and /v1/health/connect/<s>: the proxies and Connect-native
  // instances that serve s.
  auto service_health = [&ctx](bool connect_route) {
    return [&ctx, connect_route](Request& req, Responder responder) {
      auto read = parse_named_read(req, ctx.config, "service", "Missing service name");
      if (!read.ok()) return responder.respond(error_response(read.error()));
      auto passing = req.query.flag("passing");
      if (!passing.ok()) return responder.respond(Response::error(400, "Invalid value for ?passing"));
      auto connect = req.query.flag("connect");
      if (!connect.ok()) return responder.respond(Response::error(400, "Invalid value for ?connect"));
      HealthService q{read->name, req.query.get_all("tag"), *passing, connect_route || *connect};
      run_query<HealthService>(ctx, read->params, std::move(q), responder,
                               [p = read->params](std::vector<api::HealthServiceEntry>& entries) {
                                 if (!p.node_meta.empty()) {
                                   std::erase_if(entries, [&](const api::HealthServiceEntry& e) {
                                     return !node_meta_matches(p.node_meta, e.node.meta);
                                   });
                                 }
                                 return json_text_reply(p, api::to_json(entries));
                               });
    };
  };
  router.add(Method::get, "/v1/health/service/<service...>", service_health(false));
  router.add(Method::get, "/v1/health/connect/<service...>", service_health(true));
}

}  // namespace cairn::agent::http
