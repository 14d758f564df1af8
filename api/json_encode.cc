// Encoding of the API types in Consul's field order and types (see api/json.h).
#include "core/base64.h"
#include "api/json.h"
#include "api/json_detail.h"
#include "core/duration.h"

namespace cairn::api {
namespace detail {
namespace {

Json string_map(const StringMap& m) {
  Json j = Json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

Json string_list(const std::vector<std::string>& v) {
  Json j = Json::array();
  for (const auto& s : v) j.push_back(s);
  return j;
}

Json tagged_addresses(const std::map<std::string, ServiceAddress>& m) {
  Json j = Json::object();
  for (const auto& [k, a] : m) j[k] = Json{{"Address", a.address}, {"Port", a.port}};
  return j;
}

Json weights(const Weights& w) { return Json{{"Passing", w.passing}, {"Warning", w.warning}}; }

// Consul's zero ConnectProxyConfig / ServiceConnect as its API prints them.
Json raw_object(const std::string& text, bool proxy) {
  if (text.empty()) {
    if (!proxy) return Json::object();
    return Json{{"Mode", ""}, {"MeshGateway", Json::object()}, {"Expose", Json::object()}};
  }
  return Json::parse(text, nullptr, false);  // written by our own decoder: valid
}

Json definition(const HealthCheckDefinition& d) {
  // Every member is omitempty in Consul.
  Json j = Json::object();
  auto str = [&](const char* name, const std::string& v) {
    if (!v.empty()) j[name] = v;
  };
  auto flag = [&](const char* name, bool v) {
    if (v) j[name] = true;
  };
  auto dur = [&](const char* name, Duration v) {
    if (v != Duration(0)) j[name] = format_duration(v);
  };
  str("HTTP", d.http);
  str("TLSServerName", d.tls_server_name);
  flag("TLSSkipVerify", d.tls_skip_verify);
  if (!d.header.empty()) {
    Json h = Json::object();
    for (const auto& [k, v] : d.header) h[k] = string_list(v);
    j["Header"] = std::move(h);
  }
  str("Method", d.method);
  str("Body", d.body);
  flag("DisableRedirects", d.disable_redirects);
  str("TCP", d.tcp);
  str("UDP", d.udp);
  str("GRPC", d.grpc);
  flag("GRPCUseTLS", d.grpc_use_tls);
  str("H2PING", d.h2ping);
  dur("Interval", d.interval);
  if (d.output_max_size != 0) j["OutputMaxSize"] = d.output_max_size;
  dur("Timeout", d.timeout);
  dur("DeregisterCriticalServiceAfter", d.deregister_critical_service_after);
  if (!d.script_args.empty()) j["ScriptArgs"] = string_list(d.script_args);
  str("DockerContainerID", d.docker_container_id);
  str("Shell", d.shell);
  str("AliasNode", d.alias_node);
  str("AliasService", d.alias_service);
  dur("TTL", d.ttl);
  return j;
}

// The node's fields as both Node and the flattened ServiceNode print them;
// only the name of the metadata differs ("Meta" vs "NodeMeta").
void node_fields(Json& j, const Node& n, const char* meta_name) {
  j["ID"] = n.id;
  j["Node"] = n.node;
  j["Address"] = n.address;
  j["Datacenter"] = n.datacenter;
  j["TaggedAddresses"] = string_map(n.tagged_addresses);
  j[meta_name] = string_map(n.meta);
}

void raft_fields(Json& j, const RaftIndex& r) {
  j["CreateIndex"] = r.create_index;
  j["ModifyIndex"] = r.modify_index;
}

template <typename T>
std::string dump_list(const std::vector<T>& items) {
  Json j = Json::array();
  for (const auto& item : items) j.push_back(encode(item));
  return j.dump();
}

}  // namespace

Json encode(const KVPair& kv) {
  Json j = Json::object();
  j["LockIndex"] = kv.lock_index;
  j["Key"] = kv.key;
  j["Flags"] = kv.flags;
  j["Value"] = kv.value ? Json(base64_encode(*kv.value)) : Json(nullptr);
  if (!kv.session.empty()) j["Session"] = kv.session;
  raft_fields(j, kv.raft);
  return j;
}


Json encode(const Node& n) {
  Json j = Json::object();
  node_fields(j, n, "Meta");
  raft_fields(j, n.raft);
  return j;
}

Json encode(const NodeService& s) {
  Json j = Json::object();
  if (!s.kind.empty()) j["Kind"] = s.kind;
  j["ID"] = s.id;
  j["Service"] = s.service;
  j["Tags"] = string_list(s.tags);
  j["Address"] = s.address;
  if (!s.tagged_addresses.empty()) j["TaggedAddresses"] = tagged_addresses(s.tagged_addresses);
  j["Meta"] = string_map(s.meta);
  if (s.port != 0) j["Port"] = s.port;  // omitempty in Consul's NodeService
  j["Weights"] = weights(s.weights);
  j["EnableTagOverride"] = s.enable_tag_override;
  j["Proxy"] = raw_object(s.proxy_json, true);
  j["Connect"] = raw_object(s.connect_json, false);
  raft_fields(j, s.raft);
  return j;
}

Json encode(const CatalogServiceEntry& e) {
  const Node& n = e.node;
  const NodeService& s = e.service;
  Json j = Json::object();
  node_fields(j, n, "NodeMeta");
  j["ServiceKind"] = s.kind;
  j["ServiceID"] = s.id;
  j["ServiceName"] = s.service;
  j["ServiceTags"] = string_list(s.tags);
  j["ServiceAddress"] = s.address;
  if (!s.tagged_addresses.empty()) j["ServiceTaggedAddresses"] = tagged_addresses(s.tagged_addresses);
  j["ServiceWeights"] = weights(s.weights);
  j["ServiceMeta"] = string_map(s.meta);
  j["ServicePort"] = s.port;
  j["ServiceEnableTagOverride"] = s.enable_tag_override;
  j["ServiceProxy"] = raw_object(s.proxy_json, true);
  j["ServiceConnect"] = raw_object(s.connect_json, false);
  raft_fields(j, s.raft);
  return j;
}

Json encode(const HealthCheck& c) {
  Json j = Json::object();
  j["Node"] = c.node;
  j["CheckID"] = c.check_id;
  j["Name"] = c.name;
  j["Status"] = c.status;
  j["Notes"] = c.notes;
  j["Output"] = c.output;
  j["ServiceID"] = c.service_id;
  j["ServiceName"] = c.service_name;
  j["ServiceTags"] = string_list(c.service_tags);
  j["Type"] = c.type;
  if (c.definition.interval != Duration(0)) j["Interval"] = format_duration(c.definition.interval);
  if (c.definition.timeout != Duration(0)) j["Timeout"] = format_duration(c.definition.timeout);
  j["ExposedPort"] = 0;
  j["Definition"] = definition(c.definition);
  raft_fields(j, c.raft);
  return j;
}

Json encode(const HealthServiceEntry& e) {
  Json checks = Json::array();
  for (const auto& c : e.checks) checks.push_back(encode(c));
  Json j = Json::object();
  j["Node"] = encode(e.node);
  j["Service"] = encode(e.service);
  j["Checks"] = std::move(checks);
  return j;
}

Json encode(const Session& s) {
  Json j = Json::object();
  j["ID"] = s.id;
  j["Name"] = s.name;
  j["Node"] = s.node;
  j["LockDelay"] = s.lock_delay.count();
  j["Behavior"] = s.behavior;
  j["TTL"] = s.ttl;
  j["NodeChecks"] = string_list(s.node_checks);
  if (s.service_checks.empty()) {
    j["ServiceChecks"] = nullptr;
  } else {
    Json sc = Json::array();
    for (const auto& c : s.service_checks) sc.push_back(Json{{"ID", c.id}, {"Namespace", c.ns}});
    j["ServiceChecks"] = std::move(sc);
  }
  if (!s.checks.empty()) j["Checks"] = string_list(s.checks);
  raft_fields(j, s.raft);
  return j;
}

}  // namespace detail

using detail::encode;

std::string to_json(const KVPair& kv) { return encode(kv).dump(); }
std::string to_json(const std::vector<KVPair>& kvs) { return detail::dump_list(kvs); }
std::string to_json(const Node& node) { return encode(node).dump(); }
std::string to_json(const std::vector<Node>& nodes) { return detail::dump_list(nodes); }
std::string to_json(const NodeService& service) { return encode(service).dump(); }
std::string to_json(const std::vector<CatalogServiceEntry>& entries) { return detail::dump_list(entries); }
std::string to_json(const HealthCheck& check) { return encode(check).dump(); }
std::string to_json(const std::vector<HealthCheck>& checks) { return detail::dump_list(checks); }
std::string to_json(const std::vector<HealthServiceEntry>& entries) { return detail::dump_list(entries); }
std::string to_json(const Session& session) { return encode(session).dump(); }
std::string to_json(const std::vector<Session>& sessions) { return detail::dump_list(sessions); }

std::string to_json(const NodeServices& ns) {
  detail::Json services = detail::Json::object();
  for (const auto& s : ns.services) services[s.id] = encode(s);
  detail::Json j = detail::Json::object();
  j["Node"] = encode(ns.node);
  j["Services"] = std::move(services);
  return j.dump();
}

std::string to_json(const std::map<std::string, std::vector<std::string>>& services) {
  detail::Json j = detail::Json::object();
  for (const auto& [name, tags] : services) j[name] = detail::string_list(tags);
  return j.dump();
}

std::string to_json(const std::vector<std::string>& keys) { return detail::string_list(keys).dump(); }

}  // namespace cairn::api
