// The serf layer: leave, reaping, reconnecting, tags, user events, queries.
#include <gtest/gtest.h>

#include <set>

#include "gossip/errc.h"
#include "test/gossip/harness.h"

namespace cairn::gossip {
namespace {

using testing::addr_of;
using testing::Net;

int count(const Ready& r, MemberEvent::Kind kind, const std::string& who) {
  int n = 0;
  for (const auto& e : r.members) n += e.kind == kind && e.member.name == who;
  return n;
}

TEST(Serf, GracefulLeaveShowsAsLeftNotFailed) {
  Net net(3);
  net.join_all();
  net.m(2).leave(net.now());
  for (int i = 0; i < 100 && !net.m(2).leave_propagated(); ++i) net.run(20ms);
  ASSERT_TRUE(net.m(2).leave_propagated());
  net.run(1s);
  net.crash(2);  // the process exits after leaving
  net.run(30s);
  for (uint32_t i = 0; i < 2; ++i) {
    EXPECT_EQ(net.m(i).state_of("n2"), MemberState::left) << i;
    EXPECT_EQ(count(net.events(i), MemberEvent::Kind::leave, "n2"), 1) << i;
    EXPECT_EQ(count(net.events(i), MemberEvent::Kind::failed, "n2"), 0) << i;
  }
}

TEST(Serf, LeftMemberIsNotTurnedIntoFailed) {
  Net net(3);
  net.join_all();
  net.m(2).leave(net.now());
  net.run(1s);
  uint32_t inc = net.m(0).member("n2")->incarnation;
  (void)net.m(0).receive(net.now(), "x", Transport::datagram, encode_packet(Dead{inc + 1, "n2", "n1"}));
  EXPECT_EQ(net.m(0).state_of("n2"), MemberState::left);
}

TEST(Serf, ForceLeaveTurnsAFailedMemberIntoLeftEverywhere) {
  Net net(3);
  net.join_all();
  net.crash(2);
  net.run(20s);
  ASSERT_EQ(net.m(0).state_of("n2"), MemberState::dead);
  ASSERT_TRUE(net.m(0).force_leave(net.now(), "n2").ok());
  net.run(2s);
  EXPECT_EQ(net.m(0).state_of("n2"), MemberState::left);
  EXPECT_EQ(net.m(1).state_of("n2"), MemberState::left);
  EXPECT_EQ(count(net.events(1), MemberEvent::Kind::leave, "n2"), 1);
}

TEST(Serf, ForcedOutMemberThatIsAliveRejoins) {
  Net net(3);
  net.join_all();
  ASSERT_TRUE(net.m(0).force_leave(net.now(), "n2").ok());
  net.run(1s);
  EXPECT_EQ(net.m(1).state_of("n2"), MemberState::left);
  // Nobody gossips to a member that left; n2 learns it at its next push-pull.
  net.run(40s);
  for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(net.m(i).state_of("n2"), MemberState::alive) << i;
}

TEST(Serf, ForceLeaveRefusesUnknownNamesAndOurselves) {
  Net net(2);
  net.join_all();
  EXPECT_EQ(net.m(0).force_leave(net.now(), "nobody").error().code(), make_error_code(errc::not_member));
  EXPECT_FALSE(net.m(0).force_leave(net.now(), "n0").ok());
}

TEST(Serf, CommandsAfterLeaveAreRefused) {
  Net net(2);
  net.join_all();
  net.m(1).leave(net.now());
  EXPECT_EQ(net.m(1).user_event(net.now(), "e", "").error().code(), make_error_code(errc::left));
  EXPECT_EQ(net.m(1).set_tags(net.now(), {}).error().code(), make_error_code(errc::left));
}

TEST(Serf, FailedMemberIsReapedAfterTheReconnectTimeout) {
  Config c = Config::local();
  c.reap_interval = 1s;
  c.reconnect_timeout = 20s;
  Net net(3, c);
  net.join_all();
  net.crash(2);
  net.run(15s);
  EXPECT_EQ(net.m(0).state_of("n2"), MemberState::dead);
  net.run(30s);
  EXPECT_FALSE(net.m(0).state_of("n2").has_value());
  EXPECT_EQ(count(net.events(0), MemberEvent::Kind::reap, "n2"), 1);
  EXPECT_EQ(net.m(0).num_members(), 2u);
}

TEST(Serf, MemberDeclaredFailedRejoinsWhenReachableAgain) {
  Net net(3);
  net.join_all();
  net.drop = [](uint32_t from, uint32_t to, const Packet&) { return from == 2 || to == 2; };
  net.run(20s);
  ASSERT_EQ(net.m(0).state_of("n2"), MemberState::dead);
  net.drop = nullptr;
  net.run(90s);  // reconnect_interval is 30s
  for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(net.m(i).num_live(), 3u) << i;
  EXPECT_EQ(count(net.events(0), MemberEvent::Kind::join, "n2"), 2);  // joined, failed, joined again
}

TEST(Serf, PushPullTurnsARemoteFailureIntoASuspicionHere) {
  Net net(3);
  net.join_all();
  uint32_t inc = net.m(0).member("n2")->incarnation;
  PushPull pp;
  pp.flags = PushPull::kReply;
  pp.sender = "n1";
  pp.members = {{"n2", addr_of(2), encode_tags({{"role", "web"}}), inc, MemberState::dead}};
  (void)net.m(0).receive(net.now(), addr_of(1), Transport::stream, encode_packet(pp));
  // memberlist mergeRemoteState: the member gets its chance to refute.
  EXPECT_EQ(net.m(0).state_of("n2"), MemberState::suspect);
  EXPECT_EQ(count(net.events(0), MemberEvent::Kind::failed, "n2"), 0);
}

TEST(Serf, PushPullCarriesGracefulLeaves) {
  Net net(3);
  net.join_all();
  uint32_t inc = net.m(0).member("n2")->incarnation;
  PushPull pp;
  pp.flags = PushPull::kReply;
  pp.sender = "n1";
  pp.members = {{"n2", addr_of(2), "", inc, MemberState::left}};
  (void)net.m(0).receive(net.now(), addr_of(1), Transport::stream, encode_packet(pp));
  EXPECT_EQ(net.m(0).state_of("n2"), MemberState::left);
}

TEST(Serf, PushPullRequestIsAnsweredWithOurState) {
  Net net(2);
  net.join_all();
  PushPull pp;
  pp.sender = "n9";
  pp.reply_to = "10.0.0.9:8301";
  pp.members = {{"n9", "10.0.0.9:8301", "", 1, MemberState::alive}};
  (void)net.m(0).receive(net.now(), "10.0.0.9:8301", Transport::stream, encode_packet(pp));
  Ready r = net.m(0).take_ready();
  bool answered = false;
  for (const Packet& p : r.packets) {
    if (p.to != "10.0.0.9:8301" || p.transport != Transport::stream) continue;
    auto msgs = decode_packet(p.bytes, WireLimits{});
    ASSERT_TRUE(msgs.ok());
    auto* reply = std::get_if<PushPull>(&(*msgs)[0]);
    ASSERT_NE(reply, nullptr);
    EXPECT_TRUE(reply->flags & PushPull::kReply);
    EXPECT_EQ(reply->members.size(), 2u);  // n0 and n1, as known before the merge
    answered = true;
  }
  EXPECT_TRUE(answered);
  EXPECT_EQ(net.m(0).state_of("n9"), MemberState::alive);
}

TEST(Serf, TagChangeBumpsIncarnationAndReachesEveryone) {
  Net net(3);
  net.join_all();
  uint32_t before = net.m(1).incarnation();
  ASSERT_TRUE(net.m(1).set_tags(net.now(), {{"role", "db"}, {"dc", "east"}}).ok());
  EXPECT_EQ(net.m(1).incarnation(), before + 1);
  net.run(2s);
  for (uint32_t i : {0u, 2u}) {
    EXPECT_EQ(net.m(i).member("n1")->tags.at("role"), "db") << i;
    EXPECT_EQ(count(net.events(i), MemberEvent::Kind::update, "n1"), 1) << i;
  }
}

TEST(Serf, TagsOverTheLimitAreRejected) {
  Net net(1);
  auto st = net.m(0).set_tags(net.now(), {{"blob", std::string(600, 'x')}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), make_error_code(errc::tags_too_large));
  EXPECT_EQ(net.m(0).member("n0")->tags.at("role"), "web");  // unchanged
}

TEST(Serf, UserEventIsDeliveredOnceEverywhere) {
  // The LAN preset: the local one sends each broadcast only twice in a
  // cluster this small and leaves the rest to push-pull.
  Net net(4, Config::lan());
  net.join_all();
  ASSERT_TRUE(net.m(0).user_event(net.now(), "deploy", "v1").ok());
  net.run(3s);
  for (uint32_t i = 0; i < 4; ++i) {
    ASSERT_EQ(net.events(i).user_events.size(), 1u) << i;
    EXPECT_EQ(net.events(i).user_events[0].payload, "v1");
  }
  // A late duplicate is recognised.
  (void)net.m(1).receive(net.now(), "x", Transport::datagram,
                         encode_packet(UserEventMessage{net.events(1).user_events[0].ltime, "deploy", "v1"}));
  EXPECT_TRUE(net.m(1).take_ready().user_events.empty());
}

TEST(Serf, OversizedUserEventIsRejected) {
  Net net(1);
  auto st = net.m(0).user_event(net.now(), "e", std::string(600, 'x'));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), make_error_code(errc::too_large));
}

