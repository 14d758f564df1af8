// Lamport clocks, de-duplication and query filters (serf).
#include <gtest/gtest.h>

#include "gossip/events.h"

namespace cairn::gossip {
namespace {

using namespace std::chrono_literals;

TEST(LamportClock, TickReturnsTheCurrentTimeAndMovesOn) {
  LamportClock c;
  EXPECT_EQ(c.tick(), 0u);
  EXPECT_EQ(c.tick(), 1u);
  EXPECT_EQ(c.time(), 2u);
}

TEST(LamportClock, WitnessMovesPastASeenTimeButNeverBack) {
  LamportClock c;
  c.witness(10);
  EXPECT_EQ(c.time(), 11u);
  c.witness(3);
  EXPECT_EQ(c.time(), 11u);
}

TEST(LamportDedupe, SecondCopyIsADuplicate) {
  LamportDedupe<EventKey> d(8);
  EXPECT_EQ(d.record(5, 6, {"deploy", "v1"}), Seen::fresh);
  EXPECT_EQ(d.record(5, 6, {"deploy", "v1"}), Seen::duplicate);
  EXPECT_EQ(d.record(5, 6, {"deploy", "v2"}), Seen::fresh);  // same time, other event
}

TEST(LamportDedupe, EventsOlderThanTheBufferAreTooOld) {
  LamportDedupe<EventKey> d(8);
  EXPECT_EQ(d.record(1, 20, {"e", ""}), Seen::too_old);
  EXPECT_EQ(d.record(12, 20, {"e", ""}), Seen::fresh);
}

TEST(LamportDedupe, ASlotIsReusedByANewerTime) {
  LamportDedupe<uint32_t> d(4);
  EXPECT_EQ(d.record(1, 2, 7u), Seen::fresh);
  EXPECT_EQ(d.record(5, 6, 7u), Seen::fresh);  // same slot, newer time
  int n = 0;
  d.for_each([&](uint64_t t, uint32_t) { n += t == 5; });
  EXPECT_EQ(n, 1);
}

TEST(GlobMatch, StarMatchesAnyRun) {
  EXPECT_TRUE(glob_match("web-*", "web-1"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYc"));
  EXPECT_TRUE(glob_match("exact", "exact"));
  EXPECT_FALSE(glob_match("exact", "exactly"));
  EXPECT_FALSE(glob_match("web-*", "db-1"));
  EXPECT_FALSE(glob_match("a*b", "aXXc"));
}

TEST(QueryFilter, NodeListMustNameUs) {
  QueryMessage q;
  q.filter_nodes = {"a", "b"};
  EXPECT_TRUE(query_matches(q, "b", {}));
  EXPECT_FALSE(query_matches(q, "c", {}));
}

TEST(QueryFilter, EveryTagFilterMustMatch) {
  QueryMessage q;
  q.filter_tags = {{"role", "web*"}, {"dc", "dc1"}};
  EXPECT_TRUE(query_matches(q, "x", {{"role", "web-frontend"}, {"dc", "dc1"}}));
  EXPECT_FALSE(query_matches(q, "x", {{"role", "web-frontend"}, {"dc", "dc2"}}));
  EXPECT_FALSE(query_matches(q, "x", {{"role", "web"}}));  // dc missing
}

TEST(QueryTable, EachResponderCountsOncePerKind) {
  QueryTable t;
  t.open(7, Instant{} + 1s);
  EXPECT_TRUE(t.record_response(7, "a", true));
  EXPECT_TRUE(t.record_response(7, "a", false));
  EXPECT_FALSE(t.record_response(7, "a", false));
  EXPECT_FALSE(t.record_response(8, "a", false));
}

TEST(QueryTable, OpenQueriesCloseAtTheirDeadline) {
  QueryTable t;
  t.open(7, Instant{} + 1s);
  EXPECT_TRUE(t.expire_open(Instant{} + 999ms).empty());
  EXPECT_EQ(t.expire_open(Instant{} + 1s), std::vector<uint32_t>{7});
  EXPECT_FALSE(t.is_open(7));
  EXPECT_FALSE(t.record_response(7, "a", false));
}

TEST(QueryTable, AQueryCanBeAnsweredOnceBeforeItsDeadline) {
  QueryTable t;
  QueryKey k{1, 7, "origin"};
  t.answerable(k, {"10.0.0.1:8301", Instant{} + 1s, 2});
  auto a = t.take_answerable(k, Instant{});
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->origin_addr, "10.0.0.1:8301");
  EXPECT_EQ(a->relay_factor, 2);
  EXPECT_FALSE(t.take_answerable(k, Instant{}).has_value());
  t.answerable(k, {"10.0.0.1:8301", Instant{} + 1s, 0});
  EXPECT_FALSE(t.take_answerable(k, Instant{} + 2s).has_value());
}

}  // namespace
}  // namespace cairn::gossip
