// Serves RPC connections (protocol byte 0x00 already read; plaintext or TLS) against an
// api::rpc::Handler: the connection half of server/rpc/listener.h, which
// documents the protocol and its limits.
//
// Internal to server/rpc (includes Asio): only its .cc files include it.
//
// Thread-safety: serve() and stop() from any thread. Each connection runs on
// the strand of its socket's executor.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "api/io/rpc_frame.h"
#include "api/rpc.h"
#include "server/rpc/listener.h"

namespace cairn::server::rpc {

// Counters shared by the listener and the server.
class CounterBox {
 public:
  void bump(uint64_t RpcListenerCounters::*field, uint64_t n = 1) {
    std::lock_guard lock(mu_);
    counters_.*field += n;
  }
  RpcListenerCounters get() const {
    std::lock_guard lock(mu_);
    return counters_;
  }

 private:
  mutable std::mutex mu_;
  RpcListenerCounters counters_;
};

class RpcServer : public std::enable_shared_from_this<RpcServer> {
 public:
  RpcServer(api::rpc::Handler& handler, RpcListenerOptions options, std::shared_ptr<CounterBox> counters)
      : handler_(handler), options_(std::move(options)), counters_(std::move(counters)) {}

  // Serves `sock` (on a strand of its own) until the peer closes it, a limit
  // is hit or stop() ends it.
  void serve(std::shared_ptr<cairn::io::Stream> sock);
  // Stops reading requests; connections close once their in-flight requests
  // are answered, or after `grace` at the latest.
  void stop(boost::asio::io_context& io, Duration grace);

  struct Connection;  // defined in rpc_server.cc

 private:
  void forget(Connection* c);

  api::rpc::Handler& handler_;
  const RpcListenerOptions options_;
  std::shared_ptr<CounterBox> counters_;
  std::mutex mu_;  // guards the two below
  bool stopping_ = false;
  std::map<Connection*, std::weak_ptr<Connection>> connections_;
};

}  // namespace cairn::server::rpc
