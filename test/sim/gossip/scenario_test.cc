// The gossip simulation suite (label sim): each scenario at 50-200 members
// over several seeds. A failure prints the seed and the replay command.
#include <gtest/gtest.h>

#include <cstdio>

#include "test/sim/gossip/scenarios.h"

namespace cairn::gossip::sim {
namespace {

void expect_ok(const std::string& scenario, std::size_t members, uint64_t seed, double loss = 0.0,
               double stall_fraction = 0.05, const std::string& preset = "lan") {
  ScenarioOptions o;
  o.preset = preset;
  o.stall_fraction = stall_fraction;
  o.scenario = scenario;
  o.members = members;
  o.seed = seed;
  o.loss = loss;
  Report r = run_scenario(o);
  std::printf("%s\n", r.summary().c_str());
  EXPECT_TRUE(r.ok) << r.summary();
  EXPECT_EQ(r.false_positives, 0u) << r.replay_command();
}

TEST(GossipSim, JoinsConvergeToFullMembership) {
  for (uint64_t seed : {1, 2, 3}) expect_ok("converge", 100, seed);
}

TEST(GossipSim, CrashedMemberIsDeclaredFailedByEveryone) {
  for (uint64_t seed : {11, 12, 13}) expect_ok("crash", 100, seed);
}

TEST(GossipSim, NoFalsePositivesUnderLossAndStalls) {
  for (uint64_t seed : {21, 22, 23}) expect_ok("stalls", 100, seed, 0.10);
}

TEST(GossipSim, PartitionHeals) {
  for (uint64_t seed : {31, 32}) expect_ok("partition", 50, seed);
  expect_ok("partition", 100, 33, 0.05);
}

TEST(GossipSim, RestartedMemberRefutesItsOldStateAndRejoins) {
  for (uint64_t seed : {101, 102, 103}) expect_ok("restart", 100, seed, 0.05);
}

TEST(GossipSim, WanPresetPassesTheFullRunWithLoss) { expect_ok("full", 100, 111, 0.10, 0.05, "wan"); }

TEST(GossipSim, LocalPresetDetectsCrashesOnALoopbackNetwork) {
  for (uint64_t seed : {121, 122}) expect_ok("crash", 100, seed, 0.0, 0.0, "local");
}

TEST(GossipSim, SameSeedReplaysTheSameRun) {
  ScenarioOptions o;
  o.scenario = "full";
  o.members = 60;
  o.seed = 99;
  o.loss = 0.1;
  Report a = run_scenario(o), b = run_scenario(o);
  a.wall_s = b.wall_s = 0;
  EXPECT_EQ(a.summary(), b.summary());
  EXPECT_TRUE(a.ok) << a.summary();
}

TEST(GossipSim, GracefulLeaveShowsAsLeftNotFailed) {
  for (uint64_t seed : {41, 42, 43}) expect_ok("leave", 100, seed);
}

TEST(GossipSim, UserEventsReachEveryoneExactlyOnce) {
  for (uint64_t seed : {51, 52}) expect_ok("events", 100, seed, 0.05);
}

TEST(GossipSim, QueryCollectsResponsesFromMatchingMembers) {
  for (uint64_t seed : {61, 62}) expect_ok("query", 100, seed);
}

TEST(GossipSim, NoFalsePositivesAt200MembersWithManyStalling) {
  for (uint64_t seed : {81, 82, 83, 84, 85}) expect_ok("stalls", 200, seed, 0.10, 0.10);
}

TEST(GossipSim, CrashDetectionAt200MembersWithLoss) {
  for (uint64_t seed : {91, 92, 93}) expect_ok("crash", 200, seed, 0.10);
}

TEST(GossipSim, FullRunAt200MembersWithLoss) {
  for (uint64_t seed : {71, 72, 73}) expect_ok("full", 200, seed, 0.10);
}

}  // namespace
}  // namespace cairn::gossip::sim
