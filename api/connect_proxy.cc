// Connect proxy registrations: typed Proxy, validation, connect destination
// and the sidecar expansion (see connect_proxy.h).
#include "api/connect_proxy.h"

#include <algorithm>
#include <set>

#include "api/json_detail.h"
#include "core/strings.h"

namespace cairn::api {
namespace {

using detail::Field;
using detail::field;
using detail::Json;
using detail::raw_map_field;

Error invalid(std::string why) { return Error(errc::invalid_argument, std::move(why)); }

std::vector<Field> upstream_fields(ProxyUpstream& u) {
  return {field({"DestinationType", "destination_type"}, u.destination_type),
          field({"DestinationName", "destination_name"}, u.destination_name),
          field({"Datacenter"}, u.datacenter),
          field({"LocalBindAddress", "local_bind_address"}, u.local_bind_address),
          field({"LocalBindPort", "local_bind_port"}, u.local_bind_port),
          raw_map_field({"Config"}, u.config_json)};
}

std::vector<Field> proxy_fields(ConnectProxy& p) {
  return {field({"DestinationServiceName", "destination_service_name"}, p.destination_service_name),
          field({"DestinationServiceID", "destination_service_id"}, p.destination_service_id),
          field({"LocalServiceAddress", "local_service_address"}, p.local_service_address),
          field({"LocalServicePort", "local_service_port"}, p.local_service_port),
          field({"Mode"}, p.mode),
          raw_map_field({"Config"}, p.config_json),
          Field{{"Upstreams"}, [&p](const Json& v, const std::string& path) -> Status {
                  if (!v.is_array()) return detail::type_error(path, "array", v);
                  p.upstreams.clear();
                  for (size_t i = 0; i < v.size(); ++i) {
                    ProxyUpstream u;
                    CAIRN_RETURN_IF_ERROR(
                        detail::decode_object(v[i], path + "[" + std::to_string(i) + "]", upstream_fields(u)));
                    p.upstreams.push_back(std::move(u));
                  }
                  return {};
                }}};
}

bool is_field(const std::vector<Field>& fields, const std::string& key) {
  return std::any_of(fields.begin(), fields.end(), [&](const Field& f) {
    return std::any_of(f.names.begin(), f.names.end(),
                       [&](std::string_view n) { return !n.empty() && equal_fold(n, key); });
  });
}

// The members of `in` that `fields` does not model, in their order.
void copy_others(const Json& in, const std::vector<Field>& fields, Json& out) {
  if (!in.is_object()) return;
  for (const auto& [k, v] : in.items())
    if (!is_field(fields, k)) out[k] = v;
}

Json parse_object(std::string_view text) {
  if (text.empty()) return Json::object();
  return Json::parse(text, nullptr, false);
}

Json encode_upstream(const ProxyUpstream& u, const Json& original) {
  Json j = Json::object();
  j["DestinationType"] = u.destination_type.empty() ? "service" : u.destination_type;
  j["DestinationName"] = u.destination_name;
  j["Datacenter"] = u.datacenter;
  if (!u.local_bind_address.empty()) j["LocalBindAddress"] = u.local_bind_address;
  j["LocalBindPort"] = u.local_bind_port;
  if (!u.config_json.empty()) j["Config"] = parse_object(u.config_json);
  ProxyUpstream scratch;
  copy_others(original, upstream_fields(scratch), j);
  if (!j.contains("MeshGateway")) j["MeshGateway"] = Json::object();
  return j;
}

Json encode_proxy(const ConnectProxy& p, const Json& original) {
  Json j = Json::object();
  j["DestinationServiceName"] = p.destination_service_name;
  j["DestinationServiceID"] = p.destination_service_id;
  j["LocalServiceAddress"] = p.local_service_address;
  j["LocalServicePort"] = p.local_service_port;
  j["Mode"] = p.mode;
  if (!p.config_json.empty()) j["Config"] = parse_object(p.config_json);
  Json ups = Json::array();
  Json original_ups = Json::array();
  if (original.is_object())
    for (const auto& [k, v] : original.items())
      if (equal_fold(k, "Upstreams") && v.is_array()) original_ups = v;
  for (size_t i = 0; i < p.upstreams.size(); ++i)
    ups.push_back(encode_upstream(p.upstreams[i], i < original_ups.size() ? original_ups[i] : Json::object()));
  if (!ups.empty()) j["Upstreams"] = std::move(ups);
  ConnectProxy scratch;
  copy_others(original, proxy_fields(scratch), j);
  if (!j.contains("MeshGateway")) j["MeshGateway"] = Json::object();
  if (!j.contains("Expose")) j["Expose"] = Json::object();
  return j;
}

// Connect's members we act on.
struct ConnectFields {
  bool native = false;
  bool managed_sidecar = false;
  bool has_sidecar = false;
  Json sidecar;
};

std::vector<Field> connect_fields(ConnectFields& c) {
  return {field({"Native"}, c.native), field({"ManagedSidecar", "managed_sidecar"}, c.managed_sidecar),
          Field{{"SidecarService", "sidecar_service"}, [&c](const Json& v, const std::string& path) -> Status {
                  if (!v.is_object()) return detail::type_error(path, "object", v);
                  c.has_sidecar = true;
                  c.sidecar = v;
                  return {};
                }}};
}

Result<ConnectFields> parse_connect(std::string_view connect_json) {
  ConnectFields c;
  if (connect_json.empty()) return c;
  Json j = Json::parse(connect_json, nullptr, false);
  if (j.is_discarded()) return Error(errc::invalid_argument, "Connect: not a JSON object");
  CAIRN_RETURN_IF_ERROR(detail::decode_object(j, "Connect", connect_fields(c)));
  return c;
}

// Whether a Connect object has a SidecarService member (any spelling).
bool has_member(const Json& j, std::initializer_list<std::string_view> names) {
  if (!j.is_object()) return false;
  for (const auto& [k, v] : j.items())
    for (auto n : names)
      if (equal_fold(k, n) && !v.is_null()) return true;
  return false;
}

}  // namespace

Result<ConnectProxy> parse_connect_proxy(std::string_view proxy_json) {
  ConnectProxy p;
  if (proxy_json.empty()) return p;
  Json j = Json::parse(proxy_json, nullptr, false);
  if (j.is_discarded()) return Error(errc::invalid_argument, "Proxy: not a JSON object");
  CAIRN_RETURN_IF_ERROR(detail::decode_object(j, "Proxy", proxy_fields(p)));
  return p;
}

Result<std::string> canonical_proxy_json(std::string_view proxy_json) {
  CAIRN_TRY(ConnectProxy p, parse_connect_proxy(proxy_json));
  return encode_proxy(p, parse_object(proxy_json)).dump();
}

bool connect_native(const NodeService& s) {
  auto c = parse_connect(s.connect_json);
  return c.ok() && c->native;
}

std::string connect_destination(const NodeService& s) {
  if (s.kind == kConnectProxyKind) {
    auto p = parse_connect_proxy(s.proxy_json);
    return p.ok() ? p->destination_service_name : std::string();
  }
  if (s.kind.empty() && connect_native(s)) return s.service;
  return {};
}

Status validate_connect(const NodeService& s, bool require_port) {
  CAIRN_TRY(ConnectFields c, parse_connect(s.connect_json));
  if (s.kind == kConnectProxyKind) {
    if (require_port && s.port == 0) return invalid("Port or SocketPath must be set for a connect-proxy");
    CAIRN_TRY(ConnectProxy p, parse_connect_proxy(s.proxy_json));
    if (p.destination_service_name.find_first_not_of(" \t\r\n") == std::string::npos)
      return invalid("Proxy.DestinationServiceName must be non-empty for Connect proxy services");
    if (p.destination_service_name == "*")
      return invalid("Proxy.DestinationServiceName must not be a wildcard for Connect proxy services");
    if (c.native) return invalid("A Proxy cannot also be Connect Native, only typical services");
    if (p.local_service_port < 0 || p.local_service_port > 65535)
      return invalid("Proxy.LocalServicePort: must be between 0 and 65535, got " +
                     std::to_string(p.local_service_port));
    std::set<std::string> targets, binds;
    for (size_t i = 0; i < p.upstreams.size(); ++i) {
      const auto& u = p.upstreams[i];
      std::string at = "Proxy.Upstreams[" + std::to_string(i) + "]";
      if (u.destination_type != "service" && u.destination_type != "prepared_query")
        return invalid(at + ".DestinationType: must be \"service\" or \"prepared_query\", got \"" +
                       u.destination_type + "\"");
      if (u.destination_name.empty()) return invalid("upstream destination name cannot be empty");
      if (u.local_bind_port <= 0 || u.local_bind_port > 65535)
        return invalid(at + ".LocalBindPort: must be between 1 and 65535, got " + std::to_string(u.local_bind_port));
      std::string key = u.destination_type + "/" + u.datacenter + "/" + u.destination_name;
      if (!targets.insert(key).second)
        return invalid("upstreams cannot contain duplicates of " + u.destination_name);
      std::string addr = (u.local_bind_address.empty() ? "127.0.0.1" : u.local_bind_address) + ":" +
                         std::to_string(u.local_bind_port);
      if (!binds.insert(addr).second)
        return invalid("upstreams cannot contain duplicates by local bind address and port or unix path; \"" + addr +
                       "\" is specified twice");
    }
  } else if (!s.proxy_json.empty() && s.kind.empty()) {
    // A typical service may carry a (zero) Proxy; only its shape is checked.
    auto p = parse_connect_proxy(s.proxy_json);
    if (!p.ok()) return p.error();
  }
  if (c.has_sidecar) {
    if (s.kind == kConnectProxyKind) return invalid("A connect-proxy cannot have a sidecar service defined");
    ServiceDefinition nested;
    CAIRN_RETURN_IF_ERROR(detail::read_service_definition(c.sidecar, "Connect.SidecarService", nested));
    if (!nested.service.id.empty())
      return invalid("A SidecarService cannot specify an ID as this is managed by the agent");
    if (has_member(parse_object(nested.service.connect_json), {"SidecarService", "sidecar_service"}))
      return invalid("A SidecarService cannot have a nested SidecarService");
  }
  if (c.native && s.port == 0) return invalid("Port or SocketPath must be set for a Connect native service.");
  return {};
}

Result<std::optional<SidecarPlan>> split_sidecar(ServiceDefinition& parent) {
  const NodeService& ns = parent.service;
  CAIRN_TRY(ConnectFields c, parse_connect(ns.connect_json));
  if (!c.has_sidecar) return std::optional<SidecarPlan>{};
  CAIRN_RETURN_IF_ERROR(validate_connect(ns, false));

  SidecarPlan plan;
  plan.supervised = c.managed_sidecar;
  ServiceDefinition& d = plan.sidecar;
  CAIRN_RETURN_IF_ERROR(detail::read_service_definition(c.sidecar, "Connect.SidecarService", d));
  for (const auto& [k, v] : c.sidecar.items())
    if (equal_fold(k, "Token") && v.is_string()) plan.token = v.get<std::string>();
  NodeService& s = d.service;
  if (!s.kind.empty() && s.kind != kConnectProxyKind)
    return invalid("Connect.SidecarService.Kind: a sidecar can only be of kind \"connect-proxy\", got \"" + s.kind +
                   "\"");
  s.kind = std::string(kConnectProxyKind);
  s.id = ns.id + std::string(kSidecarSuffix);
  if (s.service.empty()) s.service = ns.service + std::string(kSidecarSuffix);
  if (s.meta.empty()) s.meta = ns.meta;
  if (s.tags.empty()) s.tags = ns.tags;
  if (s.address.empty()) s.address = ns.address;

  CAIRN_TRY(ConnectProxy p, parse_connect_proxy(s.proxy_json));
  if (p.destination_service_name.empty()) p.destination_service_name = ns.service;
  if (p.destination_service_id.empty()) p.destination_service_id = ns.id;
  if (p.local_service_address.empty() || p.local_service_port < 1) {
    if (p.local_service_address.empty()) p.local_service_address = "127.0.0.1";
    if (p.local_service_port < 1) p.local_service_port = ns.port;
  }
  s.proxy_json = encode_proxy(p, parse_object(s.proxy_json)).dump();
  plan.default_checks = d.checks.empty();

  // The parent keeps the rest of its Connect (Native, ...), as Consul does.
  Json connect = parse_object(ns.connect_json);
  Json kept = Json::object();
  for (const auto& [k, v] : connect.items())
    if (!equal_fold(k, "SidecarService") && !equal_fold(k, "sidecar_service") && !equal_fold(k, "ManagedSidecar") &&
        !equal_fold(k, "managed_sidecar"))
      kept[k] = v;
  parent.service.connect_json = kept.empty() ? std::string() : kept.dump();
  return std::optional<SidecarPlan>{std::move(plan)};
}

std::vector<CheckDefinition> sidecar_default_checks(const NodeService& sidecar, const std::string& parent_id) {
  std::string address = sidecar.address;
  if (address.empty()) {
    auto p = parse_connect_proxy(sidecar.proxy_json);
    address = p.ok() && !p->local_service_address.empty() ? p->local_service_address : "127.0.0.1";
  }
  std::string host = address.find(':') != std::string::npos ? "[" + address + "]" : address;
  CheckDefinition listening;
  listening.name = "Connect Sidecar Listening";
  listening.definition.tcp = host + ":" + std::to_string(sidecar.port);
  listening.definition.interval = std::chrono::seconds(10);
  CheckDefinition alias;
  alias.name = "Connect Sidecar Aliasing " + parent_id;
  alias.definition.alias_service = parent_id;
  return {listening, alias};
}

std::string sidecar_parent_id(std::string_view sidecar_id) {
  if (sidecar_id.size() <= kSidecarSuffix.size() || !sidecar_id.ends_with(kSidecarSuffix)) return {};
  return std::string(sidecar_id.substr(0, sidecar_id.size() - kSidecarSuffix.size()));
}

}  // namespace cairn::api
