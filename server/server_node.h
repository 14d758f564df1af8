// server::ServerNode: everything a server process runs besides the agent,
// assembled in one place so the composition root (cli/commands/agent.cc)
// only connects it to the agent:
//   - the port-8300 listener (server/rpc/listener.h): RPC connections are
//     served by the Server, Raft connections handed to the transport
//     (both over TLS when options.tls asks for it);
//   - the Raft TcpTransport (no listener of its own; outbound connections
//     announce themselves with Consul's RPCRaft byte 0x01);
//   - the Server (server/server.h) and its LeaderDuties (server/leader.h),
//     the latter on a strand of its own, fed by the Server's hooks;
//   - RPC clients to the other servers (leader forwarding, bootstrap), one
//     per address, kept for reuse.
//
// Thread-safety: every public method may be called from any thread once
// start() returned. stop() must be called before destruction, and the
// io_context must run what it posts (Server's lifetime rule).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "server/leader.h"
#include "server/server.h"

namespace boost::asio {
class io_context;
}
namespace cairn::io {
class TlsConfig;
}

namespace cairn::server {

struct ServerNodeOptions {
  // node_name, node_id, datacenter, data_dir, bootstrap, bootstrap_expect
  // and raft timing; rpc_address is filled in from the bound port.
  ServerOptions server;
  std::string bind_ip = "0.0.0.0";  // where port 8300 listens
  uint16_t port = 8300;             // 0 picks a free port
  std::string advertise_ip;         // what others dial (the gossip advertise IP)
  // datacenter, node_name and raft_id are filled in from `server`.
  LeaderOptions leader;
  // TLS on port 8300 (core/io/tls.h): the listener's, the Raft transport's
  // and the forwarding RPC clients'. Null: plaintext.
  std::shared_ptr<const io::TlsConfig> tls;
};

class ServerNode {
 public:
  static Result<std::unique_ptr<ServerNode>> start(boost::asio::io_context& io, ServerNodeOptions options);
  ~ServerNode();

  uint16_t port() const;
  const std::string& rpc_address() const;  // "advertise_ip:port"
  // The in-process Server, for the agent's HTTP handlers.
  std::shared_ptr<api::rpc::Handler> handler() const;
  const std::shared_ptr<Server>& server() const;

  // The gossip view, from the agent.
  void on_member_event(const gossip::MemberEvent& e);
  void set_members(std::vector<gossip::MemberInfo> members);
  // Pulls the full gossip view from `members` now and every `every` (a
  // bootstrap_expect attempt whose peer check failed is retried then; events
  // alone may never come again in a quiet pool).
  void follow_members(std::function<std::vector<gossip::MemberInfo>()> members,
                      Duration every = std::chrono::seconds(5));

  // Called once if the Server fails (ServerHooks::on_failed), on a server
  // thread; set before the server can fail (right after start()).
  void set_on_failed(std::function<void()> fn);

  // Stops accepting, stops the leader duties, the Server and the transport.
  void stop();

 private:
  struct Impl;
  explicit ServerNode(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::server
