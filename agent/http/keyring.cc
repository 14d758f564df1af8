// /v1/operator/keyring: gossip encryption keys, cluster-wide (Consul's API).
//   GET    list the keys every node holds
//   POST   {"Key": k} install k everywhere
//   PUT    {"Key": k} make k the primary everywhere
//   DELETE {"Key": k} remove k everywhere
// Each answers after every live member replied or the query timed out; a node
// that failed is named in Messages and the status is 500.
#include "agent/http/endpoints.h"
#include "agent/http/json_reply.h"
#include "gossip/io/node.h"

namespace cairn::agent::http {
namespace {

using KeyOp = gossip::GossipNode::KeyOp;

nlohmann::json keyring_json(const Config& config, const gossip::GossipNode::KeyOpResult& r) {
  nlohmann::json keys = nlohmann::json::object(), primaries = nlohmann::json::object(),
                 messages = nlohmann::json::object();
  for (const auto& [k, n] : r.keys) keys[k] = n;
  std::map<std::string, int> primary_count;
  for (const auto& [node, k] : r.primary_keys) primary_count[k] += 1;
  for (const auto& [k, n] : primary_count) primaries[k] = n;
  for (const auto& [node, msg] : r.errors) messages[node] = msg;
  return nlohmann::json::array({{{"WAN", false},
                                 {"Datacenter", config.datacenter},
                                 {"Segment", ""},
                                 {"Partition", ""},
                                 {"Keys", keys},
                                 {"PrimaryKeys", primaries},
                                 {"NumNodes", r.num_nodes},
                                 {"NumResp", r.num_nodes - static_cast<int>(r.errors.size())},
                                 {"NumErr", static_cast<int>(r.errors.size())},
                                 {"Messages", messages}}});
}

void route(Router& router, EndpointContext& ctx, Method method, KeyOp op) {
  router.add(method, "/v1/operator/keyring", [&ctx, op](Request& req, Responder responder) {
    if (!ctx.gossip_encrypted)
      return responder.respond(Response::error(500, "Keyring operations are unavailable: gossip encryption is not enabled"));
    std::string key;
    if (op != KeyOp::list) {
      auto body = nlohmann::json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object())
        return responder.respond(Response::error(400, "Request decode failed: body must be a JSON object"));
      for (const auto& [k, v] : body.items()) {
        if (k.size() == 3 && (k[0] == 'K' || k[0] == 'k') && (k[1] == 'e' || k[1] == 'E') && (k[2] == 'y' || k[2] == 'Y')) {
          if (!v.is_string()) return responder.respond(Response::error(400, "Request decode failed: Key: expected a string"));
          key = v.get<std::string>();
        }
      }
      if (key.empty()) return responder.respond(Response::error(400, "Request decode failed: Key is required"));
    }
    bool pretty = req.query.has("pretty");
    ctx.gossip->key_operation(op, key, [&ctx, op, responder, pretty](gossip::GossipNode::KeyOpResult r) {
      if (op == KeyOp::list) return responder.respond(json_reply(pretty, keyring_json(ctx.config, r)));
      if (!r.errors.empty()) {
        std::string msg;
        for (const auto& [node, m] : r.errors) msg += (msg.empty() ? "" : "; ") + node + ": " + m;
        return responder.respond(Response::error(500, msg));
      }
      responder.respond(Response::text(""));
    });
  });
}

}  // namespace

void register_keyring(Router& router, EndpointContext& ctx) {
  route(router, ctx, Method::get, KeyOp::list);
  route(router, ctx, Method::post, KeyOp::install);
  route(router, ctx, Method::put, KeyOp::use);
  route(router, ctx, Method::del, KeyOp::remove);
}

}  // namespace cairn::agent::http
