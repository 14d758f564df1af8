// `cairn`'s side of cli/server_loader.h: no server code here. Server mode and
// `cairn snapshot` run in cairn-server, which this execs with the same
// arguments (same PID, same stdio).
#include <unistd.h>

#include <cstdlib>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/server_loader.h"

namespace cairn::cli {

namespace fs = std::filesystem;

Status run_in_server_binary() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return Error(errc::io_error, "cannot find the cairn-server binary: /proc/self/exe: " + ec.message());
  const fs::path dir = self.parent_path();
  const fs::path candidates[] = {(dir / ".." / "lib" / "cairn" / "cairn-server").lexically_normal(),
                                 dir / "cairn-server"};
  std::vector<std::string> args = raw_tail(std::numeric_limits<size_t>::max());
  std::string tried;
  for (const auto& path : candidates) {
    if (::access(path.c_str(), X_OK) != 0) {
      tried += (tried.empty() ? "" : ", ") + path.string() + " (" + std::strerror(errno) + ")";
      continue;
    }
    std::vector<char*> argv;
    std::string arg0 = path.string();
    argv.push_back(arg0.data());
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::cout.flush();
    std::cerr.flush();
    // The agent runs managed sidecars with the small client binary, not
    // with cairn-server (agent/sidecar): tell it where that is.
    ::setenv("CAIRN_CLIENT_BINARY", self.c_str(), 1);
    ::execv(arg0.c_str(), argv.data());
    tried += (tried.empty() ? "" : ", ") + arg0 + " (" + std::strerror(errno) + ")";
  }
  return Error(errc::not_found, "server mode needs the cairn-server binary, which could not be run: " + tried);
}

Result<std::unique_ptr<AgentServer>> start_agent_server(Runtime&, agent::Agent&) {
  return Error(errc::internal, "this cairn binary has no server (cairn-server runs server mode)");
}

// `cairn snapshot ...` reads and writes server archives (server/snapshot_archive.h,
// which opens RocksDB for `inspect`): the whole command runs in cairn-server.
void add_snapshot_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("snapshot", "Saves, restores and inspects snapshots of the server state");
  cmd->prefix_command();  // every argument after `snapshot`, --help too, is cairn-server's
  cmd->set_help_flag();
  cmd->callback([exit_code] {
    auto ran = run_in_server_binary();  // returns only on failure
    std::cerr << "==> " << ran.error().message() << "\n";
    *exit_code = kExitError;
  });
}

}  // namespace cairn::cli
