// Go-style decoding of request and response bodies into the API types (see api/json.h).
#include <algorithm>

#include "core/strings.h"
#include <cctype>
#include <limits>

#include "core/base64.h"
#include "api/json.h"
#include "api/json_detail.h"
#include "core/duration.h"

namespace cairn::api {
namespace detail {
namespace {

std::string join(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}

std::string with_article(std::string_view want) {
  bool vowel = !want.empty() && std::string_view("aeiou").find(want[0]) != std::string_view::npos;
  return (vowel ? "an " : "a ") + std::string(want);
}

}  // namespace

std::string_view kind_of(const Json& j) {
  if (j.is_string()) return "string";
  if (j.is_number()) return "number";
  if (j.is_boolean()) return "bool";
  if (j.is_array()) return "array";
  if (j.is_object()) return "object";
  return "null";
}

Error type_error(const std::string& path, std::string_view want, const Json& got) {
  return Error(errc::invalid_argument,
               path + ": expected " + with_article(want) + ", got " + std::string(kind_of(got)));
}

Status decode_object(const Json& j, const std::string& path, const std::vector<Field>& fields) {
  if (j.is_null()) return {};
  if (!j.is_object()) return type_error(path.empty() ? "body" : path, "object", j);
  for (const auto& [key, value] : j.items()) {
    if (value.is_null()) continue;
    for (const Field& f : fields) {
      bool match = std::any_of(f.names.begin(), f.names.end(),
                               [&](std::string_view n) { return !n.empty() && equal_fold(n, key); });
      if (!match) continue;
      CAIRN_RETURN_IF_ERROR(f.set(value, join(path, f.names[0])));
      break;
    }
  }
  return {};
}

Status read(const Json& j, const std::string& path, std::string& out) {
  if (!j.is_string()) return type_error(path, "string", j);
  out = j.get<std::string>();
  return {};
}

Status read(const Json& j, const std::string& path, bool& out) {
  if (!j.is_boolean()) return type_error(path, "bool", j);
  out = j.get<bool>();
  return {};
}

Status read(const Json& j, const std::string& path, int& out) {
  if (!j.is_number()) return type_error(path, "number", j);
  if (!j.is_number_integer()) return Error(errc::invalid_argument, path + ": expected an integer, got " + j.dump());
  if (j.is_number_unsigned() ? j.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int>::max())
                             : (j.get<int64_t>() > std::numeric_limits<int>::max() ||
                                j.get<int64_t>() < std::numeric_limits<int>::min()))
    return Error(errc::invalid_argument, path + ": number " + j.dump() + " is out of range");
  out = static_cast<int>(j.get<int64_t>());
  return {};
}

Status read(const Json& j, const std::string& path, uint64_t& out) {
  if (!j.is_number()) return type_error(path, "number", j);
  if (!j.is_number_integer() || (!j.is_number_unsigned() && j.get<int64_t>() < 0))
    return Error(errc::invalid_argument, path + ": expected an unsigned integer, got " + j.dump());
  out = j.get<uint64_t>();
  return {};
}

Status read(const Json& j, const std::string& path, Duration& out) {
  if (j.is_string()) {
    auto d = parse_duration(j.get<std::string>());
    if (!d) return Error(errc::invalid_argument, path + ": " + d.error().message());
    out = *d;
    return {};
  }
  if (j.is_number_integer()) {
    if (!j.is_number_unsigned() || j.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      out = Duration(j.get<int64_t>());
      return {};
    }
    return Error(errc::invalid_argument, path + ": duration " + j.dump() + " is out of range");
  }
  if (j.is_number_float()) {
    double v = j.get<double>();
    if (v != static_cast<double>(static_cast<int64_t>(v)) || v > 9.2e18 || v < -9.2e18)
      return Error(errc::invalid_argument, path + ": duration " + j.dump() + " is not a whole number of nanoseconds");
    out = Duration(static_cast<int64_t>(v));
    return {};
  }
  return type_error(path, "duration", j);
}

// A JSON array element by element; errors name the element ("Tags[1]").
template <typename T>
Status read_list(const Json& j, const std::string& path, std::vector<T>& out) {
  if (!j.is_array()) return type_error(path, "array", j);
  out.clear();
  for (size_t i = 0; i < j.size(); ++i) {
    T item{};
    CAIRN_RETURN_IF_ERROR(read(j[i], path + "[" + std::to_string(i) + "]", item));
    out.push_back(std::move(item));
  }
  return {};
}

Status read(const Json& j, const std::string& path, std::vector<std::string>& out) { return read_list(j, path, out); }

Status read(const Json& j, const std::string& path, StringMap& out) {
  if (!j.is_object()) return type_error(path, "object", j);
  out.clear();
  for (const auto& [k, v] : j.items()) {
    if (v.is_null()) {
      out[k];
      continue;
    }
    CAIRN_RETURN_IF_ERROR(read(v, path + "[" + k + "]", out[k]));
  }
  return {};
}

Status read(const Json& j, const std::string& path, std::map<std::string, std::vector<std::string>>& out) {
  if (!j.is_object()) return type_error(path, "object", j);
  out.clear();
  for (const auto& [k, v] : j.items()) {
    if (v.is_null()) continue;
    CAIRN_RETURN_IF_ERROR(read(v, path + "[" + k + "]", out[k]));
  }
  return {};
}

namespace {
// Go's zero value, as Consul prints an unset ConnectProxyConfig:
// {"Mode":"","MeshGateway":{},"Expose":{}}.
bool is_zero(const Json& j) {
  if (j.is_null()) return true;
  if (j.is_boolean()) return !j.get<bool>();
  if (j.is_number()) return j == 0;
  if (j.is_string()) return j.get_ref<const std::string&>().empty();
  if (j.is_array()) return j.empty();
  for (const auto& [k, v] : j.items()) {
    // Connect.SidecarService is a pointer in Go: present, even empty, it is
    // not the zero value (`"SidecarService": {}` asks for a sidecar).
    if (v.is_object() && (equal_fold(k, "SidecarService") || equal_fold(k, "sidecar_service"))) return false;
    // Proxy.Config is a Go map: with any key in it, even {"bind_port": 0}, it
    // is set, not the zero value.
    if (v.is_object() && !v.empty() && equal_fold(k, "Config")) return false;
    if (!is_zero(v)) return false;
  }
  return true;
}
}  // namespace

Status read(const Json& j, const std::string& path, RawObject out) {
  if (!j.is_object()) return type_error(path, "object", j);
  // A zero object is stored as "" so that what we print (Consul's zero
  // shape) reads back as unchanged and does not bump indexes.
  *out.text = (out.map ? j.empty() : is_zero(j)) ? std::string() : j.dump();
  return {};
}

Status read(const Json& j, const std::string& path, Weights& out) {
  return decode_object(j, path, {field({"Passing"}, out.passing), field({"Warning"}, out.warning)});
}

Status read(const Json& j, const std::string& path, std::map<std::string, ServiceAddress>& out) {
  if (!j.is_object()) return type_error(path, "object", j);
  out.clear();
  for (const auto& [k, v] : j.items()) {
    ServiceAddress& a = out[k];
    CAIRN_RETURN_IF_ERROR(decode_object(v, path + "[" + k + "]",
                                        {field({"Address"}, a.address), field({"Port"}, a.port)}));
  }
  return {};
}

std::vector<Field> definition_fields(HealthCheckDefinition& d) {
  // Consul's HealthCheckDefinition accepts both the stored names
  // (IntervalDuration) and the check-definition names (Interval).
  return {field({"HTTP"}, d.http), field({"TLSServerName", "tls_server_name"}, d.tls_server_name),
       field({"TLSSkipVerify", "tls_skip_verify"}, d.tls_skip_verify), field({"Header"}, d.header),
       field({"Method"}, d.method), field({"Body"}, d.body),
       field({"DisableRedirects", "disable_redirects"}, d.disable_redirects), field({"TCP"}, d.tcp),
       field({"UDP"}, d.udp), field({"GRPC"}, d.grpc), field({"GRPCUseTLS", "grpc_use_tls"}, d.grpc_use_tls),
       field({"Interval", "IntervalDuration"}, d.interval), field({"Timeout", "TimeoutDuration"}, d.timeout),
       field({"DeregisterCriticalServiceAfter", "DeregisterCriticalServiceAfterDuration",
              "deregister_critical_service_after"},
             d.deregister_critical_service_after),
       field({"ScriptArgs", "script_args", "Args"}, d.script_args),
       field({"H2PING", "h2ping"}, d.h2ping), field({"OutputMaxSize", "output_max_size"}, d.output_max_size),
       field({"DockerContainerID", "docker_container_id"}, d.docker_container_id), field({"Shell"}, d.shell),
       field({"AliasNode", "alias_node"}, d.alias_node), field({"AliasService", "alias_service"}, d.alias_service),
       field({"TTL"}, d.ttl)};
}

Status read(const Json& j, const std::string& path, HealthCheckDefinition& d) {
  return decode_object(j, path, definition_fields(d));
}

std::vector<Field> concat(std::vector<Field> a, std::vector<Field> b) {
  a.insert(a.end(), std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()));
  return a;
}

