// The sessions table and its indexes (node -> sessions, check -> sessions),
// and session invalidation (Consul's state/session.go deleteSessionTxn).
#include <algorithm>

#include "server/state/keys.h"
#include "server/state/prepared_queries.h"
#include "server/state/tables.h"

namespace cairn::server::state {
namespace {

// Consul's structs.MaxLockDelay: longer lock delays are not honoured.
constexpr Duration kMaxLockDelay = std::chrono::seconds(60);


void touch_session(Txn& t, const api::Session& s) {
  t.touched().table(WatchTable::sessions);
  t.touched().key(WatchTable::sessions, s.id);
  t.touched().key(WatchTable::session_nodes, s.node);
}

// The last component of each index entry under `prefix`: the session IDs.
Result<std::vector<std::string>> session_ids_under(const Reader& r, Cf cf, const std::string& prefix) {
  CAIRN_TRY(auto keys, r.keys(cf, prefix));
  std::vector<std::string> ids;
  std::vector<std::string> parts;
  for (const auto& k : keys) {
    if (!split_components(k, parts) || parts.empty()) return Error(errc::internal, "corrupt session index entry");
    ids.push_back(parts.back());
  }
  return ids;
}

// Release or delete what the session holds, start lock delays, forget it.
Status invalidate(Txn& t, const api::Session& s) {
  std::string held_prefix = key::held_by(s.id);
  CAIRN_TRY(auto held, t.keys(kSessionKeys, held_prefix));
  for (const auto& entry : held) {
    std::string key = entry.substr(held_prefix.size());
    t.del(kSessionKeys, entry);
    CAIRN_TRY(auto kv, t.record<api::KVPair>(kKv, key, "kv"));
    if (!kv || kv->session != s.id) continue;
    if (s.behavior == api::kSessionBehaviorDelete) {
      CAIRN_RETURN_IF_ERROR(kv_remove(t, *kv));
    } else {
      kv->session.clear();
      kv_store(t, std::move(*kv));
    }
    // Consul's lock delay: nobody may take the lock for LockDelay after its
    // holder was invalidated, so the old holder can notice before a new one acts.
    if (s.lock_delay > Duration(0)) {
      auto expiry = t.now().since_unix_epoch + std::min(s.lock_delay, kMaxLockDelay);
      t.put(kLockDelays, key, encode_u64(static_cast<uint64_t>(expiry.count())));
    }
  }
  CAIRN_RETURN_IF_ERROR(prepared_queries_delete_session(t, s.id));  // as Consul's deleteSessionTxn
  t.del(kSessions, s.id);
  t.del(kNodeSessions, key::node_session(s.node, s.id));
  for (const auto& check : s.all_check_ids()) t.del(kCheckSessions, key::check_session(s.node, check, s.id));
  t.bump(IndexTable::sessions);
  touch_session(t, s);
  return {};
}

}  // namespace

Result<std::string> session_create(Txn& t, api::Session s) {
  if (s.id.empty()) return Error(errc::invalid_argument, "Missing session ID");
  if (s.behavior.empty()) s.behavior = std::string(api::kSessionBehaviorRelease);
  if (s.behavior != api::kSessionBehaviorRelease && s.behavior != api::kSessionBehaviorDelete)
    return Error(errc::invalid_argument, "Invalid session behavior: " + s.behavior);
  CAIRN_TRY(auto existing, t.get(kSessions, s.id));
  if (existing) return Error(errc::already_exists, "Session ID " + s.id + " already exists");
  CAIRN_TRY(auto node, find_node(t, s.node));
  if (!node) return Error(errc::not_found, "Missing node registration");
  auto checks = s.all_check_ids();
  for (const auto& id : checks) {
    CAIRN_TRY(auto check, find_check(t, s.node, id));
    if (!check) return Error(errc::not_found, "Missing check '" + id + "' registration");
    if (check->status == api::kHealthCritical)
      return Error(errc::invalid_argument, "Check '" + id + "' is in critical state");
  }
  s.raft = {t.index(), t.index()};
  t.put_record(kSessions, s.id, s);
  t.put(kNodeSessions, key::node_session(s.node, s.id), "");
  for (const auto& id : checks) t.put(kCheckSessions, key::check_session(s.node, id, s.id), "");
  t.bump(IndexTable::sessions);
  touch_session(t, s);
  return s.id;
}

Result<bool> session_destroy(Txn& t, const std::string& id) {
  CAIRN_TRY(auto s, t.record<api::Session>(kSessions, id, "session"));
  if (!s) return false;
  CAIRN_RETURN_IF_ERROR(invalidate(t, *s));
  return true;
}

Status invalidate_node_sessions(Txn& t, const std::string& node) {
  CAIRN_TRY(auto ids, session_ids_under(t, kNodeSessions, key::of_node(node)));
  for (const auto& id : ids) CAIRN_RETURN_IF_ERROR(session_destroy(t, id));
  return {};
}

Status invalidate_check_sessions(Txn& t, const std::string& node, const std::string& check_id) {
  CAIRN_TRY(auto ids, session_ids_under(t, kCheckSessions, key::sessions_of_check(node, check_id)));
  for (const auto& id : ids) CAIRN_RETURN_IF_ERROR(session_destroy(t, id));
  return {};
}

Result<Indexed<std::optional<api::Session>>> session_get(const Reader& r, const std::string& id) {
  CAIRN_TRY(auto s, r.record<api::Session>(kSessions, id, "session"));
  CAIRN_TRY(uint64_t index, r.table_index(IndexTable::sessions));
  return Indexed<std::optional<api::Session>>{at_least_one(index), std::move(s)};
}

Result<Indexed<std::vector<api::Session>>> session_list(const Reader& r) {
  CAIRN_TRY(auto all, r.records<api::Session>(kSessions, "", "session"));
  CAIRN_TRY(uint64_t index, r.table_index(IndexTable::sessions));
  return Indexed<std::vector<api::Session>>{at_least_one(index), std::move(all)};
}

Result<Indexed<std::vector<api::Session>>> node_sessions(const Reader& r, const std::string& node) {
  CAIRN_TRY(auto ids, session_ids_under(r, kNodeSessions, key::of_node(node)));
  std::vector<api::Session> out;
  for (const auto& id : ids) {
    CAIRN_TRY(auto s, r.record<api::Session>(kSessions, id, "session"));
    if (s) out.push_back(std::move(*s));
  }
  CAIRN_TRY(uint64_t index, r.table_index(IndexTable::sessions));
  return Indexed<std::vector<api::Session>>{at_least_one(index), std::move(out)};
}

}  // namespace cairn::server::state
