#include "test/sim/gossip/cluster.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace cairn::gossip::sim {

using namespace std::chrono_literals;

Cluster::Cluster(std::size_t members, uint64_t seed, Config config, NetworkConfig net)
    : config_(std::move(config)), net_(net), rng_(seed), seed_(seed), nodes_(members), group_(members, 0) {
  for (uint32_t i = 0; i < members; ++i) {
    Node& n = nodes_[i];
    n.name = "node-" + std::to_string(i);
    n.addr = "10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) + "." +
             std::to_string(i & 255) + ":8301";
    n.x = rng_.unit() * net_.plane_ms;
    n.y = rng_.unit() * net_.plane_ms;
    by_addr_[n.addr] = i;
    by_name_[n.name] = i;
  }
  obs_.user_events.resize(members);
}

Duration Cluster::true_rtt(uint32_t a, uint32_t b) const {
  double dx = nodes_[a].x - nodes_[b].x, dy = nodes_[a].y - nodes_[b].y;
  // 0.2 ms of host overhead plus distance in milliseconds.
  return std::chrono::microseconds(static_cast<int64_t>((0.2 + std::sqrt(dx * dx + dy * dy)) * 1000.0));
}

Duration Cluster::one_way(uint32_t a, uint32_t b) {
  return true_rtt(a, b) / 2 + Duration(rng_.uniform(static_cast<uint64_t>(net_.jitter.count()) + 1));
}

void Cluster::schedule(Instant at, uint32_t node, Kind kind, uint32_t slot) {
  events_.push(Event{at, next_seq_++, node, kind, slot});
}

void Cluster::start(uint32_t i, uint32_t via) {
  Node& n = nodes_[i];
  Tags tags{{"role", i % 10 == 0 ? "server" : "client"}, {"dc", "dc1"}, {"build", "0.1.0"}};
  auto m = Membership::create(config_, LocalNode{n.name, n.addr, tags},
                              std::make_unique<SeededRng>(seed_ * 1000003 + i + 7919 * n.generation), now_);
  if (!m.ok()) {
    std::fprintf(stderr, "create %s: %s\n", n.name.c_str(), m.error().message().c_str());
    std::abort();
  }
  n.m.emplace(std::move(*m));
  if (via != i) n.m->join(now_, {nodes_[via].addr});
  drain(i);
  schedule(now_ + Duration(rng_.uniform(static_cast<uint64_t>(net_.tick_interval.count()))), i, Kind::tick,
           n.generation);
}

void Cluster::restart(uint32_t i, uint32_t via) {
  Node& n = nodes_[i];
  n.crashed = false;
  n.leaving = false;
  n.backlog.clear();
  n.stalled_until = now_;
  ++n.generation;
  start(i, via);
}

void Cluster::crash(uint32_t i) {
  nodes_[i].crashed = true;
  nodes_[i].backlog.clear();
}

void Cluster::stall(uint32_t i, Duration d) {
  Node& n = nodes_[i];
  if (!up(i) || stalled(n)) return;
  n.stalled_until = now_ + d;
  schedule(n.stalled_until, i, Kind::resume, n.generation);
}

void Cluster::leave(uint32_t i) {
  Node& n = nodes_[i];
  n.leaving = true;
  n.left_at = now_;
  n.m->leave(now_);
  drain(i);
}

void Cluster::drain(uint32_t i) {
  Node& n = nodes_[i];
  Ready r = n.m->take_ready();
  for (Packet& p : r.packets) {
    obs_.bytes_sent += p.bytes.size();
    auto it = by_addr_.find(p.to);
    if (it == by_addr_.end()) continue;
    uint32_t to = it->second;
    if (group_[to] != group_[i]) continue;  // partitioned: lost, streams too
    if (p.transport == Transport::datagram && rng_.unit() < net_.loss) {
      ++obs_.datagrams_dropped;
      continue;
    }
    Duration delay = one_way(i, to);
    if (p.transport == Transport::stream) delay += 2 * one_way(i, to);  // TCP handshake
    uint32_t slot;
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
      packets_[slot] = InFlight{i, p.transport, std::move(p.bytes)};
    } else {
      slot = static_cast<uint32_t>(packets_.size());
      packets_.push_back(InFlight{i, p.transport, std::move(p.bytes)});
    }
    schedule(now_ + delay, to, Kind::deliver, slot);
  }
  for (const MemberEvent& e : r.members) {
    if (e.kind != MemberEvent::Kind::failed) continue;
    ++obs_.failed_events;
    uint32_t subject = by_name_.at(e.member.name);
    obs_.failed_at[subject].push_back(now_);
    if (up(subject) && !nodes_[subject].leaving && !failures_expected_) {
      ++obs_.false_failures;
      std::fprintf(stderr, "  false failure: %s declared %s failed at %.3fs (seed %llu)\n", n.name.c_str(),
                   e.member.name.c_str(), std::chrono::duration<double>(now_.since_epoch).count(),
                   static_cast<unsigned long long>(seed_));
    }
  }
  for (UserEvent& e : r.user_events) obs_.user_events[i].emplace_back(std::move(e.name), std::move(e.payload));
  for (QueryResponse& q : r.responses) obs_.query_responses.push_back(std::move(q));
  if (on_query)
    for (const QueryRequest& q : r.queries) on_query(i, q);
  if (n.m->has_ready()) drain(i);  // what the query hook answered
}

