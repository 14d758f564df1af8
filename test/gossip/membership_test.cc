// Failure detection: SWIM probes, suspicion and refutation, Lifeguard's
// local health, the buddy system, piggybacking and the receive path.
#include <gtest/gtest.h>

#include <set>

#include "gossip/errc.h"
#include "test/gossip/harness.h"

namespace cairn::gossip {
namespace {

using testing::addr_of;
using testing::name_of;
using testing::Net;

bool contains_failed(const Ready& r, const std::string& who) {
  for (const auto& e : r.members)
    if (e.kind == MemberEvent::Kind::failed && e.member.name == who) return true;
  return false;
}

std::vector<Message> decode(const Packet& p) {
  auto r = decode_packet(p.bytes, WireLimits{});
  return r.ok() ? std::move(*r) : std::vector<Message>{};
}

TEST(Membership, CreateRejectsAnInvalidConfig) {
  Config c = Config::lan();
  c.indirect_checks = 99;
  auto m = Membership::create(c, LocalNode{"a", "x", {}}, std::make_unique<SeededRng>(1), Instant{});
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message().find("indirect_checks"), std::string::npos);
}

TEST(Membership, CreateRejectsTagsOverTheLimit) {
  Config c = Config::lan();
  auto m = Membership::create(c, LocalNode{"a", "x", {{"big", std::string(600, 'x')}}},
                              std::make_unique<SeededRng>(1), Instant{});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code(), make_error_code(errc::tags_too_large));
}

TEST(Membership, JoinedMembersSeeEachOtherAlive) {
  Net net(3);
  net.join_all();
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(net.m(i).num_live(), 3u);
    for (uint32_t j = 0; j < 3; ++j) EXPECT_EQ(net.m(i).state_of(name_of(j)), MemberState::alive);
  }
  int joins = 0;
  for (const auto& e : net.events(0).members) joins += e.kind == MemberEvent::Kind::join;
  EXPECT_EQ(joins, 2);
  EXPECT_EQ(net.m(0).member("n1")->tags.at("role"), "web");
}

TEST(Membership, JoinWorksThroughAnyMember) {
  Net net(3);
  net.m(1).join(net.now(), {addr_of(0)});
  net.deliver();
  net.m(2).join(net.now(), {addr_of(1)});
  net.run(3s);
  for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(net.m(i).num_live(), 3u) << i;
}

TEST(Membership, SuspectRefutesWithHigherIncarnation) {
  Net net(2);
  net.join_all();
  uint32_t before = net.m(1).incarnation();
  // n0 hears (from nobody in particular) that n1 is suspect.
  (void)net.m(0).receive(net.now(), "elsewhere", Transport::datagram,
                         encode_packet(Suspect{before, "n1", "n9"}));
  EXPECT_EQ(net.m(0).state_of("n1"), MemberState::suspect);
  net.run(2s);
  EXPECT_GT(net.m(1).incarnation(), before);
  EXPECT_EQ(net.m(1).stats().refutations, 1u);
  EXPECT_EQ(net.m(0).state_of("n1"), MemberState::alive);
  EXPECT_EQ(net.m(0).member("n1")->incarnation, net.m(1).incarnation());
}

TEST(Membership, InvariantsHoldThroughSuspicionFailureAndLeave) {
  Net net(4);
  net.join_all();
  net.crash(3);
  for (int i = 0; i < 300; ++i) {
    net.run(100ms);
    for (uint32_t k = 0; k < 3; ++k) ASSERT_TRUE(net.m(k).check_invariants().ok()) << k << " at step " << i;
  }
  net.m(2).leave(net.now());
  net.run(2s);
  for (uint32_t k = 0; k < 3; ++k) EXPECT_TRUE(net.m(k).check_invariants().ok()) << k;
}

