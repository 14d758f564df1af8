// /v1/config over a fake Handler, through the real Router: what each request
// sends to the servers, how answers and errors come back, and Consul's shapes.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/config_entry.h"
#include "test/agent/fake_rpc.h"

namespace cairn::agent::test {
namespace {

using namespace api::rpc;

struct ConfigEndpoints : RpcEndpoints {
  ConfigEndpoints() { http::register_config(router, ctx); }
  std::optional<Response> del(const std::string& target) { return call(Method::del, target); }
};

api::ConfigEntry stored(const std::string& body, uint64_t create, uint64_t modify) {
  auto e = api::decode_config_entry(body);
  EXPECT_TRUE(e.ok());
  e->create_index = create;
  e->modify_index = modify;
  return *e;
}

TEST(ConfigEndpoint, PutSendsTheNormalizedEntryAndAnswersTrue) {
  ConfigEndpoints e;
  e.rpc->answer_write<ConfigEntryApply>(true);
  auto r = e.put("/v1/config", R"({"kind":"service-defaults","name":"web","protocol":"http"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "true");
  const auto& w = e.rpc->last_write<ConfigEntryApply>();
  EXPECT_EQ(w.entry.kind, "service-defaults");
  EXPECT_EQ(w.entry.name, "web");
  EXPECT_EQ(w.entry.body, R"({"Kind":"service-defaults","Name":"web","Protocol":"http"})");
  EXPECT_FALSE(w.cas);
}

TEST(ConfigEndpoint, PutWithCasSendsTheIndexAndAnswersFalseWhenItLoses) {
  ConfigEndpoints e;
  e.rpc->answer_write<ConfigEntryApply>(false);
  auto r = e.put("/v1/config?cas=12", R"({"Kind":"service-resolver","Name":"web"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "false");
  EXPECT_TRUE(e.rpc->last_write<ConfigEntryApply>().cas);
  EXPECT_EQ(e.rpc->last_write<ConfigEntryApply>().cas_index, 12u);
  auto bad = e.put("/v1/config?cas=x", R"({"Kind":"service-resolver","Name":"web"})");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
}

TEST(ConfigEndpoint, BadBodiesAre400NamingTheFieldAndReachNoServer) {
  ConfigEndpoints e;
  auto r = e.put("/v1/config",
                 R"({"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"Bogus":"x"}}}]})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Request decode failed: Routes[0].Match.HTTP.Bogus: unknown field\n");
  r = e.put("/v1/config", R"({"Kind":"service-splitter","Name":"web","Splits":[{"Weight":10}]})");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "the sum of all split weights must be 100, not 10.000000\n");
  r = e.put("/v1/config", "not json");
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(e.rpc->writes.empty());
}

TEST(ConfigEndpoint, ServerRefusalIs400WithItsText) {
  ConfigEndpoints e;
  e.rpc->fail_write(Error(errc::invalid_argument, R"(service-router "web": discovery chain "web" uses a protocol "tcp" that does not permit advanced routing or splitting behavior)"));
  auto r = e.put("/v1/config", R"({"Kind":"service-router","Name":"web"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("does not permit advanced routing or splitting behavior"), std::string::npos);
}

TEST(ConfigEndpoint, GetAnswersTheEntryWithIndexes) {
  ConfigEndpoints e;
  QueryMeta meta;
  meta.index = 9;
  meta.known_leader = true;
  e.rpc->answer<ConfigEntryGet>(stored(R"({"Kind":"service-defaults","Name":"web","Protocol":"http"})", 4, 9), meta);
  auto r = e.get("/v1/config/service-defaults/web");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body,
            R"({"Kind":"service-defaults","Name":"web","Protocol":"http","CreateIndex":4,"ModifyIndex":9})");
  EXPECT_EQ(header(*r, "X-Consul-Index"), "9");
  EXPECT_EQ(e.rpc->last_query<ConfigEntryGet>().kind, "service-defaults");
  EXPECT_EQ(e.rpc->last_query<ConfigEntryGet>().name, "web");
}

TEST(ConfigEndpoint, MissingEntryIsConsuls404) {
  ConfigEndpoints e;
  QueryMeta meta;
  meta.index = 3;
  e.rpc->answer<ConfigEntryGet>(std::nullopt, meta);
  auto r = e.get("/v1/config/service-resolver/db");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "Config entry not found for \"service-resolver\" / \"db\"\n");
  EXPECT_EQ(header(*r, "X-Consul-Index"), "3");
}

TEST(ConfigEndpoint, UnknownKindIs400NamingIt) {
  ConfigEndpoints e;
  for (const char* target : {"/v1/config/mesh-thing", "/v1/config/mesh-thing/web"}) {
    auto r = e.get(target);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(r->body, "invalid config entry kind: \"mesh-thing\"\n");
  }
  EXPECT_TRUE(e.rpc->queries.empty());
}

TEST(ConfigEndpoint, ListIsBlockingAndFiltered) {
  ConfigEndpoints e;
  QueryMeta meta;
  meta.index = 20;
  e.rpc->answer<ConfigEntryList>(
      {stored(R"({"Kind":"service-defaults","Name":"api","Protocol":"grpc"})", 5, 5),
       stored(R"({"Kind":"service-defaults","Name":"web","Protocol":"http"})", 6, 20)},
      meta);
  auto r = e.get("/v1/config/service-defaults?index=19&wait=10s&filter=" +
                 cairn::http::percent_encode("Protocol == \"http\""));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto j = nlohmann::json::parse(r->body);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["Name"], "web");
  EXPECT_EQ(header(*r, "X-Consul-Index"), "20");
  const auto& q = e.rpc->queries.back();
  EXPECT_EQ(q.options.min_index, 19u);
  EXPECT_EQ(std::get<ConfigEntryList>(q.query).kind, "service-defaults");
}

TEST(ConfigEndpoint, EmptyListIsAnArray) {
  ConfigEndpoints e;
  e.rpc->answer<ConfigEntryList>({});
  auto r = e.get("/v1/config/proxy-defaults");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "[]");
}

TEST(ConfigEndpoint, DeleteAnswersEmptyObjectOrTheCasOutcome) {
  ConfigEndpoints e;
  e.rpc->answer_write<ConfigEntryDelete>(true);
  auto r = e.del("/v1/config/service-defaults/web");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{}");
  EXPECT_FALSE(e.rpc->last_write<ConfigEntryDelete>().cas);
  e.rpc->answer_write<ConfigEntryDelete>(false);
  r = e.del("/v1/config/service-defaults/web?cas=4");
  EXPECT_EQ(r->body, "false");
  const auto& d = e.rpc->last_write<ConfigEntryDelete>();
  EXPECT_TRUE(d.cas);
  EXPECT_EQ(d.cas_index, 4u);
  EXPECT_EQ(d.name, "web");
}

TEST(ConfigEndpoint, WrongMethodIs405) {
  ConfigEndpoints e;
  auto r = e.call(Method::post, "/v1/config/service-defaults/web");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  r = e.get("/v1/config");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
}

}  // namespace
}  // namespace cairn::agent::test
