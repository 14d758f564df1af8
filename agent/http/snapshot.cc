// /v1/snapshot, as Consul's snapshot endpoint is used: GET saves the whole
// state as one archive (?stale and ?consistent honoured; the leader answers
// by default), PUT restores one on every server. The archive is Cairn's
// checkpoint archive (server/README.md "Snapshot archives"), not Consul's
// gzipped tar: clients that save and restore opaque bytes do not notice.
#include <string>

#include "agent/http/endpoints.h"
#include "agent/http/query_options.h"

namespace cairn::agent::http {
namespace {

using namespace api::rpc;

void snapshot_save(EndpointContext& ctx, Request& req, Responder responder) {
  auto params = parse_read(req, ctx.config);
  if (!params.ok()) return responder.respond(error_response(params.error()));
  params->options.min_index = 0;  // a snapshot never blocks
  run_query<SnapshotSave>(ctx, *params, SnapshotSave{}, responder, [](std::string& archive) {
    Response r;
    r.body = std::move(archive);
    r.headers.set("Content-Type", "application/octet-stream");
    return r;
  });
}

void snapshot_restore(EndpointContext& ctx, Request& req, Responder responder) {
  if (auto st = check_datacenter(req, ctx.config); !st.ok()) return responder.respond(error_response(st.error()));
  if (req.body.empty())
    return responder.respond(error_response(Error(errc::invalid_argument, "Invalid snapshot: the body is empty")));
  run_write<SnapshotRestore>(ctx, request_token(req), SnapshotRestore{std::move(req.body)}, responder,
                             [](bool&) { return Response(); });
}

}  // namespace

void register_snapshot(Router& router, EndpointContext& ctx) {
  router.add(Method::get, "/v1/snapshot",
             [&ctx](Request& req, Responder responder) { snapshot_save(ctx, req, responder); });
  router.add(Method::put, "/v1/snapshot",
             [&ctx](Request& req, Responder responder) { snapshot_restore(ctx, req, responder); });
}

}  // namespace cairn::agent::http
