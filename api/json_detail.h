// Internal to api/*.cc: the Go-style JSON decoding machinery and the
// encoders of nested values. Includes nlohmann/json; do not include from
// public headers.
#pragma once

#include <array>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/types.h"
#include "core/result.h"

namespace cairn::api::detail {

// Ordered, so that when a body names one field twice ("Name" and "name")
// the last occurrence wins, as in Go.
using Json = nlohmann::ordered_json;

// "string", "number", "bool", "array", "object" or "null".
std::string_view kind_of(const Json& j);
Error type_error(const std::string& path, std::string_view want, const Json& got);

// One struct field: up to four accepted names (the first is the canonical
// Go name used in error paths; the others are snake_case aliases), matched
// ASCII-case-insensitively, and how to store the value.
struct Field {
  std::array<std::string_view, 4> names;
  std::function<Status(const Json&, const std::string&)> set;
};

// Decodes an object member by member. null (the whole object or a member) is
// skipped, leaving the default, as Go does; unknown members are ignored.
Status decode_object(const Json& j, const std::string& path, const std::vector<Field>& fields);

Status read(const Json& j, const std::string& path, std::string& out);
Status read(const Json& j, const std::string& path, bool& out);
Status read(const Json& j, const std::string& path, int& out);
Status read(const Json& j, const std::string& path, uint64_t& out);
Status read(const Json& j, const std::string& path, Duration& out);  // "10s" or ns
Status read(const Json& j, const std::string& path, std::vector<std::string>& out);
Status read(const Json& j, const std::string& path, StringMap& out);
Status read(const Json& j, const std::string& path, std::map<std::string, std::vector<std::string>>& out);
// Any JSON object kept as compact text (Proxy, Connect). A struct's zero
// value (every member zero) is kept as ""; a Go map (`map`: Proxy.Config) is
// unset only when empty, so {"bind_port": 0} is kept.
struct RawObject {
  std::string* text;
  bool map = false;
};
Status read(const Json& j, const std::string& path, RawObject out);

Status read(const Json& j, const std::string& path, Weights& out);
Status read(const Json& j, const std::string& path, std::map<std::string, ServiceAddress>& out);
Status read(const Json& j, const std::string& path, HealthCheckDefinition& out);
Status read(const Json& j, const std::string& path, NodeService& out);
Status read(const Json& j, const std::string& path, HealthCheck& out);
Status read(const Json& j, const std::string& path, std::vector<HealthCheck>& out);
Status read(const Json& j, const std::string& path, SessionServiceCheck& out);
Status read(const Json& j, const std::string& path, std::vector<SessionServiceCheck>& out);
Status read(const Json& j, const std::string& path, CheckDefinition& out);
Status read(const Json& j, const std::string& path, std::vector<CheckDefinition>& out);
// A service definition (agent/service/register, Connect.SidecarService):
// the NodeService fields plus "Check" and "Checks", in that order.
Status read_service_definition(const Json& j, const std::string& path, ServiceDefinition& d);

Status read(const Json& j, const std::string& path, KVPair& out);
Status read(const Json& j, const std::string& path, Node& out);
Status read(const Json& j, const std::string& path, Session& out);
Status read(const Json& j, const std::string& path, CatalogServiceEntry& out);
Status read(const Json& j, const std::string& path, HealthServiceEntry& out);
template <typename T>
Status read_list(const Json& j, const std::string& path, std::vector<T>& out);

// Field lists that more than one body shares (a check's definition is
// nested in catalog checks and flattened in agent check definitions).
std::vector<Field> definition_fields(HealthCheckDefinition& d);
std::vector<Field> node_service_fields(NodeService& s);
std::vector<Field> raft_fields(RaftIndex& r);
std::vector<Field> node_fields(Node& n, std::string_view meta_name);
// lock_delay_fixup: Consul's FixupLockDelay for request bodies (numbers
// under 1000 are seconds); responses always carry nanoseconds.
std::vector<Field> session_fields(Session& s, bool lock_delay_fixup);
// A KV "Value": base64 text into bytes (null leaves no value).
Field kv_value_field(KVPair& kv);
// a + b, for composing field lists.
std::vector<Field> concat(std::vector<Field> a, std::vector<Field> b);

template <typename T>
Field field(std::array<std::string_view, 4> names, T& out) {
  return Field{names, [&out](const Json& v, const std::string& p) { return read(v, p, out); }};
}
inline Field raw_field(std::array<std::string_view, 4> names, std::string& out) {
  return Field{names, [&out](const Json& v, const std::string& p) { return read(v, p, RawObject{&out}); }};
}
inline Field raw_map_field(std::array<std::string_view, 4> names, std::string& out) {
  return Field{names, [&out](const Json& v, const std::string& p) { return read(v, p, RawObject{&out, true}); }};
}

// How decode errors start: Consul's 400 text for request bodies; responses
// (decoded by clients) say so instead.
inline constexpr std::string_view kRequestFailed = "Request decode failed: ";
inline constexpr std::string_view kResponseFailed = "Response decode failed: ";

// Parses a body; errors read "<prefix><why>".
Result<Json> parse_body(std::string_view body, std::string_view prefix = kRequestFailed);
// Prefixes a decode error.
Error decode_failed(const Error& e, std::string_view prefix = kRequestFailed);

// Encoders shared by the public to_json overloads.
Json encode(const KVPair& kv);
Json encode(const Node& node);
Json encode(const NodeService& service);
Json encode(const CatalogServiceEntry& entry);
Json encode(const HealthCheck& check);
Json encode(const HealthServiceEntry& entry);
Json encode(const Session& session);

}  // namespace cairn::api::detail
