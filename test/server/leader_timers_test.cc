#include "server/leader.h"

#include <gtest/gtest.h>

#include "test/server/leader_fixture.h"

namespace cairn::server::leader_test {
namespace {

// ---- session TTLs ----

class LeaderSessionTest : public LeaderTest {
 protected:
  void SetUp() override {
    LeaderTest::SetUp();
    register_direct("web1", true);
    members_ = {client("web1", "10.9.9.9")};
  }
};

TEST_F(LeaderSessionTest, SessionExpiresAtTwiceItsTtl) {
  create_session("s1", "web1", "10s");
  create_session("forever", "web1", "");
  start();
  EXPECT_EQ(duties().session_timers(), 1u);
  scheduler_.advance(19s);
  EXPECT_TRUE(session("s1").has_value());
  scheduler_.advance(1s);
  EXPECT_FALSE(session("s1").has_value());
  EXPECT_TRUE(session("forever").has_value());
  EXPECT_EQ(duties().session_timers(), 0u);
}

TEST_F(LeaderSessionTest, RenewPostponesExpiry) {
  start();
  create_session("s1", "web1", "10s");
  duties().session_ttl_reset("s1", 10s);
  scheduler_.advance(15s);
  duties().session_ttl_reset("s1", 10s);  // renewed: now expires at 35s
  scheduler_.advance(19s);
  EXPECT_TRUE(session("s1").has_value());
  scheduler_.advance(1s);
  EXPECT_FALSE(session("s1").has_value());
}

TEST_F(LeaderSessionTest, ATimerCancelledTooLateDoesNotExpireARenewedSession) {
  late_cancel_ = true;
  start();
  create_session("s1", "web1", "10s");
  duties().session_ttl_reset("s1", 10s);
  scheduler_.advance(15s);
  duties().session_ttl_reset("s1", 10s);
  scheduler_.advance(19s);  // the first timer fires at 20s anyway
  EXPECT_TRUE(session("s1").has_value());
  scheduler_.advance(1s);
  EXPECT_FALSE(session("s1").has_value());
}

TEST_F(LeaderSessionTest, DestroyedSessionForgetsItsTimer) {
  start();
  create_session("s1", "web1", "10s");
  duties().session_ttl_reset("s1", 10s);
  duties().session_destroyed("s1");
  EXPECT_EQ(duties().session_timers(), 0u);
  size_t writes = server_->writes.size();
  scheduler_.advance(30s);
  EXPECT_EQ(server_->writes.size(), writes);
}

TEST_F(LeaderSessionTest, FailedInvalidationIsRetriedAtTheNextReconcile) {
  create_session("s1", "web1", "10s");
  start();
  server_->fail_writes = true;
  scheduler_.advance(20s);
  EXPECT_TRUE(session("s1").has_value());
  server_->fail_writes = false;
  scheduler_.advance(options_.reconcile_interval);
  EXPECT_FALSE(session("s1").has_value());
}

TEST_F(LeaderSessionTest, StopCancelsEveryTimer) {
  create_session("s1", "web1", "10s");
  start();
  duties().kv_tombstone_hint(5);
  EXPECT_GT(scheduler_.pending(), 0u);
  duties().stop();
  EXPECT_EQ(scheduler_.pending(), 0u);
  EXPECT_EQ(duties().session_timers(), 0u);
  EXPECT_EQ(duties().tombstone_buckets(), 0u);
  size_t writes = server_->writes.size();
  scheduler_.advance(1h);
  EXPECT_EQ(server_->writes.size(), writes);
  EXPECT_TRUE(session("s1").has_value());
  EXPECT_TRUE(proposals_.empty());
}

TEST_F(LeaderSessionTest, ResultsArrivingAfterStopAreDropped) {
  create_session("s1", "web1", "10s");
  duties().start();  // the session list is read but its answer not yet delivered
  duties().stop();
  settle();
  EXPECT_EQ(duties().session_timers(), 0u);
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(LeaderSessionTest, TtlResetWhileNotLeadingIsIgnored) {
  duties().session_ttl_reset("s1", 10s);
  EXPECT_EQ(duties().session_timers(), 0u);
}

// ---- tombstone GC ----

TEST_F(LeaderTest, TombstonesAreReapedAfterTheTtlAndNotBefore) {
  fsm::KvCommand set;
  set.op = state::KvOp::set;
  set.entry.key = "k";
  set.entry.value = "v";
  ASSERT_TRUE(server_->apply(fsm::encode(set)).ok());
  fsm::KvCommand del = set;
  del.op = state::KvOp::delete_key;
  ASSERT_TRUE(server_->apply(fsm::encode(del)).ok());
  uint64_t delete_index = store_->applied_index();
  start();
  duties().kv_tombstone_hint(delete_index);
  scheduler_.advance(options_.tombstone_ttl - 1s);
  EXPECT_TRUE(proposals_.empty());
  EXPECT_EQ(store_->read().kv_tombstones()->size(), 1u);
  scheduler_.advance(options_.tombstone_granularity + 1s);
  ASSERT_EQ(proposals_.size(), 1u);
  auto cmd = fsm::decode(proposals_[0]);
  ASSERT_TRUE(cmd.ok());
  ASSERT_TRUE(std::holds_alternative<fsm::TombstoneCommand>(*cmd));
  EXPECT_EQ(std::get<fsm::TombstoneCommand>(*cmd).reap_up_to, delete_index);
  EXPECT_TRUE(store_->read().kv_tombstones()->empty());
}

TEST_F(LeaderTest, HintsInOneGranuleShareOneReapAtTheirMaxIndex) {
  start();
  duties().kv_tombstone_hint(7);
  scheduler_.advance(1s);
  duties().kv_tombstone_hint(9);
  duties().kv_tombstone_hint(8);
  EXPECT_EQ(duties().tombstone_buckets(), 1u);
  scheduler_.advance(options_.tombstone_ttl + options_.tombstone_granularity);
  ASSERT_EQ(proposals_.size(), 1u);
  EXPECT_EQ(std::get<fsm::TombstoneCommand>(*fsm::decode(proposals_[0])).reap_up_to, 9u);
}

TEST_F(LeaderTest, StartHintsTheLastIndexSoOlderTombstonesAreReaped) {
  last_index_ = 42;
  start();
  scheduler_.advance(options_.tombstone_ttl + options_.tombstone_granularity);
  ASSERT_GE(proposals_.size(), 1u);
  EXPECT_EQ(std::get<fsm::TombstoneCommand>(*fsm::decode(proposals_[0])).reap_up_to, 42u);
}

TEST_F(LeaderTest, FailedReapIsRetriedAtTheNextReconcile) {
  start();
  duties().kv_tombstone_hint(7);
  fail_proposals_ = true;
  scheduler_.advance(options_.tombstone_ttl + options_.tombstone_granularity);
  ASSERT_EQ(proposals_.size(), 1u);
  fail_proposals_ = false;
  scheduler_.advance(options_.reconcile_interval);
  ASSERT_EQ(proposals_.size(), 2u);
  EXPECT_EQ(std::get<fsm::TombstoneCommand>(*fsm::decode(proposals_[1])).reap_up_to, 7u);
}


}  // namespace
}  // namespace cairn::server::leader_test
