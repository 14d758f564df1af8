// LocalState: registration rules, check IDs, statuses, maintenance, the
// critical-service reaper and reload, with a fake runner.
#include <gtest/gtest.h>

#include "agent/local/local_state.h"
#include "api/json.h"
#include "test/agent/local/fake_runner.h"
#include "test/agent/local/helpers.h"

namespace cairn::agent::local::test {
namespace {

using namespace std::chrono_literals;

struct Fixture {
  Fixture() {
    state.set_runner(&runner);
    state.set_on_change([this] { ++changes; });
  }
  ManualClock clock;
  FakeRunner runner;
  LocalState state{LocalStateOptions{"node-a", &clock, nullptr, nullptr, 10}};
  int changes = 0;
};

TEST(LocalState, ServiceIdDefaultsToItsNameAndWeightsToOne) {
  Fixture f;
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web","Port":80})"), Origin::api, "tok").ok());
  auto s = f.state.service("web");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->service.service, "web");
  EXPECT_EQ(s->service.weights, (api::Weights{1, 1}));
  EXPECT_EQ(s->token, "tok");
  EXPECT_EQ(s->origin, Origin::api);
  EXPECT_FALSE(s->in_sync());
  EXPECT_EQ(f.changes, 1);
}

TEST(LocalState, ServiceWithoutNameIsRefusedNamingTheField) {
  Fixture f;
  auto st = f.state.add_service(def(R"({"ID":"x"})"), Origin::api, "");
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().is(errc::invalid_argument));
  EXPECT_EQ(st.error().message(), "Missing service name");
  st = f.state.add_service(def(R"({"Name":"x","Port":70000})"), Origin::api, "");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("Port"), std::string::npos);
  EXPECT_TRUE(f.state.services().empty());
  EXPECT_EQ(f.changes, 0);
}

TEST(LocalState, ServiceCheckIdsFollowConsul) {
  Fixture f;
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web","ID":"web/1","Check":{"TTL":"10s"}})"), Origin::api, "").ok());
  auto c = f.state.check("service:web/1");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->check.service_id, "web/1");
  EXPECT_EQ(c->check.service_name, "web");
  EXPECT_EQ(c->check.status, "critical");
  EXPECT_EQ(c->check.type, "ttl");
  EXPECT_EQ(c->check.name, "Service 'web' check");
  ASSERT_TRUE(f.runner.running.count("service:web/1"));

  ASSERT_TRUE(f.state.add_service(
      def(R"({"Name":"db","Checks":[{"TTL":"10s"},{"TCP":"127.0.0.1:1","Interval":"5s","FailuresBeforeCritical":3}]})"),
      Origin::api, "").ok());
  EXPECT_TRUE(f.state.check("service:db:1"));
  auto c2 = f.state.check("service:db:2");
  ASSERT_TRUE(c2);
  EXPECT_EQ(c2->definition.failures_before_critical, 3);
  EXPECT_EQ(f.runner.running["service:db:2"].failures_before_critical, 3);
}

TEST(LocalState, AnInvalidCheckLeavesTheServiceUnregistered) {
  Fixture f;
  auto st = f.state.add_service(def(R"({"Name":"web","Check":{"HTTP":"http://x/"}})"), Origin::api, "");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("Interval"), std::string::npos);
  EXPECT_FALSE(f.state.service("web"));
  EXPECT_TRUE(f.runner.running.empty());
}

TEST(LocalState, RunnerRefusalIsAnInvalidArgumentAndRollsBack) {
  Fixture f;
  f.runner.refuse_id = "service:web:2";
  auto st = f.state.add_service(def(R"({"Name":"web","Checks":[{"TTL":"1s"},{"TTL":"2s"}]})"), Origin::api, "");
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().is(errc::invalid_argument));
  EXPECT_EQ(st.error().message(), "refused: service:web:2");
  EXPECT_TRUE(f.runner.running.empty());  // the first one was stopped again
  EXPECT_FALSE(f.state.service("web"));
}

TEST(LocalState, ReRegistrationKeepsOtherChecksUnlessReplacing) {
  Fixture f;
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web","Check":{"TTL":"10s"}})"), Origin::api, "").ok());
  ASSERT_TRUE(f.state.add_check(check_def(R"({"Name":"extra","TTL":"5s","ServiceID":"web"})"), Origin::api, "").ok());
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web","Tags":["v2"]})"), Origin::api, "").ok());
  EXPECT_TRUE(f.state.check("service:web"));
  auto extra = f.state.check("extra");
  ASSERT_TRUE(extra);
  EXPECT_EQ(extra->check.service_tags, std::vector<std::string>{"v2"});
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web","Tags":["v2"]})"), Origin::api, "", true).ok());
  EXPECT_FALSE(f.state.check("service:web"));
  EXPECT_FALSE(f.state.check("extra"));
  EXPECT_FALSE(f.runner.running.count("extra"));
}

