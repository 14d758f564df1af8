// Configuration of one Raft node, with its defaults in one place and a
// validate() that names the offending field and its allowed range (the
// hashicorp/raft config.go habit).
//
// Times are in ticks: the driver calls Node::tick() at a fixed interval
// (raft/io uses 100 ms), so election_tick = 10 means one second.
#pragma once

#include <cstdint>

#include "core/result.h"
#include "raft/types.h"

namespace cairn::raft {

// How the leader confirms it still leads before answering a read (thesis §6.4).
enum class ReadOnlyOption : uint8_t {
  // ReadIndex: a heartbeat round acknowledged by a quorum. Safe under any clock.
  safe = 0,
  // Leader lease (thesis §6.4.1): answer from the commit index without a round
  // trip, trusting that no other leader can exist within an election timeout.
  // Relies on bounded clock drift; requires check_quorum.
  lease = 1,
};

struct Config {
  // This node's id; never 0.
  NodeId id = kNoNode;

  // Ticks without hearing from a leader before a follower starts an election.
  // The actual timeout is drawn uniformly from [election_tick, 2*election_tick)
  // so that split votes resolve (§5.2). Allowed: > heartbeat_tick, ≤ 100000.
  int election_tick = 10;

  // Ticks between the leader's heartbeats. Allowed: 1 .. election_tick-1.
  int heartbeat_tick = 1;

  // The last index the application has applied, when restarting. Committed
  // entries up to it are not handed out again.
  Index applied = 0;

  // Upper bound on the bytes of entries in one append message; 0 means one
  // entry per message. Smaller messages make probing cheaper, larger ones
  // make catch-up faster. Allowed: 0 .. 64 MiB.
  uint64_t max_size_per_msg = 1u << 20;

  // Upper bound on the bytes of committed entries in one Ready. Allowed: ≥ 1.
  uint64_t max_committed_size_per_ready = 16u << 20;

  // Appends in flight to one follower in the replicate state (the pipeline
  // window). Allowed: 1 .. 65536.
  int max_inflight_msgs = 256;

  // PreVote (thesis §9.6): a node first asks whether it could win before
  // bumping its term, so a node that was partitioned does not disrupt the
  // cluster when it comes back.
  bool pre_vote = true;

  // CheckQuorum (thesis §6.2): a leader that has not heard from a quorum in an
  // election timeout steps down; followers that heard from a leader within the
  // minimum election timeout ignore vote requests (thesis §4.2.3).
  bool check_quorum = true;

  ReadOnlyOption read_only_option = ReadOnlyOption::safe;

  // A learner may be promoted to voter once its match index is within this
  // many entries of the leader's commit index (thesis §4.2.1). Allowed: any.
  uint64_t learner_promotion_lag = 0;

  // Run the invariant checker (raft/invariants.h) after every step, tick and
  // advance; a violation aborts. Costly; the simulator and tests enable it.
  bool check_invariants = false;

  // The defaults above, for node `id`.
  static Config defaults(NodeId id);

  Status validate() const;
};

}  // namespace cairn::raft
