#include "raft/progress.h"

#include <algorithm>
#include <sstream>

namespace cairn::raft {

void Inflights::add(Index last) { buffer_.push_back(last); }

void Inflights::free_le(Index to) {
  auto it = std::upper_bound(buffer_.begin(), buffer_.end(), to);
  buffer_.erase(buffer_.begin(), it);
}

void Inflights::free_first_one() {
  if (!buffer_.empty()) buffer_.erase(buffer_.begin());
}

std::string_view to_string(ProgressState s) {
  switch (s) {
    case ProgressState::probe: return "StateProbe";
    case ProgressState::replicate: return "StateReplicate";
    case ProgressState::snapshot: return "StateSnapshot";
  }
  return "?";
}

void Progress::become_probe() {
  // Coming back from a snapshot, the follower has at least the snapshot.
  if (state == ProgressState::snapshot) {
    Index pending = pending_snapshot;
    state = ProgressState::probe;
    next = std::max(match + 1, pending + 1);
  } else {
    state = ProgressState::probe;
    next = match + 1;
  }
  pending_snapshot = 0;
  probe_sent = false;
  inflights.reset();
}

void Progress::become_replicate() {
  state = ProgressState::replicate;
  next = match + 1;
  pending_snapshot = 0;
  probe_sent = false;
  inflights.reset();
}

void Progress::become_snapshot(Index snapshot_index) {
  state = ProgressState::snapshot;
  pending_snapshot = snapshot_index;
  probe_sent = false;
  inflights.reset();
}

bool Progress::maybe_update(Index n) {
  bool updated = false;
  if (match < n) {
    match = n;
    updated = true;
    probe_sent = false;  // the probe was answered
  }
  next = std::max(next, n + 1);
  return updated;
}

bool Progress::maybe_decr_to(Index rejected, Index hint) {
  if (state == ProgressState::replicate) {
    // In replicate state only a rejection of something past `match` is
    // news; an older one is a reordered duplicate.
    if (rejected <= match) return false;
    next = match + 1;  // restart probing just past what we know matches
    return true;
  }
  // In probe state only the rejection of the append we sent (at next-1) counts.
  if (next - 1 != rejected) return false;
  next = std::max(std::min(rejected, hint + 1), match + 1);
  probe_sent = false;
  return true;
}

bool Progress::is_paused() const {
  switch (state) {
    case ProgressState::probe: return probe_sent;
    case ProgressState::replicate: return inflights.full();
    case ProgressState::snapshot: return true;
  }
  return true;
}

std::string Progress::describe() const {
  std::ostringstream os;
  os << to_string(state) << " match=" << match << " next=" << next;
  if (is_learner) os << " learner";
  if (state == ProgressState::snapshot) os << " pending_snap=" << pending_snapshot;
  if (probe_sent && state == ProgressState::probe) os << " paused";
  if (state == ProgressState::replicate && inflights.count() > 0) {
    os << " inflight=" << inflights.count();
    if (inflights.full()) os << "[full]";
  }
  return os.str();
}

void ProgressTracker::apply_config(const ConfState& cs, Index next_index) {
  config_ = cs;
  for (auto it = progress_.begin(); it != progress_.end();) {
    if (!cs.contains(it->first)) {
      it = progress_.erase(it);
    } else {
      ++it;
    }
  }
  auto add = [&](NodeId id, bool learner) {
    auto it = progress_.find(id);
    if (it == progress_.end()) {
      Progress p(max_inflight_);
      p.next = next_index;
      // New members count as active, or CheckQuorum could depose a leader
      // that just added them (etcd does the same).
      p.recent_active = true;
      it = progress_.emplace(id, std::move(p)).first;
    }
    it->second.is_learner = learner;
  };
  for (NodeId id : cs.voters) add(id, false);
  for (NodeId id : cs.learners) add(id, true);
}

Progress* ProgressTracker::get(NodeId id) {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

const Progress* ProgressTracker::get(NodeId id) const {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

Index ProgressTracker::committed() const {
  std::vector<Index> matches;
  matches.reserve(config_.voters.size());
  for (NodeId id : config_.voters) {
    auto it = progress_.find(id);
    matches.push_back(it == progress_.end() ? 0 : it->second.match);
  }
  if (matches.empty()) return 0;
  // Sorted descending, the element at position n/2 is held by n/2+1 voters: a majority.
  std::sort(matches.begin(), matches.end(), std::greater<>());
  return matches[matches.size() / 2];
}

bool ProgressTracker::has_quorum(const std::set<NodeId>& ids) const {
  size_t n = 0;
  for (NodeId id : config_.voters) n += ids.count(id);
  return n > config_.voters.size() / 2;
}

bool ProgressTracker::quorum_active(NodeId self) const {
  std::set<NodeId> active;
  for (NodeId id : config_.voters) {
    auto it = progress_.find(id);
    if (id == self || (it != progress_.end() && it->second.recent_active)) active.insert(id);
  }
  return has_quorum(active);
}

uint64_t ProgressTracker::quorum_lease_ack(NodeId self, uint64_t now) const {
  std::vector<uint64_t> acks;
  for (NodeId id : config_.voters) {
    auto it = progress_.find(id);
    acks.push_back(id == self ? now : (it == progress_.end() ? 0 : it->second.lease_ack));
  }
  if (acks.empty()) return 0;
  std::sort(acks.begin(), acks.end(), std::greater<>());
  return acks[acks.size() / 2];
}

void ProgressTracker::record_vote(NodeId id, bool granted) { votes_.emplace(id, granted); }

ProgressTracker::VoteResult ProgressTracker::tally_votes(int* granted, int* rejected) const {
  int g = 0, r = 0;
  for (NodeId id : config_.voters) {
    auto it = votes_.find(id);
    if (it == votes_.end()) continue;
    (it->second ? g : r)++;
  }
  if (granted) *granted = g;
  if (rejected) *rejected = r;
  int quorum = static_cast<int>(config_.voters.size() / 2 + 1);
  if (g >= quorum) return VoteResult::won;
  if (r > static_cast<int>(config_.voters.size()) - quorum) return VoteResult::lost;
  return VoteResult::pending;
}

}  // namespace cairn::raft
