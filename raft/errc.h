// Raft's error codes and their std::error_category (the pattern of
// core/error.h; Redpanda's raft/errc.h). Every fallible Raft call returns a
// Result/Status whose code is one of these.
#pragma once

#include <string>
#include <system_error>

#include "core/error.h"

namespace cairn::raft {

enum class errc {
  ok = 0,
  compacted = 1,              // the index asked for is below the first log index
  unavailable,                // the index asked for is above the last log index
  snapshot_out_of_date,       // a snapshot older than the one held
  snapshot_temporarily_unavailable,
  proposal_dropped,           // no leader, leadership transfer running, or not a member
  not_leader,                 // the call is only valid on the leader
  config_change_pending,      // one membership change at a time (thesis §4.1)
  invalid_conf_change,        // the change does not apply to the current configuration
  learner_not_caught_up,      // promotion of a learner that lags the leader (thesis §4.2.1)
  step_local_msg,             // a local-only message type arrived from the network
  step_peer_not_found,        // a response from a node outside the configuration
  invalid_config,             // Config::validate() failed; detail names the field
  invalid_message,            // bytes that do not decode to a message
  message_too_large,          // bytes over a decoding size limit
  invalid_argument,
};

const std::error_category& raft_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), raft_category()};
}

// Error values of this category, so that call sites read `return raft_error(errc::x, "...")`.
inline Error raft_error(errc e, std::string detail = {}) {
  return Error(make_error_code(e), std::move(detail));
}

}  // namespace cairn::raft

namespace std {
template <>
struct is_error_code_enum<cairn::raft::errc> : true_type {};
}  // namespace std
