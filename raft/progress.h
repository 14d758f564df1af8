// What the leader knows about each follower's log (nextIndex/matchIndex of
// §5.3, Figure 2) and how it paces replication to it, after etcd's tracker:
//
//   probe      we do not know where the follower's log ends; send one append
//              at a time and wait for the answer (the §5.3 consistency check).
//   replicate  the follower accepted our last append; stream appends without
//              waiting, up to max_inflight_msgs in flight (pipelining, thesis §10.2.2).
//   snapshot   the entries it needs are compacted; an InstallSnapshot is in
//              flight (§7) and nothing else is sent until it is reported.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "raft/types.h"

namespace cairn::raft {

// A bounded FIFO of the last index of each append in flight to one follower.
class Inflights {
 public:
  explicit Inflights(size_t capacity) : capacity_(capacity) {}
  void add(Index last);
  // Frees every in-flight append whose last index is ≤ `to`: they are acknowledged.
  void free_le(Index to);
  void free_first_one();
  bool full() const { return buffer_.size() >= capacity_; }
  size_t count() const { return buffer_.size(); }
  size_t capacity() const { return capacity_; }
  void reset() { buffer_.clear(); }

 private:
  size_t capacity_;
  std::vector<Index> buffer_;  // small (≤ capacity), ascending
};

enum class ProgressState : uint8_t { probe, replicate, snapshot };
std::string_view to_string(ProgressState s);

struct Progress {
  explicit Progress(size_t max_inflight) : inflights(max_inflight) {}

  Index match = 0;  // highest index known to be replicated (matchIndex)
  Index next = 1;   // next index to send (nextIndex)
  ProgressState state = ProgressState::probe;
  Index pending_snapshot = 0;  // in snapshot state: the snapshot's index
  // Heard from within the last election timeout (CheckQuorum, thesis §6.2).
  bool recent_active = false;
  // In probe state: an append was sent and is unanswered.
  bool probe_sent = false;
  bool is_learner = false;
  // The leader's tick count when it sent the newest heartbeat this follower
  // acknowledged (leader lease, thesis §6.4.1); 0 = none this term.
  uint64_t lease_ack = 0;
  Inflights inflights;

  void become_probe();
  void become_replicate();
  void become_snapshot(Index snapshot_index);
  // An acknowledgement of `n`; false if it is stale (n ≤ match).
  bool maybe_update(Index n);
  // In replicate state, entries up to `n` were sent: advance next optimistically.
  void optimistic_update(Index n) { next = n + 1; }
  // A rejection of the append at `rejected`; `hint` is where the follower
  // suggests probing. False if the rejection is stale.
  bool maybe_decr_to(Index rejected, Index hint);
  bool is_paused() const;
  std::string describe() const;
};

// Quorum arithmetic over the current configuration.
class ProgressTracker {
 public:
  explicit ProgressTracker(size_t max_inflight) : max_inflight_(max_inflight) {}

  const ConfState& config() const { return config_; }
  // Switches to `cs`: adds progress for new members (next = next_index),
  // removes it for members that left.
  void apply_config(const ConfState& cs, Index next_index);

  Progress* get(NodeId id);
  const Progress* get(NodeId id) const;
  std::map<NodeId, Progress>& progress() { return progress_; }
  const std::map<NodeId, Progress>& progress() const { return progress_; }

  // The largest index stored on a majority of voters (§5.3, §5.4.2).
  Index committed() const;
  // Whether the voters in `ids` form a majority.
  bool has_quorum(const std::set<NodeId>& ids) const;
  // CheckQuorum: a majority of voters were recently active (thesis §6.2).
  bool quorum_active(NodeId self) const;
  // The newest heartbeat send time acknowledged by a majority of voters,
  // counting `self` as acknowledging `now`; 0 if there is none.
  uint64_t quorum_lease_ack(NodeId self, uint64_t now) const;
  bool is_singleton() const { return config_.voters.size() == 1; }

  enum class VoteResult { pending, won, lost };
  void reset_votes() { votes_.clear(); }
  void record_vote(NodeId id, bool granted);
  VoteResult tally_votes(int* granted = nullptr, int* rejected = nullptr) const;

 private:
  size_t max_inflight_;
  ConfState config_;
  std::map<NodeId, Progress> progress_;
  std::map<NodeId, bool> votes_;
};

}  // namespace cairn::raft
