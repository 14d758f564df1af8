#include "raft/types.h"

#include <algorithm>

#include "core/codec.h"
#include "raft/errc.h"

namespace cairn::raft {
namespace {

bool sorted_contains(const std::vector<NodeId>& v, NodeId id) {
  return std::binary_search(v.begin(), v.end(), id);
}

void sorted_insert(std::vector<NodeId>& v, NodeId id) {
  auto it = std::lower_bound(v.begin(), v.end(), id);
  if (it == v.end() || *it != id) v.insert(it, id);
}

void sorted_erase(std::vector<NodeId>& v, NodeId id) {
  auto it = std::lower_bound(v.begin(), v.end(), id);
  if (it != v.end() && *it == id) v.erase(it);
}

}  // namespace

bool ConfState::is_voter(NodeId id) const { return sorted_contains(voters, id); }
bool ConfState::is_learner(NodeId id) const { return sorted_contains(learners, id); }

std::string ConfChange::encode() const {
  std::string out;
  ByteWriter w(&out);
  w.u8(static_cast<uint8_t>(type));
  w.varint(node_id);
  return out;
}

Result<ConfChange> ConfChange::decode(std::string_view bytes) {
  ByteReader r(bytes);
  uint8_t type = r.u8();
  NodeId id = r.varint();
  if (!r.ok() || !r.at_end() || type > static_cast<uint8_t>(ConfChangeType::remove_node) ||
      id == kNoNode) {
    return raft_error(errc::invalid_conf_change, "conf change: malformed encoding");
  }
  return ConfChange{static_cast<ConfChangeType>(type), id};
}

Result<ConfState> apply_conf_change(const ConfState& cs, const ConfChange& cc) {
  if (cc.node_id == kNoNode) return raft_error(errc::invalid_conf_change, "conf change: node_id 0");
  ConfState next = cs;
  switch (cc.type) {
    case ConfChangeType::add_node:
      if (cs.is_voter(cc.node_id)) {
        return raft_error(errc::invalid_conf_change,
                          "conf change: node " + std::to_string(cc.node_id) + " is already a voter");
      }
      sorted_erase(next.learners, cc.node_id);
      sorted_insert(next.voters, cc.node_id);
      break;
    case ConfChangeType::add_learner:
      // Demoting a voter in one step would change the quorum and the learner
      // set at once; ask for remove then add_learner instead.
      if (cs.contains(cc.node_id)) {
        return raft_error(errc::invalid_conf_change,
                          "conf change: node " + std::to_string(cc.node_id) + " is already a member");
      }
      sorted_insert(next.learners, cc.node_id);
      break;
    case ConfChangeType::remove_node:
      if (!cs.contains(cc.node_id)) {
        return raft_error(errc::invalid_conf_change,
                          "conf change: node " + std::to_string(cc.node_id) + " is not a member");
      }
      sorted_erase(next.voters, cc.node_id);
      sorted_erase(next.learners, cc.node_id);
      if (next.voters.empty()) {
        return raft_error(errc::invalid_conf_change, "conf change: cannot remove the last voter");
      }
      break;
  }
  return next;
}

std::string_view to_string(StateType s) {
  switch (s) {
    case StateType::follower: return "follower";
    case StateType::pre_candidate: return "pre-candidate";
    case StateType::candidate: return "candidate";
    case StateType::leader: return "leader";
  }
  return "?";
}

}  // namespace cairn::raft
