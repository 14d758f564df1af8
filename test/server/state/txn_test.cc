// /v1/txn in the state store: each op kind, one batch per transaction,
// rollback leaves nothing written, Consul's error texts, the read-only path
// and the watch keys a transaction touches.
#include "test/server/state/fixture.h"

namespace cairn::server::state {
namespace {

using api::TxnVerb;

api::TxnOp kv_op(TxnVerb verb, std::string key, std::optional<std::string> value = std::nullopt,
                 uint64_t index = 0, std::string session = {}) {
  api::TxnKvOp op;
  op.verb = verb;
  op.entry.key = std::move(key);
  op.entry.value = std::move(value);
  op.entry.raft.modify_index = index;
  op.entry.session = std::move(session);
  return op;
}

api::TxnOp node_op(TxnVerb verb, std::string node, uint64_t index = 0) {
  api::TxnNodeOp op;
  op.verb = verb;
  op.node.node = std::move(node);
  op.node.address = "10.1.1.1";
  op.node.datacenter = "dc1";
  op.node.raft.modify_index = index;
  return op;
}

api::TxnOp service_op(TxnVerb verb, std::string node, std::string id, uint64_t index = 0) {
  api::TxnServiceOp op;
  op.verb = verb;
  op.node = std::move(node);
  op.service.id = id;
  op.service.service = "web";
  op.service.port = 80;
  op.service.raft.modify_index = index;
  return op;
}

api::TxnOp check_op(TxnVerb verb, std::string node, std::string id, std::string status = "passing",
                    uint64_t index = 0) {
  api::TxnCheckOp op;
  op.verb = verb;
  op.check.node = std::move(node);
  op.check.check_id = std::move(id);
  op.check.name = "c";
  op.check.status = std::move(status);
  op.check.raft.modify_index = index;
  return op;
}

class TxnTest : public StoreTest {
 protected:
  api::TxnResponse txn(std::vector<api::TxnOp> ops) {
    touched_ = TouchSet{};
    auto r = store_->txn(next(), ops, at_seconds(1000), touched_);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? *r : api::TxnResponse{};
  }
  std::optional<api::KVPair> get(const std::string& key) { return store_->read().kv_get(key)->value; }
};

TEST_F(TxnTest, AllOpsApplyAtOneIndexAndWritesReportEntriesWithoutValues) {
  auto r = txn({kv_op(TxnVerb::set, "a", "1"), kv_op(TxnVerb::set, "b", "2"), kv_op(TxnVerb::get, "a")});
  ASSERT_TRUE(r.errors.empty());
  ASSERT_EQ(r.results.size(), 3u);
  auto& a = std::get<api::KVPair>(r.results[0]);
  EXPECT_EQ(a.key, "a");
  EXPECT_FALSE(a.value.has_value());  // Consul blanks the value of write results
  EXPECT_EQ(a.raft.modify_index, 1u);
  EXPECT_EQ(std::get<api::KVPair>(r.results[1]).raft.modify_index, 1u);
  // A get after a set in the same transaction sees it, value included.
  EXPECT_EQ(std::get<api::KVPair>(r.results[2]).value, "1");
  EXPECT_EQ(get("b")->value, "2");
  EXPECT_EQ(store_->applied_index(), 1u);
}

TEST_F(TxnTest, AFailedOpRollsBackEverythingAndRecordsOnlyTheIndex) {
  put("keep", "old");  // index 1
  auto r = txn({kv_op(TxnVerb::set, "keep", "new"), kv_op(TxnVerb::set, "fresh", "x"),
                kv_op(TxnVerb::delete_tree, ""), kv_op(TxnVerb::cas, "keep", "y", 99)});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].op_index, 3u);
  EXPECT_EQ(r.errors[0].what, "failed to set key \"keep\", index is stale");
  EXPECT_TRUE(r.results.empty());
  EXPECT_EQ(get("keep")->value, "old");
  EXPECT_FALSE(get("fresh"));
  EXPECT_TRUE(store_->read().kv_tombstones()->empty());
  EXPECT_TRUE(touched_.empty());  // nothing changed: nobody wakes
  EXPECT_EQ(store_->applied_index(), 2u);
  EXPECT_EQ(store_->read().kv_get("keep")->index, 1u);
}

