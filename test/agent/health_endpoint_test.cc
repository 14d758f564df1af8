// /v1/health/* over a fake Handler, through the real Router.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test/agent/fake_rpc.h"

namespace cairn::agent::test {
namespace {

api::HealthCheck check(std::string node, std::string id, std::string status) {
  api::HealthCheck c;
  c.node = std::move(node);
  c.check_id = std::move(id);
  c.name = c.check_id;
  c.status = std::move(status);
  return c;
}

TEST(HealthEndpoint, NodeChecksAndServiceChecks) {
  RpcEndpoints e;
  e.rpc->answer<HealthNode>({check("n1", "serfHealth", "passing")}, QueryMeta{3});
  auto r = e.get("/v1/health/node/n1");
  EXPECT_EQ(e.rpc->last_query<HealthNode>().node, "n1");
  auto j = nlohmann::json::parse(r->body);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["CheckID"], "serfHealth");
  EXPECT_EQ(header(*r, "X-Consul-Index"), "3");

  e.rpc->answer<HealthChecks>({});
  r = e.get("/v1/health/checks/web?near=_agent");
  EXPECT_EQ(e.rpc->last_query<HealthChecks>().service, "web");
  EXPECT_EQ(r->body, "[]");
  EXPECT_EQ(e.get("/v1/health/node/")->status, 400);
  EXPECT_EQ(e.get("/v1/health/checks/")->body, "Missing service name\n");
}

TEST(HealthEndpoint, StateAcceptsConsulsStatesOnly) {
  RpcEndpoints e;
  for (const char* s : {"passing", "warning", "critical", "any"}) {
    e.rpc->answer<HealthState>({check("n1", "c", "critical")});
    auto r = e.get(std::string("/v1/health/state/") + s);
    EXPECT_EQ(r->status, 200) << s;
    EXPECT_EQ(e.rpc->last_query<HealthState>().state, s);
  }
  auto r = e.get("/v1/health/state/bogus");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Invalid state\n");
}

TEST(HealthEndpoint, StateFiltersWithTheExpression) {
  RpcEndpoints e;
  e.rpc->answer<HealthState>({check("n1", "a", "critical"), check("n2", "b", "critical")});
  auto r = e.get("/v1/health/state/critical?filter=" + cairn::http::percent_encode("Node == n2"));
  auto j = nlohmann::json::parse(r->body);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["Node"], "n2");
}

TEST(HealthEndpoint, ServiceTakesTagsPassingAndNodeMeta) {
  RpcEndpoints e;
  api::HealthServiceEntry a;
  a.node.node = "a";
  a.node.meta = {{"zone", "x"}};
  a.service.id = "web1";
  a.service.service = "web";
  a.checks = {check("a", "serfHealth", "passing")};
  api::HealthServiceEntry b = a;
  b.node.node = "b";
  b.node.meta = {{"zone", "y"}};
  e.rpc->answer<HealthService>({a, b}, QueryMeta{44, std::chrono::milliseconds(7), true});
  auto r = e.get("/v1/health/service/web?index=3&wait=1s&passing=1&tag=t1&tag=t2&near=_agent&node-meta=zone:y");
  const auto& q = e.rpc->last_query<HealthService>();
  EXPECT_EQ(q.service, "web");
  EXPECT_EQ(q.tags, (std::vector<std::string>{"t1", "t2"}));
  EXPECT_TRUE(q.passing_only);
  EXPECT_EQ(e.rpc->queries.back().options.min_index, 3u);
  auto j = nlohmann::json::parse(r->body);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["Node"]["Node"], "b");
  EXPECT_EQ(j[0]["Checks"][0]["CheckID"], "serfHealth");
  EXPECT_EQ(header(*r, "X-Consul-LastContact"), "7");

  e.rpc->answer<HealthService>({a, b});
  e.get("/v1/health/service/web?passing");
  EXPECT_TRUE(e.rpc->last_query<HealthService>().passing_only);
  e.rpc->answer<HealthService>({a, b});
  e.get("/v1/health/service/web?passing=false");
  EXPECT_FALSE(e.rpc->last_query<HealthService>().passing_only);
  e.rpc->answer<HealthService>({a, b});
  r = e.get("/v1/health/service/web?filter=" + cairn::http::percent_encode("Node.Node == a"));
  EXPECT_EQ(nlohmann::json::parse(r->body).size(), 1u);
}

TEST(HealthEndpoint, ABadPassingValueIs400) {
  RpcEndpoints e;
  auto r = e.get("/v1/health/service/web?passing=maybe");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Invalid value for ?passing\n");
  EXPECT_TRUE(e.rpc->queries.empty());
}

TEST(HealthEndpoint, NodeMetaOnChecksFiltersByTheCatalogsNodes) {
  RpcEndpoints e;
  api::Node n1;
  n1.node = "n1";
  n1.meta = {{"rack", "a"}};
  api::Node n2;
  n2.node = "n2";
  n2.meta = {{"rack", "b"}};
  e.rpc->answer<CatalogNodes>({n1, n2});
  e.rpc->answer<HealthChecks>({check("n1", "c1", "passing"), check("n2", "c2", "passing")}, QueryMeta{21});
  auto r = e.get("/v1/health/checks/web?node-meta=rack:b&index=20&stale");
  ASSERT_TRUE(r);
  ASSERT_EQ(e.rpc->queries.size(), 2u);
  // The node lookup never blocks; the checks query carries the caller's index.
  EXPECT_TRUE(std::holds_alternative<CatalogNodes>(e.rpc->queries[0].query));
  EXPECT_EQ(e.rpc->queries[0].options.min_index, 0u);
  EXPECT_EQ(e.rpc->queries[0].options.consistency, Consistency::stale);
  EXPECT_EQ(e.rpc->queries[1].options.min_index, 20u);
  auto j = nlohmann::json::parse(r->body);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["Node"], "n2");
  EXPECT_EQ(header(*r, "X-Consul-Index"), "21");

  e.rpc->answer<CatalogNodes>({n1, n2});
  e.rpc->answer<HealthState>({check("n1", "c1", "critical"), check("n2", "c2", "critical")});
  r = e.get("/v1/health/state/critical?node-meta=rack:a");
  j = nlohmann::json::parse(r->body);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["Node"], "n1");
}

TEST(HealthEndpoint, NodeMetaIsIgnoredOnNodeChecksAsInConsul) {
  RpcEndpoints e;
  e.rpc->answer<HealthNode>({check("n1", "serfHealth", "passing")});
  auto r = e.get("/v1/health/node/n1?node-meta=rack:zzz");
  EXPECT_EQ(e.rpc->queries.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(r->body).size(), 1u);
}

TEST(HealthEndpoint, AFailedNodeLookupIsTheHandlersError) {
  RpcEndpoints e;
  e.rpc->fail_query(Error(errc::unavailable, "No cluster leader"));
  auto r = e.get("/v1/health/checks/web?node-meta=a:b");
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "No cluster leader\n");
  EXPECT_EQ(e.rpc->queries.size(), 1u);
}

}  // namespace
}  // namespace cairn::agent::test