TEST(LocalState, ReRegisteringTheSameThingChangesNothing) {
  Fixture f;
  auto d = def(R"({"Name":"web","Check":{"TTL":"10s"}})");
  ASSERT_TRUE(f.state.add_service(d, Origin::api, "").ok());
  uint64_t rev = f.state.service("web")->revision;
  ASSERT_TRUE(f.state.add_service(d, Origin::api, "").ok());
  EXPECT_EQ(f.state.service("web")->revision, rev);
  EXPECT_EQ(f.changes, 1);
}

TEST(LocalState, ReRegistrationKeepsTheCheckStatus) {
  Fixture f;
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web","Check":{"TTL":"10s"}})"), Origin::api, "").ok());
  ASSERT_TRUE(f.state.update_status("service:web", "passing", "ok").ok());
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web","Port":81,"Check":{"TTL":"10s"}})"), Origin::api, "").ok());
  EXPECT_EQ(f.state.check("service:web")->check.status, "passing");
}

TEST(LocalState, CheckForAnUnknownServiceIsRefused) {
  Fixture f;
  auto st = f.state.add_check(check_def(R"({"Name":"c","TTL":"5s","ServiceID":"x"})"), Origin::api, "");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "ServiceID \"x\" does not exist");
  st = f.state.add_check(check_def(R"({"TTL":"5s"})"), Origin::api, "");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "Missing check name");
  st = f.state.add_check(check_def(R"({"Name":"c","TTL":"5s","Status":"bogus"})"), Origin::api, "");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("bogus"), std::string::npos);
}

TEST(LocalState, NodeCheckIdDefaultsToItsNameAndStatusToCritical) {
  Fixture f;
  ASSERT_TRUE(f.state.add_check(check_def(R"({"Name":"mem","TTL":"5s"})"), Origin::api, "").ok());
  auto c = f.state.check("mem");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->check.status, "critical");
  EXPECT_EQ(c->check.node, "node-a");
  ASSERT_TRUE(f.state.add_check(check_def(R"({"Name":"up","ID":"up1","TTL":"5s","Status":"passing"})"), Origin::api, "").ok());
  EXPECT_EQ(f.state.check("up1")->check.status, "passing");
}

TEST(LocalState, RemovingAServiceRemovesItsChecksAndLeavesATombstone) {
  Fixture f;
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web","Check":{"TTL":"10s"}})"), Origin::api, "").ok());
  ASSERT_TRUE(f.state.remove_service("web").ok());
  EXPECT_FALSE(f.state.check("service:web"));
  EXPECT_EQ(f.runner.removed, std::vector<std::string>{"service:web"});
  auto snap = f.state.snapshot();
  EXPECT_TRUE(snap.deleted_services.count("web"));
  EXPECT_FALSE(snap.deleted_checks.count("service:web"));  // the catalog drops them with the service
  auto st = f.state.remove_service("web");
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().is(errc::not_found));
  st = f.state.remove_check("nope");
  EXPECT_TRUE(st.error().is(errc::not_found));
}

TEST(LocalState, ReAddingClearsTheTombstone) {
  Fixture f;
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web"})"), Origin::api, "").ok());
  ASSERT_TRUE(f.state.remove_service("web").ok());
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web"})"), Origin::api, "").ok());
  EXPECT_TRUE(f.state.snapshot().deleted_services.empty());
}