std::vector<Field> raft_fields(RaftIndex& r) {
  return {field({"CreateIndex"}, r.create_index), field({"ModifyIndex"}, r.modify_index)};
}

std::vector<Field> node_service_fields(NodeService& s) {
  return concat({field({"Kind"}, s.kind), field({"ID"}, s.id), field({"Service", "Name"}, s.service),
                 field({"Tags"}, s.tags), field({"Address"}, s.address),
                 field({"TaggedAddresses", "tagged_addresses"}, s.tagged_addresses), field({"Meta"}, s.meta),
                 field({"Port"}, s.port), field({"Weights"}, s.weights),
                 field({"EnableTagOverride", "enable_tag_override"}, s.enable_tag_override),
                 raw_field({"Proxy"}, s.proxy_json), raw_field({"Connect"}, s.connect_json)},
                raft_fields(s.raft));
}

std::vector<Field> node_fields(Node& n, std::string_view meta_name) {
  return {field({"ID"}, n.id), field({"Node"}, n.node), field({"Address"}, n.address),
          field({"Datacenter"}, n.datacenter), field({"TaggedAddresses", "tagged_addresses"}, n.tagged_addresses),
          field({meta_name}, n.meta)};
}

std::vector<Field> session_fields(Session& s, bool lock_delay_fixup) {
  return concat(
      {field({"ID"}, s.id), field({"Name"}, s.name), field({"Node"}, s.node),
       Field{{"LockDelay", "lock_delay"},
             [&s, lock_delay_fixup](const Json& v, const std::string& p) -> Status {
               CAIRN_RETURN_IF_ERROR(read(v, p, s.lock_delay));
               if (lock_delay_fixup && v.is_number() && s.lock_delay < Duration(1000)) s.lock_delay *= 1'000'000'000;
               return {};
             }},
       field({"Behavior"}, s.behavior), field({"TTL"}, s.ttl), field({"NodeChecks", "node_checks"}, s.node_checks),
       field({"ServiceChecks", "service_checks"}, s.service_checks), field({"Checks"}, s.checks)},
      raft_fields(s.raft));
}