TEST(Serf, JoinerCatchesUpOnRecentEventsThroughPushPull) {
  Net net(3);
  net.m(1).join(net.now(), {addr_of(0)});
  net.run(1s);
  ASSERT_TRUE(net.m(0).user_event(net.now(), "deploy", "v1").ok());
  net.run(5s);  // long gone from the broadcast queues
  net.m(2).join(net.now(), {addr_of(0)});
  net.run(1s);
  ASSERT_EQ(net.events(2).user_events.size(), 1u);
  EXPECT_EQ(net.events(2).user_events[0].name, "deploy");
}

TEST(Serf, JoinerThatIgnoresOldEventsDoesNotReplayThem) {
  Net net(3);
  net.m(1).join(net.now(), {addr_of(0)});
  net.run(1s);
  ASSERT_TRUE(net.m(0).user_event(net.now(), "deploy", "v1").ok());
  net.run(5s);
  net.m(2).join(net.now(), {addr_of(0)}, /*ignore_old_events=*/true);
  net.run(1s);
  EXPECT_TRUE(net.events(2).user_events.empty());
  ASSERT_TRUE(net.m(1).user_event(net.now(), "deploy", "v2").ok());
  net.run(2s);
  ASSERT_EQ(net.events(2).user_events.size(), 1u);  // new events still arrive
  EXPECT_EQ(net.events(2).user_events[0].payload, "v2");
}

