#include "agent/local/sync_plan.h"

#include <map>
#include <set>

namespace cairn::agent::local {
namespace {

using Kind = SyncMark::Kind;
constexpr std::string_view kConsulServiceId = "consul";

api::RegisterRequest node_request(const NodeIdentity& self, bool skip_node_update) {
  api::RegisterRequest r;
  r.datacenter = self.datacenter;
  r.id = self.id;
  r.node = self.name;
  r.address = self.address;
  r.tagged_addresses = self.tagged_addresses;
  r.node_meta = self.meta;
  r.skip_node_update = skip_node_update;
  return r;
}

api::rpc::Write deregister(const NodeIdentity& self, std::string service_id, std::string check_id) {
  api::rpc::CatalogDeregister w;
  w.request.datacenter = self.datacenter;
  w.request.node = self.name;
  w.request.service_id = std::move(service_id);
  w.request.check_id = std::move(check_id);
  return w;
}

api::HealthCheck catalog_check(api::HealthCheck c, const NodeIdentity& self) {
  c.node = self.name;
  c.raft = {};
  return c;
}

// The writes that bring the catalog to `s` given what is in sync (flags),
// plus the deregistrations of catalog entries we never had.
std::vector<SyncOp> writes_for(const Snapshot& s, const NodeIdentity& self, bool node_in_sync,
                               const std::vector<std::string>& extra_services,
                               const std::vector<std::string>& extra_checks) {
  std::vector<SyncOp> out;
  if (!node_in_sync) {
    SyncOp op;
    op.write = api::rpc::CatalogRegister{node_request(self, false)};
    op.marks.push_back({Kind::node, "", 0});
    out.push_back(std::move(op));
  }
  std::set<std::string> registered_with_service;
  for (const auto& [id, svc] : s.services) {
    if (svc.in_sync()) continue;
    api::rpc::CatalogRegister w{node_request(self, true)};
    w.request.service = svc.service;
    w.request.service->raft = {};
    SyncOp op;
    op.token = svc.token;
    op.marks.push_back({Kind::service, id, svc.revision});
    for (const auto& [cid, c] : s.checks) {
      if (c.check.service_id != id) continue;
      w.request.checks.push_back(catalog_check(c.check, self));
      op.marks.push_back({Kind::check, cid, c.revision});
      registered_with_service.insert(cid);
    }
    op.write = std::move(w);
    out.push_back(std::move(op));
  }
  for (const auto& [cid, c] : s.checks) {
    if (c.in_sync() || registered_with_service.count(cid)) continue;
    if (!c.check.service_id.empty() && !s.services.count(c.check.service_id)) continue;  // no such service (yet)
    api::rpc::CatalogRegister w{node_request(self, true)};
    w.request.check = catalog_check(c.check, self);
    SyncOp op;
    op.token = c.token;
    op.marks.push_back({Kind::check, cid, c.revision});
    op.write = std::move(w);
    out.push_back(std::move(op));
  }
  for (const auto& [cid, rev] : s.deleted_checks) {
    SyncOp op;
    op.write = deregister(self, "", cid);
    op.marks.push_back({Kind::check_tombstone, cid, rev});
    out.push_back(std::move(op));
  }
  for (const auto& [id, rev] : s.deleted_services) {
    SyncOp op;
    op.write = deregister(self, id, "");
    op.marks.push_back({Kind::service_tombstone, id, rev});
    out.push_back(std::move(op));
  }
  for (const auto& cid : extra_checks) out.push_back(SyncOp{deregister(self, "", cid), "", {}});
  for (const auto& id : extra_services) out.push_back(SyncOp{deregister(self, id, ""), "", {}});
  return out;
}

// Drops the tombstones whose entry the catalog no longer has: in sync.
template <typename Remote>
void drop_absent(std::map<std::string, uint64_t>& tombstones, const Remote& remote, Kind kind, SyncPlan& plan) {
  for (auto it = tombstones.begin(); it != tombstones.end();) {
    if (remote.count(it->first)) {
      ++it;
      continue;
    }
    plan.in_sync.push_back({kind, it->first, it->second});
    it = tombstones.erase(it);
  }
}

}  // namespace

api::StringMap node_tagged_addresses(const std::string& address) {
  bool v6 = address.find(':') != std::string::npos;
  const char* suffix = v6 ? "_ipv6" : "_ipv4";
  return {{"lan", address}, {std::string("lan") + suffix, address}, {"wan", address}, {std::string("wan") + suffix, address}};
}

bool same_service(const api::NodeService& local, const api::NodeService& remote, bool ignore_tags) {
  api::NodeService a = local, b = remote;
  a.raft = b.raft = {};
  if (ignore_tags) a.tags = b.tags;
  return a == b;
}

bool same_check(const api::HealthCheck& local, const api::HealthCheck& remote) {
  api::HealthCheck a = local, b = remote;
  a.raft = b.raft = {};
  return a == b;
}

bool same_node(const NodeIdentity& self, const api::Node& remote) {
  return remote.node == self.name && remote.id == self.id && remote.address == self.address &&
         remote.tagged_addresses == self.tagged_addresses && remote.meta == self.meta;
}

SyncPlan plan_full(const Snapshot& local, const RemoteState& remote, const NodeIdentity& self) {
  SyncPlan plan;
  Snapshot s = local;
  bool node_ok = remote.node && same_node(self, *remote.node);

  std::map<std::string, const api::NodeService*> remote_services;
  for (const auto& rs : remote.services) remote_services[rs.id] = &rs;
  std::map<std::string, const api::HealthCheck*> remote_checks;
  for (const auto& rc : remote.checks) remote_checks[rc.check_id] = &rc;

  for (auto& [id, svc] : s.services) {
    auto it = remote_services.find(id);
    bool ok = false;
    if (it != remote_services.end()) {
      const api::NodeService& rs = *it->second;
      if (svc.service.enable_tag_override && svc.service.tags != rs.tags) {
        // The catalog's tags win (someone edited them there on purpose).
        svc.service.tags = rs.tags;
        plan.adopted_tags.emplace_back(id, rs.tags);
        for (auto& [cid, c] : s.checks)
          if (c.check.service_id == id) c.check.service_tags = rs.tags;
      }
      ok = same_service(svc.service, rs, svc.service.enable_tag_override);
    }
    svc.synced_revision = ok ? svc.revision : 0;
    if (ok) plan.in_sync.push_back({Kind::service, id, svc.revision});
  }
  for (auto& [cid, c] : s.checks) {
    auto it = remote_checks.find(cid);
    bool ok = it != remote_checks.end() && same_check(catalog_check(c.check, self), *it->second);
    c.synced_revision = ok ? c.revision : 0;
    if (ok) plan.in_sync.push_back({Kind::check, cid, c.revision});
  }
  // Tombstones of what the catalog no longer has are done with.
  drop_absent(s.deleted_services, remote_services, Kind::service_tombstone, plan);
  drop_absent(s.deleted_checks, remote_checks, Kind::check_tombstone, plan);

  std::vector<std::string> extra_services, extra_checks;
  std::set<std::string> extra_service_set;
  for (const auto& [id, rs] : remote_services) {
    if (id == kConsulServiceId || s.services.count(id) || s.deleted_services.count(id)) continue;
    extra_services.push_back(id);
    extra_service_set.insert(id);
  }
  for (const auto& [cid, rc] : remote_checks) {
    if (cid == api::kSerfCheckId || s.checks.count(cid) || s.deleted_checks.count(cid)) continue;
    // Checks of a service about to go, and the servers' own, go with it / stay.
    if (extra_service_set.count(rc->service_id) || rc->service_id == kConsulServiceId) continue;
    if (!rc->service_id.empty() && s.deleted_services.count(rc->service_id)) continue;
    extra_checks.push_back(cid);
  }
  if (node_ok) plan.in_sync.push_back({Kind::node, "", 0});
  plan.writes = writes_for(s, self, node_ok, extra_services, extra_checks);
  return plan;
}

SyncPlan plan_partial(const Snapshot& local, const NodeIdentity& self, bool node_in_sync) {
  SyncPlan plan;
  plan.writes = writes_for(local, self, node_in_sync, {}, {});
  return plan;
}

}  // namespace cairn::agent::local
