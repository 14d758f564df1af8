#include "test/server/state/fixture.h"

namespace cairn::server::state {
namespace {

class SessionTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    register_agent_node("n1");
  }
  bool acquire(const std::string& key, const std::string& session, WallTime now = at_seconds(1000)) {
    return kv(KvOp::lock, key, "v", session, 0, now);
  }
  bool release(const std::string& key, const std::string& session) { return kv(KvOp::unlock, key, "v", session); }
  bool destroy(const std::string& id, WallTime now = at_seconds(1000)) {
    auto r = store_->session_destroy(next(), id, now, touched_);
    EXPECT_TRUE(r.ok());
    return r.ok() && *r;
  }
};

TEST_F(SessionTest, CreatedSessionIsVisibleByIdListAndNode) {
  EXPECT_EQ(create_session("s1", "n1"), "s1");
  auto view = store_->read();
  auto info = view.session_get("s1");
  ASSERT_TRUE(info->value.has_value());
  EXPECT_EQ(info->value->node, "n1");
  EXPECT_EQ(info->value->raft.create_index, index_);
  EXPECT_EQ(info->index, index_);
  EXPECT_EQ(view.session_list()->value.size(), 1u);
  EXPECT_EQ(view.node_sessions("n1")->value.size(), 1u);
  EXPECT_TRUE(view.node_sessions("n2")->value.empty());
}

TEST_F(SessionTest, UnknownSessionIsNotFound) {
  EXPECT_FALSE(store_->read().session_get("nope")->value.has_value());
}

TEST_F(SessionTest, CreateOnAMissingNodeFails) {
  api::Session s;
  s.id = "s1";
  s.node = "ghost";
  auto r = store_->session_create(next(), s, touched_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "Missing node registration");
}

TEST_F(SessionTest, CreateWithAMissingCheckFails) {
  api::Session s;
  s.id = "s1";
  s.node = "n1";
  s.node_checks = {"nope"};
  auto r = store_->session_create(next(), s, touched_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "Missing check 'nope' registration");
}

TEST_F(SessionTest, CreateWithACriticalCheckFails) {
  register_check("n1", "bad", "critical");
  api::Session s;
  s.id = "s1";
  s.node = "n1";
  s.node_checks = {"bad"};
  auto r = store_->session_create(next(), s, touched_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "Check 'bad' is in critical state");
}

TEST_F(SessionTest, CreateWithADuplicateIdFails) {
  create_session("s1", "n1");
  api::Session s;
  s.id = "s1";
  s.node = "n1";
  EXPECT_FALSE(store_->session_create(next(), s, touched_).ok());
}

TEST_F(SessionTest, AcquireSetsTheSessionAndIncrementsLockIndex) {
  create_session("s1", "n1");
  ASSERT_TRUE(acquire("lock", "s1"));
  auto e = store_->read().kv_get("lock")->value;
  EXPECT_EQ(e->session, "s1");
  EXPECT_EQ(e->lock_index, 1u);
}

TEST_F(SessionTest, ReacquireBySameSessionKeepsLockIndex) {
  create_session("s1", "n1");
  acquire("lock", "s1");
  ASSERT_TRUE(acquire("lock", "s1"));
  EXPECT_EQ(store_->read().kv_get("lock")->value->lock_index, 1u);
}

TEST_F(SessionTest, AcquireOfAKeyHeldByAnotherSessionFails) {
  create_session("s1", "n1");
  create_session("s2", "n1");
  acquire("lock", "s1");
  EXPECT_FALSE(acquire("lock", "s2"));
  EXPECT_EQ(store_->read().kv_get("lock")->value->session, "s1");
}

TEST_F(SessionTest, AcquireWithAnUnknownSessionIsAnError) {
  api::KVPair e;
  e.key = "lock";
  e.session = "ghost";
  auto r = store_->kv_apply(next(), KvOp::lock, e, at_seconds(0), touched_);
  EXPECT_FALSE(r.ok());
}

TEST_F(SessionTest, ReleaseClearsTheSessionAndAnotherAcquireIncrementsLockIndex) {
  create_session("s1", "n1");
  create_session("s2", "n1");
  acquire("lock", "s1");
  ASSERT_TRUE(release("lock", "s1"));
  EXPECT_EQ(store_->read().kv_get("lock")->value->session, "");
  ASSERT_TRUE(acquire("lock", "s2"));
  EXPECT_EQ(store_->read().kv_get("lock")->value->lock_index, 2u);
}

TEST_F(SessionTest, ReleaseBySomeoneElseFails) {
  create_session("s1", "n1");
  create_session("s2", "n1");
  acquire("lock", "s1");
  EXPECT_FALSE(release("lock", "s2"));
  EXPECT_FALSE(release("missing", "s1"));
}

TEST_F(SessionTest, AcquireOrReleaseWithoutASessionIsAnError) {
  api::KVPair e;
  e.key = "lock";
  auto lock = store_->kv_apply(next(), KvOp::lock, e, at_seconds(0), touched_);
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.error().message(), "missing session");
  EXPECT_FALSE(store_->kv_apply(next(), KvOp::unlock, e, at_seconds(0), touched_).ok());
}

