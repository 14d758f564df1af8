#include "test/raft/interaction_env.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "raft/errc.h"

namespace cairn::raft::testing {
namespace {

std::vector<std::string> split(const std::string& s) {
  std::istringstream is(s);
  std::vector<std::string> out;
  for (std::string w; is >> w;) out.push_back(w);
  return out;
}

uint64_t num(const std::string& s) {
  size_t pos = 0;
  uint64_t v = std::stoull(s, &pos);
  if (pos != s.size()) throw std::invalid_argument("not a number: " + s);
  return v;
}

std::string ids_str(const std::vector<NodeId>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? " " : "") + std::to_string(ids[i]);
  return out;
}

std::string conf_str(const ConfState& cs) {
  std::string out = "voters=(" + ids_str(cs.voters) + ")";
  if (!cs.learners.empty()) out += " learners=(" + ids_str(cs.learners) + ")";
  return out;
}

const char* state_name(StateType s) {
  switch (s) {
    case StateType::follower: return "StateFollower";
    case StateType::pre_candidate: return "StatePreCandidate";
    case StateType::candidate: return "StateCandidate";
    case StateType::leader: return "StateLeader";
  }
  return "?";
}

}  // namespace

InteractionEnv::Peer* InteractionEnv::peer(NodeId id) {
  auto it = peers_.find(id);
  if (it == peers_.end()) throw std::invalid_argument("no node " + std::to_string(id));
  return &it->second;
}

std::set<NodeId> InteractionEnv::ids_from(const Args& a, size_t from) {
  std::set<NodeId> ids;
  for (size_t i = from; i < a.size(); ++i) ids.insert(num(a[i]));
  if (ids.empty()) {
    for (auto& [id, p] : peers_) ids.insert(id);
  }
  return ids;
}

bool InteractionEnv::linked(NodeId a, NodeId b) const {
  auto ga = group_.find(a);
  auto gb = group_.find(b);
  return (ga == group_.end() ? 0 : ga->second) == (gb == group_.end() ? 0 : gb->second);
}

