#include "raft/message.h"

#include <sstream>

#include "core/codec.h"
#include "raft/errc.h"

namespace cairn::raft {
namespace {

// Bumped when the layout changes; a decoder refuses versions it does not know.
constexpr uint8_t kWireVersion = 1;

void put_ids(ByteWriter& w, const std::vector<NodeId>& ids) {
  w.varint(ids.size());
  for (NodeId id : ids) w.varint(id);
}

bool get_ids(ByteReader& r, std::vector<NodeId>& out, uint64_t& budget) {
  uint64_t n = r.varint();
  if (!r.ok() || n > budget || n > r.remaining()) return false;
  budget -= n;
  out.reserve(n);
  NodeId prev = kNoNode;
  for (uint64_t i = 0; i < n; ++i) {
    NodeId id = r.varint();
    // Sorted and unique, as ConfState promises; also rejects id 0.
    if (!r.ok() || id <= prev) return false;
    out.push_back(id);
    prev = id;
  }
  return true;
}

}  // namespace

std::string_view to_string(MessageType t) {
  switch (t) {
    case MessageType::hup: return "MsgHup";
    case MessageType::beat: return "MsgBeat";
    case MessageType::prop: return "MsgProp";
    case MessageType::app: return "MsgApp";
    case MessageType::app_resp: return "MsgAppResp";
    case MessageType::vote: return "MsgVote";
    case MessageType::vote_resp: return "MsgVoteResp";
    case MessageType::pre_vote: return "MsgPreVote";
    case MessageType::pre_vote_resp: return "MsgPreVoteResp";
    case MessageType::snap: return "MsgSnap";
    case MessageType::heartbeat: return "MsgHeartbeat";
    case MessageType::heartbeat_resp: return "MsgHeartbeatResp";
    case MessageType::unreachable: return "MsgUnreachable";
    case MessageType::snap_status: return "MsgSnapStatus";
    case MessageType::check_quorum: return "MsgCheckQuorum";
    case MessageType::transfer_leader: return "MsgTransferLeader";
    case MessageType::timeout_now: return "MsgTimeoutNow";
    case MessageType::read_index: return "MsgReadIndex";
    case MessageType::read_index_resp: return "MsgReadIndexResp";
  }
  return "MsgUnknown";
}

bool is_local_message(MessageType t) {
  return t == MessageType::hup || t == MessageType::beat || t == MessageType::unreachable ||
         t == MessageType::snap_status || t == MessageType::check_quorum;
}

bool is_response_message(MessageType t) {
  return t == MessageType::app_resp || t == MessageType::vote_resp ||
         t == MessageType::heartbeat_resp || t == MessageType::unreachable ||
         t == MessageType::pre_vote_resp;
}

std::string encode(const Message& m) {
  std::string out;
  ByteWriter w(&out);
  w.u8(kWireVersion);
  w.u8(static_cast<uint8_t>(m.type));
  w.varint(m.to);
  w.varint(m.from);
  w.varint(m.term);
  w.varint(m.log_term);
  w.varint(m.index);
  w.varint(m.commit);
  w.boolean(m.reject);
  w.varint(m.reject_hint);
  w.bytes(m.context);
  w.varint(m.entries.size());
  for (const Entry& e : m.entries) {
    w.varint(e.term);
    w.varint(e.index);
    w.u8(static_cast<uint8_t>(e.type));
    w.bytes(e.data);
  }
  w.boolean(m.snapshot.has_value());
  if (m.snapshot) {
    const SnapshotMetadata& md = m.snapshot->metadata;
    w.varint(md.index);
    w.varint(md.term);
    put_ids(w, md.conf_state.voters);
    put_ids(w, md.conf_state.learners);
    w.bytes(m.snapshot->data);
  }
  return out;
}

Result<Message> decode(std::string_view bytes, const MessageLimits& limits) {
  if (bytes.size() > limits.max_message_bytes) {
    return raft_error(errc::message_too_large, "raft message: " + std::to_string(bytes.size()) +
                                                   " bytes, limit " +
                                                   std::to_string(limits.max_message_bytes));
  }
  auto bad = [](std::string_view what) {
    return raft_error(errc::invalid_message, "raft message: " + std::string(what));
  };
  ByteReader r(bytes);
  if (r.u8() != kWireVersion) return bad("unknown version");
  uint8_t type = r.u8();
  if (!r.ok() || type > kMaxMessageType) return bad("unknown type");
  Message m;
  m.type = static_cast<MessageType>(type);
  if (is_local_message(m.type)) return bad("local message type on the wire");
  m.to = r.varint();
  m.from = r.varint();
  m.term = r.varint();
  m.log_term = r.varint();
  m.index = r.varint();
  m.commit = r.varint();
  m.reject = r.boolean();
  m.reject_hint = r.varint();
  m.context = r.string(limits.max_context_bytes);
  uint64_t n = r.varint();
  if (!r.ok()) return bad("truncated header");
  // Each entry takes at least 4 bytes, so a count over remaining()/4 is a lie;
  // checking it before reserving keeps garbage from allocating gigabytes.
  if (n > limits.max_entries) {
    return raft_error(errc::message_too_large, "raft message: " + std::to_string(n) +
                                                   " entries, limit " +
                                                   std::to_string(limits.max_entries));
  }
  if (n > r.remaining() / 4) return bad("entry count beyond the input");
  m.entries.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    Entry e;
    e.term = r.varint();
    e.index = r.varint();
    uint8_t et = r.u8();
    if (et > static_cast<uint8_t>(EntryType::conf_change)) return bad("unknown entry type");
    e.type = static_cast<EntryType>(et);
    e.data = r.string(limits.max_entry_bytes);
    if (!r.ok()) return bad("truncated or oversized entry");
    m.entries.push_back(std::move(e));
  }
  bool has_snapshot = r.boolean();
  if (has_snapshot) {
    Snapshot s;
    s.metadata.index = r.varint();
    s.metadata.term = r.varint();
    uint64_t budget = limits.max_conf_members;
    if (!get_ids(r, s.metadata.conf_state.voters, budget) ||
        !get_ids(r, s.metadata.conf_state.learners, budget)) {
      return bad("malformed conf state");
    }
    s.data = r.string(limits.max_snapshot_bytes);
    m.snapshot = std::move(s);
  }
  if (!r.ok()) return bad("truncated or oversized field");
  if (!r.at_end()) return bad("trailing bytes");
  return m;
}

