// The gossip wire format. A packet is one version byte followed by one or
// more messages, each `kind (u8) | body length (varint) | body`; so every
// packet is a compound message (memberlist's compoundMsg without the count),
// and a broadcast can be appended to a probe as already-encoded bytes.
// Integers are big-endian or LEB128 varints (core/codec.h).
//
// Decoding takes untrusted bytes: a wrong version, a truncated field, an
// oversized string or an unknown kind returns an error and decodes nothing;
// it never asserts. Encryption and the outer framing of the stream
// transport belong to the shell (gossip/io).
//
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"
#include "gossip/vivaldi.h"

namespace cairn::gossip {

inline constexpr uint8_t kProtocolVersion = 1;

enum class MemberState : uint8_t { alive = 0, suspect = 1, dead = 2, left = 3 };
const char* to_string(MemberState s);

// Member metadata (serf tags: role, dc, ports, build…).
using Tags = std::map<std::string, std::string>;
// Canonical encoding (sorted by key), so equal tags give equal bytes.
std::string encode_tags(const Tags& tags);
Result<Tags> decode_tags(std::string_view bytes);

// --- SWIM failure detection (§3) ---
struct Ping {
  uint32_t seq = 0;
  std::string target;       // who we mean: a ping to a reused address is not an ack
  std::string source_name;
  std::string source_addr;  // where to send the ack
};
struct PingReq {  // SWIM §3.1 ping-req, with Lifeguard's nack flag (§IV-A)
  uint32_t seq = 0;
  std::string target;
  std::string target_addr;
  bool want_nack = false;
  std::string source_name;
  std::string source_addr;
};
struct Ack {
  uint32_t seq = 0;
  bool has_coordinate = false;  // the responder's Vivaldi coordinate
  Coordinate coordinate;
};
struct Nack {
  uint32_t seq = 0;
};

// --- Membership updates, disseminated by gossip (§4) ---
struct Alive {
  uint32_t incarnation = 0;
  std::string node;
  std::string addr;
  std::string tags;  // encode_tags() bytes
};
struct Suspect {
  uint32_t incarnation = 0;
  std::string node;
  std::string from;
};
// from == node means a graceful leave, not a failure.
struct Dead {
  uint32_t incarnation = 0;
  std::string node;
  std::string from;
};

// --- Anti-entropy ---
struct MemberRecord {
  std::string name;
  std::string addr;
  std::string tags;
  uint32_t incarnation = 0;
  MemberState state = MemberState::alive;
};
struct UserEventMessage {
  uint64_t ltime = 0;
  std::string name;
  std::string payload;
};
struct PushPull {
  static constexpr uint8_t kReply = 1;
  static constexpr uint8_t kJoin = 2;
  uint8_t flags = 0;
  std::string sender;
  std::string reply_to;
  std::vector<MemberRecord> members;
  uint64_t event_ltime = 0;
  uint64_t query_ltime = 0;
  std::vector<UserEventMessage> events;  // the recent-event buffer, for catch-up
};

// --- Serf queries ---
struct QueryMessage {
  uint64_t ltime = 0;
  uint32_t id = 0;
  std::string origin;
  std::string origin_addr;
  bool want_ack = false;
  uint32_t timeout_ms = 0;
  uint8_t relay_factor = 0;  // responses also go through this many random members
  std::vector<std::string> filter_nodes;                        // any of these names
  std::vector<std::pair<std::string, std::string>> filter_tags;  // tag glob, all must match
  std::string name;
  std::string payload;
};
struct QueryResponseMessage {
  uint64_t ltime = 0;
  uint32_t id = 0;
  std::string from;
  bool is_ack = false;
  std::string payload;
};

// serf's messageRelay: forward `packet` (one encoded QueryResponseMessage)
// as a datagram to `to`, so a response survives a lossy direct path.
struct Relay {
  std::string to;
  std::string packet;
};

using Message = std::variant<Ping, PingReq, Ack, Nack, Alive, Suspect, Dead, PushPull,
                             UserEventMessage, QueryMessage, QueryResponseMessage, Relay>;

// Size limits applied while decoding untrusted bytes.
struct WireLimits {
  uint32_t max_packet = 16u << 20;
  uint32_t max_name = 128;     // node names
  uint32_t max_addr = 256;
  uint32_t max_tags = 512;
  uint32_t max_payload = 1024;  // event, query and response payloads
  uint32_t max_messages = 1024; // per packet
};

// Appends kind | length | body of one message.
void encode_message(const Message& m, std::string& out);
// A packet with one message.
std::string encode_packet(const Message& m);
// Decodes a whole packet; all or nothing.
Result<std::vector<Message>> decode_packet(std::string_view bytes, const WireLimits& limits);

// Bytes kind + length + body would take: for packing into an MTU.
std::size_t encoded_size(const Message& m);

}  // namespace cairn::gossip
