// /v1/catalog/* over a fake Handler, through the real Router.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test/agent/fake_rpc.h"

namespace cairn::agent::test {
namespace {

api::Node node(std::string name, std::map<std::string, std::string> meta = {}) {
  api::Node n;
  n.node = std::move(name);
  n.address = "10.0.0.1";
  n.datacenter = "dc1";
  n.meta = std::move(meta);
  n.raft = {2, 2};
  return n;
}

api::NodeService service(std::string id, std::string name, std::vector<std::string> tags = {}) {
  api::NodeService s;
  s.id = std::move(id);
  s.service = std::move(name);
  s.tags = std::move(tags);
  s.port = 80;
  return s;
}

TEST(CatalogEndpoint, RegisterDecodesTheBodyAndFillsTheDatacenterAndToken) {
  RpcEndpoints e;
  e.rpc->answer_write<CatalogRegister>(true);
  auto r = e.call(Method::put, "/v1/catalog/register?token=tok",
                  R"({"node":"n1","address":"10.1.1.1","service":{"Service":"web","ID":"web1","Tags":["a"],"Port":80}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "true");
  const auto& req = e.rpc->last_write<CatalogRegister>().request;
  EXPECT_EQ(req.node, "n1");
  EXPECT_EQ(req.datacenter, "dc1");
  EXPECT_EQ(req.token, "tok");
  ASSERT_TRUE(req.service);
  EXPECT_EQ(req.service->service, "web");
  EXPECT_EQ(e.rpc->writes.back().options.token, "tok");
}

TEST(CatalogEndpoint, RegisterErrors) {
  RpcEndpoints e;
  auto r = e.put("/v1/catalog/register", R"({"Node":"n1","Service":{"Port":"eighty"}})");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("Service.Port"), std::string::npos);
  r = e.put("/v1/catalog/register", R"({"Node":"n1","Datacenter":"dc9"})");
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "No path to datacenter\n");
  EXPECT_TRUE(e.rpc->writes.empty());
  e.rpc->fail_write(Error(errc::invalid_argument, "Missing node address"));
  r = e.put("/v1/catalog/register", R"({"Node":"n1"})");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Missing node address\n");
}

TEST(CatalogEndpoint, DeregisterAnswersTrue) {
  RpcEndpoints e;
  e.rpc->answer_write<CatalogDeregister>(true);
  auto r = e.put("/v1/catalog/deregister", R"({"Node":"n1","ServiceID":"web1"})");
  EXPECT_EQ(r->body, "true");
  EXPECT_EQ(e.rpc->last_write<CatalogDeregister>().request.service_id, "web1");
  EXPECT_EQ(e.rpc->last_write<CatalogDeregister>().request.datacenter, "dc1");
}

TEST(CatalogEndpoint, DatacentersIsThisAgentsOnly) {
  RpcEndpoints e;
  auto r = e.get("/v1/catalog/datacenters");
  EXPECT_EQ(r->body, R"(["dc1"])");
  EXPECT_EQ(header(*r, "Content-Type"), "application/json");
}

TEST(CatalogEndpoint, NodesFilterByNodeMetaAndFilterExpression) {
  RpcEndpoints e;
  std::vector<api::Node> nodes{node("a", {{"os", "linux"}, {"rack", "1"}}), node("b", {{"os", "linux"}}),
                               node("c", {{"os", "bsd"}})};
  e.rpc->answer<CatalogNodes>(nodes, QueryMeta{12});
  auto r = e.get("/v1/catalog/nodes?node-meta=os:linux&node-meta=rack:1&near=_agent");
  ASSERT_EQ(r->status, 200);
  auto j = nlohmann::json::parse(r->body);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["Node"], "a");
  EXPECT_EQ(header(*r, "X-Consul-Index"), "12");

  e.rpc->answer<CatalogNodes>(nodes);
  r = e.get("/v1/catalog/nodes?filter=" + cairn::http::percent_encode("Meta.os == bsd"));
  j = nlohmann::json::parse(r->body);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["Node"], "c");

  e.rpc->answer<CatalogNodes>({});
  EXPECT_EQ(e.get("/v1/catalog/nodes")->body, "[]");
}

