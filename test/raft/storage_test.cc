#include <gtest/gtest.h>

#include <limits>

#include "raft/errc.h"
#include "raft/storage.h"

namespace cairn::raft {
namespace {

constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();

std::vector<Entry> ents(Index from, std::vector<Term> terms) {
  std::vector<Entry> out;
  for (Term t : terms) out.push_back(Entry{t, from++, EntryType::normal, "d"});
  return out;
}

TEST(MemoryStorage, StartsEmpty) {
  MemoryStorage s;
  EXPECT_EQ(s.first_index(), 1u);
  EXPECT_EQ(s.last_index(), 0u);
  EXPECT_TRUE(s.snapshot()->empty());
}

TEST(MemoryStorage, BootstrapHoldsTheConfigurationInASnapshotAtIndexOne) {
  MemoryStorage s(ConfState{{1, 2, 3}, {}});
  EXPECT_EQ(s.first_index(), 2u);
  EXPECT_EQ(s.last_index(), 1u);
  EXPECT_EQ(*s.term(1), 1u);
  EXPECT_EQ(s.initial_state()->conf_state.voters, (std::vector<NodeId>{1, 2, 3}));
  EXPECT_EQ(s.initial_state()->hard_state.term, 1u);
}

TEST(MemoryStorage, AppendReplacesTheConflictingSuffix) {
  MemoryStorage s;
  ASSERT_TRUE(s.append(ents(1, {1, 1, 1})).ok());
  ASSERT_TRUE(s.append(ents(2, {2})).ok());
  EXPECT_EQ(s.last_index(), 2u);
  EXPECT_EQ(*s.term(2), 2u);
}

TEST(MemoryStorage, AppendRefusesAGap) {
  MemoryStorage s;
  ASSERT_TRUE(s.append(ents(1, {1})).ok());
  Status st = s.append(ents(3, {1}));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), errc::unavailable);
}

TEST(MemoryStorage, EntriesReturnsAtLeastOneEntryEvenOverTheSizeLimit) {
  MemoryStorage s;
  ASSERT_TRUE(s.append(ents(1, {1, 1, 1})).ok());
  EXPECT_EQ(s.entries(1, 4, 0)->size(), 1u);
  EXPECT_EQ(s.entries(1, 4, kNoLimit)->size(), 3u);
  EXPECT_EQ(s.entries(1, 4, 2 * Entry{1, 1, EntryType::normal, "d"}.size())->size(), 2u);
}

TEST(MemoryStorage, CompactKeepsTheTermAtTheSnapshotIndex) {
  MemoryStorage s;
  ASSERT_TRUE(s.append(ents(1, {1, 2, 3})).ok());
  ASSERT_TRUE(s.compact(Snapshot{{2, 2, ConfState{{1}, {}}}, "state"}).ok());
  EXPECT_EQ(s.first_index(), 3u);
  EXPECT_EQ(*s.term(2), 2u);
  EXPECT_EQ(s.term(1).error().code(), errc::compacted);
  EXPECT_EQ(s.entries(2, 3, kNoLimit).error().code(), errc::compacted);
  EXPECT_EQ(s.snapshot()->data, "state");
}

TEST(MemoryStorage, CompactRefusesAnIndexAlreadyCompactedOrPastTheLog) {
  MemoryStorage s;
  ASSERT_TRUE(s.append(ents(1, {1, 1})).ok());
  EXPECT_EQ(s.compact(Snapshot{{3, 1, {}}, ""}).error().code(), errc::unavailable);
  ASSERT_TRUE(s.compact(Snapshot{{2, 1, {}}, ""}).ok());
  EXPECT_EQ(s.compact(Snapshot{{1, 1, {}}, ""}).error().code(), errc::snapshot_out_of_date);
}

TEST(MemoryStorage, ApplySnapshotReplacesTheWholeLog) {
  MemoryStorage s;
  ASSERT_TRUE(s.append(ents(1, {1, 1, 1})).ok());
  ASSERT_TRUE(s.apply_snapshot(Snapshot{{10, 4, ConfState{{1, 2}, {}}}, "img"}).ok());
  EXPECT_EQ(s.first_index(), 11u);
  EXPECT_EQ(s.last_index(), 10u);
  EXPECT_EQ(*s.term(10), 4u);
  EXPECT_EQ(s.initial_state()->conf_state.voters, (std::vector<NodeId>{1, 2}));
}

TEST(MemoryStorage, TermPastTheLogIsUnavailable) {
  MemoryStorage s;
  EXPECT_EQ(s.term(5).error().code(), errc::unavailable);
}

}  // namespace
}  // namespace cairn::raft
