// A consistent read of the state store at one applied index: every query
// made through one ReadView sees the same RocksDB snapshot, so a result and
// its index always agree.
//
// Indexes follow Consul (shared/reference/consul-api.md §1 "Index
// granularity") and are never 0:
//   kv_get       the key's ModifyIndex, else the KV table index
//   kv_list/keys the max ModifyIndex under the prefix, tombstones included,
//                else the KV table index
//   service_nodes / health_service / service_checks
//                the service's own index (bumped by changes to its
//                instances, their checks, and their nodes); for a service
//                with no instances, the index at which the last service went
//                extinct, else the catalog's max index
//   nodes / services / checks / sessions lists: the table's index
//   node_services: max(nodes, services) table indexes
//
// Thread-safety: a ReadView may be used from one thread at a time; many
// ReadViews may be open at once, concurrently with writes. It must not
// outlive its Store.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/prepared_query.h"
#include "api/types.h"
#include "core/result.h"

namespace cairn::server::state {

class Db;
class SnapshotReader;

template <typename T>
struct Indexed {
  uint64_t index = 1;
  T value{};
};

class ReadView {
 public:
  explicit ReadView(std::unique_ptr<SnapshotReader> reader);
  ~ReadView();
  ReadView(ReadView&&) noexcept;
  ReadView& operator=(ReadView&&) noexcept;

  uint64_t applied_index() const;

  // --- KV ---
  Result<Indexed<std::optional<api::KVPair>>> kv_get(const std::string& key) const;
  Result<Indexed<std::vector<api::KVPair>>> kv_list(const std::string& prefix) const;
  // Keys under prefix; with a separator, each key is cut after the first
  // separator past the prefix and duplicates are folded ("a/b/c" -> "a/b/").
  Result<Indexed<std::vector<std::string>>> kv_keys(const std::string& prefix, const std::string& separator) const;
  // Tombstones still held (for tests and the reaper): key -> index of the delete.
  Result<std::map<std::string, uint64_t>> kv_tombstones() const;

  // --- sessions ---
  // PUT /v1/session/renew/<id> writes nothing to Raft (the leader resets its
  // TTL timer): it is session_get, and a missing session is the 404.
  Result<Indexed<std::optional<api::Session>>> session_get(const std::string& id) const;
  Result<Indexed<std::vector<api::Session>>> session_list() const;
  Result<Indexed<std::vector<api::Session>>> node_sessions(const std::string& node) const;

  // --- catalog ---
  Result<Indexed<std::vector<api::Node>>> nodes() const;
  Result<Indexed<std::optional<api::Node>>> node(const std::string& name) const;
  Result<Indexed<std::map<std::string, std::vector<std::string>>>> services() const;
  // Instances of `service` carrying every tag in `tags` (case-insensitive).
  // connect: the connect-proxy instances whose destination is `service` and
  // its Connect-native instances instead (Consul's ?connect / .../connect/),
  // indexed by the destination's connect index.
  Result<Indexed<std::vector<api::CatalogServiceEntry>>> service_nodes(const std::string& service,
                                                                      const std::vector<std::string>& tags,
                                                                      bool connect = false) const;
  Result<Indexed<std::optional<api::NodeServices>>> node_services(const std::string& node) const;

  // --- health ---
  Result<Indexed<std::vector<api::HealthCheck>>> node_checks(const std::string& node) const;
  Result<Indexed<std::vector<api::HealthCheck>>> service_checks(const std::string& service) const;
  // state: passing | warning | critical | any.
  Result<Indexed<std::vector<api::HealthCheck>>> checks_in_state(const std::string& state) const;
  // {Node, Service, Checks} per instance; passing_only drops instances with
  // any check (service or node level) that is not passing.
  Result<Indexed<std::vector<api::HealthServiceEntry>>> health_service(const std::string& service,
                                                                       const std::vector<std::string>& tags,
                                                                       bool passing_only, bool connect = false) const;

  // --- Connect CA (ca.cc); index: the CA table's, never 0 ---
  // Roots without keys; an empty value before the CA exists.
  Result<Indexed<api::CARoots>> ca_roots() const;
  Result<Indexed<api::CAConfiguration>> ca_config() const;
  // The private key of root `id` (PEM), for signing on the leader only.
  Result<std::optional<std::string>> ca_root_key(const std::string& id) const;

  // --- config entries (config_entries.cc); index: the kind's (every write
  // or delete of the kind sets it), or with kind "" the table's; never 0 ---
  Result<Indexed<std::optional<api::ConfigEntry>>> config_entry_get(const std::string& kind,
                                                                    const std::string& name) const;
  // Sorted by kind, then case-folded name; kind "": every kind.
  Result<Indexed<std::vector<api::ConfigEntry>>> config_entry_list(const std::string& kind) const;

  // --- network coordinates (coordinates.cc); index: the table's, never 0 ---
  // Every node's, sorted by case-folded node then segment.
  Result<Indexed<std::vector<api::CoordinateEntry>>> coordinates() const;
  // One node's (one per segment; empty when it has none).
  Result<Indexed<std::vector<api::CoordinateEntry>>> coordinate(const std::string& node) const;

  // --- prepared queries (prepared_queries.cc); index: the table's, never 0 ---
  Result<Indexed<std::optional<api::PreparedQuery>>> prepared_query_get(const std::string& id) const;
  // Sorted by ID.
  Result<Indexed<std::vector<api::PreparedQuery>>> prepared_query_list() const;
  // By ID, else name, else the longest template prefix, rendered (nullopt: no match).
  Result<Indexed<std::optional<api::PreparedQuery>>> prepared_query_resolve(const std::string& id_or_name,
                                                                            const std::string& agent_segment) const;

  // --- /v1/txn with get/check verbs only (invalid_argument for a write verb) ---
  Result<api::TxnResponse> txn(const std::vector<api::TxnOp>& ops) const;

 private:
  std::unique_ptr<SnapshotReader> reader_;
};

}  // namespace cairn::server::state
