// Invariants of one Raft node as code (LogCabin's RaftConsensusInvariants):
// checked after every step, tick and advance when Config::check_invariants is
// set (the simulator and the tests set it). A violation is a bug in this
// directory, never bad input: Node aborts with the message.
//
// Cluster-wide properties (one leader per term, log matching, leader
// completeness, state machine safety) need every node's view and are checked
// by the simulator (test/sim/raft).
#pragma once

#include "core/result.h"
#include "raft/raft.h"

namespace cairn::raft {

class InvariantChecker {
 public:
  // Checks `r` against itself and against what this checker saw last time.
  Status check(const Raft& r);

 private:
  bool seen_ = false;
  Term term_ = 0;
  NodeId vote_ = kNoNode;
  Index committed_ = 0;
  Index applied_ = 0;
};

}  // namespace cairn::raft
