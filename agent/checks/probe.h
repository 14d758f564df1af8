// Internal to agent/checks (io sources only: it includes Asio). One probe is
// one run of a polling check: a coroutine on the runner's strand that ends
// with an Outcome. The runner bounds it with a deadline; at the deadline (or
// when the check is removed) the ProbeGuard fires the probe's cancel actions
// (close the socket, kill the process group), so the probe's pending I/O
// completes with an error and the coroutine ends promptly.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "api/types.h"
#include "core/clock.h"
#include "core/result.h"

namespace cairn::agent::checks {

struct Outcome {
  std::string status;  // passing | warning | critical
  std::string output;
};

// The cancel actions of one running probe. Strand-affine.
class ProbeGuard {
 public:
  // Registers `action` until the returned Registration is destroyed (it
  // must not outlive the guard; probes hold both in their frame).
  class Registration {
   public:
    Registration(ProbeGuard& guard, std::function<void()> action);
    ~Registration();
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    ProbeGuard& guard_;
    uint64_t id_;
  };
  // Runs every registered action (once); `timed_out` says why.
  void fire(bool timed_out);
  bool fired() const { return fired_; }
  bool timed_out() const { return timed_out_; }

 private:
  std::map<uint64_t, std::function<void()>> actions_;
  uint64_t next_ = 0;
  bool fired_ = false;
  bool timed_out_ = false;
};

// Two lazily built TLS client contexts (verifying with the system's CAs, or
// not verifying) per ALPN list; strand-affine.
class TlsContexts {
 public:
  boost::asio::ssl::context& get(bool skip_verify, bool h2);

 private:
  std::map<int, std::unique_ptr<boost::asio::ssl::context>> contexts_;
};

// Process groups of running scripts, so that the runner's destruction kills
// what is left. Thread-safe.
class ProcessTable {
 public:
  void add(int pgid);
  void remove(int pgid);
  // SIGKILL to every group and reap the leaders.
  void kill_all();

 private:
  std::mutex mu_;
  std::set<int> groups_;
};

struct ProbeContext {
  boost::asio::any_io_executor ex;  // the runner's strand
  Duration timeout{0};
  int64_t output_max_size = 4096;
  ProbeGuard* guard = nullptr;
  TlsContexts* tls = nullptr;
  ProcessTable* processes = nullptr;
};

// "host:port" or "[v6]:port" -> host and port; the error names `field`.
struct HostPort {
  std::string host;
  std::string port;
};
Result<HostPort> split_host_port(const std::string& text, const std::string& field);

// Resolves and connects `socket` (registering cancel actions with the guard).
boost::asio::awaitable<boost::system::error_code> connect_tcp(ProbeContext& pc, boost::asio::ip::tcp::socket& socket,
                                                              const std::string& host, const std::string& port);

// The text of a failed probe's error: "timed out after 2s" when the deadline
// fired, else the system's message.
std::string failure_text(const ProbeContext& pc, const boost::system::error_code& ec);

boost::asio::awaitable<Outcome> probe_tcp(ProbeContext& pc, const api::HealthCheckDefinition& d);
boost::asio::awaitable<Outcome> probe_udp(ProbeContext& pc, const api::HealthCheckDefinition& d);
boost::asio::awaitable<Outcome> probe_http(ProbeContext& pc, const api::HealthCheckDefinition& d);
boost::asio::awaitable<Outcome> probe_script(ProbeContext& pc, const api::HealthCheckDefinition& d);
boost::asio::awaitable<Outcome> probe_h2ping(ProbeContext& pc, const api::HealthCheckDefinition& d);
boost::asio::awaitable<Outcome> probe_grpc(ProbeContext& pc, const api::HealthCheckDefinition& d);

// Add-time validation of the address fields (so that add() can answer 400).
Status validate_target(const std::string& kind, const api::HealthCheckDefinition& d);

}  // namespace cairn::agent::checks
