// Port 8300: one TCP listener shared by agent RPC and Raft.
//
// Each accepted connection's first byte says what it carries (Consul's
// pool.RPCType): 0x00 an RPC connection, served against an
// api::rpc::Handler; 0x01 a Raft connection, whose stream is handed over
// (the integrator passes TcpTransport::adopt_inbound); 0x04 (Consul's
// RPCTLS) a TLS connection: the TLS handshake follows (within
// handshake_timeout), then one of the bytes above inside TLS; anything else,
// or no byte within first_byte_timeout, closes the connection and is counted.
//
// TLS (options.tls, core/io/tls.h): 0x04 is accepted when a certificate is
// loaded. With verify_incoming the client must present a certificate signed
// by ca_file, and plaintext RPC and Raft are refused (closed, counted as
// plaintext_refused, logged at warn once per peer IP). Without it both TLS
// and plaintext are served (migrations), as Consul.
//
// An RPC connection carries frames of a 4-byte big-endian length and an
// api/rpc_codec.h payload. Requests are served concurrently: each goes to
// the Handler as soon as it is read, and its response is written when the
// Handler answers, in any order, matched by request id — a blocking query
// that waits ten minutes delays nothing behind it. Limits: the frame size
// (max_frame_bytes), the rest of a frame once its length arrived
// (frame_timeout), idleness — no frame starts while nothing is in flight
// (idle_timeout), each batch of responses written (write_timeout), requests
// in flight per connection (max_in_flight; one over it is answered at once
// with errc::unavailable). A frame with a bad length or a payload that does
// not decode closes the connection and counts as bad_frames.
//
// Thread-safety: every method may be called from any thread. The Handler is
// called from connection strands and must outlive the listener and every
// callback it holds.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/result.h"

namespace boost::asio {
class io_context;
}
namespace cairn::api::rpc {
class Handler;
}
namespace cairn::io {
class Stream;
class TlsConfig;
}

namespace cairn::server::rpc {

struct RpcListenerOptions {
  std::string listen = "0.0.0.0:8300";  // "ip:port"; port 0 picks a free one
  uint32_t max_frame_bytes = 64u << 20;
  Duration first_byte_timeout = std::chrono::seconds(10);
  Duration frame_timeout = std::chrono::seconds(10);
  // Longer than the client's idle close (api/io/rpc_client.h) so that a
  // client never writes into a connection the server is closing.
  Duration idle_timeout = std::chrono::seconds(120);
  Duration write_timeout = std::chrono::seconds(10);
  size_t max_in_flight = 1024;  // per connection
  std::shared_ptr<const io::TlsConfig> tls;  // null: plaintext only
  Duration handshake_timeout = std::chrono::seconds(5);  // from the 0x04 byte to the inner protocol byte
};

struct RpcListenerCounters {
  uint64_t accepted = 0;
  uint64_t rpc_connections = 0;
  uint64_t raft_connections = 0;
  uint64_t unknown_protocol = 0;    // an unknown first byte (or Raft with no taker): closed
  uint64_t no_protocol_byte = 0;    // closed, or silent for first_byte_timeout, before its first byte
  uint64_t bad_frames = 0;          // bad length or undecodable payload: connection closed
  uint64_t requests = 0;            // handed to the Handler
  uint64_t responses = 0;           // written
  uint64_t rejected_in_flight = 0;  // answered unavailable: max_in_flight reached
  uint64_t tls_connections = 0;     // handshakes that succeeded
  uint64_t tls_handshake_failures = 0;  // bad certificate, wrong CA, timeout, not TLS: closed
  uint64_t plaintext_refused = 0;   // plaintext RPC or Raft under verify_incoming: closed
};

class RpcListener {
 public:
  // Binds (so port() is known) but accepts nothing until start().
  static Result<std::unique_ptr<RpcListener>> create(boost::asio::io_context& io, RpcListenerOptions options);
  ~RpcListener();  // stop(0)

  // `raft` takes each Raft connection (its protocol byte already read; TLS
  // already set up when it came with 0x04); when empty, Raft connections
  // count as unknown_protocol.
  using RaftTaker = std::function<void(std::shared_ptr<io::Stream>)>;
  void start(api::rpc::Handler& handler, RaftTaker raft = {});
  uint16_t port() const;
  RpcListenerCounters counters() const;

  // Stops accepting and reading requests. Requests already in flight are
  // answered until `grace` passes; then every connection closes. Handler
  // callbacks arriving later are dropped.
  void stop(Duration grace = Duration(0));

 private:
  struct Impl;
  explicit RpcListener(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace cairn::server::rpc
