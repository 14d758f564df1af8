// The sidecar process's agent side: takes ALL of a proxy's configuration
// from the local agent's HTTP API and keeps it current with blocking
// queries, one watch loop per source, each on its own thread with the
// blocking api::HttpClient and Backoff (1 s doubling to 30 s) after errors:
//
//   registration  GET /v1/agent/service/<proxy-id>?hash=   -> listeners, upstreams, limits
//   leaf          GET /v1/agent/connect/ca/leaf/<svc>?index= -> Proxy::set_leaf
//   roots         GET /v1/agent/connect/ca/roots?index=    -> Proxy::set_trust_bundle, trust domain
//   intentions    GET /v1/connect/intentions/match?by=destination&name=<svc>&index=
//                 + POST /v1/agent/connect/authorize (the no-match decision)
//                                                          -> IntentionAuthorizer::set_index
//   per upstream  GET /v1/health/connect/<dest>?passing&index=[&dc=] -> Proxy::set_endpoints
//
// A registration change that proxy/ cannot apply live (listeners, upstream
// set, limits, the trust domain) replaces the Proxy object: the old one
// stops (its listeners and connections close), a new one starts with the
// current leaf, roots, intentions and endpoints. A bad new registration is
// logged with the field and the last good configuration stays.
//
// Thread-safety: start() and stop() from one thread; the watch threads
// touch the Proxy under the Sidecar's mutex (Proxy's own calls are
// thread-safe). Lifetime: watch threads hold the shared state; a thread
// parked in a long poll when stop() runs ends when that poll returns (it
// then does nothing); the process may exit before.
#pragma once

#include <memory>
#include <string>

#include "api/io/http_client.h"
#include "core/result.h"
#include "proxy/proxy.h"

namespace boost::asio {
class io_context;
}

namespace cairn::proxy::sidecar {

struct SidecarOptions {
  api::HttpAddress agent;
  std::string token;
  std::string proxy_id;  // the connect-proxy registration to run
  // ?wait= of the blocking queries (the agent caps it at 10 minutes).
  Duration wait = std::chrono::minutes(5);
};

class Sidecar {
 public:
  // Loads the registration, roots, leaf and intentions once (errors name
  // the field or the request), starts the Proxy, then the watch loops.
  static Result<std::unique_ptr<Sidecar>> start(boost::asio::io_context& io, SidecarOptions options);
  ~Sidecar();
  Sidecar(const Sidecar&) = delete;
  Sidecar& operator=(const Sidecar&) = delete;

  // Stops the watch loops and the Proxy (listeners and connections close).
  void stop();

  // The running Proxy's ports and counters (0 / zero after stop()).
  uint16_t inbound_port() const;
  uint16_t upstream_port(std::string_view name) const;
  ProxyStats stats() const;

  struct State;

 private:
  explicit Sidecar(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// GET /v1/agent/services and the one connect-proxy whose
// Proxy.DestinationServiceID is `service_id`; none or several -> an error
// saying so (the CLI's exit 1).
Result<std::string> find_sidecar_for(const api::HttpClient& client, const std::string& service_id);

}  // namespace cairn::proxy::sidecar
