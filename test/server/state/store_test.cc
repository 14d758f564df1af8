#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <thread>

#include <rocksdb/db.h>

#include "test/server/state/fixture.h"

namespace cairn::server::state {
namespace {

class StoreLifecycleTest : public StoreTest {};

// Opens the store's directory with RocksDB directly, to do what Cairn never
// would (corrupt a record, add a table).
void edit_raw(const std::string& dir,
              const std::function<void(rocksdb::DB*, const std::map<std::string, rocksdb::ColumnFamilyHandle*>&)>& fn) {
  rocksdb::DBOptions options;
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(options, dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir, cfs, &handles, &db).ok());
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name;
  for (size_t i = 0; i < names.size(); ++i) by_name[names[i]] = handles[i];
  fn(db, by_name);
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
}

TEST_F(StoreLifecycleTest, ReopenRestoresStateAndIndexesWithoutReplay) {
  register_service("n1", "web", "web1");
  put("a", "1");
  put("b", "2");
  kv(KvOp::delete_key, "b");
  uint64_t applied = store_->applied_index();
  reopen();
  EXPECT_EQ(store_->applied_index(), applied);
  auto view = store_->read();
  EXPECT_EQ(view.kv_get("a")->value->value, "1");
  EXPECT_EQ(view.kv_list("")->index, applied);
  EXPECT_EQ(view.kv_tombstones()->count("b"), 1u);
  EXPECT_EQ(view.service_nodes("web", {})->value.size(), 1u);
  EXPECT_EQ(view.service_nodes("web", {})->index, 1u);
}

TEST_F(StoreLifecycleTest, ReplayingAnAppliedIndexAfterReopenIsRefused) {
  put("a", "1");
  reopen();
  api::KVPair e;
  e.key = "a";
  e.value = "again";
  auto r = store_->kv_apply(1, KvOp::set, e, at_seconds(0), touched_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(store_->read().kv_get("a")->value->value, "1");
}

TEST_F(StoreLifecycleTest, AReadViewKeepsSeeingItsSnapshot) {
  put("a", "1");
  auto before = store_->read();
  put("a", "2");
  kv(KvOp::delete_tree, "");
  EXPECT_EQ(before.kv_get("a")->value->value, "1");
  EXPECT_EQ(before.applied_index(), 1u);
  EXPECT_FALSE(store_->read().kv_get("a")->value.has_value());
}

TEST_F(StoreLifecycleTest, CheckpointHoldsTheStateAtItsIndex) {
  put("a", "1");
  register_node("n1");
  auto idx = store_->checkpoint(dir_.sub("cp"));
  ASSERT_TRUE(idx.ok()) << idx.error().message();
  EXPECT_EQ(*idx, 2u);
  put("a", "after");
  auto cp = Store::open(dir_.sub("cp"), StoreOptions{false, false});
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ((*cp)->read().kv_get("a")->value->value, "1");
  EXPECT_EQ((*cp)->applied_index(), 2u);
}

TEST_F(StoreLifecycleTest, CheckpointIntoAnExistingDirectoryFails) {
  std::filesystem::create_directories(dir_.sub("cp"));
  EXPECT_FALSE(store_->checkpoint(dir_.sub("cp")).ok());
}

TEST_F(StoreLifecycleTest, RestoreReplacesTheDataWithTheCheckpoint) {
  put("a", "1");
  ASSERT_TRUE(store_->checkpoint(dir_.sub("cp")).ok());
  put("a", "2");
  put("b", "3");
  store_.reset();
  auto restored = Store::restore(dir_.sub("cp"), dir_.sub("db"));
  ASSERT_TRUE(restored.ok()) << restored.error().message();
  store_ = std::move(*restored);
  EXPECT_EQ(store_->applied_index(), 1u);
  EXPECT_EQ(store_->read().kv_get("a")->value->value, "1");
  EXPECT_FALSE(store_->read().kv_get("b")->value.has_value());
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("cp")));
  // and it keeps applying from there
  api::KVPair e;
  e.key = "c";
  EXPECT_TRUE(store_->kv_apply(2, KvOp::set, e, at_seconds(0), touched_).ok());
}

TEST_F(StoreLifecycleTest, RestoreFromAMissingCheckpointKeepsTheCurrentData) {
  put("a", "1");
  store_.reset();
  EXPECT_FALSE(Store::restore(dir_.sub("nope"), dir_.sub("db")).ok());
  reopen();
  EXPECT_EQ(store_->read().kv_get("a")->value->value, "1");
}

TEST_F(StoreLifecycleTest, SyncReportsTheDurableAppliedIndex) {
  put("a", "1");
  put("b", "1");
  auto r = store_->sync();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 2u);
}

