// What the /v1/agent service and check endpoints (agent_services.cc,
// agent_checks.cc) share: running a LocalState write on the local strand and
// answering its Status as Consul does (200 with an empty body, or the error's
// status with a one-line reason), and Consul's AgentService / HealthCheck JSON
// of local entries.
#pragma once

#include <functional>

#include <nlohmann/json.hpp>

#include "agent/http/endpoints.h"
#include "agent/local/local_state.h"
#include "core/http/error_response.h"

namespace cairn::agent::http {

// 500 when the agent has no local state (never in a running agent).
Response no_local_state();

// Runs write(local) on the local strand and answers its outcome.
void local_write(EndpointContext& ctx, Responder responder, std::function<Status(local::LocalState&)> write);

// Consul's AgentService: the NodeService without indexes, Port always
// present, plus Datacenter.
nlohmann::ordered_json agent_service_json(const api::NodeService& s, const std::string& datacenter);

// ?enable (Go's strconv.ParseBool) and ?reason of the maintenance endpoints.
Result<bool> parse_enable(const Request& req);

}  // namespace cairn::agent::http
