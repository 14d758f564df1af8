// The agent's HTTP API routes. Each group of endpoints lives in its own file
// (agent_self.cc, status.cc, …); register_endpoints() adds them all.
#pragma once

#include <functional>

#include "agent/config/config.h"
#include "core/http/router.h"

namespace cairn::agent::http {

using namespace cairn::http;  // Request, Response, Router

// What endpoints may use of the agent. Outlives the router.
struct EndpointContext {
  const Config& config;
  // Starts the agent's graceful shutdown (as SIGTERM does).
  std::function<void()> request_shutdown;
};

void register_endpoints(Router& router, EndpointContext& ctx);

void register_agent_self(Router& router, EndpointContext& ctx);
void register_agent_lifecycle(Router& router, EndpointContext& ctx);
void register_status(Router& router, EndpointContext& ctx);

}  // namespace cairn::agent::http
