#include "gossip/config.h"

#include <cmath>

#include "gossip/errc.h"

namespace cairn::gossip {

Config Config::lan() { return Config{}; }

// memberlist DefaultWANConfig: higher latency and loss tolerated.
Config Config::wan() {
  Config c;
  c.stream_timeout = 30s;
  c.suspicion_mult = 6;
  c.push_pull_interval = 60s;
  c.probe_timeout = 3s;
  c.probe_interval = 5s;
  c.stall_threshold = 4s;
  c.gossip_nodes = 4;
  c.gossip_interval = 500ms;
  c.gossip_to_the_dead_time = 60s;
  return c;
}

// memberlist DefaultLocalConfig: loopback or one rack.
Config Config::local() {
  Config c;
  c.stream_timeout = 1s;
  c.indirect_checks = 1;
  c.retransmit_mult = 2;
  c.suspicion_mult = 3;
  c.push_pull_interval = 15s;
  c.probe_timeout = 200ms;
  c.probe_interval = 1s;
  c.stall_threshold = 500ms;
  c.gossip_interval = 100ms;
  c.gossip_to_the_dead_time = 15s;
  return c;
}

namespace {

Status bad(const char* field, const char* range) {
  return gossip_error(errc::invalid_config, std::string(field) + " must be " + range);
}

}  // namespace

Status Config::validate() const {
  if (probe_interval < 10ms || probe_interval > 5min) return bad("probe_interval", "in [10ms, 5m]");
  if (probe_timeout < 1ms || probe_timeout >= probe_interval)
    return bad("probe_timeout", "in [1ms, probe_interval)");
  if (indirect_checks > 16) return bad("indirect_checks", "in [0, 16]");
  if (suspicion_mult < 1 || suspicion_mult > 100) return bad("suspicion_mult", "in [1, 100]");
  if (suspicion_max_timeout_mult < 1 || suspicion_max_timeout_mult > 100)
    return bad("suspicion_max_timeout_mult", "in [1, 100]");
  if (awareness_max_multiplier < 1 || awareness_max_multiplier > 64)
    return bad("awareness_max_multiplier", "in [1, 64]");
  if (stall_threshold < probe_timeout) return bad("stall_threshold", ">= probe_timeout");
  if (retransmit_mult < 1 || retransmit_mult > 100) return bad("retransmit_mult", "in [1, 100]");
  if (gossip_interval < 1ms || gossip_interval > 1min) return bad("gossip_interval", "in [1ms, 1m]");
  if (gossip_nodes < 1 || gossip_nodes > 64) return bad("gossip_nodes", "in [1, 64]");
  if (eager_relay_nodes > 64) return bad("eager_relay_nodes", "in [0, 64]");
  if (gossip_to_the_dead_time < Duration::zero())
    return bad("gossip_to_the_dead_time", ">= 0");
  if (udp_mtu < 512 || udp_mtu > 65000) return bad("udp_mtu", "in [512, 65000]");
  if (max_queued_broadcasts < 16 || max_queued_broadcasts > (1u << 20))
    return bad("max_queued_broadcasts", "in [16, 1048576]");
  if (push_pull_interval < Duration::zero()) return bad("push_pull_interval", ">= 0 (0 disables)");
  if (stream_timeout < 1ms) return bad("stream_timeout", ">= 1ms");
  if (reap_interval < 1ms) return bad("reap_interval", ">= 1ms");
  if (reconnect_interval < 1ms) return bad("reconnect_interval", ">= 1ms");
  if (reconnect_timeout < reap_interval) return bad("reconnect_timeout", ">= reap_interval");
  if (tombstone_timeout < reap_interval) return bad("tombstone_timeout", ">= reap_interval");
  if (max_tags_bytes > 4096) return bad("max_tags_bytes", "in [0, 4096]");
  if (event_buffer < 1 || event_buffer > 65536) return bad("event_buffer", "in [1, 65536]");
  if (query_buffer < 1 || query_buffer > 65536) return bad("query_buffer", "in [1, 65536]");
  // A user event or query must fit in one datagram next to its header.
  if (user_event_size_limit < 1 || user_event_size_limit + 64 > udp_mtu)
    return bad("user_event_size_limit", "in [1, udp_mtu - 64]");
  if (query_size_limit < 1 || query_size_limit + 64 > udp_mtu)
    return bad("query_size_limit", "in [1, udp_mtu - 64]");
  if (query_response_size_limit < 1 || query_response_size_limit + 64 > udp_mtu)
    return bad("query_response_size_limit", "in [1, udp_mtu - 64]");
  if (query_timeout_mult < 1 || query_timeout_mult > 1000) return bad("query_timeout_mult", "in [1, 1000]");
  if (max_stream_bytes < 64 * 1024 || max_stream_bytes > (256u << 20))
    return bad("max_stream_bytes", "in [64KiB, 256MiB]");
  if (max_name_bytes < 1 || max_name_bytes > 255) return bad("max_name_bytes", "in [1, 255]");
  return ok_status();
}

Duration push_pull_scale(Duration interval, std::size_t n) {
  constexpr std::size_t kScaleThreshold = 32;  // memberlist pushPullScaleThreshold
  if (n <= kScaleThreshold) return interval;
  double mult = std::ceil(std::log2(static_cast<double>(n)) - std::log2(double{kScaleThreshold})) + 1.0;
  return interval * static_cast<int64_t>(mult);
}

Duration default_query_timeout(const Config& c, std::size_t n) {
  double scale = std::ceil(std::log10(static_cast<double>(n) + 1.0));
  if (scale < 1) scale = 1;
  return c.gossip_interval * static_cast<int64_t>(c.query_timeout_mult) * static_cast<int64_t>(scale);
}

}  // namespace cairn::gossip
