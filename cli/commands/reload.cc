// cairn reload: asks the local agent to re-read its configuration files'
// services and checks (PUT /v1/agent/reload), as `consul reload`.
#include <iostream>

#include "cli/command.h"
#include "cli/commands/http_call.h"

namespace cairn::cli {

void add_reload_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("reload", "Trigger the agent to reload its configuration files");
  auto flags = add_client_flags(cmd);
  cmd->callback([flags, exit_code] {
    auto res = http_call(*flags, "PUT", "/v1/agent/reload");
    if (!res.ok()) {
      std::cerr << "Error reloading: " << res.error().message() << "\n";
      *exit_code = kExitError;
      return;
    }
    std::cout << "Configuration reload triggered\n";
    *exit_code = kExitOk;
  });
}

}  // namespace cairn::cli