TEST_F(TxnTest, EveryFailingOpIsReportedWithConsulsText) {
  put("k", "v");  // index 1
  auto r = txn({kv_op(TxnVerb::get, "missing"), kv_op(TxnVerb::check_not_exists, "k"),
                kv_op(TxnVerb::check_index, "k", std::nullopt, 7), kv_op(TxnVerb::check_session, "k", {}, 0, "s1"),
                kv_op(TxnVerb::delete_cas, "k", std::nullopt, 5), kv_op(TxnVerb::unlock, "k", {}, 0, "s1"),
                kv_op(TxnVerb::lock, "k", {}, 0, "nope"), kv_op(TxnVerb::check_index, "gone", std::nullopt, 1),
                kv_op(TxnVerb::check_session, "gone")});
  std::vector<std::string> what;
  for (auto& e : r.errors) what.push_back(std::to_string(e.op_index) + ": " + e.what);
  EXPECT_EQ(what, (std::vector<std::string>{
                      "0: key \"missing\" doesn't exist",
                      "1: key \"k\" exists",
                      "2: failed index check for key \"k\", current modify index 1 != 7",
                      "3: failed session check for key \"k\", current session \"\" != \"s1\"",
                      "4: failed to delete key \"k\", index is stale",
                      "5: failed to unlock key \"k\", lock isn't held, or is held by another session",
                      "6: invalid session \"nope\"",
                      "7: failed to check index, key \"gone\" doesn't exist",
                      "8: failed to check session, key \"gone\" doesn't exist",
                  }));
  EXPECT_EQ(get("k")->value, "v");
}

TEST_F(TxnTest, ChecksThatHoldPassAndReportTheEntryWithoutItsValue) {
  put("k", "v");  // index 1
  auto r = txn({kv_op(TxnVerb::check_index, "k", std::nullopt, 1), kv_op(TxnVerb::check_session, "k"),
                kv_op(TxnVerb::check_not_exists, "other"), kv_op(TxnVerb::delete_cas, "k", std::nullopt, 1)});
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].what;
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_FALSE(std::get<api::KVPair>(r.results[0]).value.has_value());
  EXPECT_FALSE(get("k"));
  EXPECT_EQ(store_->read().kv_tombstones()->count("k"), 1u);
}

TEST_F(TxnTest, LockFollowsTheKvRulesIncludingTheLockDelay) {
  register_agent_node("n1");
  std::string s1 = create_session("11111111-1111-1111-1111-111111111111", "n1");
  std::string s2 = create_session("22222222-2222-2222-2222-222222222222", "n1");
  auto r = txn({kv_op(TxnVerb::lock, "l", "me", 0, s1)});
  ASSERT_TRUE(r.errors.empty());
  auto held = get("l");
  EXPECT_EQ(held->session, s1);
  EXPECT_EQ(held->lock_index, 1u);
  r = txn({kv_op(TxnVerb::lock, "l", "you", 0, s2)});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].what, "failed to lock key \"l\", lock is already held");
  r = txn({kv_op(TxnVerb::check_session, "l", {}, 0, s1), kv_op(TxnVerb::unlock, "l", {}, 0, s1)});
  ASSERT_TRUE(r.errors.empty());
  EXPECT_TRUE(get("l")->session.empty());
  // Destroying a holder starts the lock delay (15s at now=1000s): a txn lock inside it loses.
  ASSERT_TRUE(txn({kv_op(TxnVerb::lock, "l", "me", 0, s1)}).errors.empty());
  ASSERT_TRUE(*store_->session_destroy(next(), s1, at_seconds(1000), touched_));
  r = txn({kv_op(TxnVerb::lock, "l", "you", 0, s2)});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].what, "failed to lock key \"l\", lock is already held");
}

TEST_F(TxnTest, GetTreeListsEveryEntryWithValues) {
  put("t/a", "1");
  put("t/b", "2");
  put("u", "3");
  auto r = txn({kv_op(TxnVerb::get_tree, "t/")});
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(std::get<api::KVPair>(r.results[1]).value, "2");
}

