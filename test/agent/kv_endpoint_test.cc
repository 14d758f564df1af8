// /v1/kv over a fake Handler, through the real Router: parameters into the
// right KvGet/KvList/KvKeys/KvApply, the query options, headers, JSON shapes
// and the error mapping.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test/agent/fake_rpc.h"

namespace cairn::agent::test {
namespace {

api::KVPair pair(std::string key, std::optional<std::string> value, uint64_t modify = 5) {
  api::KVPair kv;
  kv.key = std::move(key);
  kv.value = std::move(value);
  kv.raft = {3, modify};
  return kv;
}

TEST(KvEndpoint, GetSingleKeyAnswersAListOfOneWithTheQueryMetaHeaders) {
  RpcEndpoints e;
  e.rpc->answer<KvGet>(pair("a/b", "hello"), QueryMeta{42, std::chrono::milliseconds(250), false});
  auto r = e.get("/v1/kv/a%2Fb");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(e.rpc->last_query<KvGet>().key, "a/b");
  EXPECT_EQ(header(*r, "Content-Type"), "application/json");
  EXPECT_EQ(header(*r, "X-Consul-Index"), "42");
  EXPECT_EQ(header(*r, "X-Consul-KnownLeader"), "false");
  EXPECT_EQ(header(*r, "X-Consul-LastContact"), "250");
  EXPECT_EQ(header(*r, "X-Consul-Effective-Consistency"), "leader");
  auto j = nlohmann::json::parse(r->body);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["Key"], "a/b");
  EXPECT_EQ(j[0]["Value"], "aGVsbG8=");
  EXPECT_EQ(j[0]["ModifyIndex"], 5);
}

TEST(KvEndpoint, MissingKeyIs404WithAnIndexThatIsNeverZero) {
  RpcEndpoints e;
  e.rpc->answer<KvGet>(std::nullopt, QueryMeta{0, {}, true});
  auto r = e.get("/v1/kv/missing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(header(*r, "X-Consul-Index"), "1");
  EXPECT_EQ(header(*r, "X-Consul-KnownLeader"), "true");
  EXPECT_EQ(header(*r, "X-Consul-LastContact"), "0");
}

TEST(KvEndpoint, RawReturnsTheValueBytesAsIs) {
  RpcEndpoints e;
  std::string bytes("\x00\xff{raw}", 7);
  e.rpc->answer<KvGet>(pair("k", bytes), QueryMeta{9});
  auto r = e.get("/v1/kv/k?raw");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, bytes);
  EXPECT_EQ(header(*r, "X-Consul-Index"), "9");
}

TEST(KvEndpoint, RecurseListsThePrefixAnd404sWhenEmpty) {
  RpcEndpoints e;
  e.rpc->answer<KvList>({pair("p/a", "1"), pair("p/b", std::nullopt)});
  auto r = e.get("/v1/kv/p/?recurse=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(e.rpc->last_query<KvList>().prefix, "p/");
  auto j = nlohmann::json::parse(r->body);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_TRUE(j[1]["Value"].is_null());

  e.rpc->answer<KvList>({}, QueryMeta{11});
  r = e.get("/v1/kv/none?recurse");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(header(*r, "X-Consul-Index"), "11");
}

TEST(KvEndpoint, KeysTakesTheSeparatorInEitherSpelling) {
  RpcEndpoints e;
  e.rpc->answer<KvKeys>({"pre/a", "pre/dir/"});
  auto r = e.get("/v1/kv/pre/?keys=True&separator=%2F");
  ASSERT_TRUE(r);
  EXPECT_EQ(e.rpc->last_query<KvKeys>().prefix, "pre/");
  EXPECT_EQ(e.rpc->last_query<KvKeys>().separator, "/");
  EXPECT_EQ(r->body, R"(["pre/a","pre/dir/"])");

  e.rpc->answer<KvKeys>({});
  r = e.get("/v1/kv/x?keys&seperator=-");
  EXPECT_EQ(e.rpc->last_query<KvKeys>().separator, "-");
  EXPECT_EQ(r->status, 404);

  // The root never 404s: an empty store lists as [].
  e.rpc->answer<KvKeys>({});
  r = e.get("/v1/kv/?keys");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "[]");
}

TEST(KvEndpoint, ReadOptionsReachTheHandler) {
  RpcEndpoints e;
  e.rpc->answer<KvGet>(std::nullopt);
  e.call(Method::get, "/v1/kv/k?index=17&wait=2s&stale", {}, {{"X-Consul-Token", "hdr"}});
  const auto& o = e.rpc->queries.back().options;
  EXPECT_EQ(o.min_index, 17u);
  EXPECT_GE(o.max_wait, std::chrono::seconds(2));
  EXPECT_LE(o.max_wait, std::chrono::seconds(2) + std::chrono::milliseconds(125));
  EXPECT_EQ(o.consistency, Consistency::stale);
  EXPECT_EQ(o.token, "hdr");

  e.rpc->answer<KvGet>(std::nullopt);
  auto r = e.call(Method::get, "/v1/kv/k?consistent&token=q", {}, {{"X-Consul-Token", "hdr"}});
  EXPECT_EQ(header(*r, "X-Consul-Effective-Consistency"), "consistent");
  EXPECT_EQ(e.rpc->queries.back().options.consistency, Consistency::consistent);
  EXPECT_EQ(e.rpc->queries.back().options.token, "q");  // ?token wins
  EXPECT_EQ(e.rpc->queries.back().options.min_index, 0u);

  e.rpc->answer<KvGet>(std::nullopt);
  e.call(Method::get, "/v1/kv/k", {}, {{"Authorization", "Bearer btok"}});
  EXPECT_EQ(e.rpc->queries.back().options.token, "btok");
  EXPECT_EQ(e.rpc->queries.back().options.consistency, Consistency::leader);
}

TEST(KvEndpoint, PrettyIndentsTheJson) {
  RpcEndpoints e;
  e.rpc->answer<KvGet>(pair("k", "v"));
  auto r = e.get("/v1/kv/k?pretty");
  EXPECT_NE(r->body.find("\n    "), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(r->body)[0]["Key"], "k");
  // Field order stays Consul's.
  EXPECT_LT(r->body.find("\"LockIndex\""), r->body.find("\"CreateIndex\""));
}

TEST(KvEndpoint, BadReadOptionsAre400WithConsulsText) {
  RpcEndpoints e;
  auto r = e.get("/v1/kv/k?stale&consistent");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Cannot specify ?stale with ?consistent, conflicting semantics.\n");
  r = e.get("/v1/kv/k?index=abc");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Invalid index\n");
  r = e.get("/v1/kv/k?index=1&wait=forever");
  EXPECT_EQ(r->body, "Invalid wait time\n");
  r = e.get("/v1/kv/k?index=1&wait=10");  // Go's ParseDuration wants a unit
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Invalid wait time\n");
  r = e.get("/v1/kv/");  // only ?recurse or ?keys may read the root
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Missing key name\n");
  EXPECT_TRUE(e.rpc->queries.empty());
}

TEST(KvEndpoint, AnotherDatacenterIsNoPath) {
  RpcEndpoints e;
  auto r = e.get("/v1/kv/k?dc=dc2");
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "No path to datacenter\n");
  e.rpc->answer<KvGet>(std::nullopt);
  r = e.get("/v1/kv/k?dc=dc1");
  EXPECT_EQ(r->status, 404);
}

