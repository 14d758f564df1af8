// The script probe (Consul's CheckMonitor): ScriptArgs run in a process group
// of their own, stdout and stderr read through one pipe on the event loop;
// exit 0 passing, 1 warning, anything else critical. At the deadline the
// whole group gets SIGKILL. The leader is always reaped (no zombies).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <boost/asio.hpp>
#include <boost/asio/readable_pipe.hpp>

#include "agent/checks/probe.h"
#include "core/duration.h"

extern char** environ;

namespace cairn::agent::checks {

namespace asio = boost::asio;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

// Starts `args` in a new process group with stdout and stderr on a pipe;
// returns the pid and the read end (close-on-exec, so that other children
// never hold it open).
Result<std::pair<pid_t, int>> spawn(const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Error(errc::io_error, std::string("pipe: ") + std::strerror(errno));
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return Error(errc::io_error, "Failed to invoke " + args.front() + ": " + std::strerror(rc));
  }
  return std::make_pair(pid, fds[0]);
}

}  // namespace

asio::awaitable<Outcome> probe_script(ProbeContext& pc, const api::HealthCheckDefinition& d) {
  auto started = spawn(d.script_args);
  if (!started.ok()) co_return Outcome{std::string(api::kHealthCritical), started.error().detail()};
  const pid_t pid = started->first;
  pc.processes->add(pid);
  asio::readable_pipe pipe(pc.ex, started->second);
  std::string output;
  {
    // Closing our end too ends the read should something outside the group
    // (a daemonised grandchild) still hold the pipe.
    ProbeGuard::Registration stop(*pc.guard, [pid, &pipe] {
      ::kill(-pid, SIGKILL);
      boost::system::error_code ignored;
      pipe.close(ignored);
    });
    // Consul keeps the last output_max_size bytes (a ring buffer).
    const size_t max = static_cast<size_t>(pc.output_max_size > 0 ? pc.output_max_size : 4096);
    char chunk[4096];
    for (;;) {
      auto [ec, n] = co_await pipe.async_read_some(asio::buffer(chunk), kTuple);
      output.append(chunk, n);
      if (output.size() > max) output.erase(0, output.size() - max);
      if (ec) break;  // EOF: every process that held the pipe is gone or closed it
    }
  }
  // The leader may outlive its output (it closed stdout); poll for its exit,
  // killing the group at the deadline.
  asio::steady_timer timer(pc.ex);
  int status = 0;
  auto wait = std::chrono::milliseconds(1);
  {
    ProbeGuard::Registration stop(*pc.guard, [&] {
      ::kill(-pid, SIGKILL);
      timer.cancel();
    });
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      timer.expires_after(wait);
      co_await timer.async_wait(kTuple);
      wait = std::min(wait * 2, std::chrono::milliseconds(50));
    }
  }
  pc.processes->remove(pid);
  if (pc.guard->timed_out()) {
    co_return Outcome{std::string(api::kHealthCritical), "Timed out (" + format_duration(pc.timeout) + ") running check"};
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::string result = code == 0   ? std::string(api::kHealthPassing)
                       : code == 1 ? std::string(api::kHealthWarning)
                                   : std::string(api::kHealthCritical);
  co_return Outcome{result, output};
}

}  // namespace cairn::agent::checks