// state.cc eager_relay: news of a leave goes out at once, in packets of its
// own (nothing piggybacked, so no retransmit budget is spent), to
// eager_relay_nodes live members, once per member.
TEST(Membership, LeaveNewsIsPushedAtOnceToAFewMembersOnlyOnce) {
  Net net(10);
  net.join_all();
  for (uint32_t i = 0; i < 10; ++i) (void)net.m(i).take_ready();
  uint32_t inc = net.m(0).member("n5")->incarnation;
  std::string leave = encode_packet(Dead{inc, "n5", "n5"});
  ASSERT_TRUE(net.m(0).receive(net.now(), addr_of(5), Transport::datagram, leave).ok());
  Ready r = net.m(0).take_ready();
  std::set<std::string> targets;
  for (const Packet& p : r.packets) {
    auto msgs = decode(p);
    ASSERT_EQ(msgs.size(), 1u) << "an eager relay piggybacks nothing";
    auto* d = std::get_if<Dead>(&msgs[0]);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->node, "n5");
    EXPECT_EQ(d->from, "n5");
    EXPECT_NE(p.to, addr_of(0));
    EXPECT_NE(p.to, addr_of(5));
    targets.insert(p.to);
  }
  EXPECT_EQ(targets.size(), Config::local().eager_relay_nodes);
  EXPECT_EQ(r.packets.size(), targets.size());
  EXPECT_EQ(net.m(0).stats().eager_relays, targets.size());
  // The same news again: already known, nothing more is sent.
  ASSERT_TRUE(net.m(0).receive(net.now(), addr_of(5), Transport::datagram, leave).ok());
  EXPECT_TRUE(net.m(0).take_ready().packets.empty());
  // Delivered with the clock standing still, it spreads past the first hop.
  net.crash(5);
  for (const Packet& p : r.packets) {
    uint32_t to = static_cast<uint32_t>(std::stoul(p.to.substr(7)));
    ASSERT_TRUE(net.m(to).receive(net.now(), addr_of(0), Transport::datagram, p.bytes).ok());
  }
  net.deliver();
  uint32_t seen = 0;
  for (uint32_t i = 0; i < 10; ++i) seen += i != 5 && net.m(i).state_of("n5") == MemberState::left;
  EXPECT_GT(seen, 1u + targets.size()) << "relayed on by the members it reached";
}

TEST(Membership, EagerRelayOffSendsNothingExtra) {
  Config c = Config::local();
  c.eager_relay_nodes = 0;
  Net net(5, c);
  net.join_all();
  for (uint32_t i = 0; i < 5; ++i) (void)net.m(i).take_ready();
  uint32_t inc = net.m(0).member("n3")->incarnation;
  ASSERT_TRUE(net.m(0).receive(net.now(), addr_of(3), Transport::datagram, encode_packet(Dead{inc, "n3", "n3"})).ok());
  EXPECT_TRUE(net.m(0).take_ready().packets.empty());
  EXPECT_EQ(net.m(0).state_of("n3"), MemberState::left);
  EXPECT_EQ(net.m(0).stats().eager_relays, 0u);
}

TEST(Membership, DeadAboutSelfIsRefutedToo) {
  Net net(2);
  net.join_all();
  uint32_t before = net.m(1).incarnation();
  (void)net.m(1).receive(net.now(), addr_of(0), Transport::datagram, encode_packet(Dead{before, "n1", "n0"}));
  EXPECT_EQ(net.m(1).incarnation(), before + 1);
  EXPECT_EQ(net.m(1).state_of("n1"), MemberState::alive);
}

TEST(Membership, AliveWithAStaleIncarnationIsIgnored) {
  Net net(2);
  net.join_all();
  auto before = *net.m(0).member("n1");
  (void)net.m(0).receive(net.now(), "x", Transport::datagram,
                         encode_packet(Alive{before.incarnation, "n1", "10.9.9.9:1", encode_tags({})}));
  auto after = *net.m(0).member("n1");
  EXPECT_EQ(after.addr, before.addr);
  EXPECT_EQ(after.tags, before.tags);
}

TEST(Membership, SuspicionWithALowerIncarnationIsIgnored) {
  Net net(2);
  net.join_all();
  uint32_t inc = net.m(0).member("n1")->incarnation;
  ASSERT_GT(inc, 0u);
  (void)net.m(0).receive(net.now(), "x", Transport::datagram, encode_packet(Suspect{inc - 1, "n1", "n9"}));
  EXPECT_EQ(net.m(0).state_of("n1"), MemberState::alive);
}

