// GET /v1/agent/self: the agent's configuration and stats, in the shape
// Consul clients read (Config.Datacenter, Config.NodeName, Config.NodeID,
// Config.Version, Config.Revision, Config.Server, Member, Meta, Stats).
#include <thread>

#include "agent/http/endpoints.h"
#include "agent/http/json_reply.h"
#include "core/version.h"

namespace cairn::agent::http {

void register_agent_self(Router& router, const Config& config) {
  router.add_sync(Method::get, "/v1/agent/self", [&config](Request& req) {
    nlohmann::json meta = nlohmann::json::object();
    for (const auto& [k, v] : config.node_meta) meta[k] = v;
    nlohmann::json body = {
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
        {"Member",
         {{"Name", config.node_name},
          {"Addr", config.client_addr.front()},
          {"Tags", {{"dc", config.datacenter}, {"id", config.node_id}, {"role", "node"}, {"build", version()}}},
          {"Status", 1}}},
        {"Stats",
         {{"agent", {{"version", version()}}},
          {"build", {{"version", version()}, {"revision", revision()}, {"prerelease", ""}}},
          {"runtime",
           {{"arch", "amd64"}, {"os", "linux"}, {"cpu_count", std::to_string(std::thread::hardware_concurrency())}}}}},
    };
    return json_reply(req, body);
  });
}

}  // namespace cairn::agent::http