Field kv_value_field(KVPair& kv) {
  return Field{{"Value"}, [&kv](const Json& v, const std::string& p) -> Status {
                 std::string text;
                 CAIRN_RETURN_IF_ERROR(read(v, p, text));
                 auto bytes = base64_decode(text);
                 if (!bytes) return Error(errc::invalid_argument, p + ": " + bytes.error().message());
                 kv.value = std::move(*bytes);
                 return {};
               }};
}

Status read(const Json& j, const std::string& path, KVPair& kv) {
  return decode_object(
      j, path,
      concat({field({"LockIndex"}, kv.lock_index), field({"Key"}, kv.key), field({"Flags"}, kv.flags),
              kv_value_field(kv),
              field({"Session"}, kv.session)},
             raft_fields(kv.raft)));
}

Status read(const Json& j, const std::string& path, Node& n) {
  return decode_object(j, path, concat(node_fields(n, "Meta"), raft_fields(n.raft)));
}

Status read(const Json& j, const std::string& path, Session& s) {
  return decode_object(j, path, session_fields(s, false));
}

Status read(const Json& j, const std::string& path, CatalogServiceEntry& e) {
  NodeService& s = e.service;
  return decode_object(
      j, path,
      concat(concat(node_fields(e.node, "NodeMeta"),
                    {field({"ServiceKind"}, s.kind), field({"ServiceID"}, s.id), field({"ServiceName"}, s.service),
                     field({"ServiceTags"}, s.tags), field({"ServiceAddress"}, s.address),
                     field({"ServiceTaggedAddresses"}, s.tagged_addresses), field({"ServiceWeights"}, s.weights),
                     field({"ServiceMeta"}, s.meta), field({"ServicePort"}, s.port),
                     field({"ServiceEnableTagOverride"}, s.enable_tag_override),
                     raw_field({"ServiceProxy"}, s.proxy_json), raw_field({"ServiceConnect"}, s.connect_json)}),
             raft_fields(s.raft)));
}

