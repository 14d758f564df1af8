// The anti-entropy planner: every case of local vs catalog.
#include <gtest/gtest.h>

#include "agent/local/sync_plan.h"
#include "test/agent/local/helpers.h"

namespace cairn::agent::local::test {
namespace {

using namespace api::rpc;
using Kind = SyncMark::Kind;

NodeIdentity self() {
  NodeIdentity n = identity();
  n.meta = {{"rack", "r1"}};
  return n;
}

api::Node remote_node() {
  api::Node n = catalog_node(self());
  n.raft = {5, 9};
  return n;
}

api::NodeService svc(const std::string& id, int port = 80) {
  api::NodeService s;
  s.id = id;
  s.service = id;
  s.port = port;
  return s;
}

api::HealthCheck chk(const std::string& id, const std::string& service_id, const std::string& status = "passing") {
  api::HealthCheck c;
  c.node = "node-a";
  c.check_id = id;
  c.name = id;
  c.status = status;
  c.service_id = service_id;
  c.service_name = service_id;
  c.type = "ttl";
  return c;
}

void add(Snapshot& s, api::NodeService service, uint64_t rev, bool synced = false) {
  LocalService ls;
  ls.service = std::move(service);
  ls.revision = rev;
  ls.synced_revision = synced ? rev : 0;
  ls.token = "t-" + ls.service.id;
  s.services[ls.service.id] = ls;
}

void add(Snapshot& s, api::HealthCheck check, uint64_t rev, bool synced = false) {
  LocalCheck lc;
  lc.check = std::move(check);
  lc.revision = rev;
  lc.synced_revision = synced ? rev : 0;
  s.checks[lc.check.check_id] = lc;
}

RemoteState remote_with(std::vector<api::NodeService> services, std::vector<api::HealthCheck> checks) {
  RemoteState r;
  r.node = remote_node();
  for (auto& s : services) s.raft = {3, 4};
  for (auto& c : checks) c.raft = {3, 4};
  r.services = std::move(services);
  r.checks = std::move(checks);
  return r;
}

const CatalogRegister* reg(const SyncOp& op) { return std::get_if<CatalogRegister>(&op.write); }
const CatalogDeregister* dereg(const SyncOp& op) { return std::get_if<CatalogDeregister>(&op.write); }

bool has_mark(const std::vector<SyncMark>& marks, Kind k, const std::string& id) {
  for (const auto& m : marks)
    if (m.kind == k && m.id == id) return true;
  return false;
}

TEST(SyncPlan, EverythingInSyncWritesNothing) {
  Snapshot s;
  add(s, svc("web"), 1);
  add(s, chk("service:web", "web"), 2);
  auto plan = plan_full(s, remote_with({svc("web")}, {chk("service:web", "web")}), self());
  EXPECT_TRUE(plan.writes.empty());
  EXPECT_TRUE(has_mark(plan.in_sync, Kind::service, "web"));
  EXPECT_TRUE(has_mark(plan.in_sync, Kind::check, "service:web"));
  EXPECT_TRUE(has_mark(plan.in_sync, Kind::node, ""));
}

TEST(SyncPlan, MissingNodeIsRegisteredFirstWithItsAddressesAndMeta) {
  Snapshot s;
  RemoteState r;  // nothing in the catalog
  auto plan = plan_full(s, r, self());
  ASSERT_EQ(plan.writes.size(), 1u);
  auto* w = reg(plan.writes[0]);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->request.node, "node-a");
  EXPECT_EQ(w->request.id, self().id);
  EXPECT_EQ(w->request.address, "10.0.0.5");
  EXPECT_EQ(w->request.tagged_addresses.at("lan"), "10.0.0.5");
  EXPECT_EQ(w->request.tagged_addresses.at("wan_ipv4"), "10.0.0.5");
  EXPECT_EQ(w->request.node_meta.at("rack"), "r1");
  EXPECT_FALSE(w->request.skip_node_update);
  EXPECT_FALSE(w->request.service);
  EXPECT_TRUE(has_mark(plan.writes[0].marks, Kind::node, ""));
}

TEST(SyncPlan, ChangedNodeMetaIsRegisteredAgain) {
  auto r = remote_with({}, {});
  r.node->meta = {{"rack", "r2"}};
  auto plan = plan_full({}, r, self());
  ASSERT_EQ(plan.writes.size(), 1u);
  EXPECT_EQ(reg(plan.writes[0])->request.node_meta.at("rack"), "r1");
}

TEST(SyncPlan, MissingServiceIsRegisteredWithItsChecksAndToken) {
  Snapshot s;
  add(s, svc("web"), 1);
  add(s, chk("service:web", "web"), 2);
  add(s, chk("mem", ""), 3, true);
  auto plan = plan_full(s, remote_with({}, {chk("mem", "")}), self());
  ASSERT_EQ(plan.writes.size(), 1u);
  auto* w = reg(plan.writes[0]);
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->request.service);
  EXPECT_EQ(w->request.service->id, "web");
  ASSERT_EQ(w->request.checks.size(), 1u);
  EXPECT_EQ(w->request.checks[0].check_id, "service:web");
  EXPECT_TRUE(w->request.skip_node_update);
  EXPECT_EQ(plan.writes[0].token, "t-web");
  EXPECT_TRUE(has_mark(plan.writes[0].marks, Kind::service, "web"));
  EXPECT_TRUE(has_mark(plan.writes[0].marks, Kind::check, "service:web"));
  EXPECT_TRUE(has_mark(plan.in_sync, Kind::check, "mem"));
}

