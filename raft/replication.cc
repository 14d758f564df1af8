// Log replication (§5.3), commitment (§5.4.2), proposals and ReadIndex
// (thesis §6.4): the half of Raft that moves entries, split from raft.cc
// (elections, roles, message dispatch).
#include <algorithm>

#include "raft/errc.h"
#include "raft/raft.h"

namespace cairn::raft {

// ---- follower side of replication ----

void Raft::handle_leader_message(const Message& m) {
  switch (m.type) {
    case MessageType::app: handle_append_entries(m); return;
    case MessageType::heartbeat: handle_heartbeat(m); return;
    case MessageType::snap: handle_snapshot(m); return;
    default: raft_panic("not a leader message: " + std::string(to_string(m.type)));
  }
}

void Raft::handle_append_entries(const Message& m) {
  Message resp;
  resp.type = MessageType::app_resp;
  resp.to = m.from;
  if (m.index < log_.committed()) {
    // Everything up to commit already matches; tell the leader where we are.
    resp.index = log_.committed();
    send(std::move(resp));
    return;
  }
  Index first_written = 0;
  if (auto last_new = log_.maybe_append(m.index, m.log_term, m.commit, m.entries, &first_written)) {
    if (first_written != 0) {
      std::vector<Entry> written(m.entries.begin() + static_cast<std::ptrdiff_t>(first_written - m.index - 1),
                                 m.entries.end());
      on_entries_written(first_written, written);
    }
    resp.index = *last_new;
    send(std::move(resp));
    return;
  }
  // §5.3 consistency check failed. Suggest the last index at or below the
  // probe whose term is ≤ the probe's term: all entries after it conflict.
  Index hint_index = std::min(m.index, log_.last_index());
  auto [index, term] = log_.find_conflict_by_term(hint_index, m.log_term);
  resp.index = m.index;
  resp.reject = true;
  resp.reject_hint = index;
  resp.log_term = term;
  send(std::move(resp));
}

void Raft::handle_heartbeat(const Message& m) {
  // The leader sends min(match, commit), which we are known to hold.
  log_.commit_to(std::min(m.commit, log_.last_index()));
  Message resp;
  resp.type = MessageType::heartbeat_resp;
  resp.to = m.from;
  resp.context = m.context;
  resp.index = m.index;
  send(std::move(resp));
}

void Raft::handle_snapshot(const Message& m) {
  Message resp;
  resp.type = MessageType::app_resp;
  resp.to = m.from;
  if (m.snapshot && restore(*m.snapshot)) {
    resp.index = log_.last_index();
  } else {
    resp.index = log_.committed();
  }
  send(std::move(resp));
}

bool Raft::restore(const Snapshot& s) {
  if (s.metadata.index <= log_.committed()) return false;
  if (state_ != StateType::follower) raft_panic("restore on a non-follower");
  if (log_.match_term(s.metadata.index, s.metadata.term)) {
    // We hold the entry the snapshot ends with, so we hold the snapshot's
    // prefix too (Log Matching, §5.3): just fast-forward the commit index.
    log_.commit_to(s.metadata.index);
    return false;
  }
  // §7: discard the entire log and replace it with the snapshot.
  log_.restore(s);
  configs_ = {{s.metadata.index, s.metadata.conf_state}};
  switch_config();
  return true;
}

// ---- leader side of replication ----

void Raft::send(Message m) {
  // Forwarded requests keep their origin: a transfer_leader names its
  // transferee in `from`, a forwarded read is answered to its follower.
  if (m.from == kNoNode) m.from = id_;
  bool vote_type = m.type == MessageType::vote || m.type == MessageType::vote_resp ||
                   m.type == MessageType::pre_vote || m.type == MessageType::pre_vote_resp;
  if (vote_type) {
    if (m.term == 0) raft_panic("vote message without a term");
  } else if (m.type != MessageType::prop && m.type != MessageType::read_index) {
    // Forwarded proposals and read requests travel without a term, as local
    // requests of the leader they reach.
    m.term = term_;
  }
  msgs_.push_back(std::move(m));
}

bool Raft::maybe_send_append(NodeId to, bool send_if_empty) {
  Progress* pr = trk_.get(to);
  if (pr == nullptr || pr->is_paused()) return false;
  Message m;
  m.to = to;
  auto term = log_.term(pr->next - 1);
  auto ents = log_.entries(pr->next, cfg_.max_size_per_msg);
  if (term.ok() && ents.ok() && ents->empty() && !send_if_empty) return false;
  if (!term.ok() || !ents.ok()) {
    // The entries it needs are compacted: InstallSnapshot (§7). Only to a
    // follower that answers, since snapshots are expensive.
    if (!pr->recent_active) return false;
    auto snap = log_.snapshot();
    if (!snap.ok()) return false;  // temporarily unavailable: try later
    if (snap->empty()) raft_panic("log compacted but no snapshot");
    m.type = MessageType::snap;
    pr->become_snapshot(snap->metadata.index);
    m.snapshot = std::move(snap).value();
  } else {
    m.type = MessageType::app;
    m.index = pr->next - 1;
    m.log_term = *term;
    m.entries = std::move(ents).value();
    m.commit = log_.committed();
    if (!m.entries.empty()) {
      Index last = m.entries.back().index;
      if (pr->state == ProgressState::replicate) {
        pr->optimistic_update(last);  // pipelining (thesis §10.2.2)
        pr->inflights.add(last);
      } else if (pr->state == ProgressState::probe) {
        pr->probe_sent = true;  // one probe at a time until it is answered
      }
    }
  }
  send(std::move(m));
  return true;
}

void Raft::bcast_append() {
  for (auto& [id, pr] : trk_.progress()) {
    if (id != id_) send_append(id);
  }
}

void Raft::bcast_heartbeat() {
  const std::string* ctx = read_only_.last_pending_context();
  std::string context = ctx ? *ctx : std::string();
  for (auto& [id, pr] : trk_.progress()) {
    if (id != id_) send_heartbeat(id, context);
  }
}

void Raft::send_heartbeat(NodeId to, const std::string& context) {
  const Progress* pr = trk_.get(to);
  Message m;
  m.type = MessageType::heartbeat;
  m.to = to;
  // Never more than the follower is known to hold: it may not have the
  // entries up to our commit index yet.
  m.commit = std::min(pr->match, log_.committed());
  m.context = context;
  m.index = ticks_;  // echoed back: when this heartbeat left (leader lease)
  send(std::move(m));
}

void Raft::send_timeout_now(NodeId to) {
  sent_timeout_now_ = true;
  Message m;
  m.type = MessageType::timeout_now;
  m.to = to;
  send(std::move(m));
}

bool Raft::committed_entry_in_current_term() const {
  return log_.term_or_zero(log_.committed()) == term_;
}

Status Raft::check_conf_change(const Entry& e) const {
  auto cc = ConfChange::decode(e.data);
  if (!cc.ok()) return cc.error();
  // One change at a time (thesis §4.1): the previous one must be committed.
  if (configs_.back().index > log_.committed()) {
    return raft_error(errc::config_change_pending,
                      "conf change: the change at index " + std::to_string(configs_.back().index) +
                          " is not committed yet");
  }
  // The fix to single-server changes (Ongaro, raft-dev 2015): a leader must
  // commit an entry of its own term before it changes membership.
  if (!committed_entry_in_current_term()) {
    return raft_error(errc::config_change_pending,
                      "conf change: leader has not committed an entry of its term yet");
  }
  auto next = apply_conf_change(trk_.config(), *cc);
  if (!next.ok()) return next.error();
  if (cc->type == ConfChangeType::add_node && trk_.config().is_learner(cc->node_id)) {
    // Thesis §4.2.1: promote only a learner that has caught up, or the new
    // voter would stall commitment while it catches up.
    const Progress* lp = trk_.get(cc->node_id);
    if (lp == nullptr || lp->match + cfg_.learner_promotion_lag < log_.committed()) {
      return raft_error(errc::learner_not_caught_up,
                        "conf change: learner " + std::to_string(cc->node_id) + " is at " +
                            std::to_string(lp ? lp->match : 0) + ", commit is " +
                            std::to_string(log_.committed()));
    }
  }
  return ok_status();
}

Status Raft::handle_proposal(Message& m) {
  if (m.entries.empty()) return raft_error(errc::invalid_argument, "proposal without entries");
  if (trk_.get(id_) == nullptr) return raft_error(errc::proposal_dropped, "leader is not a member");
  if (lead_transferee_ != kNoNode) {
    // Thesis §3.10: stop accepting requests while handing over leadership.
    return raft_error(errc::proposal_dropped, "leadership transfer in progress");
  }
  int conf_changes = 0;
  for (const Entry& e : m.entries) {
    if (e.type != EntryType::conf_change) continue;
    if (++conf_changes > 1) {
      return raft_error(errc::config_change_pending, "conf change: one per proposal");
    }
    CAIRN_RETURN_IF_ERROR(check_conf_change(e));
  }
  append_entry(std::move(m.entries));
  // Not broadcast yet: Node::ready() flushes once, so proposals that arrive
  // together are persisted in one Ready and sent in one append.
  append_pending_ = true;
  return ok_status();
}

void Raft::flush_appends() {
  if (!append_pending_) return;
  append_pending_ = false;
  if (state_ != StateType::leader) return;
  for (auto& [id, pr] : trk_.progress()) {
    if (id == id_) continue;
    send_append(id);
    // Fill the pipeline window of a follower that keeps up (thesis §10.2.2).
    while (trk_.get(id)->state == ProgressState::replicate && maybe_send_append(id, false)) {
    }
  }
}

void Raft::append_entry(std::vector<Entry> ents) {
  Index li = log_.last_index();
  for (size_t i = 0; i < ents.size(); ++i) {
    ents[i].term = term_;
    ents[i].index = li + 1 + i;
  }
  log_.append(ents);
  on_entries_written(li + 1, ents);
  // The leader's own copy counts toward the quorum once it is durable
  // (self_persisted): the driver may send the appends before its fsync
  // (thesis §10.2.1). Followers' durable copies alone may commit meanwhile.
  if (maybe_commit()) on_leader_commit();
}

void Raft::self_persisted() {
  if (state_ != StateType::leader) return;
  Progress* self = trk_.get(id_);
  if (self && self->maybe_update(log_.stable_last_index()) && maybe_commit()) on_leader_commit();
}

bool Raft::maybe_commit() { return log_.maybe_commit(trk_.committed(), term_); }

void Raft::on_leader_commit() {
  if (committed_entry_in_current_term() && !pending_read_index_msgs_.empty()) {
    std::vector<Message> pending = std::move(pending_read_index_msgs_);
    pending_read_index_msgs_.clear();
    for (const Message& m : pending) handle_read_index(m);
  }
  bcast_append();
  // Thesis §4.2.2: a leader removed from the configuration steps down once
  // the entry that removed it is committed.
  if (!trk_.config().is_voter(id_) && log_.committed() >= configs_.back().index) {
    // Hand over to a voter that holds the whole log (thesis §3.10), so the
    // cluster does not sit out an election timeout; others may still time out.
    NodeId heir = kNoNode;
    for (NodeId v : trk_.config().voters) {
      const Progress* pr = trk_.get(v);
      if (pr && pr->match == log_.last_index()) {
        heir = v;
        break;
      }
    }
    if (heir != kNoNode) send_timeout_now(heir);
    become_follower(term_, kNoNode);
  }
}

void Raft::handle_read_index(const Message& m) {
  if (trk_.is_singleton() && trk_.config().is_voter(id_)) {
    respond_read_index(m, log_.committed());  // we are the quorum
    return;
  }
  // Thesis §6.4 step 1: until an entry of this term is committed the leader
  // may not know the latest commit index.
  if (!committed_entry_in_current_term()) {
    pending_read_index_msgs_.push_back(m);
    return;
  }
  if (cfg_.read_only_option == ReadOnlyOption::lease && lease_valid()) {
    // Thesis §6.4.1: inside the lease no other leader can have been elected.
    respond_read_index(m, log_.committed());
    return;
  }
  // Outside the lease (or in safe mode) confirm leadership with a round.
  // Thesis §6.4 steps 2–3: record the commit index, then confirm leadership
  // with a heartbeat round that carries the request's context.
  read_only_.add_request(log_.committed(), m, id_);
  for (auto& [id, pr] : trk_.progress()) {
    if (id != id_) send_heartbeat(id, m.context);
  }
}

bool Raft::lease_valid() const {
  if (sent_timeout_now_) return false;
  // A majority acknowledged a heartbeat sent at tick `since`. Each of them
  // reset its election timer when it received it, after `since`, and ignores
  // votes for election_tick of its own ticks (in_lease). Two ticks of margin
  // cover the phase between our tick counter and theirs; clock *rate* drift
  // is assumed negligible over one election timeout (§6.4.1's bound).
  uint64_t since = trk_.quorum_lease_ack(id_, ticks_);
  return since > 0 && ticks_ + 2 <= since + static_cast<uint64_t>(cfg_.election_tick);
}

void Raft::respond_read_index(const Message& req, Index index) {
  if (req.from == kNoNode || req.from == id_) {
    read_states_.push_back({index, req.context});
    return;
  }
  Message resp;
  resp.type = MessageType::read_index_resp;
  resp.to = req.from;
  resp.index = index;
  resp.context = req.context;
  send(std::move(resp));
}

}  // namespace cairn::raft
