// The script probe (Consul's CheckMonitor): ScriptArgs run in a process group
// of their own, stdout and stderr read through one pipe on the event loop;
// exit 0 passing, 1 warning, anything else critical. At the deadline the
// whole group gets SIGKILL. The leader is always reaped (no zombies).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <boost/asio.hpp>
#include <boost/asio/readable_pipe.hpp>

#include "agent/checks/probe.h"
#include "core/duration.h"
#include "core/io/subprocess.h"

namespace cairn::agent::checks {

namespace asio = boost::asio;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<Outcome> probe_script(ProbeContext& pc, const api::HealthCheckDefinition& d) {
  auto started = spawn_with_output_pipe(d.script_args);
  if (!started.ok()) co_return Outcome{std::string(api::kHealthCritical), started.error().detail()};
  const pid_t pid = started->pid;
  pc.processes->add(pid);
  asio::readable_pipe pipe(pc.ex, started->output_fd);
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