Status read(const Json& j, const std::string& path, HealthServiceEntry& e) {
  return decode_object(j, path,
                       {field({"Node"}, e.node), field({"Service"}, e.service), field({"Checks"}, e.checks)});
}

Status read_service_definition(const Json& j, const std::string& path, ServiceDefinition& d) {
  std::vector<CheckDefinition> single, many;
  auto fields = node_service_fields(d.service);
  fields.push_back(Field{{"Check"}, [&single](const Json& v, const std::string& p) {
                           single.emplace_back();
                           return read(v, p, single.back());
                         }});
  fields.push_back(field({"Checks"}, many));
  CAIRN_RETURN_IF_ERROR(decode_object(j, path, fields));
  d.checks = std::move(single);
  d.checks.insert(d.checks.end(), many.begin(), many.end());
  return {};
}

Status read(const Json& j, const std::string& path, NodeService& s) {
  return decode_object(j, path, node_service_fields(s));
}

Status read(const Json& j, const std::string& path, CheckDefinition& c) {
  std::vector<Field> fields = {
      field({"CheckID", "ID", "check_id"}, c.id), field({"Name"}, c.name), field({"Status"}, c.status),
      field({"Notes"}, c.notes), field({"ServiceID", "service_id"}, c.service_id),
      field({"FailuresBeforeWarning", "failures_before_warning"}, c.failures_before_warning),
      field({"FailuresBeforeCritical", "failures_before_critical"}, c.failures_before_critical),
      field({"SuccessBeforePassing", "success_before_passing"}, c.success_before_passing)};
  auto def = definition_fields(c.definition);
  fields.insert(fields.end(), std::make_move_iterator(def.begin()), std::make_move_iterator(def.end()));
  return decode_object(j, path, fields);
}

Status read(const Json& j, const std::string& path, std::vector<CheckDefinition>& out) { return read_list(j, path, out); }

Status read(const Json& j, const std::string& path, HealthCheck& c) {
  return decode_object(
      j, path,
      concat({field({"Node"}, c.node), field({"CheckID", "ID", "check_id"}, c.check_id), field({"Name"}, c.name),
              field({"Status"}, c.status), field({"Notes"}, c.notes), field({"Output"}, c.output),
              field({"ServiceID", "service_id"}, c.service_id),
              field({"ServiceName", "service_name"}, c.service_name),
              field({"ServiceTags", "service_tags"}, c.service_tags), field({"Type"}, c.type),
              field({"Definition"}, c.definition)},
             raft_fields(c.raft)));
}

