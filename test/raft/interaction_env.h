// A small world of Raft nodes driven by text commands, for the scenario
// scripts in test/testdata/raft (etcd raft's rafttest.InteractionEnv style).
// Every command returns the trace it produced; the driver compares it with
// the expected trace in the script.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/rng.h"
#include "raft/node.h"
#include "raft/storage.h"

namespace cairn::raft::testing {

class InteractionEnv {
 public:
  // Runs one command ("propose 1 foo") and returns its trace. Unknown
  // commands or bad arguments return "error: ..." lines.
  std::string handle(const std::string& line);

 private:
  struct Peer {
    std::unique_ptr<MemoryStorage> storage;
    std::unique_ptr<SeededRng> rng;
    std::unique_ptr<Node> node;
    Config cfg;
    std::vector<std::string> applied;  // the toy state machine: data of applied entries
    Index applied_index = 0;
    std::vector<Message> inbox;
    bool crashed = false;
  };

  using Args = std::vector<std::string>;
  std::string add_nodes(const Args& a);
  std::string process_ready(NodeId id);
  std::string deliver(NodeId id, bool drop);
  std::string stabilize(const std::set<NodeId>& ids);
  std::string status(NodeId id);
  std::string raft_log(NodeId id);
  std::string raft_state();
  std::string restart(NodeId id);
  void send(const Message& m, std::string& out);
  bool linked(NodeId a, NodeId b) const;
  Peer* peer(NodeId id);
  std::set<NodeId> ids_from(const Args& a, size_t from);

  std::map<NodeId, Peer> peers_;
  // Nodes in different groups cannot talk; nodes not named share group 0.
  std::map<NodeId, int> group_;
};

}  // namespace cairn::raft::testing