std::string InteractionEnv::handle(const std::string& line) {
  Args a = split(line);
  if (a.empty()) return "";
  const std::string& cmd = a[0];
  try {
    auto need = [&](size_t n) {
      if (a.size() < n) throw std::invalid_argument(cmd + ": needs " + std::to_string(n - 1) + " arguments");
    };
    if (cmd == "add-nodes") return add_nodes(a);
    if (cmd == "campaign") {
      need(2);
      peer(num(a[1]))->node->campaign();
      return "ok";
    }
    if (cmd == "propose") {
      need(3);
      Status st = peer(num(a[1]))->node->propose(a[2]);
      return st.ok() ? "ok" : "error: " + st.error().message();
    }
    if (cmd == "propose-conf-change") {
      need(4);
      ConfChange cc;
      if (a[2] == "add") cc.type = ConfChangeType::add_node;
      else if (a[2] == "add-learner") cc.type = ConfChangeType::add_learner;
      else if (a[2] == "remove") cc.type = ConfChangeType::remove_node;
      else throw std::invalid_argument("conf change type must be add, add-learner or remove");
      cc.node_id = num(a[3]);
      Status st = peer(num(a[1]))->node->propose_conf_change(cc);
      return st.ok() ? "ok" : "error: " + st.error().message();
    }
    if (cmd == "read-index") {
      need(3);
      Status st = peer(num(a[1]))->node->read_index(a[2]);
      return st.ok() ? "ok" : "error: " + st.error().message();
    }
    if (cmd == "transfer-leadership") {
      need(3);
      peer(num(a[1]))->node->transfer_leadership(num(a[2]));
      return "ok";
    }
    if (cmd == "tick") {
      need(2);
      Peer* p = peer(num(a[1]));
      uint64_t n = a.size() > 2 ? num(a[2]) : 1;
      for (uint64_t i = 0; i < n; ++i) p->node->tick();
      return "ok";
    }
    if (cmd == "tick-heartbeat") {
      need(2);
      Peer* p = peer(num(a[1]));
      for (int i = 0; i < p->cfg.heartbeat_tick; ++i) p->node->tick();
      return "ok";
    }
    if (cmd == "tick-election") {
      // Exactly enough ticks for the node's election timer to fire: its
      // randomized timeout as a follower, the check-quorum period as a leader.
      need(2);
      Peer* p = peer(num(a[1]));
      const Raft& r = p->node->raft();
      int n = r.state() == StateType::leader ? p->cfg.election_tick - r.election_elapsed()
                                             : r.randomized_election_timeout() - r.election_elapsed();
      for (int i = 0; i < n; ++i) p->node->tick();
      return "ok";
    }
    if (cmd == "process-ready") {
      std::string out;
      for (NodeId id : ids_from(a, 1)) out += process_ready(id);
      return out.empty() ? "ok" : out;
    }
    if (cmd == "deliver-msgs" || cmd == "drop-msgs") {
      std::string out;
      for (NodeId id : ids_from(a, 1)) out += deliver(id, cmd == "drop-msgs");
      return out.empty() ? "ok" : out;
    }
    if (cmd == "stabilize") {
      std::string out = stabilize(ids_from(a, 1));
      return out.empty() ? "ok" : out;
    }
    if (cmd == "partition") {
      // partition 1 2 / 3 4 5: groups separated by "/"
      group_.clear();
      int g = 1;
      for (size_t i = 1; i < a.size(); ++i) {
        if (a[i] == "/") {
          ++g;
        } else {
          group_[num(a[i])] = g;
        }
      }
      return "ok";
    }
    if (cmd == "heal") {
      group_.clear();
      return "ok";
    }
    if (cmd == "crash") {
      need(2);
      Peer* p = peer(num(a[1]));
      p->node.reset();
      p->inbox.clear();
      p->crashed = true;
      return "ok";
    }
    if (cmd == "restart") {
      need(2);
      return restart(num(a[1]));
    }
    if (cmd == "compact") {
      need(3);
      Peer* p = peer(num(a[1]));
      Index idx = num(a[2]);
      std::string data;
      // applied[k] holds index k + 2: index 1 is the bootstrap snapshot.
      for (Index i = 0; i + 2 <= idx && i < p->applied.size(); ++i) data += (i ? "," : "") + p->applied[i];
      Status st = p->node->compact(idx, data);
      return st.ok() ? "ok" : "error: " + st.error().message();
    }
    if (cmd == "status") {
      need(2);
      return status(num(a[1]));
    }
    if (cmd == "raft-log") {
      need(2);
      return raft_log(num(a[1]));
    }
    if (cmd == "raft-state") return raft_state();
    if (cmd == "applied") {
      need(2);
      Peer* p = peer(num(a[1]));
      std::string out = "applied index " + std::to_string(p->applied_index) + ":";
      for (const std::string& s : p->applied) out += " " + (s.empty() ? std::string("<no-op>") : s);
      return out;
    }
    return "error: unknown command " + cmd;
  } catch (const std::exception& e) {
    return std::string("error: ") + e.what();
  }
}

std::string InteractionEnv::add_nodes(const Args& a) {
  if (a.size() < 2) throw std::invalid_argument("add-nodes: needs a count");
  uint64_t n = num(a[1]);
  NodeId first = peers_.empty() ? 1 : peers_.rbegin()->first + 1;
  ConfState cs;
  bool conf_given = false;
  Config base = Config::defaults(1);
  base.check_invariants = true;
  for (size_t i = 2; i < a.size(); ++i) {
    auto eq = a[i].find('=');
    if (eq == std::string::npos) throw std::invalid_argument("add-nodes: option without '=': " + a[i]);
    std::string k = a[i].substr(0, eq), v = a[i].substr(eq + 1);
    auto list = [&](std::vector<NodeId>& out) {
      std::istringstream is(v);
      for (std::string t; std::getline(is, t, ',');) {
        if (!t.empty()) out.push_back(num(t));
      }
      conf_given = true;
    };
    if (k == "voters") list(cs.voters);
    else if (k == "learners") list(cs.learners);
    else if (k == "pre-vote") base.pre_vote = v == "true";
    else if (k == "check-quorum") base.check_quorum = v == "true";
    else if (k == "read-only") base.read_only_option = v == "lease" ? ReadOnlyOption::lease : ReadOnlyOption::safe;
    else if (k == "election") base.election_tick = static_cast<int>(num(v));
    else if (k == "heartbeat") base.heartbeat_tick = static_cast<int>(num(v));
    else if (k == "max-inflight") base.max_inflight_msgs = static_cast<int>(num(v));
    else if (k == "max-size") base.max_size_per_msg = num(v);
    else throw std::invalid_argument("add-nodes: unknown option " + k);
  }
  // The first nodes form the cluster; nodes added later start empty, outside
  // any configuration, until a leader adds them.
  if (!conf_given && peers_.empty()) {
    for (uint64_t i = 0; i < n; ++i) cs.voters.push_back(first + i);
  }
  std::sort(cs.voters.begin(), cs.voters.end());
  std::sort(cs.learners.begin(), cs.learners.end());
  std::string out;
  for (uint64_t i = 0; i < n; ++i) {
    NodeId id = first + i;
    Peer p;
    p.cfg = base;
    p.cfg.id = id;
    // Nodes added later to a running cluster start empty and learn the
    // configuration from the leader (snapshot or log).
    p.storage = cs.contains(id) ? std::make_unique<MemoryStorage>(cs) : std::make_unique<MemoryStorage>();
    p.rng = std::make_unique<SeededRng>(id);
    auto node = Node::create(p.cfg, p.storage.get(), p.rng.get());
    if (!node.ok()) return "error: " + node.error().message();
    p.node = std::move(node).value();
    const ConfState& now = p.node->raft().tracker().config();
    out += "node " + std::to_string(id) + ": " + (now.contains(id) || !now.voters.empty() ? conf_str(now) : "empty, not a member") + "\n";
    peers_.emplace(id, std::move(p));
  }
  if (!out.empty()) out.pop_back();
  return out;
}

