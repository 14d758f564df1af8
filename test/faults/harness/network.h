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

// A run's network: how each node is started and addressed, and the network
// faults, made either with namespaces (Network, below) or, where those are
// unavailable, with the 127.0.0.x relay (RelayNetwork, relay_network.h).
// Links are directed: block(a, b) drops what a sends to b.
class NetFaults {
 public:
  virtual ~NetFaults() = default;
  virtual int size() const = 0;
  // Prefix that runs a command as the node (inside its namespace), or none.
  virtual std::vector<std::string> exec_in(int node) const = 0;
  virtual std::string bind_ip(int node) const = 0;       // where it listens
  virtual std::string advertise_ip(int node) const = 0;  // what its peers dial
  // "network namespaces (bridge ...)" or "127.0.0.x relay (...)".
  virtual std::string describe() const = 0;

  virtual void block(int from, int to) = 0;
  // netem's or tbf's arguments: "netem delay 100ms 50ms loss 10%".
  virtual void shape(int node, const std::string& qdisc) = 0;
  virtual void heal_cuts() = 0;    // every block
  virtual void heal_shapes() = 0;  // every shape
  void heal() {
    heal_cuts();
    heal_shapes();
  }
  void cut(int a, int b) {  // block(a, b) and block(b, a)
    block(a, b);
    block(b, a);
  }
  // Drops traffic both ways between every pair (a in side_a, b in side_b).
  void partition(const std::vector<int>& side_a, const std::vector<int>& side_b) {
    for (int a : side_a)
      for (int b : side_b) cut(a, b);
  }
  // One way: every receiver still gets what the senders send, but nothing a
  // receiver sends reaches a sender. TCP from either side stalls (no SYN-ACK
  // or no ACK back); UDP (gossip) from the senders still arrives.
  void partition_oneway(const std::vector<int>& senders, const std::vector<int>& receivers) {
    for (int a : senders)
      for (int b : receivers) block(b, a);
  }
};

class Network : public NetFaults {
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
  int size() const override { return nodes_; }
  std::string ip(int node) const;
  std::string ns(int node) const;
  // Prefix that runs a command inside the node's namespace.
  std::vector<std::string> exec_in(int node) const override { return {"ip", "netns", "exec", ns(node)}; }
  std::string bind_ip(int node) const override { return ip(node); }
  std::string advertise_ip(int node) const override { return ip(node); }
  std::string describe() const override { return "network namespaces (bridge " + tag_ + "br)"; }

  // A blackhole route to `to` inside `from`'s namespace: from cannot reach to
  // (a one-way partition: routes in the receivers' namespaces only).
  void block(int from, int to) override;
  // A root qdisc on the node's interface: "netem delay 100ms 50ms loss 10%",
  // or where netem is missing "tbf rate 128kbit burst 8kbit latency 200ms".
  void shape(int node, const std::string& qdisc) override;
  void heal_cuts() override;    // removes every blackhole route
  void heal_shapes() override;  // removes every qdisc
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
