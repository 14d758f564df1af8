#include "test/sim/raft/sim.h"

#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "core/rng.h"
#include "raft/errc.h"
#include "raft/node.h"
#include "raft/storage.h"
#include "test/sim/raft/kv.h"

namespace cairn::raft::sim {
namespace {

using Time = uint64_t;          // simulated time units
constexpr Time kTick = 10;      // one Raft tick
constexpr Time kClientTimeout = 40 * kTick;
const char* const kKeys[] = {"a", "b", "c"};

struct SimNode {
  NodeId id = 0;
  uint64_t epoch = 0;  // incarnation: events of a crashed incarnation are void
  bool up = true;
  std::unique_ptr<MemoryStorage> disk;  // what survives a crash
  std::unique_ptr<SeededRng> rng;
  std::unique_ptr<Node> node;
  bool fsync_pending = false;
  Ready in_flight;  // handed out by ready(), not yet durable
  KvStore kv;
  Index applied = 0;
  struct PendingRead {
    std::string context;
    Index index;
  };
  std::vector<PendingRead> reads;
};

struct Client {
  uint64_t id = 0;
  uint64_t seq = 0;
  bool busy = false;
  size_t op = 0;  // index into history
  NodeId node = 0;
  std::string context;
};

enum class EventKind { tick, deliver, fsync, client, client_timeout, nemesis, crash, restart };

struct Event {
  EventKind kind;
  NodeId node = 0;
  uint64_t epoch = 0;
  uint64_t client = 0;
  uint64_t seq = 0;
  Message msg;
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& opts) : opts_(opts), rng_(opts.seed) {}
  SimResult run();

 private:
  // setup and event plumbing
  void pick_parameters();
  void start_node(NodeId id);
  void schedule(Time delay, Event e) { queue_.emplace(std::make_pair(now_ + delay, seq_++), std::move(e)); }
  void handle(Event& e);
  template <typename F>
  void trace(F&& describe_event) {
    if (opts_.trace) std::printf("[t=%llu] %s\n", static_cast<unsigned long long>(now_), describe_event().c_str());
  }
  void fail(const std::string& why);

  // nodes
  void kick(SimNode& n);
  void on_fsync(SimNode& n);
  void apply_entry(SimNode& n, const Entry& e);
  void serve_reads(SimNode& n);
  void send(const Message& m);
  void deliver(Message& m);
  void crash(SimNode& n);
  void restart(SimNode& n);
  bool linked(NodeId a, NodeId b) const;
  SimNode* leader();

  // clients and faults
  void client_act(Client& c);
  void client_done(Client& c, const std::string& read_value);
  void nemesis();
  void heal_all();

  // checks
  void check_cluster();
  void check_liveness();

  SimOptions opts_;
  SeededRng rng_;
  SimResult result_;
  Time now_ = 0;
  uint64_t seq_ = 0;
  std::map<std::pair<Time, uint64_t>, Event> queue_;
  std::map<NodeId, SimNode> nodes_;
  std::map<NodeId, int> group_;
  std::vector<Client> clients_;
  std::vector<Operation> history_;
  std::vector<bool> abandoned_;  // reads that never answered: no constraint
  bool faults_on_ = true;

  // parameters drawn from the seed
  int n_nodes_ = 3;
  // Each directed link has its own loss, duplication and delay; a few are
  // bad, which makes followers lag and leaders replicate unevenly.
  struct Link {
    double drop = 0;
    double dup = 0;
    Time max_delay = 10;
  };
  std::map<std::pair<NodeId, NodeId>, Link> links_;
  double drop_ = 0, dup_ = 0;
  Time max_delay_ = 10;
  Time max_fsync_ = 3;
  Index compact_every_ = 30;
  bool membership_ = false;
  bool pre_vote_ = true;
  bool check_quorum_ = true;
  bool lease_reads_ = false;
  // Leadership churn: no PreVote/CheckQuorum, one entry per append, leaders
  // crash soon after election or commit. Elections pile up and followers hold
  // partial logs: the ground on which Figure 8 (§5.4.2) happens.
  bool churn_ = false;
  ConfState initial_;

