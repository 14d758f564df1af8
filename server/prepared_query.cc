// Prepared query execution (see prepared_query.h).
#include "server/prepared_query.h"

#include <algorithm>
#include <random>

namespace cairn::server {
namespace {

Result<state::Indexed<api::PreparedQuery>> resolve(const state::ReadView& v, const std::string& id_or_name) {
  CAIRN_TRY(auto found, v.prepared_query_resolve(id_or_name, ""));
  if (!found.value) return Error(errc::not_found, std::string(api::kQueryNotFound));
  return state::Indexed<api::PreparedQuery>{found.index, std::move(*found.value)};
}

std::mt19937_64& shuffle_rng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

}  // namespace

Result<state::Indexed<api::PreparedQueryExecuteResult>> execute_prepared_query(
    const state::ReadView& v, const api::rpc::PreparedQueryExecute& x, const std::string& near, const NearSort& sort) {
  CAIRN_TRY(auto resolved, resolve(v, x.id_or_name));
  const api::PreparedQuery& q = resolved.value;
  bool connect = x.connect || q.service.connect;
  // With Connect: the service's Connect-capable instances (its native ones
  // and the connect-proxies in front of it), from the catalog's connect index.
  CAIRN_TRY(auto found, v.health_service(q.service.service, {}, false, connect));
  state::Indexed<api::PreparedQueryExecuteResult> out;
  out.index = found.index;
  auto& r = out.value;
  r.service = q.service.service;
  r.dns = q.dns;
  r.failovers = 0;  // one datacenter: Failover is stored, never needed
  r.nodes = api::filter_query_nodes(q.service, std::move(found.value));
  // Shuffle first, then a stable RTT sort (Consul: shuffle, then sort when
  // coordinates allow it), so equal or unknown distances stay random.
  std::shuffle(r.nodes.begin(), r.nodes.end(), shuffle_rng());
  std::string from = near.empty() ? q.service.near : near;
  if (from == "_agent") from = x.agent_node;
  if (!from.empty() && sort) CAIRN_RETURN_IF_ERROR(sort(from, r.nodes));
  if (x.limit > 0 && r.nodes.size() > x.limit) r.nodes.resize(x.limit);
  return out;
}

Result<state::Indexed<api::PreparedQuery>> explain_prepared_query(const state::ReadView& v,
                                                                  const std::string& id_or_name) {
  return resolve(v, id_or_name);
}

}  // namespace cairn::server
