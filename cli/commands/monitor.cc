// cairn monitor: streams the local agent's log lines (GET /v1/agent/monitor)
// until interrupted or the agent goes away, as `consul monitor` does.
#include <iostream>

#include "cli/client.h"
#include "cli/command.h"

namespace cairn::cli {

void add_monitor_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("monitor", "Stream logs from a Cairn agent");
  auto flags = add_client_flags(cmd);
  auto level = std::make_shared<std::string>("info");
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--log-level", *level, "Log level to stream: trace, debug, info, warn, error");
  cmd->add_flag("--log-json", *json, "Stream log lines as JSON objects");
  cmd->callback([flags, level, json, exit_code] {
    auto client = flags->client();
    if (!client.ok()) {
      std::cerr << "Error starting monitor: " << client.error().message() << "\n";
      *exit_code = kExitError;
      return;
    }
    std::string target = "/v1/agent/monitor?loglevel=" + *level + (*json ? "&logjson" : "");
    auto res = client->stream(target, [](std::string_view piece) {
      std::cout << piece << std::flush;
      return true;
    });
    if (!res.ok()) {
      std::cerr << "Error starting monitor: " << res.error().message() << "\n";
      *exit_code = kExitError;
      return;
    }
    if (res->status != 200) {
      std::cerr << "Error starting monitor: Unexpected response code: " << res->status << " (" << res->body << ")\n";
      *exit_code = kExitError;
      return;
    }
    std::cerr << "Remote side ended the monitor! This usually means that the\n"
                 "remote side has exited or crashed.\n";
    *exit_code = kExitOk;
  });
}

}  // namespace cairn::cli
