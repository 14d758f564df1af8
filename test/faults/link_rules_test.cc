// The relay's per-link fault rules (harness/link_rules.h): directed blocks,
// netem shapes on the sender, their heals, and the netem spec parser.
#include <gtest/gtest.h>

#include "test/faults/harness/link_rules.h"

namespace cairn::faults {
namespace {

TEST(LinkRules, AnOpenLinkPassesEverythingAtOnce) {
  LinkRules r;
  std::mt19937_64 rng(1);
  EXPECT_EQ(r.datagram(0, 1, rng), std::optional<int64_t>(0));
  EXPECT_EQ(r.stream(1, 0, rng), std::optional<int64_t>(0));
}

TEST(LinkRules, ABlockIsDirected) {
  LinkRules r;
  std::mt19937_64 rng(1);
  r.block(0, 1);
  EXPECT_TRUE(r.blocked(0, 1));
  EXPECT_FALSE(r.blocked(1, 0));
  EXPECT_EQ(r.datagram(0, 1, rng), std::nullopt);
  EXPECT_EQ(r.stream(0, 1, rng), std::nullopt);  // stalls
  EXPECT_EQ(r.datagram(1, 0, rng), std::optional<int64_t>(0));
  EXPECT_EQ(r.stream(1, 0, rng), std::optional<int64_t>(0));
  EXPECT_EQ(r.datagram(0, 2, rng), std::optional<int64_t>(0));  // other links untouched
  EXPECT_EQ(r.datagram(2, 1, rng), std::optional<int64_t>(0));
}

TEST(LinkRules, ANodeIsNeverCutFromItself) {
  LinkRules r;
  r.block(2, 2);
  EXPECT_FALSE(r.blocked(2, 2));
  EXPECT_TRUE(r.cuts().empty());
}

TEST(LinkRules, HealingCutsKeepsShapesAndTheOtherWayRound) {
  LinkRules r;
  std::mt19937_64 rng(1);
  r.block(0, 1);
  r.block(1, 0);
  r.shape(2, LinkShape{40, 0, 0});
  r.heal_cuts();
  EXPECT_FALSE(r.blocked(0, 1));
  EXPECT_FALSE(r.blocked(1, 0));
  EXPECT_EQ(r.datagram(2, 0, rng), std::optional<int64_t>(40));
  r.block(0, 1);
  r.heal_shapes();
  EXPECT_EQ(r.datagram(2, 0, rng), std::optional<int64_t>(0));
  EXPECT_TRUE(r.blocked(0, 1));
}

TEST(LinkRules, AShapeActsOnWhatTheNodeSendsOnly) {
  LinkRules r;
  std::mt19937_64 rng(1);
  r.shape(1, LinkShape{100, 0, 0});
  EXPECT_EQ(r.datagram(1, 0, rng), std::optional<int64_t>(100));
  EXPECT_EQ(r.stream(1, 2, rng), std::optional<int64_t>(100));
  EXPECT_EQ(r.datagram(0, 1, rng), std::optional<int64_t>(0));
  EXPECT_EQ(r.stream(2, 1, rng), std::optional<int64_t>(0));
}

TEST(LinkRules, JitterStaysInItsRangeAndNeverGoesNegative) {
  LinkRules r;
  std::mt19937_64 rng(7);
  r.shape(0, LinkShape{80, 40, 0});
  r.shape(1, LinkShape{10, 50, 0});
  bool low = false, high = false;
  for (int i = 0; i < 2000; ++i) {
    auto d = r.datagram(0, 1, rng);
    ASSERT_TRUE(d.has_value());
    EXPECT_GE(*d, 40);
    EXPECT_LE(*d, 120);
    low = low || *d < 60;
    high = high || *d > 100;
    auto e = r.datagram(1, 0, rng);
    ASSERT_TRUE(e.has_value());
    EXPECT_GE(*e, 0);
    EXPECT_LE(*e, 60);
  }
  EXPECT_TRUE(low && high);  // it does vary
}

TEST(LinkRules, LossDropsDatagramsButOnlyDelaysStreams) {
  LinkRules r;
  std::mt19937_64 rng(3);
  r.shape(0, LinkShape{20, 0, 0.25});
  int dropped = 0, retransmitted = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    auto d = r.datagram(0, 1, rng);
    if (!d) ++dropped;
    else EXPECT_EQ(*d, 20);
    auto s = r.stream(0, 1, rng);
    ASSERT_TRUE(s.has_value());  // a stream never loses bytes
    if (*s == 20 + LinkRules::kRetransmitMs) ++retransmitted;
    else EXPECT_EQ(*s, 20);
  }
  // 25 % of 4000 = 1000; far outside these bounds would be a broken draw.
  EXPECT_GT(dropped, 800);
  EXPECT_LT(dropped, 1200);
  EXPECT_GT(retransmitted, 800);
  EXPECT_LT(retransmitted, 1200);
}

TEST(LinkRules, FullLossDropsEveryDatagram) {
  LinkRules r;
  std::mt19937_64 rng(3);
  r.shape(0, LinkShape{0, 0, 1.0});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(r.datagram(0, 1, rng), std::nullopt);
}

TEST(LinkRules, TheSameSeedGivesTheSameDecisions) {
  LinkRules r;
  r.shape(0, LinkShape{80, 40, 0.2});
  std::mt19937_64 a(11), b(11);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(r.datagram(0, 1, a), r.datagram(0, 1, b));
}

TEST(ParseNetem, TheScheduleSpecs) {
  std::string err;
  auto s = parse_netem("netem delay 80ms 40ms loss 15%", &err);
  ASSERT_TRUE(s.has_value()) << err;
  EXPECT_EQ(s->delay_ms, 80);
  EXPECT_EQ(s->jitter_ms, 40);
  EXPECT_DOUBLE_EQ(s->loss, 0.15);
  s = parse_netem("netem delay 1s", &err);
  ASSERT_TRUE(s.has_value()) << err;
  EXPECT_EQ(s->delay_ms, 1000);
  EXPECT_EQ(s->jitter_ms, 0);
  EXPECT_EQ(s->loss, 0);
  s = parse_netem("netem loss 2.5%", &err);
  ASSERT_TRUE(s.has_value()) << err;
  EXPECT_EQ(s->delay_ms, 0);
  EXPECT_DOUBLE_EQ(s->loss, 0.025);
  s = parse_netem("netem delay 30ms loss 100%", &err);
  ASSERT_TRUE(s.has_value()) << err;
  EXPECT_EQ(s->jitter_ms, 0);
  EXPECT_EQ(s->loss, 1.0);
}

TEST(ParseNetem, BadSpecsNameTheWord) {
  std::string err;
  EXPECT_FALSE(parse_netem("tbf rate 128kbit burst 8kbit latency 200ms", &err));
  EXPECT_NE(err.find("not a netem qdisc"), std::string::npos) << err;
  EXPECT_FALSE(parse_netem("netem delay fast", &err));
  EXPECT_NE(err.find("\"fast\""), std::string::npos) << err;
  EXPECT_FALSE(parse_netem("netem delay 10ms 5parsecs", &err));
  EXPECT_NE(err.find("jitter"), std::string::npos) << err;
  EXPECT_FALSE(parse_netem("netem loss 150%", &err));
  EXPECT_NE(err.find("loss"), std::string::npos) << err;
  EXPECT_FALSE(parse_netem("netem loss", &err));
  EXPECT_FALSE(parse_netem("netem delay 10ms 5ms loss 1% duplicate 1%", &err));
  EXPECT_NE(err.find("\"duplicate\""), std::string::npos) << err;
  EXPECT_FALSE(parse_netem("", &err));
}

}  // namespace
}  // namespace cairn::faults
