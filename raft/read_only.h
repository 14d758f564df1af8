// Pending ReadIndex requests on the leader (thesis §6.4): each remembers the
// commit index when it arrived and the voters that acknowledged the heartbeat
// round that carried its context. Once a quorum acknowledged, that request
// and every earlier one are answered, since the round proves the leader still
// led when they arrived.
#pragma once

#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "raft/message.h"

namespace cairn::raft {

struct ReadIndexStatus {
  Message request;  // the original read_index message (from = who asked)
  Index index = 0;  // commit index when the request arrived
  std::set<NodeId> acks;
};

class ReadOnly {
 public:
  // Records a request; a context already pending is ignored (the caller
  // re-sent it).
  void add_request(Index index, const Message& request, NodeId self);
  // The acks so far for `context` after adding `from`, or nullptr if unknown.
  const std::set<NodeId>* recv_ack(NodeId from, const std::string& context);
  // Removes and returns the requests up to and including `context`.
  std::vector<ReadIndexStatus> advance(const std::string& context);
  // The newest pending context, to piggy-back on a heartbeat round.
  const std::string* last_pending_context() const;
  size_t pending() const { return queue_.size(); }
  void clear() {
    pending_.clear();
    queue_.clear();
  }

 private:
  std::map<std::string, ReadIndexStatus> pending_;
  std::deque<std::string> queue_;
};

}  // namespace cairn::raft
