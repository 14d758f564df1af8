// The HTTP/1.1 server the whole API stands on (Boost.Beast, C++20
// coroutines): one coroutine and one strand per connection, keep-alive, a
// deadline on every read and write, limits on header and body size (431/413),
// a cap on concurrent connections per client address (429), and graceful
// shutdown with a hard deadline.
//
// Handlers run on the connection's strand and answer through a Responder,
// possibly later (long polls hold no thread). Beast never appears in this
// header: handlers see core/http/message.h only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/http/router.h"
#include "core/result.h"

namespace boost::asio {
class io_context;
}

namespace cairn::http {

struct ServerOptions {
  size_t max_header_bytes = 1 << 20;      // as Go's http.DefaultMaxHeaderBytes
  size_t max_body_bytes = 32u << 20;      // larger bodies get 413
  Duration read_timeout = std::chrono::seconds(30);   // to read one whole request
  Duration write_timeout = std::chrono::seconds(30);  // to write one response
  Duration idle_timeout = std::chrono::seconds(90);   // keep-alive wait for the next request
  int max_conns_per_client = 200;         // Consul's limits.http_max_conns_per_client
  // Called with every response before it is written (adds common headers).
  std::function<void(const Request&, Response&)> decorate;
};

class Server {
 public:
  Server(boost::asio::io_context& io, const Router& router, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; port 0 picks a free port. Returns the bound port.
  Result<uint16_t> listen(const std::string& address, uint16_t port);
  // Starts accepting on every listener.
  void start();
  // Stops accepting and closes idle connections at once; requests in flight
  // may finish until `grace` has passed, then every connection is closed.
  // `done` runs (on an io thread) when no connection is left.
  void shutdown(Duration grace, std::function<void()> done);

  size_t open_connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace cairn::http
