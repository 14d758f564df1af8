// /v1/agent/services, service/<id>, service/register, service/deregister/<id>,
// service/maintenance/<id>, maintenance, health/service/name|id/<x> and
// reload, as Consul's agent/agent_endpoint.go answers them, over the agent's
// LocalState (agent/local).
#include <algorithm>
#include <cstdio>

#include "agent/http/agent_local.h"
#include "agent/http/blocking.h"
#include "agent/http/json_reply.h"
#include "agent/http/query_options.h"
#include "agent/local/store.h"
#include "api/json.h"

namespace cairn::agent::http {

Response no_local_state() { return Response::error(500, "local state is not available"); }

void local_write(EndpointContext& ctx, Responder responder, std::function<Status(local::LocalState&)> write) {
  if (!ctx.local || !ctx.on_local_strand) return responder.respond(no_local_state());
  ctx.on_local_strand([local = ctx.local, responder, write = std::move(write)] {
    Status st = write(*local);
    responder.respond(st.ok() ? Response::text("") : error_response(st.error()));
  });
}

nlohmann::ordered_json agent_service_json(const api::NodeService& s, const std::string& datacenter) {
  auto j = nlohmann::ordered_json::parse(api::to_json(s));
  j.erase("CreateIndex");
  j.erase("ModifyIndex");
  if (s.proxy_json.empty()) j.erase("Proxy");  // omitempty in Consul's AgentService
  if (s.connect_json.empty()) j.erase("Connect");
  j["Port"] = s.port;
  j["Datacenter"] = datacenter;
  return j;
}

Result<bool> parse_enable(const Request& req) {
  auto raw = req.query.get("enable");
  if (!raw || raw->empty()) return Error(errc::invalid_argument, "Missing value for enable");
  static const char* kTrue[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char* kFalse[] = {"0", "f", "F", "FALSE", "false", "False"};
  for (const char* t : kTrue)
    if (*raw == t) return true;
  for (const char* f : kFalse)
    if (*raw == f) return false;
  return Error(errc::invalid_argument, "Invalid value for enable: \"" + *raw + "\"");
}

namespace {

// ContentHash: 16 hex digits of FNV-1a over the service's JSON, so any
// change of the service changes it.
std::string content_hash(const std::string& text) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(local::fnv1a64(text)));
  return buf;
}

bool is_maintenance_check(const api::HealthCheck& c) {
  return c.check_id == local::kNodeMaintenanceCheckId ||
         c.check_id.rfind(local::kServiceMaintenancePrefix, 0) == 0;
}

// Consul's api.HealthChecks.AggregatedStatus: maintenance beats critical
// beats warning beats passing; no checks is passing.
std::string aggregated_status(const std::vector<api::HealthCheck>& checks) {
  bool warning = false, critical = false;
  for (const auto& c : checks) {
    if (is_maintenance_check(c)) return std::string(api::kHealthMaint);
    if (c.status == api::kHealthCritical) critical = true;
    if (c.status == api::kHealthWarning) warning = true;
  }
  if (critical) return std::string(api::kHealthCritical);
  if (warning) return std::string(api::kHealthWarning);
  return std::string(api::kHealthPassing);
}

int status_code_of(const std::string& aggregated) {
  if (aggregated == api::kHealthPassing) return 200;
  if (aggregated == api::kHealthWarning) return 429;
  return 503;
}

// The worse of two aggregated statuses.
std::string worse(const std::string& a, const std::string& b) {
  auto rank = [](const std::string& s) {
    if (s == api::kHealthMaint) return 3;
    if (s == api::kHealthCritical) return 2;
    if (s == api::kHealthWarning) return 1;
    return 0;
  };
  return rank(a) >= rank(b) ? a : b;
}

// api.AgentServiceChecksInfo.
nlohmann::ordered_json service_checks_info(const std::string& status, const api::NodeService& s,
                                           const std::vector<api::HealthCheck>& checks, const std::string& dc) {
  nlohmann::ordered_json j;
  j["AggregatedStatus"] = status;
  j["Service"] = agent_service_json(s, dc);
  j["Checks"] = nlohmann::ordered_json::parse(api::to_json(checks));
  return j;
}

bool text_format(const Request& req) { return req.query.get("format").value_or("") == "text"; }

struct ServiceRead {
  std::string id;
  bool pretty = false;
  std::string hash;  // ?hash: answer once the ContentHash differs
  std::chrono::steady_clock::time_point deadline;
};

// GET /v1/agent/service/<id>. With a hash it runs on the local strand and
// re-parks on every local change until the hash differs or the deadline.
void answer_service(EndpointContext& ctx, const ServiceRead& read, Responder responder) {
  auto s = ctx.local->service(read.id);
  if (!s) return responder.respond(Response::error(404, "unknown service ID: " + read.id));
  auto j = agent_service_json(s->service, ctx.config.datacenter);
  std::string hash = content_hash(j.dump());
  auto now = std::chrono::steady_clock::now();
  if (!read.hash.empty() && hash == read.hash && now < read.deadline && ctx.wait_local_change) {
    ctx.wait_local_change(std::chrono::duration_cast<Duration>(read.deadline - now),
                          [&ctx, read, responder](bool) { answer_service(ctx, read, responder); });
    return;
  }
  j["ContentHash"] = hash;
  Response resp = Response::json(read.pretty ? j.dump(4) + "\n" : j.dump());
  resp.headers.set("X-Consul-ContentHash", hash);
  responder.respond(std::move(resp));
}

}  // namespace

