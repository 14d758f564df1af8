// SyncDriver over a ManualScheduler and a scripted FakeRpc: full sync at
// start and on the period, partial syncs after changes, backoff and catch-up
// when no server answers, the reaper. No sockets, no sleeping.
#include <gtest/gtest.h>

#include "agent/local/sync.h"
#include "api/json.h"
#include "test/agent/fake_rpc.h"
#include "test/agent/local/fake_runner.h"
#include "test/agent/local/helpers.h"

namespace cairn::agent::local::test {
namespace {

using namespace std::chrono_literals;
using namespace api::rpc;
using agent::test::FakeRpc;

struct Fixture {
  Fixture() {
    state.set_on_change([this] {
      if (driver) driver->trigger_partial();
    });
    SyncDriver::Deps deps;
    deps.local = &state;
    deps.scheduler = &sched;
    deps.rng = &rng;
    deps.clock = &clock;
    deps.rpc = [this]() -> std::shared_ptr<Handler> { return server_up ? rpc : nullptr; };
    deps.cluster_size = [this] { return nodes; };
    deps.self = [] { return identity("127.0.0.1"); };
    driver = SyncDriver::create(deps, options);
  }
  // Runs everything due now (Handler answers hop through the scheduler).
  void drain() { sched.advance(0s); }
  // Scripts a catalog that has exactly `services` and `checks` for our node.
  void answer_full(std::vector<api::NodeService> services = {}, std::vector<api::HealthCheck> checks = {},
                   bool node_known = true) {
    std::optional<api::NodeServices> ns;
    if (node_known) ns = api::NodeServices{catalog_node(identity("127.0.0.1")), std::move(services)};
    rpc->answer<CatalogNodeServices>(ns);
    rpc->answer<HealthNode>(std::move(checks));
  }
  void answer_writes(int n) {
    for (int i = 0; i < n; ++i) rpc->write_results.push_back(WriteResponse{7, make_value<CatalogRegister, WriteValue>(true)});
  }

  ManualClock clock;
  ManualScheduler sched{clock};
  SeededRng rng{42};
  LocalState state{LocalStateOptions{"node-a", &clock, nullptr, nullptr, 4096}};
  std::shared_ptr<FakeRpc> rpc = std::make_shared<FakeRpc>();
  bool server_up = true;
  size_t nodes = 1;
  SyncOptions options;
  std::shared_ptr<SyncDriver> driver;
};

TEST(AeScale, FollowsConsul) {
  EXPECT_EQ(ae_scale_factor(1), 1);
  EXPECT_EQ(ae_scale_factor(128), 1);
  EXPECT_EQ(ae_scale_factor(129), 2);
  EXPECT_EQ(ae_scale_factor(256), 2);
  EXPECT_EQ(ae_scale_factor(257), 3);
  EXPECT_EQ(ae_scale_factor(4096), 6);
}

TEST(AeScale, DelayIsTheScaledIntervalPlusAStagger) {
  SeededRng rng(1);
  for (int i = 0; i < 100; ++i) {
    Duration d = full_sync_delay(60s, 300, rng);  // scale 3
    EXPECT_GE(d, 180s);
    EXPECT_LT(d, 360s);
  }
}

TEST(SyncDriver, StartRegistersTheNodeAndLocalServices) {
  Fixture f;
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web","Check":{"TTL":"10s"}})"), Origin::api, "tok").ok());
  f.answer_full({}, {}, false);
  f.answer_writes(2);
  f.driver->start();
  f.drain();
  ASSERT_EQ(f.rpc->queries.size(), 2u);
  EXPECT_EQ(std::get<CatalogNodeServices>(f.rpc->queries[0].query).node, "node-a");
  EXPECT_EQ(std::get<HealthNode>(f.rpc->queries[1].query).node, "node-a");
  ASSERT_EQ(f.rpc->writes.size(), 2u);
  EXPECT_FALSE(std::get<CatalogRegister>(f.rpc->writes[0].write).request.service);  // the node first
  const auto& r = std::get<CatalogRegister>(f.rpc->writes[1].write).request;
  ASSERT_TRUE(r.service);
  EXPECT_EQ(r.service->id, "web");
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(f.rpc->writes[1].options.token, "tok");
  EXPECT_TRUE(f.driver->node_in_sync());
  EXPECT_TRUE(f.state.service("web")->in_sync());
  EXPECT_TRUE(f.state.check("service:web")->in_sync());
  EXPECT_EQ(f.driver->full_syncs_done(), 1u);
}

TEST(SyncDriver, ChangesArePushedByAPartialSync) {
  Fixture f;
  f.answer_full();
  f.driver->start();
  f.drain();
  EXPECT_TRUE(f.rpc->writes.empty());
  f.answer_writes(1);
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web"})"), Origin::api, "").ok());
  f.drain();
  ASSERT_EQ(f.rpc->writes.size(), 1u);
  EXPECT_EQ(std::get<CatalogRegister>(f.rpc->writes[0].write).request.service->id, "web");
  EXPECT_EQ(f.rpc->queries.size(), 2u);  // no reads for a partial sync
  EXPECT_TRUE(f.state.service("web")->in_sync());

  f.rpc->write_results.push_back(WriteResponse{8, make_value<CatalogDeregister, WriteValue>(true)});
  ASSERT_TRUE(f.state.remove_service("web").ok());
  f.drain();
  ASSERT_EQ(f.rpc->writes.size(), 2u);
  EXPECT_EQ(std::get<CatalogDeregister>(f.rpc->writes[1].write).request.service_id, "web");
  EXPECT_TRUE(f.state.snapshot().deleted_services.empty());
}

