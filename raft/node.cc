#include "raft/node.h"

#include "raft/errc.h"

namespace cairn::raft {

Result<std::unique_ptr<Node>> Node::create(const Config& cfg, LogStorage* storage, Rng* rng) {
  CAIRN_RETURN_IF_ERROR(cfg.validate());
  if (storage == nullptr || rng == nullptr) return raft_error(errc::invalid_argument, "node: storage and rng are required");
  return std::unique_ptr<Node>(new Node(cfg, storage, rng));
}

Node::Node(const Config& cfg, LogStorage* storage, Rng* rng)
    : raft_(cfg, storage, rng), storage_(storage), prev_soft_(raft_.soft_state()), prev_hard_(raft_.hard_state()) {
  if (cfg.check_invariants) {
    checker_.emplace();
    check_invariants();
  }
}

void Node::check_invariants() {
  if (!checker_) return;
  Status st = checker_->check(raft_);
  if (!st.ok()) raft_panic("node " + std::to_string(raft_.id()) + ": " + st.error().message());
}

void Node::tick() {
  raft_.tick();
  check_invariants();
}

void Node::campaign() {
  Message m;
  m.type = MessageType::hup;
  m.from = raft_.id();
  (void)raft_.step(std::move(m));
  check_invariants();
}

Status Node::propose(std::string data) {
  Message m;
  m.type = MessageType::prop;
  m.from = raft_.id();
  m.entries.push_back(Entry{0, 0, EntryType::normal, std::move(data)});
  Status st = raft_.step(std::move(m));
  check_invariants();
  return st;
}

Status Node::propose_conf_change(const ConfChange& cc) {
  if (raft_.state() != StateType::leader) {
    // Validation needs the leader's view (pending changes, learner progress).
    return raft_error(errc::not_leader, "conf change: propose it on the leader");
  }
  Message m;
  m.type = MessageType::prop;
  m.from = raft_.id();
  m.entries.push_back(Entry{0, 0, EntryType::conf_change, cc.encode()});
  Status st = raft_.step(std::move(m));
  check_invariants();
  return st;
}

namespace {

// Structural checks on a message from the network, so that malformed input
// is refused here instead of tripping an internal invariant later.
Status validate(const Message& m, NodeId self) {
  auto bad = [&](const std::string& why) {
    return raft_error(errc::invalid_message, std::string(to_string(m.type)) + " from " + std::to_string(m.from) + ": " + why);
  };
  if (m.from == kNoNode || m.from == self) return bad("bad sender");
  // Far beyond any real log; refusing them keeps index + 1 from wrapping.
  constexpr uint64_t kLimit = uint64_t{1} << 62;
  bool huge = m.term >= kLimit || m.index >= kLimit || m.log_term >= kLimit || m.commit >= kLimit ||
              m.reject_hint >= kLimit || (m.snapshot && m.snapshot->metadata.index >= kLimit);
  if (huge) return bad("index or term out of range");
  // Only forwarded requests travel without a term; anything else without one
  // would pass for a local message.
  if (m.term == 0 && m.type != MessageType::prop && m.type != MessageType::read_index) return bad("no term");
  if (m.to != self) return bad("addressed to " + std::to_string(m.to));
  switch (m.type) {
    case MessageType::app: {
      Term prev = m.log_term;
      for (size_t k = 0; k < m.entries.size(); ++k) {
        const Entry& e = m.entries[k];
        if (e.index != m.index + 1 + k) return bad("entries not contiguous after the previous index");
        if (e.term < prev || e.term > m.term) return bad("entry terms out of order");
        prev = e.term;
      }
      if (m.log_term > m.term) return bad("previous term from the future");
      break;
    }
    case MessageType::snap:
      if (!m.snapshot || m.snapshot->empty() || m.snapshot->metadata.term > m.term) return bad("missing or bad snapshot");
      break;
    case MessageType::vote:
    case MessageType::pre_vote:
    case MessageType::vote_resp:
    case MessageType::pre_vote_resp:
      if (m.term == 0) return bad("vote without a term");
      if (m.log_term > m.term) return bad("last log term from the future");
      break;
    default:
      if (!m.entries.empty() && m.type != MessageType::prop) return bad("unexpected entries");
      break;
  }
  return ok_status();
}

}  // namespace

Status Node::step(Message m) {
  if (is_local_message(m.type)) {
    return raft_error(errc::step_local_msg, std::string("step: ") + std::string(to_string(m.type)) + " is local");
  }
  CAIRN_RETURN_IF_ERROR(validate(m, raft_.id()));
  if (is_response_message(m.type) && raft_.tracker().get(m.from) == nullptr) {
    return raft_error(errc::step_peer_not_found, "step: response from non-member " + std::to_string(m.from));
  }
  Status st = raft_.step(std::move(m));
  check_invariants();
  return st;
}

Status Node::read_index(std::string context) {
  Message m;
  m.type = MessageType::read_index;
  m.context = std::move(context);
  Status st = raft_.step(std::move(m));
  check_invariants();
  return st;
}

void Node::transfer_leadership(NodeId to) {
  Message m;
  m.type = MessageType::transfer_leader;
  m.from = to;
  m.to = raft_.id();
  (void)raft_.step(std::move(m));
  check_invariants();
}

void Node::report_unreachable(NodeId id) {
  Message m;
  m.type = MessageType::unreachable;
  m.from = id;
  (void)raft_.step(std::move(m));
  check_invariants();
}

void Node::report_snapshot(NodeId id, bool ok) {
  Message m;
  m.type = MessageType::snap_status;
  m.from = id;
  m.reject = !ok;
  (void)raft_.step(std::move(m));
  check_invariants();
}

Status Node::compact(Index index, std::string data) {
  const RaftLog& log = raft_.log();
  if (index > log.applied()) {
    return raft_error(errc::invalid_argument, "compact: index " + std::to_string(index) +
                                                  " is past the applied index " + std::to_string(log.applied()));
  }
  if (log.unstable_snapshot()) {
    return raft_error(errc::snapshot_temporarily_unavailable, "compact: a received snapshot is being installed");
  }
  if (index < storage_->first_index()) {
    return raft_error(errc::snapshot_out_of_date, "compact: index " + std::to_string(index) + " is already compacted");
  }
  auto term = log.term(index);
  if (!term.ok()) return term.error();
  Snapshot snap{{index, *term, raft_.conf_state_at(index)}, std::move(data)};
  CAIRN_RETURN_IF_ERROR(storage_->compact(snap));
  raft_.compact_config_history(index);
  check_invariants();
  return ok_status();
}

bool Node::has_ready() const {
  if (outstanding_) return false;
  const RaftLog& log = raft_.log();
  return raft_.soft_state() != prev_soft_ || raft_.hard_state() != prev_hard_ ||
         !log.unstable_entries().empty() || log.unstable_snapshot().has_value() ||
         log.has_next_committed_entries() || !raft_.messages().empty() ||
         !raft_.read_states().empty();
}

Ready Node::ready() {
  if (outstanding_) raft_panic("ready() called again before advance()");
  raft_.flush_appends();
  RaftLog& log = raft_.log();
  Ready rd;
  Handed h;
  if (raft_.soft_state() != prev_soft_) rd.soft_state = h.soft_state = raft_.soft_state();
  if (raft_.hard_state() != prev_hard_) rd.hard_state = h.hard_state = raft_.hard_state();
  rd.entries = log.unstable_entries();
  rd.must_sync = !rd.entries.empty() || log.unstable_snapshot().has_value() ||
                 (rd.hard_state && (rd.hard_state->term != prev_hard_.term || rd.hard_state->vote != prev_hard_.vote));
  if (!rd.entries.empty()) h.last_entry = Entry{rd.entries.back().term, rd.entries.back().index, EntryType::normal, {}};
  if (log.unstable_snapshot()) {
    rd.snapshot = *log.unstable_snapshot();
    h.snapshot_index = rd.snapshot->metadata.index;
  }
  rd.committed_entries = log.next_committed_entries();
  if (!rd.committed_entries.empty()) h.last_committed = rd.committed_entries.back().index;
  rd.messages = std::move(raft_.messages());
  raft_.messages().clear();
  rd.read_states = std::move(raft_.read_states());
  raft_.read_states().clear();
  outstanding_ = std::move(h);
  return rd;
}

void Node::advance() {
  if (!outstanding_) raft_panic("advance() without ready()");
  Handed h = std::move(*outstanding_);
  outstanding_.reset();
  RaftLog& log = raft_.log();
  if (h.soft_state) prev_soft_ = *h.soft_state;
  if (h.hard_state) prev_hard_ = *h.hard_state;
  // The snapshot was installed, then the entries after it applied.
  if (h.snapshot_index != 0) {
    log.stable_snap_to(h.snapshot_index);
    if (h.snapshot_index > log.applied()) log.applied_to(h.snapshot_index);
  }
  if (h.last_committed != 0) log.applied_to(h.last_committed);
  if (h.last_entry) log.stable_to(h.last_entry->index, h.last_entry->term);
  raft_.self_persisted();
  check_invariants();
}

}  // namespace cairn::raft
