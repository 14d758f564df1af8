#include <gtest/gtest.h>

#include <optional>

#include "raft/errc.h"
#include "raft/log.h"

namespace cairn::raft {
namespace {

std::vector<Entry> ents(Index from, std::vector<Term> terms) {
  std::vector<Entry> out;
  for (Term t : terms) out.push_back(Entry{t, from++, EntryType::normal, {}});
  return out;
}

class RaftLogTest : public ::testing::Test {
 protected:
  // Durable [1..3] with terms 1 1 2, then unstable [4..5] with terms 3 3.
  void SetUp() override {
    ASSERT_TRUE(storage_.append(ents(1, {1, 1, 2})).ok());
    holder_.emplace(&storage_, 1u << 20);
    log().append(ents(4, {3, 3}));
  }
  MemoryStorage storage_;
  std::optional<RaftLog> holder_;  // built after storage holds its entries
  RaftLog& log() { return *holder_; }
};

TEST_F(RaftLogTest, SpansStorageAndUnstableEntries) {
  EXPECT_EQ(log().first_index(), 1u);
  EXPECT_EQ(log().last_index(), 5u);
  EXPECT_EQ(*log().term(3), 2u);
  EXPECT_EQ(*log().term(5), 3u);
  EXPECT_EQ(log().slice(2, 6, UINT64_MAX)->size(), 4u);
  EXPECT_EQ(log().unstable_entries().size(), 2u);
}

TEST_F(RaftLogTest, MaybeAppendRejectsAMismatchedPreviousEntry) {
  Index written = 0;
  EXPECT_FALSE(log().maybe_append(3, 1, 0, ents(4, {3}), &written).has_value());
  EXPECT_FALSE(log().maybe_append(9, 3, 0, ents(10, {3}), &written).has_value());
}

TEST_F(RaftLogTest, MaybeAppendTruncatesTheConflictingSuffix) {
  Index written = 0;
  auto last = log().maybe_append(3, 2, 3, ents(4, {4}), &written);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, 4u);
  EXPECT_EQ(written, 4u);
  EXPECT_EQ(log().last_index(), 4u);
  EXPECT_EQ(*log().term(4), 4u);
  EXPECT_EQ(log().committed(), 3u);  // min(leader commit, last new entry)
}

TEST_F(RaftLogTest, MaybeAppendOfEntriesAlreadyHeldWritesNothing) {
  Index written = 7;
  auto last = log().maybe_append(3, 2, 0, ents(4, {3}), &written);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(written, 0u);
  EXPECT_EQ(log().last_index(), 5u);  // a stale append must not truncate what follows
}

TEST_F(RaftLogTest, FindConflictByTermSkipsAWholeTerm) {
  // Asked about index 5 with term 2: every entry of term 3 conflicts.
  auto [index, term] = log().find_conflict_by_term(5, 2);
  EXPECT_EQ(index, 3u);
  EXPECT_EQ(term, 2u);
}

TEST_F(RaftLogTest, IsUpToDateComparesLastTermThenLength) {
  EXPECT_TRUE(log().is_up_to_date(1, 4));   // higher last term wins, even shorter
  EXPECT_FALSE(log().is_up_to_date(9, 2));  // lower last term loses, even longer
  EXPECT_TRUE(log().is_up_to_date(5, 3));
  EXPECT_FALSE(log().is_up_to_date(4, 3));
}

TEST_F(RaftLogTest, MaybeCommitOnlyCommitsAnEntryOfTheGivenTerm) {
  EXPECT_FALSE(log().maybe_commit(3, 3));  // index 3 has term 2
  EXPECT_EQ(log().committed(), 0u);
  EXPECT_TRUE(log().maybe_commit(5, 3));
  EXPECT_EQ(log().committed(), 5u);
  EXPECT_FALSE(log().maybe_commit(4, 3));  // never backwards
  EXPECT_EQ(log().committed(), 5u);
}

TEST_F(RaftLogTest, StableToMovesEntriesOutOfTheUnstableSuffix) {
  ASSERT_TRUE(storage_.append(log().unstable_entries()).ok());
  log().stable_to(5, 3);
  EXPECT_TRUE(log().unstable_entries().empty());
  EXPECT_EQ(*log().term(5), 3u);
}

TEST_F(RaftLogTest, StableToIgnoresEntriesReplacedSinceTheyWereHandedOut) {
  Index written = 0;
  ASSERT_TRUE(log().maybe_append(3, 2, 0, ents(4, {5, 5}), &written).has_value());
  log().stable_to(5, 3);  // the Ready held term 3 at index 5; it is term 5 now
  EXPECT_EQ(log().unstable_entries().size(), 2u);
}

TEST_F(RaftLogTest, NextCommittedEntriesStartAfterApplied) {
  log().commit_to(4);
  log().applied_to(2);
  auto next = log().next_committed_entries();
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next.front().index, 3u);
  EXPECT_EQ(next.back().index, 4u);
}

TEST_F(RaftLogTest, RestoreFromASnapshotReplacesTheLog) {
  log().restore(Snapshot{{10, 4, ConfState{{1}, {}}}, ""});
  EXPECT_EQ(log().first_index(), 11u);
  EXPECT_EQ(log().last_index(), 10u);
  EXPECT_EQ(log().committed(), 10u);
  EXPECT_EQ(*log().term(10), 4u);
  EXPECT_EQ(log().term(5).error().code(), errc::compacted);
}

}  // namespace
}  // namespace cairn::raft
