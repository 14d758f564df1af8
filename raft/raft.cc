#include "raft/raft.h"

#include <algorithm>
#include <limits>

#include "raft/errc.h"

namespace cairn::raft {

Raft::Raft(const Config& cfg, LogStorage* storage, Rng* rng)
    : cfg_(cfg),
      id_(cfg.id),
      log_(storage, cfg.max_committed_size_per_ready),
      trk_(static_cast<size_t>(cfg.max_inflight_msgs)),
      rng_(rng) {
  auto init = storage->initial_state();
  if (!init.ok()) raft_panic("initial state: " + init.error().message());
  const HardState& hs = init->hard_state;
  configs_.push_back({storage->first_index() - 1, init->conf_state});
  // A restarted server adopts the latest configuration in its log (thesis §4.1).
  Index first = storage->first_index();
  Index last = storage->last_index();
  if (last >= first) {
    auto ents = storage->entries(first, last + 1, std::numeric_limits<uint64_t>::max());
    if (!ents.ok()) raft_panic("reading the log at start: " + ents.error().message());
    scan_for_config(*ents);
  }
  trk_.apply_config(configs_.back().conf, log_.last_index() + 1);
  if (!hs.empty()) {
    if (hs.commit < log_.committed() || hs.commit > log_.last_index()) {
      raft_panic("hard state commit " + std::to_string(hs.commit) + " outside [" +
                 std::to_string(log_.committed()) + ", " + std::to_string(log_.last_index()) + "]");
    }
    term_ = hs.term;
    vote_ = hs.vote;
    log_.commit_to(hs.commit);
  }
  if (cfg_.applied > 0) {
    if (cfg_.applied > log_.committed()) raft_panic("config applied past the commit index");
    log_.set_applied(std::max(cfg_.applied, log_.applied()));
  }
  become_follower(term_, kNoNode);
}

// ---- configuration (thesis §4.1) ----

const ConfState& Raft::conf_state_at(Index i) const {
  const ConfState* cs = &configs_.front().conf;
  for (const ConfigAt& c : configs_) {
    if (c.index > i) break;
    cs = &c.conf;
  }
  return *cs;
}

void Raft::compact_config_history(Index i) {
  ConfState base = conf_state_at(i);
  std::vector<ConfigAt> kept{{i, std::move(base)}};
  for (ConfigAt& c : configs_) {
    if (c.index > i) kept.push_back(std::move(c));
  }
  configs_ = std::move(kept);
}

void Raft::scan_for_config(const std::vector<Entry>& ents) {
  for (const Entry& e : ents) {
    if (e.type != EntryType::conf_change) continue;
    // A change that does not decode or apply is skipped by every server alike
    // (all see the same log), so configurations still agree. The leader never
    // appends one; this only guards against bytes we did not check.
    auto cc = ConfChange::decode(e.data);
    if (!cc.ok()) continue;
    auto next = apply_conf_change(configs_.back().conf, *cc);
    if (!next.ok()) continue;
    configs_.push_back({e.index, std::move(next).value()});
  }
}

void Raft::on_entries_written(Index first, const std::vector<Entry>& ents) {
  bool changed = false;
  while (configs_.size() > 1 && configs_.back().index >= first) {
    configs_.pop_back();  // that entry was truncated: fall back to the previous configuration
    changed = true;
  }
  size_t before = configs_.size();
  scan_for_config(ents);
  if (changed || configs_.size() != before) switch_config();
}

void Raft::switch_config() {
  const ConfState& cs = configs_.back().conf;
  if (cs == trk_.config()) return;
  trk_.apply_config(cs, log_.last_index() + 1);
  if (state_ != StateType::leader) return;
  if (lead_transferee_ != kNoNode && !cs.is_voter(lead_transferee_)) abort_leader_transfer();
  // A smaller quorum may already hold entries that were not committed before.
  if (maybe_commit()) on_leader_commit();
}

bool Raft::promotable() const {
  const Progress* pr = trk_.get(id_);
  return pr != nullptr && !pr->is_learner && !log_.unstable_snapshot().has_value();
}

// ---- timers ----

void Raft::reset_randomized_election_timeout() {
  // Uniform in [election_tick, 2*election_tick): randomness resolves split votes (§5.2).
  randomized_election_timeout_ =
      cfg_.election_tick + static_cast<int>(rng_->uniform(static_cast<uint64_t>(cfg_.election_tick)));
}

bool Raft::in_lease() const {
  if (!cfg_.check_quorum) return false;
  if (lead_ != kNoNode && election_elapsed_ < cfg_.election_tick) return true;
  // With lease reads, a server that just (re)started may have acknowledged a
  // leader's heartbeat before it crashed and forgotten it: it keeps the
  // promise for an election timeout from its start.
  return cfg_.read_only_option == ReadOnlyOption::lease &&
         ticks_ < static_cast<uint64_t>(cfg_.election_tick);
}

void Raft::tick() {
  ++ticks_;
  if (state_ == StateType::leader) {
    tick_heartbeat();
  } else {
    tick_election();
  }
}

void Raft::tick_election() {
  ++election_elapsed_;
  if (promotable() && past_election_timeout()) {
    election_elapsed_ = 0;
    Message m;
    m.type = MessageType::hup;
    m.from = id_;
    (void)step(std::move(m));
  }
}

void Raft::tick_heartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= cfg_.election_tick) {
    election_elapsed_ = 0;
    if (cfg_.check_quorum) {
      Message m;
      m.type = MessageType::check_quorum;
      m.from = id_;
      (void)step(std::move(m));
    }
    // A transfer that did not finish within an election timeout is abandoned
    // so that the leader serves clients again (thesis §3.10).
    if (state_ == StateType::leader && lead_transferee_ != kNoNode) abort_leader_transfer();
  }
  if (state_ != StateType::leader) return;
  if (heartbeat_elapsed_ >= cfg_.heartbeat_tick) {
    heartbeat_elapsed_ = 0;
    Message m;
    m.type = MessageType::beat;
    m.from = id_;
    (void)step(std::move(m));
  }
}

