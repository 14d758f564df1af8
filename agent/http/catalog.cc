// /v1/catalog/*: register and deregister (PUT), datacenters, nodes, services,
// service/<s>, node/<n> and node-services/<n> (GET), as Consul's
// agent/catalog_endpoint.go answers them. ?near is accepted; coordinates do
// not exist yet, so the server's order is kept.
#include <nlohmann/json.hpp>

#include "agent/http/endpoints.h"
#include "agent/http/query_options.h"
#include "api/json.h"

namespace cairn::agent::http {
namespace {

using namespace api::rpc;

// The datacenter and token a register/deregister body carries: the agent's
// datacenter when empty, another one is Consul's "No path to datacenter";
// the request's token wins over the body's WriteRequest.Token.
template <typename Body>
Status settle_write_body(const Request& req, const Config& config, Body& body) {
  if (body.datacenter.empty()) body.datacenter = config.datacenter;
  if (body.datacenter != config.datacenter) return Error(errc::unavailable, "No path to datacenter");
  if (auto t = request_token(req); !t.empty()) body.token = t;
  return {};
}

// PUT register/deregister: the decoded body (a 400 naming the field when it
// does not decode) settled and written; Consul answers `true`.
template <typename W, typename Body>
void catalog_write(EndpointContext& ctx, const Request& req, Responder responder, Result<Body> body) {
  if (!body.ok()) return responder.respond(error_response(body.error()));
  if (auto st = settle_write_body(req, ctx.config, *body); !st.ok()) return responder.respond(error_response(st.error()));
  std::string token = body->token;
  run_write<W>(ctx, std::move(token), W{std::move(*body)}, responder, [](bool&) { return bool_reply(true); });
}

template <typename T>
void keep_node_meta(const ReadParams& p, std::vector<T>& list, const api::Node& (*node_of)(const T&)) {
  if (p.node_meta.empty()) return;
  std::erase_if(list, [&](const T& e) { return !node_meta_matches(p.node_meta, node_of(e).meta); });
}

const api::Node& node_itself(const api::Node& n) { return n; }
const api::Node& node_of_entry(const api::CatalogServiceEntry& e) { return e.node; }

}  // namespace

void register_catalog(Router& router, EndpointContext& ctx) {
  router.add(Method::put, "/v1/catalog/register", [&ctx](Request& req, Responder responder) {
    catalog_write<CatalogRegister>(ctx, req, responder, api::decode_register_request(req.body));
  });
  router.add(Method::put, "/v1/catalog/deregister", [&ctx](Request& req, Responder responder) {
    catalog_write<CatalogDeregister>(ctx, req, responder, api::decode_deregister_request(req.body));
  });

  // One datacenter until WAN federation exists.
  router.add_sync(Method::get, "/v1/catalog/datacenters", [&ctx](Request& req) {
    ReadParams p;
    p.pretty = req.query.has("pretty");
    return json_text_reply(p, nlohmann::json::array({ctx.config.datacenter}).dump());
  });

  router.add(Method::get, "/v1/catalog/nodes", [&ctx](Request& req, Responder responder) {
    auto params = parse_read(req, ctx.config, Filtering::applied);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    run_query<CatalogNodes>(ctx, *params, {}, responder, [p = *params](std::vector<api::Node>& nodes) {
      keep_node_meta(p, nodes, &node_itself);
      return json_text_reply(p, api::to_json(nodes));
    });
  });

  router.add(Method::get, "/v1/catalog/services", [&ctx](Request& req, Responder responder) {
    auto params = parse_read(req, ctx.config, Filtering::applied);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    // The contract's CatalogServices result carries no nodes, so neither
    // filter can be applied here; refusing beats answering unfiltered.
    if (!params->node_meta.empty())
      return responder.respond(Response::error(400, "?node-meta is not supported on /v1/catalog/services yet"));
    if (params->filter)
      return responder.respond(Response::error(400, "?filter is not supported on /v1/catalog/services yet"));
    run_query<CatalogServices>(ctx, *params, {}, responder,
                               [p = *params](std::map<std::string, std::vector<std::string>>& services) {
                                 return json_text_reply(p, api::to_json(services));
                               });
  });

  router.add(Method::get, "/v1/catalog/service/<service...>", [&ctx](Request& req, Responder responder) {
    auto read = parse_named_read(req, ctx.config, "service", "Missing service name");
    if (!read.ok()) return responder.respond(error_response(read.error()));
    const ReadParams& params = read->params;
    run_query<CatalogServiceNodes>(ctx, params, CatalogServiceNodes{read->name, req.query.get_all("tag")}, responder,
                                   [p = params](std::vector<api::CatalogServiceEntry>& entries) {
                                     keep_node_meta(p, entries, &node_of_entry);
                                     return json_text_reply(p, api::to_json(entries));
                                   });
  });

  router.add(Method::get, "/v1/catalog/node/<node...>", [&ctx](Request& req, Responder responder) {
    auto read = parse_named_read(req, ctx.config, "node", "Missing node name");
    if (!read.ok()) return responder.respond(error_response(read.error()));
    const ReadParams& params = read->params;
    run_query<CatalogNodeServices>(ctx, params, CatalogNodeServices{read->name}, responder,
                                   [p = params](std::optional<api::NodeServices>& ns) {
                                     // An unknown node is `null` with 200, as Consul answers.
                                     if (!ns) return json_text_reply(p, "null");
                                     return json_member_filtered_reply(p, api::to_json(*ns), "Services");
                                   });
  });

  router.add(Method::get, "/v1/catalog/node-services/<node...>", [&ctx](Request& req, Responder responder) {
    auto read = parse_named_read(req, ctx.config, "node", "Missing node name");
    if (!read.ok()) return responder.respond(error_response(read.error()));
    const ReadParams& params = read->params;
    run_query<CatalogNodeServices>(ctx, params, CatalogNodeServices{read->name}, responder,
                                   [p = params](std::optional<api::NodeServices>& ns) {
                                     // structs.NodeServiceList: the services as a list;
                                     // an unknown node leaves both members null.
                                     std::string doc = R"({"Node":null,"Services":null})";
                                     if (ns) {
                                       doc = R"({"Node":)" + api::to_json(ns->node) + R"(,"Services":[)";
                                       for (size_t i = 0; i < ns->services.size(); ++i)
                                         doc += (i ? "," : "") + api::to_json(ns->services[i]);
                                       doc += "]}";
                                     }
                                     return json_member_filtered_reply(p, std::move(doc), "Services");
                                   });
  });
}

}  // namespace cairn::agent::http