TEST(KvEndpoint, ABlockingQueryIsAnsweredWhenTheHandlerCallsBack) {
  RpcEndpoints e;
  auto r = e.get("/v1/kv/k?index=5&wait=1m");
  EXPECT_FALSE(r);  // parked: no thread waits, the callback holds the responder
  ASSERT_EQ(e.rpc->queries.size(), 1u);
  EXPECT_EQ(e.rpc->queries[0].options.min_index, 5u);
  EXPECT_FALSE(*e.pending);
  e.rpc->queries[0].done(QueryResponse{QueryMeta{6}, make_value<KvGet, QueryValue>(pair("k", "new", 6))});
  ASSERT_TRUE(*e.pending);
  EXPECT_EQ((*e.pending)->status, 200);
  EXPECT_EQ(header(**e.pending, "X-Consul-Index"), "6");
}

TEST(KvEndpoint, PutSetsTheValueAndFlagsAndAnswersTrue) {
  RpcEndpoints e;
  e.rpc->answer_write<KvApply>(false);  // a plain set is true whatever the store says
  auto r = e.call(Method::put, "/v1/kv/cfg/x?flags=42&token=t", "body bytes");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "true");
  const auto& w = e.rpc->last_write<KvApply>();
  EXPECT_EQ(w.op, api::KvOp::set);
  EXPECT_EQ(w.entry.key, "cfg/x");
  EXPECT_EQ(w.entry.flags, 42u);
  EXPECT_EQ(w.entry.value, "body bytes");
  EXPECT_EQ(e.rpc->writes.back().options.token, "t");

  e.rpc->answer_write<KvApply>(true);
  e.put("/v1/kv/empty");
  EXPECT_FALSE(e.rpc->last_write<KvApply>().entry.value.has_value());  // no body: null value
}

TEST(KvEndpoint, CasAcquireAndReleaseAnswerTheStoresVerdict) {
  RpcEndpoints e;
  e.rpc->answer_write<KvApply>(false);
  auto r = e.put("/v1/kv/k?cas=9", "v");
  EXPECT_EQ(r->body, "false");
  EXPECT_EQ(e.rpc->last_write<KvApply>().op, api::KvOp::cas);
  EXPECT_EQ(e.rpc->last_write<KvApply>().entry.raft.modify_index, 9u);

  e.rpc->answer_write<KvApply>(true);
  r = e.put("/v1/kv/lock?acquire=sess-1", "v");
  EXPECT_EQ(r->body, "true");
  EXPECT_EQ(e.rpc->last_write<KvApply>().op, api::KvOp::lock);
  EXPECT_EQ(e.rpc->last_write<KvApply>().entry.session, "sess-1");

  e.rpc->answer_write<KvApply>(false);
  r = e.put("/v1/kv/lock?release=sess-1");
  EXPECT_EQ(r->body, "false");
  EXPECT_EQ(e.rpc->last_write<KvApply>().op, api::KvOp::unlock);
}