TEST(CatalogEndpoint, ABadFilterIs400BeforeAnyRpc) {
  RpcEndpoints e;
  auto r = e.get("/v1/catalog/nodes?filter=" + cairn::http::percent_encode("Meta.os ==="));
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("Failed to create boolean expression evaluator"), std::string::npos);
  EXPECT_TRUE(e.rpc->queries.empty());
}

TEST(CatalogEndpoint, ServicesIsAMapOfTags) {
  RpcEndpoints e;
  e.rpc->answer<CatalogServices>({{"consul", {}}, {"web", {"a", "b"}}});
  auto r = e.get("/v1/catalog/services?stale");
  EXPECT_EQ(nlohmann::json::parse(r->body), nlohmann::json::parse(R"({"consul":[],"web":["a","b"]})"));
  EXPECT_EQ(e.rpc->queries.back().options.consistency, Consistency::stale);
  e.rpc->answer<CatalogServices>({});
  EXPECT_EQ(e.get("/v1/catalog/services")->body, "{}");
}

TEST(CatalogEndpoint, ServicesWithNodeMetaJoinEachServicesInstances) {
  RpcEndpoints e;
  e.rpc->answer<CatalogServices>({{"db", {"primary"}}, {"web", {"v1", "v2"}}}, QueryMeta{50});
  e.rpc->answer<CatalogServiceNodes>({{node("a", {{"env", "prod"}}), service("db1", "db", {"primary"})}});
  e.rpc->answer<CatalogServiceNodes>({{node("a", {{"env", "prod"}}), service("web1", "web", {"v1"})},
                                      {node("b", {{"env", "dev"}}), service("web2", "web", {"v2"})}});
  auto r = e.get("/v1/catalog/services?node-meta=env:prod&index=49");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(nlohmann::json::parse(r->body), nlohmann::json::parse(R"({"db":["primary"],"web":["v1"]})"));
  EXPECT_EQ(header(*r, "X-Consul-Index"), "50");  // the services query's meta
  ASSERT_EQ(e.rpc->queries.size(), 3u);
  EXPECT_EQ(e.rpc->queries[0].options.min_index, 49u);  // blocks on the services list
  EXPECT_EQ(e.rpc->queries[1].options.min_index, 0u);   // the instance reads do not
  EXPECT_EQ(std::get<CatalogServiceNodes>(e.rpc->queries[1].query).service, "db");
  EXPECT_EQ(std::get<CatalogServiceNodes>(e.rpc->queries[2].query).service, "web");
}

TEST(CatalogEndpoint, ServicesWithAFilterKeepServicesWithAMatchingInstance) {
  RpcEndpoints e;
  e.rpc->answer<CatalogServices>({{"db", {}}, {"web", {"v1", "v2"}}});
  e.rpc->answer<CatalogServiceNodes>({{node("a"), service("db1", "db")}});
  e.rpc->answer<CatalogServiceNodes>({{node("a"), service("web1", "web", {"v1"})},
                                      {node("b"), service("web2", "web", {"v2"})}});
  auto r = e.get("/v1/catalog/services?filter=" + cairn::http::percent_encode("ServiceTags contains v2"));
  EXPECT_EQ(nlohmann::json::parse(r->body), nlohmann::json::parse(R"({"web":["v2"]})"));
}

TEST(CatalogEndpoint, ServicesJoinAnswersTheFirstErrorOnce) {
  RpcEndpoints e;
  e.rpc->answer<CatalogServices>({{"db", {}}, {"web", {}}});
  e.rpc->fail_query(Error(errc::unavailable, "No cluster leader"));
  e.rpc->answer<CatalogServiceNodes>({{node("a", {{"env", "prod"}}), service("web1", "web")}});
  auto r = e.get("/v1/catalog/services?node-meta=env:prod");
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "No cluster leader\n");
}

