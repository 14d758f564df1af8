// /v1/catalog/*: register and deregister (PUT), datacenters, nodes, services,
// service/<s>, node/<n> and node-services/<n> (GET), as Consul's
// agent/catalog_endpoint.go answers them. ?near=<node>|_agent sorts nodes by
// estimated round-trip time (api::rpc::QueryOptions::near; the server sorts).
#include <mutex>
#include <set>

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

// /v1/catalog/services with ?node-meta or ?filter. The contract's
// CatalogServices result has no nodes, so this joins: the services query
// (blocking on the caller's index; its meta is the answer's), then each
// service's instances (non-blocking), keeping a service when an instance's
// node matches ?node-meta and the instance (Consul's ServiceNode shape)
// matches ?filter; its tags are the union over those instances.
struct ServicesJoin {
  std::mutex mu;
  size_t pending = 0;
  std::map<std::string, std::set<std::string>> kept;
};

void filtered_services(EndpointContext& ctx, const ReadParams& p, Responder responder) {
  query_then<CatalogServices>(
      ctx, p.options, {}, responder,
      [&ctx, p, responder](std::map<std::string, std::vector<std::string>>& services, const QueryMeta& meta) {
        auto answer = [p, responder, meta](const std::map<std::string, std::set<std::string>>& kept) {
          std::map<std::string, std::vector<std::string>> out;
          for (const auto& [name, tags] : kept) out[name] = {tags.begin(), tags.end()};
          ReadParams plain = p;
          plain.filter.reset();  // already applied to the instances
          Response resp = json_text_reply(plain, api::to_json(out));
          set_query_meta(resp, meta, p.options.consistency);
          responder.respond(std::move(resp));
        };
        if (services.empty()) return answer({});
        auto join = std::make_shared<ServicesJoin>();
        join->pending = services.size();
        QueryOptions once = p.options;
        once.min_index = 0;
        once.max_wait = Duration{0};
        for (const auto& [name, _] : services) {
          // An error answers the responder at once; later answers are ignored.
          query_then<CatalogServiceNodes>(
              ctx, once, CatalogServiceNodes{name, {}}, responder,
              [join, p, answer, name](std::vector<api::CatalogServiceEntry>& entries, const QueryMeta&) {
                keep_node_meta(p, entries, &node_of_entry);
                nlohmann::json docs = p.filter ? nlohmann::json::parse(api::to_json(entries)) : nlohmann::json();
                std::set<std::string> tags;
                bool any = false;
                for (size_t i = 0; i < entries.size(); ++i) {
                  if (p.filter && !p.filter->matches(docs[i])) continue;
                  any = true;
                  tags.insert(entries[i].service.tags.begin(), entries[i].service.tags.end());
                }
                std::lock_guard lock(join->mu);
                if (any) join->kept[name].insert(tags.begin(), tags.end());
                if (--join->pending == 0) answer(join->kept);
              });
        }
      });
}

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
    if (!params->node_meta.empty() || params->filter) return filtered_services(ctx, *params, responder);
    run_query<CatalogServices>(ctx, *params, {}, responder,
                               [p = *params](std::map<std::string, std::vector<std::string>>& services) {
                                 return json_text_reply(p, api::to_json(services));
                               });
  });

  // /v1/catalog/service/<s> and /v1/catalog/connect/<s> (the proxies and
  // Connect-native instances that serve s).
  auto service_nodes = [&ctx](bool connect) {
    return [&ctx, connect](Request& req, Responder responder) {
      auto read = parse_named_read(req, ctx.config, "service", "Missing service name");
      if (!read.ok()) return responder.respond(error_response(read.error()));
      const ReadParams& params = read->params;
      run_query<CatalogServiceNodes>(ctx, params, CatalogServiceNodes{read->name, req.query.get_all("tag"), connect},
                                     responder, [p = params](std::vector<api::CatalogServiceEntry>& entries) {
                                       keep_node_meta(p, entries, &node_of_entry);
                                       return json_text_reply(p, api::to_json(entries));
                                     });
    };
  };
  router.add(Method::get, "/v1/catalog/service/<service...>", service_nodes(false));
  router.add(Method::get, "/v1/catalog/connect/<service...>", service_nodes(true));

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
