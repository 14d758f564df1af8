// Membership: the pure SWIM + Lifeguard membership core (hashicorp/memberlist
// with serf's member states, user events, queries and Vivaldi coordinates).
//
// Inputs: tick(now) and receive(now, from, transport, bytes), plus the
// commands join/leave/set_tags/user_event/query/respond. Outputs queue in a
// Ready (packets to send, member events, user events, queries and their
// responses) that the caller drains with take_ready(), like etcd raft's
// Ready. Nothing here reads a clock, sleeps or touches a socket; all
// randomness comes from the Rng given at creation, so a simulation replays
// exactly from its seed.
//
// The shell (gossip/io) sends Transport::datagram packets over UDP and
// Transport::stream packets over TCP (one framed message per connection is
// enough: replies are separate stream packets addressed back to the sender's
// advertised address). It must call tick() often — at least every
// probe_timeout / 4 — since a gap longer than Config::stall_threshold is
// treated as our own stall (Lifeguard §IV-A).
//
// Thread-safety: none; one owner (a strand) drives it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/rng.h"
#include "gossip/broadcast_queue.h"
#include "gossip/config.h"
#include "gossip/events.h"
#include "gossip/member_list.h"
#include "gossip/messages.h"
#include "gossip/suspicion.h"
#include "gossip/vivaldi.h"

namespace cairn::gossip {

enum class Transport : uint8_t { datagram, stream };

struct Packet {
  std::string to;  // the peer's advertised address, opaque to the core
  Transport transport = Transport::datagram;
  std::string bytes;
};

struct MemberInfo {
  std::string name;
  std::string addr;
  Tags tags;
  MemberState state = MemberState::alive;
  uint32_t incarnation = 0;
};

// Serf's member events. Suspicion is internal and not reported.
struct MemberEvent {
  enum class Kind : uint8_t { join, update, leave, failed, reap };
  Kind kind;
  MemberInfo member;
};

struct UserEvent {
  uint64_t ltime = 0;
  std::string name;
  std::string payload;
};

// A query that matched our filters; answer it with respond(key, …).
struct QueryRequest {
  QueryKey key;
  std::string name;
  std::string payload;
  Instant deadline;
};

// At the origin: one ack or response per responder.
struct QueryResponse {
  uint32_t id = 0;
  std::string from;
  bool is_ack = false;
  std::string payload;
};

struct Ready {
  std::vector<Packet> packets;
  std::vector<MemberEvent> members;
  std::vector<UserEvent> user_events;
  std::vector<QueryRequest> queries;
  std::vector<QueryResponse> responses;
  std::vector<uint32_t> finished_queries;  // ids whose deadline passed
  bool empty() const {
    return packets.empty() && members.empty() && user_events.empty() && queries.empty() &&
           responses.empty() && finished_queries.empty();
  }
};

struct QueryParams {
  std::vector<std::string> filter_nodes;
  std::vector<std::pair<std::string, std::string>> filter_tags;  // tag -> glob
  bool request_ack = false;
  Duration timeout{0};       // zero: default_query_timeout()
  uint8_t relay_factor = 0;  // extra copies of each response via random members (at most 5)
};

struct LocalNode {
  std::string name;
  std::string addr;
  Tags tags;
};

struct Stats {
  uint64_t packets_sent = 0, bytes_sent = 0;
  uint64_t packets_received = 0, bytes_received = 0;
  uint64_t decode_errors = 0;
  uint64_t probes = 0, probe_failures = 0, indirect_probes = 0;
  uint64_t suspicions = 0, refutations = 0, stalls = 0;
  uint64_t nacks_received = 0;
  uint64_t eager_relays = 0;  // leave/failure news pushed at once (state.cc eager_relay)
};

class Membership {
 public:
  // Validates the config and our tags.
  static Result<Membership> create(Config config, LocalNode self, std::unique_ptr<Rng> rng, Instant now);

  Membership(Membership&&) noexcept = default;
  Membership& operator=(Membership&&) noexcept = default;

  void tick(Instant now);
  // Untrusted bytes from `from` (a transport address). A packet that does not
  // decode is dropped whole, counted in stats().decode_errors and returned.
  Status receive(Instant now, std::string_view from, Transport transport, std::string_view bytes);

  // Push-pull with each address (memberlist Join). ignore_old_events: events
  // older than the first reply's Lamport time are not delivered (serf).
  void join(Instant now, const std::vector<std::string>& addrs, bool ignore_old_events = false);
  // Graceful leave: broadcasts that we left (others show "left", not
  // "failed"). Keep ticking until leave_propagated().
  void leave(Instant now);
  bool leave_propagated() const;
  // Consul's force-leave: declare another member left on its behalf (for a
  // failed member that will not come back). A member that is in fact alive
  // refutes and rejoins. errc::not_member for an unknown name,
  // errc::invalid_config for ourselves (use leave()).
  Status force_leave(Instant now, std::string_view name);

  // New tags; bumps our incarnation so the change wins everywhere.
  Status set_tags(Instant now, Tags tags);
  Status user_event(Instant now, std::string name, std::string payload);
  Result<uint32_t> query(Instant now, std::string name, std::string payload, QueryParams params = {});
  Status respond(Instant now, const QueryKey& key, std::string payload);

  Ready take_ready() { return std::exchange(ready_, Ready{}); }
  bool has_ready() const { return !ready_.empty(); }

