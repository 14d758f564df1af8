// PUT /v1/agent/leave: announce to the pool that this agent left (peers mark
// it "left", not "failed"), then shut down, as Consul does.
#include "agent/http/endpoints.h"

namespace cairn::agent::http {

void register_agent_lifecycle(Router& router, EndpointContext& ctx) {
  router.add(Method::put, "/v1/agent/leave", [&ctx](Request&, Responder responder) {
    // Answer first: the connection is busy until the answer is written, and a
    // graceful shutdown lets busy connections finish.
    responder.respond(Response::text(""));
    if (ctx.request_shutdown) ctx.request_shutdown(/*leave=*/true);
  });
}

}  // namespace cairn::agent::http
