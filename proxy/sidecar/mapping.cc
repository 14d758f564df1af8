#include "proxy/sidecar/mapping.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>

#include "api/json.h"

namespace cairn::proxy::sidecar {
namespace {

using json = nlohmann::json;

Error field_error(const std::string& field, const std::string& what) {
  return Error(errc::invalid_argument, field + ": " + what);
}

// Go's decoder matches field names case-insensitively; Consul's also takes
// snake_case aliases (local_service_port). Both fold to "localserviceport".
std::string fold(std::string_view name) {
  std::string out;
  for (char c : name)
    if (c != '_') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

const json* member(const json& obj, std::string_view go_name) {
  if (!obj.is_object()) return nullptr;
  std::string want = fold(go_name);
  for (const auto& item : obj.items())
    if (fold(item.key()) == want && !item.value().is_null()) return &item.value();
  return nullptr;
}

Status read_string(const json& obj, std::string_view name, const std::string& at, std::string& out) {
  const json* v = member(obj, name);
  if (!v) return {};
  if (!v->is_string()) return field_error(at + std::string(name), "expected a string");
  out = v->get<std::string>();
  return {};
}

Status read_int(const json& obj, std::string_view name, const std::string& at, int& out) {
  const json* v = member(obj, name);
  if (!v) return {};
  if (!v->is_number_integer()) return field_error(at + std::string(name), "expected an integer");
  out = v->get<int>();
  return {};
}

// A Proxy.Config value as a whole number: a JSON integer or a decimal string
// (Consul's built-in proxy decodes Config weakly typed, so "21000" counts).
Result<int64_t> config_integer(const json& v, const std::string& field, int64_t min, int64_t max) {
  int64_t n = 0;
  bool ok = false;
  if (v.is_number_integer()) {
    n = v.get<int64_t>();
    ok = true;
  } else if (v.is_string()) {
    const std::string s = v.get<std::string>();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    ok = ec == std::errc() && p == s.data() + s.size() && !s.empty();
  }
  std::string range = std::to_string(min) + " to " + std::to_string(max);
  if (!ok) return field_error(field, "expected an integer (" + range + "), got " + v.dump());
  if (n < min || n > max) return field_error(field, "want " + range + ", got " + std::to_string(n));
  return n;
}

Result<std::string> config_string(const json& v, const std::string& field) {
  if (!v.is_string() || v.get<std::string>().empty()) return field_error(field, "expected a non-empty string, got " + v.dump());
  return v.get<std::string>();
}

Result<Duration> config_millis(const json& v, const std::string& field) {
  auto n = config_integer(v, field, 1, int64_t{24} * 3600 * 1000);
  if (!n) return n.error();
  return std::chrono::duration_cast<Duration>(std::chrono::milliseconds(*n));
}

Result<uint16_t> config_port(const json& v, const std::string& field) {
  auto n = config_integer(v, field, 1, 65535);
  if (!n) return n.error();
  return static_cast<uint16_t>(*n);
}

// "host:port" (IPv6 as "[::1]:port").
Status parse_host_port(const std::string& text, const std::string& field, std::string& host, uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return field_error(field, "want host:port, got \"" + text + "\"");
  host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto p = config_port(json(text.substr(colon + 1)), field);
  if (!p) return field_error(field, "want host:port with a port 1 to 65535, got \"" + text + "\"");
  port = *p;
  return {};
}

Status apply_upstream_config(const json& cfg, const std::string& at, UpstreamConfig& u,
                             std::vector<std::string>* ignored) {
  for (const auto& [k, v] : cfg.items()) {
    std::string field = at + k;
    if (k == "balance") {
      auto s = config_string(v, field);
      if (!s) return s.error();
      if (*s != "round_robin" && *s != "least_conn" && *s != "p2c")
        return field_error(field, "want round_robin, least_conn or p2c, got \"" + *s + "\"");
      auto p = parse_balance_policy(*s, field);
      if (!p) return p.error();
      u.policy = *p;
    } else if (k == "connect_timeout_ms") {
      auto d = config_millis(v, field);
      if (!d) return d.error();
      u.connect_timeout = *d;
    } else if (k == "idle_timeout_ms") {
      auto d = config_millis(v, field);
      if (!d) return d.error();
      u.idle_timeout = *d;
    } else if (k == "max_attempts") {
      auto n = config_integer(v, field, 1, 100);
      if (!n) return n.error();
      u.max_attempts = static_cast<int>(*n);
    } else if (ignored) {
      ignored->push_back(field);
    }
  }
  return {};
}

Status apply_proxy_config(const json& cfg, ProxyConfig& c, std::vector<std::string>* ignored) {
  for (const auto& [k, v] : cfg.items()) {
    std::string field = "Proxy.Config." + k;
    Status st;
    if (k == "bind_address" || k == "local_service_address") {
      auto s = config_string(v, field);
      if (!s) return s.error();
      (k == "bind_address" ? c.bind_address : c.local_service_address) = *s;
    } else if (k == "bind_port") {
      auto p = config_port(v, field);
      if (!p) return p.error();
      c.bind_port = *p;
    } else if (k == "local_connect_timeout_ms" || k == "handshake_timeout_ms" || k == "idle_timeout_ms") {
      auto d = config_millis(v, field);
      if (!d) return d.error();
      (k == "local_connect_timeout_ms" ? c.local_connect_timeout
       : k == "handshake_timeout_ms"   ? c.handshake_timeout
                                       : c.idle_timeout) = *d;
    } else if (k == "max_connections") {
      auto n = config_integer(v, field, 1, 1'000'000);
      if (!n) return n.error();
      c.max_connections = static_cast<int>(*n);
    } else if (k == "stats_bind_addr") {
      auto s = config_string(v, field);
      if (!s) return s.error();
      CAIRN_RETURN_IF_ERROR(parse_host_port(*s, field, c.stats_bind_address, c.stats_bind_port));
      c.stats_enabled = true;
    } else if (ignored) {
      ignored->push_back(field);
    }
  }
  return {};
}

}  // namespace

Result<Registration> parse_registration(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error(errc::parse_error, "proxy registration: not a JSON object");
  Registration r;
  CAIRN_RETURN_IF_ERROR(read_string(j, "Kind", "", r.kind));
  CAIRN_RETURN_IF_ERROR(read_string(j, "ID", "", r.id));
  CAIRN_RETURN_IF_ERROR(read_string(j, "Service", "", r.service));
  CAIRN_RETURN_IF_ERROR(read_string(j, "Address", "", r.address));
  CAIRN_RETURN_IF_ERROR(read_int(j, "Port", "", r.port));
  CAIRN_RETURN_IF_ERROR(read_string(j, "ContentHash", "", r.content_hash));
  if (r.kind != "connect-proxy")
    return field_error("Kind", "service \"" + r.id + "\" is not a connect-proxy (Kind \"" + r.kind + "\")");
  const json* proxy = member(j, "Proxy");
  if (!proxy || !proxy->is_object()) return field_error("Proxy", "missing in service \"" + r.id + "\"");
  CAIRN_TRY(r.proxy, api::parse_connect_proxy(proxy->dump()));
  if (r.proxy.destination_service_name.empty()) return field_error("Proxy.DestinationServiceName", "must be set");
  if (r.proxy.destination_service_id.empty()) r.proxy.destination_service_id = r.proxy.destination_service_name;
  return r;
}

Result<std::vector<std::string>> proxy_ids_for(std::string_view text, std::string_view service_id) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error(errc::parse_error, "agent services: not a JSON object");
  std::vector<std::string> ids;
  for (const auto& [key, svc] : j.items()) {
    std::string kind, dest_id;
    CAIRN_RETURN_IF_ERROR(read_string(svc, "Kind", key + ".", kind));
    if (kind != "connect-proxy") continue;
    const json* p = member(svc, "Proxy");
    if (!p) continue;
    CAIRN_RETURN_IF_ERROR(read_string(*p, "DestinationServiceID", key + ".Proxy.", dest_id));
    if (dest_id == service_id) ids.push_back(key);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<ProxyConfig> proxy_config_of(const Registration& reg, std::string_view trust_domain,
                                    std::vector<std::string>* ignored) {
  ProxyConfig c;
  const api::ConnectProxy& p = reg.proxy;
  c.service = p.destination_service_name;
  c.trust_domain = std::string(trust_domain);
  // Consul's built-in proxy listens on the registration's address, else on
  // every interface: other hosts dial the public listener.
  c.bind_address = reg.address.empty() ? "0.0.0.0" : reg.address;
  if (reg.port < 0 || reg.port > 65535) return field_error("Port", "want 0 to 65535, got " + std::to_string(reg.port));
  c.bind_port = static_cast<uint16_t>(reg.port);
  c.local_service_address = p.local_service_address.empty() ? "127.0.0.1" : p.local_service_address;
  if (p.local_service_port < 0 || p.local_service_port > 65535)
    return field_error("Proxy.LocalServicePort", "want 0 to 65535, got " + std::to_string(p.local_service_port));
  c.local_service_port = static_cast<uint16_t>(p.local_service_port);
  for (size_t i = 0; i < p.upstreams.size(); ++i) {
    const api::ProxyUpstream& u = p.upstreams[i];
    std::string at = "Proxy.Upstreams[" + std::to_string(i) + "].";
    if (u.destination_type != "service")
      return field_error(at + "DestinationType", "only \"service\" is supported, got \"" + u.destination_type + "\"");
    if (u.destination_name.empty()) return field_error(at + "DestinationName", "must be set");
    if (u.local_bind_port < 1 || u.local_bind_port > 65535)
      return field_error(at + "LocalBindPort", "want 1 to 65535, got " + std::to_string(u.local_bind_port));
    for (const auto& other : c.upstreams)
      if (other.destination_name == u.destination_name)
        return field_error(at + "DestinationName", "\"" + u.destination_name + "\" appears twice");
    UpstreamConfig uc;
    uc.destination_name = u.destination_name;
    uc.datacenter = u.datacenter;
    if (!u.local_bind_address.empty()) uc.local_bind_address = u.local_bind_address;
    uc.local_bind_port = static_cast<uint16_t>(u.local_bind_port);
    json cfg = json::parse(u.config_json.empty() ? "{}" : u.config_json, nullptr, false);
    if (!cfg.is_object()) return field_error(at + "Config", "expected an object");
    CAIRN_RETURN_IF_ERROR(apply_upstream_config(cfg, at + "Config.", uc, ignored));
    c.upstreams.push_back(std::move(uc));
  }
  json cfg = json::parse(p.config_json.empty() ? "{}" : p.config_json, nullptr, false);
  if (!cfg.is_object()) return field_error("Proxy.Config", "expected an object");
  CAIRN_RETURN_IF_ERROR(apply_proxy_config(cfg, c, ignored));
  CAIRN_RETURN_IF_ERROR(c.validate());
  return c;
}

std::vector<Endpoint> endpoints_of(const std::vector<api::HealthServiceEntry>& rows) {
  std::vector<Endpoint> out;
  for (const auto& row : rows) {
    if (row.service.port <= 0 || row.service.port > 65535) continue;
    Endpoint e;
    e.address = row.service.address.empty() ? row.node.address : row.service.address;
    e.port = static_cast<uint16_t>(row.service.port);
    if (e.address.empty()) continue;
    out.push_back(std::move(e));
  }
  return out;
}

Result<TrustBundle> trust_bundle_of(const api::CARoots& roots) {
  TrustBundle b;
  std::vector<const api::CARoot*> ordered;
  for (const auto& r : roots.roots) ordered.push_back(&r);
  std::stable_partition(ordered.begin(), ordered.end(), [](const api::CARoot* r) { return r->active; });
  for (const auto* r : ordered) {
    if (r->root_cert.empty()) continue;
    b.roots_pem += r->root_cert;
    if (b.roots_pem.back() != '\n') b.roots_pem += '\n';
  }
  if (b.roots_pem.empty()) return field_error("Roots", "no root certificate");
  return b;
}

Result<LeafCertificate> leaf_of(const api::IssuedCert& cert) {
  if (cert.cert_pem.empty()) return field_error("CertPEM", "empty");
  if (cert.private_key_pem.empty()) return field_error("PrivateKeyPEM", "empty");
  return LeafCertificate{cert.cert_pem, cert.private_key_pem};
}

Result<std::shared_ptr<const api::IntentionIndex>> intention_index_of(std::string_view text, std::string_view name) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error(errc::parse_error, "intentions match: not a JSON object");
  auto it = j.find(std::string(name));
  std::vector<api::Intention> ixns;
  if (it != j.end() && !it->is_null()) {
    auto decoded = api::decode_intentions(it->dump());
    if (!decoded) return decoded.error();
    ixns = std::move(*decoded);
  }
  // The index is built from service-intentions entries: one per destination.
  std::vector<api::ServiceIntentions> entries;
  for (const auto& ixn : ixns) {
    auto e = std::find_if(entries.begin(), entries.end(), [&](const api::ServiceIntentions& s) {
      return s.name == ixn.destination_name && s.ns == ixn.destination_ns;
    });
    if (e == entries.end()) {
      entries.push_back(api::ServiceIntentions{ixn.destination_name, ixn.destination_ns, {}, {}});
      e = entries.end() - 1;
    }
    e->sources.push_back(api::to_source(ixn));
  }
  std::vector<api::ConfigEntry> config;
  for (auto& e : entries) {
    api::normalize_intentions(e);
    config.push_back(api::ConfigEntry{std::string(api::kServiceIntentionsKind), e.name,
                                      api::encode_service_intentions(e), 0, 0});
  }
  auto index = std::make_shared<const api::IntentionIndex>(api::IntentionIndex::build(config));
  if (index->skipped() > 0) return Error(errc::invalid_argument, "intentions match: an intention did not decode");
  return std::shared_ptr<const api::IntentionIndex>(index);
}

std::string authorize_body(std::string_view target, std::string_view client_cert_uri) {
  return json{{"Target", target}, {"ClientCertURI", client_cert_uri}}.dump();
}

Result<bool> authorized_of(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error(errc::parse_error, "authorize: not a JSON object");
  const json* a = member(j, "Authorized");
  if (!a || !a->is_boolean()) return field_error("Authorized", "expected a boolean");
  return a->get<bool>();
}

std::string unmatched_source_uri(std::string_view trust_domain, std::string_view datacenter) {
  // '~' cannot appear in a registered service name (Consul's DNS-safe names).
  return "spiffe://" + std::string(trust_domain) + "/ns/default/dc/" + std::string(datacenter) +
         "/svc/~cairn-sidecar-default~";
}

}  // namespace cairn::proxy::sidecar
