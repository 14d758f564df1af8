// The prepared-query table (layout and rules in prepared_queries.h).
#include "server/state/prepared_queries.h"

#include <cctype>

#include "server/state/keys.h"
#include "server/state/tables.h"

namespace cairn::server::state {
namespace {

constexpr std::string_view kWhat = "prepared query";

std::string id_key(std::string_view id) { return composite_key({"id", id}); }
std::string name_key(std::string_view name) { return composite_key({"name", fold_case(name)}); }
std::string template_key(std::string_view name) { return composite_key({"template", fold_case(name)}); }
std::string session_key(std::string_view session, std::string_view id) {
  return composite_key({"session", session, id});
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// The query an index row points at.
Result<std::optional<api::PreparedQuery>> by_index(const Reader& r, const std::string& key) {
  CAIRN_TRY(auto id, r.get(kPreparedQueries, key));
  if (!id) return std::optional<api::PreparedQuery>();
  return prepared_query_by_id(r, *id);
}

void unindex(Txn& t, const api::PreparedQuery& q) {
  if (!q.name.empty()) t.del(kPreparedQueries, name_key(q.name));
  if (q.is_template()) t.del(kPreparedQueries, template_key(q.name));
  if (!q.session.empty()) t.del(kPreparedQueries, session_key(q.session, q.id));
}

void changed(Txn& t) {
  t.bump(IndexTable::prepared_queries);
  t.touched().table(WatchTable::prepared_queries);
}

Error refused(std::string why) { return Error(errc::invalid_argument, std::move(why)); }

}  // namespace

namespace watch_for {
std::vector<WatchKey> prepared_queries() { return {WatchKey::of_table(WatchTable::prepared_queries)}; }
}  // namespace watch_for

Result<bool> prepared_query_set(Txn& t, api::PreparedQuery q) {
  if (q.id.empty()) return refused("Missing query ID");
  CAIRN_RETURN_IF_ERROR(api::validate_prepared_query(q));
  CAIRN_TRY(auto existing, prepared_query_by_id(t, q.id));
  q.raft = {existing ? existing->raft.create_index : t.index(), t.index()};
  if (!q.name.empty()) {
    CAIRN_TRY(auto other, by_index(t, name_key(q.name)));
    if (other && other->id != q.id) return refused("name '" + q.name + "' aliases an existing query name");
  } else if (q.is_template()) {
    CAIRN_TRY(auto other, by_index(t, template_key("")));
    if (other && other->id != q.id) return refused("a query template with an empty name already exists");
  }
  if (is_uuid(q.name)) {
    CAIRN_TRY(auto other, prepared_query_by_id(t, q.name));
    if (other) return refused("name '" + q.name + "' aliases an existing query ID");
  }
  if (!q.session.empty()) {
    CAIRN_TRY(auto session, t.get(kSessions, q.session));
    if (!session) return refused("invalid session \"" + q.session + "\"");
  }
  if (existing) unindex(t, *existing);
  t.put_record(kPreparedQueries, id_key(q.id), q);
  if (!q.name.empty()) t.put(kPreparedQueries, name_key(q.name), q.id);
  if (q.is_template()) t.put(kPreparedQueries, template_key(q.name), q.id);
  if (!q.session.empty()) t.put(kPreparedQueries, session_key(q.session, q.id), "");
  changed(t);
  return true;
}

Result<bool> prepared_query_delete(Txn& t, const std::string& id) {
  CAIRN_TRY(auto existing, prepared_query_by_id(t, id));
  if (!existing) return false;
  unindex(t, *existing);
  t.del(kPreparedQueries, id_key(id));
  changed(t);
  return true;
}

Status prepared_queries_delete_session(Txn& t, const std::string& session) {
  std::string prefix = composite_key({"session", session});
  CAIRN_TRY(auto keys, t.keys(kPreparedQueries, prefix));
  for (const auto& k : keys) {
    std::vector<std::string> parts;
    if (!split_components(k, parts) || parts.size() != 3)
      return Error(errc::internal, "corrupt prepared query session index in the state store");
    CAIRN_RETURN_IF_ERROR(prepared_query_delete(t, parts[2]));
  }
  return {};
}

Result<std::optional<api::PreparedQuery>> prepared_query_by_id(const Reader& r, const std::string& id) {
  return r.record<api::PreparedQuery>(kPreparedQueries, id_key(id), kWhat);
}

Result<std::vector<api::PreparedQuery>> prepared_queries_all(const Reader& r) {
  return r.records<api::PreparedQuery>(kPreparedQueries, composite_key({"id"}), kWhat);
}

Result<std::optional<api::PreparedQuery>> prepared_query_resolve(const Reader& r, const std::string& id_or_name,
                                                                 const std::string& agent_segment) {
  if (id_or_name.empty()) return refused("Missing query ID");
  using Found = std::optional<api::PreparedQuery>;
  if (is_uuid(id_or_name)) {
    CAIRN_TRY(auto q, prepared_query_by_id(r, id_or_name));
    if (q) {
      if (q->is_template()) return refused("prepared query templates can only be resolved up by name, not by ID");
      return q;
    }
  }
  auto prep = [&](api::PreparedQuery q) -> Result<Found> {
    CAIRN_TRY(auto rendered, api::render_prepared_query(q, id_or_name, agent_segment));
    return Found(std::move(rendered));
  };
  CAIRN_TRY(auto named, by_index(r, name_key(id_or_name)));
  if (named) return prep(std::move(*named));
  // The longest template name that prefixes it (templates are few; a scan).
  std::string folded = fold_case(id_or_name);
  std::string best_id;
  size_t best_len = 0;
  bool found = false;
  std::string prefix = composite_key({"template"});
  Status bad;
  CAIRN_RETURN_IF_ERROR(r.scan(kPreparedQueries, prefix, [&](std::string_view k, std::string_view v) {
    std::vector<std::string> parts;
    if (!split_components(k, parts) || parts.size() != 2) {
      bad = Error(errc::internal, "corrupt prepared query template index in the state store");
      return false;
    }
    const std::string& name = parts[1];
    if (folded.compare(0, name.size(), name) == 0 && (!found || name.size() > best_len)) {
      found = true;
      best_len = name.size();
      best_id = std::string(v);
    }
    return true;
  }));
  CAIRN_RETURN_IF_ERROR(bad);
  if (!found) return Found();
  CAIRN_TRY(auto q, prepared_query_by_id(r, best_id));
  if (!q) return Found();
  return prep(std::move(*q));
}

Result<Indexed<std::optional<api::PreparedQuery>>> ReadView::prepared_query_get(const std::string& id) const {
  CAIRN_TRY(auto q, prepared_query_by_id(*reader_, id));
  CAIRN_TRY(uint64_t index, reader_->table_index(IndexTable::prepared_queries));
  return Indexed<std::optional<api::PreparedQuery>>{at_least_one(index), std::move(q)};
}

Result<Indexed<std::vector<api::PreparedQuery>>> ReadView::prepared_query_list() const {
  CAIRN_TRY(auto all, prepared_queries_all(*reader_));
  CAIRN_TRY(uint64_t index, reader_->table_index(IndexTable::prepared_queries));
  return Indexed<std::vector<api::PreparedQuery>>{at_least_one(index), std::move(all)};
}

Result<Indexed<std::optional<api::PreparedQuery>>> ReadView::prepared_query_resolve(
    const std::string& id_or_name, const std::string& agent_segment) const {
  CAIRN_TRY(auto q, state::prepared_query_resolve(*reader_, id_or_name, agent_segment));
  CAIRN_TRY(uint64_t index, reader_->table_index(IndexTable::prepared_queries));
  return Indexed<std::optional<api::PreparedQuery>>{at_least_one(index), std::move(q)};
}

}  // namespace cairn::server::state
