// Each `cairn` subcommand lives in its own file under cli/commands/ and
// registers itself with the CLI11 app through one function declared here.
// Exit codes: 0 success, 1 error (one line on stderr), 2 usage error.
#pragma once

#include <CLI/CLI.hpp>

namespace cairn::cli {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

// The command sets *exit_code when it runs.
void add_agent_command(CLI::App& app, int* exit_code);
void add_version_command(CLI::App& app, int* exit_code);
void add_validate_command(CLI::App& app, int* exit_code);
void add_leave_command(CLI::App& app, int* exit_code);
void add_members_command(CLI::App& app, int* exit_code);
void add_join_command(CLI::App& app, int* exit_code);
void add_force_leave_command(CLI::App& app, int* exit_code);
void add_keygen_command(CLI::App& app, int* exit_code);
void add_keyring_command(CLI::App& app, int* exit_code);
void add_event_command(CLI::App& app, int* exit_code);
void add_kv_command(CLI::App& app, int* exit_code);
void add_catalog_command(CLI::App& app, int* exit_code);
void add_config_command(CLI::App& app, int* exit_code);
void add_operator_command(CLI::App& app, int* exit_code);
void add_snapshot_command(CLI::App& app, int* exit_code);
void add_monitor_command(CLI::App& app, int* exit_code);
void add_services_command(CLI::App& app, int* exit_code);
void add_reload_command(CLI::App& app, int* exit_code);
void add_watch_command(CLI::App& app, int* exit_code);
void add_lock_command(CLI::App& app, int* exit_code);
void add_intention_command(CLI::App& app, int* exit_code);
void add_connect_command(CLI::App& app, int* exit_code);

// Go's flag package accepts -name and --name; CLI11 wants --name for long
// options. Rewrites "-name[=v]" into "--name[=v]" (a bare "-" and "--" stay).
std::vector<std::string> normalize_flags(int argc, char** argv);

// The normalized arguments, in order (for commands whose flags' relative
// order matters, like -config-file and -config-dir).
const std::vector<std::string>& command_line();

// The last `n` arguments as given, before normalize_flags (a handler or
// child command's own flags, such as "ls -la", stay as written).
std::vector<std::string> raw_tail(size_t n);

}  // namespace cairn::cli
