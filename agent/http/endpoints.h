// The agent's HTTP API routes. Each group of endpoints lives in its own file
// (agent_self.cc, members.cc, event.cc, keyring.cc, status.cc, kv.cc,
// session.cc, catalog.cc, health.cc, operator_raft.cc);
// register_endpoints() adds them all.
#pragma once

#include <functional>
#include <memory>

#include "agent/config/config.h"
#include "core/http/router.h"

#include <nlohmann/json_fwd.hpp>

namespace cairn::gossip {
class GossipNode;
struct MemberInfo;
}

namespace cairn::agent {
class UserEvents;
class LogMonitor;
}
namespace cairn::agent::local {
class LocalState;
}
namespace cairn::agent::connect {
class LeafCache;
}

namespace cairn::api::rpc {
class Handler;
}

namespace cairn::agent::http {

using namespace cairn::http;  // Request, Response, Router

class IntentionWatch;  // intentions.h

// What endpoints may use of the agent. Outlives the router.
struct EndpointContext {
  const Config& config;
  // Starts the agent's graceful shutdown; leave: announce it to the pool first.
  std::function<void(bool leave)> request_shutdown;
  std::shared_ptr<gossip::GossipNode> gossip;
  bool gossip_encrypted = false;
  UserEvents* events = nullptr;
  // Runs fn on the strand that owns `events`.
  std::function<void(std::function<void()>)> on_event_strand;
  // The server contract (api/rpc.h) the KV, session, catalog, health, status
  // and operator raft endpoints call; null when the agent knows no server
  // (they answer 500 "No known Consul servers").
  std::shared_ptr<api::rpc::Handler> rpc;
  // Log lines for /v1/agent/monitor; null: the endpoint answers 500.
  LogMonitor* monitor = nullptr;
  // The agent's local services and checks (agent/local); the /v1/agent
  // service, check, maintenance and health endpoints answer 500 without it.
  local::LocalState* local = nullptr;
  // Runs fn on the strand LocalState's writes (and the check runner) run on.
  std::function<void(std::function<void()>)> on_local_strand;
  // On the local strand: fn(woken) at the next local-state change or after
  // the timeout (blocking GET /v1/agent/service/<id>?hash=).
  std::function<void(Duration, std::function<void(bool)>)> wait_local_change;
  // PUT /v1/agent/reload: re-reads the config files' services and checks,
  // then calls done (from any thread) with the first error.
  std::function<void(std::function<void(Status)> done)> reload;
  // The agent's watched copy of every intention (intentions.h); null: check
  // and authorize ask the servers each time.
  std::shared_ptr<IntentionWatch> intentions;
  // Connect leaf certificates and the agent's view of the CA roots
  // (agent/connect/leaf_cache.h); null: the leaf endpoint answers 500 and
  // /v1/agent/connect/ca/roots asks the servers.
  std::shared_ptr<connect::LeafCache> leaf_cache;
};

void register_endpoints(Router& router, EndpointContext& ctx);

// One gossip member in Consul's /v1/agent/members shape (also /v1/agent/self's Member).
nlohmann::json member_json(const gossip::MemberInfo& m);

void register_agent_self(Router& router, EndpointContext& ctx);
void register_agent_lifecycle(Router& router, EndpointContext& ctx);
void register_members(Router& router, EndpointContext& ctx);
void register_events(Router& router, EndpointContext& ctx);
void register_keyring(Router& router, EndpointContext& ctx);
void register_status(Router& router, EndpointContext& ctx);
void register_kv(Router& router, EndpointContext& ctx);
void register_session(Router& router, EndpointContext& ctx);
void register_catalog(Router& router, EndpointContext& ctx);
void register_health(Router& router, EndpointContext& ctx);
void register_operator_raft(Router& router, EndpointContext& ctx);
// agent_services.cc: /v1/agent/services, service/<id>, service/register,
// service/deregister/<id>, service/maintenance/<id>, maintenance,
// health/service/name|id/<x>, reload.
void register_agent_services(Router& router, EndpointContext& ctx);
// agent_checks.cc: /v1/agent/checks, check/register, check/deregister/<id>,
// check/pass|warn|fail|update/<id>.
void register_agent_checks(Router& router, EndpointContext& ctx);
void register_agent_info(Router& router, EndpointContext& ctx);  // agent_info.cc: version, host, metrics, monitor
void register_txn(Router& router, EndpointContext& ctx);       // txn.cc: PUT /v1/txn
void register_snapshot(Router& router, EndpointContext& ctx);  // snapshot.cc: GET/PUT /v1/snapshot
// config.cc: PUT /v1/config, GET /v1/config/<kind>[/<name>], DELETE /v1/config/<kind>/<name>
void register_config(Router& router, EndpointContext& ctx);
// intentions.cc: /v1/connect/intentions[/exact|/check|/match|/<id>], POST /v1/agent/connect/authorize.
void register_intentions(Router& router, EndpointContext& ctx);
// connect_ca.cc: /v1/connect/ca/roots, /v1/connect/ca/configuration (GET,
// PUT), /v1/agent/connect/ca/roots, /v1/agent/connect/ca/leaf/<service>.
void register_connect_ca(Router& router, EndpointContext& ctx);
void register_coordinate(Router& router, EndpointContext& ctx);  // coordinate.cc: /v1/coordinate/*
void register_query(Router& router, EndpointContext& ctx);       // query.cc: /v1/query (prepared queries)

}  // namespace cairn::agent::http
