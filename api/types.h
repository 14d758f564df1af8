// Consul's HTTP API types (structs.DirEntry, Node, NodeService, HealthCheck,
// Session, RegisterRequest, DeregisterRequest) as plain values. JSON lives in
// api/json.h and the binary form (Raft commands, state records) in
// api/wire.h, so this header stays cheap to include.
//
// Field comments give the JSON name when it differs from the obvious
// PascalCase of the member.
//
// Thread-safety: value types, no shared state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/clock.h"

namespace cairn::api {

using StringMap = std::map<std::string, std::string>;

// Consul's RaftIndex, embedded in every stored record.
struct RaftIndex {
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
  friend bool operator==(const RaftIndex&, const RaftIndex&) = default;
};

// KV operations of one write, Consul's api.KVOp names in comments.
enum class KvOp : uint8_t {
  set = 1,          // "set"
  cas = 2,          // "cas": entry.raft.modify_index is the expected index; 0 = only if absent
  lock = 3,         // "lock": acquire with entry.session
  unlock = 4,       // "unlock": release with entry.session
  delete_key = 5,   // "delete"
  delete_cas = 6,   // "delete-cas": entry.raft.modify_index is the expected index
  delete_tree = 7,  // "delete-tree": entry.key is the prefix
};

// /v1/kv entries (structs.DirEntry).
struct KVPair {
  std::string key;
  uint64_t flags = 0;
  // nullopt is JSON null (a key written with no body); bytes, base64 on the wire.
  std::optional<std::string> value;
  std::string session;  // JSON omits it when empty
  uint64_t lock_index = 0;
  RaftIndex raft;
  friend bool operator==(const KVPair&, const KVPair&) = default;
};

// structs.Node.
struct Node {
  std::string id;  // "ID": a UUID or empty
  std::string node;
  std::string address;
  std::string datacenter;
  StringMap tagged_addresses;  // "lan", "wan", ...
  StringMap meta;
  RaftIndex raft;
  friend bool operator==(const Node&, const Node&) = default;
};

// structs.ServiceAddress: one entry of a service's TaggedAddresses.
struct ServiceAddress {
  std::string address;
  int port = 0;
  friend bool operator==(const ServiceAddress&, const ServiceAddress&) = default;
};

// structs.Weights: DNS SRV weights by health. Consul defaults both to 1
// when a registration gives none.
struct Weights {
  int passing = 1;
  int warning = 1;
  friend bool operator==(const Weights&, const Weights&) = default;
};

// structs.NodeService: one service instance on one node.
struct NodeService {
  std::string kind;  // "" (typical), "connect-proxy", "mesh-gateway", ...
  std::string id;
  std::string service;
  std::vector<std::string> tags;
  std::string address;
  std::map<std::string, ServiceAddress> tagged_addresses;
  StringMap meta;
  int port = 0;
  Weights weights;
  bool enable_tag_override = false;
  // Proxy and Connect are passed through as compact JSON object text until
  // the Connect work gives them types; empty means Consul's zero value.
  std::string proxy_json;
  std::string connect_json;
  RaftIndex raft;
  friend bool operator==(const NodeService&, const NodeService&) = default;
};

// /v1/catalog/service/<s> rows (structs.ServiceNode): the node's fields and
// the service's fields flattened with a "Service" prefix. Indexes are the
// service's.
struct CatalogServiceEntry {
  Node node;
  NodeService service;
  friend bool operator==(const CatalogServiceEntry&, const CatalogServiceEntry&) = default;
};

// structs.HealthCheckDefinition: how a check runs (kept so the catalog can
// show it back). Durations are Go durations on the wire.
struct HealthCheckDefinition {
  std::string http;
  std::string tls_server_name;
  bool tls_skip_verify = false;
  std::map<std::string, std::vector<std::string>> header;
  std::string method;
  std::string body;
  bool disable_redirects = false;
  std::string tcp;
  std::string udp;
  std::string grpc;
  bool grpc_use_tls = false;
  std::string h2ping;  // "H2PING"
  Duration interval{0};
  uint64_t output_max_size = 0;
  Duration timeout{0};
  Duration deregister_critical_service_after{0};
  std::vector<std::string> script_args;
  std::string docker_container_id;  // "DockerContainerID"
  std::string shell;
  std::string alias_node;
  std::string alias_service;
  Duration ttl{0};  // "TTL"
  friend bool operator==(const HealthCheckDefinition&, const HealthCheckDefinition&) = default;
};

inline constexpr std::string_view kHealthPassing = "passing";
inline constexpr std::string_view kHealthWarning = "warning";
inline constexpr std::string_view kHealthCritical = "critical";
inline constexpr std::string_view kHealthMaint = "maintenance";
// The check every agent's node carries; sessions default to it.
inline constexpr std::string_view kSerfCheckId = "serfHealth";

// structs.HealthCheck.
struct HealthCheck {
  std::string node;
  std::string check_id;  // "CheckID"
  std::string name;
  std::string status;    // passing | warning | critical (maintenance is critical + a note)
  std::string notes;
  std::string output;
  std::string service_id;    // "ServiceID"
  std::string service_name;  // filled by the store from the service
  std::vector<std::string> service_tags;
  std::string type;  // "http", "tcp", "ttl", "script", ...
  HealthCheckDefinition definition;
  RaftIndex raft;
  friend bool operator==(const HealthCheck&, const HealthCheck&) = default;
};

// /v1/health/service/<s> rows (structs.CheckServiceNode).
struct HealthServiceEntry {
  Node node;
  NodeService service;
  std::vector<HealthCheck> checks;
  friend bool operator==(const HealthServiceEntry&, const HealthServiceEntry&) = default;
};

// /v1/catalog/node/<n> (structs.NodeServices).
struct NodeServices {
  Node node;
  std::vector<NodeService> services;  // JSON: an object keyed by service ID
};

inline constexpr std::string_view kSessionBehaviorRelease = "release";
inline constexpr std::string_view kSessionBehaviorDelete = "delete";

// structs.ServiceCheck: a service-level check a session is tied to.
struct SessionServiceCheck {
  std::string id;         // "ID"
  std::string ns;         // "Namespace" (always "" in OSS)
  friend bool operator==(const SessionServiceCheck&, const SessionServiceCheck&) = default;
};

// structs.Session.
struct Session {
  std::string id;  // "ID": a UUID chosen by the proposer
  std::string name;
  std::string node;
  Duration lock_delay{0};  // "LockDelay": nanoseconds as a JSON number
  std::string behavior{kSessionBehaviorRelease};
  std::string ttl;  // "TTL": a Go duration string, "" for none
  std::vector<std::string> node_checks;
  std::vector<SessionServiceCheck> service_checks;
  std::vector<std::string> checks;  // deprecated since Consul 1.7; omitted when empty
  RaftIndex raft;

