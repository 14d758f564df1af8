// Woken blocking queries are re-run in one batch per wake-up, and identical
// queries in a batch share one read (server/queries.cc ReadCache): each
// still gets the answer its own query asks for, and no wake-up is lost when
// writes land while a batch is pending. One dev server in one process.
#include <gtest/gtest.h>

#include "test/server/cluster.h"

namespace cairn::server::test {
namespace {

using rpc::value_of;
using namespace std::chrono_literals;

class WatchBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o = c.options(1);
    o.bootstrap = true;
    c.start(1, o);
    ASSERT_EQ(c.elect(), 1);
  }
  static rpc::QueryOptions blocking(uint64_t index, const std::string& near = "") {
    rpc::QueryOptions o;
    o.min_index = index;
    o.max_wait = 5min;
    o.near = near;
    return o;
  }
  using Answers = std::vector<std::optional<Result<rpc::QueryResponse>>>;
  void park(Answers& into, size_t n, uint64_t index, const rpc::Query& q) {
    size_t first = into.size();
    into.resize(first + n);
    for (size_t i = 0; i < n; ++i)
      c.at(1).query(blocking(index), q, [&into, slot = first + i](Result<rpc::QueryResponse> r) {
        into[slot].emplace(std::move(r));
      });
  }
  Cluster c;
};

TEST_F(WatchBatchTest, IdenticalQueriesShareAReadAndDifferentOnesKeepTheirOwnAnswers) {
  auto first = c.write(1, kv_set("app/k", "1"));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(c.write(1, kv_set("other", "x")).ok());
  Answers gets, lists, keys, others;
  gets.reserve(300);
  lists.reserve(100);
  keys.reserve(100);
  others.reserve(100);
  park(gets, 300, first->index, rpc::KvGet{"app/k"});
  park(lists, 100, first->index, rpc::KvList{"app/"});
  park(keys, 100, first->index, rpc::KvKeys{"app/", ""});
  auto other_index = c.query(1, rpc::KvGet{"other"});
  ASSERT_TRUE(other_index.ok());
  park(others, 100, other_index->meta.index, rpc::KvGet{"other"});
  c.pump();
  for (auto& a : gets) EXPECT_FALSE(a.has_value());

  auto second = c.write(1, kv_set("app/k", "2"));
  ASSERT_TRUE(second.ok());
  c.pump();
  for (auto& a : gets) {
    ASSERT_TRUE(a.has_value() && a->ok());
    EXPECT_EQ((*a)->meta.index, second->index);
    ASSERT_TRUE(value_of<rpc::KvGet>(**a).has_value());
    EXPECT_EQ(value_of<rpc::KvGet>(**a)->value.value_or(""), "2");
  }
  for (auto& a : lists) {
    ASSERT_TRUE(a.has_value() && a->ok());
    ASSERT_EQ(value_of<rpc::KvList>(**a).size(), 1u);
    EXPECT_EQ(value_of<rpc::KvList>(**a)[0].value.value_or(""), "2");
  }
  for (auto& a : keys) {
    ASSERT_TRUE(a.has_value() && a->ok());
    EXPECT_EQ(value_of<rpc::KvKeys>(**a), std::vector<std::string>{"app/k"});
  }
  for (auto& a : others) EXPECT_FALSE(a.has_value()) << "woken by an unrelated write";
}

TEST_F(WatchBatchTest, WritesWhileABatchIsPendingAreNotMissed) {
  auto first = c.write(1, kv_set("hot", "0"));
  ASSERT_TRUE(first.ok());
  uint64_t index = first->index;
  // Rounds of: park many on `hot` at the current index, then two writes in a
  // row without running the strand in between, so the second lands while the
  // first one's batch is pending; every waiter must end with the last value.
  for (int round = 1; round <= 5; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Answers answers;
    answers.reserve(200);
    park(answers, 200, index, rpc::KvGet{"hot"});
    c.pump();
    std::optional<Result<rpc::WriteResponse>> w1, w2;
    c.at(1).write({}, kv_set("hot", "a" + std::to_string(round)), [&](auto r) { w1.emplace(std::move(r)); });
    c.at(1).write({}, kv_set("hot", "b" + std::to_string(round)), [&](auto r) { w2.emplace(std::move(r)); });
    c.await(w2);
    ASSERT_TRUE(w1.has_value() && w1->ok());
    ASSERT_TRUE(w2.has_value() && w2->ok());
    c.pump();
    // Each answer is at one of the two writes' indexes with that write's
    // value; a query parked at the first write's index sees the second.
    for (auto& a : answers) {
      ASSERT_TRUE(a.has_value() && a->ok());
      EXPECT_GT((*a)->meta.index, index);
      auto v = value_of<rpc::KvGet>(**a);
      ASSERT_TRUE(v.has_value());
      EXPECT_TRUE(((*a)->meta.index == (*w1)->index && v->value == "a" + std::to_string(round)) ||
                  ((*a)->meta.index == (*w2)->index && v->value == "b" + std::to_string(round)))
          << (*a)->meta.index << " " << v->value.value_or("");
      if ((*a)->meta.index == (*w1)->index) {
        // Parked at the first write's index: the second must wake it.
        auto again = c.query(1, rpc::KvGet{"hot"}, blocking((*w1)->index));
        ASSERT_TRUE(again.ok());
        EXPECT_EQ(again->meta.index, (*w2)->index);
      }
    }
    index = (*w2)->index;
  }
}

}  // namespace
}  // namespace cairn::server::test