Status read(const Json& j, const std::string& path, std::vector<HealthCheck>& out) { return read_list(j, path, out); }

Status read(const Json& j, const std::string& path, SessionServiceCheck& c) {
  return decode_object(j, path, {field({"ID"}, c.id), field({"Namespace"}, c.ns)});
}

Status read(const Json& j, const std::string& path, std::vector<SessionServiceCheck>& out) {
  return read_list(j, path, out);
}

Result<Json> parse_body(std::string_view body, std::string_view prefix) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return Error(errc::invalid_argument, std::string(prefix) + "EOF");
  try {
    return Json::parse(body);
  } catch (const Json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, ..." -> drop the tag.
    std::string what = e.what();
    if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    return Error(errc::invalid_argument, std::string(prefix) + what);
  }
}

Error decode_failed(const Error& e, std::string_view prefix) {
  return Error(errc::invalid_argument, std::string(prefix) + e.message());
}

}  // namespace detail

using detail::decode_failed;
using detail::field;
using detail::Json;

namespace {

template <typename T, typename Fn>
Result<T> decode_with(std::string_view body, Fn&& decode, std::string_view prefix = detail::kRequestFailed) {
  CAIRN_TRY(Json j, detail::parse_body(body, prefix));
  T out{};
  if (auto st = decode(j, out); !st) return decode_failed(st.error(), prefix);
  return out;
}

}  // namespace

Result<RegisterRequest> decode_register_request(std::string_view body) {
  return decode_with<RegisterRequest>(body, [](const Json& j, RegisterRequest& r) {
    std::string token;
    auto st = detail::decode_object(
        j, "",
        {field({"Datacenter"}, r.datacenter), field({"ID"}, r.id), field({"Node"}, r.node),
         field({"Address"}, r.address), field({"TaggedAddresses", "tagged_addresses"}, r.tagged_addresses),
         field({"NodeMeta", "node_meta"}, r.node_meta),
         detail::Field{{"Service"},
                       [&r](const Json& v, const std::string& p) {
                         r.service.emplace();
                         return detail::read(v, p, *r.service);
                       }},
         detail::Field{{"Check"},
                       [&r](const Json& v, const std::string& p) {
                         r.check.emplace();
                         return detail::read(v, p, *r.check);
                       }},
         field({"Checks"}, r.checks), field({"SkipNodeUpdate", "skip_node_update"}, r.skip_node_update),
         detail::Field{{"WriteRequest"},
                       [&r](const Json& v, const std::string& p) {
                         return detail::decode_object(v, p, {field({"Token"}, r.token)});
                       }}});
    return st;
  });
}

Result<DeregisterRequest> decode_deregister_request(std::string_view body) {
  return decode_with<DeregisterRequest>(body, [](const Json& j, DeregisterRequest& r) {
    return detail::decode_object(
        j, "",
        {field({"Datacenter"}, r.datacenter), field({"Node"}, r.node),
         field({"ServiceID", "service_id"}, r.service_id), field({"CheckID", "check_id"}, r.check_id),
         detail::Field{{"WriteRequest"}, [&r](const Json& v, const std::string& p) {
                         return detail::decode_object(v, p, {field({"Token"}, r.token)});
                       }}});
  });
}

Result<NodeService> decode_node_service(std::string_view body) {
  return decode_with<NodeService>(body, [](const Json& j, NodeService& s) { return detail::read(j, "", s); });
}

Result<HealthCheck> decode_health_check(std::string_view body) {
  return decode_with<HealthCheck>(body, [](const Json& j, HealthCheck& c) { return detail::read(j, "", c); });
}

