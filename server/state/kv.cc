// The KV table: entries, tombstones of deleted keys, lock delays, and the
// session -> held keys index (Consul's state/kvs.go and graveyard.go).
#include <algorithm>

#include "server/state/keys.h"
#include "server/state/tables.h"

namespace cairn::server::state {
namespace {

void touch_key(Txn& t, const std::string& key) { t.touched().key(WatchTable::kv, key); }

// An acquire fails while a lock delay from an invalidated session is running.
Result<bool> lock_delay_active(Txn& t, const std::string& key) {
  CAIRN_TRY(auto raw, t.get(kLockDelays, key));
  if (!raw) return false;
  auto expiry = decode_u64(*raw);
  if (!expiry) return Error(errc::internal, "corrupt lock delay for key " + key);
  if (static_cast<int64_t>(*expiry) > t.now().since_unix_epoch.count()) return true;
  t.del(kLockDelays, key);  // expired: forget it as part of this command
  return false;
}

}  // namespace

void kv_store(Txn& t, api::KVPair entry) {
  entry.raft.modify_index = t.index();
  t.put_record(kKv, entry.key, entry);
  t.bump(IndexTable::kv);
  touch_key(t, entry.key);
}

Status kv_remove(Txn& t, const api::KVPair& existing) {
  t.del(kKv, existing.key);
  if (!existing.session.empty()) t.del(kSessionKeys, key::held(existing.session, existing.key));
  // The tombstone keeps the prefix index from going backwards when the
  // newest key under a prefix is deleted (Consul's graveyard).
  t.put(kTombstones, existing.key, encode_u64(t.index()));
  t.bump(IndexTable::kv);
  t.bump(IndexTable::tombstones);
  touch_key(t, existing.key);
  return {};
}

Result<bool> kv_apply(Txn& t, KvOp op, const api::KVPair& in) {
  CAIRN_TRY(auto existing, t.record<api::KVPair>(kKv, in.key, "kv"));
  auto keep_identity = [&](api::KVPair& e) {
    if (existing) {
      e.raft.create_index = existing->raft.create_index;
      e.lock_index = existing->lock_index;
    } else {
      e.raft.create_index = t.index();
      e.lock_index = 0;
    }
  };
  switch (op) {
    case KvOp::cas:
      if (in.raft.modify_index == 0 ? existing.has_value()
                                    : (!existing || existing->raft.modify_index != in.raft.modify_index))
        return false;
      [[fallthrough]];
    case KvOp::set: {
      api::KVPair e = in;
      keep_identity(e);
      // A plain write never changes who holds the lock (Consul kvsSetTxn).
      e.session = existing ? existing->session : std::string();
      kv_store(t, std::move(e));
      return true;
    }
    case KvOp::lock: {
      if (in.session.empty()) return Error(errc::invalid_argument, "missing session");
      CAIRN_TRY(auto session, t.get(kSessions, in.session));
      if (!session) return Error(errc::invalid_argument, "invalid session \"" + in.session + "\"");
      CAIRN_TRY(bool delayed, lock_delay_active(t, in.key));
      if (delayed) return false;
      api::KVPair e = in;
      keep_identity(e);
      if (existing && !existing->session.empty()) {
        if (existing->session != in.session) return false;  // held by someone else
      } else {
        ++e.lock_index;  // a new acquisition
        t.put(kSessionKeys, key::held(in.session, in.key), "");
      }
      kv_store(t, std::move(e));
      return true;
    }
    case KvOp::unlock: {
      if (in.session.empty()) return Error(errc::invalid_argument, "missing session");
      if (!existing || existing->session != in.session) return false;
      api::KVPair e = in;
      keep_identity(e);
      e.session.clear();
      t.del(kSessionKeys, key::held(in.session, in.key));
      kv_store(t, std::move(e));
      return true;
    }
    case KvOp::delete_key:
      if (existing) CAIRN_RETURN_IF_ERROR(kv_remove(t, *existing));
      return true;
    case KvOp::delete_cas:
      // Consul: a missing key "was deleted"; a mismatched index fails.
      if (!existing) return true;
      if (existing->raft.modify_index != in.raft.modify_index) return false;
      CAIRN_RETURN_IF_ERROR(kv_remove(t, *existing));
      return true;
    case KvOp::delete_tree: {
      CAIRN_TRY(auto entries, t.records<api::KVPair>(kKv, in.key, "kv"));
      for (const auto& e : entries) CAIRN_RETURN_IF_ERROR(kv_remove(t, e));
      return true;
    }
  }
  return Error(errc::invalid_argument, "unknown KV operation " + std::to_string(static_cast<int>(op)));
}

Result<uint64_t> kv_reap_tombstones(Txn& t, uint64_t up_to_index) {
  std::vector<std::string> reap;
  Status bad;
  CAIRN_RETURN_IF_ERROR(t.scan(kTombstones, "", [&](std::string_view key, std::string_view value) {
    auto idx = decode_u64(value);
    if (!idx) {
      bad = Error(errc::internal, "corrupt tombstone for key " + std::string(key));
      return false;
    }
    if (*idx <= up_to_index) reap.emplace_back(key);
    return true;
  }));
  CAIRN_RETURN_IF_ERROR(bad);
  for (const auto& k : reap) t.del(kTombstones, k);
  // As Consul: the tombstone table index moves on, so the KV table index
  // never goes backwards. Nothing visible changed, so no watcher wakes.
  if (!reap.empty()) t.bump(IndexTable::tombstones);
  return static_cast<uint64_t>(reap.size());
}

Result<uint64_t> kv_table_index(const Reader& r) {
  CAIRN_TRY(uint64_t kv, r.table_index(IndexTable::kv));
  CAIRN_TRY(uint64_t tomb, r.table_index(IndexTable::tombstones));
  return std::max(kv, tomb);
}

Result<Indexed<std::optional<api::KVPair>>> kv_get(const Reader& r, const std::string& key) {
  CAIRN_TRY(auto entry, r.record<api::KVPair>(kKv, key, "kv"));
  uint64_t index = 0;
  if (entry) {
    index = entry->raft.modify_index;
  } else {
    CAIRN_TRY(index, kv_table_index(r));
  }
  return Indexed<std::optional<api::KVPair>>{at_least_one(index), std::move(entry)};
}

namespace {
// Consul's kvsListTxn index: the highest ModifyIndex under the prefix,
// tombstones included; the whole table's index for the empty prefix or
// when nothing lives under the prefix.
Result<uint64_t> prefix_index(const Reader& r, const std::string& prefix, uint64_t max_entry_index) {
  uint64_t index = max_entry_index;
  if (!prefix.empty()) {
    Status bad;
    CAIRN_RETURN_IF_ERROR(r.scan(kTombstones, prefix, [&](std::string_view, std::string_view value) {
      auto v = decode_u64(value);
      if (!v) {
        bad = Error(errc::internal, "corrupt tombstone");
        return false;
      }
      index = std::max(index, *v);
      return true;
    }));
    CAIRN_RETURN_IF_ERROR(bad);
  } else {
    index = 0;
  }
  if (index == 0) {
    CAIRN_TRY(index, kv_table_index(r));
  }
  return at_least_one(index);
}
}  // namespace

Result<Indexed<std::vector<api::KVPair>>> kv_list(const Reader& r, const std::string& prefix) {
  CAIRN_TRY(auto entries, r.records<api::KVPair>(kKv, prefix, "kv"));
  uint64_t max_index = 0;
  for (const auto& e : entries) max_index = std::max(max_index, e.raft.modify_index);
  CAIRN_TRY(uint64_t index, prefix_index(r, prefix, max_index));
  return Indexed<std::vector<api::KVPair>>{index, std::move(entries)};
}

Result<Indexed<std::vector<std::string>>> kv_keys(const Reader& r, const std::string& prefix,
                                                  const std::string& separator) {
  CAIRN_TRY(auto entries, r.records<api::KVPair>(kKv, prefix, "kv"));
  std::vector<std::string> keys;
  uint64_t max_index = 0;
  for (const auto& e : entries) {
    max_index = std::max(max_index, e.raft.modify_index);
    if (separator.empty()) {
      keys.push_back(e.key);
      continue;
    }
    auto pos = e.key.find(separator, prefix.size());
    if (pos == std::string::npos) {
      keys.push_back(e.key);
      continue;
    }
    std::string cut = e.key.substr(0, pos + separator.size());
    if (keys.empty() || keys.back() != cut) keys.push_back(std::move(cut));
  }
  CAIRN_TRY(uint64_t index, prefix_index(r, prefix, max_index));
  return Indexed<std::vector<std::string>>{index, std::move(keys)};
}

Result<std::map<std::string, uint64_t>> kv_tombstones(const Reader& r) {
  std::map<std::string, uint64_t> out;
  CAIRN_RETURN_IF_ERROR(r.scan(kTombstones, "", [&](std::string_view key, std::string_view value) {
    out[std::string(key)] = decode_u64(value).value_or(0);
    return true;
  }));
  return out;
}

}  // namespace cairn::server::state
