// The agent process: owns the HTTP API (and, as later work lands, gossip,
// local state, checks and DNS). cli/commands/agent.cc is the composition root
// that builds it (and a server, in server mode) from a Config.
//
// Thread affinity: start() and shutdown() are called from the main thread /
// an io thread; handlers run on connection strands.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "agent/config/config.h"
#include "core/io/tls.h"
#include "core/result.h"

namespace cairn {
class Runtime;
}
namespace cairn::api::rpc {
class Handler;
}
namespace cairn::gossip {
struct MemberEvent;
struct MemberInfo;
}

namespace cairn::agent {

// Why the agent asks its owner to shut it down.
enum class ShutdownReason {
  signal,  // as SIGTERM: leave the pool if leave_on_terminate
  leave,   // PUT /v1/agent/leave: leave the pool, exit 0
  fatal,   // the agent cannot go on (retry_join gave up): exit 1
};

// TLS on the server port (core/io/tls.h) from c.tls, c.datacenter and
// c.domain: what a client agent's RPC client and a server's ServerNode use.
io::TlsSettings rpc_tls_settings(const Config& c);

class Agent {
 public:
  explicit Agent(Config config);
  ~Agent();

  // What the agent calls when it must stop (asked over the API to leave, or
  // a fatal condition): the composition root starts the same graceful
  // shutdown as for SIGTERM. Set before start().
  void set_shutdown_request(std::function<void(ShutdownReason)> fn);

  // Server mode (set before start()): this agent gossips as a server
  // (api/server_tags.h) whose RPC listens on `rpc_port`, and its HTTP
  // handlers call `rpc` — the server in this process — directly. Without
  // it, the agent is a client: its handlers call the servers it learns of
  // by gossip over RPC.
  void set_server(uint16_t rpc_port, std::shared_ptr<api::rpc::Handler> rpc);
  // Called on a gossip thread for every member event (the server follows
  // the pool through it). Set before start().
  void set_member_listener(std::function<void(const gossip::MemberEvent&)> fn);
  // How to re-read the configuration (the composition root knows the
  // files): PUT /v1/agent/reload, SIGHUP and `cairn reload` apply its
  // services and checks. Set before start(); without it reload is a 500.
  void set_reload(std::function<Result<Config>()> fn);
  // Re-reads the configuration and applies its services and checks (API
  // registrations stay); done(first error) from any thread.
  void reload(std::function<void(Status)> done);
  // The gossip view now (empty before start()).
  std::vector<gossip::MemberInfo> members() const;

  // Makes the data dir (a temporary one for -dev, removed with the agent)
  // and loads or creates the node ID, so that config() has both. start()
  // calls it when the composition root did not (the server needs the node ID
  // before the agent starts).
  Status prepare();

  // Prepares the data dir and node id, starts gossip, binds every listener
  // (port 0 picks a free one) and starts serving; joins start_join (fatal on
  // failure) and keeps retrying retry_join. Logs the bound addresses.
  Status start(Runtime& runtime);
  // Graceful stop: leave the gossip pool first when `leave` (others then see
  // "left", not "failed"), stop accepting, let in-flight requests finish
  // within limits.shutdown_grace, then call done.
  void shutdown(bool leave, std::function<void()> done);

  const Config& config() const;
  // "ip:port" of each HTTP listener, after start().
  const std::vector<std::string>& http_addresses() const;
  // "ip:port" of each DNS listener (UDP and TCP share the port), after start().
  const std::vector<std::string>& dns_addresses() const;
  // The gossip address others reach us at, after start().
  std::string gossip_address() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::agent