TEST(Serf, QueryCollectsAcksAndResponsesUntilItsDeadline) {
  Net net(3);
  net.join_all();
  QueryParams p;
  p.request_ack = true;
  p.timeout = 2s;
  auto id = net.m(0).query(net.now(), "uptime", "", p);
  ASSERT_TRUE(id.ok());
  net.run(500ms);
  for (uint32_t i = 0; i < 3; ++i) {
    ASSERT_EQ(net.events(i).queries.size(), 1u) << i;
    const QueryRequest& q = net.events(i).queries[0];
    EXPECT_EQ(q.key.id, *id);
    ASSERT_TRUE(net.m(i).respond(net.now(), q.key, "up " + std::to_string(i)).ok());
  }
  net.run(2s);
  int acks = 0, responses = 0;
  for (const auto& r : net.events(0).responses) {
    EXPECT_EQ(r.id, *id);
    (r.is_ack ? acks : responses) += 1;
  }
  EXPECT_EQ(acks, 3);
  EXPECT_EQ(responses, 3);
  EXPECT_EQ(net.events(0).finished_queries, std::vector<uint32_t>{*id});
}

TEST(Serf, RelayedResponsesSurviveALostDirectPath) {
  Net net(4);
  net.join_all();
  // Responders cannot reach the origin directly; relays can.
  net.drop = [](uint32_t from, uint32_t to, const Packet& p) {
    if (p.transport != Transport::datagram || to != 0 || from == 0) return false;
    auto msgs = decode_packet(p.bytes, WireLimits{});
    return msgs.ok() && std::holds_alternative<QueryResponseMessage>((*msgs)[0]) &&
           std::get<QueryResponseMessage>((*msgs)[0]).from == "n" + std::to_string(from);
  };
  QueryParams p;
  p.relay_factor = 2;
  p.timeout = 2s;
  auto id = net.m(0).query(net.now(), "q", "", p);
  ASSERT_TRUE(id.ok());
  net.run(200ms);
  for (uint32_t i = 1; i < 4; ++i) {
    ASSERT_EQ(net.events(i).queries.size(), 1u) << i;
    ASSERT_TRUE(net.m(i).respond(net.now(), net.events(i).queries[0].key, "r").ok());
  }
  net.run(500ms);
  std::set<std::string> from;
  for (const auto& r : net.events(0).responses) from.insert(r.from);
  EXPECT_EQ(from, (std::set<std::string>{"n1", "n2", "n3"}));
  EXPECT_EQ(net.events(0).responses.size(), 3u);  // duplicates through relays are counted once
}