TEST(SyncDriver, ChangesWhileASyncRunsAreCoalesced) {
  Fixture f;
  f.answer_full();
  f.driver->start();
  f.drain();
  // The write is parked (no scripted answer): the sync is in flight.
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"a"})"), Origin::api, "").ok());
  f.drain();
  ASSERT_EQ(f.rpc->writes.size(), 1u);
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"b"})"), Origin::api, "").ok());
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"c"})"), Origin::api, "").ok());
  f.drain();
  EXPECT_EQ(f.rpc->writes.size(), 1u);
  f.answer_writes(2);
  f.rpc->writes[0].done(WriteResponse{7, make_value<CatalogRegister, WriteValue>(true)});
  f.drain();
  ASSERT_EQ(f.rpc->writes.size(), 3u);  // b and c in one more partial sync
  EXPECT_EQ(std::get<CatalogRegister>(f.rpc->writes[1].write).request.service->id, "b");
  EXPECT_EQ(std::get<CatalogRegister>(f.rpc->writes[2].write).request.service->id, "c");
  for (const auto& s : f.state.services()) EXPECT_TRUE(s.in_sync()) << s.service.id;
}

TEST(SyncDriver, FullSyncRepeatsOnThePeriodAndRepairsTheCatalog) {
  Fixture f;
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web"})"), Origin::api, "").ok());
  api::NodeService web;
  web.id = web.service = "web";
  f.answer_full({web});
  f.driver->start();
  f.drain();
  EXPECT_TRUE(f.rpc->writes.empty());
  EXPECT_TRUE(f.state.service("web")->in_sync());
  // Someone deregistered it behind our back; the next full sync puts it back.
  f.answer_full({});
  f.answer_writes(1);
  f.sched.advance(59s);
  EXPECT_EQ(f.rpc->queries.size(), 2u);  // not before the interval
  f.sched.advance(61s);                   // interval + at most the stagger
  ASSERT_EQ(f.rpc->queries.size(), 4u);
  ASSERT_EQ(f.rpc->writes.size(), 1u);
  EXPECT_EQ(std::get<CatalogRegister>(f.rpc->writes[0].write).request.service->id, "web");
  EXPECT_EQ(f.driver->full_syncs_done(), 2u);
}

TEST(SyncDriver, NoServerBacksOffAndCatchesUpWhenOneReturns) {
  Fixture f;
  f.server_up = false;
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web"})"), Origin::api, "").ok());
  f.driver->start();
  f.drain();
  EXPECT_TRUE(f.driver->backing_off());
  EXPECT_TRUE(f.rpc->queries.empty());
  // A change while backing off waits for the retry.
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"db"})"), Origin::api, "").ok());
  f.drain();
  EXPECT_TRUE(f.rpc->writes.empty());
  f.sched.advance(2s);  // first retry (1 s + jitter): still nobody
  EXPECT_TRUE(f.driver->backing_off());
  f.server_up = true;
  f.answer_full({}, {}, false);
  f.answer_writes(3);
  f.sched.advance(4s);  // second retry (2 s + jitter)
  EXPECT_FALSE(f.driver->backing_off());
  EXPECT_EQ(f.rpc->writes.size(), 3u);  // node, db, web
  EXPECT_TRUE(f.state.service("web")->in_sync());
  EXPECT_TRUE(f.state.service("db")->in_sync());
}

TEST(SyncDriver, AFailedWriteRetriesWithAFullSync) {
  Fixture f;
  f.answer_full();
  f.driver->start();
  f.drain();
  f.rpc->fail_write(Error(errc::unavailable, "No cluster leader"));
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web"})"), Origin::api, "").ok());
  f.drain();
  EXPECT_TRUE(f.driver->backing_off());
  EXPECT_FALSE(f.state.service("web")->in_sync());
  f.answer_full();
  f.answer_writes(1);
  f.sched.advance(2s);
  EXPECT_TRUE(f.state.service("web")->in_sync());
}

TEST(SyncDriver, ARefusedWriteIsSkippedAndTheRestSync) {
  Fixture f;
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"a"})"), Origin::api, "").ok());
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"b"})"), Origin::api, "").ok());
  f.answer_full();
  f.rpc->fail_write(Error(errc::permission_denied, "Permission denied"));
  f.answer_writes(1);
  f.driver->start();
  f.drain();
  EXPECT_FALSE(f.driver->backing_off());
  EXPECT_FALSE(f.state.service("a")->in_sync());
  EXPECT_TRUE(f.state.service("b")->in_sync());
}

TEST(SyncDriver, ReaperRunsOnItsPeriod) {
  Fixture f;
  f.answer_full();
  f.answer_writes(1);
  ASSERT_TRUE(f.state.add_service(
      def(R"({"Name":"web","Check":{"TTL":"10s","DeregisterCriticalServiceAfter":"10s"}})"), Origin::api, "").ok());
  f.driver->start();
  f.drain();
  EXPECT_TRUE(f.state.service("web"));
  f.rpc->write_results.push_back(WriteResponse{8, make_value<CatalogDeregister, WriteValue>(true)});
  f.sched.advance(16s);
  EXPECT_FALSE(f.state.service("web"));
  EXPECT_EQ(std::get<CatalogDeregister>(f.rpc->writes.back().write).request.service_id, "web");
}

TEST(SyncDriver, StopCancelsTheTimers) {
  Fixture f;
  f.answer_full();
  f.driver->start();
  f.drain();
  f.driver->stop();
  f.drain();
  f.sched.advance(10min);
  EXPECT_EQ(f.rpc->queries.size(), 2u);
}

}  // namespace
}  // namespace cairn::agent::local::test
