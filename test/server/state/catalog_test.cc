#include "test/server/state/fixture.h"

namespace cairn::server::state {
namespace {

class CatalogTest : public StoreTest {
 protected:
  Status deregister(const std::string& node, const std::string& service_id = {}, const std::string& check_id = {}) {
    api::DeregisterRequest d;
    d.node = node;
    d.service_id = service_id;
    d.check_id = check_id;
    return store_->catalog_deregister(next(), d, at_seconds(1000), touched_);
  }
};

TEST_F(CatalogTest, RegisteredNodeIsListed) {
  register_node("n1");
  auto r = store_->read().nodes();
  ASSERT_EQ(r->value.size(), 1u);
  EXPECT_EQ(r->value[0].node, "n1");
  EXPECT_EQ(r->value[0].address, "10.0.0.1");
  EXPECT_EQ(r->value[0].datacenter, "dc1");
  EXPECT_EQ(r->index, 1u);
}

TEST_F(CatalogTest, ReRegisteringAnUnchangedNodeMovesNoIndex) {
  register_node("n1");
  register_node("n1");
  auto n = store_->read().node("n1");
  EXPECT_EQ(n->value->raft.modify_index, 1u);
  EXPECT_EQ(n->index, 1u);
  EXPECT_EQ(store_->applied_index(), 2u);
}

TEST_F(CatalogTest, ChangingANodeKeepsItsCreateIndex) {
  register_node("n1");
  ASSERT_TRUE(register_req(node_request("n1", "10.0.0.9")).ok());
  auto n = store_->read().node("n1")->value;
  EXPECT_EQ(n->address, "10.0.0.9");
  EXPECT_EQ(n->raft.create_index, 1u);
  EXPECT_EQ(n->raft.modify_index, 2u);
}

TEST_F(CatalogTest, RegisterWithoutNodeIsRefused) {
  auto st = register_req(node_request(""));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "Must provide node");
}

TEST_F(CatalogTest, ServiceWithoutIdTakesItsName) {
  auto req = node_request("n1");
  req.service.emplace();
  req.service->service = "web";
  ASSERT_TRUE(register_req(req).ok());
  auto r = store_->read().service_nodes("web", {});
  ASSERT_EQ(r->value.size(), 1u);
  EXPECT_EQ(r->value[0].service.id, "web");
}

TEST_F(CatalogTest, SkipNodeUpdateStillCreatesAMissingNode) {
  api::RegisterRequest req;
  req.node = "new";
  req.skip_node_update = true;
  req.service.emplace();
  req.service->service = "web";
  ASSERT_TRUE(register_req(req).ok());
  EXPECT_TRUE(store_->read().node("new")->value.has_value());
  EXPECT_EQ(store_->read().service_nodes("web", {})->value.size(), 1u);
}

TEST_F(CatalogTest, SkipNodeUpdateLeavesTheNodeAlone) {
  register_node("n1");
  auto req = node_request("n1", "10.9.9.9");
  req.skip_node_update = true;
  req.service.emplace();
  req.service->service = "web";
  ASSERT_TRUE(register_req(req).ok());
  EXPECT_EQ(store_->read().node("n1")->value->address, "10.0.0.1");
}

TEST_F(CatalogTest, FailedRegistrationChangesNothing) {
  auto req = node_request("n1");
  api::HealthCheck c;
  c.check_id = "c";
  c.service_id = "missing";
  req.checks.push_back(c);
  auto st = register_req(req);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "Missing service registration");
  EXPECT_TRUE(store_->read().nodes()->value.empty());  // the node part is rolled back too
  EXPECT_EQ(store_->applied_index(), 1u);
}

TEST_F(CatalogTest, ServicesListsNamesWithTheUnionOfTags) {
  register_service("n1", "web", "web1", {"v1", "blue"});
  register_service("n2", "web", "web2", {"v2", "blue"});
  register_service("n1", "db", "db1");
  auto r = store_->read().services();
  EXPECT_EQ(r->value.at("web"), (std::vector<std::string>{"blue", "v1", "v2"}));
  EXPECT_TRUE(r->value.at("db").empty());
  EXPECT_EQ(r->index, index_);
}