// Invariants after a member's tick; a broken one aborts the run with its seed.
void Cluster::check(uint32_t i) {
  if (++checks_ % net_.invariant_every != 0) return;
  auto st = nodes_[i].m->check_invariants();
  if (!st.ok()) {
    std::fprintf(stderr, "%s at %.3fs: %s (seed %llu)\n", nodes_[i].name.c_str(),
                 std::chrono::duration<double>(now_.since_epoch).count(), st.error().message().c_str(),
                 static_cast<unsigned long long>(seed_));
    std::abort();
  }
}

void Cluster::deliver(uint32_t to, uint32_t from, Transport t, std::string_view bytes) {
  (void)nodes_[to].m->receive(now_, nodes_[from].addr, t, bytes);
  drain(to);
}

void Cluster::run_until(Instant t) {
  while (!events_.empty() && events_.top().at <= t) {
    Event e = events_.top();
    events_.pop();
    now_ = e.at;
    Node& n = nodes_[e.node];
    switch (e.kind) {
      case Kind::deliver: {
        InFlight p = std::move(packets_[e.slot]);
        free_slots_.push_back(e.slot);
        if (!up(e.node)) break;
        if (stalled(n)) {
          // A stalled process's socket buffer: datagrams beyond it are lost,
          // stream data waits (TCP flow control).
          if (p.transport == Transport::stream || n.backlog.size() < net_.socket_buffer)
            n.backlog.push_back(Node::Queued{p.from, p.transport, std::move(p.bytes)});
          break;
        }
        deliver(e.node, p.from, p.transport, p.bytes);
        break;
      }
      case Kind::resume: {
        if (!up(e.node) || e.slot != n.generation) break;
        auto backlog = std::move(n.backlog);
        n.backlog.clear();
        // An event loop waking from a stall may run its timers before it
        // reads the socket: half the time, tick first.
        bool tick_first = rng_.uniform(2) == 0;
        if (tick_first) {
          n.m->tick(now_);
          drain(e.node);
        }
        for (auto& q : backlog) deliver(e.node, q.from, q.transport, q.bytes);
        break;
      }
      case Kind::tick: {
        if (!up(e.node) || e.slot != n.generation) break;
        schedule(now_ + net_.tick_interval, e.node, Kind::tick, n.generation);
        if (stalled(n)) break;
        n.m->tick(now_);
        drain(e.node);
        check(e.node);
        // A leaving member stops once its leave is out, plus a moment for
        // the packets to clear (what a shell does on shutdown).
        if (n.leaving && n.m->leave_propagated() && now_ - n.left_at > 1s) n.crashed = true;
        break;
      }
    }
  }
  now_ = t;
}

bool Cluster::run_until_true(const std::function<bool()>& pred, Duration limit, Duration every) {
  Instant end = now_ + limit;
  while (now_ < end) {
    if (pred()) return true;
    run_until(std::min(end, now_ + every));
  }
  return pred();
}

bool Cluster::converged() const {
  std::size_t running = 0;
  for (uint32_t i = 0; i < nodes_.size(); ++i) running += up(i) && !nodes_[i].leaving;
  for (uint32_t i = 0; i < nodes_.size(); ++i) {
    if (!up(i) || nodes_[i].leaving) continue;
    if (nodes_[i].m->num_live() != running) return false;
  }
  return true;
}

bool Cluster::all_see(uint32_t subject, MemberState s) const {
  for (uint32_t i = 0; i < nodes_.size(); ++i) {
    if (i == subject || !up(i) || nodes_[i].leaving) continue;
    if (nodes_[i].m->state_of(nodes_[subject].name) != s) return false;
  }
  return true;
}

}  // namespace cairn::gossip::sim