std::string InteractionEnv::restart(NodeId id) {
  Peer* p = peer(id);
  // Only what reached storage survives; the state machine restarts from the
  // snapshot and re-applies committed entries (Config::applied stays 0 here
  // beyond the snapshot, so the log is replayed).
  auto snap = p->storage->snapshot();
  p->applied.clear();
  p->applied_index = snap->metadata.index;
  if (!snap->data.empty()) {
    std::istringstream is(snap->data);
    for (std::string t; std::getline(is, t, ',');) p->applied.push_back(t);
  }
  p->rng = std::make_unique<SeededRng>(id * 1000 + 1);
  auto node = Node::create(p->cfg, p->storage.get(), p->rng.get());
  if (!node.ok()) return "error: " + node.error().message();
  p->node = std::move(node).value();
  p->crashed = false;
  const Raft& r = p->node->raft();
  return "node " + std::to_string(id) + " restarted: term " + std::to_string(r.term()) + " vote " +
         std::to_string(r.vote()) + " commit " + std::to_string(r.log().committed()) + " last " +
         std::to_string(r.log().last_index()) + " " + conf_str(r.tracker().config());
}

void InteractionEnv::send(const Message& m, std::string& out) {
  // Every message crosses the wire codec, so the scenarios exercise it too.
  auto decoded = decode(encode(m));
  if (!decoded.ok() || !(*decoded == m)) throw std::runtime_error("codec round trip failed: " + describe(m));
  auto it = peers_.find(m.to);
  if (it == peers_.end() || it->second.crashed || !linked(m.from, m.to)) {
    out += "  dropped: " + describe(m) + "\n";
    if (m.type == MessageType::snap) peer(m.from)->node->report_snapshot(m.to, false);
    return;
  }
  it->second.inbox.push_back(std::move(decoded).value());
}

std::string InteractionEnv::process_ready(NodeId id) {
  Peer* p = peer(id);
  if (p->crashed || !p->node->has_ready()) return "";
  Ready rd = p->node->ready();
  std::ostringstream os;
  os << "> " << id << " handling Ready\n";
  os << "  Ready MustSync=" << (rd.must_sync ? "true" : "false") << ":\n";
  if (rd.soft_state) {
    os << "  Lead:" << rd.soft_state->leader << " State:" << state_name(rd.soft_state->state) << "\n";
  }
  if (rd.hard_state) {
    os << "  HardState Term:" << rd.hard_state->term << " Vote:" << rd.hard_state->vote
       << " Commit:" << rd.hard_state->commit << "\n";
  }
  if (!rd.entries.empty()) {
    os << "  Entries:\n";
    for (const Entry& e : rd.entries) os << "  " << describe(e) << "\n";
  }
  if (rd.snapshot) {
    os << "  Snapshot Index:" << rd.snapshot->metadata.index << " Term:" << rd.snapshot->metadata.term << " "
       << conf_str(rd.snapshot->metadata.conf_state) << "\n";
  }
  if (!rd.committed_entries.empty()) {
    os << "  CommittedEntries:\n";
    for (const Entry& e : rd.committed_entries) os << "  " << describe(e) << "\n";
  }
  if (!rd.read_states.empty()) {
    os << "  ReadStates:\n";
    for (const ReadState& rs : rd.read_states) os << "  Index:" << rs.index << " Context:" << rs.context << "\n";
  }
  // Persist, then send, then apply (node.h).
  if (rd.snapshot) {
    if (Status st = p->storage->apply_snapshot(*rd.snapshot); !st.ok()) throw std::runtime_error(st.error().message());
  }
  if (Status st = p->storage->append(rd.entries); !st.ok()) throw std::runtime_error(st.error().message());
  if (rd.hard_state) (void)p->storage->set_hard_state(*rd.hard_state);
  std::string sent;
  if (!rd.messages.empty()) {
    os << "  Messages:\n";
    for (const Message& m : rd.messages) os << "  " << describe(m) << "\n";
  }
  for (const Message& m : rd.messages) send(m, sent);
  os << sent;
  if (rd.snapshot) {
    p->applied.clear();
    std::istringstream is(rd.snapshot->data);
    for (std::string t; std::getline(is, t, ',');) p->applied.push_back(t);
    p->applied_index = rd.snapshot->metadata.index;
  }
  for (const Entry& e : rd.committed_entries) {
    if (e.index <= p->applied_index) throw std::runtime_error("entry applied twice");
    p->applied.push_back(e.type == EntryType::normal ? e.data : describe(e));
    p->applied_index = e.index;
  }
  p->node->advance();
  return os.str();
}

