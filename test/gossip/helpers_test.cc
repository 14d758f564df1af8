// The small pure helpers, tested directly: config presets and validation,
// suspicion timeouts, the local health score, retransmit and push-pull scale.
#include <gtest/gtest.h>

#include "gossip/broadcast_queue.h"
#include "gossip/config.h"
#include "gossip/errc.h"
#include "gossip/suspicion.h"

namespace cairn::gossip {
namespace {

using namespace std::chrono_literals;

TEST(Config, PresetsAreValid) {
  EXPECT_TRUE(Config::lan().validate().ok());
  EXPECT_TRUE(Config::wan().validate().ok());
  EXPECT_TRUE(Config::local().validate().ok());
}

TEST(Config, PresetsCarryMemberlistDefaults) {
  EXPECT_EQ(Config::lan().probe_interval, 1s);
  EXPECT_EQ(Config::lan().probe_timeout, 500ms);
  EXPECT_EQ(Config::lan().suspicion_mult, 4u);
  EXPECT_EQ(Config::lan().udp_mtu, 1400u);
  EXPECT_EQ(Config::wan().probe_interval, 5s);
  EXPECT_EQ(Config::wan().suspicion_mult, 6u);
  EXPECT_EQ(Config::local().indirect_checks, 1u);
  EXPECT_EQ(Config::local().gossip_interval, 100ms);
}

TEST(Config, ValidateNamesTheFieldAndItsRange) {
  Config c = Config::lan();
  c.probe_timeout = 2s;
  auto st = c.validate();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), make_error_code(errc::invalid_config));
  EXPECT_EQ(st.error().message(), "probe_timeout must be in [1ms, probe_interval)");

  c = Config::lan();
  c.udp_mtu = 100;
  ASSERT_FALSE(c.validate().ok());
  EXPECT_NE(c.validate().error().message().find("udp_mtu"), std::string::npos);
}

TEST(Config, EveryOutOfRangeFieldIsNamed) {
  struct Case {
    const char* field;
    void (*spoil)(Config&);
  };
  const Case cases[] = {
      {"probe_interval", [](Config& c) { c.probe_interval = 1ms; }},
      {"probe_timeout", [](Config& c) { c.probe_timeout = 0ms; }},
      {"indirect_checks", [](Config& c) { c.indirect_checks = 17; }},
      {"suspicion_mult", [](Config& c) { c.suspicion_mult = 0; }},
      {"suspicion_max_timeout_mult", [](Config& c) { c.suspicion_max_timeout_mult = 0; }},
      {"awareness_max_multiplier", [](Config& c) { c.awareness_max_multiplier = 0; }},
      {"stall_threshold", [](Config& c) { c.stall_threshold = 1ms; }},
      {"retransmit_mult", [](Config& c) { c.retransmit_mult = 0; }},
      {"gossip_interval", [](Config& c) { c.gossip_interval = 0ms; }},
      {"gossip_nodes", [](Config& c) { c.gossip_nodes = 0; }},
      {"gossip_to_the_dead_time", [](Config& c) { c.gossip_to_the_dead_time = -1s; }},
      {"udp_mtu", [](Config& c) { c.udp_mtu = 70000; }},
      {"push_pull_interval", [](Config& c) { c.push_pull_interval = -1s; }},
      {"stream_timeout", [](Config& c) { c.stream_timeout = 0ms; }},
      {"reap_interval", [](Config& c) { c.reap_interval = 0ms; }},
      {"reconnect_interval", [](Config& c) { c.reconnect_interval = 0ms; }},
      {"reconnect_timeout", [](Config& c) { c.reconnect_timeout = 1s; }},
      {"tombstone_timeout", [](Config& c) { c.tombstone_timeout = 1s; }},
      {"max_tags_bytes", [](Config& c) { c.max_tags_bytes = 5000; }},
      {"event_buffer", [](Config& c) { c.event_buffer = 0; }},
      {"query_buffer", [](Config& c) { c.query_buffer = 0; }},
      {"user_event_size_limit", [](Config& c) { c.user_event_size_limit = 1400; }},
      {"query_size_limit", [](Config& c) { c.query_size_limit = 0; }},
      {"query_response_size_limit", [](Config& c) { c.query_response_size_limit = 2000; }},
      {"query_timeout_mult", [](Config& c) { c.query_timeout_mult = 0; }},
      {"max_stream_bytes", [](Config& c) { c.max_stream_bytes = 1024; }},
      {"max_name_bytes", [](Config& c) { c.max_name_bytes = 0; }},
  };
  for (const Case& k : cases) {
    Config c = Config::lan();
    k.spoil(c);
    auto st = c.validate();
    ASSERT_FALSE(st.ok()) << k.field;
    EXPECT_EQ(st.error().message().rfind(std::string(k.field) + " must be", 0), 0u)
        << k.field << ": " << st.error().message();
  }
}