TEST_F(SessionTest, PlainWriteKeepsTheLockHolder) {
  create_session("s1", "n1");
  acquire("lock", "s1");
  put("lock", "new");
  auto e = store_->read().kv_get("lock")->value;
  EXPECT_EQ(e->session, "s1");
  EXPECT_EQ(e->value, "new");
}

TEST_F(SessionTest, DestroyWithReleaseBehaviorFreesHeldKeys) {
  create_session("s1", "n1", "release");
  acquire("a", "s1");
  acquire("b", "s1");
  ASSERT_TRUE(destroy("s1"));
  auto view = store_->read();
  EXPECT_FALSE(view.session_get("s1")->value.has_value());
  EXPECT_EQ(view.kv_get("a")->value->session, "");
  EXPECT_EQ(view.kv_get("b")->value->session, "");
  EXPECT_EQ(view.kv_get("a")->value->raft.modify_index, index_);
}

TEST_F(SessionTest, DestroyWithDeleteBehaviorDeletesHeldKeys) {
  create_session("s1", "n1", "delete");
  acquire("a", "s1");
  put("other", "x");
  ASSERT_TRUE(destroy("s1"));
  auto view = store_->read();
  EXPECT_FALSE(view.kv_get("a")->value.has_value());
  EXPECT_TRUE(view.kv_get("other")->value.has_value());
  EXPECT_EQ(view.kv_tombstones()->count("a"), 1u);
}

TEST_F(SessionTest, DestroyOfAnUnknownSessionIsFalse) { EXPECT_FALSE(destroy("nope")); }

TEST_F(SessionTest, DestroyDoesNotTouchKeysReleasedEarlier) {
  create_session("s1", "n1", "delete");
  acquire("a", "s1");
  release("a", "s1");
  destroy("s1");
  EXPECT_TRUE(store_->read().kv_get("a")->value.has_value());
}

TEST_F(SessionTest, AcquireDuringLockDelayFailsAndSucceedsAfterIt) {
  create_session("s1", "n1", "release", std::chrono::seconds(15));
  create_session("s2", "n1");
  acquire("lock", "s1", at_seconds(1000));
  destroy("s1", at_seconds(1000));
  EXPECT_FALSE(acquire("lock", "s2", at_seconds(1010)));
  EXPECT_TRUE(acquire("lock", "s2", at_seconds(1016)));
}

TEST_F(SessionTest, LockDelayIsCappedAtSixtySeconds) {
  create_session("s1", "n1", "release", std::chrono::hours(1));
  create_session("s2", "n1");
  acquire("lock", "s1", at_seconds(1000));
  destroy("s1", at_seconds(1000));
  EXPECT_FALSE(acquire("lock", "s2", at_seconds(1059)));
  EXPECT_TRUE(acquire("lock", "s2", at_seconds(1061)));
}

TEST_F(SessionTest, ZeroLockDelayAllowsImmediateReacquire) {
  create_session("s1", "n1", "release", Duration(0));
  create_session("s2", "n1");
  acquire("lock", "s1");
  destroy("s1");
  EXPECT_TRUE(acquire("lock", "s2"));
}

TEST_F(SessionTest, CheckGoingCriticalInvalidatesItsSessions) {
  create_session("s1", "n1");
  acquire("lock", "s1");
  register_check("n1", "serfHealth", "critical");
  auto view = store_->read();
  EXPECT_FALSE(view.session_get("s1")->value.has_value());
  EXPECT_EQ(view.kv_get("lock")->value->session, "");
}

TEST_F(SessionTest, DeregisteringTheNodeInvalidatesItsSessions) {
  create_session("s1", "n1");
  api::DeregisterRequest d;
  d.node = "n1";
  ASSERT_TRUE(store_->catalog_deregister(next(), d, at_seconds(1000), touched_).ok());
  EXPECT_TRUE(store_->read().session_list()->value.empty());
}

TEST_F(SessionTest, DeregisteringTheCheckInvalidatesItsSessions) {
  create_session("s1", "n1");
  api::DeregisterRequest d;
  d.node = "n1";
  d.check_id = "serfHealth";
  ASSERT_TRUE(store_->catalog_deregister(next(), d, at_seconds(1000), touched_).ok());
  EXPECT_FALSE(store_->read().session_get("s1")->value.has_value());
}

TEST_F(SessionTest, DeregisteringAServiceInvalidatesSessionsOnItsChecks) {
  register_service("n1", "web", "web1");
  register_check("n1", "web-check", "passing", "web1");
  api::Session s;
  s.id = "s1";
  s.node = "n1";
  s.service_checks = {{"web-check", ""}};
  ASSERT_TRUE(store_->session_create(next(), s, touched_).ok());
  api::DeregisterRequest d;
  d.node = "n1";
  d.service_id = "web1";
  ASSERT_TRUE(store_->catalog_deregister(next(), d, at_seconds(1000), touched_).ok());
  EXPECT_FALSE(store_->read().session_get("s1")->value.has_value());
}

TEST_F(SessionTest, SessionWithoutChecksSurvivesACriticalCheck) {
  api::Session s;
  s.id = "s1";
  s.node = "n1";
  ASSERT_TRUE(store_->session_create(next(), s, touched_).ok());
  register_check("n1", "serfHealth", "critical");
  EXPECT_TRUE(store_->read().session_get("s1")->value.has_value());
}

}  // namespace
}  // namespace cairn::server::state