TEST(CatalogEndpoint, ServicesJoinOfAnEmptyCatalogIsAnEmptyMap) {
  RpcEndpoints e;
  e.rpc->answer<CatalogServices>({}, QueryMeta{3});
  auto r = e.get("/v1/catalog/services?node-meta=env:prod");
  EXPECT_EQ(r->body, "{}");
  EXPECT_EQ(header(*r, "X-Consul-Index"), "3");
  EXPECT_EQ(e.rpc->queries.size(), 1u);
}

TEST(CatalogEndpoint, ServiceTakesEveryTagAndFiltersFlattenedFields) {
  RpcEndpoints e;
  api::CatalogServiceEntry one{node("a", {{"env", "prod"}}), service("web1", "web", {"v1", "blue"})};
  api::CatalogServiceEntry two{node("b", {{"env", "dev"}}), service("web2", "web", {"v1", "blue"})};
  e.rpc->answer<CatalogServiceNodes>({one, two}, QueryMeta{30});
  auto r = e.get("/v1/catalog/service/web?tag=v1&tag=blue&node-meta=env:prod");
  const auto& q = e.rpc->last_query<CatalogServiceNodes>();
  EXPECT_EQ(q.service, "web");
  EXPECT_EQ(q.tags, (std::vector<std::string>{"v1", "blue"}));
  auto j = nlohmann::json::parse(r->body);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["ServiceID"], "web1");
  EXPECT_EQ(j[0]["NodeMeta"]["env"], "prod");

  e.rpc->answer<CatalogServiceNodes>({one, two});
  r = e.get("/v1/catalog/service/web?filter=" + cairn::http::percent_encode("NodeMeta.env == dev"));
  j = nlohmann::json::parse(r->body);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["ServiceID"], "web2");
  EXPECT_EQ(e.get("/v1/catalog/service/")->status, 400);
}

TEST(CatalogEndpoint, NodeOfAnUnknownNodeIsNullWith200) {
  RpcEndpoints e;
  e.rpc->answer<CatalogNodeServices>(std::nullopt, QueryMeta{5});
  auto r = e.get("/v1/catalog/node/ghost");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "null");
  EXPECT_EQ(header(*r, "X-Consul-Index"), "5");
  EXPECT_EQ(e.rpc->last_query<CatalogNodeServices>().node, "ghost");
}

TEST(CatalogEndpoint, NodeServicesAreAMapByIdAndTheFilterAppliesToThem) {
  RpcEndpoints e;
  api::NodeServices ns{node("a"), {service("web1", "web"), service("db1", "db")}};
  e.rpc->answer<CatalogNodeServices>(ns);
  auto r = e.get("/v1/catalog/node/a");
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["Node"]["Node"], "a");
  EXPECT_TRUE(j["Services"].contains("web1"));
  EXPECT_TRUE(j["Services"].contains("db1"));

  e.rpc->answer<CatalogNodeServices>(ns);
  r = e.get("/v1/catalog/node/a?filter=" + cairn::http::percent_encode("Service == db"));
  j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["Node"]["Node"], "a");  // the node itself is not filtered
  EXPECT_EQ(j["Services"].size(), 1u);
  EXPECT_TRUE(j["Services"].contains("db1"));
}

TEST(CatalogEndpoint, NodeServicesListsTheServices) {
  RpcEndpoints e;
  api::NodeServices ns{node("a"), {service("web1", "web"), service("db1", "db")}};
  e.rpc->answer<CatalogNodeServices>(ns);
  auto r = e.get("/v1/catalog/node-services/a?pretty");
  auto j = nlohmann::json::parse(r->body);
  EXPECT_NE(r->body.find('\n'), std::string::npos);
  EXPECT_EQ(j["Node"]["Node"], "a");
  ASSERT_TRUE(j["Services"].is_array());
  EXPECT_EQ(j["Services"].size(), 2u);
  EXPECT_EQ(j["Services"][0]["ID"], "web1");

  e.rpc->answer<CatalogNodeServices>(std::nullopt);
  r = e.get("/v1/catalog/node-services/ghost");
  EXPECT_EQ(nlohmann::json::parse(r->body), nlohmann::json::parse(R"({"Node":null,"Services":null})"));
}

}  // namespace
}  // namespace cairn::agent::test