  // Every check the session depends on (Checks ∪ NodeChecks ∪ ServiceChecks),
  // without duplicates, in first-seen order (Consul's CheckIDs()).
  std::vector<std::string> all_check_ids() const;
  friend bool operator==(const Session&, const Session&) = default;
};

// An agent's check definition (structs.CheckDefinition / CheckType): the
// body of PUT /v1/agent/check/register and each of a service definition's
// Check/Checks. The run parameters are flattened on the wire ("HTTP",
// "Interval", "TTL", ... beside "Name").
struct CheckDefinition {
  std::string id;  // "ID" or "CheckID"
  std::string name;
  std::string status;  // initial status; "" means critical
  std::string notes;
  std::string service_id;  // "ServiceID": agent/check/register only
  HealthCheckDefinition definition;
  int failures_before_warning = 0;
  int failures_before_critical = 0;
  int success_before_passing = 0;
  friend bool operator==(const CheckDefinition&, const CheckDefinition&) = default;
};

// PUT /v1/agent/service/register body (structs.ServiceDefinition): a
// NodeService ("Name" is its Service) plus the checks to run for it.
struct ServiceDefinition {
  NodeService service;
  std::vector<CheckDefinition> checks;  // "Check" and "Checks", in that order
  friend bool operator==(const ServiceDefinition&, const ServiceDefinition&) = default;
};

// PUT /v1/catalog/register body (structs.RegisterRequest).
struct RegisterRequest {
  std::string datacenter;
  std::string id;  // node ID
  std::string node;
  std::string address;
  StringMap tagged_addresses;
  StringMap node_meta;
  std::optional<NodeService> service;
  std::optional<HealthCheck> check;
  std::vector<HealthCheck> checks;
  bool skip_node_update = false;
  std::string token;  // WriteRequest.Token
  friend bool operator==(const RegisterRequest&, const RegisterRequest&) = default;
};

// PUT /v1/catalog/deregister body (structs.DeregisterRequest). With neither
// ServiceID nor CheckID the whole node goes.
struct DeregisterRequest {
  std::string datacenter;
  std::string node;
  std::string service_id;
  std::string check_id;
  std::string token;
  friend bool operator==(const DeregisterRequest&, const DeregisterRequest&) = default;
};

// ---- /v1/txn (structs.TxnOp, TxnResult, TxnError) ----

// Every verb of a transaction operation (Consul's api.KVOp, NodeOp, ServiceOp,
// CheckOp share their names: "set", "cas", "get", "delete", "delete-cas").
enum class TxnVerb : uint8_t {
  set = 1,               // "set"
  cas = 2,               // "cas"
  lock = 3,              // "lock" (KV)
  unlock = 4,            // "unlock" (KV)
  del = 5,               // "delete"
  delete_cas = 6,        // "delete-cas"
  delete_tree = 7,       // "delete-tree" (KV)
  get = 8,               // "get"
  get_tree = 9,          // "get-tree" (KV)
  check_index = 10,      // "check-index" (KV)
  check_session = 11,    // "check-session" (KV)
  check_not_exists = 12, // "check-not-exists" (KV)
};

// Whether the verb changes the state (a transaction without any is a read).
inline bool txn_verb_writes(TxnVerb v) {
  return v == TxnVerb::set || v == TxnVerb::cas || v == TxnVerb::lock || v == TxnVerb::unlock ||
         v == TxnVerb::del || v == TxnVerb::delete_cas || v == TxnVerb::delete_tree;
}

// Consul's maxTxnOps: more is 413 "Transaction contains too many operations (65 > 64)".
inline constexpr size_t kMaxTxnOps = 64;

struct TxnKvOp {  // {"KV": {Verb, Key, Value, Flags, Index, Session}}; Index is entry.raft.modify_index
  TxnVerb verb = TxnVerb::set;
  KVPair entry;
  friend bool operator==(const TxnKvOp&, const TxnKvOp&) = default;
};
struct TxnNodeOp {  // {"Node": {Verb, Node: {...}}}; the CAS index is node.raft.modify_index
  TxnVerb verb = TxnVerb::set;
  Node node;
  friend bool operator==(const TxnNodeOp&, const TxnNodeOp&) = default;
};
struct TxnServiceOp {  // {"Service": {Verb, Node, Service: {...}}}
  TxnVerb verb = TxnVerb::set;
  std::string node;
  NodeService service;
  friend bool operator==(const TxnServiceOp&, const TxnServiceOp&) = default;
};
struct TxnCheckOp {  // {"Check": {Verb, Check: {...}}}
  TxnVerb verb = TxnVerb::set;
  HealthCheck check;
  friend bool operator==(const TxnCheckOp&, const TxnCheckOp&) = default;
};
using TxnOp = std::variant<TxnKvOp, TxnNodeOp, TxnServiceOp, TxnCheckOp>;

// One entry of "Results": {"KV": ...} | {"Node": ...} | {"Service": ...} | {"Check": ...}.
using TxnResult = std::variant<KVPair, Node, NodeService, HealthCheck>;

struct TxnError {  // {"OpIndex": i, "What": "..."}
  uint64_t op_index = 0;
  std::string what;
  friend bool operator==(const TxnError&, const TxnError&) = default;
};

// A transaction's outcome: results when it committed, errors (and no
// results) when it rolled back — HTTP 200 or 409.
struct TxnResponse {
  std::vector<TxnResult> results;
  std::vector<TxnError> errors;
  friend bool operator==(const TxnResponse&, const TxnResponse&) = default;
};

// A Vivaldi network coordinate as Consul's API shows it (serf's
// coordinate.Coordinate: "Vec", "Error", "Adjustment", "Height").
struct Coord {
  std::vector<double> vec;
  double error = 0;
  double adjustment = 0;
  double height = 0;
  friend bool operator==(const Coord&, const Coord&) = default;
};
// /v1/coordinate/nodes and /node/<n> ("Node", "Segment", "Coord").
struct CoordinateEntry {
  std::string node;
  std::string segment;
  Coord coord;
  friend bool operator==(const CoordinateEntry&, const CoordinateEntry&) = default;
};

// A config entry (/v1/config, consul-api.md). `body` is the entry as
// Consul's JSON object, normalized (Kind and Name included; CreateIndex and
// ModifyIndex are not in it: they are the fields below, added on output).
// Kinds: service-defaults, proxy-defaults, service-intentions,
// service-router, service-splitter, service-resolver.
struct ConfigEntry {
  std::string kind;
  std::string name;
  std::string body;
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
  friend bool operator==(const ConfigEntry&, const ConfigEntry&) = default;
};


// ---- Connect CA (Consul's structs.CARoot, IndexedCARoots, CAConfiguration,
// IssuedCert). Times are RFC 3339 text in UTC, as Go marshals time.Time.
// No private key of a root appears in these types: the server keeps root
// keys in its own records (server/ca), never in an answer.

// One trusted root (/v1/connect/ca/roots "Roots").
struct CARoot {
  std::string id;              // "ID": the certificate's SHA-1 fingerprint, hex with colons
  std::string name;            // "Name"
  uint64_t serial_number = 0;  // "SerialNumber"
  std::string signing_key_id;  // "SigningKeyID": the root's SubjectKeyId, hex with colons
  std::string external_trust_domain;  // "ExternalTrustDomain"
  std::string not_before;      // "NotBefore"
  std::string not_after;       // "NotAfter"
  std::string root_cert;       // "RootCert" (PEM)
  // "IntermediateCerts": after a rotation, the new root cross-signed by the
  // old one, so leaves of the new root verify against the old root too.
  std::vector<std::string> intermediate_certs;
  bool active = false;         // "Active"
  std::string private_key_type;  // "PrivateKeyType": "ec" or "rsa"
  int private_key_bits = 0;      // "PrivateKeyBits"
  RaftIndex raft;
  friend bool operator==(const CARoot&, const CARoot&) = default;
};

// /v1/connect/ca/roots (structs.IndexedCARoots without the index, which is
// the query meta's).
struct CARoots {
  std::string active_root_id;  // "ActiveRootID"
  std::string trust_domain;    // "TrustDomain": "<cluster-id>.consul"
  std::vector<CARoot> roots;   // "Roots"
  friend bool operator==(const CARoots&, const CARoots&) = default;
};

// The built-in provider's "Config" (Consul's ConsulCAProviderConfig and
// CommonCAProviderConfig), defaults as Consul's.
struct CAProviderConfig {
  Duration leaf_cert_ttl = std::chrono::hours(72);            // "LeafCertTTL"
  std::string private_key_type = "ec";                        // "PrivateKeyType"
  int private_key_bits = 256;                                 // "PrivateKeyBits"
  Duration root_cert_ttl = std::chrono::hours(87600);         // "RootCertTTL"
  Duration intermediate_cert_ttl = std::chrono::hours(8760);  // "IntermediateCertTTL"
  int csr_max_per_second = 50;                                // "CSRMaxPerSecond"; 0: no rate limit
  int csr_max_concurrent = 0;                                 // "CSRMaxConcurrent"; 0: no limit
  // "PrivateKey"/"RootCert": an operator-supplied root (PEM). Input only:
  // never stored in the configuration nor returned.
  std::string private_key;
  std::string root_cert;
  friend bool operator==(const CAProviderConfig&, const CAProviderConfig&) = default;
};

// /v1/connect/ca/configuration.
struct CAConfiguration {
  std::string cluster_id;  // "ClusterID": a v4 UUID made when the CA was first created
  std::string provider = "consul";  // "Provider": only the built-in one
  CAProviderConfig config;          // "Config"
  StringMap state;                  // "State"
  bool force_without_cross_signing = false;  // "ForceWithoutCrossSigning" (input)
  RaftIndex raft;
  friend bool operator==(const CAConfiguration&, const CAConfiguration&) = default;
};

// A signed leaf (/v1/agent/connect/ca/leaf/<service>).
struct IssuedCert {
  std::string serial_number;  // "SerialNumber": hex with colons
  std::string cert_pem;       // "CertPEM"
  std::string private_key_pem;  // "PrivateKeyPEM": filled in by the agent, which made the key
  std::string service;        // "Service"
  std::string service_uri;    // "ServiceURI": the SPIFFE ID
  std::string valid_after;    // "ValidAfter"
  std::string valid_before;   // "ValidBefore"
  RaftIndex raft;             // the agent's cache index (the server leaves it 0)
  friend bool operator==(const IssuedCert&, const IssuedCert&) = default;
};

}  // namespace cairn::api