// ---- role changes ----

void Raft::reset(Term term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNoNode;  // a new term: no vote cast yet (§5.2)
  }
  lead_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_randomized_election_timeout();
  abort_leader_transfer();
  trk_.reset_votes();
  Index last = log_.last_index();
  for (auto& [id, pr] : trk_.progress()) {
    bool learner = pr.is_learner;
    pr = Progress(static_cast<size_t>(cfg_.max_inflight_msgs));
    pr.is_learner = learner;
    pr.next = last + 1;  // §5.3: nextIndex starts just past the leader's log
    if (id == id_) pr.match = log_.stable_last_index();  // what is durable (self_persisted)
  }
  read_only_.clear();
  pending_read_index_msgs_.clear();
  append_pending_ = false;
  sent_timeout_now_ = false;
}

void Raft::become_follower(Term term, NodeId lead) {
  reset(term);
  lead_ = lead;
  state_ = StateType::follower;
}

void Raft::become_pre_candidate() {
  if (state_ == StateType::leader) raft_panic("leader cannot become pre-candidate");
  // PreVote does not touch term or vote (thesis §9.6): a node that cannot win
  // leaves no trace on the cluster.
  trk_.reset_votes();
  lead_ = kNoNode;
  state_ = StateType::pre_candidate;
}

void Raft::become_candidate() {
  if (state_ == StateType::leader) raft_panic("leader cannot become candidate");
  reset(term_ + 1);  // §5.2: increment currentTerm, vote for self
  vote_ = id_;
  state_ = StateType::candidate;
}

