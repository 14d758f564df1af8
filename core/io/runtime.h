// The process runtime: one io_context, a thread per core (DESIGN.md "Runtime
// model"), and SIGINT/SIGTERM turned into a shutdown callback.
//
// Heavy headers stay out: callers that need the io_context include
// <boost/asio/io_context.hpp> themselves (io/ sources only).
#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace cairn {

class Runtime {
 public:
  Runtime();
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  boost::asio::io_context& io();

  // Calls fn (on an io thread) at the first SIGINT or SIGTERM; a second
  // signal exits the process at once with status 1.
  void on_shutdown_signal(std::function<void()> fn);

  // Calls fn (on an io thread) at every SIGHUP (the agent's reload).
  void on_reload_signal(std::function<void()> fn);

  // If the process is still running `after` from now, exit at once with
  // status 1: the hard deadline of a graceful shutdown.
  void exit_after(std::chrono::nanoseconds after);

  // Runs the io_context on `threads` threads (0: one per core) until stop().
  void run(unsigned threads = 0);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn
