// The plumbing every endpoint over the server contract (api/rpc.h) shares:
// Consul's query options (?index, ?wait, ?stale, ?consistent, ?token, ?dc,
// ?filter, ?node-meta), the X-Consul-* response headers, the error mapping of
// api/rpc.h, and run_query()/run_write(), which call the Handler and answer
// the Responder from its callback (a blocking query holds no thread).
//
// Thread-safety: run_query/run_write callbacks run on a Handler thread; they
// capture copies of what they need, never the Request.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/http/endpoints.h"
#include "api/filter/filter.h"
#include "api/rpc.h"
#include "core/http/error_response.h"
#include "core/rng.h"

namespace cairn::agent::http {

// The random source for ?wait jitter on handler threads.
Rng& handler_rng();

// ?token, else X-Consul-Token, else "Authorization: Bearer <t>" (Consul's order).
std::string request_token(const Request& req);

// ?dc naming another datacenter: Consul's 500 "No path to datacenter".
Status check_datacenter(const Request& req, const Config& config);

// A parsed read: the options for the Handler plus what rendering needs.
struct ReadParams {
  api::rpc::QueryOptions options;
  bool pretty = false;
  std::optional<filter::Filter> filter;                 // ?filter, parsed
  std::vector<std::pair<std::string, std::string>> node_meta;  // ?node-meta=k:v, repeatable
};

// Whether an endpoint honours ?filter. Consul ignores it (unparsed) on the
// endpoints that do not support it (KV, sessions, status, operator).
enum class Filtering { ignored, applied };

// Parses ?index/?wait (parse_blocking), ?stale/?consistent, the token, ?dc,
// ?filter where applied (parsed once so a bad expression is a 400 before any
// RPC) and ?node-meta. Errors are invalid_argument (400) or unavailable (500, ?dc).
Result<ReadParams> parse_read(const Request& req, const Config& config, Filtering filtering = Filtering::ignored);

// A read of a named thing in the path (/v1/catalog/service/<s>): the name,
// or 400 with `missing` ("Missing service name") when it is empty, then
// parse_read() with ?filter applied (every such catalog and health endpoint
// supports it).
struct NamedRead {
  std::string name;
  ReadParams params;
};
Result<std::string> path_value(const Request& req, std::string_view param, std::string_view missing);
Result<NamedRead> parse_named_read(const Request& req, const Config& config, std::string_view param,
                                  std::string_view missing);

// True when `meta` carries every ?node-meta pair.
bool node_meta_matches(const std::vector<std::pair<std::string, std::string>>& wanted,
                       const std::map<std::string, std::string>& meta);

// JSON text (already encoded) as the response, filtered by ?filter when
// given (an array's elements, or an object's members; see api/filter) and
// indented under ?pretty. Field order is kept.
Response json_text_reply(const ReadParams& params, std::string body, int status = 200);

// The same for a document whose `member` (an array or object) is what
// ?filter applies to, as Consul filters a node's Services and not the node.
Response json_member_filtered_reply(const ReadParams& params, std::string body, const char* member);

// X-Consul-Index (never 0), X-Consul-KnownLeader, X-Consul-LastContact (ms)
// and X-Consul-Effective-Consistency (leader, consistent or stale).
void set_query_meta(Response& resp, const api::rpc::QueryMeta& meta, api::rpc::Consistency consistency);

// 500 "No known Consul servers": the agent has no Handler.
Response no_servers();

// The Handler's error as the HTTP answer api/rpc.h specifies.
inline Response rpc_error(const Error& e) { return error_response(e); }

// Sends `q` with `options` and hands its value to `next`; a missing Handler,
// an error or a value of another query type (a Handler bug, which must not
// take the agent down) is answered on `responder` instead.
template <typename Q>
void query_then(EndpointContext& ctx, api::rpc::QueryOptions options, Q q, Responder responder,
                std::function<void(typename Q::Value&, const api::rpc::QueryMeta&)> next) {
  if (!ctx.rpc) return responder.respond(no_servers());
  ctx.rpc->query(std::move(options), api::rpc::Query(std::move(q)),
                 [responder, next = std::move(next)](Result<api::rpc::QueryResponse> r) {
                   if (!r.ok()) return responder.respond(rpc_error(r.error()));
                   if (r->value.index() != api::rpc::IndexOf<Q, api::rpc::Query>::value)
                     return responder.respond(Response::error(500, "internal error: response type not correct"));
                   next(api::rpc::value_of<Q>(*r), r->meta);
                 });
}

// Sends `q` with `params.options`; on success answers render(value) with the
// query meta headers added; on error answers rpc_error().
template <typename Q>
void run_query(EndpointContext& ctx, const ReadParams& params, Q q, Responder responder,
               std::function<Response(typename Q::Value&)> render) {
  query_then<Q>(ctx, params.options, std::move(q), responder,
                [responder, render = std::move(render), consistency = params.options.consistency](
                    typename Q::Value& v, const api::rpc::QueryMeta& meta) {
                  Response resp = render(v);
                  set_query_meta(resp, meta, consistency);
                  responder.respond(std::move(resp));
                });
}

// Sends `w` with `token` (request_token() of the request); answers
// render(value), or the error through `on_error` (rpc_error() when null).
template <typename W>
void run_write(EndpointContext& ctx, std::string token, W w, Responder responder,
               std::function<Response(typename W::Value&)> render,
               std::function<Response(const Error&)> on_error = nullptr) {
  if (!ctx.rpc) return responder.respond(no_servers());
  api::rpc::WriteOptions options;
  options.token = std::move(token);
  ctx.rpc->write(std::move(options), api::rpc::Write(std::move(w)),
                 [responder, render = std::move(render),
                  on_error = std::move(on_error)](Result<api::rpc::WriteResponse> r) {
                   if (!r.ok()) return responder.respond(on_error ? on_error(r.error()) : rpc_error(r.error()));
                   if (r->value.index() != api::rpc::IndexOf<W, api::rpc::Write>::value)
                     return responder.respond(Response::error(500, "internal error: response type not correct"));
                   responder.respond(render(api::rpc::value_of<W>(*r)));
                 });
}

// `true`/`false` as Consul answers writes.
Response bool_reply(bool value);

// Parses an unsigned decimal query parameter; the error names it.
Result<uint64_t> parse_uint_param(const Request& req, std::string_view name);

}  // namespace cairn::agent::http
