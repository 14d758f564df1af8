// Anti-entropy as a pure diff (Consul's agent/local/state.go updateSyncState
// and SyncChanges): the local state against what the catalog holds for this
// node -> the catalog writes that make the catalog match, each with the
// bookkeeping to apply when it succeeds. No I/O, no clock; sync.h drives it.
//
// Rules (Consul's):
// - the local state is the truth for this node's services and checks;
// - the "serfHealth" check and the "consul" service belong to the servers:
//   never deregistered, never compared;
// - a service with enable_tag_override keeps the catalog's tags;
// - the node itself (ID, address, tagged addresses, meta) is registered
//   when it is missing or differs;
// - a service is registered together with its checks, so it never shows
//   up in the catalog without them.
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/local/local_state.h"
#include "api/rpc.h"

namespace cairn::agent::local {

// This node as the catalog should show it.
struct NodeIdentity {
  std::string id;
  std::string name;
  std::string address;
  std::string datacenter;
  api::StringMap tagged_addresses;
  api::StringMap meta;
};

// Consul's tagged addresses of an agent's node: lan/wan (and their _ipv4 or
// _ipv6 twins) all at the advertise address.
api::StringMap node_tagged_addresses(const std::string& address);

// What the catalog has for this node (CatalogNodeServices + HealthNode).
struct RemoteState {
  std::optional<api::Node> node;  // nullopt: not registered
  std::vector<api::NodeService> services;
  std::vector<api::HealthCheck> checks;
};

// What to record once a write succeeded.
struct SyncMark {
  enum class Kind { node, service, check, service_tombstone, check_tombstone };
  Kind kind;
  std::string id;
  uint64_t revision = 0;
  friend bool operator==(const SyncMark&, const SyncMark&) = default;
};

struct SyncOp {
  api::rpc::Write write;  // CatalogRegister or CatalogDeregister
  std::string token;      // the registration's token
  std::vector<SyncMark> marks;
};

struct SyncPlan {
  std::vector<SyncOp> writes;
  // Entries the catalog already has as they are here: in sync now.
  std::vector<SyncMark> in_sync;
  // Tags a service with enable_tag_override takes from the catalog.
  std::vector<std::pair<std::string, std::vector<std::string>>> adopted_tags;
};

// Whether the catalog's copy equals ours (raft indexes ignored; tags too
// when `ignore_tags`).
bool same_service(const api::NodeService& local, const api::NodeService& remote, bool ignore_tags);
bool same_check(const api::HealthCheck& local, const api::HealthCheck& remote);
bool same_node(const NodeIdentity& self, const api::Node& remote);

// Full sync: compares everything against `remote`; writes what differs, is
// missing or is extra.
SyncPlan plan_full(const Snapshot& local, const RemoteState& remote, const NodeIdentity& self);

// Partial sync: writes what changed since the catalog last acknowledged it
// (entries out of sync, tombstones), from the flags alone.
SyncPlan plan_partial(const Snapshot& local, const NodeIdentity& self, bool node_in_sync);

}  // namespace cairn::agent::local
