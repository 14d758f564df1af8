// server::Server with /v1/txn and /v1/snapshot: a transaction is one Raft
// entry, a read-only one never is, blocking queries wake for the keys a
// transaction wrote, and a restore reaches every server, survives a
// restart and wakes parked queries (test/server/cluster.h, ticked by hand).
#include <gtest/gtest.h>

#include <filesystem>

#include "server/snapshot_archive.h"
#include "test/server/cluster.h"

namespace cairn::server::test {
namespace {

using rpc::value_of;

api::TxnOp kv(api::TxnVerb verb, std::string key, std::optional<std::string> value = std::nullopt, uint64_t index = 0) {
  api::TxnKvOp op;
  op.verb = verb;
  op.entry.key = std::move(key);
  op.entry.value = std::move(value);
  op.entry.raft.modify_index = index;
  return op;
}

class TxnServerTest : public ::testing::Test {
 protected:
  void SetUp() override { start(); }
  void start() {
    c.start(1, o);
    ASSERT_EQ(c.elect(), 1);
  }
  ServerOptions dev() {
    ServerOptions x = c.options(1);
    x.bootstrap = true;
    return x;
  }
  Cluster c;
  ServerOptions o = dev();
};

TEST_F(TxnServerTest, AWriteTransactionIsOneEntryAndAnswersItsResults) {
  uint64_t before = c.at(1).counters().commands_applied;
  auto w = c.write(1, rpc::Txn{{kv(api::TxnVerb::set, "a", "1"), kv(api::TxnVerb::set, "b", "2")}});
  ASSERT_TRUE(w.ok()) << w.error().message();
  EXPECT_EQ(c.at(1).counters().commands_applied, before + 1);
  auto& r = value_of<rpc::Txn>(*w);
  ASSERT_TRUE(r.errors.empty());
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(std::get<api::KVPair>(r.results[1]).raft.modify_index, w->index);
  EXPECT_EQ(kv_value(c, 1, "b"), "2");
}

TEST_F(TxnServerTest, ARolledBackTransactionAnswersErrorsAndWritesNothing) {
  auto w = c.write(1, rpc::Txn{{kv(api::TxnVerb::set, "a", "1"), kv(api::TxnVerb::check_index, "nope", {}, 3)}});
  ASSERT_TRUE(w.ok()) << w.error().message();
  auto& r = value_of<rpc::Txn>(*w);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].op_index, 1u);
  EXPECT_EQ(kv_value(c, 1, "a"), std::nullopt);
}

TEST_F(TxnServerTest, TooManyOpsAreRefusedBeforeRaft) {
  std::vector<api::TxnOp> ops(65, kv(api::TxnVerb::set, "x", "1"));
  uint64_t before = c.at(1).counters().commands_applied;
  auto w = c.write(1, rpc::Txn{ops});
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(w.error().is(errc::too_large));
  EXPECT_EQ(c.at(1).counters().commands_applied, before);
}

TEST_F(TxnServerTest, AReadOnlyTransactionIsAQueryNotAnEntry) {
  ASSERT_TRUE(c.write(1, kv_set("r", "v")).ok());
  uint64_t before = c.at(1).counters().commands_applied;
  auto q = c.query(1, rpc::TxnRead{{kv(api::TxnVerb::get, "r")}});
  ASSERT_TRUE(q.ok()) << q.error().message();
  auto& r = value_of<rpc::TxnRead>(*q);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(std::get<api::KVPair>(r.results[0]).value, "v");
  EXPECT_EQ(c.at(1).counters().commands_applied, before);
  EXPECT_TRUE(q->meta.known_leader);
}

TEST_F(TxnServerTest, BlockingQueriesWakeForEveryKeyATransactionWrote) {
  auto first = c.write(1, kv_set("w/a", "0"));
  ASSERT_TRUE(first.ok());
  rpc::QueryOptions o;
  o.min_index = first->index;
  o.max_wait = std::chrono::minutes(1);
  auto on_key = c.begin_query(1, rpc::KvGet{"w/a"}, o);
  auto on_prefix = c.begin_query(1, rpc::KvList{"w/"}, o);
  auto unrelated = c.begin_query(1, rpc::KvGet{"other"}, o);
  EXPECT_FALSE(on_key->has_value());
  auto w = c.write(1, rpc::Txn{{kv(api::TxnVerb::del, "w/a"), kv(api::TxnVerb::set, "w/b", "1")}});
  ASSERT_TRUE(w.ok());
  c.pump();
  ASSERT_TRUE(on_key->has_value());
  ASSERT_TRUE(on_prefix->has_value());
  EXPECT_EQ((**on_prefix)->meta.index, w->index);
  EXPECT_FALSE(unrelated->has_value());
}