TEST_F(CatalogTest, ServiceNodesFiltersByEveryTagCaseInsensitively) {
  register_service("n1", "web", "web1", {"v1", "blue"});
  register_service("n2", "web", "web2", {"v2", "blue"});
  auto view = store_->read();
  EXPECT_EQ(view.service_nodes("web", {})->value.size(), 2u);
  EXPECT_EQ(view.service_nodes("web", {"BLUE"})->value.size(), 2u);
  auto v1 = view.service_nodes("web", {"blue", "v1"});
  ASSERT_EQ(v1->value.size(), 1u);
  EXPECT_EQ(v1->value[0].node.node, "n1");
  EXPECT_EQ(v1->value[0].service.port, 8080);
}

TEST_F(CatalogTest, ServiceIndexIgnoresOtherServices) {
  register_service("n1", "web", "web1");
  uint64_t web_at = index_;
  register_service("n1", "db", "db1");
  EXPECT_EQ(store_->read().service_nodes("web", {})->index, web_at);
  EXPECT_EQ(store_->read().health_service("web", {}, false)->index, web_at);
}

TEST_F(CatalogTest, ServiceIndexMovesWithItsChecks) {
  register_service("n1", "web", "web1");
  register_check("n1", "web-check", "passing", "web1");
  EXPECT_EQ(store_->read().service_nodes("web", {})->index, index_);
}

TEST_F(CatalogTest, ServiceIndexMovesWithANodeLevelCheck) {
  register_service("n1", "web", "web1");
  register_check("n1", "serfHealth", "passing");
  EXPECT_EQ(store_->read().health_service("web", {}, false)->index, index_);
}

TEST_F(CatalogTest, ServiceIndexMovesWhenItsNodeChanges) {
  register_service("n1", "web", "web1");
  ASSERT_TRUE(register_req(node_request("n1", "10.1.1.1")).ok());
  EXPECT_EQ(store_->read().service_nodes("web", {})->index, index_);
}

TEST_F(CatalogTest, MissingServiceReportsTheExtinctionIndex) {
  register_service("n1", "web", "web1");
  register_service("n1", "db", "db1");
  ASSERT_TRUE(deregister("n1", "web1").ok());
  uint64_t extinct_at = index_;
  put("k", "v");
  register_service("n1", "cache", "c1");
  auto r = store_->read().service_nodes("web", {});
  EXPECT_TRUE(r->value.empty());
  EXPECT_EQ(r->index, extinct_at);
}

TEST_F(CatalogTest, CheckTakesServiceNameAndTagsFromItsService) {
  register_service("n1", "web", "web1", {"t"});
  register_check("n1", "c1", "passing", "web1");
  auto checks = store_->read().service_checks("web")->value;
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].service_name, "web");
  EXPECT_EQ(checks[0].service_tags, (std::vector<std::string>{"t"}));
}

TEST_F(CatalogTest, CheckWithoutStatusIsCritical) {
  register_node("n1");
  auto req = node_request("n1");
  api::HealthCheck c;
  c.name = "mem";
  req.check = c;
  ASSERT_TRUE(register_req(req).ok());
  auto checks = store_->read().node_checks("n1")->value;
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].check_id, "mem");
  EXPECT_EQ(checks[0].status, "critical");
}

TEST_F(CatalogTest, CheckForAnotherNodeIsRefused) {
  auto req = node_request("n1");
  api::HealthCheck c;
  c.node = "n2";
  c.check_id = "x";
  req.checks.push_back(c);
  auto st = register_req(req);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "Check node \"n2\" does not match node \"n1\"");
}

TEST_F(CatalogTest, ChecksInStateFilterByStatus) {
  register_check("n1", "a", "passing");
  register_check("n1", "b", "critical");
  register_check("n2", "c", "warning");
  auto view = store_->read();
  EXPECT_EQ(view.checks_in_state("any")->value.size(), 3u);
  EXPECT_EQ(view.checks_in_state("critical")->value.size(), 1u);
  EXPECT_EQ(view.checks_in_state("warning")->value[0].check_id, "c");
  EXPECT_FALSE(view.checks_in_state("bogus").ok());
}

