#include "server/state/watch.h"

#include "test/server/state/fixture.h"

namespace cairn::server::state {
namespace {

// --- the registry alone ---

struct Counter {
  int fired = 0;
  WatchRegistry::Wake wake() {
    return [this] { ++fired; };
  }
};

void run(std::vector<WatchRegistry::Wake> wakes) {
  for (auto& w : wakes) w();
}

TEST(WatchRegistry, KeyWaiterWakesOnItsKeyOnly) {
  WatchRegistry reg;
  Counter a, b;
  reg.add({WatchKey::of_key(WatchTable::kv, "a")}, a.wake());
  reg.add({WatchKey::of_key(WatchTable::kv, "b")}, b.wake());
  TouchSet t;
  t.key(WatchTable::kv, "a");
  run(reg.collect(t));
  EXPECT_EQ(a.fired, 1);
  EXPECT_EQ(b.fired, 0);
  EXPECT_EQ(reg.size(), 1u);
}

TEST(WatchRegistry, PrefixWaiterWakesOnKeysUnderItOnly) {
  WatchRegistry reg;
  Counter web, all;
  reg.add({WatchKey::of_prefix(WatchTable::kv, "web/")}, web.wake());
  reg.add({WatchKey::of_prefix(WatchTable::kv, "")}, all.wake());
  TouchSet outside;
  outside.key(WatchTable::kv, "webx");
  run(reg.collect(outside));
  EXPECT_EQ(web.fired, 0);
  EXPECT_EQ(all.fired, 1);
  TouchSet inside;
  inside.key(WatchTable::kv, "web/a/b");
  run(reg.collect(inside));
  EXPECT_EQ(web.fired, 1);
}

TEST(WatchRegistry, PrefixWaiterIsNotWokenByAShorterKey) {
  WatchRegistry reg;
  Counter c;
  reg.add({WatchKey::of_prefix(WatchTable::kv, "web/a/")}, c.wake());
  TouchSet t;
  t.key(WatchTable::kv, "web/");
  run(reg.collect(t));
  EXPECT_EQ(c.fired, 0);
}

TEST(WatchRegistry, PrefixesOfOneTableIgnoreKeysOfAnother) {
  WatchRegistry reg;
  Counter c;
  reg.add({WatchKey::of_prefix(WatchTable::kv, "")}, c.wake());
  TouchSet t;
  t.key(WatchTable::nodes, "n1");
  run(reg.collect(t));
  EXPECT_EQ(c.fired, 0);
}

TEST(WatchRegistry, AWaiterOnManyKeysFiresOnceAndLeavesThemAll) {
  WatchRegistry reg;
  Counter c;
  reg.add({WatchKey::of_key(WatchTable::kv, "a"), WatchKey::of_service("web"), WatchKey::of_prefix(WatchTable::kv, "x")},
          c.wake());
  TouchSet t;
  t.key(WatchTable::kv, "a");
  t.key(WatchTable::kv, "xy");
  t.service("web");
  run(reg.collect(t));
  EXPECT_EQ(c.fired, 1);
  EXPECT_EQ(reg.size(), 0u);
  run(reg.collect(t));
  EXPECT_EQ(c.fired, 1);
}

TEST(WatchRegistry, RemovedWaiterNeverFires) {
  WatchRegistry reg;
  Counter c;
  auto id = reg.add({WatchKey::of_table(WatchTable::nodes)}, c.wake());
  EXPECT_TRUE(reg.remove(id));
  EXPECT_FALSE(reg.remove(id));
  TouchSet t;
  t.table(WatchTable::nodes);
  EXPECT_TRUE(reg.collect(t).empty());
  EXPECT_EQ(c.fired, 0);
}

TEST(WatchRegistry, TenThousandWaitersOnlyTheTouchedOneWakes) {
  WatchRegistry reg;
  int fired = 0;
  for (int i = 0; i < 10'000; ++i) {
    reg.add({WatchKey::of_key(WatchTable::kv, "key/" + std::to_string(i)),
             WatchKey::of_prefix(WatchTable::kv, "p/" + std::to_string(i) + "/")},
            [&fired] { ++fired; });
  }
  TouchSet t;
  t.key(WatchTable::kv, "p/42/x");
  auto wakes = reg.collect(t);
  ASSERT_EQ(wakes.size(), 1u);
  run(std::move(wakes));
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(reg.size(), 9'999u);
}

// --- the store's touch sets, through the registry ---

class StoreWatchTest : public StoreTest {
 protected:
  // Parks one waiter on `keys`, runs `write`, says whether it woke.
  template <typename Write>
  bool wakes(std::vector<WatchKey> keys, Write write) {
    WatchRegistry reg;
    int fired = 0;
    reg.add(keys, [&fired] { ++fired; });
    touched_ = TouchSet{};
    write();
    run(reg.collect(touched_));
    return fired == 1;
  }
};

TEST_F(StoreWatchTest, KvWriteWakesItsKeyAndCoveringPrefixes) {
  EXPECT_TRUE(wakes({WatchKey::of_key(WatchTable::kv, "web/a")}, [&] { put("web/a", "1"); }));
  EXPECT_TRUE(wakes({WatchKey::of_prefix(WatchTable::kv, "web/")}, [&] { put("web/b", "1"); }));
}

TEST_F(StoreWatchTest, KvWriteDoesNotWakeAnUnrelatedKey) {
  EXPECT_FALSE(wakes({WatchKey::of_key(WatchTable::kv, "web/a")}, [&] { put("web/b", "1"); }));
  EXPECT_FALSE(wakes({WatchKey::of_prefix(WatchTable::kv, "db/")}, [&] { put("web/b", "1"); }));
}

TEST_F(StoreWatchTest, KvWriteDoesNotWakeCatalogWaiters) {
  EXPECT_FALSE(wakes({WatchKey::of_table(WatchTable::nodes), WatchKey::of_service("web")}, [&] { put("a", "1"); }));
}

TEST_F(StoreWatchTest, FailedCasWakesNobody) {
  put("k", "1");
  EXPECT_FALSE(wakes({WatchKey::of_key(WatchTable::kv, "k")}, [&] { kv(KvOp::cas, "k", "2", {}, 99); }));
}

TEST_F(StoreWatchTest, DeleteTreeWakesWaitersOnDeletedKeys) {
  put("a/1", "x");
  put("a/b/2", "x");
  EXPECT_TRUE(wakes({WatchKey::of_prefix(WatchTable::kv, "a/b/")}, [&] { kv(KvOp::delete_tree, "a/"); }));
}

TEST_F(StoreWatchTest, ServiceRegistrationWakesThatServiceOnly) {
  EXPECT_TRUE(wakes({WatchKey::of_service("web")}, [&] { register_service("n1", "web", "web1"); }));
  EXPECT_FALSE(wakes({WatchKey::of_service("web")}, [&] { register_service("n1", "db", "db1"); }));
}

TEST_F(StoreWatchTest, ServiceWaiterMatchesNamesCaseInsensitively) {
  EXPECT_TRUE(wakes({WatchKey::of_service("web")}, [&] { register_service("n1", "Web", "w1"); }));
  EXPECT_TRUE(wakes({WatchKey::of_key(WatchTable::nodes, "N1")}, [&] { register_service("n1", "db", "d1"); }));
}

TEST_F(StoreWatchTest, ServiceWaiterWakesOnItsCheckAndNodeChecks) {
  register_service("n1", "web", "web1");
  EXPECT_TRUE(wakes({WatchKey::of_service("web")}, [&] { register_check("n1", "h", "passing", "web1"); }));
  EXPECT_TRUE(wakes({WatchKey::of_service("web")}, [&] { register_check("n1", "serfHealth", "passing"); }));
  EXPECT_FALSE(wakes({WatchKey::of_service("web")}, [&] { register_check("n2", "serfHealth", "passing"); }));
}

TEST_F(StoreWatchTest, UnchangedReRegistrationWakesNobody) {
  register_service("n1", "web", "web1");
  EXPECT_FALSE(wakes({WatchKey::of_service("web"), WatchKey::of_table(WatchTable::nodes)},
                     [&] { register_service("n1", "web", "web1"); }));
}

TEST_F(StoreWatchTest, CheckChangeWakesThatNodesHealthWaiters) {
  register_node("n1");
  EXPECT_TRUE(wakes({WatchKey::of_key(WatchTable::checks, "n1")}, [&] { register_check("n1", "c", "passing"); }));
  EXPECT_FALSE(wakes({WatchKey::of_key(WatchTable::checks, "n2")}, [&] { register_check("n1", "d", "passing"); }));
}

TEST_F(StoreWatchTest, NodeDeregistrationWakesNodeListAndItsServicesWaiters) {
  register_service("n1", "web", "web1");
  auto dereg = [&] {
    api::DeregisterRequest d;
    d.node = "n1";
    ASSERT_TRUE(store_->catalog_deregister(next(), d, at_seconds(0), touched_).ok());
  };
  EXPECT_TRUE(wakes({WatchKey::of_table(WatchTable::nodes)}, dereg));
  register_service("n1", "web", "web1");
  EXPECT_TRUE(wakes({WatchKey::of_service("web")}, dereg));
}

TEST_F(StoreWatchTest, NodeServicesWatchWakesOnAServiceOfThatNodeOnly) {
  register_node("n1");
  register_node("n2");
  EXPECT_TRUE(wakes(watch_for::catalog_node("n1"), [&] { register_service("n1", "web", "w1"); }));
  EXPECT_FALSE(wakes(watch_for::catalog_node("n1"), [&] { register_service("n2", "web", "w2"); }));
}

TEST_F(StoreWatchTest, ChecksInStateWatchWakesOnAnyCheckChange) {
  EXPECT_TRUE(wakes(watch_for::checks_in_state(), [&] { register_check("n9", "c", "warning"); }));
  EXPECT_FALSE(wakes(watch_for::checks_in_state(), [&] { register_service("n9", "web", "w"); }));
}

TEST_F(StoreWatchTest, NodeSessionsWatchWakesOnASessionOfThatNode) {
  register_agent_node("n1");
  EXPECT_TRUE(wakes(watch_for::node_sessions("n1"), [&] { create_session("s1", "n1"); }));
  EXPECT_TRUE(wakes(watch_for::sessions(), [&] { create_session("s2", "n1"); }));
  EXPECT_FALSE(wakes(watch_for::session("s1"), [&] { create_session("s3", "n1"); }));
}

TEST_F(StoreWatchTest, CatalogListsWakeOnlyOnTheirTable) {
  register_node("n1");
  EXPECT_TRUE(wakes(watch_for::catalog_services(), [&] { register_service("n1", "web", "w1"); }));
  EXPECT_FALSE(wakes(watch_for::catalog_nodes(), [&] { register_service("n1", "db", "d1"); }));
}

TEST_F(StoreWatchTest, SessionDestroyWakesSessionAndHeldKeyWaiters) {
  register_agent_node("n1");
  create_session("s1", "n1");
  kv(KvOp::lock, "lock", "v", "s1");
  auto destroy = [&] { ASSERT_TRUE(store_->session_destroy(next(), "s1", at_seconds(0), touched_).ok()); };
  EXPECT_TRUE(wakes({WatchKey::of_key(WatchTable::kv, "lock")}, destroy));
  create_session("s2", "n1");
  EXPECT_TRUE(wakes({WatchKey::of_key(WatchTable::sessions, "s2")}, [&] {
    ASSERT_TRUE(store_->session_destroy(next(), "s2", at_seconds(0), touched_).ok());
  }));
  EXPECT_FALSE(wakes({WatchKey::of_key(WatchTable::session_nodes, "n2")}, [&] { create_session("s3", "n1"); }));
}

}  // namespace
}  // namespace cairn::server::state
