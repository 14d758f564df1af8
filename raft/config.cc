#include "raft/config.h"

#include <string>

#include "raft/errc.h"

namespace cairn::raft {

Config Config::defaults(NodeId id) {
  Config c;
  c.id = id;
  return c;
}

Status Config::validate() const {
  auto bad = [](const std::string& detail) { return raft_error(errc::invalid_config, detail); };
  if (id == kNoNode) return bad("raft config: id must not be 0");
  if (heartbeat_tick < 1) {
    return bad("raft config: heartbeat_tick must be at least 1 (got " +
               std::to_string(heartbeat_tick) + ")");
  }
  if (election_tick <= heartbeat_tick || election_tick > 100000) {
    return bad("raft config: election_tick must be in (" + std::to_string(heartbeat_tick) +
               ", 100000], greater than heartbeat_tick (got " + std::to_string(election_tick) + ")");
  }
  if (max_inflight_msgs < 1 || max_inflight_msgs > 65536) {
    return bad("raft config: max_inflight_msgs must be in [1, 65536] (got " +
               std::to_string(max_inflight_msgs) + ")");
  }
  if (max_size_per_msg > (64u << 20)) {
    return bad("raft config: max_size_per_msg must be in [0, 67108864] (got " +
               std::to_string(max_size_per_msg) + ")");
  }
  if (max_committed_size_per_ready < 1) {
    return bad("raft config: max_committed_size_per_ready must be at least 1");
  }
  if (read_only_option == ReadOnlyOption::lease && !check_quorum) {
    return bad("raft config: read_only_option=lease requires check_quorum=true");
  }
  return ok_status();
}

}  // namespace cairn::raft
