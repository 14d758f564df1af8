// Raft messages and their binary encoding.
//
// One struct carries every RPC of the paper (§5, Figure 2; thesis §3) and the
// extensions (PreVote thesis §9.6, TimeoutNow §3.10, ReadIndex §6.4), in the
// manner of etcd's raftpb.Message: fields a type does not use stay zero.
//
// Local types (hup, beat, check_quorum, unreachable, snap_status) are made by
// the node itself and are never encoded or accepted from the network.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "raft/types.h"

namespace cairn::raft {

enum class MessageType : uint8_t {
  hup = 0,             // local: election timeout fired, start a (pre-)election
  beat = 1,            // local: heartbeat timeout fired on the leader
  prop = 2,            // a proposal (may be forwarded to the leader)
  app = 3,             // AppendEntries (§5.3)
  app_resp = 4,
  vote = 5,            // RequestVote (§5.2)
  vote_resp = 6,
  pre_vote = 7,        // thesis §9.6
  pre_vote_resp = 8,
  snap = 9,            // InstallSnapshot (§7)
  heartbeat = 10,      // empty AppendEntries that carries no log position (§5.2)
  heartbeat_resp = 11,
  unreachable = 12,    // local: the transport could not reach `from`
  snap_status = 13,    // local: the outcome of sending a snapshot to `from`
  check_quorum = 14,   // local: CheckQuorum timer (thesis §6.2)
  transfer_leader = 15,// ask the leader to hand leadership to `from` (thesis §3.10)
  timeout_now = 16,    // leader tells the transferee to campaign now (thesis §3.10)
  read_index = 17,     // thesis §6.4
  read_index_resp = 18,
};
inline constexpr uint8_t kMaxMessageType = 18;

std::string_view to_string(MessageType t);
bool is_local_message(MessageType t);
bool is_response_message(MessageType t);

// The context of a vote that leadership transfer forces (thesis §3.10): voters
// grant it even inside their leader lease (thesis §4.2.3).
inline constexpr std::string_view kCampaignTransfer = "CampaignTransfer";

struct Message {
  MessageType type = MessageType::hup;
  NodeId to = kNoNode;
  NodeId from = kNoNode;
  Term term = 0;
  Term log_term = 0;     // app: prevLogTerm; vote: lastLogTerm; app_resp reject: term at reject_hint
  Index index = 0;       // app: prevLogIndex; vote: lastLogIndex; app_resp: last matching index
  std::vector<Entry> entries;
  Index commit = 0;      // leaderCommit
  std::optional<Snapshot> snapshot;
  bool reject = false;
  Index reject_hint = 0; // app_resp reject: where the follower suggests probing next (§5.3 optimisation)
  std::string context;   // read_index / heartbeat: the read's context; vote: kCampaignTransfer

  friend bool operator==(const Message&, const Message&) = default;
};

// Size limits enforced while decoding untrusted bytes.
struct MessageLimits {
  uint64_t max_message_bytes = 64u << 20;     // the whole encoded message
  uint64_t max_entries = 1u << 20;            // entries in one append
  uint64_t max_entry_bytes = 16u << 20;       // data of one entry
  uint64_t max_snapshot_bytes = 64u << 20;    // snapshot data carried inline
  uint64_t max_context_bytes = 4096;
  uint64_t max_conf_members = 4096;           // voters + learners in a snapshot's conf state
};

std::string encode(const Message& m);
// Decodes one message. Truncated, oversized or malformed input (including
// local-only types) returns errc::invalid_message / errc::message_too_large.
Result<Message> decode(std::string_view bytes, const MessageLimits& limits = {});

// A one-line description, used by traces and the scenario tests.
std::string describe(const Message& m);
std::string describe(const Entry& e);

}  // namespace cairn::raft
