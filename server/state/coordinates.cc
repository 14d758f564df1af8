// The network-coordinate table (layout in coordinates.h and README.md).
#include "server/state/coordinates.h"

#include "server/state/keys.h"
#include "server/state/tables.h"

namespace cairn::server::state {
namespace {

std::string coordinate_key(std::string_view node, std::string_view segment) {
  return composite_key({fold_case(node), segment});
}

}  // namespace

namespace watch_for {
std::vector<WatchKey> coordinates() { return {WatchKey::of_table(WatchTable::coordinates)}; }
}  // namespace watch_for

Result<bool> coordinate_update(Txn& t, const std::vector<api::CoordinateEntry>& entries) {
  bool wrote = false;
  for (const auto& e : entries) {
    CAIRN_TRY(auto node, t.get(kNodes, key::node(e.node)));
    if (!node) continue;
    t.put_record(kCoordinates, coordinate_key(e.node, e.segment), e);
    wrote = true;
  }
  if (wrote) {
    t.bump(IndexTable::coordinates);
    t.touched().table(WatchTable::coordinates);
  }
  return wrote;
}

Status coordinates_delete_node(Txn& t, const std::string& node) {
  CAIRN_TRY(auto keys, t.keys(kCoordinates, composite_key({fold_case(node)})));
  if (keys.empty()) return {};
  for (const auto& k : keys) t.del(kCoordinates, k);
  t.bump(IndexTable::coordinates);
  t.touched().table(WatchTable::coordinates);
  return {};
}

Result<std::vector<api::CoordinateEntry>> coordinates_of(const Reader& r, const std::string& node) {
  return r.records<api::CoordinateEntry>(kCoordinates, composite_key({fold_case(node)}), "coordinate");
}

Result<std::vector<api::CoordinateEntry>> coordinates_all(const Reader& r) {
  return r.records<api::CoordinateEntry>(kCoordinates, "", "coordinate");
}

Result<Indexed<std::vector<api::CoordinateEntry>>> ReadView::coordinates() const {
  CAIRN_TRY(auto all, coordinates_all(*reader_));
  CAIRN_TRY(uint64_t index, reader_->table_index(IndexTable::coordinates));
  return Indexed<std::vector<api::CoordinateEntry>>{at_least_one(index), std::move(all)};
}

Result<Indexed<std::vector<api::CoordinateEntry>>> ReadView::coordinate(const std::string& node) const {
  CAIRN_TRY(auto of, coordinates_of(*reader_, node));
  CAIRN_TRY(uint64_t index, reader_->table_index(IndexTable::coordinates));
  return Indexed<std::vector<api::CoordinateEntry>>{at_least_one(index), std::move(of)};
}

}  // namespace cairn::server::state
