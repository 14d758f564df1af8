// The agent's log tap for /v1/agent/monitor: every monitor request
// subscribes with its own level and format, and gets the lines as a streamed
// HTTP body. Lines are formatted as the agent's own log (text or JSON).
// A subscriber that reads slower than lines arrive loses lines (at most 512
// wait), and is told how many, as Consul does; the agent never blocks on a
// slow monitor.
//
// Thread-safety: any thread. The tap runs inside log::write on the logging
// thread and only appends to queues under a mutex.
#pragma once

#include <memory>

#include "core/http/message.h"
#include "core/log.h"

namespace cairn::agent {

class LogMonitor {
 public:
  LogMonitor();
  ~LogMonitor();  // removes the tap
  LogMonitor(const LogMonitor&) = delete;
  LogMonitor& operator=(const LogMonitor&) = delete;

  // A body that yields log lines at or above `level` until the client goes.
  std::shared_ptr<http::BodyStream> subscribe(log::Level level, bool json);

  size_t subscribers() const;

 private:
  struct Hub;
  std::shared_ptr<Hub> hub_;
};

}  // namespace cairn::agent
