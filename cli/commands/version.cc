// cairn version
#include <iostream>

#include "cli/command.h"
#include "core/version.h"

namespace cairn::cli {

void add_version_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("version", "Print the Cairn version");
  cmd->callback([exit_code] {
    std::cout << "Cairn v" << cairn::version() << "\n"
              << "Revision " << cairn::revision() << "\n"
              << "HTTP API compatible with Consul's /v1\n";
    *exit_code = kExitOk;
  });
}

}  // namespace cairn::cli
