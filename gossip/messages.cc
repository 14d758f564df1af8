#include "gossip/messages.h"

#include "core/codec.h"
#include "gossip/errc.h"

namespace cairn::gossip {
namespace {

// The message kind on the wire is the variant index + 1 (0 is never valid),
// so the kind table and the variant cannot drift apart.
uint8_t kind_of(const Message& m) { return static_cast<uint8_t>(m.index() + 1); }

void put_coordinate(ByteWriter& w, const Coordinate& c) {
  for (double x : c.vec) w.f64(x);
  w.f64(c.error);
  w.f64(c.adjustment);
  w.f64(c.height);
}

Coordinate get_coordinate(ByteReader& r) {
  Coordinate c;
  for (double& x : c.vec) x = r.f64();
  c.error = r.f64();
  c.adjustment = r.f64();
  c.height = r.f64();
  return c;
}

void put_body(ByteWriter& w, const Ping& m) {
  w.varint(m.seq);
  w.bytes(m.target);
  w.bytes(m.source_name);
  w.bytes(m.source_addr);
}
void put_body(ByteWriter& w, const PingReq& m) {
  w.varint(m.seq);
  w.bytes(m.target);
  w.bytes(m.target_addr);
  w.boolean(m.want_nack);
  w.bytes(m.source_name);
  w.bytes(m.source_addr);
}
void put_body(ByteWriter& w, const Ack& m) {
  w.varint(m.seq);
  w.boolean(m.has_coordinate);
  if (m.has_coordinate) put_coordinate(w, m.coordinate);
}
void put_body(ByteWriter& w, const Nack& m) { w.varint(m.seq); }
void put_body(ByteWriter& w, const Alive& m) {
  w.varint(m.incarnation);
  w.bytes(m.node);
  w.bytes(m.addr);
  w.bytes(m.tags);
}
template <typename T>
  requires std::is_same_v<T, Suspect> || std::is_same_v<T, Dead>
void put_body(ByteWriter& w, const T& m) {
  w.varint(m.incarnation);
  w.bytes(m.node);
  w.bytes(m.from);
}
void put_event(ByteWriter& w, const UserEventMessage& m) {
  w.varint(m.ltime);
  w.bytes(m.name);
  w.bytes(m.payload);
}
void put_body(ByteWriter& w, const UserEventMessage& m) { put_event(w, m); }
void put_body(ByteWriter& w, const PushPull& m) {
  w.u8(m.flags);
  w.bytes(m.sender);
  w.bytes(m.reply_to);
  w.varint(m.members.size());
  for (const auto& r : m.members) {
    w.bytes(r.name);
    w.bytes(r.addr);
    w.bytes(r.tags);
    w.varint(r.incarnation);
    w.u8(static_cast<uint8_t>(r.state));
  }
  w.varint(m.event_ltime);
  w.varint(m.query_ltime);
  w.varint(m.events.size());
  for (const auto& e : m.events) put_event(w, e);
}
void put_body(ByteWriter& w, const QueryMessage& m) {
  w.varint(m.ltime);
  w.varint(m.id);
  w.bytes(m.origin);
  w.bytes(m.origin_addr);
  w.boolean(m.want_ack);
  w.varint(m.timeout_ms);
  w.varint(m.filter_nodes.size());
  for (const auto& n : m.filter_nodes) w.bytes(n);
  w.varint(m.filter_tags.size());
  for (const auto& [k, v] : m.filter_tags) {
    w.bytes(k);
    w.bytes(v);
  }
  w.bytes(m.name);
  w.bytes(m.payload);
}
void put_body(ByteWriter& w, const QueryResponseMessage& m) {
  w.varint(m.ltime);
  w.varint(m.id);
  w.bytes(m.from);
  w.boolean(m.is_ack);
  w.bytes(m.payload);
}

// Reads a 32-bit varint; larger values fail the reader.
uint32_t get_u32(ByteReader& r) {
  uint64_t v = r.varint();
  if (v > UINT32_MAX) r.fail();
  return static_cast<uint32_t>(v);
}

// A collection count that cannot exceed what the remaining bytes could hold
// (each element takes at least `min_size` bytes): a hostile count must not
// make us reserve gigabytes.
std::size_t get_count(ByteReader& r, std::size_t min_size) {
  uint64_t n = r.varint();
  if (n > r.remaining() / min_size) {
    r.fail();
    return 0;
  }
  return static_cast<std::size_t>(n);
}

class BodyReader {
 public:
  BodyReader(ByteReader& r, const WireLimits& l) : r_(r), l_(l) {}

  Message read(uint8_t kind, bool& known) {
    known = true;
    switch (kind) {
      case 1: {
        Ping m;
        m.seq = get_u32(r_);
        m.target = name();
        m.source_name = name();
        m.source_addr = addr();
        return m;
      }
      case 2: {
        PingReq m;
        m.seq = get_u32(r_);
        m.target = name();
        m.target_addr = addr();
        m.want_nack = r_.boolean();
        m.source_name = name();
        m.source_addr = addr();
        return m;
      }
      case 3: {
        Ack m;
        m.seq = get_u32(r_);
        m.has_coordinate = r_.boolean();
        if (m.has_coordinate) m.coordinate = get_coordinate(r_);
        return m;
      }
      case 4: return Nack{get_u32(r_)};
      case 5: {
        Alive m;
        m.incarnation = get_u32(r_);
        m.node = name();
        m.addr = addr();
        m.tags = r_.string(l_.max_tags);
        return m;
      }
      case 6: return accusation<Suspect>();
      case 7: return accusation<Dead>();
      case 8: return push_pull();
      case 9: return event();
      case 10: return query();
      case 11: {
        QueryResponseMessage m;
        m.ltime = r_.varint();
        m.id = get_u32(r_);
        m.from = name();
        m.is_ack = r_.boolean();
        m.payload = r_.string(l_.max_payload);
        return m;
      }
      default: known = false; return Nack{};
    }
  }

