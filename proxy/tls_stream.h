// Internal to proxy/*.cc (includes Asio and OpenSSL): one leg of a proxied
// connection, plaintext or TLS.
//
// TLS runs OpenSSL directly on the non-blocking socket (SSL_set_fd), the way
// haproxy does, rather than through Asio's ssl::stream: no BIO pair, so no
// extra copy of every ciphertext byte and no 2 x 17 KiB engine buffers per
// connection; readiness comes from socket.async_wait. It also lets a leg
// send close_notify alone (a TLS half-close) while its read side goes on.
//
// Thread-safety: a Leg belongs to one connection strand; one read and one
// write may be outstanding at once (the SSL object is only touched between
// suspension points, on that strand).
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>
#include <tuple>

#include "core/io/pch.h"
#include "proxy/tls.h"

namespace cairn::proxy {

struct TlsContexts::Impl {
  SSL_CTX* server = nullptr;
  SSL_CTX* client = nullptr;
  SpiffeId identity;
  ~Impl() {
    if (server) SSL_CTX_free(server);
    if (client) SSL_CTX_free(client);
  }
};

// Errors of a leg that are not OS errors.
enum class LegError { tls = 1, closed };

class Leg {
 public:
  using tcp = boost::asio::ip::tcp;
  using error_code = boost::system::error_code;

  explicit Leg(tcp::socket socket) : socket_(std::move(socket)) {}
  ~Leg() {
    if (ssl_) SSL_free(ssl_);
  }
  Leg(const Leg&) = delete;
  Leg& operator=(const Leg&) = delete;

  tcp::socket& socket() { return socket_; }
  bool is_tls() const { return ssl_ != nullptr; }
  SSL* ssl() { return ssl_; }

  // Wraps the connected socket in TLS (server or client side of `ctx`).
  bool start_tls(const std::shared_ptr<const TlsContexts>& ctx, bool server);
  // Runs the handshake; the caller's deadline closes the socket to end it.
  // On failure `why` says what OpenSSL said (e.g. "certificate verify failed").
  boost::asio::awaitable<bool> handshake(std::string& why);
  // The peer certificate's spiffe:// URI SAN ("" when none).
  std::string peer_spiffe_uri();

  // {error, bytes}; EOF is boost::asio::error::eof (TLS: close_notify or a
  // plain FIN).
  boost::asio::awaitable<std::tuple<error_code, size_t>> read_some(char* data, size_t size);
  boost::asio::awaitable<error_code> write_all(const char* data, size_t size);
  // Half-close: a FIN (plaintext) or close_notify (TLS; then a FIN).
  void shutdown_send();
  void close() {
    error_code ec;
    socket_.close(ec);
  }

 private:
  boost::asio::awaitable<error_code> wait(int ssl_error);

  tcp::socket socket_;
  SSL* ssl_ = nullptr;
  std::shared_ptr<const TlsContexts> ctx_;  // keeps the SSL_CTX alive as long as the SSL
};

}  // namespace cairn::proxy
