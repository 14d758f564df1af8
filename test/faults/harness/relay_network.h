// A run's network without namespaces: every node binds its own loopback
// address 127.B.0.(10+i) with Consul's default ports and advertises
// 127.B.1.(10+i), where the fault-injecting Relay (relay.h) listens; B is
// picked per run (from its tag, the first block whose addresses are free).
// HTTP (port 8500) is not relayed: the workload talks to nodes directly.
#pragma once

#include <memory>
#include <string>

#include "test/faults/harness/network.h"
#include "test/faults/harness/relay.h"

namespace cairn::faults {

class RelayNetwork : public NetFaults {
 public:
  // Throws std::runtime_error when no block is free or the relay cannot start.
  RelayNetwork(const std::string& tag, int nodes, uint64_t seed);

  int size() const override { return nodes_; }
  std::vector<std::string> exec_in(int) const override { return {}; }
  std::string bind_ip(int node) const override;
  std::string advertise_ip(int node) const override;
  std::string describe() const override;

  void block(int from, int to) override { relay_->block(from, to); }
  // netem's "delay D J loss L%" only (LinkShape); throws std::runtime_error for anything else.
  void shape(int node, const std::string& qdisc) override;
  void heal_cuts() override { relay_->heal_cuts(); }
  void heal_shapes() override { relay_->heal_shapes(); }
  RelayCounters counters() const { return relay_->counters(); }

 private:
  int nodes_;
  int block_ = 0;  // B in 127.B.x.x
  std::unique_ptr<Relay> relay_;
};

}  // namespace cairn::faults
