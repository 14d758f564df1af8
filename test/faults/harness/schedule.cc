#include "test/faults/harness/schedule.h"

#include <algorithm>
#include <random>

namespace cairn::faults {

const char* fault_name(FaultKind k) {
  switch (k) {
    case FaultKind::kill: return "kill";
    case FaultKind::kill_leader: return "kill-leader";
    case FaultKind::pause: return "pause";
    case FaultKind::pause_leader: return "pause-leader";
    case FaultKind::partition_random: return "partition-majority-minority";
    case FaultKind::partition_leader: return "partition-leader-isolated";
    case FaultKind::partition_bridge: return "partition-bridge";
    case FaultKind::netem: return "loss-delay";
    case FaultKind::disk_full: return "disk-full";
    case FaultKind::partition_oneway: return "partition-one-way";
  }
  return "?";
}

FaultClass fault_class(FaultKind k) {
  switch (k) {
    case FaultKind::partition_random:
    case FaultKind::partition_leader:
    case FaultKind::partition_bridge:
    case FaultKind::partition_oneway: return FaultClass::partition;
    case FaultKind::netem: return FaultClass::shape;
    case FaultKind::disk_full: return FaultClass::disk;
    default: return FaultClass::node;
  }
}

bool needs_network(FaultKind k) {
  auto c = fault_class(k);
  return c == FaultClass::partition || c == FaultClass::shape;
}

std::string PlannedFault::describe(const std::vector<std::string>& names) const {
  auto list = [&](const std::vector<int>& v) {
    std::string s;
    for (int i : v) s += (s.empty() ? "" : ",") + names.at(i);
    return "{" + s + "}";
  };
  std::string s = "t=" + std::to_string(start_ms / 1000.0).substr(0, std::to_string(start_ms / 1000.0).find('.') + 2) +
                  "s for " + std::to_string(duration_ms) + " ms: " + fault_name(kind);
  if (node >= 0) s += " " + names.at(node);
  if (!side_a.empty() && kind == FaultKind::partition_oneway)
    s += " " + list(side_a) + " -> " + list(side_b) + " (only this way)";
  else if (!side_a.empty())
    s += " " + list(side_a) + " | " + list(side_b);
  if (!netem_nodes.empty()) s += " " + list(netem_nodes) + " " + netem_spec;
  if (overlapping) s += " [overlaps]";
  return s;
}

std::vector<PlannedFault> plan_faults(const ScheduleOptions& o) {
  std::mt19937_64 rng(o.seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  auto between = [&](int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1)); };
  int nodes = o.servers + o.clients;
  std::vector<FaultKind> kinds;
  for (int k = 0; k < kFaultKinds; ++k) {
    auto kind = static_cast<FaultKind>(k);
    if (needs_network(kind) && !o.network) continue;
    if (kind == FaultKind::disk_full && !o.disk) continue;
    kinds.push_back(kind);
  }
  auto shuffled_servers = [&] {
    std::vector<int> servers(o.servers);
    for (int i = 0; i < o.servers; ++i) servers[i] = i;
    std::shuffle(servers.begin(), servers.end(), rng);
    return servers;
  };
  auto spread_clients = [&](PlannedFault& f) {
    for (int c = o.servers; c < nodes; ++c) (rng() % 2 ? f.side_a : f.side_b).push_back(c);
  };
  // The targets of a fault of kind f.kind.
  auto target = [&](PlannedFault& f) {
    switch (f.kind) {
      case FaultKind::kill:
      case FaultKind::pause:
        f.node = pick(nodes);
        break;
      case FaultKind::partition_random: {
        std::vector<int> servers = shuffled_servers();
        int minority = (o.servers - 1) / 2;
        f.side_a.assign(servers.begin(), servers.begin() + minority);
        f.side_b.assign(servers.begin() + minority, servers.end());
        spread_clients(f);
        break;
      }
      case FaultKind::partition_oneway: {
        // Some servers (1 .. n-1) send to the rest, which cannot answer.
        std::vector<int> servers = shuffled_servers();
        int senders = 1 + pick(o.servers - 1);
        f.side_a.assign(servers.begin(), servers.begin() + senders);
        f.side_b.assign(servers.begin() + senders, servers.end());
        spread_clients(f);
        break;
      }
      case FaultKind::partition_bridge: {
        std::vector<int> servers = shuffled_servers();
        // servers[0] is the bridge: in neither side, so it reaches both.
        int half = (o.servers - 1) / 2;
        f.side_a.assign(servers.begin() + 1, servers.begin() + 1 + half);
        f.side_b.assign(servers.begin() + 1 + half, servers.end());
        spread_clients(f);
        break;
      }
      case FaultKind::netem: {
        for (int i = 0; i < nodes; ++i)
          if (rng() % 2) f.netem_nodes.push_back(i);
        if (f.netem_nodes.empty()) f.netem_nodes.push_back(pick(nodes));
        if (o.netem) {
          f.netem_spec = "netem delay " + std::to_string(between(20, 150)) + "ms " + std::to_string(between(5, 50)) +
                         "ms loss " + std::to_string(between(2, 30)) + "%";
        } else {
          // No sch_netem: a congested link instead (a token bucket whose queue
          // delays packets up to `latency` and drops what would wait longer).
          f.netem_spec = "tbf rate " + std::to_string(between(64, 512)) + "kbit burst 8kbit latency " +
                         std::to_string(between(50, 300)) + "ms";
        }
        break;
      }
      case FaultKind::disk_full:
        f.node = o.disk_server;
        break;
      default:
        break;  // leader faults: resolved at run time
    }
  };
  auto chance = [&](double p) { return static_cast<double>(rng() % 1000000) < p * 1e6; };
  std::vector<PlannedFault> out;
  int64_t t = between(3000, 6000);
  while (true) {
    PlannedFault f;
    f.kind = kinds[pick(static_cast<int>(kinds.size()))];
    f.start_ms = t;
    f.duration_ms = between(3000, 10000);
    if (f.end_ms() > o.total_ms) break;
    target(f);
    out.push_back(f);
    int64_t end = f.end_ms();
    if (o.overlap > 0 && chance(o.overlap)) {
      std::vector<FaultKind> others;
      for (auto k : kinds)
        if ((fault_class(k) != fault_class(f.kind) || (fault_class(k) == FaultClass::node && nodes > 1)) &&
            !(k == FaultKind::disk_full && f.node == o.disk_server))  // that server is already held
          others.push_back(k);
      PlannedFault g;
      g.kind = others[pick(static_cast<int>(others.size()))];
      g.start_ms = f.start_ms + between(500, f.duration_ms - 500);
      g.duration_ms = between(3000, 10000);
      g.overlapping = true;
      target(g);
      // Two node faults: on different nodes (a leader one is checked when it starts).
      if (fault_class(g.kind) == FaultClass::node && g.node >= 0 && g.node == f.node)
        g.node = (g.node + 1 + pick(nodes - 1)) % nodes;
      if (g.end_ms() <= o.total_ms) {
        out.push_back(g);
        end = std::max(end, g.end_ms());
      }
    }
    t = end + between(2000, 6000);
  }
  return out;
}

}  // namespace cairn::faults
