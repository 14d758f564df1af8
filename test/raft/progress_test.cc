#include <gtest/gtest.h>

#include "raft/progress.h"
#include "raft/read_only.h"

namespace cairn::raft {
namespace {

TEST(Inflights, FreeLeReleasesEveryAppendUpToTheIndex) {
  Inflights in(4);
  in.add(3);
  in.add(5);
  in.add(9);
  in.free_le(5);
  EXPECT_EQ(in.count(), 1u);
  in.add(10);
  in.add(12);
  in.add(13);
  EXPECT_TRUE(in.full());
}

TEST(Progress, ProbeStatePausesAfterOneUnansweredAppend) {
  Progress p(8);
  EXPECT_FALSE(p.is_paused());
  p.probe_sent = true;
  EXPECT_TRUE(p.is_paused());
  EXPECT_TRUE(p.maybe_update(3));
  EXPECT_FALSE(p.is_paused());
}

TEST(Progress, ReplicateStatePausesWhenTheWindowIsFull) {
  Progress p(2);
  p.become_replicate();
  p.inflights.add(1);
  EXPECT_FALSE(p.is_paused());
  p.inflights.add(2);
  EXPECT_TRUE(p.is_paused());
}

TEST(Progress, SnapshotStateAlwaysPauses) {
  Progress p(2);
  p.become_snapshot(10);
  EXPECT_TRUE(p.is_paused());
}

TEST(Progress, BecomeProbeAfterSnapshotResumesPastTheSnapshot) {
  Progress p(2);
  p.match = 3;
  p.become_snapshot(10);
  p.become_probe();
  EXPECT_EQ(p.next, 11u);
}

TEST(Progress, ProbeRejectionUsesTheFollowersHint) {
  Progress p(8);
  p.next = 20;
  EXPECT_TRUE(p.maybe_decr_to(19, 7));
  EXPECT_EQ(p.next, 8u);
}

TEST(Progress, ProbeIgnoresARejectionOfAnotherAppend) {
  Progress p(8);
  p.next = 20;
  EXPECT_FALSE(p.maybe_decr_to(15, 7));  // we did not send an append at 15
  EXPECT_EQ(p.next, 20u);
}

TEST(Progress, ReplicateIgnoresARejectionAtOrBelowMatch) {
  Progress p(8);
  p.match = 10;
  p.become_replicate();
  p.next = 15;
  EXPECT_FALSE(p.maybe_decr_to(9, 0));
  EXPECT_TRUE(p.maybe_decr_to(12, 11));
  EXPECT_EQ(p.next, 11u);
}

TEST(Progress, StaleAcknowledgementDoesNotLowerMatch) {
  Progress p(8);
  EXPECT_TRUE(p.maybe_update(5));
  EXPECT_FALSE(p.maybe_update(4));
  EXPECT_EQ(p.match, 5u);
}

ProgressTracker tracker(std::vector<NodeId> voters, std::vector<Index> matches) {
  ProgressTracker t(8);
  t.apply_config(ConfState{voters, {}}, 1);
  for (size_t i = 0; i < voters.size(); ++i) t.get(voters[i])->match = matches[i];
  return t;
}

TEST(ProgressTracker, CommittedIsTheIndexHeldByAMajority) {
  EXPECT_EQ(tracker({1, 2, 3}, {5, 3, 1}).committed(), 3u);
  EXPECT_EQ(tracker({1, 2, 3, 4}, {5, 4, 3, 1}).committed(), 3u);
  EXPECT_EQ(tracker({1, 2, 3, 4, 5}, {9, 9, 2, 2, 2}).committed(), 2u);
  EXPECT_EQ(tracker({1}, {7}).committed(), 7u);
}

TEST(ProgressTracker, LearnersDoNotCountTowardCommit) {
  ProgressTracker t(8);
  t.apply_config(ConfState{{1, 2, 3}, {4, 5}}, 1);
  t.get(1)->match = 9;
  t.get(4)->match = 9;
  t.get(5)->match = 9;
  EXPECT_EQ(t.committed(), 0u);
}

TEST(ProgressTracker, VoteIsLostOnceAMajorityRejects) {
  ProgressTracker t(8);
  t.apply_config(ConfState{{1, 2, 3, 4, 5}, {}}, 1);
  t.record_vote(1, true);
  t.record_vote(2, false);
  t.record_vote(3, false);
  EXPECT_EQ(t.tally_votes(), ProgressTracker::VoteResult::pending);
  t.record_vote(4, false);
  EXPECT_EQ(t.tally_votes(), ProgressTracker::VoteResult::lost);
}

TEST(ProgressTracker, VoteIsWonWithAMajority) {
  ProgressTracker t(8);
  t.apply_config(ConfState{{1, 2, 3}, {}}, 1);
  t.record_vote(1, true);
  EXPECT_EQ(t.tally_votes(), ProgressTracker::VoteResult::pending);
  t.record_vote(3, true);
  EXPECT_EQ(t.tally_votes(), ProgressTracker::VoteResult::won);
}

TEST(ProgressTracker, QuorumActiveNeedsAMajorityOfRecentlyActiveVoters) {
  ProgressTracker t(8);
  t.apply_config(ConfState{{1, 2, 3}, {}}, 1);
  for (auto& [id, pr] : t.progress()) pr.recent_active = false;
  EXPECT_FALSE(t.quorum_active(1));
  t.get(2)->recent_active = true;
  EXPECT_TRUE(t.quorum_active(1));
}

TEST(ProgressTracker, ApplyConfigRemovesDepartedMembersAndKeepsOthers) {
  ProgressTracker t(8);
  t.apply_config(ConfState{{1, 2, 3}, {}}, 5);
  t.get(2)->match = 4;
  t.apply_config(ConfState{{1, 2}, {4}}, 9);
  EXPECT_EQ(t.get(3), nullptr);
  EXPECT_EQ(t.get(2)->match, 4u);
  ASSERT_NE(t.get(4), nullptr);
  EXPECT_TRUE(t.get(4)->is_learner);
  EXPECT_EQ(t.get(4)->next, 9u);
}

TEST(ReadOnly, AdvanceAnswersTheRequestAndEveryEarlierOne) {
  ReadOnly ro;
  Message a, b, c;
  a.context = "a";
  b.context = "b";
  c.context = "c";
  ro.add_request(5, a, 1);
  ro.add_request(6, b, 1);
  ro.add_request(7, c, 1);
  auto done = ro.advance("b");
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].index, 5u);
  EXPECT_EQ(done[1].index, 6u);
  EXPECT_EQ(ro.pending(), 1u);
  EXPECT_EQ(*ro.last_pending_context(), "c");
}

TEST(ReadOnly, AcksOfUnknownContextsAreIgnored) {
  ReadOnly ro;
  EXPECT_EQ(ro.recv_ack(2, "nope"), nullptr);
  EXPECT_TRUE(ro.advance("nope").empty());
}

}  // namespace
}  // namespace cairn::raft
