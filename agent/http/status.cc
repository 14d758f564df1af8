// /v1/status/leader and /v1/status/peers. Until this agent is joined to a
// server cluster there is no leader: Consul then answers "" and [] as well.
#include "agent/http/endpoints.h"
#include "agent/http/json_reply.h"

namespace cairn::agent::http {

void register_status(Router& router, EndpointContext&) {
  router.add_sync(Method::get, "/v1/status/leader", [](Request& req) { return json_reply(req, ""); });
  router.add_sync(Method::get, "/v1/status/peers",
                  [](Request& req) { return json_reply(req, nlohmann::json::array()); });
}

}  // namespace cairn::agent::http
