// Internal to server/state: the config-entry table (config_entries.cc),
// written against Txn and Reader like the other tables (tables.h).
//
// Layout: CF config_entries, key c(kind) c(lowercased name), value an
// api::ConfigEntry record. Meta: "config_index/<kind>" — the index of the
// last write or delete of that kind (what a get or list of the kind
// answers with) — and "config_index", the same for the whole table.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "server/state/db.h"
#include "server/state/read_view.h"

namespace cairn::server::state {

Result<bool> config_entry_apply(Txn& t, const api::ConfigEntry& entry, bool cas, uint64_t cas_index);
Result<bool> config_entry_delete(Txn& t, const std::string& kind, const std::string& name, bool cas,
                                 uint64_t cas_index);
Result<Indexed<std::optional<api::ConfigEntry>>> config_entry_get(const Reader& r, const std::string& kind,
                                                                  const std::string& name);
Result<Indexed<std::vector<api::ConfigEntry>>> config_entry_list(const Reader& r, const std::string& kind);

}  // namespace cairn::server::state
