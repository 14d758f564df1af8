// Prepared queries (/v1/query, DNS <name>.query.<domain>): Consul's
// structs.PreparedQuery, its JSON, the rules Consul checks before a write
// (agent/consul/prepared_query_endpoint.go parseQuery, the template compile
// of prepared_query/template.go), name_prefix_match templates and their
// interpolation, and the filters an execution applies to a health query's
// result (OnlyPassing, IgnoreCheckIDs, Tags with "!tag", NodeMeta,
// ServiceMeta).
//
// Single datacenter: Failover (NearestN, Datacenters) is stored and checked;
// an execution answers the local datacenter's results with Failovers 0.
//
// Thread-safety: pure functions and values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"
#include "core/codec.h"
#include "core/result.h"

namespace cairn::api {

inline constexpr std::string_view kQueryTemplateNamePrefixMatch = "name_prefix_match";
// The error text (and HTTP 404 body) for an unknown query, as Consul's ErrQueryNotFound.
inline constexpr std::string_view kQueryNotFound = "Query not found";

enum class PreparedQueryOp : uint8_t { create = 0, update = 1, del = 2 };

struct QueryFailover {
  int nearest_n = 0;
  std::vector<std::string> datacenters;
  friend bool operator==(const QueryFailover&, const QueryFailover&) = default;
};

struct QueryTemplateOptions {
  std::string type;    // "" (not a template) or "name_prefix_match"
  std::string regexp;  // matched against the full name; ${match(N)} are its groups
  bool remove_empty_tags = false;
  friend bool operator==(const QueryTemplateOptions&, const QueryTemplateOptions&) = default;
};

struct ServiceQuery {
  std::string service;
  QueryFailover failover;
  bool only_passing = false;
  std::vector<std::string> ignore_check_ids;
  std::string near;                // a node name or "_agent"
  std::vector<std::string> tags;   // every tag required; "!tag" excludes
  StringMap node_meta;
  StringMap service_meta;
  bool connect = false;
  friend bool operator==(const ServiceQuery&, const ServiceQuery&) = default;
};

struct QueryDNSOptions {
  std::string ttl;  // a Go duration ("10s"); "" uses the agent's service TTL
  friend bool operator==(const QueryDNSOptions&, const QueryDNSOptions&) = default;
};

struct PreparedQuery {
  std::string id;
  std::string name;
  std::string session;
  std::string token;
  QueryTemplateOptions templ;
  ServiceQuery service;
  QueryDNSOptions dns;
  RaftIndex raft;
  bool is_template() const { return !templ.type.empty(); }
  friend bool operator==(const PreparedQuery&, const PreparedQuery&) = default;
};

// What an execution answers (Consul's PreparedQueryExecuteResponse without
// the QueryMeta, which travels beside it).
struct PreparedQueryExecuteResult {
  std::string service;
  std::vector<HealthServiceEntry> nodes;
  QueryDNSOptions dns;
  std::string datacenter;  // filled by the agent (its datacenter)
  int failovers = 0;
  friend bool operator==(const PreparedQueryExecuteResult&, const PreparedQueryExecuteResult&) = default;
};

// ---- JSON ----
// A create or update body (Go-style: case-insensitive names, snake_case
// aliases python3-consul sends in lower case). Errors name the field.
Result<PreparedQuery> decode_prepared_query(std::string_view body);
// GET /v1/query and /v1/query/<id>: a JSON array (never null).
std::string to_json(const std::vector<PreparedQuery>& queries);
// The QueryMeta fields Consul embeds in execute and explain bodies.
struct EmbeddedQueryMeta {
  uint64_t index = 0;
  Duration last_contact{0};
  bool known_leader = true;
};
// /v1/query/<x>/execute: {"Service", "Nodes" (as /v1/health/service), "DNS",
// "Datacenter", "Failovers", "Index", "LastContact", "KnownLeader"}.
std::string to_json(const PreparedQueryExecuteResult& result, const EmbeddedQueryMeta& meta);
// /v1/query/<x>/explain: {"Query", "Index", "LastContact", "KnownLeader"}.
std::string explain_json(const PreparedQuery& rendered, const EmbeddedQueryMeta& meta);

// ---- rules ----
// Consul's parseQuery (Service.Service required, Failover.NearestN >= 0,
// DNS.TTL a non-negative Go duration, node/service meta keys) and, for a
// template, its compile (Template.Type, Template.Regexp, every
// interpolation known, a test render with the name prefix). invalid_argument
// naming the field.
Status validate_prepared_query(const PreparedQuery& q);
// DNS.TTL as a duration (nullopt when empty or bad).
std::optional<Duration> prepared_query_dns_ttl(const PreparedQuery& q);

// ---- templates ----
// Renders a template for `name` (Consul's CompiledTemplate.Render): every
// string in Service gets ${name.full}, ${name.prefix} (the query's Name),
// ${name.suffix}, ${match(N)} (group N of Template.Regexp against the full
// name; "" when none) and ${agent.segment} replaced; with RemoveEmptyTags,
// tags left empty go. A query that is not a template comes back unchanged.
Result<PreparedQuery> render_prepared_query(const PreparedQuery& q, std::string_view name,
                                            std::string_view agent_segment = "");
// Interpolates one string (exposed for tests).
Result<std::string> interpolate_query_string(std::string_view text, std::string_view full_name,
                                             std::string_view prefix, const std::vector<std::string>& matches,
                                             std::string_view agent_segment);

// ---- execution ----
// Keeps the instances a query's Service section admits: health (critical
// never; warning unless OnlyPassing; checks in IgnoreCheckIDs not
// counted), Tags (case-insensitive; "!tag" excludes), NodeMeta and
// ServiceMeta (every pair). Order kept.
std::vector<HealthServiceEntry> filter_query_nodes(const ServiceQuery& s, std::vector<HealthServiceEntry> nodes);

namespace wire {
void put(ByteWriter& w, const PreparedQuery& v);
bool get(ByteReader& r, PreparedQuery& v);
}  // namespace wire

}  // namespace cairn::api
