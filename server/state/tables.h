// Internal to server/state: the operations of each table, written against
// Txn (writes) and Reader (queries), so that a write can run the same
// lookups a query does and see its own pending changes. One .cc per table:
// kv.cc, sessions.cc, catalog_write.cc, catalog_read.cc.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "server/state/db.h"
#include "server/state/read_view.h"
#include "server/state/store.h"

namespace cairn::server::state {

// Consul's setIndex: a blocking index is never 0.
inline uint64_t at_least_one(uint64_t i) { return i == 0 ? 1 : i; }

// --- kv.cc ---
Result<bool> kv_apply(Txn& t, KvOp op, const api::KVPair& entry);
// Deletes one key as part of a bigger change (session invalidation).
Status kv_remove(Txn& t, const api::KVPair& existing);
// Stores an updated entry at this command's index (session release).
void kv_store(Txn& t, api::KVPair entry);
Result<uint64_t> kv_reap_tombstones(Txn& t, uint64_t up_to_index);
Result<uint64_t> kv_table_index(const Reader& r);
Result<Indexed<std::optional<api::KVPair>>> kv_get(const Reader& r, const std::string& key);
Result<Indexed<std::vector<api::KVPair>>> kv_list(const Reader& r, const std::string& prefix);
Result<Indexed<std::vector<std::string>>> kv_keys(const Reader& r, const std::string& prefix,
                                                  const std::string& separator);
Result<std::map<std::string, uint64_t>> kv_tombstones(const Reader& r);

// --- sessions.cc ---
Result<std::string> session_create(Txn& t, api::Session s);
Result<bool> session_destroy(Txn& t, const std::string& id);
// Invalidation cascades from the catalog.
Status invalidate_node_sessions(Txn& t, const std::string& node);
Status invalidate_check_sessions(Txn& t, const std::string& node, const std::string& check_id);
Result<Indexed<std::optional<api::Session>>> session_get(const Reader& r, const std::string& id);
Result<Indexed<std::vector<api::Session>>> session_list(const Reader& r);
Result<Indexed<std::vector<api::Session>>> node_sessions(const Reader& r, const std::string& node);

// --- catalog_write.cc ---
Status catalog_register(Txn& t, api::RegisterRequest req);
Status catalog_deregister(Txn& t, const api::DeregisterRequest& req);
// The pieces of a registration, for transactions (Consul's ensureNodeTxn,
// ensureServiceTxn, ensureCheckTxn and the delete*Txn): no pre-apply rules.
Status ensure_node(Txn& t, api::Node n);
Status ensure_service(Txn& t, const std::string& node, api::NodeService s);
Status ensure_check(Txn& t, api::HealthCheck c);
Status delete_node(Txn& t, const std::string& node);
Status delete_service(Txn& t, const std::string& node, const std::string& service_id);
Status delete_check(Txn& t, const std::string& node, const std::string& check_id);

// --- txn.cc ---
// /v1/txn: every op in order against `t` (its writes see the earlier ops');
// errors are collected per op (Consul's texts) and the caller commits the
// batch only when there are none. Err only on a storage failure.
Result<api::TxnResponse> txn_apply(Txn& t, const std::vector<api::TxnOp>& ops);
// The same for get/check verbs only, against a consistent view;
// invalid_argument when an op writes.
Result<api::TxnResponse> txn_read(const Reader& r, const std::vector<api::TxnOp>& ops);

// --- ca.cc ---
Result<bool> ca_apply(Txn& t, const CaWrite& w);

// --- catalog_read.cc ---
Result<std::optional<api::Node>> find_node(const Reader& r, const std::string& node);
Result<std::optional<api::NodeService>> find_service(const Reader& r, const std::string& node,
                                                     const std::string& service_id);
Result<std::optional<api::HealthCheck>> find_check(const Reader& r, const std::string& node,
                                                   const std::string& check_id);
Result<std::vector<api::NodeService>> services_of_node(const Reader& r, const std::string& node);
Result<std::vector<api::HealthCheck>> checks_of_node(const Reader& r, const std::string& node);
Result<uint64_t> service_index(const Reader& r, const std::string& service);

Result<Indexed<std::vector<api::Node>>> catalog_nodes(const Reader& r);
Result<Indexed<std::optional<api::Node>>> catalog_node(const Reader& r, const std::string& name);
Result<Indexed<std::map<std::string, std::vector<std::string>>>> catalog_services(const Reader& r);
Result<Indexed<std::vector<api::CatalogServiceEntry>>> catalog_service_nodes(const Reader& r,
                                                                            const std::string& service,
                                                                            const std::vector<std::string>& tags,
                                                                            bool connect);
Result<Indexed<std::optional<api::NodeServices>>> catalog_node_services(const Reader& r, const std::string& node);
Result<Indexed<std::vector<api::HealthCheck>>> health_node_checks(const Reader& r, const std::string& node);
Result<Indexed<std::vector<api::HealthCheck>>> health_service_checks(const Reader& r, const std::string& service);
Result<Indexed<std::vector<api::HealthCheck>>> health_checks_in_state(const Reader& r, const std::string& state);
Result<Indexed<std::vector<api::HealthServiceEntry>>> health_service_nodes(const Reader& r,
                                                                          const std::string& service,
                                                                          const std::vector<std::string>& tags,
                                                                          bool passing_only, bool connect);

}  // namespace cairn::server::state
