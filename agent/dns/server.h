// The DNS listeners: UDP and TCP on the same port (RFC 1035 §4.2), answering
// through a Resolver. No thread per query: one receive coroutine per UDP
// socket, one coroutine per TCP connection (2-byte length framing, a read
// deadline per message, a cap on open connections), and a coroutine per
// forwarded query (each recursor in order, recursor_timeout each, over UDP).
// A resolver answer that arrives later (a cache miss) is posted back to the
// socket's strand, so the event loop never blocks.
//
// Asio stays in server.cc: this header is safe to include anywhere.
//
// Thread-safety: listen() and start() from one thread before the io threads
// run; stop() from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/dns/resolver.h"
#include "core/clock.h"
#include "core/result.h"

namespace boost::asio {
class io_context;
}

namespace cairn::agent::dns {

struct ServerOptions {
  std::vector<std::string> recursors;        // "ip" or "ip:port" (53) or "[v6]:port"
  Duration recursor_timeout = std::chrono::seconds(2);
  Duration tcp_read_timeout = std::chrono::seconds(5);   // for each whole message, idle included
  Duration tcp_write_timeout = std::chrono::seconds(5);
  size_t max_tcp_connections = 512;          // more are closed at once
  int udp_sockets = 2;                       // per address, SO_REUSEPORT, one receive loop each
};

class Server {
 public:
  Server(boost::asio::io_context& io, std::shared_ptr<Resolver> resolver, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds UDP and TCP on address:port (0 picks a free port shared by both).
  // Returns the port.
  Result<uint16_t> listen(const std::string& address, uint16_t port);
  void start();
  // Closes the listeners and every connection; queries in flight are dropped.
  void stop();

  size_t open_tcp_connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace cairn::agent::dns
