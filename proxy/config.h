// What one sidecar proxy does: its public (inbound) listener and the local
// service behind it, its upstream listeners, limits and the stats endpoint.
// Defaults live here, in one place; validate() names the field and the range.
//
// Next session the agent side fills this from the sidecar's registration
// (Proxy.LocalServiceAddress/Port, Upstreams[].DestinationName,
// LocalBindAddress/Port, Datacenter, Config); the JSON form below is what the
// test harness and the bench read.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "proxy/balancer.h"

namespace cairn::proxy {

struct UpstreamConfig {
  std::string destination_name;            // the service whose proxies we dial
  std::string datacenter;                  // "" : the peer's SPIFFE dc is not checked
  std::string local_bind_address = "127.0.0.1";
  uint16_t local_bind_port = 0;            // 0: an ephemeral port (tests)
  BalancePolicy policy = BalancePolicy::round_robin;
  Duration connect_timeout = std::chrono::seconds(5);  // TCP connect, per instance tried
  Duration idle_timeout = std::chrono::minutes(10);    // no byte either way -> closed
  int max_attempts = 3;                    // instances tried before giving up
};

struct ProxyConfig {
  std::string service = "proxy";           // the service this proxy fronts (logs, metric labels)
  // Inbound: the public mTLS listener and the service behind it. No inbound
  // listener when local_service_port is 0.
  std::string bind_address = "127.0.0.1";
  uint16_t bind_port = 0;
  std::string local_service_address = "127.0.0.1";
  uint16_t local_service_port = 0;
  Duration local_connect_timeout = std::chrono::seconds(5);
  // A caller's SPIFFE trust domain must equal this one ("" : not checked; the
  // roots already bound the callers to the mesh CA).
  std::string trust_domain;

  std::vector<UpstreamConfig> upstreams;

  // Limits. max_connections counts inbound and outbound client connections
  // together; over it, an accepted connection is closed at once (counted).
  int max_connections = 4096;
  Duration handshake_timeout = std::chrono::seconds(10);
  Duration idle_timeout = std::chrono::minutes(10);    // inbound connections
  // Handshake steps that may run at once (proxy/README.md "Handshake
  // turns"); 0: no limit.
  int handshake_turns = 0;

  // Stats: Prometheus text at GET /metrics (and /stats). Port 0 with
  // stats_enabled picks an ephemeral port.
  bool stats_enabled = false;
  std::string stats_bind_address = "127.0.0.1";
  uint16_t stats_bind_port = 0;

  Status validate() const;
};

// Parses the JSON form: every field above by its name (durations as Go
// strings "5s"), upstreams[].load_balancer for the policy. Unknown fields are
// errors naming the field.
Result<ProxyConfig> parse_config_json(std::string_view json);

}  // namespace cairn::proxy
