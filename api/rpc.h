// The agent↔server contract: every read and write a server answers, as
// typed values. The agent's HTTP handlers turn requests into these and
// results back into Consul's JSON; they never see Raft or RocksDB.
//
// One interface, three implementations:
//   - server/ (server::Server): the real thing, in the server's process;
//   - api/io/ (RpcClient): the same calls over TCP to a server on port 8300
//     (api/rpc_codec.h is the wire form), with failover between servers;
//   - test doubles.
// A server agent hands its HTTP handlers the in-process server directly; a
// client agent hands them an RpcClient.
//
// Queries. Query is a variant of the read operations; QueryValue is a variant
// whose alternative i is the result type of Query's alternative i (so the
// same C++ type may appear more than once: use value_of<Q>() to read it).
// A query with options.min_index > 0 is a blocking query (consul-api.md §1):
// the server answers once the result's index is above min_index or max_wait
// passed, whichever comes first; the index never goes to 0.
//
// Writes. Write is a variant of the operations that go through Raft (and
// SessionRenew, which only the leader answers); WriteValue aligns with it the
// same way. A write arriving at a follower is forwarded to the leader.
//
// Errors (cairn::errc), and the HTTP status a handler should answer:
//   invalid_argument  400  the detail names the field ("Missing node registration")
//   not_found         404  (session renew of an unknown session)
//   permission_denied 403
//   too_large         413
//   resource_exhausted 429  "rate limit reached, try again later" (CA signing)
//   unavailable       500  "No cluster leader" and other transient states
//   timeout           500  "rpc error: timeout"
//   other             500
//
// Thread-safety: implementations accept calls from any thread; `done` runs on
// an implementation thread exactly once and must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "api/prepared_query.h"
#include "api/types.h"
#include "core/clock.h"
#include "core/result.h"

