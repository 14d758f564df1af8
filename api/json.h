// JSON for the Consul API types, as Consul's HTTP API emits and accepts it.
//
// Encoding writes Consul's field names, order and types (uint64 indexes as
// numbers, KV values base64 or null, LockDelay as nanoseconds, TTL as a
// string). Decoding follows Go's encoding/json plus Consul's leniencies:
// field names match case-insensitively, snake_case aliases are accepted,
// unknown fields and nulls are ignored, durations are Go duration strings or
// numbers of nanoseconds. Every decode error is errc::invalid_argument with a
// one-line detail naming the field, ready to be a 400 body:
//   "Request decode failed: Service.Port: expected a number, got string".
//
// nlohmann/json stays inside api/*.cc; this header only needs <string>.
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"
#include "core/result.h"

namespace cairn::api {

// --- encoding (compact JSON text) ---
std::string to_json(const KVPair& kv);
std::string to_json(const std::vector<KVPair>& kvs);
std::string to_json(const Node& node);
std::string to_json(const std::vector<Node>& nodes);
std::string to_json(const NodeService& service);
std::string to_json(const std::vector<CatalogServiceEntry>& entries);
std::string to_json(const HealthCheck& check);
std::string to_json(const std::vector<HealthCheck>& checks);
std::string to_json(const std::vector<HealthServiceEntry>& entries);
std::string to_json(const Session& session);
std::string to_json(const std::vector<Session>& sessions);
std::string to_json(const NodeServices& node_services);
// /v1/catalog/services: {"name": ["tag", ...]}.
std::string to_json(const std::map<std::string, std::vector<std::string>>& services);
// /v1/kv/<prefix>?keys: ["a", "b/"] (an empty list is [], never null).
std::string to_json(const std::vector<std::string>& keys);

// /v1/coordinate/nodes and /node/<n>: [{"Node", "Segment", "Coord":
// {"Adjustment", "Error", "Height", "Vec"}}] (api/json_coordinate.cc).
std::string to_json(const std::vector<CoordinateEntry>& entries);
// PUT /v1/coordinate/update: one entry (checked by api::validate_coordinate).
Result<CoordinateEntry> decode_coordinate_entry(std::string_view body);
Result<std::vector<CoordinateEntry>> decode_coordinate_entries(std::string_view body);

// /v1/txn: {"Results": [{"KV": ...} | {"Node": ...} | {"Service": ...} |
// {"Check": ...}] or null, "Errors": [{"OpIndex", "What"}] or null}.
std::string to_json(const TxnResponse& response);

// Connect CA (api/json_connect.cc): /v1/connect/ca/roots, the
// configuration (PrivateKey and RootCert always written empty) and a leaf.
std::string to_json(const CARoots& roots);
std::string to_json(const CAConfiguration& config);
std::string to_json(const IssuedCert& cert);

// --- decoding (request bodies) ---
// PUT /v1/txn: a JSON array of ops, each an object with one of "KV",
// "Node", "Service", "Check" (Consul's api.TxnOps). Errors are Consul's
// 400 text "Failed to parse body: <why>", naming the op ("[2].KV.Verb:
// unknown verb \"frob\"").
Result<std::vector<TxnOp>> decode_txn_ops(std::string_view body);
Result<RegisterRequest> decode_register_request(std::string_view body);
Result<DeregisterRequest> decode_deregister_request(std::string_view body);
Result<NodeService> decode_node_service(std::string_view body);
Result<HealthCheck> decode_health_check(std::string_view body);
// Agent definitions: PUT /v1/agent/service/register, /v1/agent/check/register.
Result<ServiceDefinition> decode_service_definition(std::string_view body);
Result<CheckDefinition> decode_check_definition(std::string_view body);

// PUT /v1/connect/ca/configuration: {"Provider", "Config": {LeafCertTTL,
// PrivateKeyType, PrivateKeyBits, RootCertTTL, IntermediateCertTTL,
// CSRMaxPerSecond, CSRMaxConcurrent, PrivateKey, RootCert},
// "ForceWithoutCrossSigning"}; missing Config fields keep Consul's defaults.
// The values' rules are checked by the server (server/ca validate_config).
Result<CAConfiguration> decode_ca_configuration(std::string_view body);

// --- decoding responses (clients: api/io, the CLI, tests) ---
// The inverse of to_json: KV values are base64-decoded, indexes read back.
Result<std::vector<KVPair>> decode_kv_pairs(std::string_view body);
Result<std::vector<Node>> decode_nodes(std::string_view body);
Result<std::vector<CatalogServiceEntry>> decode_catalog_service_entries(std::string_view body);
Result<std::vector<HealthServiceEntry>> decode_health_service_entries(std::string_view body);
Result<std::vector<HealthCheck>> decode_health_checks(std::string_view body);
Result<std::vector<Session>> decode_sessions(std::string_view body);
Result<std::vector<std::string>> decode_keys(std::string_view body);
Result<std::map<std::string, std::vector<std::string>>> decode_service_tags(std::string_view body);
Result<TxnResponse> decode_txn_response(std::string_view body);
Result<CARoots> decode_ca_roots(std::string_view body);
Result<IssuedCert> decode_issued_cert(std::string_view body);

// PUT /v1/session/create. `defaults` is what the agent fills in before the
// body is decoded over it (Node = the agent's node, LockDelay 15s, Behavior
// release, NodeChecks = Checks = [serfHealth]); an empty body keeps them all.
// Applies Consul's fixups: a LockDelay number below 1000 means seconds, and
// the legacy Checks field and NodeChecks reconcile as Consul 1.7+ does.
// Behavior must be release or delete; TTL must parse and be 0 or within
// [ttl_min, ttl_max] ("Invalid Session TTL '5s', must be between [10s=24h0m0s]").
Result<Session> decode_session_create(std::string_view body, Session defaults,
                                      Duration ttl_min, Duration ttl_max);

// The session defaults Consul's HTTP handler starts from.
Session default_session_for(std::string node);

}  // namespace cairn::api
