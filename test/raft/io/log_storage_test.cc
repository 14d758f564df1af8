// One behaviour suite for every LogStorage: the in-memory twin and RocksDB
// must agree, so the simulator's storage tells the truth about the real one.
#include <gtest/gtest.h>

#include <filesystem>

#include "raft/errc.h"
#include "raft/io/rocks_storage.h"
#include "raft/storage.h"

namespace cairn::raft {
namespace {

namespace fs = std::filesystem;

Entry e(Index i, Term t, std::string data = "") { return Entry{t, i, EntryType::normal, std::move(data)}; }

std::string fresh_dir() {
  static int n = 0;
  auto p = fs::temp_directory_path() / ("raft-storage-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  fs::remove_all(p);
  return p.string();
}

struct MemoryFactory {
  std::unique_ptr<LogStorage> make(std::optional<ConfState> cs = std::nullopt) {
    return cs ? std::make_unique<MemoryStorage>(*cs) : std::make_unique<MemoryStorage>();
  }
};

struct RocksFactory {
  std::string dir = fresh_dir();
  ~RocksFactory() { fs::remove_all(dir); }
  std::unique_ptr<LogStorage> make(std::optional<ConfState> cs = std::nullopt) {
    auto s = RocksLogStorage::open(dir, cs);
    EXPECT_TRUE(s.ok()) << s.error().message();
    return std::move(s).value();
  }
};

template <typename F>
class LogStorageTest : public ::testing::Test {
 protected:
  F factory;
};
using Factories = ::testing::Types<MemoryFactory, RocksFactory>;
TYPED_TEST_SUITE(LogStorageTest, Factories);

TYPED_TEST(LogStorageTest, StartsEmpty) {
  auto s = this->factory.make();
  EXPECT_EQ(s->first_index(), 1u);
  EXPECT_EQ(s->last_index(), 0u);
  EXPECT_EQ(*s->term(0), 0u);
  EXPECT_TRUE(s->initial_state()->hard_state.empty());
}

TYPED_TEST(LogStorageTest, BootstrapHoldsTheConfigurationSnapshot) {
  auto s = this->factory.make(ConfState{{1, 2, 3}, {}});
  EXPECT_EQ(s->first_index(), 2u);
  EXPECT_EQ(s->last_index(), 1u);
  EXPECT_EQ(*s->term(1), 1u);
  auto init = *s->initial_state();
  EXPECT_EQ(init.hard_state, (HardState{1, kNoNode, 1}));
  EXPECT_EQ(init.conf_state.voters, (std::vector<NodeId>{1, 2, 3}));
}

TYPED_TEST(LogStorageTest, AppendsAndReadsBack) {
  auto s = this->factory.make();
  std::vector<Entry> ents{e(1, 1, "a"), e(2, 1, "b"), e(3, 2, "c")};
  ASSERT_TRUE(s->append(ents).ok());
  EXPECT_EQ(s->last_index(), 3u);
  EXPECT_EQ(*s->entries(1, 4, UINT64_MAX), ents);
  EXPECT_EQ(*s->entries(2, 3, UINT64_MAX), (std::vector<Entry>{e(2, 1, "b")}));
  EXPECT_EQ(*s->term(3), 2u);
  EXPECT_TRUE(s->entries(2, 2, UINT64_MAX)->empty());
}

TYPED_TEST(LogStorageTest, SizeLimitKeepsAtLeastOneEntry) {
  auto s = this->factory.make();
  std::vector<Entry> ents{e(1, 1, std::string(100, 'x')), e(2, 1, std::string(100, 'y')), e(3, 1, "z")};
  ASSERT_TRUE(s->append(ents).ok());
  EXPECT_EQ(s->entries(1, 4, 1)->size(), 1u);
  EXPECT_EQ(s->entries(1, 4, 250)->size(), 2u);
}

TYPED_TEST(LogStorageTest, ConflictingSuffixIsReplaced) {
  auto s = this->factory.make();
  ASSERT_TRUE(s->append(std::vector<Entry>{e(1, 1), e(2, 1), e(3, 1), e(4, 1)}).ok());
  ASSERT_TRUE(s->append(std::vector<Entry>{e(3, 2, "new")}).ok());
  EXPECT_EQ(s->last_index(), 3u);
  EXPECT_EQ(*s->term(3), 2u);
  EXPECT_FALSE(s->term(4).ok());
  EXPECT_EQ(*s->entries(1, 4, UINT64_MAX), (std::vector<Entry>{e(1, 1), e(2, 1), e(3, 2, "new")}));
}

TYPED_TEST(LogStorageTest, GapIsRefused) {
  auto s = this->factory.make();
  ASSERT_TRUE(s->append(std::vector<Entry>{e(1, 1)}).ok());
  auto st = s->append(std::vector<Entry>{e(3, 1)});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), make_error_code(errc::unavailable));
}

TYPED_TEST(LogStorageTest, OutOfRangeReadsAreErrorsNotCrashes) {
  auto s = this->factory.make();
  ASSERT_TRUE(s->append(std::vector<Entry>{e(1, 1), e(2, 1)}).ok());
  EXPECT_EQ(s->entries(1, 5, UINT64_MAX).error().code(), make_error_code(errc::unavailable));
  EXPECT_EQ(s->term(9).error().code(), make_error_code(errc::unavailable));
}

TYPED_TEST(LogStorageTest, CompactionDropsThePrefixAndKeepsTheBoundaryTerm) {
  auto s = this->factory.make();
  ASSERT_TRUE(s->append(std::vector<Entry>{e(1, 1), e(2, 1), e(3, 2), e(4, 2)}).ok());
  Snapshot snap;
  snap.metadata = {3, 2, ConfState{{1}, {}}};
  snap.data = "state";
  ASSERT_TRUE(s->compact(snap).ok());
  EXPECT_EQ(s->first_index(), 4u);
  EXPECT_EQ(s->last_index(), 4u);
  EXPECT_EQ(*s->term(3), 2u);
  EXPECT_EQ(s->term(2).error().code(), make_error_code(errc::compacted));
  EXPECT_EQ(s->entries(2, 5, UINT64_MAX).error().code(), make_error_code(errc::compacted));
  EXPECT_EQ(s->snapshot()->data, "state");
  EXPECT_EQ(s->compact(snap).error().code(), make_error_code(errc::snapshot_out_of_date));
  Snapshot too_far;
  too_far.metadata = {9, 2, {}};
  EXPECT_EQ(s->compact(too_far).error().code(), make_error_code(errc::unavailable));
}

TYPED_TEST(LogStorageTest, ApplySnapshotReplacesTheLog) {
  auto s = this->factory.make();
  ASSERT_TRUE(s->append(std::vector<Entry>{e(1, 1), e(2, 1)}).ok());
  Snapshot snap;
  snap.metadata = {10, 3, ConfState{{1, 2}, {3}}};
  snap.data = "image";
  ASSERT_TRUE(s->apply_snapshot(snap).ok());
  EXPECT_EQ(s->first_index(), 11u);
  EXPECT_EQ(s->last_index(), 10u);
  EXPECT_EQ(*s->term(10), 3u);
  EXPECT_EQ(*s->snapshot(), snap);
  EXPECT_EQ(s->initial_state()->conf_state.learners, (std::vector<NodeId>{3}));
  ASSERT_TRUE(s->append(std::vector<Entry>{e(11, 3, "next")}).ok());
  EXPECT_EQ(*s->entries(11, 12, UINT64_MAX), (std::vector<Entry>{e(11, 3, "next")}));
  Snapshot older;
  older.metadata = {5, 1, {}};
  EXPECT_EQ(s->apply_snapshot(older).error().code(), make_error_code(errc::snapshot_out_of_date));
}

TYPED_TEST(LogStorageTest, HardStateIsKept) {
  auto s = this->factory.make();
  ASSERT_TRUE(s->set_hard_state(HardState{5, 2, 7}).ok());
  EXPECT_EQ(s->initial_state()->hard_state, (HardState{5, 2, 7}));
}

// --- RocksDB only: what survives a restart ---

class RocksLogStorageTest : public ::testing::Test {
 protected:
  std::unique_ptr<RocksLogStorage> open(std::optional<ConfState> cs = std::nullopt) {
    auto r = RocksLogStorage::open(dir, cs);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return std::move(r).value();
  }
  std::string dir = fresh_dir();
  ~RocksLogStorageTest() override { fs::remove_all(dir); }
};

TEST_F(RocksLogStorageTest, ReopenRestoresLogHardStateAndSnapshot) {
  {
    auto s = open(ConfState{{1, 2, 3}, {}});
    ASSERT_TRUE(s->persist(std::vector<Entry>{e(2, 1, "a"), e(3, 2, "b"), e(4, 2, "c")}, HardState{2, 1, 3}).ok());
    Snapshot snap;
    snap.metadata = {2, 1, ConfState{{1, 2, 3}, {}}};
    ASSERT_TRUE(s->compact(snap).ok());
  }
  auto s = open(ConfState{{9}, {}});  // bootstrap ignored: the store is not new
  EXPECT_EQ(s->first_index(), 3u);
  EXPECT_EQ(s->last_index(), 4u);
  EXPECT_EQ(*s->entries(3, 5, UINT64_MAX), (std::vector<Entry>{e(3, 2, "b"), e(4, 2, "c")}));
  EXPECT_EQ(s->initial_state()->hard_state, (HardState{2, 1, 3}));
  EXPECT_EQ(s->initial_state()->conf_state.voters, (std::vector<NodeId>{1, 2, 3}));
}

TEST_F(RocksLogStorageTest, PersistIsOneFsyncPerReady) {
  auto s = open();
  std::vector<Entry> batch;
  for (Index i = 1; i <= 100; ++i) batch.push_back(e(i, 1, "cmd"));
  uint64_t before = s->syncs();
  ASSERT_TRUE(s->persist(batch, HardState{1, 1, 50}).ok());
  EXPECT_EQ(s->syncs() - before, 1u);
  EXPECT_TRUE(s->persist({}, std::nullopt).ok());
  EXPECT_EQ(s->syncs() - before, 1u);  // nothing to write: no fsync
}

TEST_F(RocksLogStorageTest, TruncationSurvivesReopen) {
  {
    auto s = open();
    ASSERT_TRUE(s->append(std::vector<Entry>{e(1, 1), e(2, 1), e(3, 1)}).ok());
    ASSERT_TRUE(s->append(std::vector<Entry>{e(2, 2)}).ok());
  }
  auto s = open();
  EXPECT_EQ(s->last_index(), 2u);
  EXPECT_EQ(*s->term(2), 2u);
}

TEST_F(RocksLogStorageTest, BootstrapMakesAnEmptyStoreAnInitialMemberOnce) {
  {
    auto s = open();
    EXPECT_FALSE(s->has_state());
    EXPECT_TRUE(s->bootstrap(ConfState{}).error().is(cairn::errc::invalid_argument));
    EXPECT_FALSE(s->has_state()) << "a refused bootstrap writes nothing";
    uint64_t before = s->syncs();
    ASSERT_TRUE(s->bootstrap(ConfState{{1, 2, 3}, {}}).ok());
    EXPECT_EQ(s->syncs() - before, 1u) << "snapshot and hard state in one batch";
    EXPECT_TRUE(s->has_state());
    EXPECT_EQ(s->first_index(), 2u);
    EXPECT_EQ(s->last_index(), 1u);
    EXPECT_EQ(*s->term(1), 1u);
    EXPECT_EQ(s->initial_state()->hard_state, (HardState{1, kNoNode, 1}));
    Status again = s->bootstrap(ConfState{{4}, {}});
    ASSERT_FALSE(again.ok());
    EXPECT_TRUE(again.error().is(cairn::errc::already_exists));
  }
  auto s = open();  // durable, and equal to what open(dir, cs) makes
  EXPECT_TRUE(s->has_state());
  EXPECT_EQ(s->initial_state()->conf_state.voters, (std::vector<NodeId>{1, 2, 3}));
  EXPECT_EQ(s->initial_state()->hard_state, (HardState{1, kNoNode, 1}));
  EXPECT_EQ(*s->snapshot(), bootstrap_snapshot(ConfState{{1, 2, 3}, {}}));
}

TEST_F(RocksLogStorageTest, AnyStateCountsAsState) {
  {
    auto s = open();
    ASSERT_TRUE(s->set_hard_state(HardState{3, 2, 0}).ok());  // only a vote: still a member of something
  }
  auto s = open();
  EXPECT_TRUE(s->has_state());
  EXPECT_TRUE(s->bootstrap(ConfState{{1}, {}}).error().is(cairn::errc::already_exists));
}

TEST_F(RocksLogStorageTest, CompactReferencesAStagedImageInsteadOfWritingItAgain) {
  {
    auto s = open(ConfState{{1}, {}});
    ASSERT_TRUE(s->append(std::vector<Entry>{e(2, 1, "a"), e(3, 1, "b"), e(4, 1, "c")}).ok());
    std::string image(100000, 'i');
    ASSERT_TRUE(s->stage_snapshot_data(3, 1, image).ok());
    // Same index, term and size: the staged bytes are kept and the record
    // refers to them (different bytes here show which copy is read back).
    ASSERT_TRUE(s->compact(Snapshot{{3, 1, ConfState{{1}, {}}}, std::string(100000, 'x')}).ok());
    EXPECT_EQ(s->snapshot()->data, image);
    EXPECT_EQ(s->first_index(), 4u);
  }
  auto s = open();  // the reference survives a reopen
  EXPECT_EQ(s->snapshot()->data, std::string(100000, 'i'));
  EXPECT_EQ(s->snapshot()->metadata.index, 3u);
  // A staged image that does not match is not used; the data goes inline.
  ASSERT_TRUE(s->stage_snapshot_data(4, 1, "other").ok());
  ASSERT_TRUE(s->compact(Snapshot{{4, 1, ConfState{{1}, {}}}, "inline"}).ok());
  EXPECT_EQ(s->snapshot()->data, "inline");
}

TEST_F(RocksLogStorageTest, AReceivedSnapshotReplacesAStagedOne) {
  auto s = open(ConfState{{1}, {}});
  ASSERT_TRUE(s->append(std::vector<Entry>{e(2, 1, "a"), e(3, 1, "b")}).ok());
  ASSERT_TRUE(s->stage_snapshot_data(3, 1, "staged").ok());
  ASSERT_TRUE(s->apply_snapshot(Snapshot{{9, 2, ConfState{{1}, {}}}, "leader's"}).ok());
  EXPECT_EQ(s->snapshot()->data, "leader's");
  // The staged image went with the old log: a compaction at 3 is refused anyway.
  EXPECT_FALSE(s->compact(Snapshot{{3, 1, ConfState{{1}, {}}}, "staged"}).ok());
}

TEST_F(RocksLogStorageTest, UnopenableDirectoryIsAnError) {
  auto r = RocksLogStorage::open("/proc/cannot-create-here");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("raft log: open"), std::string::npos);
}

}  // namespace
}  // namespace cairn::raft