TEST_F(TxnTest, NodeServiceAndCheckOpsRegisterReadAndDelete) {
  auto r = txn({node_op(TxnVerb::set, "n1"), service_op(TxnVerb::set, "n1", "web1"),
                check_op(TxnVerb::set, "n1", "c1"), service_op(TxnVerb::get, "n1", "web1")});
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].what;
  ASSERT_EQ(r.results.size(), 4u);
  EXPECT_EQ(std::get<api::Node>(r.results[0]).address, "10.1.1.1");
  EXPECT_EQ(std::get<api::NodeService>(r.results[1]).port, 80);
  EXPECT_EQ(std::get<api::HealthCheck>(r.results[2]).status, "passing");
  EXPECT_EQ(std::get<api::NodeService>(r.results[3]).raft.modify_index, 1u);
  EXPECT_TRUE(touched_.contains(WatchKey::of_service("web")));
  EXPECT_TRUE(touched_.contains(WatchKey::of_table(WatchTable::nodes)));
  EXPECT_EQ(store_->read().service_nodes("web", {})->value.size(), 1u);

  r = txn({check_op(TxnVerb::delete_cas, "n1", "c1", "passing", 1), service_op(TxnVerb::del, "n1", "web1")});
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].what;
  EXPECT_TRUE(store_->read().service_nodes("web", {})->value.empty());
  r = txn({node_op(TxnVerb::delete_cas, "n1", 1)});
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].what;
  EXPECT_TRUE(store_->read().nodes()->value.empty());
}

TEST_F(TxnTest, CatalogCasAndGetFailuresUseConsulsTexts) {
  ASSERT_TRUE(txn({node_op(TxnVerb::set, "n1")}).errors.empty());  // index 1
  auto r = txn({node_op(TxnVerb::cas, "n1", 9), node_op(TxnVerb::get, "nx"), service_op(TxnVerb::get, "n1", "s"),
                check_op(TxnVerb::get, "n1", "c"), service_op(TxnVerb::delete_cas, "n1", "s", 3),
                node_op(TxnVerb::lock, "n1"), service_op(TxnVerb::set, "nx", "s")});
  std::vector<std::string> what;
  for (auto& e : r.errors) what.push_back(e.what);
  EXPECT_EQ(what, (std::vector<std::string>{
                      "failed to set node \"n1\", index is stale",
                      "node \"nx\" doesn't exist",
                      "service \"s\" on node \"n1\" doesn't exist",
                      "check \"c\" on node \"n1\" doesn't exist",
                      "failed to delete service \"s\" on node \"n1\", index is stale",
                      "unknown Node verb \"lock\"",
                      "Missing node registration",
                  }));
  // A CAS with the current index passes.
  EXPECT_TRUE(txn({node_op(TxnVerb::cas, "n1", 1)}).errors.empty());
}

TEST_F(TxnTest, TouchedKeysCoverEveryKvKeyTheTransactionWrote) {
  put("w/x", "0");
  auto r = txn({kv_op(TxnVerb::set, "w/a", "1"), kv_op(TxnVerb::del, "w/x"), kv_op(TxnVerb::get, "w/a")});
  ASSERT_TRUE(r.errors.empty());
  EXPECT_TRUE(touched_.contains(WatchKey::of_key(WatchTable::kv, "w/a")));
  EXPECT_TRUE(touched_.contains(WatchKey::of_key(WatchTable::kv, "w/x")));
  WatchRegistry reg;
  int woke = 0;
  reg.add(watch_for::kv_prefix("w/"), [&] { ++woke; });
  reg.add(watch_for::kv_key("other"), [&] { ++woke; });
  for (auto& wake : reg.collect(touched_)) wake();
  EXPECT_EQ(woke, 1);
}

TEST_F(TxnTest, ReadOnlyTransactionsReadOneViewAndRefuseWrites) {
  put("r", "1");
  auto r = store_->read().txn({kv_op(TxnVerb::get, "r"), kv_op(TxnVerb::get, "nope")});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].op_index, 1u);
  EXPECT_TRUE(r->results.empty());
  auto ok = store_->read().txn({kv_op(TxnVerb::get, "r")});
  ASSERT_EQ(ok->results.size(), 1u);
  EXPECT_EQ(std::get<api::KVPair>(ok->results[0]).value, "1");
  auto w = store_->read().txn({kv_op(TxnVerb::set, "r", "2")});
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(w.error().is(errc::invalid_argument));
  EXPECT_EQ(store_->applied_index(), 1u);
}

TEST_F(TxnTest, RebaseMovesTheAppliedIndexEitherWay) {
  put("a", "1");
  put("b", "2");
  ASSERT_TRUE(store_->rebase_applied_index(1).ok());
  EXPECT_EQ(store_->applied_index(), 1u);
  ASSERT_TRUE(store_->rebase_applied_index(50).ok());
  reopen();
  EXPECT_EQ(store_->applied_index(), 50u);
  EXPECT_EQ(get("b")->value, "2");
}

}  // namespace
}  // namespace cairn::server::state
