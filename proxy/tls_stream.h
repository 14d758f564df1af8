// Internal to proxy/*.cc (includes Asio and OpenSSL): one leg of a proxied
// connection, plaintext or TLS.
//
// TLS: OpenSSL reads records straight from the socket (its read BIO is the
// socket: no copy of received ciphertext, and with read-ahead one recv takes
// many records), and writes ciphertext into a buffer of ours that
// asio::async_write sends. Readiness to read is waited for with a 1-byte
// MSG_PEEK receive: Asio performs it under its descriptor lock, so a wakeup
// cannot be lost between an EAGAIN and the wait (a bare async_wait on
// Asio's edge-triggered epoll can lose one when several threads run the
// io_context). The leg can send close_notify alone (a TLS half-close) while
// its read side goes on.
//
// Memory: a leg holds no read buffer while it waits (the caller takes one
// from a per-thread pool only when data is there); OpenSSL's record buffers
// are released when empty (SSL_MODE_RELEASE_BUFFERS).
//
// Thread-safety: a Leg belongs to one connection strand; one reader and one
// writer may use it at once (the SSL object is only touched between
// suspension points, on that strand; flushes of our ciphertext buffer are
// serialised by flushing_).
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

class Leg {
 public:
  using tcp = boost::asio::ip::tcp;
  using error_code = boost::system::error_code;

  explicit Leg(tcp::socket socket);
  ~Leg();
  Leg(const Leg&) = delete;
  Leg& operator=(const Leg&) = delete;

  tcp::socket& socket() { return socket_; }
  bool is_tls() const { return ssl_ != nullptr; }

  // Wraps the connected socket in TLS (server or client side of `ctx`).
  bool start_tls(const std::shared_ptr<const TlsContexts>& ctx, bool server);
  // Runs the handshake; the caller's deadline closes the socket to end it.
  // On failure `why` says what OpenSSL said (e.g. "certificate has expired").
  boost::asio::awaitable<bool> handshake(std::string& why);
  // The peer certificate's spiffe:// URI SAN ("" when none).
  std::string peer_spiffe_uri();

  // Completes when a read would find data or EOF (or fails).
  boost::asio::awaitable<error_code> wait_readable();
  // Reads what is there now, up to `size`: {would_block, 0} when nothing,
  // {eof, 0} at the end (a FIN or close_notify).
  boost::asio::awaitable<std::tuple<error_code, size_t>> read_available(char* data, size_t size);
  boost::asio::awaitable<error_code> write_all(const char* data, size_t size);
  // Half-close: close_notify (TLS), then a FIN.
  boost::asio::awaitable<void> shutdown_send();
  void close() {
    error_code ec;
    socket_.close(ec);
  }

 private:
  // Sends the ciphertext OpenSSL has written into out_.
  boost::asio::awaitable<error_code> flush();

  tcp::socket socket_;
  SSL* ssl_ = nullptr;
  std::shared_ptr<const TlsContexts> ctx_;  // keeps the SSL_CTX alive as long as the SSL
  std::string out_, sending_;               // ciphertext: being filled, being written
  bool flushing_ = false;
  boost::asio::steady_timer flushed_;       // wakes a flush() waiting for another to end
  char peek_ = 0;
};

// A read buffer from a per-thread pool, held only while data moves.
class PooledBuffer {
 public:
  static constexpr size_t kBytes = 64 * 1024;
  PooledBuffer();
  ~PooledBuffer();
  PooledBuffer(const PooledBuffer&) = delete;
  PooledBuffer& operator=(const PooledBuffer&) = delete;
  char* data() { return data_; }

 private:
  char* data_;
};

}  // namespace cairn::proxy
