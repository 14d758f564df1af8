// RpcClient: api::rpc::Handler over TCP to Cairn servers on port 8300 — what
// a client agent hands its HTTP handlers, and what a follower uses to forward
// writes to the leader (RpcClient::to).
//
// Servers come from a provider called on every call ("ip:port" RPC
// addresses; the agent fills it from gossip). The client sticks to the
// server that last worked and moves to the next one in the list when a
// connection to it fails. Per server it keeps one connection, opened on
// demand (protocol byte 0x00 first, then length-prefixed api/rpc_codec.h
// frames), with any number of requests in flight matched by request id.
//
// Failover: a call whose connection fails before its request was written
// goes to another server (each server is tried once per call). After the
// request was written, a broken connection retries a query on another
// server, but fails a write with errc::unavailable "rpc error: ..." — the
// write may have been applied. No servers known: errc::unavailable
// "No known Consul servers" (Consul's text).
//
// Deadlines: a blocking query (min_index > 0) gets max_wait + max_wait/16 +
// 5 s (a max_wait of 0 counts as the server's 10 minute cap); any other call
// call_timeout; then errc::timeout "rpc error: timeout". A connection idle
// for idle_close is closed by the client, before the server's idle timeout.
//
// Thread-safety: query()/write() from any thread; callbacks run on the
// client's strand and must not block. The server-list provider is called on
// that strand too, so it must be safe to call from an io_context thread. The io_context must outlive the client
// and be running. Destroying the client fails calls in flight with
// errc::cancelled.
//
// TLS: with options.tls whose dial_tls() holds (verify_outgoing), each
// connection sends io::kProtocolTls (0x04), does the TLS handshake within
// connect_timeout (checking the server's certificate, and its name with
// verify_server_hostname; see core/io/tls.h), then the protocol byte and
// frames inside TLS. A failed handshake counts as a failed connect: the call
// moves to another server.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/rpc.h"
#include "core/clock.h"

namespace boost::asio {
class io_context;
}

namespace cairn::io {
class TlsConfig;
}

namespace cairn::api {

struct RpcClientOptions {
  Duration call_timeout = std::chrono::seconds(30);  // non-blocking calls
  Duration connect_timeout = std::chrono::seconds(5);
  Duration write_timeout = std::chrono::seconds(10);  // one batch of requests
  Duration frame_timeout = std::chrono::seconds(10);  // the rest of a response once its length arrived
  Duration idle_close = std::chrono::seconds(60);     // below the server's idle_timeout (120 s)
  uint32_t max_frame_bytes = 64u << 20;
  std::shared_ptr<const io::TlsConfig> tls;  // null: plaintext
  // Connections leave from this address when it is a specific one (the
  // agent's bind address; core/io/source_addr.h). Empty: the kernel picks.
  std::string source_ip;
};

struct RpcClientCounters {
  uint64_t calls = 0;
  uint64_t connects = 0;
  uint64_t connect_failures = 0;   // including failed TLS handshakes
  uint64_t tls_handshake_failures = 0;
  uint64_t failovers = 0;   // a call moved to another server
  uint64_t timeouts = 0;
  uint64_t bad_frames = 0;  // responses that did not decode: connection closed
};

class RpcClient final : public rpc::Handler {
 public:
  using ServerList = std::function<std::vector<std::string>()>;

  RpcClient(boost::asio::io_context& io, ServerList servers, RpcClientOptions options = {});
  ~RpcClient() override;

  // A client bound to one server ("ip:port"), e.g. the leader for forwarding.
  static std::unique_ptr<RpcClient> to(boost::asio::io_context& io, std::string address,
                                       RpcClientOptions options = {});

  void query(rpc::QueryOptions options, rpc::Query query, rpc::QueryCallback done) override;
  void write(rpc::WriteOptions options, rpc::Write write, rpc::WriteCallback done) override;

  RpcClientCounters counters() const;
  // How long a query may take before it fails with errc::timeout (see above).
  static Duration deadline_for(const rpc::QueryOptions& options, Duration call_timeout);
  // Closes every connection and fails calls in flight with errc::cancelled.
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace cairn::api