namespace cairn::api::rpc {

// ?consistent, ?stale, or neither (consul-api.md §1 "Consistency modes").
enum class Consistency : uint8_t {
  leader = 0,      // default: the leader answers from its state (may be stale in a partition)
  consistent = 1,  // ?consistent: a ReadIndex round first (linearizable)
  stale = 2,       // ?stale: any server answers from its own state
};

struct QueryOptions {
  uint64_t min_index = 0;           // ?index; 0: answer at once
  Duration max_wait{0};             // ?wait, jitter already applied; used when min_index > 0
  Consistency consistency = Consistency::leader;
  std::string token;                // X-Consul-Token (ACLs come later; carried now)
  // ?near=<node> (the agent turns _agent into its own node name): results
  // that list nodes — CatalogNodes, CatalogServiceNodes, HealthService,
  // HealthChecks, HealthState — come sorted by the estimated round-trip time
  // from that node's network coordinate (stable: ties keep the server's
  // order; nodes without a coordinate go last); no sorting when the node has
  // no coordinate, as in Consul.
  std::string near;
  // Set by a server that forwards the query to the leader: a server that
  // receives a forwarded query and does not lead answers unavailable "No
  // cluster leader" instead of forwarding it again (no forwarding loops
  // while two servers each believe the other leads). Clients leave it false.
  bool forwarded = false;
};

// What the X-Consul-* headers report.
struct QueryMeta {
  uint64_t index = 1;               // X-Consul-Index, never 0
  Duration last_contact{0};         // X-Consul-LastContact: 0 on the leader
  bool known_leader = true;         // X-Consul-KnownLeader
};

struct WriteOptions {
  std::string token;
  bool forwarded = false;  // as QueryOptions::forwarded
};

// ---- queries ----
struct KvGet {
  std::string key;
  using Value = std::optional<KVPair>;
};
struct KvList {  // ?recurse
  std::string prefix;
  using Value = std::vector<KVPair>;
};
struct KvKeys {  // ?keys[&separator=]
  std::string prefix;
  std::string separator;
  using Value = std::vector<std::string>;
};
struct SessionGet {  // /v1/session/info/<id>
  std::string id;
  using Value = std::optional<Session>;
};
struct SessionList {
  using Value = std::vector<Session>;
};
struct SessionNode {  // /v1/session/node/<node>
  std::string node;
  using Value = std::vector<Session>;
};
struct CatalogNodes {
  using Value = std::vector<Node>;
};
struct CatalogServices {  // service name -> tags
  using Value = std::map<std::string, std::vector<std::string>>;
};
struct CatalogServiceNodes {  // /v1/catalog/service/<s>, every tag must match
  std::string service;
  std::vector<std::string> tags;
  bool connect = false;  // /v1/catalog/connect/<s>: the proxies and native instances serving s
  using Value = std::vector<CatalogServiceEntry>;
};
struct CatalogNodeServices {  // /v1/catalog/node/<n> and node-services/<n>
  std::string node;
  using Value = std::optional<NodeServices>;
};
struct HealthNode {  // /v1/health/node/<n>
  std::string node;
  using Value = std::vector<HealthCheck>;
};
struct HealthChecks {  // /v1/health/checks/<service>
  std::string service;
  using Value = std::vector<HealthCheck>;
};
struct HealthState {  // /v1/health/state/<passing|warning|critical|any>
  std::string state;
  using Value = std::vector<HealthCheck>;
};
struct HealthService {  // /v1/health/service/<s>
  std::string service;
  std::vector<std::string> tags;
  bool passing_only = false;
  bool connect = false;  // /v1/health/connect/<s>: the proxies and native instances serving s
  using Value = std::vector<HealthServiceEntry>;
};

// Raft and status, answered by the server that receives them (never
// forwarded, never blocking; min_index is ignored).
struct RaftServer {
  std::string id;       // the server's node ID
  std::string node;     // its node name
  std::string address;  // its RPC "ip:port"
  bool leader = false;
  bool voter = true;
  friend bool operator==(const RaftServer&, const RaftServer&) = default;
};
struct RaftConfiguration {
  std::vector<RaftServer> servers;
  uint64_t index = 0;  // the log index of the configuration
  friend bool operator==(const RaftConfiguration&, const RaftConfiguration&) = default;
};
struct StatusLeader {  // "ip:port" of the leader's RPC address, "" when none
  using Value = std::string;
};
struct StatusPeers {  // RPC addresses of the voters
  using Value = std::vector<std::string>;
};
struct OperatorRaftConfiguration {
  using Value = RaftConfiguration;
};

// PUT /v1/txn with only get/check verbs: every op against one consistent
// view, no Raft write. Errors per op come back in the value (HTTP 409), not
// as an Error. Never blocking (Consul's Txn.Read is not).
struct TxnRead {
  std::vector<TxnOp> ops;
  using Value = TxnResponse;
};
// GET /v1/snapshot: the whole state as one archive (server/README.md
// "Snapshot archives"); the meta index is the archive's applied index.
struct SnapshotSave {
  using Value = std::string;
};

// /v1/config/<kind>/<name> and /v1/config/<kind>: blocking on the kind
// (any write to an entry of that kind wakes the waiter). List with an empty
// kind lists every entry of every kind. The index of the answer is the
// highest ModifyIndex among the kind's entries (or the table's delete
// index, whichever is higher), never 0.
struct ConfigEntryGet {
  std::string kind;
  std::string name;
  using Value = std::optional<ConfigEntry>;
};
struct ConfigEntryList {
  std::string kind;
  using Value = std::vector<ConfigEntry>;
};

// Connect CA (server/README.md "Connect CA"). ConnectCARoots blocks on the
// CA table (any change of roots or configuration wakes it); its index is
// the roots' highest ModifyIndex. ConnectCAConfigGet answers the
// configuration without any private key. Before the leader has created the
// CA both answer an empty value (no roots; cluster_id empty).
struct ConnectCARoots {
  using Value = CARoots;
};
struct ConnectCAConfigGet {
  using Value = CAConfiguration;
};

// /v1/coordinate/nodes (every node's LAN coordinate, sorted by node) and
// /v1/coordinate/node/<n> (empty when the node has none: HTTP 404). Blocking
// on the coordinate table.
struct CoordinateNodes {
  using Value = std::vector<CoordinateEntry>;
};
struct CoordinateNode {
  std::string node;
  using Value = std::vector<CoordinateEntry>;
};

// Prepared queries (/v1/query; api/prepared_query.h). Get looks up by ID
// only, as Consul's PreparedQuery.Get (nullopt: HTTP 404 "Query not
// found"); Get and List block on the prepared-query table.
struct PreparedQueryGet {
  std::string id;
  using Value = std::optional<PreparedQuery>;
};
struct PreparedQueryList {
  using Value = std::vector<PreparedQuery>;
};
// Resolves id_or_name — an ID, else a name (case-insensitive), else the
// template whose name is the longest prefix of it, rendered for it — and
// runs its health query: instances filtered as api::filter_query_nodes
// does, shuffled, then sorted by RTT from options.near if set, else from the
// query's Service.Near ("_agent": agent_node), then cut to `limit` (0: all).
// not_found kQueryNotFound for no match. Never blocking; the index is the
// service's. Single datacenter: Failovers is 0, Datacenter left "" for the
// agent to fill. connect: the service's Connect-capable instances
// (Connect-native ones and the connect-proxies whose destination it is).
struct PreparedQueryExecute {
  std::string id_or_name;
  std::string agent_node;
  uint64_t limit = 0;
  bool connect = false;
  using Value = PreparedQueryExecuteResult;
};
// The query an execution would run, resolved and rendered (not_found as above).
struct PreparedQueryExplain {
  std::string id_or_name;
  using Value = PreparedQuery;
};

using Query = std::variant<KvGet, KvList, KvKeys, SessionGet, SessionList, SessionNode, CatalogNodes, CatalogServices,
                           CatalogServiceNodes, CatalogNodeServices, HealthNode, HealthChecks, HealthState,
                           HealthService, StatusLeader, StatusPeers, OperatorRaftConfiguration, TxnRead,
                           SnapshotSave, ConfigEntryGet, ConfigEntryList, ConnectCARoots, ConnectCAConfigGet,
                           CoordinateNodes, CoordinateNode, PreparedQueryGet, PreparedQueryList,
                           PreparedQueryExecute, PreparedQueryExplain>;

// ---- writes ----
struct KvApply {  // returns whether the write happened (cas/lock may lose)
  KvOp op = KvOp::set;
  KVPair entry;
  using Value = bool;
};
struct SessionCreate {  // the leader chooses the ID (session.id is ignored); returns it
  Session session;
  using Value = std::string;
};
struct SessionDestroy {
  std::string id;
  using Value = bool;
};
struct SessionRenew {  // resets the TTL timer on the leader; not_found when unknown
  std::string id;
  using Value = Session;
};
struct CatalogRegister {
  RegisterRequest request;
  using Value = bool;  // always true on success
};
struct CatalogDeregister {
  DeregisterRequest request;
  using Value = bool;  // always true on success
};
struct OperatorRaftRemovePeer {  // by id, or by address when id is empty
  std::string id;
  std::string address;
  using Value = bool;
};
struct OperatorRaftTransferLeader {  // to `id`, or to any voter when empty; returns the new leader's id
  std::string id;
  using Value = std::string;
};

// PUT /v1/txn with at least one write verb: all ops at one Raft index in
// one batch, or none of them; a rollback is a value with errors (HTTP 409).
struct Txn {
  std::vector<TxnOp> ops;
  using Value = TxnResponse;
};
// PUT /v1/snapshot: replaces the whole state on every server with the
// archive's (invalid_argument, state untouched, when it does not verify).
struct SnapshotRestore {
  std::string archive;
  using Value = bool;
};

// PUT /v1/config (entry.body normalized by the caller; the server checks it
// again and answers invalid_argument naming the field). With cas, the write
// happens only when the stored entry's ModifyIndex equals cas_index (0: only
// when there is none); the value says whether it happened.
struct ConfigEntryApply {
  ConfigEntry entry;
  bool cas = false;
  uint64_t cas_index = 0;
  using Value = bool;
};
// DELETE /v1/config/<kind>/<name>[?cas=]; deleting a missing entry is a
// successful no-op (true), as in Consul.
struct ConfigEntryDelete {
  std::string kind;
  std::string name;
  bool cas = false;
  uint64_t cas_index = 0;
  using Value = bool;
};

// PUT /v1/connect/ca/configuration. A new key type or bits, a supplied
// PrivateKey/RootCert, or ForceWithoutCrossSigning rotates the root (the
// old root's key cross-signs the new one unless forced without); other
// changes (TTLs, CSR limits) only update the configuration. invalid_argument
// names the field. Answered by the leader.
struct ConnectCAConfigSet {
  CAConfiguration config;
  using Value = bool;
};
// Signs a leaf for a CSR (PEM) on the leader; NOT a Raft write. The CSR must
// verify and carry exactly one URI SAN spiffe://<trust domain>/ns/default/
// dc/<dc>/svc/<service> (invalid_argument naming the URI otherwise). The
// rate limit (CSRMaxPerSecond / CSRMaxConcurrent) refuses with
// resource_exhausted "rate limit reached, try again later" (HTTP 429).
// WriteResponse::index is 0.
struct ConnectCASign {
  std::string csr;
  using Value = IssuedCert;
};

// PUT /v1/coordinate/update and the agents' periodic updates: entries of
// nodes the catalog does not hold are skipped (as Consul's batch update
// does). invalid_argument for an empty node or a coordinate that is not 8
// finite dimensions.
struct CoordinateUpdate {
  std::vector<CoordinateEntry> entries;
  using Value = bool;
};

// POST/PUT/DELETE /v1/query: create (query.id must be empty; the leader
// chooses it), update or delete (by query.id; not_found "Cannot modify
// non-existent prepared query: '<id>'"). Checked with
// api::validate_prepared_query, then by the store (unique case-insensitive
// Name, a name that is another query's ID, one empty-name template, an
// existing Session). Returns the query's ID.
struct PreparedQueryApply {
  PreparedQueryOp op = PreparedQueryOp::create;
  PreparedQuery query;
  using Value = std::string;
};

using Write = std::variant<KvApply, SessionCreate, SessionDestroy, SessionRenew, CatalogRegister, CatalogDeregister,
                           OperatorRaftRemovePeer, OperatorRaftTransferLeader, Txn, SnapshotRestore,
                           ConfigEntryApply, ConfigEntryDelete, ConnectCAConfigSet, ConnectCASign,
                           CoordinateUpdate, PreparedQueryApply>;

// ---- aligned result variants ----
template <typename V>
struct ValuesOf;
template <typename... Ts>
struct ValuesOf<std::variant<Ts...>> {
  using type = std::variant<typename Ts::Value...>;
};
using QueryValue = ValuesOf<Query>::type;
using WriteValue = ValuesOf<Write>::type;

// The position of T in variant V.
template <typename T, typename V>
struct IndexOf;
template <typename T, typename... Ts>
struct IndexOf<T, std::variant<Ts...>> {
  static constexpr size_t value = [] {
    size_t i = 0;
    bool found = false;
    ((found = found || std::is_same_v<T, Ts>, i += found ? 0 : 1), ...);
    return i;
  }();
};

struct QueryResponse {
  QueryMeta meta;
  QueryValue value;
};
struct WriteResponse {
  uint64_t index = 0;  // the Raft index the write was applied at (0 for renew, transfer)
  WriteValue value;
};

// The typed result of query Q (the response must come from a Q).
template <typename Q>
typename Q::Value& value_of(QueryResponse& r) {
  return std::get<IndexOf<Q, Query>::value>(r.value);
}
template <typename Q>
const typename Q::Value& value_of(const QueryResponse& r) {
  return std::get<IndexOf<Q, Query>::value>(r.value);
}
template <typename W>
typename W::Value& value_of(WriteResponse& r) {
  return std::get<IndexOf<W, Write>::value>(r.value);
}
template <typename W>
const typename W::Value& value_of(const WriteResponse& r) {
  return std::get<IndexOf<W, Write>::value>(r.value);
}
// Builds the aligned value for query/write type T.
template <typename T, typename V>
V make_value(typename T::Value v) {
  using Source = std::conditional_t<std::is_same_v<V, QueryValue>, Query, Write>;
  return V(std::in_place_index<IndexOf<T, Source>::value>, std::move(v));
}

using QueryCallback = std::function<void(Result<QueryResponse>)>;
using WriteCallback = std::function<void(Result<WriteResponse>)>;

class Handler {
 public:
  virtual ~Handler() = default;
  virtual void query(QueryOptions options, Query query, QueryCallback done) = 0;
  virtual void write(WriteOptions options, Write write, WriteCallback done) = 0;
};

}  // namespace cairn::api::rpc
