#include "api/validate.h"

#include <algorithm>

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
  if (!d.http.empty()) return "http";
  if (!d.tcp.empty()) return "tcp";
  if (!d.udp.empty()) return "udp";
  if (!d.grpc.empty()) return "grpc";
  if (!d.script_args.empty()) return "script";
  return "";
}

Status prepare_register(RegisterRequest& req) {
  if (req.node.empty()) return Error(errc::invalid_argument, "Must provide node");
  if (req.address.empty() && !req.skip_node_update)
    return Error(errc::invalid_argument, "Must provide address if SkipNodeUpdate is not set");
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

}  // namespace cairn::api
