// The sidecar proxy's data plane: one public mTLS listener in front of the
// local service (inbound) and one plaintext listener per upstream
// (outbound), in layers:
//
//   inbound:  accept -> TLS 1.3 + client certificate from the mesh roots ->
//             SPIFFE ID of the caller -> Authorizer -> forward to the local
//             service
//   outbound: accept on 127.0.0.1:<LocalBindPort> -> pick an instance
//             (Balancer over the EndpointSource's healthy instances) ->
//             connect (timeout; another instance on failure) -> mTLS with
//             our leaf -> the peer's SPIFFE ID must be the destination's ->
//             forward
//
// Forwarding is L4 (bytes both ways, half-close kept). "route" is the seam
// where L7 (HTTP routing, retries) slots in later: Proxy::Impl::route_*.
//
// Runtime: every connection runs as two coroutines (one per direction) on
// one strand of the caller's io_context; no thread per connection. Every
// connection has a handshake deadline and an idle deadline; connects have
// a timeout. Read buffers (64 KiB) come from a per-thread pool only while
// data moves, so an idle connection holds none.
//
// Sources (how the agent side plugs in next session):
//   certificates  set_leaf() / set_trust_bundle(): new handshakes use the new
//                 ones at once; established connections are untouched.
//   endpoints     set_endpoints(upstream, instances): the EndpointSource's
//                 push (a blocking query on /v1/health/connect/<svc>?passing).
//   authorization the Authorizer given to the constructor; its
//                 notify_changed() re-checks every established inbound
//                 connection immediately (posted to each connection's strand)
//                 and closes the ones now denied.
//
// Stats: counters kept in atomics, folded into core/io/metrics' registry
// (labels service, direction) and served as Prometheus text at GET /metrics
// when the config enables the stats listener.
//
// Thread-safety: every public function may be called from any thread.
// Lifetime: stop() (or the destructor) closes listeners and connections;
// the io_context must outlive the Proxy's connections (run it until they end).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "proxy/authorizer.h"
#include "proxy/config.h"
#include "proxy/tls.h"

namespace boost::asio {
class io_context;
}

namespace cairn::proxy {

// One instance of an upstream's destination: the address of its sidecar's
// public listener.
struct Endpoint {
  std::string address;
  uint16_t port = 0;
  bool healthy = true;  // unhealthy instances are skipped
  bool operator==(const Endpoint&) const = default;
};

// Counter values (tests; /metrics shows the same numbers).
struct DirectionStats {
  uint64_t connections = 0;          // accepted and handled (not rejected at the limit)
  uint64_t active = 0;               // open now
  uint64_t bytes_in = 0;             // from the connection's client (downstream)
  uint64_t bytes_out = 0;            // to the connection's client
  uint64_t handshake_failures = 0;
  uint64_t authz_denials = 0;        // inbound only
  uint64_t connect_failures = 0;     // outbound: to instances; inbound: to the local service
  uint64_t identity_mismatches = 0;  // outbound: peer is not the destination service
  uint64_t rejected = 0;             // over max_connections
  uint64_t resumed = 0;              // TLS handshakes that resumed a session
};
struct ProxyStats {
  DirectionStats inbound, outbound;
};

class Proxy {
 public:
  Proxy(boost::asio::io_context& io, ProxyConfig config, std::shared_ptr<Authorizer> authorizer);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  Status set_leaf(const LeafCertificate& leaf);
  Status set_trust_bundle(const TrustBundle& bundle);
  // Replaces an upstream's instances (unknown upstream: not_found). Open
  // connections to removed instances stay open.
  Status set_endpoints(std::string_view upstream, std::vector<Endpoint> endpoints);

  // Binds every listener and starts accepting. Needs a leaf and a bundle.
  Status start();
  // Closes the listeners and every connection.
  void stop();

  uint16_t inbound_port() const;                       // 0 without inbound
  uint16_t upstream_port(std::string_view name) const; // 0 when unknown
  uint16_t stats_port() const;                         // 0 when disabled
  ProxyStats stats() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace cairn::proxy
