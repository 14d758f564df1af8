#include "gossip/messages.h"

#include <type_traits>
#include <utility>

#include "core/codec.h"
#include "gossip/errc.h"

namespace cairn::gossip {
namespace {

// Each message's layout is written once, as a list of fields visited by
// either a FieldWriter or a FieldReader, so encoder and decoder cannot drift.
class FieldWriter {
 public:
  explicit FieldWriter(ByteWriter& w) : w_(w) {}
  void u8(uint8_t v) { w_.u8(v); }
  void u32(uint32_t v) { w_.varint(v); }
  void u64(uint64_t v) { w_.varint(v); }
  void flag(bool v) { w_.boolean(v); }
  void name(const std::string& v) { w_.bytes(v); }
  void addr(const std::string& v) { w_.bytes(v); }
  void tags(const std::string& v) { w_.bytes(v); }
  void payload(const std::string& v) { w_.bytes(v); }
  void packet(const std::string& v) { w_.bytes(v); }
  void state(MemberState s) { w_.u8(static_cast<uint8_t>(s)); }
  void coordinate(const Coordinate& c) {
    for (double x : c.vec) w_.f64(x);
    w_.f64(c.error);
    w_.f64(c.adjustment);
    w_.f64(c.height);
  }
  // `min_size` matters only when reading.
  template <typename T, typename F>
  void list(const std::vector<T>& v, std::size_t /*min_size*/, F&& each) {
    w_.varint(v.size());
    for (const T& x : v) each(x);
  }

 private:
  ByteWriter& w_;
};

class FieldReader {
 public:
  FieldReader(ByteReader& r, const WireLimits& l) : r_(r), l_(l) {}
  void u8(uint8_t& v) { v = r_.u8(); }
  void u32(uint32_t& v) {
    uint64_t x = r_.varint();
    if (x > UINT32_MAX) r_.fail();
    v = static_cast<uint32_t>(x);
  }
  void u64(uint64_t& v) { v = r_.varint(); }
  void flag(bool& v) { v = r_.boolean(); }
  void name(std::string& v) { v = r_.string(l_.max_name); }
  void addr(std::string& v) { v = r_.string(l_.max_addr); }
  void tags(std::string& v) { v = r_.string(l_.max_tags); }
  void payload(std::string& v) { v = r_.string(l_.max_payload); }
  // A relayed response: its payload plus room for the response header.
  void packet(std::string& v) { v = r_.string(l_.max_payload + 2 * l_.max_name + 64); }
  void state(MemberState& s) {
    uint8_t b = r_.u8();
    if (b > static_cast<uint8_t>(MemberState::left)) r_.fail();
    s = static_cast<MemberState>(b);
  }
  void coordinate(Coordinate& c) {
    for (double& x : c.vec) x = r_.f64();
    c.error = r_.f64();
    c.adjustment = r_.f64();
    c.height = r_.f64();
  }
  // A count cannot exceed what the remaining bytes could hold (each element
  // takes at least `min_size` bytes): a hostile count must not make us
  // reserve gigabytes.
  template <typename T, typename F>
  void list(std::vector<T>& v, std::size_t min_size, F&& each) {
    uint64_t n = r_.varint();
    if (n > r_.remaining() / min_size) {
      r_.fail();
      return;
    }
    v.resize(static_cast<std::size_t>(n));
    for (T& x : v) {
      if (!r_.ok()) return;
      each(x);
    }
  }

