// /v1/session/* over a fake Handler, through the real Router.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/json.h"
#include "test/agent/fake_rpc.h"

namespace cairn::agent::test {
namespace {

api::Session session(std::string id, std::string node = "node-a") {
  api::Session s = api::default_session_for(std::move(node));
  s.id = std::move(id);
  s.raft = {4, 4};
  return s;
}

TEST(SessionEndpoint, CreateDecodesTheBodyOverTheAgentsDefaults) {
  RpcEndpoints e;
  e.rpc->answer_write<SessionCreate>("adf4238a-882b-9ddc-4a9d-5b6758e4159e");
  auto r = e.put("/v1/session/create", R"({"name":"lock","ttl":"30s","behavior":"delete","lockdelay":"5s"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(header(*r, "Content-Type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(r->body), nlohmann::json({{"ID", "adf4238a-882b-9ddc-4a9d-5b6758e4159e"}}));
  const auto& s = e.rpc->last_write<SessionCreate>().session;
  EXPECT_EQ(s.node, "node-a");  // the agent's node
  EXPECT_EQ(s.name, "lock");
  EXPECT_EQ(s.ttl, "30s");
  EXPECT_EQ(s.behavior, "delete");
  EXPECT_EQ(s.lock_delay, std::chrono::seconds(5));
}

TEST(SessionEndpoint, CreateWithAnEmptyBodyKeepsEveryDefault) {
  RpcEndpoints e;
  e.rpc->answer_write<SessionCreate>("id-1");
  EXPECT_EQ(e.put("/v1/session/create")->status, 200);
  const auto& s = e.rpc->last_write<SessionCreate>().session;
  EXPECT_EQ(s.node, "node-a");
  EXPECT_EQ(s.lock_delay, std::chrono::seconds(15));
  EXPECT_EQ(s.behavior, "release");
}

TEST(SessionEndpoint, CreateRejectsABadBodyNamingTheField) {
  RpcEndpoints e;
  auto r = e.put("/v1/session/create", R"({"TTL":"1s"})");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("TTL"), std::string::npos);
  r = e.put("/v1/session/create", R"({"Behavior":"explode"})");
  EXPECT_EQ(r->status, 400);
  r = e.put("/v1/session/create", "{not json");
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(e.rpc->writes.empty());
}

TEST(SessionEndpoint, DestroyAnswersTrue) {
  RpcEndpoints e;
  e.rpc->answer_write<SessionDestroy>(true);
  auto r = e.put("/v1/session/destroy/abc");
  EXPECT_EQ(r->body, "true");
  EXPECT_EQ(e.rpc->last_write<SessionDestroy>().id, "abc");
  EXPECT_EQ(e.put("/v1/session/destroy/")->status, 400);
}

TEST(SessionEndpoint, RenewAnswersTheSessionInAListOr404WithConsulsText) {
  RpcEndpoints e;
  e.rpc->answer_write<SessionRenew>(session("s1"));
  auto r = e.put("/v1/session/renew/s1");
  ASSERT_EQ(r->status, 200);
  auto j = nlohmann::json::parse(r->body);
  ASSERT_TRUE(j.is_array());
  EXPECT_EQ(j[0]["ID"], "s1");
  EXPECT_EQ(e.rpc->last_write<SessionRenew>().id, "s1");

  e.rpc->fail_write(Error(errc::not_found, "whatever the server says"));
  r = e.put("/v1/session/renew/nope");
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "Session id 'nope' not found\n");
}

TEST(SessionEndpoint, InfoOfAnUnknownSessionIsAnEmptyList) {
  RpcEndpoints e;
  e.rpc->answer<SessionGet>(std::nullopt, QueryMeta{8});
  auto r = e.get("/v1/session/info/zzz");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "[]");
  EXPECT_EQ(header(*r, "X-Consul-Index"), "8");
  EXPECT_EQ(e.rpc->last_query<SessionGet>().id, "zzz");

  e.rpc->answer<SessionGet>(session("s2"));
  r = e.get("/v1/session/info/s2");
  EXPECT_EQ(nlohmann::json::parse(r->body)[0]["ID"], "s2");
}

TEST(SessionEndpoint, ListAndNodeAreArraysNeverNull) {
  RpcEndpoints e;
  e.rpc->answer<SessionList>({});
  auto r = e.get("/v1/session/list?index=3&wait=10s");
  EXPECT_EQ(r->body, "[]");
  EXPECT_EQ(e.rpc->queries.back().options.min_index, 3u);

  e.rpc->answer<SessionNode>({session("a", "n2"), session("b", "n2")});
  r = e.get("/v1/session/node/n2");
  EXPECT_EQ(e.rpc->last_query<SessionNode>().node, "n2");
  EXPECT_EQ(nlohmann::json::parse(r->body).size(), 2u);
  EXPECT_EQ(e.get("/v1/session/node/")->status, 400);
}

}  // namespace
}  // namespace cairn::agent::test