TEST_F(CatalogTest, NodeServicesReturnsTheNodeAndItsServices) {
  register_service("n1", "web", "web1");
  register_service("n1", "db", "db1");
  register_service("n2", "web", "web2");
  auto r = store_->read().node_services("n1");
  ASSERT_TRUE(r->value.has_value());
  EXPECT_EQ(r->value->node.node, "n1");
  EXPECT_EQ(r->value->services.size(), 2u);
  EXPECT_FALSE(store_->read().node_services("zz")->value.has_value());
}

TEST_F(CatalogTest, HealthServiceCarriesServiceAndNodeChecksOnly) {
  register_service("n1", "web", "web1");
  register_service("n1", "db", "db1");
  register_check("n1", "serfHealth", "passing");
  register_check("n1", "web-http", "passing", "web1");
  register_check("n1", "db-tcp", "passing", "db1");
  auto r = store_->read().health_service("web", {}, false);
  ASSERT_EQ(r->value.size(), 1u);
  std::vector<std::string> ids;
  for (const auto& c : r->value[0].checks) ids.push_back(c.check_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"serfHealth", "web-http"}));
}

TEST_F(CatalogTest, PassingFilterDropsInstancesWithAnyNonPassingCheck) {
  register_service("n1", "web", "web1");
  register_service("n2", "web", "web2");
  register_service("n3", "web", "web3");
  register_check("n1", "web-http", "passing", "web1");
  register_check("n2", "web-http", "warning", "web2");
  register_check("n3", "serfHealth", "critical");
  auto r = store_->read().health_service("web", {}, true);
  ASSERT_EQ(r->value.size(), 1u);
  EXPECT_EQ(r->value[0].node.node, "n1");
  EXPECT_EQ(store_->read().health_service("web", {}, false)->value.size(), 3u);
}

TEST_F(CatalogTest, DeregisteringAServiceRemovesItsChecks) {
  register_service("n1", "web", "web1");
  register_check("n1", "web-http", "passing", "web1");
  register_check("n1", "serfHealth", "passing");
  ASSERT_TRUE(deregister("n1", "web1").ok());
  auto view = store_->read();
  EXPECT_TRUE(view.service_nodes("web", {})->value.empty());
  auto checks = view.node_checks("n1")->value;
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].check_id, "serfHealth");
  EXPECT_EQ(view.services()->value.count("web"), 0u);
}

TEST_F(CatalogTest, DeregisteringACheckLeavesTheService) {
  register_service("n1", "web", "web1");
  register_check("n1", "web-http", "passing", "web1");
  ASSERT_TRUE(deregister("n1", {}, "web-http").ok());
  EXPECT_TRUE(store_->read().node_checks("n1")->value.empty());
  EXPECT_EQ(store_->read().service_nodes("web", {})->value.size(), 1u);
}

TEST_F(CatalogTest, DeregisteringANodeRemovesEverythingOnIt) {
  register_service("n1", "web", "web1");
  register_check("n1", "web-http", "passing", "web1");
  register_service("n2", "web", "web2");
  ASSERT_TRUE(deregister("n1").ok());
  auto view = store_->read();
  EXPECT_EQ(view.nodes()->value.size(), 1u);
  EXPECT_EQ(view.service_nodes("web", {})->value.size(), 1u);
  EXPECT_TRUE(view.node_checks("n1")->value.empty());
  EXPECT_EQ(view.nodes()->index, index_);
}

TEST_F(CatalogTest, DeregisteringSomethingMissingChangesNoIndex) {
  register_node("n1");
  ASSERT_TRUE(deregister("n1", "nope").ok());
  ASSERT_TRUE(deregister("ghost").ok());
  EXPECT_EQ(store_->read().nodes()->index, 1u);
  EXPECT_EQ(store_->read().services()->index, 1u);
}

TEST_F(CatalogTest, RenamingAServiceMovesItBetweenNames) {
  register_service("n1", "web", "svc1");
  register_service("n1", "api", "svc1");
  auto view = store_->read();
  EXPECT_TRUE(view.service_nodes("web", {})->value.empty());
  EXPECT_EQ(view.service_nodes("api", {})->value.size(), 1u);
}

TEST_F(CatalogTest, NodeNamesAreCaseInsensitive) {
  register_node("Node1");
  ASSERT_TRUE(register_req(node_request("NODE1", "10.0.0.2")).ok());
  auto view = store_->read();
  ASSERT_EQ(view.nodes()->value.size(), 1u);
  EXPECT_EQ(view.node("node1")->value->address, "10.0.0.2");
}

