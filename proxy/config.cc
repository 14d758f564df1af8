#include "proxy/config.h"

#include <nlohmann/json.hpp>

#include "core/duration.h"

namespace cairn::proxy {

namespace {

using nlohmann::json;

Error field_error(const std::string& field, const std::string& why) {
  return Error(errc::invalid_argument, field + ": " + why);
}

Status check_port(const std::string& field, const json& v, uint16_t& out) {
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 65535)
    return field_error(field, "want a port number 0-65535");
  out = static_cast<uint16_t>(v.get<int64_t>());
  return {};
}

Status check_string(const std::string& field, const json& v, std::string& out) {
  if (!v.is_string()) return field_error(field, "want a string");
  out = v.get<std::string>();
  return {};
}

Status check_duration(const std::string& field, const json& v, Duration& out) {
  if (!v.is_string()) return field_error(field, "want a duration string like \"5s\"");
  auto d = parse_duration(v.get<std::string>());
  if (!d) return field_error(field, d.error().detail());
  out = *d;
  return {};
}

Status check_int(const std::string& field, const json& v, int& out) {
  if (!v.is_number_integer()) return field_error(field, "want an integer");
  out = static_cast<int>(v.get<int64_t>());
  return {};
}

Status parse_upstream(const std::string& at, const json& j, UpstreamConfig& u) {
  if (!j.is_object()) return field_error(at, "want an object");
  for (const auto& [k, v] : j.items()) {
    std::string f = at + "." + k;
    if (k == "destination_name") CAIRN_RETURN_IF_ERROR(check_string(f, v, u.destination_name));
    else if (k == "datacenter") CAIRN_RETURN_IF_ERROR(check_string(f, v, u.datacenter));
    else if (k == "local_bind_address") CAIRN_RETURN_IF_ERROR(check_string(f, v, u.local_bind_address));
    else if (k == "local_bind_port") CAIRN_RETURN_IF_ERROR(check_port(f, v, u.local_bind_port));
    else if (k == "connect_timeout") CAIRN_RETURN_IF_ERROR(check_duration(f, v, u.connect_timeout));
    else if (k == "idle_timeout") CAIRN_RETURN_IF_ERROR(check_duration(f, v, u.idle_timeout));
    else if (k == "max_attempts") CAIRN_RETURN_IF_ERROR(check_int(f, v, u.max_attempts));
    else if (k == "load_balancer") {
      std::string p;
      CAIRN_RETURN_IF_ERROR(check_string(f, v, p));
      auto policy = parse_balance_policy(p, f);
      if (!policy) return policy.error();
      u.policy = *policy;
    } else {
      return field_error(f, "unknown field");
    }
  }
  return {};
}

}  // namespace

Status ProxyConfig::validate() const {
  if (service.empty()) return field_error("service", "must not be empty");
  if (local_service_port != 0 && local_service_address.empty())
    return field_error("local_service_address", "must not be empty");
  if (max_connections < 1 || max_connections > 1'000'000)
    return field_error("max_connections", "want 1 to 1000000");
  if (handshake_timeout <= Duration::zero()) return field_error("handshake_timeout", "must be positive");
  if (handshake_turns < 0 || handshake_turns > 1'000'000) return field_error("handshake_turns", "want 0 to 1000000");
  if (idle_timeout <= Duration::zero()) return field_error("idle_timeout", "must be positive");
  if (local_connect_timeout <= Duration::zero()) return field_error("local_connect_timeout", "must be positive");
  for (size_t i = 0; i < upstreams.size(); ++i) {
    const auto& u = upstreams[i];
    std::string at = "upstreams[" + std::to_string(i) + "]";
    if (u.destination_name.empty()) return field_error(at + ".destination_name", "must not be empty");
    if (u.local_bind_address.empty()) return field_error(at + ".local_bind_address", "must not be empty");
    if (u.connect_timeout <= Duration::zero()) return field_error(at + ".connect_timeout", "must be positive");
    if (u.idle_timeout <= Duration::zero()) return field_error(at + ".idle_timeout", "must be positive");
    if (u.max_attempts < 1 || u.max_attempts > 100) return field_error(at + ".max_attempts", "want 1 to 100");
  }
  return {};
}

Result<ProxyConfig> parse_config_json(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Error(errc::parse_error, "proxy config: not valid JSON");
  if (!j.is_object()) return Error(errc::invalid_argument, "proxy config: want a JSON object");
  ProxyConfig c;
  for (const auto& [k, v] : j.items()) {
    if (k == "service") CAIRN_RETURN_IF_ERROR(check_string(k, v, c.service));
    else if (k == "bind_address") CAIRN_RETURN_IF_ERROR(check_string(k, v, c.bind_address));
    else if (k == "bind_port") CAIRN_RETURN_IF_ERROR(check_port(k, v, c.bind_port));
    else if (k == "local_service_address") CAIRN_RETURN_IF_ERROR(check_string(k, v, c.local_service_address));
    else if (k == "local_service_port") CAIRN_RETURN_IF_ERROR(check_port(k, v, c.local_service_port));
    else if (k == "local_connect_timeout") CAIRN_RETURN_IF_ERROR(check_duration(k, v, c.local_connect_timeout));
    else if (k == "trust_domain") CAIRN_RETURN_IF_ERROR(check_string(k, v, c.trust_domain));
    else if (k == "max_connections") CAIRN_RETURN_IF_ERROR(check_int(k, v, c.max_connections));
    else if (k == "handshake_timeout") CAIRN_RETURN_IF_ERROR(check_duration(k, v, c.handshake_timeout));
    else if (k == "handshake_turns") CAIRN_RETURN_IF_ERROR(check_int(k, v, c.handshake_turns));
    else if (k == "idle_timeout") CAIRN_RETURN_IF_ERROR(check_duration(k, v, c.idle_timeout));
    else if (k == "stats_bind_address") {
      CAIRN_RETURN_IF_ERROR(check_string(k, v, c.stats_bind_address));
      c.stats_enabled = true;
    } else if (k == "stats_bind_port") {
      CAIRN_RETURN_IF_ERROR(check_port(k, v, c.stats_bind_port));
      c.stats_enabled = true;
    } else if (k == "upstreams") {
      if (!v.is_array()) return field_error(k, "want an array");
      for (size_t i = 0; i < v.size(); ++i) {
        UpstreamConfig u;
        CAIRN_RETURN_IF_ERROR(parse_upstream("upstreams[" + std::to_string(i) + "]", v[i], u));
        c.upstreams.push_back(std::move(u));
      }
    } else {
      return field_error(k, "unknown field");
    }
  }
  CAIRN_RETURN_IF_ERROR(c.validate());
  return c;
}

}  // namespace cairn::proxy
