// Internal to server/state: the prepared-query table (prepared_queries.cc),
// written against Txn and Reader like the other tables (tables.h).
//
// Layout (CF prepared_queries; README.md): c("id") c(id) -> api::PreparedQuery
// record; c("name") c(lowercased name) -> id for every named query;
// c("template") c(lowercased name) -> id for every template (the empty name
// too: the catch-all); c("session") c(session) c(id) -> empty. Meta
// "index/prepared_queries": the last write or delete.
//
// Consul's rules (state/prepared_query.go): names are unique
// case-insensitively, a name may not be another query's ID, one template
// may have the empty name, a query's Session must exist; destroying a
// session deletes the queries bound to it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/prepared_query.h"
#include "server/state/db.h"
#include "server/state/read_view.h"

namespace cairn::server::state {

// Create or update (by q.id): CreateIndex kept on update. invalid_argument
// for the rules above (Consul's texts), and for a query that does not pass
// api::validate_prepared_query.
Result<bool> prepared_query_set(Txn& t, api::PreparedQuery q);
// Deleting a missing ID is a no-op (false).
Result<bool> prepared_query_delete(Txn& t, const std::string& id);
// The queries bound to a destroyed session go with it.
Status prepared_queries_delete_session(Txn& t, const std::string& session);

Result<std::optional<api::PreparedQuery>> prepared_query_by_id(const Reader& r, const std::string& id);
Result<std::vector<api::PreparedQuery>> prepared_queries_all(const Reader& r);
// Consul's PreparedQueryResolve: an ID (a template by ID is refused), else a
// name, else the template with the longest name prefix of id_or_name,
// rendered for it (api::render_prepared_query). nullopt: no match.
Result<std::optional<api::PreparedQuery>> prepared_query_resolve(const Reader& r, const std::string& id_or_name,
                                                                 const std::string& agent_segment);

}  // namespace cairn::server::state