TEST(KvEndpoint, BadPutParametersAre400NamingTheParameter) {
  RpcEndpoints e;
  auto r = e.put("/v1/kv/k?flags=abc");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("?flags"), std::string::npos);
  r = e.put("/v1/kv/k?cas=-1");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("?cas"), std::string::npos);
  r = e.put("/v1/kv/k?cas=1&acquire=s");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Conflicting flags: cas&acquire\n");
  r = e.put("/v1/kv/k?acquire=");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("?acquire"), std::string::npos);
  r = e.put("/v1/kv/");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Missing key name\n");
  EXPECT_TRUE(e.rpc->writes.empty());
}

TEST(KvEndpoint, AValueOver512KiBIs413) {
  RpcEndpoints e;
  auto r = e.put("/v1/kv/big", std::string(512 * 1024 + 1, 'x'));
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("too large"), std::string::npos);
  EXPECT_EQ(r->body.find('\n'), r->body.size() - 1);  // one line
  EXPECT_TRUE(e.rpc->writes.empty());
  e.rpc->answer_write<KvApply>(true);
  r = e.put("/v1/kv/big", std::string(512 * 1024, 'x'));
  EXPECT_EQ(r->status, 200);
}

TEST(KvEndpoint, DeleteKeyTreeAndCas) {
  RpcEndpoints e;
  e.rpc->answer_write<KvApply>(false);
  auto r = e.call(Method::del, "/v1/kv/k");
  EXPECT_EQ(r->body, "true");
  EXPECT_EQ(e.rpc->last_write<KvApply>().op, api::KvOp::delete_key);

  e.rpc->answer_write<KvApply>(true);
  e.call(Method::del, "/v1/kv/?recurse");
  EXPECT_EQ(e.rpc->last_write<KvApply>().op, api::KvOp::delete_tree);
  EXPECT_EQ(e.rpc->last_write<KvApply>().entry.key, "");

  e.rpc->answer_write<KvApply>(false);
  r = e.call(Method::del, "/v1/kv/k?cas=3");
  EXPECT_EQ(r->body, "false");
  EXPECT_EQ(e.rpc->last_write<KvApply>().op, api::KvOp::delete_cas);
  EXPECT_EQ(e.rpc->last_write<KvApply>().entry.raft.modify_index, 3u);

  r = e.call(Method::del, "/v1/kv/");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Missing key name\n");
  r = e.call(Method::del, "/v1/kv/k?recurse&cas=1");
  EXPECT_EQ(r->status, 400);
}

TEST(KvEndpoint, HandlerErrorsMapAsTheContractSays) {
  RpcEndpoints e;
  e.rpc->fail_query(Error(errc::unavailable, "No cluster leader"));
  auto r = e.get("/v1/kv/k");
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "No cluster leader\n");
  e.rpc->fail_write(Error(errc::invalid_argument, "Invalid session"));
  r = e.put("/v1/kv/k?acquire=x");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Invalid session\n");
  e.rpc->fail_write(Error(errc::permission_denied, "Permission denied"));
  EXPECT_EQ(e.put("/v1/kv/k")->status, 403);
  e.rpc->fail_write(Error(errc::too_large, "too big"));
  EXPECT_EQ(e.put("/v1/kv/k")->status, 413);
  e.rpc->fail_query(Error(errc::timeout, "rpc error: timeout"));
  EXPECT_EQ(e.get("/v1/kv/k")->status, 500);
}

TEST(KvEndpoint, NoServersIs500) {
  RpcEndpoints e;
  e.ctx.rpc = nullptr;
  auto r = e.get("/v1/kv/k");
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "No known Consul servers\n");
  EXPECT_EQ(e.put("/v1/kv/k")->status, 500);
}

TEST(KvEndpoint, FilterIsIgnoredAsConsulIgnoresItOnKv) {
  RpcEndpoints e;
  e.rpc->answer<KvList>({pair("p/a", "1"), pair("p/b", "2")});
  auto r = e.get("/v1/kv/p/?recurse&filter=" + cairn::http::percent_encode("Key == nothing ((("));
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(nlohmann::json::parse(r->body).size(), 2u);
}

TEST(KvEndpoint, AHandlerAnsweringTheWrongTypeIs500NotACrash) {
  RpcEndpoints e;
  e.rpc->answer<KvList>({});
  auto r = e.get("/v1/kv/k");
  EXPECT_EQ(r->status, 500);
}

}  // namespace
}  // namespace cairn::agent::test
