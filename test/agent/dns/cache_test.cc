// agent/cache/cache.h: hits after the first fetch, the background blocking
// query, idle expiry, max_stale, retries after errors.
#include "agent/cache/cache.h"

#include <gtest/gtest.h>

#include <deque>

namespace cairn::agent::cache {
namespace {

using namespace api::rpc;

// Parks every query; the test answers them in order.
class ParkedRpc final : public Handler {
 public:
  struct Call {
    QueryOptions options;
    Query query;
    QueryCallback done;
  };
  std::deque<Call> calls;
  void query(QueryOptions o, Query q, QueryCallback done) override { calls.push_back({o, std::move(q), std::move(done)}); }
  void write(WriteOptions, Write, WriteCallback done) override { done(Error(errc::internal, "no writes")); }

  void answer_nodes(std::vector<std::string> names, uint64_t index, Duration last_contact = Duration{0}) {
    ASSERT_FALSE(calls.empty());
    auto c = std::move(calls.front());
    calls.pop_front();
    std::vector<api::Node> nodes;
    for (auto& n : names) nodes.push_back(api::Node{.node = n});
    QueryMeta meta;
    meta.index = index;
    meta.last_contact = last_contact;
    c.done(QueryResponse{meta, make_value<CatalogNodes, QueryValue>(std::move(nodes))});
  }
  void fail_next() {
    ASSERT_FALSE(calls.empty());
    auto c = std::move(calls.front());
    calls.pop_front();
    c.done(Error(errc::unavailable, "No cluster leader"));
  }
};

class CacheTest : public ::testing::Test {
 protected:
  std::shared_ptr<Cache> make(Options o = {}) {
    rpc = std::make_shared<ParkedRpc>();
    return Cache::make(rpc, clock, scheduler, o);
  }
  // A cache whose CatalogNodes entry holds n1 at index 10, its blocking
  // refresh parked.
  std::shared_ptr<Cache> primed(Options o = {}) {
    auto cache = make(o);
    read(*cache);
    rpc->answer_nodes({"n1"}, 10);
    scheduler.advance(Duration{0});
    return cache;
  }
  // Reads CatalogNodes; returns the node names, or "error" / "pending".
  std::vector<std::string> read(Cache& c, bool* answered = nullptr) {
    auto out = std::make_shared<std::vector<std::string>>();
    out->push_back("pending");
    c.get(CatalogNodes{}, [out](Result<Value> r) {
      out->clear();
      if (!r.ok()) return out->push_back("error");
      for (const auto& n : value_of<CatalogNodes>(**r)) out->push_back(n.node);
    });
    if (answered) *answered = !(out->size() == 1 && (*out)[0] == "pending");
    last = out;
    return *out;
  }

