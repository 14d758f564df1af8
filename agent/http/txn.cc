// PUT /v1/txn, as Consul's agent/txn_endpoint.go answers it: a JSON array of
// at most 64 KV, Node, Service and Check operations applied atomically. A
// transaction with a write verb goes through Raft (api::rpc::Txn); one with
// only get/check verbs is a read (api::rpc::TxnRead) that honours ?stale and
// ?consistent. Rolled back: 409 with {"Results": null, "Errors": [...]}.
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "agent/http/endpoints.h"
#include "agent/http/json_reply.h"
#include "agent/http/query_options.h"
#include "api/json.h"

namespace cairn::agent::http {
namespace {

using namespace api::rpc;

// Consul's txn_max_req_len and kv_max_value_size defaults.
constexpr size_t kMaxTxnBytes = 512 * 1024;
constexpr size_t kMaxValueBytes = 512 * 1024;

Response too_large(std::string message) { return Response::error(413, std::move(message)); }

Response txn_reply(bool pretty, const api::TxnResponse& r) {
  std::string body = api::to_json(r);
  int status = r.errors.empty() ? 200 : 409;
  if (!pretty) return Response::json(std::move(body), status);
  return json_reply(true, nlohmann::json::parse(body), status);
}

void txn(EndpointContext& ctx, Request& req, Responder responder) {
  if (auto st = check_datacenter(req, ctx.config); !st.ok()) return responder.respond(error_response(st.error()));
  if (req.body.size() > kMaxTxnBytes)
    return responder.respond(too_large("Request body too large, max size: " + std::to_string(kMaxTxnBytes) + " bytes"));
  auto ops = api::decode_txn_ops(req.body);
  if (!ops.ok()) return responder.respond(error_response(ops.error()));
  if (ops->size() > api::kMaxTxnOps)
    return responder.respond(too_large("Transaction contains too many operations (" + std::to_string(ops->size()) +
                                       " > " + std::to_string(api::kMaxTxnOps) + ")"));
  bool writes = false;
  for (auto& op : *ops) {
    std::visit(
        [&](auto& o) {
          writes = writes || api::txn_verb_writes(o.verb);
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, api::TxnNodeOp>) {
            if (o.node.datacenter.empty()) o.node.datacenter = ctx.config.datacenter;
          }
        },
        op);
    if (auto* kv = std::get_if<api::TxnKvOp>(&op); kv && kv->entry.value && kv->entry.value->size() > kMaxValueBytes)
      return responder.respond(too_large("Value for key \"" + kv->entry.key + "\" is too large (" +
                                         std::to_string(kv->entry.value->size()) + " > " +
                                         std::to_string(kMaxValueBytes) + " bytes)"));
  }
  bool pretty = req.query.has("pretty");
  if (!writes) {
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    params->options.min_index = 0;  // Consul: no blocking for transactions
    return run_query<TxnRead>(ctx, *params, TxnRead{std::move(*ops)}, responder,
                              [pretty](api::TxnResponse& r) { return txn_reply(pretty, r); });
  }
  run_write<Txn>(ctx, request_token(req), Txn{std::move(*ops)}, responder,
                 [pretty](api::TxnResponse& r) { return txn_reply(pretty, r); });
}

}  // namespace

void register_txn(Router& router, EndpointContext& ctx) {
  router.add(Method::put, "/v1/txn", [&ctx](Request& req, Responder responder) { txn(ctx, req, responder); });
}

}  // namespace cairn::agent::http
