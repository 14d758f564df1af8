#include "agent/http/endpoints.h"

namespace cairn::agent::http {

void register_endpoints(Router& router, const Config& config) {
  register_agent_self(router, config);
  register_status(router, config);
}

}  // namespace cairn::agent::http
