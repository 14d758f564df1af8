// cairn-server's side of cli/server_loader.h: the server runs in this process,
// wired to the agent as cli/commands/agent.cc did before the split.
#include <chrono>
#include <iostream>

#include "agent/agent.h"
#include "agent/config/config.h"
#include "cli/server_loader.h"
#include "gossip/membership.h"
#include "server/server_node.h"

namespace cairn::cli {
namespace {

// The server's settings from the agent's configuration.
server::ServerNodeOptions server_options(const agent::Config& c) {
  server::ServerNodeOptions o;
  o.server.data_dir = c.data_dir;  // data_dir/raft and data_dir/state, beside the agent's serf/ and node-id
  o.server.node_name = c.node_name;
  o.server.node_id = c.node_id;
  o.server.datacenter = c.datacenter;
  o.server.bootstrap = c.bootstrap;
  o.server.bootstrap_expect = c.bootstrap_expect;
  // performance.raft_multiplier (agent/config/config.h): a tick of 10 ms ×
  // multiplier, heartbeats every 5 ticks, elections after 50–100 ticks.
  o.server.raft.tick_interval = std::chrono::milliseconds(10 * c.raft_multiplier);
  o.server.raft.raft.heartbeat_tick = 5;
  o.server.raft.raft.election_tick = 50;
  o.server.raft.request_timeout_ticks = 1000;  // 10 s × multiplier
  o.server.raft.snapshot_threshold = static_cast<uint64_t>(c.raft_snapshot_threshold);
  o.server.raft.snapshot_interval_ticks =
      static_cast<uint64_t>(c.raft_snapshot_interval / o.server.raft.tick_interval);
  o.bind_ip = c.bind_addr;
  o.port = static_cast<uint16_t>(c.server_port);
  // Others dial the address gossip advertises (the same rule as gossip/io).
  o.advertise_ip = !c.advertise_addr.empty() ? c.advertise_addr
                   : (c.bind_addr == "0.0.0.0" || c.bind_addr == "::") ? "127.0.0.1"
                                                                       : c.bind_addr;
  // connect.*: the leader creates the Connect CA from these when there is none.
  o.server.connect_enabled = c.connect.enabled;
  o.server.ca.private_key_type = c.connect.private_key_type;
  o.server.ca.private_key_bits = c.connect.private_key_bits;
  o.server.ca.leaf_cert_ttl = c.connect.leaf_cert_ttl;
  o.server.ca.root_cert_ttl = c.connect.root_cert_ttl;
  o.server.ca.csr_max_per_second = c.connect.csr_max_per_second;
  o.server.ca.csr_max_concurrent = c.connect.csr_max_concurrent;
  o.leader.dead_server_removal_after = c.dead_server_removal_after;
  o.leader.server_stabilization_time = c.autopilot_server_stabilization_time;
  o.leader.tombstone_ttl = c.tombstone_ttl;
  return o;
}

class InProcessServer final : public AgentServer {
 public:
  explicit InProcessServer(std::unique_ptr<server::ServerNode> node) : node_(std::move(node)) {}

  void follow(agent::Agent& agent, std::function<void()> on_failed) override {
    node_->follow_members([&agent] { return agent.members(); });
    // A failed server (storage failure) never applies the log again.
    node_->set_on_failed(std::move(on_failed));
  }
  void stop() override { node_->stop(); }

  server::ServerNode* node() { return node_.get(); }

 private:
  std::unique_ptr<server::ServerNode> node_;
};

}  // namespace

Status run_in_server_binary() { return {}; }

Result<std::unique_ptr<AgentServer>> start_agent_server(Runtime& runtime, agent::Agent& agent) {
  CAIRN_RETURN_IF_ERROR(agent.prepare());
  auto options = server_options(agent.config());
  CAIRN_TRY(auto tls, io::TlsConfig::load(agent::rpc_tls_settings(agent.config())));
  options.tls = tls;
  auto started = server::ServerNode::start(runtime.io(), std::move(options));
  if (!started.ok()) return Error(started.error().code(), "server: " + started.error().message());
  auto server = std::make_unique<InProcessServer>(std::move(started).value());
  server::ServerNode* node = server->node();
  agent.set_server(node->port(), node->handler());
  agent.set_member_listener([node](const gossip::MemberEvent& e) { node->on_member_event(e); });
  return std::unique_ptr<AgentServer>(std::move(server));
}

}  // namespace cairn::cli