TEST_F(CatalogTest, ServiceNamesAndIdsAreCaseInsensitive) {
  register_service("n1", "Web", "Web1");
  register_check("N1", "Check", "passing", "WEB1");
  auto view = store_->read();
  auto r = view.health_service("web", {}, false);
  ASSERT_EQ(r->value.size(), 1u);
  EXPECT_EQ(r->value[0].service.service, "Web");  // shown as registered
  EXPECT_EQ(r->value[0].checks.size(), 1u);
  EXPECT_EQ(view.service_nodes("WEB", {})->index, index_);
}

constexpr const char* kIdA = "40e4a748-2192-161a-0510-9bf59fe950b5";
constexpr const char* kIdB = "9d5f0b43-0c3f-4c0e-9e0a-36a3f4a0a111";

class NodeIdTest : public CatalogTest {
 protected:
  Status register_with_id(const std::string& node, const std::string& id) {
    auto req = node_request(node);
    req.id = id;
    return register_req(req);
  }
};

TEST_F(NodeIdTest, AKnownIdUnderANewNameRenamesTheNode) {
  auto req = node_request("old");
  req.id = kIdA;
  req.service.emplace();
  req.service->service = "web";
  ASSERT_TRUE(register_req(req).ok());
  ASSERT_TRUE(register_with_id("new", kIdA).ok());
  auto view = store_->read();
  EXPECT_FALSE(view.node("old")->value.has_value());
  EXPECT_EQ(view.node("new")->value->id, kIdA);
  EXPECT_TRUE(view.service_nodes("web", {})->value.empty());
}

TEST_F(NodeIdTest, ANameHeldByAnotherIdIsRefused) {
  ASSERT_TRUE(register_with_id("n1", kIdA).ok());
  auto st = register_with_id("n1", kIdB);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), std::string("Error adding Node ID \"") + kIdB +
                                      "\": Node name n1 is reserved by node " + kIdA + " with name n1 (10.0.0.1)");
  EXPECT_EQ(store_->read().node("n1")->value->id, kIdA);
}

TEST_F(NodeIdTest, ANodeWithoutIdMayTakeOne) {
  register_node("n1");
  ASSERT_TRUE(register_with_id("n1", kIdA).ok());
  EXPECT_EQ(store_->read().node("n1")->value->id, kIdA);
}

TEST_F(NodeIdTest, ANameWhoseHolderIsCriticalCanBeTakenAndFreesTheOldId) {
  ASSERT_TRUE(register_with_id("n1", kIdA).ok());
  register_check("n1", "serfHealth", "critical");
  ASSERT_TRUE(register_with_id("n1", kIdB).ok());
  ASSERT_TRUE(register_with_id("n2", kIdA).ok());  // A is free: no rename of n1
  auto view = store_->read();
  EXPECT_EQ(view.node("n1")->value->id, kIdB);
  EXPECT_EQ(view.node("n2")->value->id, kIdA);
}

TEST_F(NodeIdTest, DeregisteringANodeFreesItsId) {
  ASSERT_TRUE(register_with_id("n1", kIdA).ok());
  ASSERT_TRUE(deregister("n1").ok());
  ASSERT_TRUE(register_with_id("n2", kIdA).ok());
  EXPECT_EQ(store_->read().nodes()->value.size(), 1u);
}

}  // namespace
}  // namespace cairn::server::state

