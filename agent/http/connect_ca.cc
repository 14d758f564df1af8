// The Connect CA endpoints, as Consul's agent/connect_ca_endpoint.go and
// agent_endpoint.go answer them:
//   GET /v1/connect/ca/roots[?pem]            blocking on the CA table (servers)
//   GET /v1/connect/ca/configuration          the configuration, no private key
//   PUT /v1/connect/ca/configuration          change it (may rotate the root)
//   GET /v1/agent/connect/ca/roots            the agent's watched roots (blocking)
//   GET /v1/agent/connect/ca/leaf/<service>   the agent's leaf (blocking on ?index)
#include "agent/connect/leaf_cache.h"
#include "agent/http/blocking.h"
#include "agent/http/endpoints.h"
#include "agent/http/query_options.h"
#include "api/json.h"

namespace cairn::agent::http {
namespace {

using namespace api::rpc;

// ?pem=true: the roots as one PEM bundle (Consul's application/pem-certificate-chain).
bool wants_pem(const Request& req) { return req.query.has("pem") && req.query.get("pem").value_or("") != "false"; }

Response roots_reply(const ReadParams& p, bool pem_bundle, const api::CARoots& roots) {
  if (pem_bundle) {
    std::string pem;
    for (const auto& r : roots.roots) {
      pem += r.root_cert;
      if (!pem.empty() && pem.back() != '\n') pem += '\n';
    }
    Response resp = Response::text(std::move(pem));
    resp.headers.set("Content-Type", "application/pem-certificate-chain");
    return resp;
  }
  return json_text_reply(p, api::to_json(roots));
}

}  // namespace

void register_connect_ca(Router& router, EndpointContext& ctx) {
  router.add(Method::get, "/v1/connect/ca/roots", [&ctx](Request& req, Responder responder) {
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    run_query<ConnectCARoots>(ctx, *params, ConnectCARoots{}, responder,
                              [p = *params, pem = wants_pem(req)](api::CARoots& roots) { return roots_reply(p, pem, roots); });
  });

  router.add(Method::get, "/v1/connect/ca/configuration", [&ctx](Request& req, Responder responder) {
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    run_query<ConnectCAConfigGet>(ctx, *params, ConnectCAConfigGet{}, responder, [p = *params](api::CAConfiguration& c) {
      return json_text_reply(p, api::to_json(c));
    });
  });

  router.add(Method::put, "/v1/connect/ca/configuration", [&ctx](Request& req, Responder responder) {
    if (auto st = check_datacenter(req, ctx.config); !st.ok()) return responder.respond(error_response(st.error()));
    auto config = api::decode_ca_configuration(req.body);
    if (!config.ok()) return responder.respond(error_response(config.error()));
    run_write<ConnectCAConfigSet>(ctx, request_token(req), ConnectCAConfigSet{std::move(*config)}, responder,
                                  [](bool& done) {
                                    if (!done)
                                      return Response::error(409, "CA configuration changed meanwhile; try again");
                                    return bool_reply(true);
                                  });
  });

  router.add(Method::get, "/v1/agent/connect/ca/roots", [&ctx](Request& req, Responder responder) {
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    if (!ctx.leaf_cache) {
      return run_query<ConnectCARoots>(ctx, *params, ConnectCARoots{}, responder,
                                       [p = *params, pem = wants_pem(req)](api::CARoots& roots) { return roots_reply(p, pem, roots); });
    }
    Duration wait = params->options.min_index > 0 ? params->options.max_wait : std::chrono::seconds(30);
    ctx.leaf_cache->roots(params->options.min_index, wait,
                          [responder, p = *params, pem = wants_pem(req)](Result<std::pair<api::CARoots, uint64_t>> r) {
                            if (!r.ok()) return responder.respond(rpc_error(r.error()));
                            Response resp = roots_reply(p, pem, r->first);
                            set_index(resp, r->second);
                            responder.respond(std::move(resp));
                          });
  });

  router.add(Method::get, "/v1/agent/connect/ca/leaf/<service...>", [&ctx](Request& req, Responder responder) {
    auto service = path_value(req, "service", "Missing service name");
    if (!service.ok()) return responder.respond(error_response(service.error()));
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    if (!ctx.leaf_cache)
      return responder.respond(Response::error(500, "Connect must be enabled in order to use this endpoint"));
    Duration wait = params->options.min_index > 0 ? params->options.max_wait : std::chrono::seconds(30);
    ctx.leaf_cache->get(*service, params->options.min_index, wait,
                        [responder, p = *params](Result<api::IssuedCert> r) {
                          if (!r.ok()) return responder.respond(rpc_error(r.error()));
                          Response resp = json_text_reply(p, api::to_json(*r));
                          set_index(resp, r->raft.modify_index);
                          responder.respond(std::move(resp));
                        });
  });
}

}  // namespace cairn::agent::http