TEST(Membership, SilentMemberIsSuspectedThenDeclaredFailed) {
  Net net(4);
  net.join_all();
  net.crash(3);
  bool suspected = false;
  for (int i = 0; i < 100 && !suspected; ++i) {
    net.run(100ms);
    suspected = net.m(0).state_of("n3") == MemberState::suspect;
  }
  EXPECT_TRUE(suspected);
  net.run(30s);
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(net.m(i).state_of("n3"), MemberState::dead) << i;
    EXPECT_TRUE(contains_failed(net.events(i), "n3")) << i;
  }
}

TEST(Membership, SuspicionAtANewerIncarnationRestartsTheTimer) {
  Net net(3);
  net.join_all();
  // n0 hears no gossip, only what we inject (its probes still succeed by stream).
  net.drop = [](uint32_t, uint32_t to, const Packet& p) { return to == 0 && p.transport == Transport::datagram; };
  uint32_t inc = net.m(0).member("n2")->incarnation;
  auto tell = [&](const Message& m) { (void)net.m(0).receive(net.now(), "x", Transport::datagram, encode_packet(m)); };
  tell(Suspect{inc, "n2", "n1"});
  net.run(2s);
  tell(Suspect{inc + 1, "n2", "n1"});  // n2 refuted (we missed it) and is suspected again
  EXPECT_EQ(net.m(0).member("n2")->incarnation, inc + 1);
  EXPECT_EQ(net.m(0).stats().suspicions, 2u);
}

TEST(Membership, SuspectThatAnswersTheLastChanceCheckIsNotDeclaredDead) {
  Net net(3);
  net.join_all();
  // n0 misses every datagram (so every refutation); streams still work.
  net.drop = [](uint32_t, uint32_t to, const Packet& p) { return to == 0 && p.transport == Transport::datagram; };
  uint32_t inc = net.m(0).member("n2")->incarnation;
  (void)net.m(0).receive(net.now(), "x", Transport::datagram, encode_packet(Suspect{inc, "n2", "n1"}));
  net.run(30s);
  EXPECT_NE(net.m(0).state_of("n2"), MemberState::dead);
  EXPECT_FALSE(contains_failed(net.events(0), "n2"));
}

// The last-chance check goes out a probe interval before the suspicion
// timer ends, so a member that cannot answer is declared failed when the
// timer ends (memberlist's timeline), not a probe interval later.
TEST(Membership, UnreachableSuspectIsDeclaredDeadWhenItsTimerEnds) {
  Net net(3, Config::lan());
  net.join_all();
  net.crash(2);  // n1 stays up, so n0's own probes get their nacks and its health stays good
  uint32_t inc = net.m(0).member("n2")->incarnation;
  Instant start = net.now();
  (void)net.m(0).receive(start, "x", Transport::datagram, encode_packet(Suspect{inc, "n2", "n1"}));
  // 3 members: no confirmations expected, so the timer is the minimum,
  // 4 x max(1, log10 3) x 1 s = 4 s.
  net.run(4s - 20ms);
  EXPECT_EQ(net.m(0).state_of("n2"), MemberState::suspect);
  EXPECT_FALSE(contains_failed(net.events(0), "n2"));
  net.run(20ms);
  EXPECT_EQ(net.m(0).state_of("n2"), MemberState::dead);
  EXPECT_TRUE(contains_failed(net.events(0), "n2"));
}

// Lifeguard's local health slows our own accusations only: a suspicion
// gossiped by another member runs on the plain timer even while we are
// unhealthy, as in memberlist.
TEST(Membership, AnotherMembersAccusationIsNotSlowedByOurOwnHealth) {
  Net net(3, Config::lan());
  net.join_all();
  net.crash(2);
  (void)net.m(0).receive(net.now(), "x", Transport::datagram, encode_packet(Suspect{net.m(0).incarnation(), "n0", "n1"}));
  ASSERT_GT(net.m(0).health_score(), 0u);  // refuting an accusation counts against us
  uint32_t inc = net.m(0).member("n2")->incarnation;
  (void)net.m(0).receive(net.now(), "x", Transport::datagram, encode_packet(Suspect{inc, "n2", "n1"}));
  net.run(4s);  // 4 x max(1, log10 3) x 1 s, not (score + 1) times that
  EXPECT_EQ(net.m(0).state_of("n2"), MemberState::dead);
  EXPECT_TRUE(contains_failed(net.events(0), "n2"));
}