 private:
  std::string name() { return r_.string(l_.max_name); }
  std::string addr() { return r_.string(l_.max_addr); }

  template <typename T>
  T accusation() {
    T m;
    m.incarnation = get_u32(r_);
    m.node = name();
    m.from = name();
    return m;
  }
  UserEventMessage event() {
    UserEventMessage m;
    m.ltime = r_.varint();
    m.name = r_.string(l_.max_payload);
    m.payload = r_.string(l_.max_payload);
    return m;
  }
  PushPull push_pull() {
    PushPull m;
    m.flags = r_.u8();
    m.sender = name();
    m.reply_to = addr();
    std::size_t n = get_count(r_, 5);
    m.members.reserve(n);
    for (std::size_t i = 0; i < n && r_.ok(); ++i) {
      MemberRecord rec;
      rec.name = name();
      rec.addr = addr();
      rec.tags = r_.string(l_.max_tags);
      rec.incarnation = get_u32(r_);
      uint8_t s = r_.u8();
      if (s > static_cast<uint8_t>(MemberState::left)) r_.fail();
      rec.state = static_cast<MemberState>(s);
      m.members.push_back(std::move(rec));
    }
    m.event_ltime = r_.varint();
    m.query_ltime = r_.varint();
    std::size_t ne = get_count(r_, 3);
    m.events.reserve(ne);
    for (std::size_t i = 0; i < ne && r_.ok(); ++i) m.events.push_back(event());
    return m;
  }
  QueryMessage query() {
    QueryMessage m;
    m.ltime = r_.varint();
    m.id = get_u32(r_);
    m.origin = name();
    m.origin_addr = addr();
    m.want_ack = r_.boolean();
    m.timeout_ms = get_u32(r_);
    std::size_t nn = get_count(r_, 1);
    for (std::size_t i = 0; i < nn && r_.ok(); ++i) m.filter_nodes.push_back(name());
    std::size_t nt = get_count(r_, 2);
    for (std::size_t i = 0; i < nt && r_.ok(); ++i) {
      std::string k = r_.string(l_.max_tags);
      std::string v = r_.string(l_.max_tags);
      m.filter_tags.emplace_back(std::move(k), std::move(v));
    }
    m.name = r_.string(l_.max_payload);
    m.payload = r_.string(l_.max_payload);
    return m;
  }

  ByteReader& r_;
  const WireLimits& l_;
};

}  // namespace

const char* to_string(MemberState s) {
  switch (s) {
    case MemberState::alive: return "alive";
    case MemberState::suspect: return "suspect";
    case MemberState::dead: return "failed";
    case MemberState::left: return "left";
  }
  return "unknown";
}

std::string encode_tags(const Tags& tags) {
  std::string out;
  ByteWriter w(&out);
  w.varint(tags.size());
  for (const auto& [k, v] : tags) {
    w.bytes(k);
    w.bytes(v);
  }
  return out;
}

Result<Tags> decode_tags(std::string_view bytes) {
  Tags tags;
  if (bytes.empty()) return tags;
  ByteReader r(bytes);
  std::size_t n = get_count(r, 2);
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    std::string k = r.string(bytes.size());
    std::string v = r.string(bytes.size());
    tags.emplace(std::move(k), std::move(v));
  }
  if (!r.ok() || !r.at_end()) return gossip_error(errc::malformed, "tags: bad encoding");
  return tags;
}

void encode_message(const Message& m, std::string& out) {
  std::string body;
  ByteWriter bw(&body);
  std::visit([&](const auto& msg) { put_body(bw, msg); }, m);
  ByteWriter w(&out);
  w.u8(kind_of(m));
  w.bytes(body);
}

std::string encode_packet(const Message& m) {
  std::string out(1, static_cast<char>(kProtocolVersion));
  encode_message(m, out);
  return out;
}

std::size_t encoded_size(const Message& m) {
  std::string tmp;
  encode_message(m, tmp);
  return tmp.size();
}

Result<std::vector<Message>> decode_packet(std::string_view bytes, const WireLimits& limits) {
  if (bytes.size() > limits.max_packet)
    return gossip_error(errc::too_large, "packet: " + std::to_string(bytes.size()) + " bytes over limit " +
                                             std::to_string(limits.max_packet));
  ByteReader r(bytes);
  uint8_t version = r.u8();
  if (!r.ok()) return gossip_error(errc::truncated, "packet: empty");
  if (version != kProtocolVersion)
    return gossip_error(errc::bad_version, "packet: version " + std::to_string(version));
  std::vector<Message> out;
  while (!r.at_end()) {
    if (out.size() >= limits.max_messages) return gossip_error(errc::too_large, "packet: too many messages");
    uint8_t kind = r.u8();
    std::string_view body = r.bytes(limits.max_packet);
    if (!r.ok()) return gossip_error(errc::truncated, "packet: message " + std::to_string(out.size()));
    ByteReader br(body);
    bool known = false;
    Message m = BodyReader(br, limits).read(kind, known);
    if (!known) return gossip_error(errc::unknown_message, "packet: kind " + std::to_string(kind));
    // A body must be consumed exactly: trailing bytes mean a different layout.
    if (!br.ok() || !br.at_end())
      return gossip_error(errc::malformed, "packet: bad body for kind " + std::to_string(kind));
    out.push_back(std::move(m));
  }
  if (out.empty()) return gossip_error(errc::truncated, "packet: no messages");
  return out;
}

}  // namespace cairn::gossip
