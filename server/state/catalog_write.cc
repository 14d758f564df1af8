// Catalog writes: register and deregister with Consul's semantics
// (state/catalog.go ensureRegistrationTxn, ensureServiceTxn, ensureCheckTxn,
// deleteNodeTxn, deleteServiceTxn, deleteCheckTxn).
//
// Index rules, as Consul: a write that changes nothing bumps no index; a
// service's own index ("service.<name>") moves with its instances, their
// checks, their node and the node's node-level checks; when the last
// instance of a service goes, its index is dropped and the catalog records
// that moment as the "extinction" index.
#include "api/connect_proxy.h"
#include "api/validate.h"
#include "server/state/coordinates.h"
#include "server/state/keys.h"
#include "server/state/tables.h"

namespace cairn::server::state {
namespace {

template <typename T>
bool same_ignoring_indexes(T a, T b) {
  a.raft = {};
  b.raft = {};
  return a == b;
}

void bump_service(Txn& t, const std::string& name) {
  t.put(kMeta, service_index_key(name), encode_u64(t.index()));
  t.touched().service(name);
}

// The ?connect queries of a destination: its proxies and native instances.
void bump_connect(Txn& t, const std::string& destination) {
  if (destination.empty()) return;
  t.put(kMeta, connect_index_key(destination), encode_u64(t.index()));
  t.touched().key(WatchTable::connect, destination);
}

// A change to one instance (itself, its checks, its node): its service's
// index and, for a proxy or a native instance, its destination's.
void bump_instance(Txn& t, const api::NodeService& s) {
  bump_service(t, s.service);
  bump_connect(t, api::connect_destination(s));
}

// Health entries embed the node and its node-level checks, so a change to
// either moves every service index on the node.
Status bump_node_services(Txn& t, const std::string& node) {
  CAIRN_TRY(auto services, services_of_node(t, node));
  for (const auto& s : services) bump_instance(t, s);
  return {};
}

void note_node_changed(Txn& t, const std::string& node) {
  t.touched().key(WatchTable::nodes, node);  // catalog/node/<n>
}

void note_checks_changed(Txn& t, const std::string& node) {
  t.bump(IndexTable::checks);
  t.touched().table(WatchTable::checks);
  t.touched().key(WatchTable::checks, node);
}

Status remove_service_name(Txn& t, const std::string& name, const std::string& node, const std::string& id) {
  t.del(kServiceNames, key::instance(name, node, id));
  CAIRN_TRY(auto remaining, t.keys(kServiceNames, key::instances_of(name)));
  if (!remaining.empty()) {
    bump_service(t, name);
    return {};
  }
  t.del(kMeta, service_index_key(name));
  t.put(kMeta, kServiceExtinctionKey, encode_u64(t.index()));
  t.touched().service(name);
  return {};
}

// Consul's ensureNoNodeWithSimilarNameTxn: a name belongs to the node that
// holds it, unless that node has no ID (an upgrade may claim it) or its
// serfHealth check is critical (it is gone and may be replaced).
Status check_name_free(Txn& t, const std::optional<api::Node>& holder, const api::Node& n, bool allow_without_id) {
  if (!holder || fold_case(holder->id) == fold_case(n.id)) return {};
  if (holder->id.empty() && allow_without_id) return {};
  CAIRN_TRY(auto serf, find_check(t, holder->node, std::string(api::kSerfCheckId)));
  if (serf && serf->status == api::kHealthCritical) return {};
  return Error(errc::conflict, "Node name " + n.node + " is reserved by node " + holder->id + " with name " +
                                   holder->node + " (" + holder->address + ")");
}

// Node IDs are unique (Consul's ensureNodeTxn): registering a known ID
// under a new name renames the node — the old one goes, with everything on it.
Status claim_node_id(Txn& t, const std::optional<api::Node>& holder, const api::Node& n) {
  if (n.id.empty()) return {};
  CAIRN_TRY(auto owner, t.get(kNodeIds, key::node_id(n.id)));
  if (owner && fold_case(*owner) != fold_case(n.node)) {
    if (auto st = check_name_free(t, holder, n, false); !st)
      return Error(errc::conflict,
                   "Error while renaming Node ID: \"" + n.id + "\" (" + n.address + "): " + st.error().message());
    CAIRN_RETURN_IF_ERROR(delete_node(t, *owner));
  } else if (!owner) {
    if (auto st = check_name_free(t, holder, n, true); !st)
      return Error(errc::conflict, "Error adding Node ID \"" + n.id + "\": " + st.error().message());
  }
  return {};
}

}  // namespace

Status ensure_node(Txn& t, api::Node n) {
  CAIRN_TRY(auto existing, find_node(t, n.node));
  if (existing && same_ignoring_indexes(*existing, n)) return {};
  CAIRN_RETURN_IF_ERROR(claim_node_id(t, existing, n));
  if (existing && !existing->id.empty() && fold_case(existing->id) != fold_case(n.id))
    t.del(kNodeIds, key::node_id(existing->id));
  if (!n.id.empty()) t.put(kNodeIds, key::node_id(n.id), n.node);
  n.raft = {existing ? existing->raft.create_index : t.index(), t.index()};
  t.put_record(kNodes, key::node(n.node), n);
  t.bump(IndexTable::nodes);
  t.touched().table(WatchTable::nodes);
  note_node_changed(t, n.node);
  return bump_node_services(t, n.node);
}

Status ensure_service(Txn& t, const std::string& node, api::NodeService s) {
  CAIRN_TRY(auto n, find_node(t, node));
  if (!n) return Error(errc::not_found, "Missing node registration");
  CAIRN_TRY(auto existing, find_service(t, node, s.id));
  if (existing && same_ignoring_indexes(*existing, s)) return {};
  if (existing && fold_case(existing->service) != fold_case(s.service))
    CAIRN_RETURN_IF_ERROR(remove_service_name(t, existing->service, node, s.id));
  std::string destination = api::connect_destination(s);
  if (existing) {
    std::string was = api::connect_destination(*existing);
    if (!was.empty() && fold_case(was) != fold_case(destination)) {
      t.del(kConnectNames, key::instance(was, node, s.id));
      bump_connect(t, was);
    }
  }
  s.raft = {existing ? existing->raft.create_index : t.index(), t.index()};
  t.put_record(kServices, key::service(node, s.id), s);
  t.put(kServiceNames, key::instance(s.service, node, s.id), "");
  if (!destination.empty()) t.put(kConnectNames, key::instance(destination, node, s.id), "");
  t.bump(IndexTable::services);
  t.touched().table(WatchTable::services);
  note_node_changed(t, node);
  bump_instance(t, s);
  return {};
}

Status ensure_check(Txn& t, api::HealthCheck c) {
  CAIRN_TRY(auto n, find_node(t, c.node));
  if (!n) return Error(errc::not_found, "Missing node registration");
  std::optional<api::NodeService> svc;
  if (!c.service_id.empty()) {
    CAIRN_TRY(svc, find_service(t, c.node, c.service_id));
    if (!svc) return Error(errc::not_found, "Missing service registration");
    c.service_name = svc->service;
    c.service_tags = svc->tags;
  } else {
    c.service_name.clear();
    c.service_tags.clear();
  }
  if (c.status.empty()) c.status = std::string(api::kHealthCritical);
  CAIRN_TRY(auto existing, find_check(t, c.node, c.check_id));
  if (existing && same_ignoring_indexes(*existing, c)) return {};
  c.raft = {existing ? existing->raft.create_index : t.index(), t.index()};
  t.put_record(kChecks, key::check(c.node, c.check_id), c);
  note_checks_changed(t, c.node);
  if (svc) {
    bump_instance(t, *svc);
  } else {
    CAIRN_RETURN_IF_ERROR(bump_node_services(t, c.node));
  }
  // A session cannot outlive the health of the checks it names.
  if (c.status == api::kHealthCritical) CAIRN_RETURN_IF_ERROR(invalidate_check_sessions(t, c.node, c.check_id));
  return {};
}

Status delete_check(Txn& t, const std::string& node, const std::string& check_id) {
  CAIRN_TRY(auto existing, find_check(t, node, check_id));
  if (!existing) return {};
  t.del(kChecks, key::check(node, check_id));
  note_checks_changed(t, node);
  if (!existing->service_id.empty()) {
    CAIRN_TRY(auto svc, find_service(t, node, existing->service_id));
    if (svc) bump_instance(t, *svc);
  } else {
    CAIRN_RETURN_IF_ERROR(bump_node_services(t, node));
  }
  return invalidate_check_sessions(t, node, check_id);
}

Status delete_service(Txn& t, const std::string& node, const std::string& service_id) {
  CAIRN_TRY(auto existing, find_service(t, node, service_id));
  if (!existing) return {};
  CAIRN_TRY(auto checks, checks_of_node(t, node));
  for (const auto& c : checks) {
    if (c.service_id.empty() || fold_case(c.service_id) != fold_case(service_id)) continue;
    CAIRN_RETURN_IF_ERROR(delete_check(t, node, c.check_id));
  }
  t.del(kServices, key::service(node, service_id));
  CAIRN_RETURN_IF_ERROR(remove_service_name(t, existing->service, node, service_id));
  if (std::string destination = api::connect_destination(*existing); !destination.empty()) {
    t.del(kConnectNames, key::instance(destination, node, service_id));
    bump_connect(t, destination);
  }
  t.bump(IndexTable::services);
  t.touched().table(WatchTable::services);
  note_node_changed(t, node);
  return {};
}

Status delete_node(Txn& t, const std::string& node) {
  CAIRN_TRY(auto existing, find_node(t, node));
  if (!existing) return {};
  CAIRN_TRY(auto services, services_of_node(t, node));
  for (const auto& s : services) CAIRN_RETURN_IF_ERROR(delete_service(t, node, s.id));
  CAIRN_TRY(auto checks, checks_of_node(t, node));
  for (const auto& c : checks) CAIRN_RETURN_IF_ERROR(delete_check(t, node, c.check_id));
  CAIRN_RETURN_IF_ERROR(invalidate_node_sessions(t, node));
  CAIRN_RETURN_IF_ERROR(coordinates_delete_node(t, node));
  if (!existing->id.empty()) t.del(kNodeIds, key::node_id(existing->id));
  t.del(kNodes, key::node(node));
  t.bump(IndexTable::nodes);
  t.touched().table(WatchTable::nodes);
  note_node_changed(t, node);
  return {};
}

Status catalog_register(Txn& t, api::RegisterRequest req) {
  CAIRN_RETURN_IF_ERROR(api::prepare_register(req));
  // Consul skips an unchanged node so that service and check updates do not
  // move the node's index; SkipNodeUpdate skips an existing node outright
  // but still creates a missing one (structs.RegisterRequest.ChangesNode).
  bool write_node = !req.skip_node_update;
  if (!write_node) {
    CAIRN_TRY(auto existing, find_node(t, req.node));
    write_node = !existing.has_value();
  }
  if (write_node) {
    api::Node n;
    n.id = req.id;
    n.node = req.node;
    n.address = req.address;
    n.datacenter = req.datacenter;
    n.tagged_addresses = req.tagged_addresses;
    n.meta = req.node_meta;
    CAIRN_RETURN_IF_ERROR(ensure_node(t, std::move(n)));
  }
  if (req.service) CAIRN_RETURN_IF_ERROR(ensure_service(t, req.node, std::move(*req.service)));
  for (auto& c : req.checks) CAIRN_RETURN_IF_ERROR(ensure_check(t, std::move(c)));
  return {};
}

Status catalog_deregister(Txn& t, const api::DeregisterRequest& req) {
  CAIRN_RETURN_IF_ERROR(api::prepare_deregister(req));
  if (!req.service_id.empty()) return delete_service(t, req.node, req.service_id);
  if (!req.check_id.empty()) return delete_check(t, req.node, req.check_id);
  return delete_node(t, req.node);
}

}  // namespace cairn::server::state
