// GET /v1/agent/self: the agent's configuration and stats, in the shape
// Consul clients read (Config.Datacenter, Config.NodeName, Config.NodeID,
// Config.Version, Config.Revision, Config.Server, Member, Meta, Stats).
#include <optional>
#include <thread>

#include "agent/http/endpoints.h"
#include "agent/http/json_reply.h"
#include "core/version.h"
#include "gossip/io/node.h"

namespace cairn::agent::http {
namespace {

nlohmann::json self_document(const Config& config, const std::optional<gossip::MemberInfo>& self) {
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [k, v] : config.node_meta) meta[k] = v;
  // This agent as a gossip member, as /v1/agent/members shows it.
  nlohmann::json member = self ? member_json(*self) : nlohmann::json(nullptr);
  return {
      {"Config",
       {{"Datacenter", config.datacenter},
        {"PrimaryDatacenter", config.datacenter},
        {"NodeName", config.node_name},
        {"NodeID", config.node_id},
        {"Server", config.server},
        {"Version", version()},
        {"Revision", revision()}}},
      {"DebugConfig",
       {{"Datacenter", config.datacenter},
        {"NodeName", config.node_name},
        {"DataDir", config.data_dir},
        {"DevMode", config.dev},
        {"ClientAddrs", config.client_addr},
        {"HTTPPort", config.http_port},
        {"LogLevel", config.log_level},
        {"LogJSON", config.log_json}}},
      {"Meta", meta},
      {"Member", member},
      {"Stats",
       {{"agent", {{"version", version()}}},
        {"build", {{"version", version()}, {"revision", revision()}, {"prerelease", ""}}},
        {"runtime",
         {{"arch", "amd64"}, {"os", "linux"}, {"cpu_count", std::to_string(std::thread::hardware_concurrency())}}}}},
  };
}

}  // namespace

void register_agent_self(Router& router, EndpointContext& ctx) {
  const Config& config = ctx.config;
  // Everything shown is fixed for the agent's lifetime, so the document is
  // built once. (hardware_concurrency() alone reads /sys on every call.)
  // Serialized once too (compact and ?pretty): nothing in it changes while
  // the agent runs, and serializing was 13% of this endpoint's CPU.
  std::optional<gossip::MemberInfo> self;
  if (ctx.gossip) {
    for (auto& m : ctx.gossip->members())
      if (m.name == config.node_name) self = std::move(m);
  }
  auto doc = self_document(config, self);
  auto compact = std::make_shared<const std::string>(doc.dump());
  auto pretty = std::make_shared<const std::string>(doc.dump(4) + "\n");
  router.add_sync(Method::get, "/v1/agent/self", [compact, pretty](Request& req) {
    return Response::json(req.query.has("pretty") ? *pretty : *compact);
  });
}

}  // namespace cairn::agent::http
