// The fault schedule of a run, planned up front from the seed (pure: no I/O,
// no clock), so a seed names a schedule. A quiet gap, a fault for its
// duration, its heal; with probability `overlap` a second fault of another
// class starts while the first is on (and may outlast it). Targets that
// depend on the run (the current leader) are resolved when the fault
// starts; the runner prints what it resolved, and skips a node fault whose
// node another fault already holds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cairn::faults {

enum class FaultKind {
  kill,              // kill -9 a node, restart it when the fault ends
  kill_leader,       // the same for whoever leads when it starts
  pause,             // SIGSTOP a node, SIGCONT when it ends
  pause_leader,
  partition_random,  // servers split into minority and majority, clients spread over both
  partition_leader,  // the leader alone against everyone else
  partition_bridge,  // two halves that cannot talk, one server that talks to both
  netem,             // loss and delay on some nodes' interfaces (netem, else a tbf congested link)
  disk_full,         // the tmpfs data dir of one server fills up
  partition_oneway,  // side_a's packets reach side_b, side_b's never reach side_a
};
constexpr int kFaultKinds = 10;
const char* fault_name(FaultKind k);
bool needs_network(FaultKind k);

// Faults of one class never overlap (a node held by two faults, two sets of
// blackhole routes, two qdiscs, or the one tmpfs).
enum class FaultClass { node, partition, shape, disk };
FaultClass fault_class(FaultKind k);

struct PlannedFault {
  int64_t start_ms = 0;
  int64_t duration_ms = 0;
  FaultKind kind = FaultKind::kill;
  int node = -1;                   // kill / pause: the node
  std::vector<int> side_a, side_b;  // partitions: every a is cut from every b
  std::vector<int> netem_nodes;
  std::string netem_spec;  // the root qdisc: "netem delay 80ms 40ms loss 15%" or "tbf rate ..."
  bool overlapping = false;  // starts while the fault before it is on
  int64_t end_ms() const { return start_ms + duration_ms; }
  std::string describe(const std::vector<std::string>& names) const;
};

struct ScheduleOptions {
  uint64_t seed = 1;
  int64_t total_ms = 60000;
  int servers = 3;
  int clients = 2;
  bool network = true;  // partitions possible
  bool netem = true;    // tc netem works (else loss/delay is a tbf congested link)
  bool disk = true;     // disk-full possible
  int disk_server = 0;
  double overlap = 0.25;  // the chance that a second fault overlaps each fault
};

std::vector<PlannedFault> plan_faults(const ScheduleOptions& o);

}  // namespace cairn::faults
