#include "api/validate.h"

#include "api/connect_proxy.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace cairn::api {

std::vector<std::string> Session::all_check_ids() const {
  std::vector<std::string> out;
  auto add = [&](const std::string& id) {
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  };
  for (const auto& c : checks) add(c);
  for (const auto& c : node_checks) add(c);
  for (const auto& c : service_checks) add(c.id);
  return out;
}

std::string check_type_of(const HealthCheckDefinition& d) {
  if (d.ttl > Duration(0)) return "ttl";
  if (!d.http.empty()) return "http";
  if (!d.tcp.empty()) return "tcp";
  if (!d.udp.empty()) return "udp";
  if (!d.grpc.empty()) return "grpc";
  if (!d.h2ping.empty()) return "h2ping";
  if (!d.docker_container_id.empty()) return "docker";
  if (!d.script_args.empty()) return "script";
  if (!d.alias_node.empty() || !d.alias_service.empty()) return "alias";
  return "";
}

Status validate_check_definition(const CheckDefinition& c) {
  const HealthCheckDefinition& d = c.definition;
  if (d.ttl < Duration(0) || d.timeout < Duration(0) || d.interval < Duration(0))
    return Error(errc::invalid_argument, "Check durations must not be negative");
  int ways = (d.ttl > Duration(0)) + !d.http.empty() + !d.tcp.empty() + !d.udp.empty() + !d.grpc.empty() +
             !d.h2ping.empty() + (!d.script_args.empty() || !d.docker_container_id.empty()) +
             (!d.alias_node.empty() || !d.alias_service.empty());
  if (ways == 0)
    return Error(errc::invalid_argument,
                 "Check is not valid since it lacks one of TTL, HTTP, TCP, UDP, GRPC, H2PING, Args, AliasService");
  if (ways > 1) return Error(errc::invalid_argument, "Check must have exactly one of its kinds set");
  bool polled = d.ttl == Duration(0) && d.alias_node.empty() && d.alias_service.empty();
  if (polled && d.interval <= Duration(0))
    return Error(errc::invalid_argument, "Interval must be > 0 for Script, HTTP, H2PING, or TCP checks");
  return {};
}

HealthCheck to_health_check(const CheckDefinition& c, const std::string& node) {
  HealthCheck h;
  h.node = node;
  h.check_id = c.id.empty() ? c.name : c.id;
  h.name = c.name;
  h.status = c.status.empty() ? std::string(kHealthCritical) : c.status;
  h.notes = c.notes;
  h.service_id = c.service_id;
  h.definition = c.definition;
  h.type = check_type_of(c.definition);
  return h;
}

std::vector<HealthCheck> service_definition_checks(const ServiceDefinition& d, const std::string& node) {
  std::vector<HealthCheck> out;
  for (size_t i = 0; i < d.checks.size(); ++i) {
    CheckDefinition c = d.checks[i];
    if (c.id.empty()) {
      c.id = "service:" + d.service.id;
      if (d.checks.size() > 1) c.id += ":" + std::to_string(i + 1);
    }
    if (c.name.empty()) c.name = "Service '" + d.service.service + "' check";
    c.service_id = d.service.id;
    out.push_back(to_health_check(c, node));
  }
  return out;
}

namespace {
// hashicorp/go-uuid's ParseUUID: 36 characters, hex with dashes at 8-13-18-23.
Status check_uuid(std::string_view id) {
  if (id.size() != 36) return Error(errc::invalid_argument, "Bad node ID: uuid string is wrong length");
  for (size_t i = 0; i < id.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    bool ok = dash ? id[i] == '-' : std::isxdigit(static_cast<unsigned char>(id[i])) != 0;
    if (!ok) return Error(errc::invalid_argument, "Bad node ID: uuid is improperly formatted");
  }
  return {};
}
}  // namespace

Status prepare_register(RegisterRequest& req) {
  if (req.node.empty()) return Error(errc::invalid_argument, "Must provide node");
  if (req.address.empty() && !req.skip_node_update)
    return Error(errc::invalid_argument, "Must provide address if SkipNodeUpdate is not set");
  if (!req.id.empty()) CAIRN_RETURN_IF_ERROR(check_uuid(req.id));
  if (req.service) {
    NodeService& s = *req.service;
    if (s.id.empty() && !s.service.empty()) s.id = s.service;
    if (s.service.empty() || s.id.empty())
      return Error(errc::invalid_argument, "Must provide service name (Service.Service) with ID (Service.ID)");
    if (s.port < 0 || s.port > 65535)
      return Error(errc::invalid_argument, "Service.Port: " + std::to_string(s.port) + " is not a valid port");
    if (s.weights.passing == 0 && s.weights.warning == 0) s.weights = Weights{};
    if (s.weights.passing < 0 || s.weights.warning < 0)
      return Error(errc::invalid_argument, "Service.Weights: weights must not be negative");
    // Consul's NodeService.Validate: the connect-proxy and Connect rules,
    // the Proxy kept in its canonical form.
    if (s.kind == kConnectProxyKind) {
      CAIRN_TRY(s.proxy_json, canonical_proxy_json(s.proxy_json));
    }
    CAIRN_RETURN_IF_ERROR(validate_connect(s, true));
  }
  if (req.check) {
    req.checks.push_back(std::move(*req.check));
    req.check.reset();
  }
  for (HealthCheck& c : req.checks) {
    if (c.node.empty()) c.node = req.node;
    if (c.node != req.node)
      return Error(errc::invalid_argument, "Check node \"" + c.node + "\" does not match node \"" + req.node + "\"");
    if (c.check_id.empty()) c.check_id = c.name;
    if (c.check_id.empty()) return Error(errc::invalid_argument, "Must provide CheckID or Name");
    if (c.status.empty()) c.status = std::string(kHealthCritical);
    if (c.status != kHealthPassing && c.status != kHealthWarning && c.status != kHealthCritical)
      return Error(errc::invalid_argument, "Invalid check status: \"" + c.status + "\"");
    if (c.type.empty()) c.type = check_type_of(c.definition);
  }
  return {};
}

Status prepare_deregister(const DeregisterRequest& req) {
  if (req.node.empty()) return Error(errc::invalid_argument, "Must provide node");
  return {};
}

Status validate_coordinate(const CoordinateEntry& e) {
  if (e.node.empty()) return Error(errc::invalid_argument, "Node: required");
  if (e.coord.vec.size() != kCoordinateDimensions)
    return Error(errc::invalid_argument, "Coord.Vec: expected " + std::to_string(kCoordinateDimensions) +
                                             " dimensions, got " + std::to_string(e.coord.vec.size()));
  for (double x : e.coord.vec)
    if (!std::isfinite(x)) return Error(errc::invalid_argument, "Coord.Vec: not a finite number");
  if (!std::isfinite(e.coord.error) || e.coord.error < 0)
    return Error(errc::invalid_argument, "Coord.Error: must be a finite number, not negative");
  if (!std::isfinite(e.coord.adjustment)) return Error(errc::invalid_argument, "Coord.Adjustment: not a finite number");
  if (!std::isfinite(e.coord.height) || e.coord.height < 0)
    return Error(errc::invalid_argument, "Coord.Height: must be a finite number, not negative");
  return {};
}

}  // namespace cairn::api
