// cairn force-leave NODE: marks a failed member as left, so the pool stops
// trying to reach it.
#include <iostream>

#include "cli/client.h"
#include "cli/command.h"
#include "core/http/url.h"

namespace cairn::cli {

void add_force_leave_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("force-leave", "Force a failed member of the pool into the left state");
  auto flags = add_client_flags(cmd);
  auto node = std::make_shared<std::string>();
  cmd->add_option("node", *node, "Name of the member")->required();
  cmd->callback([flags, node, exit_code] {
    *exit_code = kExitError;
    auto client = flags->client();
    if (!client.ok()) return void(std::cerr << "Error force leaving: " << client.error().message() << "\n");
    auto res = client->request("PUT", "/v1/agent/force-leave/" + http::percent_encode(*node));
    if (!res.ok()) return void(std::cerr << "Error force leaving: " << res.error().message() << "\n");
    if (res->status != 200) return void(std::cerr << "Error force leaving: " << res->body);
    *exit_code = kExitOk;
  });
}

}  // namespace cairn::cli
