// The wire codec: every message kind round-trips; untrusted, truncated or
// garbage bytes give an error, never a crash or a huge allocation.
#include <gtest/gtest.h>

#include "core/codec.h"
#include "core/rng.h"
#include "gossip/errc.h"
#include "gossip/messages.h"

namespace cairn::gossip {
namespace {

// A packet of one message with a hand-made body.
std::string packet_with(uint8_t kind, const std::string& body) {
  std::string bytes(1, static_cast<char>(kProtocolVersion));
  ByteWriter p(&bytes);
  p.u8(kind);
  p.bytes(body);
  return bytes;
}

std::vector<Message> one_of_each() {
  Coordinate c;
  c.vec[0] = 0.25;
  c.vec[7] = -1.5;
  c.error = 0.7;
  c.adjustment = -0.001;
  c.height = 0.0002;
  PushPull pp;
  pp.flags = PushPull::kJoin;
  pp.sender = "a";
  pp.reply_to = "10.0.0.1:8301";
  pp.members = {{"a", "10.0.0.1:8301", encode_tags({{"role", "web"}}), 3, MemberState::alive},
                {"b", "10.0.0.2:8301", "", 9, MemberState::left}};
  pp.event_ltime = 42;
  pp.query_ltime = 7;
  pp.events = {{41, "deploy", "v2"}};
  QueryMessage q;
  q.ltime = 5;
  q.id = 0xdeadbeef;
  q.origin = "a";
  q.origin_addr = "10.0.0.1:8301";
  q.want_ack = true;
  q.timeout_ms = 3200;
  q.relay_factor = 2;
  q.filter_nodes = {"b", "c"};
  q.filter_tags = {{"role", "web*"}};
  q.name = "uptime";
  q.payload = std::string("\0\1\2", 3);
  return {Ping{1, "b", "a", "10.0.0.1:8301"},
          PingReq{2, "c", "10.0.0.3:8301", true, "a", "10.0.0.1:8301"},
          Ack{3, true, c},
          Ack{4, false, {}},
          Nack{5},
          Alive{6, "a", "10.0.0.1:8301", encode_tags({{"dc", "dc1"}})},
          Suspect{7, "c", "a"},
          Dead{8, "c", "c"},
          pp,
          UserEventMessage{9, "deploy", "v1"},
          q,
          QueryResponseMessage{5, 0xdeadbeef, "b", false, "up 3 days"},
          Relay{"10.0.0.1:8301", encode_packet(QueryResponseMessage{5, 1, "b", false, "x"})}};
}

TEST(Messages, EveryKindRoundTrips) {
  for (const Message& m : one_of_each()) {
    std::string bytes = encode_packet(m);
    auto back = decode_packet(bytes, WireLimits{});
    ASSERT_TRUE(back.ok()) << "kind " << m.index() << ": " << back.error().message();
    ASSERT_EQ(back->size(), 1u);
    std::string again = encode_packet((*back)[0]);
    EXPECT_EQ(again, bytes) << "kind " << m.index();
    EXPECT_EQ((*back)[0].index(), m.index());
  }
}

TEST(Messages, CompoundPacketCarriesSeveralMessagesInOrder) {
  auto all = one_of_each();
  std::string bytes(1, static_cast<char>(kProtocolVersion));
  for (const Message& m : all) encode_message(m, bytes);
  auto back = decode_packet(bytes, WireLimits{});
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), all.size());
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ((*back)[i].index(), all[i].index());
  EXPECT_EQ(std::get<Suspect>((*back)[6]).node, "c");
}

TEST(Messages, EncodedSizeMatchesTheBytesWritten) {
  for (const Message& m : one_of_each()) EXPECT_EQ(encoded_size(m) + 1, encode_packet(m).size());
}

TEST(Messages, EveryTruncationIsAnError) {
  for (const Message& m : one_of_each()) {
    std::string bytes = encode_packet(m);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      auto r = decode_packet(std::string_view(bytes).substr(0, n), WireLimits{});
      EXPECT_FALSE(r.ok()) << "kind " << m.index() << " cut at " << n;
    }
  }
}

