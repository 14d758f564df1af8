// cairn: one binary for server, agent and CLI.
#include <algorithm>
#include <iostream>

#include "cli/command.h"

namespace cairn::cli {

namespace {
std::vector<std::string> g_command_line;
std::vector<std::string> g_raw_args;
}

const std::vector<std::string>& command_line() { return g_command_line; }

std::vector<std::string> raw_tail(size_t n) {
  n = std::min(n, g_raw_args.size());
  return {g_raw_args.end() - static_cast<std::ptrdiff_t>(n), g_raw_args.end()};
}

std::vector<std::string> normalize_flags(int argc, char** argv) {
  std::vector<std::string> out;
  g_raw_args.assign(argv + 1, argv + argc);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() > 2 && a[0] == '-' && a[1] != '-') a.insert(a.begin(), '-');
    out.push_back(std::move(a));
  }
  g_command_line = out;
  std::reverse(out.begin(), out.end());  // CLI11's parse(vector) wants reverse order
  return out;
}

}  // namespace cairn::cli

int main(int argc, char** argv) {
  using namespace cairn::cli;
  CLI::App app{"Cairn: a service mesh for VMs and bare metal", "cairn"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  int exit_code = kExitOk;
  add_agent_command(app, &exit_code);
  add_catalog_command(app, &exit_code);
  add_config_command(app, &exit_code);
  add_connect_command(app, &exit_code);
  add_event_command(app, &exit_code);
  add_force_leave_command(app, &exit_code);
  add_intention_command(app, &exit_code);
  add_join_command(app, &exit_code);
  add_keygen_command(app, &exit_code);
  add_keyring_command(app, &exit_code);
  add_kv_command(app, &exit_code);
  add_lock_command(app, &exit_code);
  add_leave_command(app, &exit_code);
  add_members_command(app, &exit_code);
  add_monitor_command(app, &exit_code);
  add_operator_command(app, &exit_code);
  add_reload_command(app, &exit_code);
  add_services_command(app, &exit_code);
  add_snapshot_command(app, &exit_code);
  add_validate_command(app, &exit_code);
  add_version_command(app, &exit_code);
  add_watch_command(app, &exit_code);
  auto args = normalize_flags(argc, argv);
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return exit_code;
}
