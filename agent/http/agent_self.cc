// GET /v1/agent/self: the agent's configuration and stats, in the shape
// Consul clients read (Config.Datacenter, Config.NodeName, Config.NodeID,
// Config.Version, Config.Revision, Config.Server, Member, Meta, Stats).
#include <thread>

#include "agent/http/endpoints.h"
#include "agent/http/json_reply.h"
#include "core/version.h"
#include "gossip/io/node.h"

namespace cairn::agent::http {
namespace {

nlohmann::json self_document(const Config& config, const std::string& gossip_addr) {
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [k, v] : config.node_meta) meta[k] = v;
  // This agent as a gossip member (the shape of /v1/agent/members entries).
  std::string addr = gossip_addr;
  int port = 0;
  if (auto colon = addr.rfind(':'); colon != std::string::npos) {
    port = std::atoi(addr.c_str() + colon + 1);
    addr = addr.substr(0, colon);
    if (addr.size() > 1 && addr.front() == '[') addr = addr.substr(1, addr.size() - 2);
  }
  nlohmann::json member = {
      {"Name", config.node_name},
      {"Addr", addr},
      {"Port", port},
      {"Tags", {{"dc", config.datacenter}, {"id", config.node_id}, {"role", "node"}, {"build", version()}, {"vsn", "2"}}},
      {"Status", 1},
      {"ProtocolMin", 1}, {"ProtocolMax", 5}, {"ProtocolCur", 2},
      {"DelegateMin", 2}, {"DelegateMax", 5}, {"DelegateCur", 4}};
  return {
      {"Config",
       {{"Datacenter", config.datacenter},
        {"PrimaryDatacenter", config.datacenter},
        {"NodeName", config.node_name},
        {"NodeID", config.node_id},
        {"Server", false},
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
  auto doc = self_document(config, ctx.gossip ? ctx.gossip->advertise() : std::string());
  auto compact = std::make_shared<const std::string>(doc.dump());
  auto pretty = std::make_shared<const std::string>(doc.dump(4) + "\n");
  router.add_sync(Method::get, "/v1/agent/self", [compact, pretty](Request& req) {
    return Response::json(req.query.has("pretty") ? *pretty : *compact);
  });
}

}  // namespace cairn::agent::http
