// A deterministic simulation of a Raft cluster (FoundationDB/TigerBeetle
// style): one seed fixes the network (per-link drop, delay, duplication,
// reordering, partitions), the clock (ticks), crashes and restarts (which
// lose everything not fsynced), compactions, membership changes, leadership
// transfers and the clients' puts and gets. After every event the cluster
// properties of the paper (§5.2 Election Safety, §5.3 Log Matching, §5.4
// Leader Completeness and State Machine Safety) are checked; at the end the
// clients' history must be linearizable.
#pragma once

#include <cstdint>
#include <string>

namespace cairn::raft::sim {

struct SimOptions {
  uint64_t seed = 1;
  bool trace = false;     // print every event to stdout
  int fault_ticks = 600;  // ticks with faults injected
  int settle_ticks = 300; // then ticks with a healed network and all nodes up
};

struct SimResult {
  bool ok = true;
  std::string failure;  // what broke and when
  uint64_t events = 0;
  uint64_t ops_completed = 0;
  uint64_t ops_timed_out = 0;
  uint64_t leaders_elected = 0;
  uint64_t snapshots_sent = 0;
  uint64_t conf_changes = 0;
  uint64_t crashes = 0;
  int undecided_keys = 0;
};

SimResult run_simulation(const SimOptions& opts);

}  // namespace cairn::raft::sim
