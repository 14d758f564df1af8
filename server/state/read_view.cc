#include "server/state/read_view.h"

#include "server/state/db.h"
#include "server/state/tables.h"

namespace cairn::server::state {

ReadView::ReadView(std::unique_ptr<SnapshotReader> reader) : reader_(std::move(reader)) {}
ReadView::~ReadView() = default;
ReadView::ReadView(ReadView&&) noexcept = default;
ReadView& ReadView::operator=(ReadView&&) noexcept = default;

uint64_t ReadView::applied_index() const { return reader_->meta_u64(kAppliedIndexKey).value_or(0); }

Result<api::TxnResponse> ReadView::txn(const std::vector<api::TxnOp>& ops) const {
  return state::txn_read(*reader_, ops);
}

Result<Indexed<std::optional<api::KVPair>>> ReadView::kv_get(const std::string& key) const {
  return state::kv_get(*reader_, key);
}
Result<Indexed<std::vector<api::KVPair>>> ReadView::kv_list(const std::string& prefix) const {
  return state::kv_list(*reader_, prefix);
}
Result<Indexed<std::vector<std::string>>> ReadView::kv_keys(const std::string& prefix,
                                                            const std::string& separator) const {
  return state::kv_keys(*reader_, prefix, separator);
}
Result<std::map<std::string, uint64_t>> ReadView::kv_tombstones() const { return state::kv_tombstones(*reader_); }

Result<Indexed<std::optional<api::Session>>> ReadView::session_get(const std::string& id) const {
  return state::session_get(*reader_, id);
}
Result<Indexed<std::vector<api::Session>>> ReadView::session_list() const { return state::session_list(*reader_); }
Result<Indexed<std::vector<api::Session>>> ReadView::node_sessions(const std::string& node) const {
  return state::node_sessions(*reader_, node);
}

Result<Indexed<std::vector<api::Node>>> ReadView::nodes() const { return catalog_nodes(*reader_); }
Result<Indexed<std::optional<api::Node>>> ReadView::node(const std::string& name) const {
  return catalog_node(*reader_, name);
}
Result<Indexed<std::map<std::string, std::vector<std::string>>>> ReadView::services() const {
  return catalog_services(*reader_);
}
Result<Indexed<std::vector<api::CatalogServiceEntry>>> ReadView::service_nodes(
    const std::string& service, const std::vector<std::string>& tags, bool connect) const {
  return catalog_service_nodes(*reader_, service, tags, connect);
}
Result<Indexed<std::optional<api::NodeServices>>> ReadView::node_services(const std::string& node) const {
  return catalog_node_services(*reader_, node);
}

Result<Indexed<std::vector<api::HealthCheck>>> ReadView::node_checks(const std::string& node) const {
  return health_node_checks(*reader_, node);
}
Result<Indexed<std::vector<api::HealthCheck>>> ReadView::service_checks(const std::string& service) const {
  return health_service_checks(*reader_, service);
}
Result<Indexed<std::vector<api::HealthCheck>>> ReadView::checks_in_state(const std::string& state) const {
  return health_checks_in_state(*reader_, state);
}
Result<Indexed<std::vector<api::HealthServiceEntry>>> ReadView::health_service(
    const std::string& service, const std::vector<std::string>& tags, bool passing_only, bool connect) const {
  return health_service_nodes(*reader_, service, tags, passing_only, connect);
}

}  // namespace cairn::server::state