void register_agent_services(Router& router, EndpointContext& ctx) {
  router.add(Method::get, "/v1/agent/services", [&ctx](Request& req, Responder responder) {
    if (!ctx.local) return responder.respond(no_local_state());
    auto params = parse_read(req, ctx.config, Filtering::applied);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const auto& s : ctx.local->services())
      out[s.service.id] = agent_service_json(s.service, ctx.config.datacenter);
    responder.respond(json_text_reply(*params, out.dump()));
  });

  // ?hash=<ContentHash>[&wait=]: blocks until the service's hash differs
  // (or it is deregistered: 404), at most wait (5m default, 10m cap).
  router.add(Method::get, "/v1/agent/service/<id...>", [&ctx](Request& req, Responder responder) {
    if (!ctx.local) return responder.respond(no_local_state());
    auto id = path_value(req, "id", "Missing service ID");
    if (!id.ok()) return responder.respond(error_response(id.error()));
    ServiceRead read{*id, req.query.has("pretty"), req.query.get("hash").value_or(""), {}};
    if (!read.hash.empty()) {
      auto params = parse_blocking(req, handler_rng());
      if (!params.ok()) return responder.respond(error_response(params.error()));
      read.deadline = std::chrono::steady_clock::now() + params->wait;
      if (ctx.on_local_strand && ctx.wait_local_change)
        return ctx.on_local_strand([&ctx, read, responder] { answer_service(ctx, read, responder); });
    }
    answer_service(ctx, read, responder);
  });

  router.add(Method::put, "/v1/agent/service/register", [&ctx](Request& req, Responder responder) {
    auto def = api::decode_service_definition(req.body);
    if (!def.ok()) return responder.respond(error_response(def.error()));
    auto replace = req.query.flag("replace-existing-checks");
    if (!replace.ok()) return responder.respond(error_response(replace.error()));
    local_write(ctx, responder, [def = std::move(*def), token = request_token(req), replace = *replace](
                                    local::LocalState& l) mutable {
      return l.add_service(std::move(def), checks::Origin::api, std::move(token), replace);
    });
  });

  // GET too: python-consul 0.7.1 deregisters with GET (consul-api.md §2).
  router.add({Method::put, Method::get}, "/v1/agent/service/deregister/<id...>", [&ctx](Request& req, Responder responder) {
    auto id = path_value(req, "id", "Missing service ID");
    if (!id.ok()) return responder.respond(error_response(id.error()));
    local_write(ctx, responder, [id = *id](local::LocalState& l) { return l.remove_service(id); });
  });

  router.add(Method::put, "/v1/agent/service/maintenance/<id...>", [&ctx](Request& req, Responder responder) {
    auto id = path_value(req, "id", "Missing service ID");
    if (!id.ok()) return responder.respond(error_response(id.error()));
    auto enable = parse_enable(req);
    if (!enable.ok()) return responder.respond(error_response(enable.error()));
    local_write(ctx, responder, [id = *id, enable = *enable, reason = req.query.get("reason").value_or(""),
                                 token = request_token(req)](local::LocalState& l) {
      return l.set_service_maintenance(id, enable, reason, token);
    });
  });

  router.add(Method::put, "/v1/agent/maintenance", [&ctx](Request& req, Responder responder) {
    auto enable = parse_enable(req);
    if (!enable.ok()) return responder.respond(error_response(enable.error()));
    local_write(ctx, responder, [enable = *enable, reason = req.query.get("reason").value_or(""),
                                 token = request_token(req)](local::LocalState& l) {
      return l.set_node_maintenance(enable, reason, token);
    });
  });

  router.add(Method::get, "/v1/agent/health/service/id/<id...>", [&ctx](Request& req, Responder responder) {
    if (!ctx.local) return responder.respond(no_local_state());
    auto id = path_value(req, "id", "Missing serviceID");
    if (!id.ok()) return responder.respond(error_response(id.error()));
    auto s = ctx.local->service(*id);
    if (!s) {
      std::string reason = "ServiceId " + *id + " not found";
      if (text_format(req)) return responder.respond(Response::text(reason, 404));
      return responder.respond(json_reply(req, {{"AggregatedStatus", "critical"}, {"Service", nullptr}, {"Checks", nullptr}}, 404));
    }
    auto checks = ctx.local->service_checks(*id, true);
    std::string status = aggregated_status(checks);
    int code = status_code_of(status);
    if (text_format(req)) return responder.respond(Response::text(status, code));
    responder.respond(Response::json(service_checks_info(status, s->service, checks, ctx.config.datacenter).dump(), code));
  });

  router.add(Method::get, "/v1/agent/health/service/name/<name...>", [&ctx](Request& req, Responder responder) {
    if (!ctx.local) return responder.respond(no_local_state());
    auto name = path_value(req, "name", "Missing service Name");
    if (!name.ok()) return responder.respond(error_response(name.error()));
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    std::string overall = std::string(api::kHealthPassing);
    for (const auto& s : ctx.local->services()) {
      if (s.service.service != *name) continue;
      auto checks = ctx.local->service_checks(s.service.id, true);
      std::string status = aggregated_status(checks);
      overall = worse(overall, status);
      out.push_back(service_checks_info(status, s.service, checks, ctx.config.datacenter));
    }
    if (out.empty()) {
      std::string reason = "ServiceName " + *name + " Not Found";
      if (text_format(req)) return responder.respond(Response::text(reason, 404));
      return responder.respond(Response::json("[]", 404));
    }
    int code = status_code_of(overall);
    if (text_format(req)) return responder.respond(Response::text(overall, code));
    responder.respond(Response::json(out.dump(), code));
  });

  router.add(Method::put, "/v1/agent/reload", [&ctx](Request&, Responder responder) {
    if (!ctx.reload) return responder.respond(Response::error(500, "reload is not available"));
    ctx.reload([responder](Status st) {
      responder.respond(st.ok() ? Response::text("") : Response::error(500, st.error().message()));
    });
  });
}

}  // namespace cairn::agent::http
