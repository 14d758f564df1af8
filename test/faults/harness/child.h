// Child processes of the fault harness: commands run to completion (ip, tc,
// mount) and long-running `cairn` processes that are signalled and reaped
// by PID. Long-running children get PR_SET_PDEATHSIG=SIGKILL, so killing
// the harness (even with SIGKILL) takes its cairn processes with it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace cairn::faults {

struct CommandResult {
  int status = -1;  // exit code, 128+signal, -1 when it could not start
  std::string output;  // stdout and stderr
};
// Runs `args` (looked up in PATH) to completion.
CommandResult run_command(const std::vector<std::string>& args);
// As above; a non-zero status becomes a one-line error in *error (if set).
bool run_ok(const std::vector<std::string>& args, std::string* error = nullptr);

class Child {
 public:
  // Starts `args` with stdout/stderr appended to log_path.
  Child(const std::vector<std::string>& args, const std::string& log_path);
  ~Child();  // SIGKILL + reap when still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Exit status once the child ended within `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  std::optional<int> exit_status() const { return exited_ ? std::optional<int>(status_) : std::nullopt; }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

std::string read_file(const std::string& path);

}  // namespace cairn::faults