TEST(Config, PushPullIntervalGrowsWithLog2OfClusterSizeAbove32) {
  EXPECT_EQ(push_pull_scale(30s, 1), 30s);
  EXPECT_EQ(push_pull_scale(30s, 32), 30s);
  EXPECT_EQ(push_pull_scale(30s, 33), 60s);
  EXPECT_EQ(push_pull_scale(30s, 64), 60s);
  EXPECT_EQ(push_pull_scale(30s, 65), 90s);
  EXPECT_EQ(push_pull_scale(30s, 1000), 180s);
}

TEST(Config, DefaultQueryTimeoutScalesWithLog10OfClusterSize) {
  Config c = Config::lan();  // 200ms * 16 * ceil(log10(n + 1))
  EXPECT_EQ(default_query_timeout(c, 1), 3200ms);
  EXPECT_EQ(default_query_timeout(c, 9), 3200ms);
  EXPECT_EQ(default_query_timeout(c, 10), 6400ms);
  EXPECT_EQ(default_query_timeout(c, 1000), 12800ms);
}

TEST(Suspicion, MinimumTimeoutScalesWithLog10OfClusterSize) {
  EXPECT_EQ(suspicion_timeout(4, 0, 1s), 4s);
  EXPECT_EQ(suspicion_timeout(4, 10, 1s), 4s);
  EXPECT_EQ(suspicion_timeout(4, 100, 1s), 8s);
  EXPECT_EQ(suspicion_timeout(4, 1000, 1s), 12s);
  EXPECT_EQ(suspicion_timeout(3, 1000, 500ms), 4500ms);
}

// The table of memberlist's suspicion_test.go TestSuspicion_remainingSuspicionTime.
TEST(Suspicion, RemainingTimeShrinksLogarithmicallyWithConfirmations) {
  EXPECT_EQ(remaining_suspicion_time(0, 3, 0s, 2s, 30s), 30s);
  EXPECT_EQ(remaining_suspicion_time(1, 3, 2s, 2s, 30s), 14s);
  EXPECT_EQ(remaining_suspicion_time(2, 3, 3s, 2s, 30s), 4810ms);
  EXPECT_EQ(remaining_suspicion_time(3, 3, 4s, 2s, 30s), -2s);
  EXPECT_EQ(remaining_suspicion_time(4, 3, 5s, 2s, 30s), -3s);
  EXPECT_EQ(remaining_suspicion_time(5, 3, 10s, 2s, 30s), -8s);
}

TEST(Suspicion, StartsAtTheMaximumTimeout) {
  Suspicion s(Instant{}, 3, 2s, 30s, "a");
  EXPECT_EQ(s.deadline(), Instant{} + 30s);
}

TEST(Suspicion, IndependentConfirmationsBringTheDeadlineForward) {
  Suspicion s(Instant{}, 3, 2s, 30s, "a");
  EXPECT_TRUE(s.confirm("b"));
  EXPECT_EQ(s.deadline(), Instant{} + 16s);
  EXPECT_TRUE(s.confirm("c"));
  EXPECT_TRUE(s.confirm("d"));
  EXPECT_EQ(s.deadline(), Instant{} + 2s);
}

TEST(Suspicion, AccuserAndRepeatedConfirmersDoNotCount) {
  Suspicion s(Instant{}, 3, 2s, 30s, "a");
  EXPECT_FALSE(s.confirm("a"));
  EXPECT_TRUE(s.confirm("b"));
  EXPECT_FALSE(s.confirm("b"));
  EXPECT_EQ(s.confirmations(), 2u);  // accuser + b
}

TEST(Suspicion, WithNoConfirmationsExpectedUsesTheMinimum) {
  Suspicion s(Instant{}, 0, 2s, 30s, "a");
  EXPECT_EQ(s.deadline(), Instant{} + 2s);
  EXPECT_FALSE(s.confirm("b"));
}

TEST(Suspicion, ExtendOnlyMovesTheDeadlineLater) {
  Suspicion s(Instant{}, 0, 2s, 30s, "a");
  s.extend_to(Instant{} + 1s);
  EXPECT_EQ(s.deadline(), Instant{} + 2s);
  s.extend_to(Instant{} + 5s);
  EXPECT_EQ(s.deadline(), Instant{} + 5s);
}

TEST(Suspicion, ConfirmationsDoNotPullTheDeadlineBeforeAnExtension) {
  Suspicion s(Instant{}, 3, 2s, 30s, "a");
  s.extend_to(Instant{} + 10s);
  EXPECT_TRUE(s.confirm("b"));  // would be 16 s: earlier than 30, later than 10
  EXPECT_EQ(s.deadline(), Instant{} + 16s);
  EXPECT_TRUE(s.confirm("c"));
  EXPECT_TRUE(s.confirm("d"));  // would be 2 s
  EXPECT_EQ(s.deadline(), Instant{} + 10s);
}

