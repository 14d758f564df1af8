// The harness's private network: one network namespace per node, each joined
// by a veth pair to a bridge the harness creates, all named with a per-run
// tag ("cf" + 5 hex digits) so parallel runs and leftovers cannot collide.
//
// Faults, without iptables:
// - partitions: blackhole routes. Cutting a from b adds `ip route add
//   blackhole <ip b>/32` inside a's namespace and the reverse inside b's, so
//   packets between them are dropped silently (as a real partition drops
//   them) while both still reach the bridge, and the harness (on the
//   bridge's address in the root namespace) still reaches every node; a
//   one-way partition adds the routes on one side only;
// - loss and delay: `tc qdisc ... netem` on the node's eth0 (or, where the
//   sch_netem module is missing, a tbf rate limit: queueing delay and drops).
// Heal removes every route and qdisc it added.
//
// Cleanup: the destructor deletes the namespaces (which deletes their veth
// ends) and the bridge. A run registers itself in /run/cairn-faults/<tag>
// with its PID; sweep_stale_runs() removes what runs whose PID is gone left
// behind (processes in their namespaces are killed by PID first), touching
// only names with that run's tag.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace cairn::faults {

class Network {
 public:
  // Whether namespaces, veths and bridges can be made here; *why when not.
  static bool available(std::string* why);
  // Whether tc netem works here (it needs the sch_netem module); *why when not.
  static bool netem_available(std::string* why);
  // Removes leftovers of runs whose process is gone; returns what it removed, one line each.
  static std::vector<std::string> sweep_stale_runs();
  static std::string new_tag();
  static std::string run_dir() { return "/run/cairn-faults"; }

  // Creates the bridge and `nodes` namespaces; throws std::runtime_error on failure
  // (after removing what it made).
  Network(std::string tag, int nodes);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  const std::string& tag() const { return tag_; }
  int size() const { return nodes_; }
  std::string ip(int node) const;
  std::string ns(int node) const;
  // Prefix that runs a command inside the node's namespace.
  std::vector<std::string> exec_in(int node) const { return {"ip", "netns", "exec", ns(node)}; }

  // Drops traffic both ways between every pair (a in side_a, b in side_b).
  void partition(const std::vector<int>& side_a, const std::vector<int>& side_b);
  void cut(int a, int b);  // block(a, b) and block(b, a)
  // One way: every receiver still gets what the senders send, but nothing a
  // receiver sends reaches a sender (blackhole routes in the receivers'
  // namespaces only). TCP from either side stalls (no SYN-ACK or no ACK
  // back); UDP (gossip) from the senders still arrives.
  void partition_oneway(const std::vector<int>& senders, const std::vector<int>& receivers);
  // A blackhole route to `to` inside `from`'s namespace: from cannot reach to.
  void block(int from, int to);
  // A root qdisc on the node's interface: "netem delay 100ms 50ms loss 10%",
  // or where netem is missing "tbf rate 128kbit burst 8kbit latency 200ms".
  void shape(int node, const std::string& qdisc);
  void heal_cuts();    // removes every blackhole route
  void heal_shapes();  // removes every qdisc
  void heal();         // both
  // Directed: (from, to) = a route in from's namespace blackholing to.
  const std::set<std::pair<int, int>>& cuts() const { return cuts_; }

 private:
  void must(const std::vector<std::string>& args);
  void teardown();

  std::string tag_;
  int nodes_;
  std::string subnet_;  // "10.231.k."
  std::set<std::pair<int, int>> cuts_;
  std::set<int> shaped_;
};

}  // namespace cairn::faults
