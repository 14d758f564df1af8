// Internal to proxy/*.cc (includes Asio and OpenSSL): one leg of a proxied
// connection, plaintext or TLS.
//
// Reading: a leg waits with asio::async_read_some into its own 4 KiB buffer
// (Asio performs it under its descriptor lock, so no wakeup is lost between
// an EAGAIN and the wait, which a bare async_wait on Asio's edge-triggered
// epoll can lose when several threads run the io_context), so a small
// message costs one recv. When that buffer fills (a burst), the leg reads
// on without waiting, non-blocking, until EAGAIN: over TLS straight into
// OpenSSL's read-ahead buffer (no copy), in plaintext into the caller's
// pooled 64 KiB buffer.
//
// Writing: one non-blocking send first; only what the socket did not take
// goes through asio::async_write (so a small message costs one send and no
// reactor round). TLS: OpenSSL writes ciphertext into a buffer of ours that
// is sent that way. The leg can send close_notify alone (a TLS
// half-close) while its read side goes on.
//
// Memory: 4 KiB per leg while waiting; bigger buffers (the caller's, from a
// per-thread pool; OpenSSL's, with SSL_MODE_RELEASE_BUFFERS) only while data
// moves.
//
// Thread-safety: a Leg belongs to one connection strand; one reader and one
// writer may use it at once (the SSL object is only touched between
// suspension points, on that strand; flushes of our ciphertext buffer are
// serialised by flushing_).
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>

#include "core/io/pch.h"
#include "proxy/tls.h"

namespace cairn::proxy {

struct TlsContexts::Impl {
  SSL_CTX* server = nullptr;
  SSL_CTX* client = nullptr;
  SpiffeId identity;
  // Client sessions for resumption, by upstream instance ("addr:port"). They
  // live and die with these contexts: a new leaf or bundle starts empty, and
  // the new server context's ticket keys refuse the old tickets.
  std::mutex sessions_mu;
  std::unordered_map<std::string, SSL_SESSION*> sessions;
  ~Impl() {
    for (auto& [k, s] : sessions) SSL_SESSION_free(s);
    if (server) SSL_CTX_free(server);
    if (client) SSL_CTX_free(client);
  }
};

// Handshake steps (the SSL_do_handshake calls, where a handshake spends its
// CPU) take turns: acquire() waits for one (false: the connection closed
// meanwhile), release() passes it on. proxy.cc implements it.
class HandshakeTurns {
 public:
  virtual ~HandshakeTurns() = default;
  virtual boost::asio::awaitable<bool> acquire() = 0;
  virtual void release() = 0;
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

  // Wraps the connected socket in TLS (server or client side of `ctx`). A
  // client with a session_key resumes the session it last had under that
  // key (with these contexts), and keeps the new one.
  bool start_tls(const std::shared_ptr<const TlsContexts>& ctx, bool server, const std::string& session_key = {});
  bool resumed() const { return ssl_ && SSL_session_reused(ssl_) == 1; }
  // Runs the handshake; the caller's deadline closes the socket to end it.
  // On failure `why` says what OpenSSL said (e.g. "certificate has expired").
  // Each SSL_do_handshake call holds one of `turns` (when given).
  boost::asio::awaitable<bool> handshake(std::string& why, HandshakeTurns* turns = nullptr);
  // The peer certificate's spiffe:// URI SAN ("" when none).
  std::string peer_spiffe_uri();

  // Waits until there is something to read (or the end): one
  // asio::async_read_some into the leg's 4 KiB buffer.
  boost::asio::awaitable<error_code> fill();
  // Reads what is there now, up to `size`: {would_block, 0} when nothing,
  // {eof, 0} at the end (a FIN or close_notify). After a fill that filled
  // the small buffer (a burst), it goes on reading the socket directly
  // (non-blocking) until it would block.
  boost::asio::awaitable<std::tuple<error_code, size_t>> read_available(char* data, size_t size);
  boost::asio::awaitable<error_code> write_all(const char* data, size_t size);
  // Frees the ciphertext buffers' memory when nothing is waiting in them
  // (a direction going idle calls it for the leg it writes to).
  // Small ones (a request's or a response's records) are kept: freeing and
  // growing them again cost a malloc per message.
  void release_idle_memory() {
    constexpr size_t kKeep = 1024;
    if (flushing_ || !out_.empty()) return;
    if (out_.capacity() > kKeep) std::string().swap(out_);
    if (sending_.capacity() > kKeep) std::string().swap(sending_);
  }
  // Half-close: close_notify (TLS), then a FIN.
  boost::asio::awaitable<void> shutdown_send();
  void close() {
    error_code ec;
    socket_.close(ec);
  }

 private:
  // Sends the ciphertext OpenSSL has written into out_: at once when the
  // socket takes it all, else through asio::async_write.
  boost::asio::awaitable<error_code> flush();
  // One non-blocking send; would_block is not an error (returns 0).
  size_t send_now(const char* data, size_t size, error_code& ec);

  tcp::socket socket_;
  SSL* ssl_ = nullptr;
  std::shared_ptr<const TlsContexts> ctx_;  // keeps the SSL_CTX alive as long as the SSL
  std::string out_, sending_;               // ciphertext: being filled, being written
  bool flushing_ = false;
  boost::asio::steady_timer flushed_;       // wakes a flush() waiting for another to end
  // Received bytes not yet consumed (plaintext: by read_available; TLS: by
  // OpenSSL through the read BIO, which copies small reads from here and
  // receives bursts straight into OpenSSL's own buffer).
  char small_[4096];
  size_t in_pos_ = 0, in_len_ = 0;
  bool more_ = false;  // the last receive filled its buffer: more may be there
  bool eof_ = false;

 public:  // the read BIO's callbacks (tls.cc)
  static int bio_read(BIO* b, char* out, size_t len, size_t* got);
  static long bio_ctrl(BIO* b, int cmd, long num, void* ptr);
  std::string session_key_;
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