namespace cairn::server::state {
namespace {

// The connect index: /v1/catalog/connect/<s> and /v1/health/connect/<s>.
class ConnectIndexTest : public StoreTest {
 protected:
  Status register_proxy(const std::string& node, const std::string& id, const std::string& destination,
                        const std::string& check_status = "") {
    auto req = node_request(node);
    req.service.emplace();
    req.service->kind = "connect-proxy";
    req.service->id = id;
    req.service->service = destination + "-sidecar-proxy";
    req.service->port = 21000;
    req.service->proxy_json = R"({"DestinationServiceName":")" + destination + R"("})";
    if (!check_status.empty()) {
      req.check.emplace();
      req.check->check_id = id + ":check";
      req.check->name = "listening";
      req.check->status = check_status;
      req.check->service_id = id;
    }
    touched_ = {};
    return register_req(req);
  }
};

TEST_F(ConnectIndexTest, ProxiesAndNativeInstancesServeTheirDestination) {
  ASSERT_TRUE(register_proxy("n1", "web1-sidecar-proxy", "web").ok());
  ASSERT_TRUE(register_proxy("n2", "web2-sidecar-proxy", "Web").ok());  // case-insensitive like names
  ASSERT_TRUE(register_proxy("n2", "db-sidecar-proxy", "db").ok());
  auto native = node_request("n3");
  native.service.emplace();
  native.service->service = "web";
  native.service->port = 8443;
  native.service->connect_json = R"({"Native":true})";
  ASSERT_TRUE(register_req(native).ok());
  auto plain = node_request("n3");
  plain.service.emplace();
  plain.service->service = "web";
  plain.service->id = "web-plain";
  plain.service->port = 80;
  ASSERT_TRUE(register_req(plain).ok());

  auto view = store_->read();
  auto web = view.service_nodes("web", {}, true);
  ASSERT_TRUE(web.ok());
  std::vector<std::string> ids;
  for (const auto& e : web->value) ids.push_back(e.service.id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"web", "web1-sidecar-proxy", "web2-sidecar-proxy"}));
  EXPECT_EQ(view.service_nodes("db", {}, true)->value.size(), 1u);
  EXPECT_TRUE(view.service_nodes("nothing", {}, true)->value.empty());
  // Without ?connect the proxies are not instances of web.
  EXPECT_EQ(view.service_nodes("web", {})->value.size(), 2u);
}

TEST_F(ConnectIndexTest, HealthFiltersPassingAndIndexesMoveWithTheProxies) {
  ASSERT_TRUE(register_proxy("n1", "a", "web", "passing").ok());
  ASSERT_TRUE(register_proxy("n2", "b", "web", "critical").ok());
  EXPECT_TRUE(touched_.contains(WatchKey::of_key(WatchTable::connect, "web")));
  auto all = store_->read().health_service("web", {}, false, true);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->value.size(), 2u);
  auto passing = store_->read().health_service("web", {}, true, true);
  ASSERT_EQ(passing->value.size(), 1u);
  EXPECT_EQ(passing->value[0].service.id, "a");
  uint64_t before = all->index;

  // A check change on a proxy moves the destination's connect index.
  auto req = node_request("n2");
  req.check.emplace();
  req.check->check_id = "b:check";
  req.check->name = "listening";
  req.check->status = "passing";
  req.check->service_id = "b";
  touched_ = {};
  ASSERT_TRUE(register_req(req).ok());
  EXPECT_TRUE(touched_.contains(WatchKey::of_key(WatchTable::connect, "web")));
  auto after = store_->read().health_service("web", {}, true, true);
  EXPECT_EQ(after->value.size(), 2u);
  EXPECT_GT(after->index, before);

  // Re-pointing a proxy moves it between destinations; deleting drops it.
  touched_ = {};
  ASSERT_TRUE(register_proxy("n1", "a", "db").ok());
  EXPECT_TRUE(touched_.contains(WatchKey::of_key(WatchTable::connect, "web")));
  EXPECT_TRUE(touched_.contains(WatchKey::of_key(WatchTable::connect, "db")));
  EXPECT_EQ(store_->read().service_nodes("web", {}, true)->value.size(), 1u);
  EXPECT_EQ(store_->read().service_nodes("db", {}, true)->value.size(), 1u);
  touched_ = {};
  api::DeregisterRequest d;
  d.node = "n2";
  d.service_id = "b";
  ASSERT_TRUE(store_->catalog_deregister(next(), d, at_seconds(1000), touched_).ok());
  EXPECT_TRUE(touched_.contains(WatchKey::of_key(WatchTable::connect, "web")));
  EXPECT_TRUE(store_->read().service_nodes("web", {}, true)->value.empty());
  // Deleting the node takes its proxies out of the index too.
  ASSERT_TRUE(store_->catalog_deregister(next(), api::DeregisterRequest{.node = "n1"}, at_seconds(1000), touched_).ok());
  EXPECT_TRUE(store_->read().service_nodes("db", {}, true)->value.empty());
}

}  // namespace
}  // namespace cairn::server::state