TEST_F(StoreLifecycleTest, NoopRecordsTheIndexOnly) {
  put("a", "1");
  ASSERT_TRUE(store_->apply_noop(next()).ok());
  EXPECT_EQ(store_->applied_index(), 2u);
  EXPECT_EQ(store_->read().kv_get("a")->index, 1u);
}

TEST_F(StoreLifecycleTest, ACorruptRecordIsAnErrorNotACrash) {
  put("a", "1");
  store_.reset();
  edit_raw(dir_.sub("db"), [](rocksdb::DB* db, const std::map<std::string, rocksdb::ColumnFamilyHandle*>& cf) {
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf.at("kv"), "a", "\x01garbage").ok());
  });
  reopen();
  auto r = store_->read().kv_get("a");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(is_storage_failure(r.error()));
  // a write that reads the corrupt record stops without recording its index
  api::KVPair e;
  e.key = "a";
  EXPECT_FALSE(store_->kv_apply(next(), KvOp::set, e, at_seconds(0), touched_).ok());
  EXPECT_EQ(store_->applied_index(), 1u);
}

TEST_F(StoreLifecycleTest, OpeningADirectoryWithUnknownTablesIsRefused) {
  store_.reset();
  edit_raw(dir_.sub("db"), [](rocksdb::DB* db, const std::map<std::string, rocksdb::ColumnFamilyHandle*>&) {
    rocksdb::ColumnFamilyHandle* extra = nullptr;
    ASSERT_TRUE(db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "from_the_future", &extra).ok());
    db->DestroyColumnFamilyHandle(extra);
  });
  auto s = Store::open(dir_.sub("db"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("from_the_future"), std::string::npos);
}

TEST_F(StoreLifecycleTest, ACheckpointTakenDuringWritesHoldsExactlyItsAppliedCommands) {
  constexpr int kWrites = 3000;
  std::thread writer([&] {
    for (int i = 1; i <= kWrites; ++i) {
      api::KVPair e;
      e.key = "k/" + std::to_string(i);
      TouchSet t;
      ASSERT_TRUE(store_->kv_apply(i, KvOp::set, e, at_seconds(0), t).ok());
    }
  });
  while (store_->applied_index() < kWrites / 3) std::this_thread::yield();
  auto idx = store_->checkpoint(dir_.sub("cp"));
  writer.join();
  ASSERT_TRUE(idx.ok()) << idx.error().message();
  auto cp = Store::open(dir_.sub("cp"), StoreOptions{false, false});
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ((*cp)->applied_index(), *idx);
  EXPECT_EQ((*cp)->read().kv_list("k/")->value.size(), *idx);
}

// A process killed in the middle of a stream of multi-row commands leaves
// every command either fully applied or not at all, and the applied index
// names exactly the last one.
TEST_F(StoreLifecycleTest, KillingTheProcessMidWriteLeavesNoHalfAppliedCommand) {
  store_.reset();  // the child owns the directory until it dies
  int progress[2];
  ASSERT_EQ(pipe(progress), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(progress[0]);
    auto s = Store::open(dir_.sub("db"));
    if (!s.ok()) _exit(2);
    for (uint64_t i = 1;; ++i) {
      api::RegisterRequest req;
      req.node = "n" + std::to_string(i);
      req.address = "10.0.0.1";
      req.service.emplace();
      req.service->service = "svc";
      req.service->id = "svc" + std::to_string(i);
      for (int c = 0; c < 4; ++c) {
        api::HealthCheck hc;
        hc.check_id = "c" + std::to_string(c);
        hc.status = "passing";
        hc.service_id = req.service->id;
        req.checks.push_back(hc);
      }
      TouchSet t;
      if (!(*s)->catalog_register(i, req, at_seconds(0), t).ok()) _exit(3);
      if (i == 200) (void)!write(progress[1], "x", 1);
    }
  }
  close(progress[1]);
  char c;
  ASSERT_EQ(read(progress[0], &c, 1), 1);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  close(progress[0]);
  ASSERT_TRUE(WIFSIGNALED(status));

  reopen();
  uint64_t applied = store_->applied_index();
  EXPECT_GE(applied, 200u);
  auto view = store_->read();
  EXPECT_EQ(view.nodes()->value.size(), applied);
  auto entries = view.health_service("svc", {}, false);
  ASSERT_EQ(entries->value.size(), applied);
  for (const auto& e : entries->value) EXPECT_EQ(e.checks.size(), 4u) << e.node.node;
  EXPECT_EQ(view.checks_in_state("any")->value.size(), applied * 4);
}

}  // namespace
}  // namespace cairn::server::state
