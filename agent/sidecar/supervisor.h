// The agent's supervisor of sidecar proxy processes: for every local
// connect-proxy registered through Connect.SidecarService with
// Connect.ManagedSidecar (agent/local's LocalService::supervised), one
// `cairn connect proxy -proxy-id <id> -http-addr <agent>` child.
//
// - Reconciles every `tick` against `desired()`: starts what is missing,
//   stops (SIGTERM to the child's process group, SIGKILL after
//   `stop_grace`) what is no longer wanted.
// - A child that exits is restarted after a backoff: `min_backoff`
//   doubling to `max_backoff`, back to `min_backoff` once a child has run
//   for `stable_after`. Every start, exit and restart is logged.
// - The child's stdout and stderr go to the agent's log, a line at a time,
//   prefixed with the proxy's ID.
// - stop() ends every child (same SIGTERM → SIGKILL sequence) and reaps it.
//
// Thread-safety: the supervisor runs on its own strand; start() and stop()
// may be called from any thread. No Asio in this header.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/duration.h"

namespace boost::asio {
class io_context;
}

namespace cairn::agent::sidecar {

struct SupervisorOptions {
  std::vector<std::string> command;  // argv before "-proxy-id <id>", e.g. {exe, "connect", "proxy", "-http-addr", a}
  std::function<std::vector<std::string>()> desired;  // proxy IDs to run
  Duration tick = std::chrono::seconds(1);
  Duration min_backoff = std::chrono::seconds(1);
  Duration max_backoff = std::chrono::seconds(30);
  Duration stable_after = std::chrono::seconds(30);
  Duration stop_grace = std::chrono::seconds(5);
};

struct ChildStatus {
  std::string id;
  pid_t pid = -1;      // -1 while waiting to restart
  int restarts = 0;    // starts after the first
};

class Supervisor {
 public:
  static std::shared_ptr<Supervisor> make(boost::asio::io_context& io, SupervisorOptions options);
  virtual ~Supervisor() = default;
  virtual void start() = 0;
  virtual void stop() = 0;
  virtual std::vector<ChildStatus> children() const = 0;
};

}  // namespace cairn::agent::sidecar
