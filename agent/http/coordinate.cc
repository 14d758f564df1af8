// /v1/coordinate/*, as Consul's agent/coordinate_endpoint.go answers them:
// nodes (every node's LAN coordinate, blocking, consistency modes), node/<n>
// (404 when the node has none), update (PUT one entry; what agents do on
// their own every sync interval, agent/coordinate_sync.h), and datacenters
// (the servers of our one datacenter under AreaID "WAN": there is no WAN
// pool, so their LAN coordinates stand in; Consul serves this from the
// server's WAN serf).
#include <set>

#include <nlohmann/json.hpp>

#include "agent/http/endpoints.h"
#include "agent/http/json_reply.h"
#include "agent/http/query_options.h"
#include "api/json.h"
#include "api/validate.h"
#include "gossip/io/node.h"

namespace cairn::agent::http {
namespace {

using namespace api::rpc;

}  // namespace

void register_coordinate(Router& router, EndpointContext& ctx) {
  router.add(Method::get, "/v1/coordinate/nodes", [&ctx](Request& req, Responder responder) {
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    run_query<CoordinateNodes>(ctx, *params, {}, responder, [p = *params](std::vector<api::CoordinateEntry>& all) {
      return json_text_reply(p, api::to_json(all));
    });
  });

  router.add(Method::get, "/v1/coordinate/node/<node...>", [&ctx](Request& req, Responder responder) {
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    std::string node(req.param("node"));
    if (node.empty()) return responder.respond(Response::error(400, "Missing node name"));
    run_query<CoordinateNode>(ctx, *params, CoordinateNode{node}, responder,
                              [p = *params](std::vector<api::CoordinateEntry>& of) {
                                if (of.empty()) {
                                  Response r;
                                  r.status = 404;
                                  return r;
                                }
                                return json_text_reply(p, api::to_json(of));
                              });
  });

  router.add(Method::put, "/v1/coordinate/update", [&ctx](Request& req, Responder responder) {
    if (auto st = check_datacenter(req, ctx.config); !st.ok()) return responder.respond(error_response(st.error()));
    auto entry = api::decode_coordinate_entry(req.body);
    if (!entry.ok()) return responder.respond(error_response(entry.error()));
    if (auto st = api::validate_coordinate(*entry); !st.ok()) return responder.respond(error_response(st.error()));
    run_write<CoordinateUpdate>(ctx, request_token(req), CoordinateUpdate{{std::move(*entry)}}, responder,
                                [](bool&) { return Response(); });
  });

  router.add(Method::get, "/v1/coordinate/datacenters", [&ctx](Request& req, Responder responder) {
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    std::set<std::string> servers;
    if (ctx.gossip)
      for (const auto& m : ctx.gossip->members())
        if (auto role = m.tags.find("role"); role != m.tags.end() && role->second == "consul" &&
                                              (m.state == gossip::MemberState::alive ||
                                               m.state == gossip::MemberState::suspect))
          servers.insert(m.name);
    params->options.min_index = 0;  // not blocking in Consul either
    params->options.consistency = Consistency::stale;
    run_query<CoordinateNodes>(
        ctx, *params, {}, responder,
        [p = *params, servers, dc = ctx.config.datacenter](std::vector<api::CoordinateEntry>& all) {
          std::vector<api::CoordinateEntry> of_servers;
          for (auto& e : all)
            if (servers.count(e.node) && e.segment.empty()) of_servers.push_back(std::move(e));
          auto coords = nlohmann::json::parse(api::to_json(of_servers));
          for (auto& c : coords) c.erase("Segment");
          nlohmann::json out = nlohmann::json::array();
          out.push_back({{"Datacenter", dc}, {"AreaID", "WAN"}, {"Coordinates", std::move(coords)}});
          return json_text_reply(p, out.dump());
        });
  });
}

}  // namespace cairn::agent::http