TEST(Serf, RelayCarriesOnlyQueryResponses) {
  Net net(2);
  net.join_all();
  (void)net.m(1).receive(net.now(), "x", Transport::datagram,
                         encode_packet(Relay{"10.9.9.9:1", encode_packet(Ping{1, "n1", "n0", "x"})}));
  EXPECT_TRUE(net.m(1).take_ready().packets.empty());
  EXPECT_EQ(net.m(1).stats().decode_errors, 1u);
}

TEST(Serf, QueryRelayFactorIsLimited) {
  Net net(1);
  QueryParams p;
  p.relay_factor = 6;
  EXPECT_FALSE(net.m(0).query(net.now(), "q", "", p).ok());
}

TEST(Serf, QueryFiltersChooseTheResponders) {
  Net net(3);
  net.join_all();
  QueryParams p;
  p.filter_nodes = {"n1", "n2"};
  p.filter_tags = {{"role", "w*"}};
  ASSERT_TRUE(net.m(0).query(net.now(), "q", "", p).ok());
  net.run(1s);
  EXPECT_TRUE(net.events(0).queries.empty());
  EXPECT_EQ(net.events(1).queries.size(), 1u);
  EXPECT_EQ(net.events(2).queries.size(), 1u);
}

TEST(Serf, RespondingTwiceOrTooLateFails) {
  Net net(2);
  net.join_all();
  QueryParams p;
  p.timeout = 1s;
  ASSERT_TRUE(net.m(0).query(net.now(), "q", "", p).ok());
  net.run(100ms);
  ASSERT_EQ(net.events(1).queries.size(), 1u);
  QueryKey key = net.events(1).queries[0].key;
  EXPECT_TRUE(net.m(1).respond(net.now(), key, "a").ok());
  EXPECT_EQ(net.m(1).respond(net.now(), key, "b").error().code(), make_error_code(errc::query_expired));

  ASSERT_TRUE(net.m(0).query(net.now(), "q2", "", p).ok());
  net.run(2s);
  ASSERT_EQ(net.events(1).queries.size(), 2u);
  EXPECT_FALSE(net.m(1).respond(net.now(), net.events(1).queries[1].key, "late").ok());
}

}  // namespace
}  // namespace cairn::gossip
