// cairn keyring -list | -install KEY | -use KEY | -remove KEY: gossip keys on
// every member, through the local agent (/v1/operator/keyring).
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/client.h"
#include "cli/command.h"

namespace cairn::cli {

void add_keyring_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("keyring", "Manage gossip encryption keys across the pool");
  auto flags = add_client_flags(cmd);
  auto list = std::make_shared<bool>(false);
  auto install = std::make_shared<std::string>();
  auto use = std::make_shared<std::string>();
  auto remove = std::make_shared<std::string>();
  auto* l = cmd->add_flag("--list", *list, "List the keys installed on the members");
  auto* i = cmd->add_option("--install", *install, "Install a key on every member");
  auto* u = cmd->add_option("--use", *use, "Make an installed key the primary on every member");
  auto* r = cmd->add_option("--remove", *remove, "Remove a key from every member");
  l->excludes(i)->excludes(u)->excludes(r);
  i->excludes(u)->excludes(r);
  u->excludes(r);
  cmd->callback([=] {
    *exit_code = kExitError;
    std::string method, verb, key;
    if (*list) {
      method = "GET";
    } else if (!install->empty()) {
      method = "POST", verb = "Installing new gossip encryption key", key = *install;
    } else if (!use->empty()) {
      method = "PUT", verb = "Changing primary gossip encryption key", key = *use;
    } else if (!remove->empty()) {
      method = "DELETE", verb = "Removing gossip encryption key", key = *remove;
    } else {
      std::cerr << "Exactly one of -list, -install, -use or -remove must be given\n";
      *exit_code = kExitUsage;
      return;
    }
    auto client = flags->client();
    if (!client.ok()) return void(std::cerr << "Error: " << client.error().message() << "\n");
    if (!key.empty()) std::cout << "==> " << verb << "...\n";
    std::string body = key.empty() ? std::string() : nlohmann::json{{"Key", key}}.dump();
    auto res = client->request(method, "/v1/operator/keyring", body, std::chrono::seconds(60));
    if (!res.ok()) return void(std::cerr << "Error: " << res.error().message() << "\n");
    if (res->status != 200) return void(std::cerr << "Error: " << res->body);
    if (*list) {
      auto j = nlohmann::json::parse(res->body, nullptr, false);
      if (!j.is_array()) return void(std::cerr << "Error: unexpected response\n");
      std::cout << "==> Gathering installed encryption keys...\n";
      for (const auto& pool : j) {
        std::cout << "\n" << pool.value("Datacenter", "") << " (LAN):\n";
        int nodes = pool.value("NumNodes", 0);
        for (const auto& [k, n] : pool["Keys"].items())
          std::cout << "  " << k << " [" << n.get<int>() << "/" << nodes << "]\n";
        for (const auto& [node, msg] : pool["Messages"].items())
          std::cout << "  error from " << node << ": " << msg.get<std::string>() << "\n";
      }
    }
    *exit_code = kExitOk;
  });
}

}  // namespace cairn::cli
