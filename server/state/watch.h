// Blocking-query waiters keyed by what they read (DESIGN.md "Blocking
// queries"). A query registers the keys it read; applying a command yields a
// TouchSet of exactly the keys it changed; collect() hands back the waiters
// whose read set meets that TouchSet, and no others.
//
// What a query watches, and what a write touches:
//   KV key k            Key(kv, k)        | a write of k touches Key(kv, k) and
//   KV prefix p         Prefix(kv, p)     |   so wakes every Prefix(kv, p) with p a prefix of k
//   catalog nodes       Table(nodes)      | a node change
//   catalog services    Table(services)   | a service instance change
//   catalog/node/<n>    Key(nodes, n)     | a change to node n or its services
//   service s (catalog/service, health/service, health/checks)
//                       Service(s)        | a change to an instance of s, its checks,
//                                         |   or the node or node checks under it
//   health/node/<n>     Key(checks, n)    | a check change on node n
//   health/state/<st>   Table(checks)     | any check change
//   session list        Table(sessions)   | any session change
//   session info <id>   Key(sessions, id) | a change to session id
//   session node <n>    Key(session_nodes, n)
//
// Cost: a waiter is one map entry per key it watches; collect() does one
// hash lookup per touched key, plus for each touched KV key one lookup per
// distinct registered prefix length — never a scan over unrelated waiters.
//
// Thread-safety: none. Owned by one strand (or guarded by the caller's
// mutex); run the returned callbacks outside that lock.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace cairn::server::state {

enum class WatchTable : uint8_t { nodes, services, checks, kv, sessions, session_nodes, config_entries, connect_ca, coordinates, connect,
                                  prepared_queries };

struct WatchKey {
  enum class Kind : uint8_t { table, key, prefix, service };
  Kind kind = Kind::table;
  WatchTable table = WatchTable::nodes;
  std::string name;  // key, prefix or service name; empty for a table

  // Catalog names (nodes, services, checks) are case-insensitive, so keys of
  // those tables and service names are stored lowercased; KV keys and
  // session IDs are kept as they are.
  static WatchKey of_table(WatchTable t) { return {Kind::table, t, {}}; }
  static WatchKey of_key(WatchTable t, std::string k);
  static WatchKey of_prefix(WatchTable t, std::string p);
  static WatchKey of_service(std::string s);

  friend auto operator<=>(const WatchKey&, const WatchKey&) = default;
  friend bool operator==(const WatchKey&, const WatchKey&) = default;
};

// The keys one command changed. Prefix keys never appear here: a write
// touches concrete keys and the registry finds the prefixes that cover them.
class TouchSet {
 public:
  void table(WatchTable t) { keys_.insert(WatchKey::of_table(t)); }
  void key(WatchTable t, std::string k) { keys_.insert(WatchKey::of_key(t, std::move(k))); }
  void service(std::string s) { keys_.insert(WatchKey::of_service(std::move(s))); }
  void merge(const TouchSet& other) { keys_.insert(other.keys_.begin(), other.keys_.end()); }

  bool contains(const WatchKey& k) const { return keys_.count(k) > 0; }
  bool empty() const { return keys_.empty(); }
  size_t size() const { return keys_.size(); }
  const std::set<WatchKey>& keys() const { return keys_; }

 private:
  std::set<WatchKey> keys_;
};

// What each ReadView query watches — the table at the top of this file, as
// code. A blocking query parks on these after reading at index X and is
// woken when a later write touches one of them.
namespace watch_for {
std::vector<WatchKey> kv_key(std::string key);            // kv_get
std::vector<WatchKey> kv_prefix(std::string prefix);      // kv_list, kv_keys
std::vector<WatchKey> catalog_nodes();                    // nodes
std::vector<WatchKey> catalog_node(std::string node);     // node, node_services
std::vector<WatchKey> catalog_services();                 // services
std::vector<WatchKey> service(std::string name);          // service_nodes, health_service, service_checks
std::vector<WatchKey> connect_service(std::string name);  // the ?connect forms: Key(connect, destination)
std::vector<WatchKey> node_checks(std::string node);      // node_checks
std::vector<WatchKey> checks_in_state();                  // checks_in_state
std::vector<WatchKey> sessions();                         // session_list
std::vector<WatchKey> session(std::string id);            // session_get
std::vector<WatchKey> node_sessions(std::string node);    // node_sessions
std::vector<WatchKey> connect_ca();                       // ca_roots, ca_config (defined in ca.cc)
// config_entry_get and config_entry_list of a kind: Key(config_entries, kind);
// config_entry_list of every kind (kind ""): Table(config_entries). Defined
// in config_entries.cc.
std::vector<WatchKey> config_entries(std::string kind);
std::vector<WatchKey> coordinates();                      // coordinate_nodes, coordinate_node (coordinates.cc)
std::vector<WatchKey> prepared_queries();                 // prepared_query_get, _list (prepared_queries.cc)
}  // namespace watch_for

class WatchRegistry {
 public:
  using WaiterId = uint64_t;
  using Wake = std::function<void()>;

  // Parks a waiter on every key in `keys` (at least one). It fires at most
  // once: collect() removes it from all its keys.
  WaiterId add(const std::vector<WatchKey>& keys, Wake wake);

  // Drops a waiter that timed out or whose client left. False if it already fired.
  bool remove(WaiterId id);

  // Removes every waiter whose read set meets `touched` and returns their
  // callbacks, in registration order, for the caller to run.
  std::vector<Wake> collect(const TouchSet& touched);

  size_t size() const { return waiters_.size(); }

 private:
  struct Waiter {
    std::vector<WatchKey> keys;
    Wake wake;
  };
  struct PrefixIndex {
    std::unordered_map<std::string, std::unordered_set<WaiterId>> by_prefix;
    std::map<size_t, size_t> lengths;  // prefix length -> how many prefixes have it
  };

  void unlink(WaiterId id, const Waiter& w);
  void gather(const WatchKey& k, std::set<WaiterId>& out) const;

  WaiterId next_id_ = 1;
  std::unordered_map<WaiterId, Waiter> waiters_;
  std::map<WatchKey, std::unordered_set<WaiterId>> exact_;
  std::map<WatchTable, PrefixIndex> prefixes_;
};

}  // namespace cairn::server::state
