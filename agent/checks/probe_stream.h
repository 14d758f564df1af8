// Internal to agent/checks (io sources only): a TCP connection, optionally
// wrapped in TLS, handed to a probe body; shared by the HTTP and HTTP/2
// probes. The guard closes the socket at the deadline.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "agent/checks/probe.h"

namespace cairn::agent::checks {

struct Endpoint {
  std::string host;
  std::string port;
  bool tls = false;
  bool skip_verify = false;
  std::string server_name;  // SNI and the name verified; "" means host
  bool h2 = false;          // offer ALPN "h2"
};

// Connects to `ep` and runs `body(stream)` (an awaitable<error_code>) on the
// plain socket or the TLS stream.
template <typename Body>
boost::asio::awaitable<boost::system::error_code> with_connection(ProbeContext& pc, const Endpoint& ep, Body body) {
  namespace asio = boost::asio;
  asio::ip::tcp::socket socket(pc.ex);
  auto ec = co_await connect_tcp(pc, socket, ep.host, ep.port);
  if (ec) co_return ec;
  if (!ep.tls) {
    ProbeGuard::Registration stop(*pc.guard, [&] {
      boost::system::error_code ignored;
      socket.close(ignored);
    });
    co_return co_await body(socket);
  }
  asio::ssl::stream<asio::ip::tcp::socket> stream(std::move(socket), pc.tls->get(ep.skip_verify, ep.h2));
  ProbeGuard::Registration stop(*pc.guard, [&] {
    boost::system::error_code ignored;
    stream.lowest_layer().close(ignored);
  });
  const std::string name = ep.server_name.empty() ? ep.host : ep.server_name;
  SSL_set_tlsext_host_name(stream.native_handle(), name.c_str());
  if (!ep.skip_verify) stream.set_verify_callback(asio::ssl::host_name_verification(name));
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
  if (hec) co_return hec;
  co_return co_await body(stream);
}

}  // namespace cairn::agent::checks