TEST(Membership, SuspectThatCannotBeReachedAtAllIsDeclaredDead) {
  Net net(3);
  net.join_all();
  net.drop = [](uint32_t from, uint32_t to, const Packet&) { return to == 0 || from == 0; };
  uint32_t inc = net.m(0).member("n2")->incarnation;
  (void)net.m(0).receive(net.now(), "x", Transport::datagram, encode_packet(Suspect{inc, "n2", "n1"}));
  net.run(30s);
  EXPECT_TRUE(contains_failed(net.events(0), "n2"));
}

TEST(Membership, IndirectProbeKeepsAMemberWithABrokenDirectLinkAlive) {
  Config c = Config::local();
  c.stream_fallback_probe = false;
  Net net(3, c);
  net.join_all();
  net.drop = [](uint32_t from, uint32_t to, const Packet&) {
    return (from == 0 && to == 2) || (from == 2 && to == 0);
  };
  net.run(30s);
  EXPECT_EQ(net.m(0).state_of("n2"), MemberState::alive);
  EXPECT_GT(net.m(0).stats().indirect_probes, 0u);
  EXPECT_FALSE(contains_failed(net.events(0), "n2"));
}

TEST(Membership, StreamProbeKeepsAMemberAliveWhenDatagramsFail) {
  Net net(2);
  net.join_all();
  net.drop = [](uint32_t, uint32_t, const Packet& p) { return p.transport == Transport::datagram; };
  net.run(30s);
  EXPECT_EQ(net.m(0).state_of("n1"), MemberState::alive);
  EXPECT_EQ(net.m(1).state_of("n0"), MemberState::alive);
  EXPECT_EQ(net.m(0).stats().suspicions, 0u);
}

TEST(Membership, MissingNacksRaiseOurOwnHealthScore) {
  Config c = Config::local();
  c.stream_fallback_probe = false;
  Net net(3, c);
  net.join_all();
  // Our inbound path is broken: no acks, no nacks reach us.
  net.drop = [](uint32_t, uint32_t to, const Packet&) { return to == 0; };
  net.run(5s);
  EXPECT_GT(net.m(0).health_score(), 0u);
}

TEST(Membership, NacksFromRelaysSpareOurHealthScore) {
  Config c = Config::local();
  c.stream_fallback_probe = false;
  Net net(3, c);
  net.join_all();
  net.crash(2);
  net.run(5s);
  EXPECT_GT(net.m(0).stats().nacks_received, 0u);
  EXPECT_EQ(net.m(0).health_score(), 0u);
}

TEST(Membership, StalledMemberDoesNotAccuseItsProbeTarget) {
  Net net(2);
  net.join_all();
  net.drop = [](uint32_t, uint32_t to, const Packet&) { return to == 0; };  // acks to n0 are lost
  // Run until n0 has just sent a probe to n1, then stall n0 past the probe.
  bool probing = false;
  for (int i = 0; i < 200 && !probing; ++i) {
    std::size_t before = net.sent(0).size();
    net.run(20ms);
    for (std::size_t k = before; k < net.sent(0).size(); ++k)
      for (const auto& m : decode(net.sent(0)[k])) probing = probing || std::holds_alternative<Ping>(m);
  }
  ASSERT_TRUE(probing);
  net.m(0).tick(net.now() + 5s);
  EXPECT_EQ(net.m(0).stats().stalls, 1u);
  EXPECT_EQ(net.m(0).stats().suspicions, 0u);
  EXPECT_EQ(net.m(0).state_of("n1"), MemberState::alive);
  EXPECT_GT(net.m(0).health_score(), 0u);
}

