// Config entries (/v1/config, `cairn config`): Consul's JSON for each kind
// decoded, validated and normalized into the canonical body an
// api::ConfigEntry carries (api/types.h), and printed back with its indexes.
//
// Input follows Consul's config-entry decoding, which is stricter than its
// other bodies: field names match case-insensitively and in snake_case
// (`PathPrefix`, `path_prefix`), and an unknown field is refused, naming it
// ("Request decode failed: Routes[0].Match.HTTP.Bogus: unknown field").
// The canonical body has Consul's field names and order, Kind and Name
// first, zero values left out (Consul's omitempty), durations as Go
// strings ("15s"), no CreateIndex/ModifyIndex.
//
// Validation names the field, in Consul's words where Consul has them
// ("Route[0] PathExact doesn't start with '/': \"x\"", "the sum of all split
// weights must be 100, not 90.000000", "DefaultSubset \"v3\" is not a valid
// subset"). Rules that need other entries (a router's protocol, the subsets a
// route names) are check_config_entry_graph(), run by the server at apply.
//
// Pure; thread-safe (no shared state beyond immutable tables).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"
#include "core/result.h"

namespace cairn::api {

inline constexpr std::string_view kServiceDefaults = "service-defaults";
inline constexpr std::string_view kProxyDefaults = "proxy-defaults";
inline constexpr std::string_view kServiceRouter = "service-router";
inline constexpr std::string_view kServiceSplitter = "service-splitter";
inline constexpr std::string_view kServiceResolver = "service-resolver";
inline constexpr std::string_view kServiceIntentions = "service-intentions";
// proxy-defaults has one entry, named "global".
inline constexpr std::string_view kProxyDefaultsGlobal = "global";

// Every kind the store and the endpoints accept, in Consul's order.
const std::vector<std::string_view>& config_entry_kinds();
bool is_config_entry_kind(std::string_view kind);
// invalid_argument `invalid config entry kind: "x"` (Consul's text) for an
// unknown kind, else ok. Kinds are case-sensitive, as in Consul.
Status check_config_entry_kind(std::string_view kind);

// A PUT /v1/config body → kind, name and canonical body (indexes 0).
// invalid_argument naming the field otherwise.
Result<ConfigEntry> decode_config_entry(std::string_view body);

// The entry as Consul prints it: the canonical body plus CreateIndex and
// ModifyIndex. A list prints as a JSON array ([] when empty).
std::string config_entry_json(const ConfigEntry& entry);
std::string config_entries_json(const std::vector<ConfigEntry>& entries);

// The protocol a service speaks for routing purposes: its service-defaults
// Protocol, else proxy-defaults global's Config.protocol, else "tcp".
// Lowercased.
struct ConfigEntryView {
  // The stored entry (kind, name), if any. Names match case-insensitively.
  std::function<Result<std::optional<ConfigEntry>>(std::string_view kind, std::string_view name)> get;
  // Every stored entry of a kind.
  std::function<Result<std::vector<ConfigEntry>>(std::string_view kind)> list;
};
Result<std::string> service_protocol(const ConfigEntryView& view, std::string_view service);

// The rules across entries, checked against `view` as it is AFTER a write or
// delete of (kind, name): every service-router and service-splitter that the
// change can affect must be for a service whose protocol is http, http2 or
// grpc ("discovery chain \"web\" uses a protocol \"tcp\" that does not
// permit advanced routing or splitting behavior"), and every ServiceSubset a
// route or split names must be defined by the target's service-resolver.
// invalid_argument naming the entry and field otherwise.
Status check_config_entry_graph(const ConfigEntryView& view, std::string_view kind, std::string_view name);

}  // namespace cairn::api
