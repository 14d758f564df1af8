// /v1/operator/raft/configuration (GET), /v1/operator/raft/peer (DELETE with
// ?id or ?address) and /v1/operator/raft/transfer-leader (POST/PUT, ?id), as
// Consul's agent/operator_endpoint.go answers them.
#include <nlohmann/json.hpp>

#include "agent/http/endpoints.h"
#include "agent/http/query_options.h"

namespace cairn::agent::http {
namespace {

using namespace api::rpc;

nlohmann::json configuration_json(const RaftConfiguration& c) {
  nlohmann::json servers = nlohmann::json::array();
  for (const auto& s : c.servers) {
    servers.push_back({{"ID", s.id},
                       {"Node", s.node},
                       {"Address", s.address},
                       {"Leader", s.leader},
                       {"ProtocolVersion", "3"},
                       {"Voter", s.voter}});
  }
  return {{"Servers", std::move(servers)}, {"Index", c.index}};
}

}  // namespace

void register_operator_raft(Router& router, EndpointContext& ctx) {
  router.add(Method::get, "/v1/operator/raft/configuration", [&ctx](Request& req, Responder responder) {
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    run_query<OperatorRaftConfiguration>(ctx, *params, {}, responder, [p = *params](RaftConfiguration& c) {
      return json_text_reply(p, configuration_json(c).dump());
    });
  });

  router.add(Method::del, "/v1/operator/raft/peer", [&ctx](Request& req, Responder responder) {
    if (auto st = check_datacenter(req, ctx.config); !st.ok()) return responder.respond(error_response(st.error()));
    bool has_id = req.query.has("id");
    bool has_address = req.query.has("address");
    if (!has_id && !has_address)
      return responder.respond(Response::error(
          400, "Must specify either ?id with the server's ID or ?address with IP:port of peer to remove"));
    if (has_id && has_address)
      return responder.respond(Response::error(400, "Must specify only one of ?id or ?address"));
    OperatorRaftRemovePeer w{req.query.get("id").value_or(""), req.query.get("address").value_or("")};
    if (w.id.empty() && w.address.empty())
      return responder.respond(Response::error(400, has_id ? "Missing ?id" : "Missing ?address"));
    // Consul answers 200 with an empty body.
    run_write<OperatorRaftRemovePeer>(ctx, request_token(req), std::move(w), responder, [](bool&) { return Response{}; });
  });

  router.add({Method::post, Method::put}, "/v1/operator/raft/transfer-leader", [&ctx](Request& req, Responder responder) {
    if (auto st = check_datacenter(req, ctx.config); !st.ok()) return responder.respond(error_response(st.error()));
    bool pretty = req.query.has("pretty");
    run_write<OperatorRaftTransferLeader>(ctx, request_token(req), OperatorRaftTransferLeader{req.query.get("id").value_or("")}, responder,
        [pretty](std::string& new_leader) {
          // api.TransferLeaderResponse; the Handler reports only the new leader.
          ReadParams p;
          p.pretty = pretty;
          nlohmann::json out = {{"OldLeader", ""}, {"NewLeader", new_leader}, {"Success", true}};
          return json_text_reply(p, out.dump());
        });
  });
}

}  // namespace cairn::agent::http