TEST(SyncPlan, ChangedServiceIsRegisteredAgain) {
  Snapshot s;
  add(s, svc("web", 81), 1, true);  // flagged in sync, but the catalog differs: full sync finds it
  auto plan = plan_full(s, remote_with({svc("web", 80)}, {}), self());
  ASSERT_EQ(plan.writes.size(), 1u);
  EXPECT_EQ(reg(plan.writes[0])->request.service->port, 81);
  EXPECT_FALSE(has_mark(plan.in_sync, Kind::service, "web"));
}

TEST(SyncPlan, CheckStatusDriftIsRegisteredAlone) {
  Snapshot s;
  add(s, svc("web"), 1);
  add(s, chk("service:web", "web", "critical"), 2);
  auto plan = plan_full(s, remote_with({svc("web")}, {chk("service:web", "web", "passing")}), self());
  ASSERT_EQ(plan.writes.size(), 1u);
  auto* w = reg(plan.writes[0]);
  ASSERT_TRUE(w && w->request.check);
  EXPECT_EQ(w->request.check->status, "critical");
  EXPECT_FALSE(w->request.service);
  EXPECT_TRUE(has_mark(plan.in_sync, Kind::service, "web"));
}

TEST(SyncPlan, ExtraServicesAndChecksAreDeregistered) {
  Snapshot s;
  auto plan = plan_full(s, remote_with({svc("old")}, {chk("service:old", "old"), chk("stray", "")}), self());
  ASSERT_EQ(plan.writes.size(), 2u);  // the old service's check goes with it
  auto* c = dereg(plan.writes[0]);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->request.check_id, "stray");
  EXPECT_EQ(c->request.node, "node-a");
  auto* d = dereg(plan.writes[1]);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->request.service_id, "old");
  EXPECT_TRUE(plan.writes[1].marks.empty());
}

TEST(SyncPlan, SerfHealthAndTheConsulServiceAreLeftToTheServers) {
  Snapshot s;
  api::HealthCheck serf = chk("serfHealth", "", "passing");
  api::NodeService consul = svc("consul", 8300);
  auto plan = plan_full(s, remote_with({consul}, {serf}), self());
  EXPECT_TRUE(plan.writes.empty());
}

