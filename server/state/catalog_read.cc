// Catalog and health queries (Consul's state/catalog.go read side).
#include <algorithm>

#include "core/strings.h"
#include <cctype>
#include <set>

#include "server/state/keys.h"
#include "server/state/tables.h"

namespace cairn::server::state {
namespace {

// Consul's serviceTagsFilter: every requested tag, compared case-insensitively.
bool has_tags(const api::NodeService& s, const std::vector<std::string>& tags) {
  return std::all_of(tags.begin(), tags.end(), [&](const std::string& want) {
    return std::any_of(s.tags.begin(), s.tags.end(), [&](const std::string& have) { return equal_fold(want, have); });
  });
}

struct Instance {
  api::Node node;
  api::NodeService service;
};

// Instances of a service, by (node, service ID), through the name index —
// or, with `connect`, the proxies and native instances of a destination
// through the connect index.
Result<std::vector<Instance>> instances(const Reader& r, const std::string& service,
                                        const std::vector<std::string>& tags, bool connect = false) {
  CAIRN_TRY(auto entries, r.keys(connect ? kConnectNames : kServiceNames, key::instances_of(service)));
  std::vector<Instance> out;
  std::vector<std::string> parts;
  for (const auto& e : entries) {
    if (!split_components(e, parts) || parts.size() != 3) return Error(errc::internal, "corrupt service name index");
    CAIRN_TRY(auto svc, find_service(r, parts[1], parts[2]));
    CAIRN_TRY(auto node, find_node(r, parts[1]));
    if (!svc || !node) return Error(errc::internal, "service name index points at a missing service");
    if (!has_tags(*svc, tags)) continue;
    out.push_back(Instance{std::move(*node), std::move(*svc)});
  }
  return out;
}

Result<uint64_t> max_table_index(const Reader& r, std::initializer_list<IndexTable> tables) {
  uint64_t out = 0;
  for (auto t : tables) {
    CAIRN_TRY(uint64_t i, r.table_index(t));
    out = std::max(out, i);
  }
  return at_least_one(out);
}

bool check_of_instance(const api::HealthCheck& c, const api::NodeService& s) {
  return c.service_id.empty() || fold_case(c.service_id) == fold_case(s.id);
}

}  // namespace

Result<std::optional<api::Node>> find_node(const Reader& r, const std::string& node) {
  return r.record<api::Node>(kNodes, key::node(node), "node");
}

Result<std::optional<api::NodeService>> find_service(const Reader& r, const std::string& node,
                                                     const std::string& service_id) {
  return r.record<api::NodeService>(kServices, key::service(node, service_id), "service");
}

Result<std::optional<api::HealthCheck>> find_check(const Reader& r, const std::string& node,
                                                   const std::string& check_id) {
  return r.record<api::HealthCheck>(kChecks, key::check(node, check_id), "check");
}

Result<std::vector<api::NodeService>> services_of_node(const Reader& r, const std::string& node) {
  return r.records<api::NodeService>(kServices, key::of_node(node), "service");
}

Result<std::vector<api::HealthCheck>> checks_of_node(const Reader& r, const std::string& node) {
  return r.records<api::HealthCheck>(kChecks, key::of_node(node), "check");
}

Result<uint64_t> service_index(const Reader& r, const std::string& service) {
  CAIRN_TRY(uint64_t own, r.meta_u64(service_index_key(service)));
  if (own != 0) return own;
  // No instances: Consul answers with the index at which the last service
  // went extinct, so a watcher of a missing service is not woken by every
  // unrelated catalog write.
  CAIRN_TRY(uint64_t extinct, r.meta_u64(kServiceExtinctionKey));
  if (extinct != 0) return extinct;
  return max_table_index(r, {IndexTable::nodes, IndexTable::services, IndexTable::checks});
}

// The index of a ?connect query: the destination's connect index, else (no
// proxy has ever served it) the service's own.
Result<uint64_t> connect_index(const Reader& r, const std::string& destination) {
  CAIRN_TRY(uint64_t own, r.meta_u64(connect_index_key(destination)));
  if (own != 0) return own;
  return service_index(r, destination);
}

Result<uint64_t> query_index(const Reader& r, const std::string& service, bool connect) {
  return connect ? connect_index(r, service) : service_index(r, service);
}

Result<Indexed<std::vector<api::Node>>> catalog_nodes(const Reader& r) {
  CAIRN_TRY(auto nodes, r.records<api::Node>(kNodes, "", "node"));
  CAIRN_TRY(uint64_t index, r.table_index(IndexTable::nodes));
  return Indexed<std::vector<api::Node>>{at_least_one(index), std::move(nodes)};
}

Result<Indexed<std::optional<api::Node>>> catalog_node(const Reader& r, const std::string& name) {
  CAIRN_TRY(auto node, find_node(r, name));
  CAIRN_TRY(uint64_t index, r.table_index(IndexTable::nodes));
  return Indexed<std::optional<api::Node>>{at_least_one(index), std::move(node)};
}

Result<Indexed<std::map<std::string, std::vector<std::string>>>> catalog_services(const Reader& r) {
  CAIRN_TRY(auto all, r.records<api::NodeService>(kServices, "", "service"));
  std::map<std::string, std::set<std::string>> tags;
  for (const auto& s : all) tags[s.service].insert(s.tags.begin(), s.tags.end());
  std::map<std::string, std::vector<std::string>> out;
  for (auto& [name, set] : tags) out[name].assign(set.begin(), set.end());
  CAIRN_TRY(uint64_t index, r.table_index(IndexTable::services));
  return Indexed<std::map<std::string, std::vector<std::string>>>{at_least_one(index), std::move(out)};
}

Result<Indexed<std::vector<api::CatalogServiceEntry>>> catalog_service_nodes(const Reader& r,
                                                                            const std::string& service,
                                                                            const std::vector<std::string>& tags,
                                                                            bool connect) {
  CAIRN_TRY(auto found, instances(r, service, tags, connect));
  std::vector<api::CatalogServiceEntry> out;
  for (auto& i : found) out.push_back(api::CatalogServiceEntry{std::move(i.node), std::move(i.service)});
  CAIRN_TRY(uint64_t index, query_index(r, service, connect));
  return Indexed<std::vector<api::CatalogServiceEntry>>{at_least_one(index), std::move(out)};
}

Result<Indexed<std::optional<api::NodeServices>>> catalog_node_services(const Reader& r, const std::string& node) {
  CAIRN_TRY(uint64_t index, max_table_index(r, {IndexTable::nodes, IndexTable::services}));
  CAIRN_TRY(auto n, find_node(r, node));
  if (!n) return Indexed<std::optional<api::NodeServices>>{index, std::nullopt};
  CAIRN_TRY(auto services, services_of_node(r, node));
  return Indexed<std::optional<api::NodeServices>>{index, api::NodeServices{std::move(*n), std::move(services)}};
}

Result<Indexed<std::vector<api::HealthCheck>>> health_node_checks(const Reader& r, const std::string& node) {
  CAIRN_TRY(auto checks, checks_of_node(r, node));
  CAIRN_TRY(uint64_t index, r.table_index(IndexTable::checks));
  return Indexed<std::vector<api::HealthCheck>>{at_least_one(index), std::move(checks)};
}

Result<Indexed<std::vector<api::HealthCheck>>> health_service_checks(const Reader& r, const std::string& service) {
  CAIRN_TRY(auto found, instances(r, service, {}));
  std::vector<api::HealthCheck> out;
  for (const auto& i : found) {
    CAIRN_TRY(auto checks, checks_of_node(r, i.node.node));
    for (auto& c : checks)
      if (!c.service_id.empty() && check_of_instance(c, i.service)) out.push_back(std::move(c));
  }
  CAIRN_TRY(uint64_t index, service_index(r, service));
  return Indexed<std::vector<api::HealthCheck>>{at_least_one(index), std::move(out)};
}

Result<Indexed<std::vector<api::HealthCheck>>> health_checks_in_state(const Reader& r, const std::string& state) {
  bool any = state == "any";
  if (!any && state != api::kHealthPassing && state != api::kHealthWarning && state != api::kHealthCritical)
    return Error(errc::invalid_argument, "Bad state: " + state);
  CAIRN_TRY(auto all, r.records<api::HealthCheck>(kChecks, "", "check"));
  std::vector<api::HealthCheck> out;
  for (auto& c : all)
    if (any || c.status == state) out.push_back(std::move(c));
  CAIRN_TRY(uint64_t index, r.table_index(IndexTable::checks));
  return Indexed<std::vector<api::HealthCheck>>{at_least_one(index), std::move(out)};
}

Result<Indexed<std::vector<api::HealthServiceEntry>>> health_service_nodes(const Reader& r,
                                                                          const std::string& service,
                                                                          const std::vector<std::string>& tags,
                                                                          bool passing_only, bool connect) {
  CAIRN_TRY(auto found, instances(r, service, tags, connect));
  std::vector<api::HealthServiceEntry> out;
  for (auto& i : found) {
    CAIRN_TRY(auto node_checks, checks_of_node(r, i.node.node));
    api::HealthServiceEntry e{std::move(i.node), std::move(i.service), {}};
    for (auto& c : node_checks)
      if (check_of_instance(c, e.service)) e.checks.push_back(std::move(c));
    // Consul's ?passing drops an instance with any non-passing check
    // (warning included), node checks too.
    if (passing_only && std::any_of(e.checks.begin(), e.checks.end(),
                                    [](const api::HealthCheck& c) { return c.status != api::kHealthPassing; }))
      continue;
    out.push_back(std::move(e));
  }
  CAIRN_TRY(uint64_t index, query_index(r, service, connect));
  return Indexed<std::vector<api::HealthServiceEntry>>{at_least_one(index), std::move(out)};
}

}  // namespace cairn::server::state
