// Internal to server/state: the network-coordinate table (coordinates.cc),
// written against Txn and Reader like the other tables (tables.h).
//
// Layout: CF coordinates, key c(lowercased node) c(segment), value an
// api::CoordinateEntry record. Meta "index/coordinates": the index of the
// last update or removal. A node's coordinates go when the node is
// deregistered (catalog_write.cc delete_node).
#pragma once

#include <string>
#include <vector>

#include "api/types.h"
#include "server/state/db.h"
#include "server/state/read_view.h"

namespace cairn::server::state {

// Writes every entry whose node is in the catalog; the others are skipped,
// as Consul's CoordinateBatchUpdate does. Returns whether anything was written.
Result<bool> coordinate_update(Txn& t, const std::vector<api::CoordinateEntry>& entries);
Status coordinates_delete_node(Txn& t, const std::string& node);
Result<std::vector<api::CoordinateEntry>> coordinates_of(const Reader& r, const std::string& node);
Result<std::vector<api::CoordinateEntry>> coordinates_all(const Reader& r);

}  // namespace cairn::server::state
