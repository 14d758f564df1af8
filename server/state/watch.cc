#include "server/state/watch.h"

#include <cstdlib>

#include "server/state/keys.h"

namespace cairn::server::state {

namespace {
std::string canonical(WatchTable t, std::string name) {
  if (t == WatchTable::kv || t == WatchTable::sessions) return name;
  return fold_case(name);
}
}  // namespace

WatchKey WatchKey::of_key(WatchTable t, std::string k) { return {Kind::key, t, canonical(t, std::move(k))}; }
WatchKey WatchKey::of_prefix(WatchTable t, std::string p) { return {Kind::prefix, t, canonical(t, std::move(p))}; }
WatchKey WatchKey::of_service(std::string s) { return {Kind::service, WatchTable::services, fold_case(s)}; }

namespace watch_for {
std::vector<WatchKey> kv_key(std::string key) { return {WatchKey::of_key(WatchTable::kv, std::move(key))}; }
std::vector<WatchKey> kv_prefix(std::string prefix) {
  return {WatchKey::of_prefix(WatchTable::kv, std::move(prefix))};
}
std::vector<WatchKey> catalog_nodes() { return {WatchKey::of_table(WatchTable::nodes)}; }
// A node's own changes and its services' changes both touch Key(nodes, n).
std::vector<WatchKey> connect_service(std::string name) {
  return {WatchKey::of_key(WatchTable::connect, std::move(name))};
}
std::vector<WatchKey> catalog_node(std::string node) { return {WatchKey::of_key(WatchTable::nodes, std::move(node))}; }
std::vector<WatchKey> catalog_services() { return {WatchKey::of_table(WatchTable::services)}; }
std::vector<WatchKey> service(std::string name) { return {WatchKey::of_service(std::move(name))}; }
std::vector<WatchKey> node_checks(std::string node) { return {WatchKey::of_key(WatchTable::checks, std::move(node))}; }
std::vector<WatchKey> checks_in_state() { return {WatchKey::of_table(WatchTable::checks)}; }
std::vector<WatchKey> sessions() { return {WatchKey::of_table(WatchTable::sessions)}; }
std::vector<WatchKey> session(std::string id) { return {WatchKey::of_key(WatchTable::sessions, std::move(id))}; }
std::vector<WatchKey> node_sessions(std::string node) {
  return {WatchKey::of_key(WatchTable::session_nodes, std::move(node))};
}
}  // namespace watch_for

WatchRegistry::WaiterId WatchRegistry::add(const std::vector<WatchKey>& keys, Wake wake) {
  if (keys.empty()) std::abort();  // a waiter that watches nothing could never wake: a bug
  WaiterId id = next_id_++;
  for (const WatchKey& k : keys) {
    if (k.kind == WatchKey::Kind::prefix) {
      PrefixIndex& p = prefixes_[k.table];
      auto& set = p.by_prefix[k.name];
      if (set.empty()) ++p.lengths[k.name.size()];
      set.insert(id);
    } else {
      exact_[k].insert(id);
    }
  }
  waiters_.emplace(id, Waiter{keys, std::move(wake)});
  return id;
}

void WatchRegistry::unlink(WaiterId id, const Waiter& w) {
  for (const WatchKey& k : w.keys) {
    if (k.kind == WatchKey::Kind::prefix) {
      auto pit = prefixes_.find(k.table);
      if (pit == prefixes_.end()) continue;
      PrefixIndex& p = pit->second;
      auto it = p.by_prefix.find(k.name);
      if (it == p.by_prefix.end()) continue;
      it->second.erase(id);
      if (it->second.empty()) {
        p.by_prefix.erase(it);
        if (--p.lengths[k.name.size()] == 0) p.lengths.erase(k.name.size());
      }
    } else {
      auto it = exact_.find(k);
      if (it == exact_.end()) continue;
      it->second.erase(id);
      if (it->second.empty()) exact_.erase(it);
    }
  }
}

bool WatchRegistry::remove(WaiterId id) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return false;
  unlink(id, it->second);
  waiters_.erase(it);
  return true;
}

void WatchRegistry::gather(const WatchKey& k, std::set<WaiterId>& out) const {
  if (auto it = exact_.find(k); it != exact_.end()) out.insert(it->second.begin(), it->second.end());
  if (k.kind != WatchKey::Kind::key) return;
  auto pit = prefixes_.find(k.table);
  if (pit == prefixes_.end()) return;
  const PrefixIndex& p = pit->second;
  // Only the lengths some waiter registered: a handful, however many waiters.
  for (const auto& [len, count] : p.lengths) {
    if (len > k.name.size()) break;
    auto it = p.by_prefix.find(k.name.substr(0, len));
    if (it != p.by_prefix.end()) out.insert(it->second.begin(), it->second.end());
  }
}

std::vector<WatchRegistry::Wake> WatchRegistry::collect(const TouchSet& touched) {
  std::set<WaiterId> hit;  // ordered: ids grow with registration
  for (const WatchKey& k : touched.keys()) gather(k, hit);
  std::vector<Wake> out;
  out.reserve(hit.size());
  for (WaiterId id : hit) {
    auto it = waiters_.find(id);
    unlink(id, it->second);
    out.push_back(std::move(it->second.wake));
    waiters_.erase(it);
  }
  return out;
}

}  // namespace cairn::server::state