void Raft::become_leader() {
  if (state_ == StateType::follower) raft_panic("follower cannot become leader without an election");
  reset(term_);
  lead_ = id_;
  state_ = StateType::leader;
  if (Progress* self = trk_.get(id_)) {
    self->become_replicate();
    self->recent_active = true;
  }
  // A no-op entry of the new term: committing it commits every earlier entry
  // (§5.4.2, §8) and lets ReadIndex and membership changes proceed (thesis §6.4, §4.1).
  append_entry({Entry{}});
}

void Raft::hup(CampaignKind kind) {
  if (state_ == StateType::leader || !promotable()) return;
  if (kind == CampaignKind::pre_election && !cfg_.pre_vote) kind = CampaignKind::election;
  campaign(kind);
}

void Raft::campaign(CampaignKind kind) {
  Term term;
  MessageType vote_type;
  if (kind == CampaignKind::pre_election) {
    become_pre_candidate();
    vote_type = MessageType::pre_vote;
    term = term_ + 1;  // the term we would campaign in; ours stays put
  } else {
    become_candidate();
    vote_type = MessageType::vote;
    term = term_;
  }
  trk_.record_vote(id_, true);
  if (trk_.tally_votes() == ProgressTracker::VoteResult::won) {
    // A single-voter cluster wins at once.
    if (kind == CampaignKind::pre_election) {
      campaign(CampaignKind::election);
    } else {
      become_leader();
    }
    return;
  }
  for (NodeId voter : trk_.config().voters) {
    if (voter == id_) continue;
    Message m;
    m.type = vote_type;
    m.to = voter;
    m.term = term;
    m.index = log_.last_index();
    m.log_term = log_.last_term();
    if (kind == CampaignKind::transfer) m.context = std::string(kCampaignTransfer);
    send(std::move(m));
  }
}

// ---- step ----

Status Raft::step(Message m) {
  // Terms first (§5.1): a higher term makes us a follower; a lower one is stale.
  if (m.term == 0) {
    // local message, or a forwarded proposal / read request
  } else if (m.term > term_) {
    if (m.type == MessageType::vote || m.type == MessageType::pre_vote) {
      // Thesis §4.2.3: a server that heard from a current leader within the
      // minimum election timeout neither updates its term nor grants its vote,
      // so removed or partitioned servers cannot disrupt a working leader.
      if (m.context != kCampaignTransfer && in_lease()) return ok_status();
    }
    if (m.type == MessageType::pre_vote) {
      // Answering a pre-vote never changes our term (thesis §9.6).
    } else if (m.type == MessageType::pre_vote_resp && !m.reject) {
      // A granted pre-vote carries the future term; we bump it when we campaign.
    } else if (m.type == MessageType::app || m.type == MessageType::heartbeat ||
               m.type == MessageType::snap) {
      become_follower(m.term, m.from);
    } else {
      become_follower(m.term, kNoNode);
    }
  } else if (m.term < term_) {
    if ((cfg_.check_quorum || cfg_.pre_vote) &&
        (m.type == MessageType::heartbeat || m.type == MessageType::app)) {
      // A leader from an older term that was cut off: tell it our term so it
      // steps down. Without this, with CheckQuorum or PreVote a stale leader
      // could keep a node with a longer log from ever winning.
      Message resp;
      resp.type = MessageType::app_resp;
      resp.to = m.from;
      send(std::move(resp));
    } else if (m.type == MessageType::pre_vote) {
      Message resp;
      resp.type = MessageType::pre_vote_resp;
      resp.to = m.from;
      resp.term = term_;
      resp.reject = true;
      send(std::move(resp));
    }
    return ok_status();  // otherwise ignore stale messages (§5.1)
  }

  switch (m.type) {
    case MessageType::hup:
      hup(CampaignKind::pre_election);
      return ok_status();
    case MessageType::vote:
    case MessageType::pre_vote:
      handle_vote_request(m);
      return ok_status();
    default:
      break;
  }
  switch (state_) {
    case StateType::leader: return step_leader(m);
    case StateType::candidate:
    case StateType::pre_candidate: return step_candidate(m);
    case StateType::follower: return step_follower(m);
  }
  return ok_status();
}