  // --- views ---
  const std::string& name() const { return self_; }
  std::optional<MemberInfo> member(std::string_view name) const;
  std::vector<MemberInfo> members() const;
  // Cheap state lookup (no tag decoding), for simulators and health checks.
  std::optional<MemberState> state_of(std::string_view name) const;
  std::size_t num_members() const { return members_.size(); }
  std::size_t num_live() const { return members_.live_count(); }
  uint32_t incarnation() const;
  uint32_t health_score() const { return awareness_.score(); }
  const Coordinate& coordinate() const { return vivaldi_.coordinate(); }
  std::optional<Coordinate> coordinate_of(std::string_view name) const;
  const Stats& stats() const { return stats_; }
  const Config& config() const { return config_; }
  std::size_t pending_broadcasts() const { return broadcasts_.size(); }

  // LogCabin-style invariants, for simulations and debug builds (O(n)):
  // the live count matches the table, we are alive (or left once leaving),
  // exactly the suspect members have suspicion timers, and every last-chance
  // check belongs to a suspicion. errc::internal names the broken one.
  Status check_invariants() const;

 private:
  Membership(Config config, LocalNode self, std::unique_ptr<Rng> rng, Instant now);

  // --- failure detection (membership.cc) ---
  void handle(Instant now, std::string_view from, Transport transport, Message& m);
  void on_ping(std::string_view from, Transport transport, const Ping& p);
  void on_ping_req(Instant now, std::string_view from, const PingReq& p);
  void on_ack(Instant now, const Ack& a);
  void tick_probe(Instant now);
  void start_probe(Instant now);
  void probe_missed_direct_ack();
  void probe_failed(Instant now);
  void tick_forwards(Instant now);
  void after_stall(Instant now);

  // --- membership state (state.cc) ---
  // gossip_new = false: a member first heard of through push-pull from a
  // third party is not re-gossiped (see state.cc).
  void on_alive(Instant now, const Alive& a, bool gossip_new = true);
  void on_suspect(Instant now, const Suspect& s);
  void on_dead(Instant now, const Dead& d);
  void eager_relay(const Dead& d);
  void refute(uint32_t accused_incarnation);
  void tick_suspicions(Instant now);
  void on_final_check_ack(Instant now, uint32_t seq);
  void drop_suspicion(const std::string& name);
  void broadcast(const std::string& key, const Message& m);
  void emit(MemberEvent::Kind kind, const Member& m);
  Alive self_alive() const;
  Member& self_member();
  const Member& self_member() const;

  // --- anti-entropy, events and queries (serf.cc) ---
  void send_push_pull(std::string_view to, uint8_t flags);
  void on_push_pull(Instant now, PushPull& pp);
  bool on_user_event(const UserEventMessage& e);
  void on_query(Instant now, const QueryMessage& q);
  void on_query_response(const QueryResponseMessage& r);
  void send_response(const QueryResponseMessage& r, const std::string& origin, const std::string& origin_addr,
                     uint8_t relay_factor);
  void on_relay(const Relay& r);
  void tick_gossip(Instant now);
  void tick_push_pull(Instant now);
  void tick_reap(Instant now);
  void tick_reconnect(Instant now);

  // Builds a datagram: `primary` then as many queued broadcasts as fit the
  // MTU (SWIM §4.1 piggybacking).
  void send(std::string_view to, Transport transport, const Message& primary, const Message* extra = nullptr);
  void push_packet(std::string_view to, Transport transport, std::string bytes);
  uint32_t retransmits() const;

  Config config_;
  WireLimits limits_;
  std::string self_;
  std::unique_ptr<Rng> rng_;
  MemberList members_;
  BroadcastQueue broadcasts_;
  Awareness awareness_;
  VivaldiClient vivaldi_;
  std::unordered_map<std::string, Suspicion> suspicions_;
  // Per-peer Vivaldi data, only for members we have probed directly (kept
  // out of Member, which every member holds for every other one).
  struct PeerLatency {
    Coordinate coordinate;  // their last reported coordinate
    LatencyFilter rtt;      // our RTT samples to them
  };
  std::unordered_map<std::string, PeerLatency> latency_;

  struct Probe {
    bool active = false;
    bool indirect_sent = false;
    uint32_t seq = 0;
    std::string target;
    Instant sent, direct_deadline, end_deadline;
    uint32_t expected_nacks = 0;
    uint32_t nacks = 0;
  };
  Probe probe_;
  // Lifeguard §IV-A: ping-reqs we relay, by our local sequence number.
  struct Forward {
    std::string origin_addr;
    uint32_t origin_seq;
    Instant nack_deadline;
    bool want_nack;
  };
  std::unordered_map<uint32_t, Forward> forwards_;
  // Last-chance checks of suspects whose timer ran out, by sequence number.
  std::unordered_map<uint32_t, std::string> final_checks_;
  uint32_t next_seq_ = 1;

  Instant last_tick_;
  Instant next_probe_, next_gossip_, next_push_pull_, next_reap_, next_reconnect_;
  bool leaving_ = false;

  LamportClock event_clock_, query_clock_;
  LamportDedupe<EventKey> event_seen_;
  LamportDedupe<uint32_t> query_seen_;
  uint64_t event_min_time_ = 0;
  bool ignore_old_on_join_ = false;
  bool join_pending_ = false;  // the first push-pull reply schedules follow-ups
  uint32_t join_followups_ = 0;  // follow-up exchanges still to do after a join
  QueryTable queries_;

  Ready ready_;
  Stats stats_;
};

}  // namespace cairn::gossip