TEST(Suspicion, TheLastChanceCheckFallsDueALeadBeforeTheDeadline) {
  Suspicion s(Instant{}, 0, 4s, 24s, "a");
  EXPECT_FALSE(s.check_due(Instant{} + 2999ms, 1s));
  EXPECT_TRUE(s.check_due(Instant{} + 3s, 1s));
  s.mark_checked(7, Instant{} + 4s);
  EXPECT_FALSE(s.check_due(Instant{} + 3s, 1s));  // once only
  EXPECT_EQ(s.check_seq(), 7u);
  EXPECT_EQ(s.deadline(), Instant{} + 4s);  // the verdict stays due at the deadline
}

TEST(Suspicion, ACheckSentLateStillGetsItsWholeWindow) {
  Suspicion s(Instant{}, 0, 4s, 24s, "a");
  s.mark_checked(1, Instant{} + 6s);  // sent at 5 s (we were stalled), window 1 s
  EXPECT_EQ(s.deadline(), Instant{} + 6s);
}

TEST(Awareness, ScoreSaturatesBetweenZeroAndMaxMinusOne) {
  Awareness a(8);
  a.apply_delta(-1);
  EXPECT_EQ(a.score(), 0u);
  a.apply_delta(100);
  EXPECT_EQ(a.score(), 7u);
  a.apply_delta(-3);
  EXPECT_EQ(a.score(), 4u);
}

TEST(Awareness, ScalesTimeoutsByScorePlusOne) {
  Awareness a(8);
  EXPECT_EQ(a.scale(500ms), 500ms);
  a.apply_delta(2);
  EXPECT_EQ(a.scale(500ms), 1500ms);
}

TEST(BroadcastQueue, RetransmitLimitIsMultTimesCeilLog10OfSizePlusOne) {
  EXPECT_EQ(retransmit_limit(4, 1), 4u);
  EXPECT_EQ(retransmit_limit(4, 9), 4u);
  EXPECT_EQ(retransmit_limit(4, 10), 8u);
  EXPECT_EQ(retransmit_limit(4, 99), 8u);
  EXPECT_EQ(retransmit_limit(4, 100), 12u);
  EXPECT_EQ(retransmit_limit(4, 1000), 16u);
}

TEST(BroadcastQueue, NewerMessageWithTheSameKeyReplacesTheOlder) {
  BroadcastQueue q;
  q.queue("n1", "old");
  q.queue("n1", "new");
  EXPECT_EQ(q.size(), 1u);
  std::string out;
  q.fill(out, 100, 0, 10);
  EXPECT_EQ(out, "new");
}

TEST(BroadcastQueue, EmptyKeysNeverCollide) {
  BroadcastQueue q;
  q.queue("", "eventA!!");
  q.queue("", "eventB!!");
  EXPECT_EQ(q.size(), 2u);
}

TEST(BroadcastQueue, LeastTransmittedFirstThenNewest) {
  BroadcastQueue q;
  q.queue("a", "AAAAAAAA");
  q.queue("b", "BBBBBBBB");
  std::string out;
  q.fill(out, 8, 0, 10);  // room for one: the newest
  EXPECT_EQ(out, "BBBBBBBB");
  out.clear();
  q.fill(out, 8, 0, 10);  // b was sent once, a never: a goes now
  EXPECT_EQ(out, "AAAAAAAA");
}

TEST(BroadcastQueue, MessageIsDroppedAfterItsTransmitLimit) {
  BroadcastQueue q;
  q.queue("a", "AAAAAAAA");
  std::string out;
  for (int i = 0; i < 3; ++i) q.fill(out, 100, 0, 3);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.transmits("a").has_value());
  EXPECT_EQ(out.size(), 24u);
}

TEST(BroadcastQueue, PastItsDepthTheMostTransmittedAreDroppedFirst) {
  BroadcastQueue q(2);
  q.queue("a", "AAAAAAAA");
  std::string out;
  q.fill(out, 8, 0, 10);  // a: sent once
  q.queue("b", "BBBBBBBB");
  q.queue("c", "CCCCCCCC");  // over the depth: a goes, the fresh news stays
  EXPECT_EQ(q.size(), 2u);
  EXPECT_FALSE(q.transmits("a").has_value());
  EXPECT_EQ(q.transmits("b"), 0u);
  EXPECT_EQ(q.transmits("c"), 0u);
  q.queue("b", "bbbbbbbb");  // a replacement is not a new entry
  EXPECT_EQ(q.size(), 2u);
  out.clear();
  q.fill(out, 100, 0, 10);
  EXPECT_EQ(out, "bbbbbbbbCCCCCCCC");
  EXPECT_EQ(q.transmits("b"), 1u);
}

TEST(BroadcastQueue, FillNeverExceedsTheBudget) {
  BroadcastQueue q;
  for (int i = 0; i < 100; ++i) q.queue("k" + std::to_string(i), std::string(10 + i % 7, 'x'));
  std::string out;
  std::size_t used = q.fill(out, 200, 2, 10);
  EXPECT_EQ(used, out.size());
  EXPECT_LE(out.size(), 200u);
  EXPECT_GT(out.size(), 150u);  // and packs it well
}

}  // namespace
}  // namespace cairn::gossip
