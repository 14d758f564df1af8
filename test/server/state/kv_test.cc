#include "test/server/state/fixture.h"

namespace cairn::server::state {
namespace {

class KvTest : public StoreTest {};

TEST_F(KvTest, PutThenGetReturnsTheValueWithItsIndexes) {
  ASSERT_TRUE(put("a", "1"));
  auto r = store_->read().kv_get("a");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->value.has_value());
  EXPECT_EQ(r->value->value, "1");
  EXPECT_EQ(r->value->raft.create_index, 1u);
  EXPECT_EQ(r->value->raft.modify_index, 1u);
  EXPECT_EQ(r->index, 1u);
}

TEST_F(KvTest, OverwriteKeepsCreateIndexAndMovesModifyIndex) {
  put("a", "1");
  put("a", "2");
  auto r = store_->read().kv_get("a");
  EXPECT_EQ(r->value->value, "2");
  EXPECT_EQ(r->value->raft.create_index, 1u);
  EXPECT_EQ(r->value->raft.modify_index, 2u);
}

TEST_F(KvTest, FlagsAreStored) {
  api::KVPair e;
  e.key = "f";
  e.flags = 42;
  ASSERT_TRUE(*store_->kv_apply(next(), KvOp::set, e, at_seconds(0), touched_));
  EXPECT_EQ(store_->read().kv_get("f")->value->flags, 42u);
}

TEST_F(KvTest, NullValueStaysNull) {
  kv(KvOp::set, "empty");
  auto r = store_->read().kv_get("empty");
  ASSERT_TRUE(r->value.has_value());
  EXPECT_FALSE(r->value->value.has_value());
}

TEST_F(KvTest, MissingKeyReportsTheKvTableIndex) {
  put("a", "1");
  put("b", "2");
  auto r = store_->read().kv_get("nope");
  EXPECT_FALSE(r->value.has_value());
  EXPECT_EQ(r->index, 2u);
}

TEST_F(KvTest, IndexIsNeverZeroOnAnEmptyStore) {
  EXPECT_EQ(store_->read().kv_get("x")->index, 1u);
  EXPECT_EQ(store_->read().kv_list("")->index, 1u);
  EXPECT_EQ(store_->read().nodes()->index, 1u);
  EXPECT_EQ(store_->read().session_list()->index, 1u);
}

TEST_F(KvTest, SingleKeyIndexIsItsOwnModifyIndexNotTheTables) {
  put("a", "1");
  put("b", "2");
  EXPECT_EQ(store_->read().kv_get("a")->index, 1u);
}

TEST_F(KvTest, ListReturnsKeysUnderThePrefixInOrder) {
  put("web/b", "2");
  put("web/a", "1");
  put("db/x", "3");
  auto r = store_->read().kv_list("web/");
  ASSERT_EQ(r->value.size(), 2u);
  EXPECT_EQ(r->value[0].key, "web/a");
  EXPECT_EQ(r->value[1].key, "web/b");
  EXPECT_EQ(r->index, 2u);
}

TEST_F(KvTest, PrefixIndexIgnoresWritesOutsideThePrefix) {
  put("web/a", "1");
  put("db/x", "2");
  EXPECT_EQ(store_->read().kv_list("web/")->index, 1u);
}

TEST_F(KvTest, PrefixIndexCountsTombstonesUnderThePrefix) {
  put("web/a", "1");
  put("web/b", "2");
  put("db/x", "3");
  ASSERT_TRUE(kv(KvOp::delete_key, "web/b"));  // index 4
  put("db/y", "5");
  auto r = store_->read().kv_list("web/");
  EXPECT_EQ(r->value.size(), 1u);
  EXPECT_EQ(r->index, 4u);
}

TEST_F(KvTest, EmptyPrefixUsesTheTableIndex) {
  put("a", "1");
  kv(KvOp::delete_key, "a");
  EXPECT_EQ(store_->read().kv_list("")->index, 2u);
}

TEST_F(KvTest, EmptyPrefixMatchFallsBackToTheTableIndex) {
  put("a", "1");
  put("b", "2");
  EXPECT_EQ(store_->read().kv_list("zzz/")->index, 2u);
}

TEST_F(KvTest, KeysWithSeparatorFoldSubtrees) {
  put("a/b/c", "1");
  put("a/b/d", "1");
  put("a/e", "1");
  put("a/f/g", "1");
  put("b", "1");
  auto r = store_->read().kv_keys("a/", "/");
  EXPECT_EQ(r->value, (std::vector<std::string>{"a/b/", "a/e", "a/f/"}));
}

TEST_F(KvTest, KeysWithoutSeparatorListEveryKey) {
  put("a/b/c", "1");
  put("a/e", "1");
  auto r = store_->read().kv_keys("a/", "");
  EXPECT_EQ(r->value, (std::vector<std::string>{"a/b/c", "a/e"}));
}

TEST_F(KvTest, CasWithZeroSucceedsOnlyWhenAbsent) {
  EXPECT_TRUE(kv(KvOp::cas, "k", "1", {}, 0));
  EXPECT_FALSE(kv(KvOp::cas, "k", "2", {}, 0));
  EXPECT_EQ(store_->read().kv_get("k")->value->value, "1");
}

TEST_F(KvTest, CasSucceedsOnlyWithTheCurrentModifyIndex) {
  put("k", "1");  // index 1
  EXPECT_FALSE(kv(KvOp::cas, "k", "2", {}, 7));
  EXPECT_TRUE(kv(KvOp::cas, "k", "3", {}, 1));
  EXPECT_EQ(store_->read().kv_get("k")->value->value, "3");
}

TEST_F(KvTest, CasOnAMissingKeyWithNonZeroIndexFails) { EXPECT_FALSE(kv(KvOp::cas, "k", "1", {}, 5)); }

TEST_F(KvTest, FailedCasStillRecordsTheAppliedIndex) {
  put("k", "1");
  kv(KvOp::cas, "k", "2", {}, 9);
  EXPECT_EQ(store_->applied_index(), 2u);
  EXPECT_EQ(store_->read().kv_get("k")->value->raft.modify_index, 1u);
}

TEST_F(KvTest, DeleteRemovesTheKeyAndLeavesATombstone) {
  put("k", "1");
  EXPECT_TRUE(kv(KvOp::delete_key, "k"));
  EXPECT_FALSE(store_->read().kv_get("k")->value.has_value());
  auto t = store_->read().kv_tombstones();
  EXPECT_EQ(t->at("k"), 2u);
}

TEST_F(KvTest, DeleteOfAMissingKeyIsTrueAndChangesNoIndex) {
  put("a", "1");
  EXPECT_TRUE(kv(KvOp::delete_key, "nope"));
  EXPECT_EQ(store_->read().kv_get("nope")->index, 1u);
  EXPECT_TRUE(store_->read().kv_tombstones()->empty());
}

TEST_F(KvTest, DeleteCasNeedsTheCurrentIndex) {
  put("k", "1");
  EXPECT_FALSE(kv(KvOp::delete_cas, "k", std::nullopt, {}, 5));
  EXPECT_TRUE(store_->read().kv_get("k")->value.has_value());
  EXPECT_TRUE(kv(KvOp::delete_cas, "k", std::nullopt, {}, 1));
  EXPECT_FALSE(store_->read().kv_get("k")->value.has_value());
}

TEST_F(KvTest, DeleteCasOfAMissingKeyIsTrue) { EXPECT_TRUE(kv(KvOp::delete_cas, "gone", std::nullopt, {}, 3)); }

TEST_F(KvTest, DeleteTreeRemovesOnlyThePrefix) {
  put("a/1", "x");
  put("a/2", "x");
  put("ab", "x");
  EXPECT_TRUE(kv(KvOp::delete_tree, "a/"));
  auto r = store_->read().kv_list("");
  ASSERT_EQ(r->value.size(), 1u);
  EXPECT_EQ(r->value[0].key, "ab");
  EXPECT_EQ(store_->read().kv_tombstones()->size(), 2u);
}

TEST_F(KvTest, ReapingForgetsTombstonesUpToTheIndex) {
  put("a", "1");
  put("b", "1");
  kv(KvOp::delete_key, "a");  // 3
  kv(KvOp::delete_key, "b");  // 4
  auto n = store_->reap_tombstones(next(), 3, touched_);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  auto t = store_->read().kv_tombstones();
  EXPECT_EQ(t->count("a"), 0u);
  EXPECT_EQ(t->count("b"), 1u);
}

TEST_F(KvTest, ReapingDoesNotMoveTheKvTableIndexBackwards) {
  put("a", "1");
  kv(KvOp::delete_key, "a");  // 2
  ASSERT_TRUE(store_->reap_tombstones(next(), 2, touched_).ok());  // 3
  EXPECT_GE(store_->read().kv_get("a")->index, 2u);
}

TEST_F(KvTest, KeysMayHoldAnyByte) {
  std::string key("a\0b\xff", 4);
  put(key, "v");
  auto r = store_->read().kv_get(key);
  ASSERT_TRUE(r->value.has_value());
  EXPECT_EQ(r->value->key, key);
}

TEST_F(KvTest, AStaleIndexIsRefusedWithoutChangingState) {
  put("a", "1");
  api::KVPair e;
  e.key = "a";
  e.value = "2";
  auto r = store_->kv_apply(1, KvOp::set, e, at_seconds(0), touched_);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::out_of_range));
  EXPECT_EQ(store_->read().kv_get("a")->value->value, "1");
}

}  // namespace
}  // namespace cairn::server::state