Result<ServiceDefinition> decode_service_definition(std::string_view body) {
  return decode_with<ServiceDefinition>(
      body, [](const Json& j, ServiceDefinition& d) { return detail::read_service_definition(j, "", d); });
}

Result<CheckDefinition> decode_check_definition(std::string_view body) {
  return decode_with<CheckDefinition>(body, [](const Json& j, CheckDefinition& c) { return detail::read(j, "", c); });
}

template <typename T>
Result<std::vector<T>> decode_list(std::string_view body) {
  return decode_with<std::vector<T>>(
      body, [](const Json& j, std::vector<T>& out) { return detail::read_list(j, "", out); }, detail::kResponseFailed);
}

Result<std::vector<KVPair>> decode_kv_pairs(std::string_view body) { return decode_list<KVPair>(body); }
Result<std::vector<Node>> decode_nodes(std::string_view body) { return decode_list<Node>(body); }
Result<std::vector<CatalogServiceEntry>> decode_catalog_service_entries(std::string_view body) {
  return decode_list<CatalogServiceEntry>(body);
}
Result<std::vector<HealthServiceEntry>> decode_health_service_entries(std::string_view body) {
  return decode_list<HealthServiceEntry>(body);
}
Result<std::vector<HealthCheck>> decode_health_checks(std::string_view body) { return decode_list<HealthCheck>(body); }
Result<std::vector<Session>> decode_sessions(std::string_view body) { return decode_list<Session>(body); }
Result<std::vector<std::string>> decode_keys(std::string_view body) { return decode_list<std::string>(body); }
Result<std::map<std::string, std::vector<std::string>>> decode_service_tags(std::string_view body) {
  return decode_with<std::map<std::string, std::vector<std::string>>>(
      body, [](const Json& j, std::map<std::string, std::vector<std::string>>& out) { return detail::read(j, "", out); },
      detail::kResponseFailed);
}

Session default_session_for(std::string node) {
  Session s;
  s.node = std::move(node);
  s.node_checks = {std::string(kSerfCheckId)};
  s.checks = {std::string(kSerfCheckId)};
  s.lock_delay = std::chrono::seconds(15);
  s.behavior = std::string(kSessionBehaviorRelease);
  return s;
}

Result<Session> decode_session_create(std::string_view body, Session defaults, Duration ttl_min,
                                      Duration ttl_max) {
  Session s = std::move(defaults);
  if (body.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    CAIRN_TRY(Json j, detail::parse_body(body));
    auto st = detail::decode_object(j, "", detail::session_fields(s, /*lock_delay_fixup=*/true));
    if (!st) return decode_failed(st.error());
  }
  // Consul 1.7's fixupEmptySessionChecks: an explicit empty Checks clears the
  // default NodeChecks; the default Checks defers to NodeChecks.
  if (s.checks.empty()) {
    s.node_checks.clear();
  } else if (s.checks.size() == 1 && s.checks[0] == kSerfCheckId) {
    s.checks.clear();
  } else if (s.node_checks.empty()) {
    s.checks.clear();
  }
  if (s.behavior.empty()) s.behavior = std::string(kSessionBehaviorRelease);
  if (s.behavior != kSessionBehaviorRelease && s.behavior != kSessionBehaviorDelete)
    return Error(errc::invalid_argument, "Invalid Behavior setting '" + s.behavior + "'");
  if (s.lock_delay < Duration(0)) return Error(errc::invalid_argument, "Invalid LockDelay: must not be negative");
  if (!s.ttl.empty()) {
    auto ttl = parse_duration(s.ttl);
    if (!ttl) return Error(errc::invalid_argument, "Request decode failed: TTL: " + ttl.error().message());
    if (*ttl != Duration(0) && (*ttl < ttl_min || *ttl > ttl_max))
      return Error(errc::invalid_argument, "Invalid Session TTL '" + s.ttl + "', must be between [" +
                                               format_duration(ttl_min) + "=" + format_duration(ttl_max) + "]");
  }
  return s;
}

}  // namespace cairn::api
