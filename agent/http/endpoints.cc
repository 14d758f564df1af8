#include "agent/http/endpoints.h"

namespace cairn::agent::http {

void register_endpoints(Router& router, EndpointContext& ctx) {
  register_agent_self(router, ctx);
  register_agent_lifecycle(router, ctx);
  register_members(router, ctx);
  register_events(router, ctx);
  register_keyring(router, ctx);
  register_status(router, ctx);
  register_kv(router, ctx);
  register_session(router, ctx);
  register_catalog(router, ctx);
  register_health(router, ctx);
  register_operator_raft(router, ctx);
  register_agent_services(router, ctx);
  register_agent_checks(router, ctx);
  register_agent_info(router, ctx);
  register_txn(router, ctx);
  register_snapshot(router, ctx);
  register_config(router, ctx);
  register_intentions(router, ctx);
  register_connect_ca(router, ctx);
  register_coordinate(router, ctx);
  register_query(router, ctx);
}

}  // namespace cairn::agent::http
