// PUT /v1/agent/leave: leave gracefully and shut the agent down, as Consul
// does. (Once gossip runs, the agent first announces that it left, so peers
// mark it "left", not "failed".)
#include "agent/http/endpoints.h"

namespace cairn::agent::http {

void register_agent_lifecycle(Router& router, EndpointContext& ctx) {
  router.add(Method::put, "/v1/agent/leave", [&ctx](Request&, Responder responder) {
    // Answer first: the connection is busy until the answer is written, and a
    // graceful shutdown lets busy connections finish.
    responder.respond(Response::text(""));
    if (ctx.request_shutdown) ctx.request_shutdown();
  });
}

}  // namespace cairn::agent::http
