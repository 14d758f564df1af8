// The agent's HTTP API routes. Each group of endpoints lives in its own file
// (agent_self.cc, status.cc, …); register_endpoints() adds them all.
#pragma once

#include "agent/config/config.h"
#include "core/http/router.h"

namespace cairn::agent::http {

using namespace cairn::http;  // Request, Response, Router

void register_endpoints(Router& router, const Config& config);

void register_agent_self(Router& router, const Config& config);
void register_status(Router& router, const Config& config);

}  // namespace cairn::agent::http
