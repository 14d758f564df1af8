// /v1/config: config entries, as Consul's agent/config_endpoint.go answers
// them — PUT /v1/config[?cas=] (true/false), GET /v1/config/<kind> (list,
// blocking, ?filter), GET /v1/config/<kind>/<name> (404 when missing),
// DELETE /v1/config/<kind>/<name>[?cas=] ({} — or true/false with cas).
// Bodies are decoded and validated by api/config_entry.h.
#include "agent/http/endpoints.h"
#include "agent/http/query_options.h"
#include "api/config_entry.h"

namespace cairn::agent::http {
namespace {

using namespace api::rpc;

Result<std::string> kind_of(const Request& req) {
  CAIRN_TRY(std::string kind, path_value(req, "kind", "Missing config entry kind"));
  CAIRN_RETURN_IF_ERROR(api::check_config_entry_kind(kind));
  return kind;
}

Result<std::pair<std::string, std::string>> kind_and_name(const Request& req) {
  CAIRN_TRY(std::string kind, kind_of(req));
  CAIRN_TRY(std::string name, path_value(req, "name", "Missing config entry name"));
  return std::make_pair(std::move(kind), std::move(name));
}

// ?cas=<index>: (true, index), or (false, 0) without it.
Result<std::pair<bool, uint64_t>> cas_of(const Request& req) {
  if (!req.query.has("cas")) return std::make_pair(false, uint64_t{0});
  CAIRN_TRY(uint64_t index, parse_uint_param(req, "cas"));
  return std::make_pair(true, index);
}

}  // namespace

void register_config(Router& router, EndpointContext& ctx) {
  router.add(Method::put, "/v1/config", [&ctx](Request& req, Responder responder) {
    if (auto st = check_datacenter(req, ctx.config); !st.ok()) return responder.respond(error_response(st.error()));
    auto entry = api::decode_config_entry(req.body);
    if (!entry.ok()) return responder.respond(error_response(entry.error()));
    auto cas = cas_of(req);
    if (!cas.ok()) return responder.respond(error_response(cas.error()));
    run_write<ConfigEntryApply>(ctx, request_token(req), ConfigEntryApply{std::move(*entry), cas->first, cas->second},
                                responder, [](bool& ok) { return bool_reply(ok); });
  });

  router.add(Method::get, "/v1/config/<kind>", [&ctx](Request& req, Responder responder) {
    auto kind = kind_of(req);
    if (!kind.ok()) return responder.respond(error_response(kind.error()));
    auto params = parse_read(req, ctx.config, Filtering::applied);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    run_query<ConfigEntryList>(ctx, *params, ConfigEntryList{*kind}, responder,
                               [p = *params](std::vector<api::ConfigEntry>& entries) {
                                 return json_text_reply(p, api::config_entries_json(entries));
                               });
  });

  router.add(Method::get, "/v1/config/<kind>/<name...>", [&ctx](Request& req, Responder responder) {
    auto key = kind_and_name(req);
    if (!key.ok()) return responder.respond(error_response(key.error()));
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    run_query<ConfigEntryGet>(
        ctx, *params, ConfigEntryGet{key->first, key->second}, responder,
        [p = *params, k = *key](std::optional<api::ConfigEntry>& entry) {
          if (!entry) return Response::error(404, "Config entry not found for \"" + k.first + "\" / \"" + k.second + "\"");
          return json_text_reply(p, api::config_entry_json(*entry));
        });
  });

  router.add(Method::del, "/v1/config/<kind>/<name...>", [&ctx](Request& req, Responder responder) {
    if (auto st = check_datacenter(req, ctx.config); !st.ok()) return responder.respond(error_response(st.error()));
    auto key = kind_and_name(req);
    if (!key.ok()) return responder.respond(error_response(key.error()));
    auto cas = cas_of(req);
    if (!cas.ok()) return responder.respond(error_response(cas.error()));
    // Consul answers the deleted flag only for a CAS delete, {} otherwise.
    bool with_cas = cas->first;
    run_write<ConfigEntryDelete>(ctx, request_token(req),
                                 ConfigEntryDelete{key->first, key->second, cas->first, cas->second}, responder,
                                 [with_cas](bool& deleted) {
                                   return with_cas ? bool_reply(deleted) : Response::json("{}");
                                 });
  });
}

}  // namespace cairn::agent::http
