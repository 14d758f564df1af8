// A deterministic simulator for the gossip core: a manual clock, one seeded
// RNG for the network and one per member, per-packet loss and latency
// (members sit at random points of a plane, so Vivaldi has something real to
// learn), partitions, crashes, and stalls (a stalled member reads no packets
// and runs no ticks; packets wait in a bounded socket buffer).
//
// Everything is driven by one event heap ordered by (time, sequence), so the
// same seed replays the same run bit for bit.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/rng.h"
#include "gossip/membership.h"

namespace cairn::gossip::sim {

struct NetworkConfig {
  double loss = 0.0;                  // datagram loss probability
  double plane_ms = 40.0;             // side of the plane members sit on; RTT ~ distance
  Duration jitter = std::chrono::microseconds(500);
  Duration tick_interval = std::chrono::milliseconds(100);
  std::size_t socket_buffer = 512;    // packets a stalled member can queue
  uint64_t invariant_every = 50;      // check invariants after every k-th tick
};

// What happened to whom, for the scenario checks.
struct Observations {
  uint64_t false_failures = 0;          // "failed" events about a member that was up
  uint64_t failed_events = 0;
  uint64_t datagrams_dropped = 0;
  uint64_t bytes_sent = 0;
  // For each member: (name, payload) of user events delivered, in order.
  std::vector<std::vector<std::pair<std::string, std::string>>> user_events;
  // First time each (observer, subject) failed event was seen, by subject.
  std::unordered_map<uint32_t, std::vector<Instant>> failed_at;
  std::vector<QueryResponse> query_responses;  // at any origin
};

class Cluster {
 public:
  Cluster(std::size_t members, uint64_t seed, Config config, NetworkConfig net);

  // Starts member i (not yet running) and joins it through member `via`
  // (or starts it alone when via == i).
  void start(uint32_t i, uint32_t via);
  void crash(uint32_t i);
  // A crashed member starts again as a new process with the same name and
  // address (incarnation back to 1) and joins through `via`.
  void restart(uint32_t i, uint32_t via);
  // Member i stops ticking and reading packets for `d`.
  void stall(uint32_t i, Duration d);
  // Members with different group numbers cannot reach each other; all 0 heals.
  void set_partition(std::vector<uint32_t> groups) { group_ = std::move(groups); }
  // Graceful leave; the member is stopped once its leave has gone out.
  void leave(uint32_t i);
  // Marks a failure as expected (partitions) so it does not count as false.
  void expect_failures(bool yes) { failures_expected_ = yes; }

  void run_until(Instant t);
  void run_for(Duration d) { run_until(now_ + d); }
  // Runs until pred() holds (checked every `every`) or `limit` passes.
  bool run_until_true(const std::function<bool()>& pred, Duration limit,
                      Duration every = std::chrono::milliseconds(100));

  Instant now() const { return now_; }
  std::size_t size() const { return nodes_.size(); }
  bool up(uint32_t i) const { return nodes_[i].m.has_value() && !nodes_[i].crashed; }
  Membership& member(uint32_t i) { return *nodes_[i].m; }
  const std::string& name(uint32_t i) const { return nodes_[i].name; }
  Observations& observations() { return obs_; }
  // Ground-truth round-trip time between two members.
  Duration true_rtt(uint32_t a, uint32_t b) const;
  // Every running member sees exactly the running members as alive.
  bool converged() const;
  // Every running member has `subject` in state s.
  bool all_see(uint32_t subject, MemberState s) const;
  // The user-event responder hook: called for each query a member receives.
  std::function<void(uint32_t, const QueryRequest&)> on_query;

 private:
  struct Node {
    std::string name, addr;
    std::optional<Membership> m;
    bool crashed = false;
    bool leaving = false;
    Instant stalled_until;
    Instant left_at;
    uint32_t generation = 0;  // bumped by restart: stale timer events are ignored
    double x = 0, y = 0;
    struct Queued {
      uint32_t from;
      Transport transport;
      std::string bytes;
    };
    std::vector<Queued> backlog;
  };
  enum class Kind : uint8_t { tick, deliver, resume };
  struct Event {
    Instant at;
    uint64_t seq;
    uint32_t node;
    Kind kind;
    uint32_t slot;  // deliver: index into packets_; tick/resume: the node's generation
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  struct InFlight {
    uint32_t from;
    Transport transport;
    std::string bytes;
  };

  void schedule(Instant at, uint32_t node, Kind kind, uint32_t slot = 0);
  void drain(uint32_t i);
  void deliver(uint32_t to, uint32_t from, Transport t, std::string_view bytes);
  void check(uint32_t i);
  bool stalled(const Node& n) const { return now_ < n.stalled_until; }
  Duration one_way(uint32_t a, uint32_t b);

  Config config_;
  NetworkConfig net_;
  SeededRng rng_;
  uint64_t seed_;
  Instant now_;
  std::vector<Node> nodes_;
  std::unordered_map<std::string, uint32_t> by_addr_, by_name_;
  std::vector<uint32_t> group_;
  bool failures_expected_ = false;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::vector<InFlight> packets_;
  std::vector<uint32_t> free_slots_;
  uint64_t next_seq_ = 0;
  uint64_t checks_ = 0;
  Observations obs_;
};

}  // namespace cairn::gossip::sim