  // what the checks have seen
  std::map<Term, NodeId> leaders_;                              // §5.2 Election Safety
  std::map<std::pair<Index, Term>, std::pair<std::string, Term>> written_;  // §5.3 Log Matching
  std::map<Index, std::pair<Term, std::string>> applied_;       // §5.4.3 State Machine Safety
  std::map<Term, Index> commit_in_term_;  // highest index a leader of the term committed
  std::map<Index, Term> committed_term_;  // term of each entry known committed
  bool clients_on_ = true;
};

void Simulation::fail(const std::string& why) {
  if (!result_.ok) return;
  result_.ok = false;
  std::ostringstream os;
  os << "t=" << now_ << ": " << why;
  result_.failure = os.str();
}

void Simulation::pick_parameters() {
  n_nodes_ = rng_.uniform(2) == 0 ? 3 : 5;
  drop_ = rng_.unit() * 0.15;
  dup_ = rng_.unit() * 0.05;
  max_delay_ = 2 + rng_.uniform(3 * kTick);
  for (NodeId a = 1; a <= static_cast<NodeId>(n_nodes_); ++a) {
    for (NodeId b = 1; b <= static_cast<NodeId>(n_nodes_); ++b) {
      if (a == b) continue;
      Link l;
      bool bad = rng_.uniform(10) == 0;
      l.drop = bad ? 0.2 + rng_.unit() * 0.5 : drop_ * rng_.unit() * 2;
      l.dup = dup_ * rng_.unit() * 2;
      l.max_delay = 1 + rng_.uniform(bad ? 6 * kTick : max_delay_);
      links_[{a, b}] = l;
    }
  }
  max_fsync_ = 1 + rng_.uniform(4);
  compact_every_ = 10 + rng_.uniform(40);
  membership_ = n_nodes_ == 5 && rng_.uniform(2) == 0;
  // Both protections off sometimes: more elections, more term churn, more
  // chances for the §5.4 corner cases (Figure 8).
  pre_vote_ = rng_.uniform(3) != 0;
  check_quorum_ = rng_.uniform(3) != 0;
  // A removed server that never learns of its removal keeps campaigning;
  // without CheckQuorum's vote lease (thesis §4.2.3) it can deny the cluster
  // a stable leader forever, which the liveness check would rightly report.
  if (membership_) check_quorum_ = true;
  // Lease reads (thesis §6.4.1) need CheckQuorum; the simulated clocks tick
  // at one rate, which is the lease's assumption.
  lease_reads_ = check_quorum_ && rng_.uniform(3) == 0;
  churn_ = !membership_ && rng_.uniform(4) == 0;
  if (churn_) {
    pre_vote_ = false;
    check_quorum_ = false;
    lease_reads_ = false;
  }
  for (NodeId id = 1; id <= static_cast<NodeId>(n_nodes_); ++id) {
    // With membership changes on, node 5 starts outside the cluster and is
    // added as a learner, promoted, and others removed and re-added later.
    if (!(membership_ && id == 5)) initial_.voters.push_back(id);
  }
  trace([&] {
    std::ostringstream os;
    os << "seed " << opts_.seed << ": nodes=" << n_nodes_ << " drop=" << drop_ << " dup=" << dup_
       << " max_delay=" << max_delay_ << " max_fsync=" << max_fsync_ << " compact_every=" << compact_every_
       << " membership=" << membership_ << " pre_vote=" << pre_vote_ << " check_quorum=" << check_quorum_
       << " lease_reads=" << lease_reads_ << " churn=" << churn_;
    return os.str();
  });
}

void Simulation::start_node(NodeId id) {
  SimNode& n = nodes_[id];
  n.id = id;
  n.up = true;
  ++n.epoch;
  if (!n.disk) {
    n.disk = initial_.contains(id) ? std::make_unique<MemoryStorage>(initial_) : std::make_unique<MemoryStorage>();
  }
  // The state machine restarts from the durable snapshot (DESIGN.md: the log
  // is compacted only below the durably applied index).
  auto snap = n.disk->snapshot();
  n.kv.restore(snap->data);
  n.applied = snap->metadata.index;
  n.reads.clear();
  n.fsync_pending = false;
  n.rng = std::make_unique<SeededRng>(rng_.next_u64());
  Config cfg = Config::defaults(id);
  cfg.check_invariants = true;
  cfg.applied = n.applied;
  cfg.pre_vote = pre_vote_;
  cfg.check_quorum = check_quorum_;
  if (lease_reads_) cfg.read_only_option = ReadOnlyOption::lease;
  // Sometimes one entry per append, so followers often hold a prefix of what the leader sent.
  cfg.max_size_per_msg = churn_ || rng_.uniform(3) == 0 ? 0 : rng_.uniform(4096);
  cfg.max_inflight_msgs = 1 + static_cast<int>(rng_.uniform(8));
  auto node = Node::create(cfg, n.disk.get(), n.rng.get());
  if (!node.ok()) {
    fail("node create: " + node.error().message());
    return;
  }
  n.node = std::move(node).value();
  Event t{EventKind::tick, id, n.epoch};
  schedule(1 + rng_.uniform(kTick), std::move(t));
}

bool Simulation::linked(NodeId a, NodeId b) const {
  auto ga = group_.find(a), gb = group_.find(b);
  return (ga == group_.end() ? 0 : ga->second) == (gb == group_.end() ? 0 : gb->second);
}

SimNode* Simulation::leader() {
  SimNode* best = nullptr;
  for (auto& [id, n] : nodes_) {
    if (n.up && n.node->state() == StateType::leader && (!best || n.node->term() > best->node->term())) best = &n;
  }
  return best;
}

void Simulation::kick(SimNode& n) {
  if (!n.up || n.fsync_pending || !n.node->has_ready()) return;
  n.in_flight = n.node->ready();
  n.fsync_pending = true;
  // A leader sends before its fsync when its term and vote are durable, as
  // raft/io's driver does (thesis §10.2.1); a crash then loses entries it
  // already sent.
  Ready& rd = n.in_flight;
  auto durable = n.disk->initial_state();
  if (n.node->state() == StateType::leader && !rd.snapshot && durable.ok() &&
      (!rd.hard_state || (rd.hard_state->term == durable->hard_state.term && rd.hard_state->vote == durable->hard_state.vote))) {
    for (const Message& m : rd.messages) send(m);
    rd.messages.clear();
  }
  schedule(1 + rng_.uniform(max_fsync_), Event{EventKind::fsync, n.id, n.epoch});
}

void Simulation::on_fsync(SimNode& n) {
  Ready rd = std::move(n.in_flight);
  n.fsync_pending = false;
  // 1. persist
  if (rd.snapshot) {
    if (Status st = n.disk->apply_snapshot(*rd.snapshot); !st.ok()) return fail("apply_snapshot: " + st.error().message());
  }
  if (!rd.entries.empty()) {
    if (Status st = n.disk->append(rd.entries); !st.ok()) return fail("append: " + st.error().message());
    // §5.3 Log Matching: an (index, term) names one entry, with one
    // predecessor term, in every log that holds it.
    for (const Entry& e : rd.entries) {
      auto prev = n.disk->term(e.index - 1);
      Term prev_term = prev.ok() ? *prev : 0;
      auto [it, inserted] = written_.try_emplace({e.index, e.term}, std::string(1, static_cast<char>(e.type)) + e.data, prev_term);
      if (!inserted && (it->second.first != std::string(1, static_cast<char>(e.type)) + e.data ||
                        (prev.ok() && it->second.second != prev_term))) {
        return fail("log matching violated at node " + std::to_string(n.id) + " entry " + describe(e));
      }
    }
  }
  if (rd.hard_state) (void)n.disk->set_hard_state(*rd.hard_state);
  // 2. send
  for (const Message& m : rd.messages) send(m);
  // 3. apply
  if (rd.snapshot) {
    const SnapshotMetadata& md = rd.snapshot->metadata;
    auto it = applied_.find(md.index);
    if (it != applied_.end() && it->second.first != md.term) {
      return fail("snapshot at " + std::to_string(md.index) + " disagrees with the applied entry's term");
    }
    n.kv.restore(rd.snapshot->data);
    n.applied = md.index;
  }
  for (const Entry& e : rd.committed_entries) {
    apply_entry(n, e);
    if (!result_.ok) return;
  }
  for (const ReadState& rs : rd.read_states) n.reads.push_back({rs.context, rs.index});
  serve_reads(n);
  n.node->advance();
  // Compact now and then: the simulated state machine snapshot is the KV image.
  if (n.applied >= n.disk->first_index() + compact_every_) {
    Status st = n.node->compact(n.applied, n.kv.serialize());
    if (!st.ok() && !(st.error().code() == errc::snapshot_temporarily_unavailable)) {
      return fail("compact: " + st.error().message());
    }
  }
  kick(n);
}

void Simulation::apply_entry(SimNode& n, const Entry& e) {
  if (e.index != n.applied + 1) {
    return fail("node " + std::to_string(n.id) + " applies " + std::to_string(e.index) + " after " + std::to_string(n.applied));
  }
  // §5.4.3 State Machine Safety: no two servers apply different entries at one index.
  auto [it, inserted] = applied_.try_emplace(e.index, e.term, e.data);
  if (!inserted && (it->second.first != e.term || it->second.second != e.data)) {
    return fail("state machine safety violated at index " + std::to_string(e.index) + ": node " +
                std::to_string(n.id) + " applies " + describe(e) + ", another applied term " +
                std::to_string(it->second.first));
  }
  n.applied = e.index;
  if (e.type == EntryType::conf_change) {
    ++result_.conf_changes;
    trace([&] { return "node " + std::to_string(n.id) + " applies " + describe(e); });
    return;
  }
  if (e.data.empty()) return;  // a leader's no-op
  auto cmd = KvCommand::decode(e.data);
  if (!cmd) return fail("undecodable command at " + std::to_string(e.index));
  n.kv.apply(*cmd);
  if (cmd->client < clients_.size()) {
    Client& c = clients_[cmd->client];
    if (c.busy && c.seq == cmd->seq && c.node == n.id && history_[c.op].is_write) client_done(c, "");
  }
}

void Simulation::serve_reads(SimNode& n) {
  // Thesis §6.4 step 4: answer once the state machine has caught up to the read index.
  for (size_t i = 0; i < n.reads.size();) {
    if (n.reads[i].index > n.applied) {
      ++i;
      continue;
    }
    std::string ctx = n.reads[i].context;
    n.reads.erase(n.reads.begin() + static_cast<std::ptrdiff_t>(i));
    for (Client& c : clients_) {
      // A duplicated read state may arrive after the read was answered.
      if (c.busy && !history_[c.op].is_write && c.context == ctx && c.node == n.id) {
        client_done(c, n.kv.get(history_[c.op].key));
      }
    }
  }
}

void Simulation::send(const Message& m) {
  auto it = links_.find({m.from, m.to});
  Link link = it == links_.end() || !faults_on_ ? Link{0, 0, max_delay_} : it->second;
  auto copies = 1 + (rng_.unit() < link.dup ? 1 : 0);
  if (rng_.unit() < link.drop) {
    trace([&] { return "drop " + describe(m); });
    if (m.type == MessageType::snap) {
      if (auto it = nodes_.find(m.from); it != nodes_.end() && it->second.up) it->second.node->report_snapshot(m.to, false);
    }
    return;
  }
  // Every message crosses the wire format, as it would between processes.
  auto wire = decode(encode(m));
  if (!wire.ok() || !(*wire == m)) return fail("codec round trip changed " + describe(m));
  for (int i = 0; i < copies; ++i) {
    Event e{EventKind::deliver};
    e.msg = *wire;
    schedule(1 + rng_.uniform(link.max_delay), std::move(e));
  }
}

void Simulation::deliver(Message& m) {
  auto it = nodes_.find(m.to);
  bool ok = it != nodes_.end() && it->second.up && linked(m.from, m.to);
  auto from = nodes_.find(m.from);
  if (m.type == MessageType::snap && from != nodes_.end() && from->second.up) {
    // The transport tells the sender how the snapshot went.
    from->second.node->report_snapshot(m.to, ok);
    if (ok) ++result_.snapshots_sent;
  }
  if (!ok) {
    trace([&] { return "lost " + describe(m); });
    if (from != nodes_.end() && from->second.up && !linked(m.from, m.to)) from->second.node->report_unreachable(m.to);
    return;
  }
  trace([&] { return "deliver " + describe(m); });
  SimNode& n = it->second;
  (void)n.node->step(std::move(m));
  kick(n);
  if (from != nodes_.end() && from->second.up) kick(from->second);
}

void Simulation::crash(SimNode& n) {
  trace([&] { return "crash node " + std::to_string(n.id) + (n.fsync_pending ? " (losing an unsynced Ready)" : ""); });
  ++result_.crashes;
  n.up = false;
  n.node.reset();
  n.fsync_pending = false;
  n.in_flight = Ready{};
  ++n.epoch;
}

void Simulation::restart(SimNode& n) {
  start_node(n.id);
  const Raft& r = n.node->raft();
  trace([&] {
    return "restart node " + std::to_string(n.id) + ": term " + std::to_string(r.term()) + " commit " +
           std::to_string(r.log().committed()) + " last " + std::to_string(r.log().last_index());
  });
}

void Simulation::client_act(Client& c) {
  if (c.busy || !clients_on_) return;
  ++c.seq;
  // Prefer the node a random node believes leads; any node works (followers forward).
  std::vector<NodeId> up;
  for (auto& [id, n] : nodes_) {
    if (n.up) up.push_back(id);
  }
  if (up.empty()) {
    schedule(kTick, Event{EventKind::client, 0, 0, c.id});
    return;
  }
  NodeId target = up[rng_.uniform(up.size())];
  NodeId hint = nodes_[target].node->leader();
  if (hint != kNoNode && nodes_.count(hint) && nodes_[hint].up && rng_.uniform(4) != 0) target = hint;
  SimNode& n = nodes_[target];
  Operation op;
  op.client = c.id;
  op.key = kKeys[rng_.uniform(3)];
  op.invoked = now_;
  op.is_write = rng_.uniform(5) < 3;
  Status st;
  if (op.is_write) {
    op.value = "c" + std::to_string(c.id) + "." + std::to_string(c.seq);
    st = n.node->propose(KvCommand{c.id, c.seq, op.key, op.value}.encode());
  } else {
    c.context = "r" + std::to_string(c.id) + "." + std::to_string(c.seq);
    st = n.node->read_index(c.context);
  }
  if (!st.ok()) {
    // Refused on the spot: it never happened. Try again a little later.
    --c.seq;
    schedule(1 + rng_.uniform(2 * kTick), Event{EventKind::client, 0, 0, c.id});
    return;
  }
  trace([&] {
    return "client " + std::to_string(c.id) + (op.is_write ? " put " + op.key + "=" + op.value : " get " + op.key) +
           " via node " + std::to_string(target);
  });
  c.busy = true;
  c.node = target;
  c.op = history_.size();
  history_.push_back(std::move(op));
  abandoned_.push_back(false);
  schedule(kClientTimeout, Event{EventKind::client_timeout, 0, 0, c.id, c.seq});
  kick(n);
}

void Simulation::client_done(Client& c, const std::string& read_value) {
  Operation& op = history_[c.op];
  op.returned = now_;
  if (!op.is_write) op.value = read_value;
  trace([&] {
    return "client " + std::to_string(c.id) + (op.is_write ? " put " + op.key + "=" + op.value + " ok" : " get " + op.key + " -> '" + op.value + "'");
  });
  ++result_.ops_completed;
  c.busy = false;
  schedule(1 + rng_.uniform(2 * kTick), Event{EventKind::client, 0, 0, c.id});
}

void Simulation::heal_all() {
  group_.clear();
  for (auto& [id, n] : nodes_) {
    if (!n.up) restart(n);
  }
}

void Simulation::nemesis() {
  if (!faults_on_) return;
  std::vector<NodeId> ids;
  for (auto& [id, n] : nodes_) ids.push_back(id);
  switch (rng_.uniform(8)) {
    case 0: {  // random partition into two sides
      group_.clear();
      for (NodeId id : ids) group_[id] = static_cast<int>(rng_.uniform(2));
      trace([&] {
        std::string s = "partition:";
        for (auto& [id, g] : group_) s += " " + std::to_string(id) + "@" + std::to_string(g);
        return s;
      });
      break;
    }
    case 1: {  // isolate the leader
      if (SimNode* l = leader()) {
        group_.clear();
        group_[l->id] = 1;
        trace([&] { return "isolate leader " + std::to_string(l->id); });
      }
      break;
    }
    case 2:
      group_.clear();
      trace([] { return std::string("heal network"); });
      break;
    case 3: {  // crash a node, bring it back later
      SimNode& n = nodes_[ids[rng_.uniform(ids.size())]];
      if (n.up) {
        crash(n);
        schedule((5 + rng_.uniform(60)) * kTick, Event{EventKind::restart, n.id});
      }
      break;
    }
    case 7: {  // crash the leader, often right after it appended entries
      if (SimNode* l = leader()) {
        crash(*l);
        schedule((5 + rng_.uniform(40)) * kTick, Event{EventKind::restart, l->id});
      }
      break;
    }
    case 4: {  // leadership transfer (thesis §3.10)
      if (SimNode* l = leader()) {
        const auto& voters = l->node->raft().tracker().config().voters;
        NodeId to = voters[rng_.uniform(voters.size())];
        trace([&] { return "transfer leadership " + std::to_string(l->id) + " -> " + std::to_string(to); });
        l->node->transfer_leadership(to);
        kick(*l);
      }
      break;
    }
    case 5:
    case 6: {  // membership change, one server at a time (thesis §4.1)
      SimNode* l = leader();
      if (!membership_ || !l) break;
      const ConfState& cs = l->node->raft().tracker().config();
      ConfChange cc;
      std::vector<NodeId> outside;
      for (NodeId id : ids) {
        if (!cs.contains(id)) outside.push_back(id);
      }
      if (!cs.learners.empty()) {
        cc = {ConfChangeType::add_node, cs.learners[rng_.uniform(cs.learners.size())]};
      } else if (!outside.empty()) {
        cc = {ConfChangeType::add_learner, outside[rng_.uniform(outside.size())]};
      } else if (cs.voters.size() > 3) {
        cc = {ConfChangeType::remove_node, cs.voters[rng_.uniform(cs.voters.size())]};
      } else {
        break;
      }
      Status st = l->node->propose_conf_change(cc);
      trace([&] {
        static const char* kNames[] = {"add", "add-learner", "remove"};
        return "leader " + std::to_string(l->id) + " proposes " + kNames[static_cast<int>(cc.type)] + " " +
               std::to_string(cc.node_id) + (st.ok() ? "" : ": " + st.error().message());
      });
      kick(*l);
      break;
    }
  }
  schedule((5 + rng_.uniform(40)) * kTick, Event{EventKind::nemesis});
}

void Simulation::handle(Event& e) {
  switch (e.kind) {
    case EventKind::tick: {
      SimNode& n = nodes_[e.node];
      if (!n.up || n.epoch != e.epoch) return;
      n.node->tick();
      kick(n);
      schedule(kTick, Event{EventKind::tick, n.id, n.epoch});
      return;
    }
    case EventKind::deliver:
      deliver(e.msg);
      return;
    case EventKind::fsync: {
      SimNode& n = nodes_[e.node];
      if (!n.up || n.epoch != e.epoch || !n.fsync_pending) return;
      on_fsync(n);
      return;
    }
    case EventKind::client:
      client_act(clients_[e.client]);
      return;
    case EventKind::client_timeout: {
      Client& c = clients_[e.client];
      if (!c.busy || c.seq != e.seq) return;
      // Unknown outcome: a write may still take effect (returned stays
      // "never"); a read that never answered constrains nothing.
      if (!history_[c.op].is_write) abandoned_[c.op] = true;
      trace([&] { return "client " + std::to_string(c.id) + " times out"; });
      ++result_.ops_timed_out;
      c.busy = false;
      schedule(1, Event{EventKind::client, 0, 0, c.id});
      return;
    }
    case EventKind::nemesis:
      nemesis();
      return;
    case EventKind::crash: {
      SimNode& n = nodes_[e.node];
      if (!n.up || n.epoch != e.epoch || !faults_on_) return;
      crash(n);
      schedule((5 + rng_.uniform(40)) * kTick, Event{EventKind::restart, n.id});
      return;
    }
    case EventKind::restart: {
      SimNode& n = nodes_[e.node];
      if (!n.up && faults_on_) restart(n);
      return;
    }
  }
}

void Simulation::check_cluster() {
  for (auto& [id, n] : nodes_) {
    if (!n.up || n.node->state() != StateType::leader) continue;
    Term t = n.node->term();
    const RaftLog& log = n.node->raft().log();
    auto [it, inserted] = leaders_.try_emplace(t, id);
    if (!inserted && it->second != id) {
      return fail("two leaders in term " + std::to_string(t) + ": " + std::to_string(it->second) + " and " +
                  std::to_string(id));
    }
    if (inserted) {
      ++result_.leaders_elected;
      // Short-lived leaders that crash with half-replicated entries are what
      // the §5.4.2 commit rule guards against (Figure 8).
      if (faults_on_ && rng_.uniform(churn_ ? 2 : 4) == 0) {
        schedule(1 + rng_.uniform(churn_ ? 15 : 3 * kTick), Event{EventKind::crash, id, n.epoch});
      }
      trace([&] {
        std::string v;
        for (NodeId x : n.node->raft().tracker().config().voters) v += " " + std::to_string(x);
        return "node " + std::to_string(id) + " leads term " + std::to_string(t) + " with voters" + v +
               ", log " + std::to_string(log.first_index()) + ".." + std::to_string(log.last_index()) +
               ", commit " + std::to_string(log.committed());
      });
      // §5.4 Leader Completeness: a leader of term t holds every entry
      // committed in an earlier term. (A leader of an older term may still
      // be elected late and lack newer commits; that is allowed.)
      Index bound = 0;
      for (auto c = commit_in_term_.begin(); c != commit_in_term_.end() && c->first < t; ++c) {
        bound = std::max(bound, c->second);
      }
      for (auto c = committed_term_.lower_bound(log.first_index()); c != committed_term_.end() && c->first <= bound; ++c) {
        auto term = log.term(c->first);
        if (!term.ok() || *term != c->second) {
          return fail("leader completeness: leader " + std::to_string(id) + " of term " + std::to_string(t) +
                      " lacks committed entry " + std::to_string(c->first) + " (term " + std::to_string(c->second) + ")");
        }
      }
    }
    // Record what this leader has committed, with the terms of those entries.
    Index& known = commit_in_term_[t];
    if (log.committed() > known) {
      for (Index i = std::max(known, log.first_index() - 1) + 1; i <= log.committed(); ++i) {
        Term term = log.term_or_zero(i);
        auto [c, fresh] = committed_term_.try_emplace(i, term);
        if (!fresh && c->second != term) {
          return fail("committed entry " + std::to_string(i) + " changed term from " + std::to_string(c->second) +
                      " to " + std::to_string(term) + " under leader " + std::to_string(id));
        }
      }
      known = log.committed();
      // Crash a leader just after it advanced its commit index, before the
      // news spreads: the window in which a wrongly committed entry is lost.
      if (faults_on_ && rng_.uniform(churn_ ? 3 : 12) == 0) {
        schedule(rng_.uniform(6), Event{EventKind::crash, id, n.epoch});
      }
    }
  }
}

void Simulation::check_liveness() {
  SimNode* l = leader();
  if (!l) return fail("liveness: no leader after the network healed");
  const RaftLog& log = l->node->raft().log();
  if (log.committed() != log.last_index()) {
    return fail("liveness: leader " + std::to_string(l->id) + " has uncommitted entries after settling");
  }
  for (NodeId id : l->node->raft().tracker().config().voters) {
    SimNode& n = nodes_[id];
    if (n.node->raft().log().committed() != log.committed()) {
      return fail("liveness: voter " + std::to_string(id) + " has commit " +
                  std::to_string(n.node->raft().log().committed()) + ", leader " + std::to_string(log.committed()));
    }
  }
}

SimResult Simulation::run() {
  pick_parameters();
  for (NodeId id = 1; id <= static_cast<NodeId>(n_nodes_); ++id) start_node(id);
  for (uint64_t c = 0; c < 3; ++c) {
    clients_.push_back(Client{c});
    schedule(rng_.uniform(5 * kTick), Event{EventKind::client, 0, 0, c});
  }
  schedule(20 * kTick, Event{EventKind::nemesis});
  const Time fault_end = static_cast<Time>(opts_.fault_ticks) * kTick;
  const Time end = fault_end + static_cast<Time>(opts_.settle_ticks) * kTick;
  bool settled = false;
  while (!queue_.empty() && result_.ok) {
    auto node = queue_.extract(queue_.begin());
    Time at = node.key().first;
    if (!settled && at >= fault_end) {
      // From here on: no faults, every node up, the network whole.
      settled = true;
      now_ = fault_end;
      faults_on_ = false;
      trace([] { return std::string("faults off: heal and restart everything"); });
      heal_all();
    }
    if (clients_on_ && at >= end - 150 * kTick) clients_on_ = false;  // let the last operations finish
    if (at >= end) break;
    now_ = at;
    ++result_.events;
    handle(node.mapped());
    if (result_.ok) check_cluster();
  }
  if (result_.ok) check_liveness();
  if (result_.ok) {
    std::vector<Operation> ops;
    for (size_t i = 0; i < history_.size(); ++i) {
      if (!abandoned_[i] && (history_[i].is_write || history_[i].returned != Operation::kNever)) ops.push_back(history_[i]);
    }
    std::string why;
    if (!check_linearizable(ops, &why, &result_.undecided_keys)) fail(why);
  }
  return result_;
}

}  // namespace

SimResult run_simulation(const SimOptions& opts) {
  Simulation sim(opts);
  return sim.run();
}

}  // namespace cairn::raft::sim
