// Prepared query execution (see prepared_query.h).
#include "server/prepared_query.h"

#include <algorithm>
#include <random>

#include <nlohmann/json.hpp>

#include "core/strings.h"

namespace cairn::server {
namespace {

Result<state::Indexed<api::PreparedQuery>> resolve(const state::ReadView& v, const std::string& id_or_name) {
  CAIRN_TRY(auto found, v.prepared_query_resolve(id_or_name, ""));
  if (!found.value) return Error(errc::not_found, std::string(api::kQueryNotFound));
  return state::Indexed<api::PreparedQuery>{found.index, std::move(*found.value)};
}

// A field of a service's Proxy or Connect JSON text (kept raw in NodeService).
nlohmann::json raw_field(const std::string& text, const char* name) {
  if (text.empty()) return nullptr;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains(name)) return nullptr;
  return j[name];
}

// Consul's Connect-capable instances of a service: its Connect-native
// instances and the connect-proxies whose destination it is.
Result<state::Indexed<std::vector<api::HealthServiceEntry>>> connect_instances(const state::ReadView& v,
                                                                               const std::string& service) {
  state::Indexed<std::vector<api::HealthServiceEntry>> out;
  CAIRN_TRY(auto names, v.services());
  out.index = names.index;
  for (const auto& [name, tags] : names.value) {
    CAIRN_TRY(auto of, v.health_service(name, {}, false));
    for (auto& e : of.value) {
      bool native = equal_fold(name, service) && raw_field(e.service.connect_json, "Native") == true;
      auto dest = raw_field(e.service.proxy_json, "DestinationServiceName");
      bool proxy = e.service.kind == "connect-proxy" && dest.is_string() && equal_fold(dest.get<std::string>(), service);
      if (native || proxy) {
        out.index = std::max(out.index, of.index);
        out.value.push_back(std::move(e));
      }
    }
  }
  return out;
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
  CAIRN_TRY(auto found, connect ? connect_instances(v, q.service.service)
                                : v.health_service(q.service.service, {}, false));
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