void Raft::handle_vote_request(const Message& m) {
  // §5.2: at most one vote per term, first come first served; a pre-vote for
  // a future term is granted without recording anything (thesis §9.6).
  bool can_vote = vote_ == m.from || (vote_ == kNoNode && lead_ == kNoNode) ||
                  (m.type == MessageType::pre_vote && m.term > term_);
  Message resp;
  resp.to = m.from;
  resp.type = m.type == MessageType::vote ? MessageType::vote_resp : MessageType::pre_vote_resp;
  // §5.4.1: only a candidate whose log is at least as up to date as ours.
  if (can_vote && log_.is_up_to_date(m.index, m.log_term)) {
    resp.term = m.term;
    send(std::move(resp));
    if (m.type == MessageType::vote) {
      election_elapsed_ = 0;  // granting a vote resets the election timer (§5.2)
      vote_ = m.from;
    }
  } else {
    resp.term = term_;
    resp.reject = true;
    send(std::move(resp));
  }
}

Status Raft::step_leader(Message& m) {
  switch (m.type) {
    case MessageType::beat:
      bcast_heartbeat();
      return ok_status();
    case MessageType::check_quorum:
      // Thesis §6.2: a leader that cannot reach a quorum within an election
      // timeout steps down, so clients can find the real leader.
      if (!trk_.quorum_active(id_)) become_follower(term_, kNoNode);
      for (auto& [id, pr] : trk_.progress()) {
        if (id != id_) pr.recent_active = false;
      }
      return ok_status();
    case MessageType::prop:
      return handle_proposal(m);
    case MessageType::read_index:
      handle_read_index(m);
      return ok_status();
    default:
      break;
  }

  Progress* pr = trk_.get(m.from);
  if (pr == nullptr) return ok_status();  // not (or no longer) a member
  switch (m.type) {
    case MessageType::app_resp: {
      pr->recent_active = true;
      if (m.reject) {
        // §5.3: decrement nextIndex and retry; the follower's hint (the last
        // index whose term is ≤ the term it was asked about) skips a whole
        // conflicting term per round trip instead of one entry.
        Index next_probe = m.reject_hint;
        if (m.log_term > 0) next_probe = log_.find_conflict_by_term(m.reject_hint, m.log_term).first;
        if (pr->maybe_decr_to(m.index, next_probe)) {
          if (pr->state == ProgressState::replicate) pr->become_probe();
          send_append(m.from);
        }
        return ok_status();
      }
      bool was_paused = pr->is_paused();
      if (pr->maybe_update(m.index)) {
        if (pr->state == ProgressState::probe) {
          pr->become_replicate();
        } else if (pr->state == ProgressState::snapshot && pr->match + 1 >= log_.first_index()) {
          // The snapshot landed and the log continues from it: stream again.
          pr->become_probe();
          pr->become_replicate();
        } else if (pr->state == ProgressState::replicate) {
          pr->inflights.free_le(m.index);
        }
        if (maybe_commit()) {
          on_leader_commit();
          if (state_ != StateType::leader) return ok_status();
        } else if (was_paused) {
          send_append(m.from);
        }
        // Fill the pipeline window with whatever else is waiting.
        while (trk_.get(m.from) && maybe_send_append(m.from, false)) {
        }
        pr = trk_.get(m.from);
        if (pr && m.from == lead_transferee_ && pr->match == log_.last_index()) {
          send_timeout_now(m.from);  // the transferee has caught up (thesis §3.10)
        }
      }
      return ok_status();
    }
    case MessageType::heartbeat_resp: {
      pr->recent_active = true;
      pr->probe_sent = false;
      // A heartbeat cannot have left in the future: clamp what the peer echoes.
      pr->lease_ack = std::max(pr->lease_ack, std::min(m.index, ticks_));
      // A full pipeline and a live follower: free a slot so it is not stuck
      // when appends were lost.
      if (pr->state == ProgressState::replicate && pr->inflights.full()) pr->inflights.free_first_one();
      if (pr->match < log_.last_index()) send_append(m.from);
      if (m.context.empty()) return ok_status();
      const std::set<NodeId>* acks = read_only_.recv_ack(m.from, m.context);
      if (acks == nullptr || !trk_.has_quorum(*acks)) return ok_status();
      for (ReadIndexStatus& rs : read_only_.advance(m.context)) respond_read_index(rs.request, rs.index);
      return ok_status();
    }
    case MessageType::snap_status:
      if (pr->state != ProgressState::snapshot) return ok_status();
      if (m.reject) pr->pending_snapshot = 0;  // failed: probe from what we know matches
      pr->become_probe();
      // Wait for the next heartbeat response before probing again.
      pr->probe_sent = true;
      return ok_status();
    case MessageType::unreachable:
      if (pr->state == ProgressState::replicate) pr->become_probe();
      return ok_status();
    case MessageType::transfer_leader: {
      if (pr->is_learner) return ok_status();
      NodeId target = m.from;
      if (lead_transferee_ == target || target == id_) return ok_status();
      abort_leader_transfer();
      // The transfer must finish within an election timeout (thesis §3.10).
      election_elapsed_ = 0;
      lead_transferee_ = target;
      if (pr->match == log_.last_index()) {
        send_timeout_now(target);
      } else {
        send_append(target);  // bring it up to date first
      }
      return ok_status();
    }
    default:
      return ok_status();
  }
}

