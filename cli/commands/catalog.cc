// cairn catalog datacenters | nodes [-detailed] | services [-tags]: Consul's
// `consul catalog` commands and their output.
#include <iostream>
#include <nlohmann/json.hpp>

#include "api/json.h"
#include "cli/client.h"
#include "cli/command.h"
#include "cli/commands/http_call.h"
#include "core/http/url.h"

namespace cairn::cli {
namespace {

// "k=v, k=v" in key order, as Consul's mapToKV prints a map.
std::string map_text(const std::map<std::string, std::string>& m) {
  std::string out;
  for (const auto& [k, v] : m) out += (out.empty() ? "" : ", ") + k + "=" + v;
  return out;
}

int catalog_datacenters(const ClientFlags& f) {
  auto res = http_call(f, "GET", "/v1/catalog/datacenters");
  if (!res.ok()) return std::cerr << "Error listing datacenters: " << res.error().message() << "\n", kExitError;
  auto dcs = api::decode_keys(res->body);
  if (!dcs.ok()) return std::cerr << "Error listing datacenters: " << dcs.error().message() << "\n", kExitError;
  if (dcs->empty()) return std::cerr << "No datacenters found\n", kExitOk;
  for (const auto& dc : *dcs) std::cout << dc << "\n";
  return kExitOk;
}

struct NodesOptions {
  bool detailed = false;
  std::string service;                 // -service: nodes providing it
  std::vector<std::string> node_meta;  // -node-meta key=value, repeatable
  std::string near;
  std::string filter;
};

// The query string for -node-meta (key=value → ?node-meta=key:value), -near, -filter.
std::string nodes_query(const NodesOptions& o) {
  std::string q;
  auto add = [&q](const std::string& k, const std::string& v) {
    q += (q.empty() ? "?" : "&") + k + "=" + http::percent_encode(v);
  };
  for (const auto& kv : o.node_meta) {
    auto eq = kv.find('=');
    add("node-meta", eq == std::string::npos ? kv : kv.substr(0, eq) + ":" + kv.substr(eq + 1));
  }
  if (!o.near.empty()) add("near", o.near);
  if (!o.filter.empty()) add("filter", o.filter);
  return q;
}

// -service reads /v1/catalog/service/<s> and keeps each node once.
Result<std::vector<api::Node>> fetch_nodes(const ClientFlags& f, const NodesOptions& o) {
  if (o.service.empty()) {
    CAIRN_TRY(auto res, http_call(f, "GET", "/v1/catalog/nodes" + nodes_query(o)));
    return api::decode_nodes(res.body);
  }
  CAIRN_TRY(auto res, http_call(f, "GET", "/v1/catalog/service/" + http::percent_encode(o.service) + nodes_query(o)));
  CAIRN_TRY(auto entries, api::decode_catalog_service_entries(res.body));
  std::vector<api::Node> nodes;
  for (auto& e : entries) {
    bool seen = std::any_of(nodes.begin(), nodes.end(), [&](const api::Node& n) { return n.node == e.node.node; });
    if (!seen) nodes.push_back(std::move(e.node));
  }
  return nodes;
}

int catalog_nodes(const ClientFlags& f, const NodesOptions& o) {
  bool detailed = o.detailed;
  auto nodes = fetch_nodes(f, o);
  if (!nodes.ok()) return std::cerr << "Error listing nodes: " << nodes.error().message() << "\n", kExitError;
  if (nodes->empty())
    return std::cerr << "No nodes match the given query - try expanding your search.\n", kExitOk;
  std::vector<std::vector<std::string>> rows;
  if (detailed) {
    rows.push_back({"Node", "ID", "Address", "DC", "TaggedAddresses", "Meta"});
    for (const auto& n : *nodes)
      rows.push_back({n.node, n.id, n.address, n.datacenter, map_text(n.tagged_addresses), map_text(n.meta)});
  } else {
    // The short form shows the first 8 characters of the node ID.
    rows.push_back({"Node", "ID", "Address", "DC"});
    for (const auto& n : *nodes) rows.push_back({n.node, n.id.substr(0, 8), n.address, n.datacenter});
  }
  print_table(std::cout, rows);
  return kExitOk;
}

// The services of one node (/v1/catalog/node/<n>) as name -> tags, as
// Consul's -node gathers them.
Result<std::map<std::string, std::vector<std::string>>> node_service_tags(const ClientFlags& f,
                                                                          const std::string& node) {
  CAIRN_TRY(auto res, http_call(f, "GET", "/v1/catalog/node/" + http::percent_encode(node)));
  std::map<std::string, std::vector<std::string>> out;
  auto j = nlohmann::json::parse(res.body, nullptr, false);
  if (j.is_null()) return out;  // an unknown node
  if (!j.is_object() || !j["Services"].is_object()) return Error(errc::parse_error, "unexpected response");
  for (const auto& [id, s] : j["Services"].items()) {
    auto& tags = out[s.value("Service", id)];
    if (s.contains("Tags") && s["Tags"].is_array())
      for (const auto& t : s["Tags"])
        if (t.is_string()) tags.push_back(t.get<std::string>());
  }
  return out;
}

Result<std::map<std::string, std::vector<std::string>>> all_service_tags(const ClientFlags& f) {
  CAIRN_TRY(auto res, http_call(f, "GET", "/v1/catalog/services"));
  return api::decode_service_tags(res.body);
}

int catalog_services(const ClientFlags& f, bool tags, const std::string& node) {
  auto services = node.empty() ? all_service_tags(f) : node_service_tags(f, node);
  if (!services.ok()) return std::cerr << "Error listing services: " << services.error().message() << "\n", kExitError;
  if (services->empty())
    return std::cerr << "No services match the given query - try expanding your search.\n", kExitOk;
  if (!tags) {
    for (const auto& [name, _] : *services) std::cout << name << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, list] : *services) {
    std::vector<std::string> sorted = list;
    std::sort(sorted.begin(), sorted.end());
    std::string joined;
    for (const auto& t : sorted) joined += (joined.empty() ? "" : ",") + t;
    rows.push_back({name, joined});
  }
  print_table(std::cout, rows, 6);  // Consul's tabwriter, padding 6
  return kExitOk;
}

}  // namespace

