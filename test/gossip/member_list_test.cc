// The member table and SWIM §4.3's round-robin probe order.
#include <gtest/gtest.h>

#include <set>

#include "core/rng.h"
#include "gossip/member_list.h"

namespace cairn::gossip {
namespace {

Member named(const std::string& name, MemberState s = MemberState::alive) {
  Member m;
  m.name = name;
  m.state = s;
  return m;
}

TEST(MemberList, FindsMembersByName) {
  SeededRng rng(1);
  MemberList l;
  for (int i = 0; i < 100; ++i) l.add(named("m" + std::to_string(i)), rng);
  for (int i = 0; i < 100; ++i) ASSERT_NE(l.find("m" + std::to_string(i)), nullptr) << i;
  EXPECT_EQ(l.find("m7")->name, "m7");
  EXPECT_EQ(l.find("nobody"), nullptr);
}

TEST(MemberList, RemoveKeepsEveryOtherMemberFindable) {
  SeededRng rng(2);
  MemberList l;
  for (int i = 0; i < 50; ++i) l.add(named("m" + std::to_string(i)), rng);
  l.remove("m3");
  l.remove("m49");
  EXPECT_EQ(l.size(), 48u);
  EXPECT_EQ(l.find("m3"), nullptr);
  for (int i = 0; i < 49; ++i) {
    if (i == 3) continue;
    EXPECT_NE(l.find("m" + std::to_string(i)), nullptr) << i;
  }
}

TEST(MemberList, LiveCountFollowsStateChanges) {
  SeededRng rng(3);
  MemberList l;
  l.add(named("a"), rng);
  l.add(named("b"), rng);
  l.add(named("c", MemberState::dead), rng);
  EXPECT_EQ(l.live_count(), 2u);
  l.set_state(*l.find("a"), MemberState::suspect, Instant{});
  EXPECT_EQ(l.live_count(), 2u);
  l.set_state(*l.find("a"), MemberState::dead, Instant{});
  EXPECT_EQ(l.live_count(), 1u);
  l.set_state(*l.find("c"), MemberState::alive, Instant{});
  EXPECT_EQ(l.live_count(), 2u);
}

TEST(MemberList, ARoundProbesEveryOtherLiveMemberOnce) {
  SeededRng rng(4);
  MemberList l;
  l.add(named("self"), rng);
  for (int i = 0; i < 20; ++i) l.add(named("m" + std::to_string(i)), rng);
  l.add(named("gone", MemberState::dead), rng);
  l.add(named("bye", MemberState::left), rng);
  // Finish the round in progress, then watch a full one.
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) l.next_probe_target("self", rng);
  for (int round = 0; round < 3; ++round) {
    seen.clear();
    for (int i = 0; i < 20; ++i) {
      Member* m = l.next_probe_target("self", rng);
      ASSERT_NE(m, nullptr);
      EXPECT_TRUE(seen.insert(m->name).second) << m->name << " twice in round " << round;
    }
    EXPECT_EQ(seen.size(), 20u);
    EXPECT_FALSE(seen.count("self") || seen.count("gone") || seen.count("bye"));
  }
}

TEST(MemberList, AMemberJoiningMidRoundIsProbedThisRound) {
  SeededRng rng(5);
  for (int trial = 0; trial < 50; ++trial) {
    MemberList l;
    l.add(named("self"), rng);
    for (int i = 0; i < 10; ++i) l.add(named("m" + std::to_string(i)), rng);
    for (int i = 0; i < 10; ++i) l.next_probe_target("self", rng);  // round 1 done
    for (int i = 0; i < 4; ++i) l.next_probe_target("self", rng);   // round 2 under way
    l.add(named("late"), rng);
    bool probed = false;
    for (int i = 0; i < 7 && !probed; ++i) probed = l.next_probe_target("self", rng)->name == "late";
    EXPECT_TRUE(probed) << "trial " << trial;
  }
}

TEST(MemberList, NoTargetWhenAloneOrAllDead) {
  SeededRng rng(6);
  MemberList l;
  l.add(named("self"), rng);
  EXPECT_EQ(l.next_probe_target("self", rng), nullptr);
  l.add(named("x", MemberState::dead), rng);
  EXPECT_EQ(l.next_probe_target("self", rng), nullptr);
}

}  // namespace
}  // namespace cairn::gossip