std::string InteractionEnv::deliver(NodeId id, bool drop) {
  Peer* p = peer(id);
  if (p->inbox.empty()) return "";
  std::vector<Message> msgs = std::move(p->inbox);
  p->inbox.clear();
  std::ostringstream os;
  os << "> " << id << (drop ? " dropping messages\n" : " receiving messages\n");
  for (Message& m : msgs) {
    os << "  " << describe(m) << "\n";
    if (drop) {
      if (m.type == MessageType::snap && peers_.count(m.from) && !peer(m.from)->crashed) {
        peer(m.from)->node->report_snapshot(id, false);
      }
      continue;
    }
    if (m.type == MessageType::snap && peers_.count(m.from) && !peer(m.from)->crashed) {
      peer(m.from)->node->report_snapshot(id, true);
    }
    Status st = p->node->step(std::move(m));
    if (!st.ok()) os << "  error: " << st.error().message() << "\n";
  }
  return os.str();
}

std::string InteractionEnv::stabilize(const std::set<NodeId>& ids) {
  std::string out;
  for (int round = 0; round < 1000; ++round) {
    bool busy = false;
    for (NodeId id : ids) {
      std::string s = process_ready(id);
      busy |= !s.empty();
      out += s;
    }
    for (NodeId id : ids) {
      std::string s = deliver(id, false);
      busy |= !s.empty();
      out += s;
    }
    if (!busy) break;
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string InteractionEnv::status(NodeId id) {
  const Raft& r = peer(id)->node->raft();
  std::ostringstream os;
  os << id << ": " << state_name(r.state()) << " term=" << r.term() << " lead=" << r.leader()
     << " commit=" << r.log().committed() << " applied=" << r.log().applied()
     << " last=" << r.log().last_index();
  if (r.state() == StateType::leader) {
    for (const auto& [pid, pr] : r.tracker().progress()) os << "\n" << pid << ": " << pr.describe();
  }
  return os.str();
}

std::string InteractionEnv::raft_log(NodeId id) {
  Peer* p = peer(id);
  std::ostringstream os;
  Index first = p->storage->first_index(), last = p->storage->last_index();
  if (first > 1) os << "snapshot at " << first - 1 << " term " << *p->storage->term(first - 1) << "\n";
  if (last < first) {
    os << "log is empty: first index=" << first << ", last index=" << last;
    return os.str();
  }
  auto ents = p->storage->entries(first, last + 1, UINT64_MAX);
  for (const Entry& e : *ents) os << describe(e) << "\n";
  std::string out = os.str();
  out.pop_back();
  return out;
}

std::string InteractionEnv::raft_state() {
  std::ostringstream os;
  bool first = true;
  for (auto& [id, p] : peers_) {
    if (!first) os << "\n";
    first = false;
    if (p.crashed) {
      os << id << ": crashed";
      continue;
    }
    const Raft& r = p.node->raft();
    os << id << ": " << state_name(r.state()) << " (" << (r.tracker().config().is_voter(id) ? "Voter" : r.tracker().config().is_learner(id) ? "Learner" : "Non-member")
       << ") Term:" << r.term() << " Lead:" << r.leader() << " Commit:" << r.log().committed() << " "
       << conf_str(r.tracker().config());
  }
  return os.str();
}

}  // namespace cairn::raft::testing