TEST(LocalState, StatusUpdatesTruncateOutputAndSkipNoChange) {
  Fixture f;
  ASSERT_TRUE(f.state.add_check(check_def(R"({"Name":"mem","TTL":"5s"})"), Origin::api, "").ok());
  int before = f.changes;
  ASSERT_TRUE(f.state.update_status("mem", "passing", "0123456789abcdef").ok());
  EXPECT_EQ(f.state.check("mem")->check.output, "0123456789");
  EXPECT_EQ(f.changes, before + 1);
  ASSERT_TRUE(f.state.update_status("mem", "passing", "0123456789").ok());
  EXPECT_EQ(f.changes, before + 1);
  EXPECT_TRUE(f.state.update_status("nope", "passing", "").error().is(errc::not_found));
  EXPECT_TRUE(f.state.update_status("mem", "maybe", "").error().is(errc::invalid_argument));
}

TEST(LocalState, TtlUpdatesGoThroughTheRunner) {
  Fixture f;
  ASSERT_TRUE(f.state.add_check(check_def(R"({"Name":"mem","TTL":"5s"})"), Origin::api, "").ok());
  ASSERT_TRUE(f.state.update_ttl("mem", "warning", "hmm").ok());
  ASSERT_EQ(f.runner.ttl_updates.size(), 1u);
  EXPECT_EQ(f.state.check("mem")->check.status, "warning");
  ASSERT_TRUE(f.state.add_check(check_def(R"({"Name":"tcp","TCP":"127.0.0.1:1","Interval":"5s"})"), Origin::api, "").ok());
  auto st = f.state.update_ttl("tcp", "passing", "");
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().is(errc::not_found));
  EXPECT_TRUE(f.state.update_ttl("nope", "passing", "").error().is(errc::not_found));
}

TEST(LocalState, NodeMaintenanceIsACriticalCheckWithTheReason) {
  Fixture f;
  ASSERT_TRUE(f.state.set_node_maintenance(true, "patching", "").ok());
  auto c = f.state.check("_node_maintenance");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->check.status, "critical");
  EXPECT_EQ(c->check.notes, "patching");
  EXPECT_EQ(c->check.name, "Node Maintenance Mode");
  EXPECT_TRUE(f.runner.running.empty());
  ASSERT_TRUE(f.state.set_node_maintenance(false, "", "").ok());
  EXPECT_FALSE(f.state.check("_node_maintenance"));
  ASSERT_TRUE(f.state.set_node_maintenance(true, "", "").ok());
  EXPECT_EQ(f.state.check("_node_maintenance")->check.notes, kDefaultNodeMaintReason);
}

TEST(LocalState, ServiceMaintenanceNamesTheServiceAndNeedsIt) {
  Fixture f;
  EXPECT_TRUE(f.state.set_service_maintenance("web", true, "", "").error().is(errc::not_found));
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web","Tags":["a"]})"), Origin::api, "").ok());
  ASSERT_TRUE(f.state.set_service_maintenance("web", true, "deploy", "").ok());
  auto c = f.state.check("_service_maintenance:web");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->check.service_id, "web");
  EXPECT_EQ(c->check.service_name, "web");
  EXPECT_EQ(c->check.notes, "deploy");
  // Re-registration without replace keeps maintenance; with replace too.
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web","Tags":["b"]})"), Origin::api, "", true).ok());
  EXPECT_TRUE(f.state.check("_service_maintenance:web"));
  EXPECT_EQ(f.state.service_checks("web", false).size(), 1u);
  ASSERT_TRUE(f.state.set_service_maintenance("web", false, "", "").ok());
  EXPECT_TRUE(f.state.service_checks("web", false).empty());
}