Status Raft::step_candidate(Message& m) {
  MessageType my_resp =
      state_ == StateType::pre_candidate ? MessageType::pre_vote_resp : MessageType::vote_resp;
  switch (m.type) {
    case MessageType::prop:
      return raft_error(errc::proposal_dropped, "no leader");
    case MessageType::app:
    case MessageType::heartbeat:
    case MessageType::snap:
      become_follower(m.term, m.from);  // §5.2: a leader of our term exists
      handle_leader_message(m);
      return ok_status();
    case MessageType::timeout_now:
      return ok_status();
    default:
      break;
  }
  if (m.type != my_resp) return ok_status();
  trk_.record_vote(m.from, !m.reject);
  switch (trk_.tally_votes()) {
    case ProgressTracker::VoteResult::won:
      if (state_ == StateType::pre_candidate) {
        campaign(CampaignKind::election);
      } else {
        become_leader();
        bcast_append();
      }
      break;
    case ProgressTracker::VoteResult::lost:
      // m.term may be our term + 1 for a rejected pre-vote that came back
      // with the voter's (equal) term; either way we stay at our term.
      become_follower(term_, kNoNode);
      break;
    case ProgressTracker::VoteResult::pending:
      break;
  }
  return ok_status();
}

Status Raft::step_follower(Message& m) {
  switch (m.type) {
    case MessageType::prop:
    case MessageType::transfer_leader:
    case MessageType::read_index:
      // Requests for the leader are forwarded to it, if we know it.
      if (lead_ == kNoNode) {
        return raft_error(errc::proposal_dropped, std::string(to_string(m.type)) + ": no leader");
      }
      m.to = lead_;
      send(std::move(m));
      return ok_status();
    case MessageType::app:
    case MessageType::heartbeat:
    case MessageType::snap:
      election_elapsed_ = 0;  // the leader is alive (§5.2)
      lead_ = m.from;
      handle_leader_message(m);
      return ok_status();
    case MessageType::timeout_now:
      // Thesis §3.10: start an election at once, skipping PreVote, with the
      // transfer context so voters inside their lease still answer.
      hup(CampaignKind::transfer);
      return ok_status();
    case MessageType::read_index_resp:
      read_states_.push_back({m.index, m.context});
      return ok_status();
    default:
      return ok_status();
  }
}

}  // namespace cairn::raft
