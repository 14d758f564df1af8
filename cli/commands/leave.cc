// cairn leave: asks the local agent to leave gracefully and shut down.
#include <iostream>

#include "cli/client.h"
#include "cli/command.h"

namespace cairn::cli {

void add_leave_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("leave", "Gracefully leave and shut down the agent");
  auto flags = add_client_flags(cmd);
  cmd->callback([flags, exit_code] {
    auto client = flags->client();
    if (!client.ok()) {
      std::cerr << "Error leaving: " << client.error().message() << "\n";
      *exit_code = kExitError;
      return;
    }
    auto res = client->request("PUT", "/v1/agent/leave");
    if (!res.ok()) {
      std::cerr << "Error leaving: " << res.error().message() << "\n";
      *exit_code = kExitError;
      return;
    }
    if (res->status != 200) {
      std::cerr << "Error leaving: Unexpected response code: " << res->status << " (" << res->body << ")\n";
      *exit_code = kExitError;
      return;
    }
    std::cout << "Graceful leave complete\n";
    *exit_code = kExitOk;
  });
}

}  // namespace cairn::cli
