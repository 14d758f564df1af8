// cairn operator raft list-peers | remove-peer -id|-address | transfer-leader
// [-id]: Consul's `consul operator raft` commands and their output.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/client.h"
#include "cli/command.h"
#include "cli/commands/http_call.h"
#include "core/http/url.h"

namespace cairn::cli {
namespace {

int list_peers(const ClientFlags& f, bool stale) {
  auto res = http_call(f, "GET", std::string("/v1/operator/raft/configuration") + (stale ? "?stale" : ""));
  if (!res.ok()) return std::cerr << "Error getting peers: " << res.error().message() << "\n", kExitError;
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (!j.is_object() || !j["Servers"].is_array())
    return std::cerr << "Error getting peers: unexpected response\n", kExitError;
  std::vector<std::vector<std::string>> rows{{"Node", "ID", "Address", "State", "Voter", "RaftProtocol"}};
  for (const auto& s : j["Servers"]) {
    if (!s.is_object()) continue;
    std::string protocol = s.value("ProtocolVersion", "");
    rows.push_back({s.value("Node", ""), s.value("ID", ""), s.value("Address", ""),
                    s.value("Leader", false) ? "leader" : "follower", s.value("Voter", false) ? "true" : "false",
                    protocol.empty() ? "<=1" : protocol});
  }
  print_table(std::cout, rows);
  return kExitOk;
}

int remove_peer(const ClientFlags& f, const std::string& id, const std::string& address) {
  if (id.empty() && address.empty())
    return std::cerr << "Error removing peer: an address or id is required for the peer to remove\n", kExitError;
  if (!id.empty() && !address.empty())
    return std::cerr << "Error removing peer: cannot give both an address and id\n", kExitError;
  std::string target = "/v1/operator/raft/peer?" +
                       (id.empty() ? "address=" + http::percent_encode(address) : "id=" + http::percent_encode(id));
  auto res = http_call(f, "DELETE", target);
  if (!res.ok()) return std::cerr << "Error removing peer: " << res.error().message() << "\n", kExitError;
  if (id.empty()) {
    std::cout << "Removed peer with address \"" << address << "\"\n";
  } else {
    std::cout << "Removed peer with id \"" << id << "\"\n";
  }
  return kExitOk;
}

int transfer_leader(const ClientFlags& f, const std::string& id) {
  std::string target = "/v1/operator/raft/transfer-leader";
  if (!id.empty()) target += "?id=" + http::percent_encode(id);
  auto res = http_call(f, "POST", target);
  if (!res.ok())
    return std::cerr << "Error transferring leadership: Failed to transfer leadership " << res.error().message() << "\n",
           kExitError;
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (!j.is_object() || !j.value("Success", false))
    return std::cerr << "Error transferring leadership: Failed to transfer leadership\n", kExitError;
  std::cout << "Success\n";
  return kExitOk;
}

}  // namespace

void add_operator_command(CLI::App& app, int* exit_code) {
  auto* op = app.add_subcommand("operator", "Cluster-level tools for Consul operators");
  op->require_subcommand(1);
  auto* raft = op->add_subcommand("raft", "Inspect and change the Raft configuration");
  raft->require_subcommand(1);

  auto* list = raft->add_subcommand("list-peers", "Display the current Raft peer configuration");
  auto lf = add_client_flags(list);
  auto stale = std::make_shared<bool>(false);
  list->add_flag("--stale", *stale, "Read from any server, even without a leader");
  list->callback([=] { *exit_code = list_peers(*lf, *stale); });

  auto* remove = raft->add_subcommand("remove-peer", "Remove a server from the Raft configuration");
  auto rf = add_client_flags(remove);
  auto id = std::make_shared<std::string>();
  auto address = std::make_shared<std::string>();
  remove->add_option("--id", *id, "The Raft ID of the server to remove");
  remove->add_option("--address", *address, "The RPC address (IP:port) of the server to remove");
  remove->callback([=] { *exit_code = remove_peer(*rf, *id, *address); });

  auto* transfer = raft->add_subcommand("transfer-leader", "Transfer Raft leadership to another server");
  auto tf = add_client_flags(transfer);
  auto target = std::make_shared<std::string>();
  transfer->add_option("--id", *target, "The Raft ID of the server to transfer leadership to (default: any)");
  transfer->callback([=] { *exit_code = transfer_leader(*tf, *target); });
}

}  // namespace cairn::cli
