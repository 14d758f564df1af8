// io::Stream: a TCP connection that is plaintext or TLS, read and written
// through one type by the port-8300 code (server/rpc, raft/io's transport,
// api/io's RpcClient). It is an Asio AsyncReadStream/AsyncWriteStream, so
// asio::async_read/async_write work on it as on a socket.
//
// Batching: gather-writes go through write_all(), which over TLS copies
// small frames together before encrypting, so a batch of Raft messages or
// RPC responses leaves in full 16 KiB records (and as few syscalls), not a
// few frames per record as asio::async_write on an ssl::stream would.
//
// Includes Asio and OpenSSL: for io/ .cc files only, never from a public
// header. Lifetime: held by std::shared_ptr (the TLS layer refers to the
// socket inside it, so a Stream never moves).
//
// Thread-safety: like an Asio socket: one read and one write (or write_all) may be
// outstanding at a time, both on the stream's strand (the socket's executor
// is one).
#pragma once

#include <boost/asio/ssl.hpp>

#include <optional>

#include "core/clock.h"
#include "core/io/pch.h"
#include "core/io/tls.h"

namespace cairn::io {

class Stream {
 public:
  using tcp = boost::asio::ip::tcp;
  using executor_type = tcp::socket::executor_type;
  enum class Role { client, server };

  explicit Stream(tcp::socket socket) : socket_(std::move(socket)) {}
  explicit Stream(const executor_type& ex) : socket_(ex) {}
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  tcp::socket& socket() { return socket_; }
  bool is_open() const { return socket_.is_open(); }
  void close(boost::system::error_code& ec) { socket_.close(ec); }
  bool is_tls() const { return ssl_.has_value(); }

  // Wraps the connected socket in TLS with `config`'s context for `role`
  // (a client also sets SNI and, with verify_server_hostname, the names the
  // server's certificate must carry). The handshake follows.
  void start_tls(std::shared_ptr<const TlsConfig> config, Role role);
  // The TLS handshake; the caller's deadline closes the socket to end it.
  boost::asio::awaitable<boost::system::error_code> handshake();
  // Why the peer's certificate was refused, when it was ("" otherwise).
  std::string verify_error();

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    if (ssl_) return ssl_->async_read_some(buffers, std::forward<Token>(token));
    return socket_.async_read_some(buffers, std::forward<Token>(token));
  }

  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    if (ssl_) return ssl_->async_write_some(buffers, std::forward<Token>(token));
    return socket_.async_write_some(buffers, std::forward<Token>(token));
  }

  // Writes all of `buffers` (a gather-write); {error, bytes written}.
  // Plaintext: one asio::async_write. TLS: small buffers are first copied
  // together (up to kCoalesceBytes at a time; a buffer of kDirectBytes or
  // more goes as it is), so that a batch of small frames leaves in full
  // 16 KiB records. Asio's ssl::stream, handed the sequence, takes a few
  // buffers per record (at most 64 per write_some, linearised into 8 KiB),
  // i.e. many small records and as many syscalls. One write_all at a time.
  template <typename ConstBuffers>
  boost::asio::awaitable<std::tuple<boost::system::error_code, size_t>> write_all(const ConstBuffers& buffers) {
    constexpr auto kTuple = boost::asio::as_tuple(boost::asio::use_awaitable);
    if (!ssl_) co_return co_await boost::asio::async_write(socket_, buffers, kTuple);
    size_t written = 0;
    auto flush = [&]() -> boost::asio::awaitable<boost::system::error_code> {
      if (scratch_.empty()) co_return boost::system::error_code();
      auto [ec, n] = co_await boost::asio::async_write(*ssl_, boost::asio::buffer(scratch_), kTuple);
      written += n;
      scratch_.clear();
      co_return ec;
    };
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::const_buffer b(*it);
      if (b.size() >= kDirectBytes) {
        if (auto ec = co_await flush()) co_return std::tuple{ec, written};
        auto [ec, n] = co_await boost::asio::async_write(*ssl_, b, kTuple);
        written += n;
        if (ec) co_return std::tuple{ec, written};
        continue;
      }
      scratch_.append(static_cast<const char*>(b.data()), b.size());
      if (scratch_.size() >= kCoalesceBytes) {
        if (auto ec = co_await flush()) co_return std::tuple{ec, written};
      }
    }
    auto ec = co_await flush();
    co_return std::tuple{ec, written};
  }

 private:
  static constexpr size_t kCoalesceBytes = 256 * 1024;
  static constexpr size_t kDirectBytes = 64 * 1024;

  tcp::socket socket_;
  std::shared_ptr<const TlsConfig> config_;  // keeps the SSL context alive
  std::optional<boost::asio::ssl::stream<tcp::socket&>> ssl_;
  std::string scratch_;
};

// Arms `timer` to close `stream` after `d`; re-arming or cancelling the
// timer disarms the previous deadline (its handler sees operation_aborted).
inline void arm(boost::asio::steady_timer& timer, const std::shared_ptr<Stream>& stream, Duration d) {
  timer.expires_after(d);
  timer.async_wait([stream](boost::system::error_code ec) {
    if (!ec) stream->close(ec);
  });
}

}  // namespace cairn::io
