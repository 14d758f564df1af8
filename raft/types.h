// The vocabulary of the Raft core: log entries, hard state, configurations,
// snapshots. Plain value types; no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace cairn::raft {

using NodeId = uint64_t;
using Term = uint64_t;
using Index = uint64_t;

// Node ids start at 1; 0 means "nobody" (no vote, no known leader).
inline constexpr NodeId kNoNode = 0;

enum class EntryType : uint8_t {
  normal = 0,       // opaque application command; an empty one is the leader's no-op (§5.4.2, §8)
  conf_change = 1,  // data is an encoded ConfChange (thesis §4.1)
};

struct Entry {
  Term term = 0;
  Index index = 0;
  EntryType type = EntryType::normal;
  std::string data;

  // Bytes this entry costs against size limits (max_size_per_msg, …).
  uint64_t size() const { return data.size() + 24; }
  friend bool operator==(const Entry&, const Entry&) = default;
};

// What must be durable before a message that depends on it is sent (§5, Figure 2:
// currentTerm, votedFor; commit is persisted so that restarts re-apply less).
struct HardState {
  Term term = 0;
  NodeId vote = kNoNode;
  Index commit = 0;

  bool empty() const { return term == 0 && vote == kNoNode && commit == 0; }
  friend bool operator==(const HardState&, const HardState&) = default;
};

// A cluster configuration: voters decide elections and commitment, learners
// only receive the log (thesis §4.2.1). Both lists are kept sorted.
struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;

  bool is_voter(NodeId id) const;
  bool is_learner(NodeId id) const;
  bool contains(NodeId id) const { return is_voter(id) || is_learner(id); }
  friend bool operator==(const ConfState&, const ConfState&) = default;
};

struct SnapshotMetadata {
  Index index = 0;
  Term term = 0;
  ConfState conf_state;  // the configuration as of `index` (thesis §5.1)
  friend bool operator==(const SnapshotMetadata&, const SnapshotMetadata&) = default;
};

// The state machine's image up to metadata.index. `data` is opaque to Raft.
struct Snapshot {
  SnapshotMetadata metadata;
  std::string data;

  bool empty() const { return metadata.index == 0; }
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

// One server at a time (thesis §4.1): every change adds or removes one server,
// so any majority of the old configuration overlaps any majority of the new.
enum class ConfChangeType : uint8_t {
  add_node = 0,     // add a voter, or promote a learner
  add_learner = 1,  // add a non-voting member
  remove_node = 2,
};

struct ConfChange {
  ConfChangeType type = ConfChangeType::add_node;
  NodeId node_id = kNoNode;

  std::string encode() const;
  static Result<ConfChange> decode(std::string_view bytes);
  friend bool operator==(const ConfChange&, const ConfChange&) = default;
};

// The configuration that results from applying `cc` to `cs`, or an error that
// says why the change does not apply (e.g. removing the last voter).
Result<ConfState> apply_conf_change(const ConfState& cs, const ConfChange& cc);

enum class StateType : uint8_t { follower, pre_candidate, candidate, leader };
std::string_view to_string(StateType s);

// Volatile state worth telling the application about (who leads, our role).
struct SoftState {
  NodeId leader = kNoNode;
  StateType state = StateType::follower;
  friend bool operator==(const SoftState&, const SoftState&) = default;
};

// The answer to read_index(context): a read issued with `context` may be
// served once the state machine has applied `index` (thesis §6.4).
struct ReadState {
  Index index = 0;
  std::string context;
  friend bool operator==(const ReadState&, const ReadState&) = default;
};

}  // namespace cairn::raft