void add_catalog_command(CLI::App& app, int* exit_code) {
  auto* catalog = app.add_subcommand("catalog", "Interact with the catalog");
  catalog->require_subcommand(1);

  auto* dcs = catalog->add_subcommand("datacenters", "List all known datacenters");
  auto df = add_client_flags(dcs);
  dcs->callback([=] { *exit_code = catalog_datacenters(*df); });

  auto* nodes = catalog->add_subcommand("nodes", "List all nodes in the catalog");
  auto nf = add_client_flags(nodes);
  auto no = std::make_shared<NodesOptions>();
  nodes->add_flag("--detailed", no->detailed, "Show the full node ID, tagged addresses and metadata");
  nodes->add_option("--service", no->service, "Only nodes providing this service");
  nodes->add_option("--node-meta", no->node_meta, "Only nodes with this key=value metadata (repeatable)");
  nodes->add_option("--near", no->near, "Sort by round-trip time from this node");
  nodes->add_option("--filter", no->filter, "Filter expression (Consul's ?filter= language)");
  nodes->callback([=] { *exit_code = catalog_nodes(*nf, *no); });

  auto* services = catalog->add_subcommand("services", "List all registered services");
  auto sf = add_client_flags(services);
  auto tags = std::make_shared<bool>(false);
  auto node = std::make_shared<std::string>();
  services->add_flag("--tags", *tags, "Show each service's tags");
  services->add_option("--node", *node, "Only the services of this node");
  services->callback([=] { *exit_code = catalog_services(*sf, *tags, *node); });
}

}  // namespace cairn::cli
