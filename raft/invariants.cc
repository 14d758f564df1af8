#include "raft/invariants.h"

#include <string>

#include "raft/errc.h"

namespace cairn::raft {
namespace {

Error broken(const std::string& what) { return Error(cairn::errc::internal, "raft invariant: " + what); }
std::string s(uint64_t v) { return std::to_string(v); }

}  // namespace

Status InvariantChecker::check(const Raft& r) {
  const RaftLog& log = r.log();
  // §5.1: terms only increase; a vote is cast at most once per term (§5.2).
  if (seen_) {
    if (r.term() < term_) return broken("term went back from " + s(term_) + " to " + s(r.term()));
    if (r.term() == term_ && vote_ != kNoNode && r.vote() != vote_) {
      return broken("vote changed within term " + s(term_) + " from " + s(vote_) + " to " + s(r.vote()));
    }
    // Committed entries are durable forever (§5.4); application never rewinds.
    if (log.committed() < committed_) return broken("commit went back from " + s(committed_) + " to " + s(log.committed()));
    if (log.applied() < applied_) return broken("applied went back from " + s(applied_) + " to " + s(log.applied()));
  }
  if (log.applied() > log.committed()) {
    return broken("applied " + s(log.applied()) + " > committed " + s(log.committed()));
  }
  if (log.committed() > log.last_index()) {
    return broken("committed " + s(log.committed()) + " > last index " + s(log.last_index()));
  }
  if (log.first_index() > log.last_index() + 1) {
    return broken("first index " + s(log.first_index()) + " > last index + 1");
  }
  // Terms along the log never decrease, and no entry is from the future.
  if (log.last_term() > r.term()) {
    return broken("last log term " + s(log.last_term()) + " > current term " + s(r.term()));
  }
  const auto& un = log.unstable_entries();
  if (!un.empty()) {
    Term prev = log.term_or_zero(un.front().index - 1);
    for (size_t i = 0; i < un.size(); ++i) {
      if (un[i].index != un.front().index + i) return broken("unstable entries not contiguous");
      if (un[i].term < prev) return broken("log term decreases at index " + s(un[i].index));
      prev = un[i].term;
    }
  }
  // Thesis §4.1: the configuration in use is the last one in the log.
  const auto& configs = r.config_history();
  if (!(r.tracker().config() == configs.back().conf)) {
    return broken("configuration in use is not the last configuration in the log");
  }
  for (size_t i = 1; i < configs.size(); ++i) {
    if (configs[i].index <= configs[i - 1].index) return broken("configuration history out of order");
    if (configs[i].index > log.last_index()) {
      return broken("configuration at " + s(configs[i].index) + " is past the last index");
    }
  }
  for (auto it = un.rbegin(); it != un.rend(); ++it) {
    if (it->type != EntryType::conf_change) continue;
    auto cc = ConfChange::decode(it->data);
    if (cc.ok() && apply_conf_change(r.conf_state_at(it->index - 1), *cc).ok() &&
        configs.back().index != it->index) {
      return broken("last conf change entry " + s(it->index) + " is not the configuration in use");
    }
    break;
  }
  for (const auto& [id, pr] : r.tracker().progress()) {
    if (!r.tracker().config().contains(id)) return broken("progress for non-member " + s(id));
  }
  // Role invariants (§5.2).
  switch (r.state()) {
    case StateType::leader: {
      if (r.leader() != r.id()) return broken("leader does not know itself as leader");
      if (r.vote() != r.id()) return broken("leader did not vote for itself");
      // Thesis §10.2.1: the leader's own match is what it has made durable.
      if (const Progress* self = r.tracker().get(r.id()); self && self->match > log.last_index()) {
        return broken("leader's own match " + s(self->match) + " past its last index " + s(log.last_index()));
      }
      for (const auto& [id, pr] : r.tracker().progress()) {
        if (pr.match > log.last_index()) return broken("match of " + s(id) + " past the leader's log");
        if (pr.next <= pr.match) return broken("next <= match for " + s(id));
        if (pr.inflights.count() > pr.inflights.capacity()) return broken("inflight window overflow for " + s(id));
      }
      break;
    }
    case StateType::candidate:
      if (r.vote() != r.id()) return broken("candidate did not vote for itself");
      [[fallthrough]];
    case StateType::pre_candidate:
      if (r.leader() != kNoNode) return broken("candidate knows a leader");
      break;
    case StateType::follower:
      if (r.leader() == r.id()) return broken("follower believes it leads");
      break;
  }
  seen_ = true;
  term_ = r.term();
  vote_ = r.vote();
  committed_ = log.committed();
  applied_ = log.applied();
  return ok_status();
}

}  // namespace cairn::raft