TEST(Membership, BuddySystemTellsASuspectItIsSuspected) {
  Net net(3);
  net.join_all();
  uint32_t inc = net.m(0).member("n2")->incarnation;
  (void)net.m(0).receive(net.now(), "x", Transport::datagram, encode_packet(Suspect{inc, "n2", "n1"}));
  std::size_t from = net.sent(0).size();
  net.drop = [](uint32_t from, uint32_t, const Packet&) { return from == 0; };  // keep n2 unaware otherwise
  net.run(3s);
  bool buddy = false;
  for (std::size_t k = from; k < net.sent(0).size(); ++k) {
    const Packet& p = net.sent(0)[k];
    if (p.to != addr_of(2)) continue;
    bool ping = false, accusation = false;
    for (const auto& m : decode(p)) {
      if (auto* x = std::get_if<Ping>(&m)) ping = ping || x->target == "n2";
      if (auto* x = std::get_if<Suspect>(&m)) accusation = accusation || x->node == "n2";
    }
    buddy = buddy || (ping && accusation);
  }
  EXPECT_TRUE(buddy);
}

TEST(Membership, GarbagePacketIsCountedAndChangesNothing) {
  Net net(2);
  net.join_all();
  auto st = net.m(0).receive(net.now(), "x", Transport::datagram, "\x01\x05\x7f\x01");
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(net.m(0).stats().decode_errors, 1u);
  EXPECT_EQ(net.m(0).num_live(), 2u);
}

TEST(Membership, MutatedPacketsNeverBreakInvariants) {
  Net net(4);
  net.join_all();
  net.run(3s);
  std::vector<Packet> corpus;
  for (uint32_t i = 1; i < 4; ++i) corpus.insert(corpus.end(), net.sent(i).begin(), net.sent(i).end());
  ASSERT_FALSE(corpus.empty());
  SeededRng rng(11);
  for (int k = 0; k < 5000; ++k) {
    Packet p = corpus[rng.uniform(corpus.size())];
    for (int flips = 1 + static_cast<int>(rng.uniform(4)); flips > 0; --flips)
      p.bytes[rng.uniform(p.bytes.size())] = static_cast<char>(rng.next_u64());
    (void)net.m(0).receive(net.now(), addr_of(1), p.transport, p.bytes);
    (void)net.m(0).take_ready();
    ASSERT_TRUE(net.m(0).check_invariants().ok()) << "after mutation " << k;
    if (k % 100 == 0) net.m(0).tick(net.now());
  }
  EXPECT_GT(net.m(0).stats().decode_errors, 1000u);
}

TEST(Membership, PacketWithOneBadMessageIsDroppedWhole) {
  Net net(2);
  net.join_all();
  std::string bytes = encode_packet(Alive{5, "n7", "10.0.0.7:1", encode_tags({})});
  bytes += "\x63\x00";  // an unknown kind after a valid message
  EXPECT_FALSE(net.m(0).receive(net.now(), "x", Transport::datagram, bytes).ok());
  EXPECT_FALSE(net.m(0).state_of("n7").has_value());
}

TEST(Membership, ProbeAcksCarryVivaldiCoordinates) {
  Net net(2);
  net.join_all();
  net.run(5s);
  EXPECT_TRUE(net.m(0).coordinate_of("n1").has_value());
  EXPECT_TRUE(net.m(0).coordinate_of("n0").has_value());
  EXPECT_FALSE(net.m(0).coordinate_of("n9").has_value());
}

TEST(Membership, PiggybackedDatagramsStayWithinTheMtu) {
  Config c = Config::local();
  c.udp_mtu = 600;
  c.user_event_size_limit = c.query_size_limit = c.query_response_size_limit = 500;
  Net net(20, c);
  net.join_all();
  net.run(5s);
  bool compound = false;
  for (uint32_t i = 0; i < 20; ++i)
    for (const Packet& p : net.sent(i)) {
      if (p.transport != Transport::datagram) continue;
      EXPECT_LE(p.bytes.size(), 600u);
      compound = compound || decode(p).size() > 2;
    }
  EXPECT_TRUE(compound);
  for (uint32_t i = 0; i < 20; ++i) EXPECT_EQ(net.m(i).num_live(), 20u);
}

TEST(Membership, SameSeedReplaysTheSamePackets) {
  auto run = [] {
    Net net(5, Config::local(), 42);
    net.join_all();
    net.crash(4);
    net.run(10s);
    std::vector<std::string> all;
    for (uint32_t i = 0; i < 4; ++i)
      for (const Packet& p : net.sent(i)) all.push_back(p.to + p.bytes);
    return all;
  };
  EXPECT_EQ(run(), run());
}

}  // namespace
}  // namespace cairn::gossip
