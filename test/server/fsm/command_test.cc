#include "server/fsm/command.h"

#include <gtest/gtest.h>

namespace cairn::server::fsm {
namespace {

WallTime t0() { return WallTime{std::chrono::seconds(1'700'000'000)}; }

TEST(Command, HeaderIsTypeThenVersion) {
  std::string bytes = encode(TombstoneCommand{TombstoneOp::reap, 9});
  ASSERT_GE(bytes.size(), 2u);
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 5);
  EXPECT_EQ(static_cast<uint8_t>(bytes[1]), kCommandVersion);
}

TEST(Command, RegisterRoundTripsWithoutItsToken) {
  RegisterCommand c;
  c.now = t0();
  c.request.node = "n1";
  c.request.address = "10.0.0.1";
  c.request.token = "secret";
  c.request.service.emplace();
  c.request.service->service = "web";
  c.request.service->tags = {"a", "b"};
  c.request.service->tagged_addresses["lan"] = {"10.0.0.1", 80};
  api::HealthCheck check;
  check.check_id = "c";
  check.definition.interval = std::chrono::seconds(10);
  check.definition.header["X"] = {"1", "2"};
  c.request.checks.push_back(check);
  auto d = decode(encode(c));
  ASSERT_TRUE(d.ok()) << d.error().message();
  auto& got = std::get<RegisterCommand>(*d);
  EXPECT_EQ(got.now, t0());
  EXPECT_EQ(got.request.token, "");
  c.request.token.clear();
  EXPECT_EQ(got.request, c.request);
}

TEST(Command, KvRoundTripsOpEntryAndNow) {
  KvCommand c;
  c.op = state::KvOp::lock;
  c.now = t0();
  c.entry.key = "k";
  c.entry.value = std::string("\0\1", 2);
  c.entry.session = "s";
  c.entry.flags = 7;
  auto d = decode(encode(c));
  ASSERT_TRUE(d.ok());
  auto& got = std::get<KvCommand>(*d);
  EXPECT_EQ(got.op, state::KvOp::lock);
  EXPECT_EQ(got.entry, c.entry);
}

TEST(Command, SessionRoundTrips) {
  SessionCommand c;
  c.op = SessionOp::create;
  c.session.id = "id";
  c.session.node = "n";
  c.session.lock_delay = std::chrono::seconds(15);
  c.session.service_checks = {{"svc-check", ""}};
  auto d = decode(encode(c));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<SessionCommand>(*d).session, c.session);
}

TEST(Command, UnknownTypeFailsLoudly) {
  std::string bytes = {static_cast<char>(42), static_cast<char>(kCommandVersion)};
  auto d = decode(bytes);
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(d.error().is(errc::internal));
}

TEST(Command, UnknownTypeWithTheIgnorableFlagIsSkipped) {
  std::string bytes = {static_cast<char>(42 | kIgnoreUnknownTypeFlag), static_cast<char>(kCommandVersion), 'x'};
  auto d = decode(bytes);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<IgnoredCommand>(*d).type, 42);
}

TEST(Command, UnknownVersionOfAKnownTypeFailsLoudly) {
  std::string bytes = encode(TombstoneCommand{TombstoneOp::reap, 1});
  bytes[1] = 9;
  auto d = decode(bytes);
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(d.error().is(errc::internal));
}

TEST(Command, EveryTruncationIsAnErrorNotACrash) {
  RegisterCommand c;
  c.request.node = "n1";
  c.request.service.emplace();
  c.request.service->service = "web";
  std::string bytes = encode(c);
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto d = decode(bytes.substr(0, n));
    EXPECT_FALSE(d.ok()) << "prefix of " << n << " bytes decoded";
  }
}

TEST(Command, TrailingBytesAreAnError) {
  auto d = decode(encode(TombstoneCommand{TombstoneOp::reap, 1}) + "x");
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(d.error().is(errc::invalid_argument));
}

TEST(Command, BadKvOpIsAnError) {
  KvCommand c;
  std::string bytes = encode(c);
  bytes[2] = 99;
  EXPECT_FALSE(decode(bytes).ok());
}

TEST(Command, HugeCountsDoNotAllocate) {
  // type register, version, now=0, then a string length of ~2^63.
  std::string bytes = {0, static_cast<char>(kCommandVersion), 0};
  bytes += std::string(9, '\xff') + '\x7f';
  EXPECT_FALSE(decode(bytes).ok());
}

TEST(Command, RandomBytesNeverCrash) {
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 20'000; ++i) {
    std::string bytes;
    size_t len = 2 + (x % 64);
    for (size_t j = 0; j < len; ++j) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      bytes.push_back(static_cast<char>(x));
    }
    bytes[0] = static_cast<char>(static_cast<uint8_t>(bytes[0]) % 6);
    bytes[1] = static_cast<char>(kCommandVersion);
    (void)decode(bytes);  // any answer, no crash (ASan builds check memory too)
  }
}

TEST(Command, TxnRoundTripsEveryOpKindAsConsulsType8) {
  TxnCommand c;
  c.now = t0();
  api::TxnKvOp kv;
  kv.verb = api::TxnVerb::check_index;
  kv.entry.key = "k";
  kv.entry.value = std::string("\0v", 2);
  kv.entry.raft.modify_index = 4;
  api::TxnNodeOp node;
  node.verb = api::TxnVerb::delete_cas;
  node.node.node = "n";
  api::TxnServiceOp svc;
  svc.verb = api::TxnVerb::set;
  svc.node = "n";
  svc.service.service = "web";
  api::TxnCheckOp check;
  check.verb = api::TxnVerb::get;
  check.check.check_id = "c";
  c.ops = {kv, node, svc, check};
  std::string bytes = encode(c);
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 8);
  auto d = decode(bytes);
  ASSERT_TRUE(d.ok()) << d.error().message();
  auto& got = std::get<TxnCommand>(*d);
  EXPECT_EQ(got.now, t0());
  EXPECT_EQ(got.ops, c.ops);
  for (size_t n = 2; n < bytes.size(); ++n) EXPECT_FALSE(decode(bytes.substr(0, n)).ok()) << n;
}

TEST(Command, RestoreCarriesTheArchiveBytesAsTheyAre) {
  std::string archive("CAIRNSNAP\0\1rest", 16);
  std::string bytes = encode(RestoreCommand{archive});
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 127);
  auto d = decode(bytes);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<RestoreCommand>(*d).archive, archive);
}

}  // namespace
}  // namespace cairn::server::fsm