std::string describe(const Entry& e) {
  std::ostringstream os;
  os << e.term << "/" << e.index;
  if (e.type == EntryType::conf_change) {
    auto cc = ConfChange::decode(e.data);
    if (!cc.ok()) {
      os << " ConfChange(invalid)";
    } else {
      static constexpr const char* kNames[] = {"add", "add-learner", "remove"};
      os << " ConfChange " << kNames[static_cast<int>(cc->type)] << " " << cc->node_id;
    }
  } else if (e.data.empty()) {
    os << " EntryNormal (no-op)";
  } else {
    os << " EntryNormal \"" << e.data << "\"";
  }
  return os.str();
}

std::string describe(const Message& m) {
  std::ostringstream os;
  os << m.from << "->" << m.to << " " << to_string(m.type) << " Term:" << m.term;
  switch (m.type) {
    case MessageType::app:
      os << " Log:" << m.log_term << "/" << m.index << " Commit:" << m.commit;
      break;
    case MessageType::app_resp:
      os << " Index:" << m.index;
      if (m.reject) os << " Rejected (Hint: " << m.reject_hint << "/" << m.log_term << ")";
      break;
    case MessageType::vote:
    case MessageType::pre_vote:
      os << " Log:" << m.log_term << "/" << m.index;
      break;
    case MessageType::vote_resp:
    case MessageType::pre_vote_resp:
      if (m.reject) os << " Rejected";
      break;
    case MessageType::heartbeat:
      os << " Commit:" << m.commit;
      break;
    case MessageType::read_index_resp:
      os << " Index:" << m.index;
      break;
    default:
      break;
  }
  if (!m.context.empty()) os << " Context:" << m.context;
  if (!m.entries.empty()) {
    os << " Entries:[";
    for (size_t i = 0; i < m.entries.size(); ++i) os << (i ? ", " : "") << describe(m.entries[i]);
    os << "]";
  }
  if (m.snapshot) {
    os << " Snapshot: Index:" << m.snapshot->metadata.index << " Term:" << m.snapshot->metadata.term
       << " Voters:[";
    const auto& v = m.snapshot->metadata.conf_state.voters;
    for (size_t i = 0; i < v.size(); ++i) os << (i ? " " : "") << v[i];
    os << "]";
    const auto& l = m.snapshot->metadata.conf_state.learners;
    if (!l.empty()) {
      os << " Learners:[";
      for (size_t i = 0; i < l.size(); ++i) os << (i ? " " : "") << l[i];
      os << "]";
    }
  }
  return os.str();
}

}  // namespace cairn::raft