TEST(Messages, UnknownVersionIsRejected) {
  std::string bytes = encode_packet(Nack{1});
  bytes[0] = 9;
  auto r = decode_packet(bytes, WireLimits{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), make_error_code(errc::bad_version));
}

TEST(Messages, UnknownKindIsRejected) {
  std::string bytes = {static_cast<char>(kProtocolVersion), 99, 0};
  auto r = decode_packet(bytes, WireLimits{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), make_error_code(errc::unknown_message));
}

TEST(Messages, TrailingBytesInABodyAreRejected) {
  std::string body;
  ByteWriter w(&body);
  w.varint(1);  // nack seq
  w.u8(0);      // one byte too many
  EXPECT_FALSE(decode_packet(packet_with(4, body), WireLimits{}).ok());
}

TEST(Messages, OversizedPacketIsRejectedBeforeParsing) {
  WireLimits l;
  l.max_packet = 16;
  auto r = decode_packet(std::string(17, '\1'), l);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), make_error_code(errc::too_large));
}

TEST(Messages, OverlongNameIsRejected) {
  WireLimits l;
  l.max_name = 4;
  EXPECT_FALSE(decode_packet(encode_packet(Suspect{1, "longname", "a"}), l).ok());
  EXPECT_TRUE(decode_packet(encode_packet(Suspect{1, "shrt", "a"}), l).ok());
}

TEST(Messages, HostileMemberCountDoesNotAllocate) {
  std::string body;
  ByteWriter w(&body);
  w.u8(0);
  w.bytes("a");
  w.bytes("x");
  w.varint(uint64_t{1} << 60);  // claims 2^60 members in a few bytes
  EXPECT_FALSE(decode_packet(packet_with(8, body), WireLimits{}).ok());
}

TEST(Messages, BadMemberStateByteIsRejected) {
  PushPull pp;
  pp.members = {{"a", "x", "", 1, MemberState::alive}};
  std::string bytes = encode_packet(pp);
  // The state byte of the only record sits before the two ltime varints and
  // the event count (3 bytes from the end).
  bytes[bytes.size() - 4] = 7;
  EXPECT_FALSE(decode_packet(bytes, WireLimits{}).ok());
}

TEST(Messages, RandomGarbageNeverCrashes) {
  SeededRng rng(99);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes(rng.uniform(64), '\0');
    for (char& c : bytes) c = static_cast<char>(rng.next_u64());
    if (!bytes.empty() && rng.uniform(2)) bytes[0] = static_cast<char>(kProtocolVersion);
    accepted += decode_packet(bytes, WireLimits{}).ok();
  }
  EXPECT_LT(accepted, 2000);  // almost all garbage is refused
}

TEST(Messages, MutatedValidPacketsNeverCrash) {
  SeededRng rng(7);
  auto all = one_of_each();
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = encode_packet(all[rng.uniform(all.size())]);
    for (int flips = 1 + static_cast<int>(rng.uniform(3)); flips > 0; --flips)
      bytes[rng.uniform(bytes.size())] = static_cast<char>(rng.next_u64());
    auto r = decode_packet(bytes, WireLimits{});
    if (r.ok()) {
      EXPECT_FALSE(r->empty());
    }
  }
}

TEST(Messages, TagsRoundTripCanonically) {
  Tags t{{"role", "web"}, {"dc", "dc1"}, {"port", "8080"}};
  std::string a = encode_tags(t);
  auto back = decode_tags(a);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, t);
  EXPECT_EQ(encode_tags(*back), a);
  EXPECT_TRUE(decode_tags("").ok());
}

TEST(Messages, GarbageTagsAreAnError) {
  EXPECT_FALSE(decode_tags("\x05garbage").ok());
  std::string a = encode_tags({{"k", "v"}});
  EXPECT_FALSE(decode_tags(a + "x").ok());
}

TEST(Errc, CategoryGivesReadableMessages) {
  EXPECT_STREQ(gossip_category().name(), "gossip");
  EXPECT_EQ(make_error_code(errc::truncated).message(), "truncated packet");
  EXPECT_EQ(gossip_error(errc::malformed, "").message(), "malformed message");
}

}  // namespace
}  // namespace cairn::gossip