TEST(LocalState, ReaperRemovesServicesCriticalForTooLong) {
  Fixture f;
  ASSERT_TRUE(f.state.add_service(
      def(R"({"Name":"web","Check":{"TTL":"10s","DeregisterCriticalServiceAfter":"1m"}})"), Origin::api, "").ok());
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"db","Check":{"TTL":"10s"}})"), Origin::api, "").ok());
  f.clock.advance(30s);
  EXPECT_TRUE(f.state.reap_critical(f.clock.now()).empty());
  ASSERT_TRUE(f.state.update_status("service:web", "passing", "").ok());
  f.clock.advance(60s);
  EXPECT_TRUE(f.state.reap_critical(f.clock.now()).empty());  // passing resets the clock
  ASSERT_TRUE(f.state.update_status("service:web", "critical", "").ok());
  f.clock.advance(59s);
  EXPECT_TRUE(f.state.reap_critical(f.clock.now()).empty());
  f.clock.advance(2s);
  EXPECT_EQ(f.state.reap_critical(f.clock.now()), std::vector<std::string>{"web"});
  EXPECT_FALSE(f.state.service("web"));
  EXPECT_TRUE(f.state.service("db"));  // no deregister_critical_service_after
}

TEST(LocalState, ApplyConfigAddsReplacesAndRemovesOnlyConfigEntries) {
  Fixture f;
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"api-svc"})"), Origin::api, "").ok());
  ASSERT_TRUE(f.state.apply_config({def(R"({"Name":"a"})"), def(R"({"Name":"b","Check":{"TTL":"5s"}})")},
                                   {check_def(R"({"Name":"disk","TTL":"5s"})")})
                  .ok());
  EXPECT_EQ(f.state.service("a")->origin, Origin::config);
  EXPECT_EQ(f.runner.origins["service:b"], Origin::config);
  EXPECT_TRUE(f.state.check("disk"));
  uint64_t a_rev = f.state.service("a")->revision;
  ASSERT_TRUE(f.state.apply_config({def(R"({"Name":"a"})"), def(R"({"Name":"c","Port":9})")}, {}).ok());
  EXPECT_EQ(f.state.service("a")->revision, a_rev);  // unchanged, untouched
  EXPECT_FALSE(f.state.service("b"));
  EXPECT_FALSE(f.state.check("service:b"));
  EXPECT_FALSE(f.state.check("disk"));
  EXPECT_TRUE(f.state.service("c"));
  EXPECT_TRUE(f.state.service("api-svc"));
  // Config wins on an ID clash with an API registration.
  ASSERT_TRUE(f.state.apply_config({def(R"({"Name":"api-svc","Port":1})")}, {}).ok());
  EXPECT_EQ(f.state.service("api-svc")->origin, Origin::config);
}

TEST(LocalState, SyncMarksOnlyApplyToTheRevisionThatWasSent) {
  Fixture f;
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web"})"), Origin::api, "").ok());
  uint64_t sent = f.state.service("web")->revision;
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web","Port":2})"), Origin::api, "").ok());
  f.state.mark_service_synced("web", sent);
  EXPECT_FALSE(f.state.service("web")->in_sync());
  f.state.mark_service_synced("web", f.state.service("web")->revision);
  EXPECT_TRUE(f.state.service("web")->in_sync());
  f.state.mark_all_out_of_sync();
  EXPECT_FALSE(f.state.service("web")->in_sync());
}

TEST(LocalState, HasServiceNamed) {
  Fixture f;
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web","ID":"w1"})"), Origin::api, "").ok());
  EXPECT_TRUE(f.state.has_service_named("web"));
  EXPECT_FALSE(f.state.has_service_named("w1"));
}

TEST(LocalState, UserEventFiltersMatchLocalServices) {
  Fixture f;
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"web","ID":"web-eu","Tags":["primary","v2"]})"), Origin::api, "").ok());
  auto services = f.state.services();
  EXPECT_TRUE(user_event_matches(services, "^web$", ""));
  EXPECT_TRUE(user_event_matches(services, "eu", ""));  // the ID counts too, as in Consul
  EXPECT_TRUE(user_event_matches(services, "web", "^prim"));
  EXPECT_FALSE(user_event_matches(services, "web", "secondary"));
  EXPECT_FALSE(user_event_matches(services, "db", ""));
  EXPECT_FALSE(user_event_matches(services, "(", ""));  // does not compile: nothing matches
  EXPECT_FALSE(user_event_matches({}, ".*", ""));
}

}  // namespace
}  // namespace cairn::agent::local::test
