#include <gtest/gtest.h>

#include "core/rng.h"
#include "raft/errc.h"
#include "raft/message.h"

namespace cairn::raft {
namespace {

Message full_message() {
  Message m;
  m.type = MessageType::app;
  m.to = 2;
  m.from = 1;
  m.term = 7;
  m.log_term = 6;
  m.index = 41;
  m.commit = 40;
  m.reject = true;
  m.reject_hint = 39;
  m.context = "ctx";
  m.entries = {Entry{7, 42, EntryType::normal, "put x"},
               Entry{7, 43, EntryType::conf_change, ConfChange{ConfChangeType::add_learner, 4}.encode()}};
  Snapshot s;
  s.metadata = {30, 5, ConfState{{1, 2, 3}, {4}}};
  s.data = std::string("\0\1snapshot", 10);
  m.snapshot = s;
  return m;
}

TEST(MessageCodec, RoundTripsEveryField) {
  Message m = full_message();
  auto back = decode(encode(m));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, m);
}

TEST(MessageCodec, RoundTripsAMinimalMessage) {
  Message m;
  m.type = MessageType::heartbeat_resp;
  m.to = 1;
  m.from = 3;
  m.term = 2;
  auto back = decode(encode(m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, m);
}

TEST(MessageCodec, RejectsEveryTruncation) {
  std::string bytes = encode(full_message());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = decode(std::string_view(bytes).substr(0, n));
    EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes decoded";
  }
}

TEST(MessageCodec, RejectsTrailingBytes) {
  std::string bytes = encode(full_message()) + "x";
  auto r = decode(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::invalid_message);
}

TEST(MessageCodec, SurvivesRandomGarbageWithoutCrashing) {
  SeededRng rng(42);
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes(rng.uniform(64), '\0');
    for (char& c : bytes) c = static_cast<char>(rng.next_u64());
    if (!bytes.empty()) bytes[0] = 1;  // past the version check, to reach the field decoders
    decoded += decode(bytes).ok() ? 1 : 0;
  }
  // Nearly all random inputs are refused; the point is that none aborts.
  EXPECT_LT(decoded, 20000);
}

TEST(MessageCodec, SurvivesMutationsOfAValidMessage) {
  SeededRng rng(7);
  std::string good = encode(full_message());
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = good;
    bytes[rng.uniform(bytes.size())] = static_cast<char>(rng.next_u64());
    auto r = decode(bytes);
    if (r.ok()) {
      EXPECT_EQ(encode(*r).size(), bytes.size());
    }
  }
}

TEST(MessageCodec, RejectsLocalMessageTypes) {
  Message m;
  m.type = MessageType::hup;
  auto r = decode(encode(m));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::invalid_message);
}

TEST(MessageCodec, RejectsUnknownVersion) {
  std::string bytes = encode(full_message());
  bytes[0] = 9;
  EXPECT_FALSE(decode(bytes).ok());
}

TEST(MessageCodec, RejectsMessageOverTheSizeLimit) {
  MessageLimits limits;
  limits.max_message_bytes = 16;
  auto r = decode(encode(full_message()), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::message_too_large);
}

TEST(MessageCodec, RejectsTooManyEntries) {
  MessageLimits limits;
  limits.max_entries = 1;
  auto r = decode(encode(full_message()), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::message_too_large);
}

TEST(MessageCodec, RejectsAnEntryOverItsSizeLimit) {
  MessageLimits limits;
  limits.max_entry_bytes = 3;
  EXPECT_FALSE(decode(encode(full_message()), limits).ok());
}

TEST(MessageCodec, RejectsAnEntryCountLargerThanTheInput) {
  Message m;
  m.type = MessageType::app;
  std::string bytes = encode(m);
  // The entry count is the byte before the snapshot flag; claim a million.
  bytes.pop_back();  // snapshot flag
  bytes.pop_back();  // count 0
  bytes += std::string("\xc0\x84\x3d", 3);  // varint 1000000
  bytes += '\0';
  auto r = decode(bytes);
  EXPECT_FALSE(r.ok());
}

TEST(MessageCodec, RejectsUnsortedConfStateInASnapshot) {
  Message m;
  m.type = MessageType::snap;
  m.snapshot = Snapshot{{5, 1, ConfState{{3, 1}, {}}}, ""};
  EXPECT_FALSE(decode(encode(m)).ok());
}

TEST(ConfChangeCodec, RoundTrips) {
  ConfChange cc{ConfChangeType::remove_node, 300};
  auto back = ConfChange::decode(cc.encode());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, cc);
}

TEST(ConfChangeCodec, RejectsGarbage) {
  EXPECT_FALSE(ConfChange::decode("").ok());
  EXPECT_FALSE(ConfChange::decode(std::string("\x07\x01", 2)).ok());   // unknown type
  EXPECT_FALSE(ConfChange::decode(std::string("\x00\x00", 2)).ok());   // node 0
  EXPECT_FALSE(ConfChange::decode(std::string("\x00\x01\x01", 3)).ok());  // trailing byte
}

}  // namespace
}  // namespace cairn::raft
