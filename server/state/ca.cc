// The Connect CA table (column family connect_ca): the configuration under
// "config", each root under "root/<id>", each root's private key under
// "key/<id>" (PEM, read only by ca_root_key: no query answer carries it).
// One table index ("index/connect_ca") and one watch key cover all of it,
// as Consul's roots and config queries both watch the CA tables.
#include <algorithm>
#include <set>

#include "server/state/tables.h"

namespace cairn::server::state {
namespace {

constexpr std::string_view kConfigKey = "config";
std::string root_key(std::string_view id) { return "root/" + std::string(id); }
std::string private_key_key(std::string_view id) { return "key/" + std::string(id); }

Result<std::optional<api::CAConfiguration>> read_config(const Reader& r) {
  return r.record<api::CAConfiguration>(kConnectCa, kConfigKey, "CA configuration");
}

Result<std::vector<api::CARoot>> read_roots(const Reader& r) {
  CAIRN_TRY(auto roots, r.records<api::CARoot>(kConnectCa, "root/", "CA root"));
  std::sort(roots.begin(), roots.end(), [](const api::CARoot& a, const api::CARoot& b) {
    return std::tie(a.raft.create_index, a.id) < std::tie(b.raft.create_index, b.id);
  });
  return roots;
}

}  // namespace

namespace watch_for {
std::vector<WatchKey> connect_ca() { return {WatchKey::of_table(WatchTable::connect_ca)}; }
}  // namespace watch_for

Result<bool> ca_apply(Txn& t, const CaWrite& w) {
  CAIRN_TRY(auto existing, read_config(t));
  if (w.cas) {
    uint64_t have = existing ? existing->raft.modify_index : 0;
    if (have != w.cas_index) return false;
  }
  api::CAConfiguration config = w.config;
  // Supplied keys and certificates become roots; the configuration keeps neither.
  config.config.private_key.clear();
  config.config.root_cert.clear();
  config.force_without_cross_signing = false;
  config.raft = {existing ? existing->raft.create_index : t.index(), t.index()};
  t.put_record(kConnectCa, kConfigKey, config);

  if (w.roots) {
    CAIRN_TRY(auto old_roots, read_roots(t));
    std::set<std::string> keep;
    for (const auto& r : *w.roots) keep.insert(r.id);
    for (const auto& r : old_roots) {
      if (keep.count(r.id)) continue;
      t.del(kConnectCa, root_key(r.id));
      t.del(kConnectCa, private_key_key(r.id));
    }
    for (api::CARoot r : *w.roots) {
      auto old = std::find_if(old_roots.begin(), old_roots.end(), [&](const api::CARoot& o) { return o.id == r.id; });
      r.raft = {old != old_roots.end() ? old->raft.create_index : t.index(), t.index()};
      t.put_record(kConnectCa, root_key(r.id), r);
    }
    for (const auto& [id, pem] : w.keys) {
      if (!keep.count(id)) return Error(errc::invalid_argument, "CA key for unknown root " + id);
      t.put(kConnectCa, private_key_key(id), pem);
    }
  }
  t.bump(IndexTable::connect_ca);
  t.touched().table(WatchTable::connect_ca);
  return true;
}

Result<Indexed<api::CARoots>> ReadView::ca_roots() const {
  CAIRN_TRY(auto config, read_config(*reader_));
  CAIRN_TRY(auto roots, read_roots(*reader_));
  CAIRN_TRY(uint64_t index, reader_->table_index(IndexTable::connect_ca));
  api::CARoots out;
  if (config) out.trust_domain = config->cluster_id + ".consul";
  for (auto& r : roots) {
    if (r.active) out.active_root_id = r.id;
    out.roots.push_back(std::move(r));
  }
  return Indexed<api::CARoots>{at_least_one(index), std::move(out)};
}

Result<Indexed<api::CAConfiguration>> ReadView::ca_config() const {
  CAIRN_TRY(auto config, read_config(*reader_));
  CAIRN_TRY(uint64_t index, reader_->table_index(IndexTable::connect_ca));
  api::CAConfiguration out;
  if (config) out = std::move(*config);
  return Indexed<api::CAConfiguration>{at_least_one(index), std::move(out)};
}

Result<std::optional<std::string>> ReadView::ca_root_key(const std::string& id) const {
  return reader_->get(kConnectCa, private_key_key(id));
}

}  // namespace cairn::server::state
