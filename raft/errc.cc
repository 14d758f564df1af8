#include "raft/errc.h"

namespace cairn::raft {
namespace {

class RaftCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "raft"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::ok: return "ok";
      case errc::compacted: return "requested index is compacted";
      case errc::unavailable: return "requested index is unavailable";
      case errc::snapshot_out_of_date: return "snapshot is out of date";
      case errc::snapshot_temporarily_unavailable: return "snapshot is temporarily unavailable";
      case errc::proposal_dropped: return "proposal dropped";
      case errc::not_leader: return "not the leader";
      case errc::config_change_pending: return "a configuration change is already pending";
      case errc::invalid_conf_change: return "invalid configuration change";
      case errc::learner_not_caught_up: return "learner has not caught up";
      case errc::step_local_msg: return "local message type received from the network";
      case errc::step_peer_not_found: return "response from a node outside the configuration";
      case errc::invalid_config: return "invalid raft config";
      case errc::invalid_message: return "invalid raft message";
      case errc::message_too_large: return "raft message over its size limit";
      case errc::invalid_argument: return "invalid argument";
    }
    return "unknown raft error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& raft_category() noexcept {
  static const RaftCategory category;
  return category;
}

}  // namespace cairn::raft
