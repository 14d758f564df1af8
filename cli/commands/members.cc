// cairn members: the gossip pool as this agent sees it.
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>

#include "cli/client.h"
#include "cli/commands/http_call.h"
#include "cli/command.h"

namespace cairn::cli {
namespace {

std::string status_text(int s) {
  switch (s) {
    case 1: return "alive";
    case 2: return "leaving";
    case 3: return "left";
    case 4: return "failed";
    default: return "none";
  }
}

}  // namespace

void add_members_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("members", "List the members of the gossip pool");
  auto flags = add_client_flags(cmd);
  auto detailed = std::make_shared<bool>(false);
  auto status = std::make_shared<std::string>(".*");
  cmd->add_flag("--detailed", *detailed, "Show every tag of each member");
  cmd->add_option("--status", *status, "Only members whose status matches this regular expression");
  cmd->callback([flags, detailed, status, exit_code] {
    *exit_code = kExitError;
    std::regex status_re;
    try {
      status_re = std::regex(*status);
    } catch (const std::regex_error&) {
      std::cerr << "Invalid -status regular expression: " << *status << "\n";
      return;
    }
    auto client = flags->client();
    if (!client.ok()) return void(std::cerr << "Error retrieving members: " << client.error().message() << "\n");
    auto res = client->request("GET", "/v1/agent/members");
    if (!res.ok()) return void(std::cerr << "Error retrieving members: " << res.error().message() << "\n");
    if (res->status != 200) return void(std::cerr << "Error retrieving members: " << res->status << " " << res->body);
    auto members = nlohmann::json::parse(res->body, nullptr, false);
    if (!members.is_array()) return void(std::cerr << "Error retrieving members: unexpected response\n");
    std::vector<std::vector<std::string>> rows;
    rows.push_back(*detailed ? std::vector<std::string>{"Node", "Address", "Status", "Tags"}
                             : std::vector<std::string>{"Node", "Address", "Status", "Type", "Build", "Protocol", "DC"});
    std::vector<std::pair<std::string, std::vector<std::string>>> sorted;
    for (const auto& m : members) {
      std::string st = status_text(m.value("Status", 0));
      if (!std::regex_match(st, status_re)) continue;
      auto tags = m.value("Tags", nlohmann::json::object());
      std::string addr = m.value("Addr", "") + ":" + std::to_string(m.value("Port", 0));
      std::vector<std::string> row{m.value("Name", ""), addr, st};
      if (*detailed) {
        std::string t;
        for (const auto& [k, v] : tags.items()) t += (t.empty() ? "" : ",") + k + "=" + v.get<std::string>();
        row.push_back(t);
      } else {
        row.push_back(tags.value("role", "") == "consul" ? "server" : "client");
        row.push_back(tags.value("build", ""));
        row.push_back(tags.value("vsn", "2"));
        row.push_back(tags.value("dc", ""));
      }
      sorted.emplace_back(row[0], std::move(row));
    }
    std::sort(sorted.begin(), sorted.end());
    for (auto& [name, row] : sorted) rows.push_back(std::move(row));
    print_table(std::cout, rows);
    *exit_code = kExitOk;
  });
}

}  // namespace cairn::cli