  ManualClock clock;
  ManualScheduler scheduler{clock};
  std::shared_ptr<ParkedRpc> rpc;
  std::shared_ptr<std::vector<std::string>> last;
};

TEST_F(CacheTest, FirstReadFetchesLaterReadsHit) {
  auto cache = make();
  bool answered = true;
  read(*cache, &answered);
  EXPECT_FALSE(answered);
  ASSERT_EQ(rpc->calls.size(), 1u);
  EXPECT_EQ(rpc->calls[0].options.min_index, 0u);
  EXPECT_EQ(rpc->calls[0].options.consistency, Consistency::stale);
  rpc->answer_nodes({"n1"}, 10);
  EXPECT_EQ(*last, (std::vector<std::string>{"n1"}));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(read(*cache), (std::vector<std::string>{"n1"}));
  auto s = cache->stats();
  EXPECT_EQ(s.hits, 5u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.entries, 1u);
}

TEST_F(CacheTest, ConcurrentMissesShareOneFetch) {
  auto cache = make();
  read(*cache);
  auto first = last;
  read(*cache);
  EXPECT_EQ(rpc->calls.size(), 1u);
  rpc->answer_nodes({"n1"}, 3);
  EXPECT_EQ(*first, (std::vector<std::string>{"n1"}));
  EXPECT_EQ(*last, (std::vector<std::string>{"n1"}));
}

TEST_F(CacheTest, BackgroundBlockingQueryKeepsTheEntryFresh) {
  Options o;
  o.refresh_wait = std::chrono::seconds(60);
  auto cache = primed(o);
  ASSERT_EQ(rpc->calls.size(), 1u);
  EXPECT_EQ(rpc->calls[0].options.min_index, 10u);
  EXPECT_EQ(rpc->calls[0].options.max_wait, std::chrono::seconds(60));
  rpc->answer_nodes({"n1", "n2"}, 11);
  EXPECT_EQ(read(*cache), (std::vector<std::string>{"n1", "n2"}));
  scheduler.advance(Duration{0});
  ASSERT_EQ(rpc->calls.size(), 1u);
  EXPECT_EQ(rpc->calls[0].options.min_index, 11u);
  EXPECT_EQ(cache->stats().misses, 1u);
}

TEST_F(CacheTest, UnusedEntriesStopRefreshingAndAreDropped) {
  Options o;
  o.idle_ttl = std::chrono::minutes(3);
  auto cache = primed(o);
  clock.advance(std::chrono::minutes(1));
  rpc->answer_nodes({"n1"}, 10);  // wait ran out, still used recently: re-armed
  scheduler.advance(Duration{0});
  ASSERT_EQ(rpc->calls.size(), 1u);
  clock.advance(std::chrono::minutes(3));
  rpc->answer_nodes({"n1"}, 10);  // unused for 4 minutes: dropped
  scheduler.advance(Duration{0});
  EXPECT_TRUE(rpc->calls.empty());
  auto s = cache->stats();
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.dropped, 1u);
  bool answered = true;
  read(*cache, &answered);
  EXPECT_FALSE(answered);  // a new miss
}

TEST_F(CacheTest, AnswersOverMaxStaleAreRefetchedFromTheLeader) {
  Options o;
  o.max_stale = std::chrono::seconds(10);
  auto cache = make(o);
  read(*cache);
  rpc->answer_nodes({"old"}, 5, std::chrono::seconds(30));
  scheduler.advance(Duration{0});
  ASSERT_EQ(rpc->calls.size(), 1u);  // the blocking refresh
  bool answered = true;
  read(*cache, &answered);
  EXPECT_FALSE(answered);
  ASSERT_EQ(rpc->calls.size(), 2u);
  EXPECT_EQ(rpc->calls[1].options.consistency, Consistency::leader);
  EXPECT_EQ(rpc->calls[1].options.min_index, 0u);
  rpc->calls.pop_front();  // leave the blocking one parked
  rpc->answer_nodes({"new"}, 6);
  EXPECT_EQ(*last, (std::vector<std::string>{"new"}));
}

TEST_F(CacheTest, FirstFetchErrorReachesTheReaderAndIsNotCached) {
  auto cache = make();
  read(*cache);
  rpc->fail_next();
  EXPECT_EQ(*last, (std::vector<std::string>{"error"}));
  EXPECT_EQ(cache->stats().entries, 0u);
  read(*cache);
  EXPECT_EQ(rpc->calls.size(), 1u);
}

TEST_F(CacheTest, RefreshErrorsKeepServingAndRetryWithBackoff) {
  Options o;
  o.retry_min = std::chrono::seconds(1);
  auto cache = primed(o);
  rpc->fail_next();
  EXPECT_EQ(read(*cache), (std::vector<std::string>{"n1"}));
  scheduler.advance(std::chrono::milliseconds(999));
  EXPECT_TRUE(rpc->calls.empty());
  scheduler.advance(std::chrono::milliseconds(1));
  ASSERT_EQ(rpc->calls.size(), 1u);
  rpc->fail_next();
  scheduler.advance(std::chrono::milliseconds(1999));
  EXPECT_TRUE(rpc->calls.empty());
  scheduler.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(rpc->calls.size(), 1u);
}

TEST_F(CacheTest, KeysTellQueriesApart) {
  EXPECT_NE(cache_key(HealthService{"web", {}, false}), cache_key(HealthService{"web", {"v1"}, false}));
  EXPECT_NE(cache_key(HealthService{"web", {}, false}), cache_key(HealthService{"web", {}, true}));
  EXPECT_NE(cache_key(HealthService{"web", {}, false}), cache_key(HealthService{"web", {}, false, true}));
  EXPECT_NE(cache_key(CatalogServiceNodes{"web", {}}), cache_key(CatalogServiceNodes{"web", {}, true}));
  EXPECT_NE(cache_key(CatalogNodeServices{"a"}), cache_key(CatalogNodeServices{"b"}));
  EXPECT_EQ(cache_key(KvGet{"k"}), "");
}

TEST_F(CacheTest, StopEndsRefreshing) {
  auto cache = primed();
  cache->stop();
  rpc->answer_nodes({"n1"}, 11);
  scheduler.advance(std::chrono::minutes(5));
  EXPECT_TRUE(rpc->calls.empty());
}

TEST_F(CacheTest, UseCacheOffAsksTheServersEveryTime) {
  Options o;
  o.use_cache = false;
  auto cache = make(o);
  for (int i = 0; i < 3; ++i) {
    bool answered = true;
    read(*cache, &answered);
    EXPECT_FALSE(answered);
    ASSERT_EQ(rpc->calls.size(), 1u);
    EXPECT_EQ(rpc->calls[0].options.consistency, Consistency::stale);
    EXPECT_EQ(rpc->calls[0].options.min_index, 0u);  // never a blocking query
    rpc->answer_nodes({"n" + std::to_string(i)}, 10 + i);
    EXPECT_EQ(*last, (std::vector<std::string>{"n" + std::to_string(i)}));
  }
  scheduler.advance(std::chrono::minutes(5));
  EXPECT_TRUE(rpc->calls.empty());  // nothing refreshes in the background
  auto s = cache->stats();
  EXPECT_EQ(s.hits, 0u);
  EXPECT_EQ(s.passed, 3u);
  EXPECT_EQ(s.entries, 0u);
}

TEST_F(CacheTest, UseCacheOffRetriesTooStaleAnswersOnTheLeader) {
  Options o;
  o.use_cache = false;
  o.max_stale = std::chrono::seconds(10);
  auto cache = make(o);
  read(*cache);
  rpc->answer_nodes({"old"}, 5, std::chrono::seconds(30));
  EXPECT_EQ(*last, (std::vector<std::string>{"pending"}));
  ASSERT_EQ(rpc->calls.size(), 1u);
  EXPECT_EQ(rpc->calls[0].options.consistency, Consistency::leader);
  rpc->answer_nodes({"new"}, 6);
  EXPECT_EQ(*last, (std::vector<std::string>{"new"}));
  // Within max_stale: served as it came.
  read(*cache);
  rpc->answer_nodes({"fresh-enough"}, 7, std::chrono::seconds(9));
  EXPECT_EQ(*last, (std::vector<std::string>{"fresh-enough"}));
  EXPECT_TRUE(rpc->calls.empty());
}

TEST_F(CacheTest, UseCacheOffWithoutAllowStaleAsksTheLeader) {
  Options o;
  o.use_cache = false;
  o.allow_stale = false;
  auto cache = make(o);
  read(*cache);
  ASSERT_EQ(rpc->calls.size(), 1u);
  EXPECT_EQ(rpc->calls[0].options.consistency, Consistency::leader);
}

TEST_F(CacheTest, MaxAgeRefetchesAnEntryNoServerConfirmedLately) {
  Options o;
  o.max_age = std::chrono::seconds(10);
  o.refresh_wait = std::chrono::seconds(60);
  auto cache = primed(o);
  ASSERT_EQ(rpc->calls.size(), 1u);
  EXPECT_EQ(rpc->calls[0].options.max_wait, std::chrono::seconds(5));  // max_age / 2
  // The servers stop answering: the blocking refresh stays parked.
  clock.advance(std::chrono::seconds(10));
  EXPECT_EQ(read(*cache), (std::vector<std::string>{"n1"}));  // exactly max_age old: served
  clock.advance(std::chrono::seconds(1));
  bool answered = true;
  read(*cache, &answered);
  EXPECT_FALSE(answered);  // too old: fetched again before it is served
  ASSERT_EQ(rpc->calls.size(), 2u);
  EXPECT_EQ(rpc->calls[1].options.min_index, 0u);  // a plain read, not a blocking one
  std::swap(rpc->calls[0], rpc->calls[1]);
  rpc->fail_next();
  EXPECT_EQ(*last, (std::vector<std::string>{"error"}));
  // A blocking answer confirms the value again: hits resume.
  rpc->answer_nodes({"n1"}, 10);
  scheduler.advance(Duration{0});
  EXPECT_EQ(read(*cache), (std::vector<std::string>{"n1"}));
}

}  // namespace
}  // namespace cairn::agent::cache
