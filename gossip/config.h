// Gossip configuration: every knob with its documented default in one place,
// named presets like hashicorp/memberlist's config.go (DefaultLANConfig,
// DefaultWANConfig, DefaultLocalConfig) plus the serf-level knobs (reconnect,
// tombstones, events, queries), and validate() that names the field and its
// allowed range.
//
// Thread-safety: a plain value type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/clock.h"
#include "core/result.h"

namespace cairn::gossip {

using namespace std::chrono_literals;

struct Config {
  // --- SWIM failure detector (Das et al. 2002, §3-4) ---
  // Time between probe rounds' probes; each probe checks one member.
  Duration probe_interval = 1s;
  // How long to wait for a direct ack before asking k members to ping
  // indirectly (§3.1). Must be below probe_interval.
  Duration probe_timeout = 500ms;
  // k: members asked to ping-req a member that missed its direct ack (§3.1).
  uint32_t indirect_checks = 3;
  // Also send a ping over the stream transport (TCP) when the direct ack is
  // missing, as memberlist does: catches UDP-only breakage. When off, the
  // last-chance check of an expiring suspicion goes by datagram too.
  bool stream_fallback_probe = true;

  // --- Suspicion (SWIM §4.2, Lifeguard §IV-B) ---
  // Minimum suspicion timeout = suspicion_mult · max(1, log10(n)) · probe_interval.
  uint32_t suspicion_mult = 4;
  // The timeout starts at suspicion_max_timeout_mult times the minimum and
  // shrinks towards the minimum as independent confirmations arrive.
  uint32_t suspicion_max_timeout_mult = 6;

  // --- Local health (Lifeguard §IV-A) ---
  // Timeouts are scaled by (score + 1), with score in [0, awareness_max_multiplier).
  uint32_t awareness_max_multiplier = 8;
  // A gap between two ticks longer than this means we were stalled (CPU
  // starvation, GC, a paused VM): the in-flight probe is abandoned instead of
  // accusing its target, and our own health score worsens.
  Duration stall_threshold = 750ms;

  // --- Dissemination (SWIM §4.1) ---
  // Each broadcast is sent retransmit_mult · ceil(log10(n + 1)) times.
  uint32_t retransmit_mult = 4;
  Duration gossip_interval = 200ms;
  uint32_t gossip_nodes = 3;
  // News that a member left or failed is also pushed at once, in a packet of
  // its own, to this many random members by every member that learns it
  // first (0: off; only the gossip rounds carry it). See eager_relay() in
  // state.cc.
  uint32_t eager_relay_nodes = 3;
  // Keep gossiping to dead members this long so they learn they were declared
  // dead and can refute.
  Duration gossip_to_the_dead_time = 30s;
  // Largest datagram we build (compound packets are packed up to this).
  uint32_t udp_mtu = 1400;
  // Most broadcasts queued at once; past it the most-transmitted are dropped
  // (see broadcast_queue.h). Only a mass join comes near it.
  uint32_t max_queued_broadcasts = 1024;

  // --- Anti-entropy ---
  // Base push-pull interval; scaled up with cluster size (push_pull_scale).
  // Zero disables periodic push-pull (joins still use it).
  Duration push_pull_interval = 30s;
  // How long a stream exchange (push-pull, stream probe) may take before the
  // shell gives up; the core uses it only for its own bookkeeping.
  Duration stream_timeout = 10s;

  // --- Serf-level membership ---
  Duration reap_interval = 15s;
  // Failed members are retried (push-pull) every reconnect_interval and
  // forgotten after reconnect_timeout.
  Duration reconnect_interval = 30s;
  Duration reconnect_timeout = 24h;
  // Left members are forgotten after tombstone_timeout.
  Duration tombstone_timeout = 24h;

  // --- Tags (member metadata) ---
  uint32_t max_tags_bytes = 512;  // memberlist MetaMaxSize

  // --- User events and queries (serf) ---
  uint32_t event_buffer = 512;           // Lamport times remembered for de-duplication
  uint32_t query_buffer = 512;
  uint32_t user_event_size_limit = 512;  // name + payload bytes
  uint32_t query_size_limit = 1024;
  uint32_t query_response_size_limit = 1024;
  // Default query timeout = gossip_interval · query_timeout_mult · ceil(log10(n + 1)).
  uint32_t query_timeout_mult = 16;

  // --- Wire limits ---
  uint32_t max_stream_bytes = 16u << 20;  // a push-pull with ~100k members
  uint32_t max_name_bytes = 128;

  // Named presets (memberlist config.go values).
  static Config lan();
  static Config wan();
  static Config local();

  // OK, or errc::invalid_config naming the first bad field and its range.
  Status validate() const;
};

// memberlist pushPullScale: the interval grows with log2 of the cluster size
// above 32 members so that push-pull traffic stays roughly constant.
Duration push_pull_scale(Duration interval, std::size_t n);

// serf DefaultQueryTimeout.
Duration default_query_timeout(const Config& c, std::size_t n);

}  // namespace cairn::gossip
