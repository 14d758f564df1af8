// The config-entry table (layout in config_entries.h and README.md).
#include "server/state/config_entries.h"

#include "api/config_entry.h"
#include "server/state/keys.h"
#include "server/state/tables.h"

namespace cairn::server::state {
namespace {

constexpr std::string_view kTableIndexKey = "config_index";
std::string kind_index_key(std::string_view kind) { return std::string(kTableIndexKey) + "/" + std::string(kind); }
std::string entry_key(std::string_view kind, std::string_view name) {
  return composite_key({kind, fold_case(name)});
}
std::string kind_prefix(std::string_view kind) { return composite_key({kind}); }

Result<std::optional<api::ConfigEntry>> find(const Reader& r, std::string_view kind, std::string_view name) {
  return r.record<api::ConfigEntry>(kConfigEntries, entry_key(kind, name), "config entry");
}

Result<std::vector<api::ConfigEntry>> all_of(const Reader& r, std::string_view kind) {
  return r.records<api::ConfigEntry>(kConfigEntries, kind.empty() ? std::string() : kind_prefix(kind),
                                     "config entry");
}

// The store as the rules across entries see it (the Txn sees its own writes).
api::ConfigEntryView view_of(const Reader& r) {
  api::ConfigEntryView v;
  v.get = [&r](std::string_view kind, std::string_view name) { return find(r, kind, name); };
  v.list = [&r](std::string_view kind) { return all_of(r, kind); };
  return v;
}

void touch(Txn& t, const std::string& kind) {
  t.put(kMeta, kind_index_key(kind), encode_u64(t.index()));
  t.put(kMeta, kTableIndexKey, encode_u64(t.index()));
  t.touched().key(WatchTable::config_entries, kind);
  t.touched().table(WatchTable::config_entries);
}

// A refusal, recorded like any other: the proposer learns why.
Status refused(Status st) {
  if (!st.ok() && !is_storage_failure(st.error())) return Error(errc::invalid_argument, st.error().message());
  return st;
}

}  // namespace

Result<bool> config_entry_apply(Txn& t, const api::ConfigEntry& entry, bool cas, uint64_t cas_index) {
  CAIRN_RETURN_IF_ERROR(refused(api::check_config_entry_kind(entry.kind)));
  if (entry.name.empty()) return Error(errc::invalid_argument, "Name is required");
  CAIRN_TRY(auto existing, find(t, entry.kind, entry.name));
  if (cas) {
    uint64_t current = existing ? existing->modify_index : 0;
    if (current != cas_index) return false;
  }
  api::ConfigEntry stored = entry;
  stored.create_index = existing ? existing->create_index : t.index();
  stored.modify_index = t.index();
  t.put_record(kConfigEntries, entry_key(entry.kind, entry.name), stored);
  CAIRN_RETURN_IF_ERROR(refused(api::check_config_entry_graph(view_of(t), entry.kind, entry.name)));
  touch(t, entry.kind);
  return true;
}

Result<bool> config_entry_delete(Txn& t, const std::string& kind, const std::string& name, bool cas,
                                 uint64_t cas_index) {
  CAIRN_RETURN_IF_ERROR(refused(api::check_config_entry_kind(kind)));
  CAIRN_TRY(auto existing, find(t, kind, name));
  if (!existing) return !cas;  // Consul: deleting nothing succeeds, a CAS on nothing does not
  if (cas && existing->modify_index != cas_index) return false;
  t.del(kConfigEntries, entry_key(kind, name));
  CAIRN_RETURN_IF_ERROR(refused(api::check_config_entry_graph(view_of(t), kind, name)));
  touch(t, kind);
  return true;
}

Result<Indexed<std::optional<api::ConfigEntry>>> config_entry_get(const Reader& r, const std::string& kind,
                                                                  const std::string& name) {
  CAIRN_TRY(uint64_t index, r.meta_u64(kind_index_key(kind)));
  CAIRN_TRY(auto entry, find(r, kind, name));
  return Indexed<std::optional<api::ConfigEntry>>{at_least_one(index), std::move(entry)};
}

Result<Indexed<std::vector<api::ConfigEntry>>> config_entry_list(const Reader& r, const std::string& kind) {
  CAIRN_TRY(uint64_t index, r.meta_u64(kind.empty() ? std::string(kTableIndexKey) : kind_index_key(kind)));
  CAIRN_TRY(auto entries, all_of(r, kind));
  return Indexed<std::vector<api::ConfigEntry>>{at_least_one(index), std::move(entries)};
}

Result<Indexed<std::optional<api::ConfigEntry>>> ReadView::config_entry_get(const std::string& kind,
                                                                            const std::string& name) const {
  return state::config_entry_get(*reader_, kind, name);
}

Result<Indexed<std::vector<api::ConfigEntry>>> ReadView::config_entry_list(const std::string& kind) const {
  return state::config_entry_list(*reader_, kind);
}

namespace watch_for {
std::vector<WatchKey> config_entries(std::string kind) {
  if (kind.empty()) return {WatchKey::of_table(WatchTable::config_entries)};
  return {WatchKey::of_key(WatchTable::config_entries, std::move(kind))};
}
}  // namespace watch_for

}  // namespace cairn::server::state
