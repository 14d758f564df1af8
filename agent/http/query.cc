// /v1/query: prepared queries, as Consul's agent/prepared_query_endpoint.go
// answers them — POST /v1/query (create, {"ID": ...}), GET /v1/query (list,
// blocking), GET|PUT|DELETE /v1/query/<id>, GET /v1/query/<id-or-name>/execute
// (?near, ?limit, ?connect) and /explain. An unknown query is 404 "Query
// not found". Single datacenter: execute answers this datacenter's
// instances with Failovers 0 (api/prepared_query.h).
#include "agent/http/endpoints.h"
#include "agent/http/query_options.h"
#include "api/prepared_query.h"

namespace cairn::agent::http {
namespace {

using namespace api::rpc;

api::EmbeddedQueryMeta embedded(const QueryMeta& m) { return {m.index, m.last_contact, m.known_leader}; }

Response not_found() { return Response::error(404, std::string(api::kQueryNotFound)); }

// A create or update body, checked before it travels (the server checks again).
Result<api::PreparedQuery> parse_body(const Request& req) {
  CAIRN_TRY(api::PreparedQuery q, api::decode_prepared_query(req.body));
  if (Status st = api::validate_prepared_query(q); !st.ok()) return st.error();
  return q;
}

// Go's strconv.ParseBool, with presence alone meaning true (?connect).
Result<bool> flag_param(const Request& req, std::string_view name) {
  auto v = req.query.get(name);
  if (!v) return false;
  if (v->empty() || *v == "1" || *v == "t" || *v == "T" || *v == "true" || *v == "True" || *v == "TRUE") return true;
  if (*v == "0" || *v == "f" || *v == "F" || *v == "false" || *v == "False" || *v == "FALSE") return false;
  return Error(errc::invalid_argument, "Invalid " + std::string(name) + " value: " + std::string(*v));
}

void apply(EndpointContext& ctx, const Request& req, PreparedQueryApply a, Responder responder,
           std::function<Response(std::string&)> render) {
  if (auto st = check_datacenter(req, ctx.config); !st.ok()) return responder.respond(error_response(st.error()));
  run_write<PreparedQueryApply>(ctx, request_token(req), std::move(a), responder, std::move(render));
}

}  // namespace

void register_query(Router& router, EndpointContext& ctx) {
  router.add(Method::post, "/v1/query", [&ctx](Request& req, Responder responder) {
    auto q = parse_body(req);
    if (!q.ok()) return responder.respond(error_response(q.error()));
    if (!q->id.empty())
      return responder.respond(Response::error(400, "ID must be empty when creating a new prepared query"));
    apply(ctx, req, PreparedQueryApply{api::PreparedQueryOp::create, std::move(*q)}, responder,
          [pretty = req.query.has("pretty")](std::string& id) {
            return Response::json(pretty ? "{\n    \"ID\": \"" + id + "\"\n}\n" : "{\"ID\":\"" + id + "\"}");
          });
  });

  router.add(Method::get, "/v1/query", [&ctx](Request& req, Responder responder) {
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    run_query<PreparedQueryList>(ctx, *params, {}, responder, [p = *params](std::vector<api::PreparedQuery>& all) {
      return json_text_reply(p, api::to_json(all));
    });
  });

  router.add(Method::get, "/v1/query/<id>", [&ctx](Request& req, Responder responder) {
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    run_query<PreparedQueryGet>(ctx, *params, PreparedQueryGet{std::string(req.param("id"))}, responder,
                                [p = *params](std::optional<api::PreparedQuery>& q) {
                                  if (!q) return not_found();
                                  return json_text_reply(p, api::to_json(std::vector<api::PreparedQuery>{*q}));
                                });
  });

  router.add(Method::put, "/v1/query/<id>", [&ctx](Request& req, Responder responder) {
    auto q = parse_body(req);
    if (!q.ok()) return responder.respond(error_response(q.error()));
    q->id = std::string(req.param("id"));  // the path's ID wins, as in Consul
    apply(ctx, req, PreparedQueryApply{api::PreparedQueryOp::update, std::move(*q)}, responder,
          [](std::string&) { return Response(); });
  });

  router.add(Method::del, "/v1/query/<id>", [&ctx](Request& req, Responder responder) {
    api::PreparedQuery q;
    q.id = std::string(req.param("id"));
    apply(ctx, req, PreparedQueryApply{api::PreparedQueryOp::del, std::move(q)}, responder,
          [](std::string&) { return Response(); });
  });

  router.add(Method::get, "/v1/query/<id>/execute", [&ctx](Request& req, Responder responder) {
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    PreparedQueryExecute x;
    x.id_or_name = std::string(req.param("id"));
    x.agent_node = ctx.config.node_name;
    if (req.query.get("limit")) {
      auto limit = parse_uint_param(req, "limit");
      if (!limit.ok()) return responder.respond(error_response(limit.error()));
      x.limit = *limit;
    }
    auto connect = flag_param(req, "connect");
    if (!connect.ok()) return responder.respond(error_response(connect.error()));
    x.connect = *connect;
    params->options.min_index = 0;  // never blocking, as in Consul
    query_then<PreparedQueryExecute>(
        ctx, params->options, std::move(x), responder,
        [responder, p = *params, dc = ctx.config.datacenter](api::PreparedQueryExecuteResult& r, const QueryMeta& meta) {
          r.datacenter = dc;
          Response resp = json_text_reply(p, api::to_json(r, embedded(meta)));
          set_query_meta(resp, meta, p.options.consistency);
          responder.respond(std::move(resp));
        });
  });

  router.add(Method::get, "/v1/query/<id>/explain", [&ctx](Request& req, Responder responder) {
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    params->options.min_index = 0;
    query_then<PreparedQueryExplain>(
        ctx, params->options, PreparedQueryExplain{std::string(req.param("id"))}, responder,
        [responder, p = *params](api::PreparedQuery& q, const QueryMeta& meta) {
          Response resp = json_text_reply(p, api::explain_json(q, embedded(meta)));
          set_query_meta(resp, meta, p.options.consistency);
          responder.respond(std::move(resp));
        });
  });
}

}  // namespace cairn::agent::http
