// How a server announces itself in gossip, and how its Raft id is derived.
//
// Servers gossip Consul's tags (agent/consul/server_serf.go): role "consul",
// "dc", "id" (the node ID, a UUID), "port" (the RPC port on the member's
// gossip address), "expect" (bootstrap_expect, when set) and "bootstrap"
// ("1" in single-server bootstrap mode, -dev). Client agents use role "node".
// The agent writes these tags (agent/agent.cc); the server and client agents
// read them with parse_server().
//
// Raft ids are 64-bit numbers (raft/types.h); a server's is the first 16 hex
// digits of its node ID. Node IDs are random UUIDs, so two servers colliding
// is as unlikely as a 64-bit random collision; raft_id_of() never returns 0
// (raft's "no node").
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace cairn::api {

inline constexpr std::string_view kRoleServer = "consul";
inline constexpr std::string_view kRoleClient = "node";

struct ServerInfo {
  std::string name;       // node name
  std::string id;         // node ID (UUID)
  std::string datacenter;
  std::string rpc_addr;   // "ip:port": the member's gossip IP and its "port" tag
  int expect = 0;         // bootstrap_expect; 0 when unset
  bool bootstrap = false; // single-server bootstrap mode
  uint64_t raft_id = 0;
};

// Parses the tags of a gossip member at gossip address `gossip_addr`
// ("ip:port"); nullopt when the member is not a server or its tags are
// malformed (missing id or port).
std::optional<ServerInfo> parse_server(const std::string& name, const std::string& gossip_addr,
                                       const std::map<std::string, std::string>& tags);

// The Raft id of the server whose node ID is `node_id`; 0 when the ID has
// fewer than 16 hex digits.
uint64_t raft_id_of(std::string_view node_id);

}  // namespace cairn::api