 private:
  ByteReader& r_;
  const WireLimits& l_;
};

// M is the message type, const when writing.
template <typename M, typename T>
concept Is = std::is_same_v<std::remove_const_t<M>, T>;

template <typename IO, Is<Ping> M>
void fields(IO& io, M& m) {
  io.u32(m.seq);
  io.name(m.target);
  io.name(m.source_name);
  io.addr(m.source_addr);
}
template <typename IO, Is<PingReq> M>
void fields(IO& io, M& m) {
  io.u32(m.seq);
  io.name(m.target);
  io.addr(m.target_addr);
  io.flag(m.want_nack);
  io.name(m.source_name);
  io.addr(m.source_addr);
}
template <typename IO, Is<Ack> M>
void fields(IO& io, M& m) {
  io.u32(m.seq);
  io.flag(m.has_coordinate);
  if (m.has_coordinate) io.coordinate(m.coordinate);
}
template <typename IO, Is<Nack> M>
void fields(IO& io, M& m) {
  io.u32(m.seq);
}
template <typename IO, Is<Alive> M>
void fields(IO& io, M& m) {
  io.u32(m.incarnation);
  io.name(m.node);
  io.addr(m.addr);
  io.tags(m.tags);
}
template <typename IO, typename M>
  requires Is<M, Suspect> || Is<M, Dead>
void fields(IO& io, M& m) {
  io.u32(m.incarnation);
  io.name(m.node);
  io.name(m.from);
}
template <typename IO, Is<UserEventMessage> M>
void fields(IO& io, M& m) {
  io.u64(m.ltime);
  io.payload(m.name);
  io.payload(m.payload);
}
template <typename IO, Is<PushPull> M>
void fields(IO& io, M& m) {
  io.u8(m.flags);
  io.name(m.sender);
  io.addr(m.reply_to);
  io.list(m.members, 5, [&](auto& r) {
    io.name(r.name);
    io.addr(r.addr);
    io.tags(r.tags);
    io.u32(r.incarnation);
    io.state(r.state);
  });
  io.u64(m.event_ltime);
  io.u64(m.query_ltime);
  io.list(m.events, 3, [&](auto& e) { fields(io, e); });
}
template <typename IO, Is<QueryMessage> M>
void fields(IO& io, M& m) {
  io.u64(m.ltime);
  io.u32(m.id);
  io.name(m.origin);
  io.addr(m.origin_addr);
  io.flag(m.want_ack);
  io.u32(m.timeout_ms);
  io.u8(m.relay_factor);
  io.list(m.filter_nodes, 1, [&](auto& n) { io.name(n); });
  io.list(m.filter_tags, 2, [&](auto& kv) {
    io.tags(kv.first);
    io.tags(kv.second);
  });
  io.payload(m.name);
  io.payload(m.payload);
}
template <typename IO, Is<QueryResponseMessage> M>
void fields(IO& io, M& m) {
  io.u64(m.ltime);
  io.u32(m.id);
  io.name(m.from);
  io.flag(m.is_ack);
  io.payload(m.payload);
}

template <typename IO, Is<Relay> M>
void fields(IO& io, M& m) {
  io.addr(m.to);
  io.packet(m.packet);
}

// The message kind on the wire is the variant index + 1 (0 is never valid),
// so the kind table and the variant cannot drift apart.
uint8_t kind_of(const Message& m) { return static_cast<uint8_t>(m.index() + 1); }

template <std::size_t... I>
bool read_kind(uint8_t kind, FieldReader& io, Message& out, std::index_sequence<I...>) {
  return ((kind == I + 1 ? (fields(io, out.emplace<I>()), true) : false) || ...);
}

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
  uint64_t n = r.varint();
  if (n > r.remaining() / 2) r.fail();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
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
  FieldWriter io(bw);
  std::visit([&](const auto& msg) { fields(io, msg); }, m);
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
    FieldReader io(br, limits);
    Message m;
    if (!read_kind(kind, io, m, std::make_index_sequence<std::variant_size_v<Message>>{}))
      return gossip_error(errc::unknown_message, "packet: kind " + std::to_string(kind));
    // A body must be consumed exactly: trailing bytes mean a different layout.
    if (!br.ok() || !br.at_end())
      return gossip_error(errc::malformed, "packet: bad body for kind " + std::to_string(kind));
    out.push_back(std::move(m));
  }
  if (out.empty()) return gossip_error(errc::truncated, "packet: no messages");
  return out;
}

}  // namespace cairn::gossip
