// The agent's HTTP API routes. Each group of endpoints lives in its own file
// (agent_self.cc, members.cc, event.cc, keyring.cc, status.cc, …);
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
}

namespace cairn::agent::http {

using namespace cairn::http;  // Request, Response, Router

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

}  // namespace cairn::agent::http
