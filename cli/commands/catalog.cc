// cairn catalog datacenters | nodes [-detailed] | services [-tags]: Consul's
// `consul catalog` commands and their output.
#include <iostream>
#include <nlohmann/json.hpp>

#include "api/json.h"
#include "cli/client.h"
#include "cli/command.h"
#include "cli/commands/http_call.h"

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

int catalog_nodes(const ClientFlags& f, bool detailed) {
  auto res = http_call(f, "GET", "/v1/catalog/nodes");
  if (!res.ok()) return std::cerr << "Error listing nodes: " << res.error().message() << "\n", kExitError;
  auto nodes = api::decode_nodes(res->body);
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

int catalog_services(const ClientFlags& f, bool tags) {
  auto res = http_call(f, "GET", "/v1/catalog/services");
  if (!res.ok()) return std::cerr << "Error listing services: " << res.error().message() << "\n", kExitError;
  auto services = api::decode_service_tags(res->body);
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
  print_table(std::cout, rows);
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
  auto detailed = std::make_shared<bool>(false);
  nodes->add_flag("--detailed", *detailed, "Show the full node ID, tagged addresses and metadata");
  nodes->callback([=] { *exit_code = catalog_nodes(*nf, *detailed); });

  auto* services = catalog->add_subcommand("services", "List all registered services");
  auto sf = add_client_flags(services);
  auto tags = std::make_shared<bool>(false);
  services->add_flag("--tags", *tags, "Show each service's tags");
  services->callback([=] { *exit_code = catalog_services(*sf, *tags); });
}

}  // namespace cairn::cli
