// /v1/kv/<key>: GET (single, ?recurse, ?keys[&separator], ?raw), PUT (?flags,
// ?cas, ?acquire, ?release; the body is the value) and DELETE (?recurse,
// ?cas), as Consul's agent/kvs_endpoint.go answers them.
#include <string>

#include "agent/http/endpoints.h"
#include "agent/http/query_options.h"
#include "api/json.h"

namespace cairn::agent::http {
namespace {

using namespace api::rpc;

// Consul's kv_max_value_size default.
constexpr size_t kMaxValueBytes = 512 * 1024;

// A miss: 404 with an empty body; run_query adds the index headers.
Response not_found() {
  Response r;
  r.status = 404;
  return r;
}

// At most one of `flags` may be present ("Conflicting flags: cas&acquire").
Status check_conflicts(const Request& req, std::initializer_list<std::string_view> flags) {
  std::string present;
  int count = 0;
  for (auto f : flags) {
    if (!req.query.has(f)) continue;
    present += (present.empty() ? "" : "&") + std::string(f);
    ++count;
  }
  if (count > 1) return Error(errc::invalid_argument, "Conflicting flags: " + present);
  return {};
}

void kv_get(EndpointContext& ctx, Request& req, Responder responder) {
  auto params = parse_read(req, ctx.config);
  if (!params.ok()) return responder.respond(error_response(params.error()));
  std::string key(req.param("key"));
  const ReadParams p = *params;
  if (req.query.has("keys")) {
    // "seperator" is Consul's historic spelling, still accepted.
    std::string sep = req.query.get("separator").value_or(req.query.get("seperator").value_or(""));
    bool root = key.empty();
    return run_query<KvKeys>(ctx, p, KvKeys{key, sep}, responder, [p, root](std::vector<std::string>& keys) {
      // No 404 for the root: an empty store lists as [].
      if (keys.empty() && !root) return not_found();
      return json_text_reply(p, api::to_json(keys));
    });
  }
  if (req.query.has("recurse")) {
    return run_query<KvList>(ctx, p, KvList{key}, responder, [p](std::vector<api::KVPair>& list) {
      if (list.empty()) return not_found();
      return json_text_reply(p, api::to_json(list));
    });
  }
  // Only a list may name the root; Consul refuses a single GET of "" (kvs_endpoint.go KVSGet).
  if (key.empty()) return responder.respond(error_response(Error(errc::invalid_argument, "Missing key name")));
  bool raw = req.query.has("raw");
  run_query<KvGet>(ctx, p, KvGet{key}, responder, [p, raw](std::optional<api::KVPair>& kv) {
    if (!kv) return not_found();
    if (raw) {
      // The bytes as stored; nosniff so a browser never runs a stored value.
      Response r = Response::text(kv->value.value_or(""));
      r.headers.set("X-Content-Type-Options", "nosniff");
      return r;
    }
    return json_text_reply(p, api::to_json(std::vector<api::KVPair>{std::move(*kv)}));
  });
}

Result<KvApply> kv_put_request(const Request& req) {
  KvApply w;
  w.entry.key = std::string(req.param("key"));
  if (w.entry.key.empty()) return Error(errc::invalid_argument, "Missing key name");
  CAIRN_RETURN_IF_ERROR(check_conflicts(req, {"cas", "acquire", "release"}));
  if (req.query.has("flags")) {
    CAIRN_TRY(w.entry.flags, parse_uint_param(req, "flags"));
  }
  if (req.query.has("cas")) {
    CAIRN_TRY(w.entry.raft.modify_index, parse_uint_param(req, "cas"));
    w.op = api::KvOp::cas;
  }
  for (auto [name, op] : {std::pair{"acquire", api::KvOp::lock}, {"release", api::KvOp::unlock}}) {
    if (!req.query.has(name)) continue;
    w.entry.session = req.query.get(name).value_or("");
    if (w.entry.session.empty()) return Error(errc::invalid_argument, std::string("Missing session in ?") + name);
    w.op = op;
  }
  if (req.body.size() > kMaxValueBytes) {
    return Error(errc::too_large, "Request body(" + std::to_string(req.body.size()) +
                                      " bytes) too large, max size: " + std::to_string(kMaxValueBytes) +
                                      " bytes. See https://developer.hashicorp.com/docs/agent/config/"
                                      "config-files#kv_max_value_size.");
  }
  // An empty body stores no value (null), as Consul does.
  if (!req.body.empty()) w.entry.value = req.body;
  return w;
}

Result<KvApply> kv_delete_request(const Request& req) {
  KvApply w;
  w.op = api::KvOp::delete_key;
  w.entry.key = std::string(req.param("key"));
  CAIRN_RETURN_IF_ERROR(check_conflicts(req, {"recurse", "cas"}));
  if (req.query.has("recurse")) {
    w.op = api::KvOp::delete_tree;  // an empty key deletes every key
  } else if (w.entry.key.empty()) {
    return Error(errc::invalid_argument, "Missing key name");
  }
  if (req.query.has("cas")) {
    CAIRN_TRY(w.entry.raft.modify_index, parse_uint_param(req, "cas"));
    w.op = api::KvOp::delete_cas;
  }
  return w;
}

}  // namespace

void register_kv(Router& router, EndpointContext& ctx) {
  router.add(Method::get, "/v1/kv/<key...>", [&ctx](Request& req, Responder responder) { kv_get(ctx, req, responder); });
  for (Method m : {Method::put, Method::del}) {
    router.add(m, "/v1/kv/<key...>", [&ctx, m](Request& req, Responder responder) {
      if (auto st = check_datacenter(req, ctx.config); !st.ok()) return responder.respond(error_response(st.error()));
      auto w = m == Method::put ? kv_put_request(req) : kv_delete_request(req);
      if (!w.ok()) return responder.respond(error_response(w.error()));
      // Consul answers the store's verdict only where one can lose (cas,
      // lock, unlock, delete-cas); a plain set or delete is always true.
      bool verdict = w->op != api::KvOp::set && w->op != api::KvOp::delete_key && w->op != api::KvOp::delete_tree;
      run_write<KvApply>(ctx, request_token(req), std::move(*w), responder,
                         [verdict](bool& ok) { return bool_reply(verdict ? ok : true); });
    });
  }
}

}  // namespace cairn::agent::http
