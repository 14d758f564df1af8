// Gossip membership over HTTP: GET /v1/agent/members, PUT /v1/agent/join/<addr>
// and PUT /v1/agent/force-leave/<node> (both also GET: python-consul 0.7
// sends GET).
#include "agent/http/endpoints.h"
#include "agent/http/json_reply.h"
#include "core/http/error_response.h"
#include "gossip/io/node.h"

namespace cairn::agent::http {
namespace {

// Serf's member status codes, which clients read as numbers.
int serf_status(gossip::MemberState s) {
  switch (s) {
    case gossip::MemberState::alive:
    case gossip::MemberState::suspect: return 1;  // suspicion is internal to SWIM
    case gossip::MemberState::left: return 3;
    case gossip::MemberState::dead: return 4;
  }
  return 0;
}

}  // namespace

nlohmann::json member_json(const gossip::MemberInfo& m) {
  std::string addr = m.addr;
  int port = 0;
  if (auto colon = addr.rfind(':'); colon != std::string::npos) {
    port = std::atoi(addr.c_str() + colon + 1);
    addr = addr.substr(0, colon);
    if (addr.size() > 1 && addr.front() == '[') addr = addr.substr(1, addr.size() - 2);
  }
  nlohmann::json tags = nlohmann::json::object();
  for (const auto& [k, v] : m.tags) tags[k] = v;
  return {{"Name", m.name},       {"Addr", addr},         {"Port", port},         {"Tags", tags},
          {"Status", serf_status(m.state)},
          {"ProtocolMin", 1},     {"ProtocolMax", 5},     {"ProtocolCur", 2},
          {"DelegateMin", 2},     {"DelegateMax", 5},     {"DelegateCur", 4}};
}



void register_members(Router& router, EndpointContext& ctx) {
  router.add_sync(Method::get, "/v1/agent/members", [&ctx](Request& req) {
    nlohmann::json out = nlohmann::json::array();
    auto wan = req.query.flag("wan");
    if (!wan.ok()) return error_response(wan.error());
    if (!*wan && ctx.gossip) {  // no WAN pool: an agent that is not a server has none in Consul either
      for (const auto& m : ctx.gossip->members()) out.push_back(member_json(m));
    }
    return json_reply(req, out);
  });

  router.add({Method::put, Method::get}, "/v1/agent/join/<address...>", [&ctx](Request& req, Responder responder) {
    auto wan = req.query.flag("wan");
    if (!wan.ok()) return responder.respond(error_response(wan.error()));
    if (*wan) return responder.respond(Response::error(400, "WAN join is not available: this agent has no WAN pool"));
    std::string address(req.param("address"));
    if (address.empty()) return responder.respond(Response::error(400, "missing address to join"));
    ctx.gossip->join({address}, [responder](Result<int> joined) {
      if (joined.ok()) {
        responder.respond(Response::text(""));
      } else if (joined.error().is(errc::invalid_argument)) {
        responder.respond(error_response(joined.error()));
      } else {
        responder.respond(Response::error(500, "failed to join: " + joined.error().message()));
      }
    });
  });

  router.add({Method::put, Method::get}, "/v1/agent/force-leave/<node...>", [&ctx](Request& req, Responder responder) {
    std::string node(req.param("node"));
    if (node.empty()) return responder.respond(Response::error(400, "missing node name"));
    ctx.gossip->force_leave(node, [responder, node](Status st) {
      if (st.ok()) return responder.respond(Response::text(""));
      // Consul answers 500 with the serf error when the node is unknown.
      responder.respond(Response::error(500, "agent: No node found with name '" + node + "'"));
    });
  });
}

}  // namespace cairn::agent::http