TEST_F(TxnServerTest, SnapshotSaveThenRestoreBringsTheSavedStateBackAndWakesWatchers) {
  ASSERT_TRUE(c.write(1, kv_set("keep", "saved")).ok());
  auto saved = c.query(1, rpc::SnapshotSave{});
  ASSERT_TRUE(saved.ok()) << saved.error().message();
  std::string archive = value_of<rpc::SnapshotSave>(*saved);
  auto held = packed_applied_index(archive);
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(saved->meta.index, *held);

  auto changed = c.write(1, kv_set("keep", "changed"));
  ASSERT_TRUE(changed.ok());
  ASSERT_TRUE(c.write(1, kv_set("extra", "x")).ok());
  rpc::QueryOptions o;
  o.min_index = changed->index + 1;
  o.max_wait = std::chrono::minutes(1);
  auto parked = c.begin_query(1, rpc::KvGet{"keep"}, o);
  EXPECT_FALSE(parked->has_value());

  int restored_hooks = 0;  // the leader duties start over from the restored state (server_node.cc)
  ServerHooks hooks;
  hooks.on_state_restored = [&] { ++restored_hooks; };
  c.at(1).set_hooks(hooks);
  auto restored = c.write(1, rpc::SnapshotRestore{archive});
  ASSERT_TRUE(restored.ok()) << restored.error().message();
  c.pump();
  EXPECT_EQ(restored_hooks, 1);
  ASSERT_TRUE(parked->has_value()) << "a restore answers every parked query";
  ASSERT_TRUE((*parked)->ok());
  EXPECT_EQ(value_of<rpc::KvGet>(***parked)->value, "saved");
  EXPECT_EQ(kv_value(c, 1, "keep"), "saved");
  EXPECT_EQ(kv_value(c, 1, "extra"), std::nullopt);
  EXPECT_EQ(c.at(1).counters().snapshots_restored, 1u);
  ASSERT_TRUE(c.write(1, kv_set("after", "y")).ok());

  // Restarted on the same data dir, the restored state and later writes stay.
  c.kill(1);
  start();
  c.tick_all(3);
  EXPECT_EQ(kv_value(c, 1, "keep"), "saved");
  EXPECT_EQ(kv_value(c, 1, "extra"), std::nullopt);
  EXPECT_EQ(kv_value(c, 1, "after"), "y");
}

TEST_F(TxnServerTest, ACorruptOrTruncatedArchiveIsRefusedAndTheStateIsUntouched) {
  ASSERT_TRUE(c.write(1, kv_set("k", "v")).ok());
  auto saved = c.query(1, rpc::SnapshotSave{});
  ASSERT_TRUE(saved.ok());
  std::string archive = value_of<rpc::SnapshotSave>(*saved);
  uint64_t before = c.at(1).counters().commands_applied;
  std::string flipped = archive;
  flipped[flipped.size() / 2] ^= 0x40;
  for (const std::string& bad : {archive.substr(0, archive.size() / 2), flipped, std::string("not an archive")}) {
    auto r = c.write(1, rpc::SnapshotRestore{bad});
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.error().is(errc::invalid_argument)) << r.error().message();
    EXPECT_EQ(r.error().message().rfind("Invalid snapshot: ", 0), 0u) << r.error().message();
  }
  EXPECT_EQ(c.at(1).counters().commands_applied, before);
  EXPECT_EQ(kv_value(c, 1, "k"), "v");
}

TEST_F(TxnServerTest, SummarizeCountsTheRowsOfEachTableInAnArchive) {
  ASSERT_TRUE(c.write(1, kv_set("a", "1")).ok());
  ASSERT_TRUE(c.write(1, kv_set("b", "2")).ok());
  ASSERT_TRUE(c.write(1, register_node("n1", "10.0.0.9", "web")).ok());
  auto saved = c.query(1, rpc::SnapshotSave{});
  ASSERT_TRUE(saved.ok());
  const std::string& archive = value_of<rpc::SnapshotSave>(*saved);
  cairn::test::TempDir scratch;
  auto s = summarize_archive(archive, scratch.sub("inspect"));
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->index, saved->meta.index);
  EXPECT_EQ(s->bytes, archive.size());
  EXPECT_GT(s->files, 0u);
  EXPECT_EQ(s->rows["kv"], 2u);
  EXPECT_EQ(s->rows["nodes"], 1u);
  EXPECT_EQ(s->rows["services"], 1u);
  EXPECT_EQ(s->rows.count("meta"), 0u);
  EXPECT_FALSE(std::filesystem::exists(scratch.sub("inspect")));
  auto bad = summarize_archive(archive.substr(0, 100), scratch.sub("bad"));
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.error().is(errc::parse_error));
}

class TxnThreeServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    c.start_expecting(1, 3, 3);
    c.set_members_all({member_info(1, 3), member_info(2, 3), member_info(3, 3)});
    leader = c.elect();
    ASSERT_NE(leader, 0);
    c.tick_all(3);
  }
  Cluster c;
  int leader = 0;
};

TEST_F(TxnThreeServerTest, ARestoreSentToAFollowerReachesEveryServer) {
  ASSERT_TRUE(c.write(leader, kv_set("k", "old")).ok());
  auto saved = c.query(leader, rpc::SnapshotSave{});
  ASSERT_TRUE(saved.ok());
  ASSERT_TRUE(c.write(leader, kv_set("k", "new")).ok());
  ASSERT_TRUE(c.write(leader, rpc::Txn{{kv(api::TxnVerb::set, "t", "1")}}).ok());
  int f = leader == 1 ? 2 : 1;
  auto r = c.write(f, rpc::SnapshotRestore{value_of<rpc::SnapshotSave>(*saved)});
  ASSERT_TRUE(r.ok()) << r.error().message();
  c.tick_all(5);
  for (int n = 1; n <= 3; ++n) {
    EXPECT_EQ(kv_value(c, n, "k", stale()), "old") << "server " << n;
    EXPECT_EQ(kv_value(c, n, "t", stale()), std::nullopt) << "server " << n;
  }
  // Writes after the restore apply everywhere on top of it.
  ASSERT_TRUE(c.write(f, rpc::Txn{{kv(api::TxnVerb::set, "t", "2")}}).ok());
  c.tick_all(5);
  for (int n = 1; n <= 3; ++n) EXPECT_EQ(kv_value(c, n, "t", stale()), "2") << "server " << n;
}

}  // namespace
}  // namespace cairn::server::test
