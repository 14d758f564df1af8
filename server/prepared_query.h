// Executing and explaining prepared queries (api/rpc.h PreparedQueryExecute,
// PreparedQueryExplain) over one consistent read view: resolve the query
// (server/state/prepared_queries.h), run its health query, filter it
// (api::filter_query_nodes), shuffle, sort by RTT from the near node,
// apply the limit — Consul's PreparedQuery.Execute in one datacenter.
//
// Thread-safety: reentrant; the shuffle uses a per-thread generator.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/rpc.h"
#include "server/state/read_view.h"

namespace cairn::server {

// Sorts instances by estimated RTT from `near` (stable; queries.cc's ?near).
using NearSort = std::function<Status(const std::string& near, std::vector<api::HealthServiceEntry>& nodes)>;

// not_found api::kQueryNotFound when nothing matches. `near` is the
// request's ?near (already _agent-resolved by the agent); when empty the
// query's Service.Near applies, its "_agent" meaning x.agent_node.
Result<state::Indexed<api::PreparedQueryExecuteResult>> execute_prepared_query(
    const state::ReadView& v, const api::rpc::PreparedQueryExecute& x, const std::string& near, const NearSort& sort);

Result<state::Indexed<api::PreparedQuery>> explain_prepared_query(const state::ReadView& v,
                                                                  const std::string& id_or_name);

}  // namespace cairn::server
