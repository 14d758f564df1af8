// io::Stream: a TCP connection that is plaintext or TLS, read and written
// through one type by the port-8300 code (server/rpc, raft/io's transport,
// api/io's RpcClient). It is an Asio AsyncReadStream/AsyncWriteStream, so
// asio::async_read/async_write work on it as on a socket.
//
// Batching: Asio's ssl::stream writes only the first buffer of a buffer
// sequence per TLS record, so a gather-write of many small frames would
// become one record and one syscall per frame. Stream coalesces the
// sequence into records of up to kTlsRecordBytes first, so a batch of Raft
// messages or RPC responses still leaves in as few records and writes as
// its size allows.
//
// Includes Asio and OpenSSL: for io/ .cc files only, never from a public
// header. Lifetime: held by std::shared_ptr (the TLS layer refers to the
// socket inside it, so a Stream never moves).
//
// Thread-safety: like an Asio socket: one read and one write may be
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
  static constexpr size_t kTlsRecordBytes = 16384;  // TLS's maximum plaintext per record (RFC 8446 §5.1)

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
    if (ssl_) return ssl_->async_write_some(coalesce(buffers), std::forward<Token>(token));
    return socket_.async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  // The first kTlsRecordBytes of `buffers` as one buffer: the first buffer
  // itself when it is that long (or the only one), else a copy in scratch_
  // (one write is outstanding at a time, so one scratch serves).
  template <typename ConstBuffers>
  boost::asio::const_buffer coalesce(const ConstBuffers& buffers) {
    auto it = boost::asio::buffer_sequence_begin(buffers);
    auto end = boost::asio::buffer_sequence_end(buffers);
    while (it != end && boost::asio::const_buffer(*it).size() == 0) ++it;
    if (it == end) return {};
    boost::asio::const_buffer first(*it);
    if (first.size() >= kTlsRecordBytes || std::next(it) == end) return first;
    scratch_.clear();
    for (; it != end && scratch_.size() < kTlsRecordBytes; ++it) {
      boost::asio::const_buffer b(*it);
      size_t n = std::min(b.size(), kTlsRecordBytes - scratch_.size());
      scratch_.append(static_cast<const char*>(b.data()), n);
    }
    return boost::asio::buffer(scratch_);
  }

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