TEST(SyncPlan, TombstonesDeregisterWhatTheCatalogStillHas) {
  Snapshot s;
  s.deleted_services["gone"] = 7;
  s.deleted_checks["gone-check"] = 8;
  s.deleted_services["already-gone"] = 9;
  auto plan = plan_full(s, remote_with({svc("gone")}, {chk("gone-check", "")}), self());
  ASSERT_EQ(plan.writes.size(), 2u);
  EXPECT_EQ(dereg(plan.writes[0])->request.check_id, "gone-check");
  EXPECT_EQ(plan.writes[0].marks, (std::vector<SyncMark>{{Kind::check_tombstone, "gone-check", 8}}));
  EXPECT_EQ(dereg(plan.writes[1])->request.service_id, "gone");
  EXPECT_EQ(plan.writes[1].marks, (std::vector<SyncMark>{{Kind::service_tombstone, "gone", 7}}));
  EXPECT_TRUE(has_mark(plan.in_sync, Kind::service_tombstone, "already-gone"));
}

TEST(SyncPlan, TagOverrideTakesTheCatalogTags) {
  Snapshot s;
  auto mine = svc("web");
  mine.enable_tag_override = true;
  mine.tags = {"local"};
  add(s, mine, 1);
  auto theirs = mine;
  theirs.tags = {"edited"};
  auto plan = plan_full(s, remote_with({theirs}, {}), self());
  EXPECT_TRUE(plan.writes.empty());
  ASSERT_EQ(plan.adopted_tags.size(), 1u);
  EXPECT_EQ(plan.adopted_tags[0].second, std::vector<std::string>{"edited"});
  EXPECT_TRUE(has_mark(plan.in_sync, Kind::service, "web"));
}

TEST(SyncPlan, WithoutTagOverrideLocalTagsWin) {
  Snapshot s;
  auto mine = svc("web");
  mine.tags = {"local"};
  add(s, mine, 1);
  auto theirs = mine;
  theirs.tags = {"edited"};
  auto plan = plan_full(s, remote_with({theirs}, {}), self());
  ASSERT_EQ(plan.writes.size(), 1u);
  EXPECT_EQ(reg(plan.writes[0])->request.service->tags, std::vector<std::string>{"local"});
}

TEST(SyncPlan, PartialSyncUsesTheFlagsOnly) {
  Snapshot s;
  add(s, svc("synced"), 1, true);
  add(s, svc("changed"), 2);
  add(s, chk("c1", ""), 3);
  add(s, chk("c2", ""), 4, true);
  s.deleted_checks["old"] = 5;
  auto plan = plan_partial(s, self(), true);
  ASSERT_EQ(plan.writes.size(), 3u);
  EXPECT_EQ(reg(plan.writes[0])->request.service->id, "changed");
  EXPECT_EQ(reg(plan.writes[1])->request.check->check_id, "c1");
  EXPECT_EQ(dereg(plan.writes[2])->request.check_id, "old");
  auto with_node = plan_partial(s, self(), false);
  ASSERT_EQ(with_node.writes.size(), 4u);
  EXPECT_TRUE(has_mark(with_node.writes[0].marks, Kind::node, ""));
}

TEST(SyncPlan, CheckOfAServiceNotRegisteredLocallyWaits) {
  Snapshot s;
  add(s, chk("orphan", "nosuch"), 1);
  EXPECT_TRUE(plan_partial(s, self(), true).writes.empty());
}

TEST(SyncPlan, IndexesDoNotMakeADifference) {
  api::NodeService a = svc("web"), b = svc("web");
  b.raft = {10, 20};
  EXPECT_TRUE(same_service(a, b, false));
  api::HealthCheck c = chk("x", ""), d = chk("x", "");
  d.raft = {1, 2};
  EXPECT_TRUE(same_check(c, d));
  d.output = "different";
  EXPECT_FALSE(same_check(c, d));
}

TEST(SyncPlan, Ipv6TaggedAddresses) {
  auto t = node_tagged_addresses("::1");
  EXPECT_EQ(t.at("lan_ipv6"), "::1");
  EXPECT_EQ(t.at("wan"), "::1");
  EXPECT_FALSE(t.count("lan_ipv4"));
}

}  // namespace
}  // namespace cairn::agent::local::test
