// PUT /v1/txn and GET/PUT /v1/snapshot over a fake Handler, through the real
// Router: body decoding, the read-only path, 409 and 413 shapes, headers.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test/agent/fake_rpc.h"

namespace cairn::agent::test {
namespace {

struct TxnEndpoints : RpcEndpoints {
  TxnEndpoints() {
    http::register_txn(router, ctx);
    http::register_snapshot(router, ctx);
  }
};

std::string ops_json(size_t n) {
  nlohmann::json ops = nlohmann::json::array();
  for (size_t i = 0; i < n; ++i) ops.push_back({{"KV", {{"Verb", "get"}, {"Key", "k" + std::to_string(i)}}}});
  return ops.dump();
}

TEST(TxnEndpoint, WriteTransactionGoesThroughRaftWithDecodedOps) {
  TxnEndpoints e;
  api::KVPair written;
  written.key = "a";
  written.raft = {9, 9};
  e.rpc->answer_write<Txn>(api::TxnResponse{{written}, {}});
  auto r = e.put("/v1/txn", R"([{"KV":{"Verb":"set","Key":"a","Value":"aGVsbG8=","Flags":3}},
                               {"kv":{"verb":"cas","key":"b","index":4}},
                               {"Node":{"Verb":"get","Node":{"Node":"n1"}}},
                               {"Service":{"Verb":"delete","Node":"n1","Service":{"ID":"web1"}}},
                               {"Check":{"Verb":"get","Check":{"Node":"n1","CheckID":"c1"}}}])");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const auto& w = e.rpc->last_write<Txn>();
  ASSERT_EQ(w.ops.size(), 5u);
  auto& set = std::get<api::TxnKvOp>(w.ops[0]);
  EXPECT_EQ(set.verb, api::TxnVerb::set);
  EXPECT_EQ(set.entry.value, "hello");
  EXPECT_EQ(set.entry.flags, 3u);
  EXPECT_EQ(std::get<api::TxnKvOp>(w.ops[1]).entry.raft.modify_index, 4u);
  EXPECT_EQ(std::get<api::TxnNodeOp>(w.ops[2]).node.datacenter, "dc1");  // the agent's, when not given
  EXPECT_EQ(std::get<api::TxnServiceOp>(w.ops[3]).service.id, "web1");
  EXPECT_EQ(std::get<api::TxnCheckOp>(w.ops[4]).check.check_id, "c1");
  auto j = nlohmann::json::parse(r->body);
  EXPECT_TRUE(j["Errors"].is_null());
  ASSERT_EQ(j["Results"].size(), 1u);
  EXPECT_EQ(j["Results"][0]["KV"]["Key"], "a");
  EXPECT_TRUE(j["Results"][0]["KV"]["Value"].is_null());
  EXPECT_EQ(j["Results"][0]["KV"]["ModifyIndex"], 9);
}

TEST(TxnEndpoint, RolledBackTransactionIs409WithTheErrors) {
  TxnEndpoints e;
  e.rpc->answer_write<Txn>(api::TxnResponse{{}, {{1, "failed to set key \"b\", index is stale"}}});
  auto r = e.put("/v1/txn", R"([{"KV":{"Verb":"set","Key":"a"}},{"KV":{"Verb":"cas","Key":"b","Index":1}}])");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409);
  EXPECT_EQ(header(*r, "Content-Type"), "application/json");
  auto j = nlohmann::json::parse(r->body);
  EXPECT_TRUE(j["Results"].is_null());
  ASSERT_EQ(j["Errors"].size(), 1u);
  EXPECT_EQ(j["Errors"][0]["OpIndex"], 1);
  EXPECT_EQ(j["Errors"][0]["What"], "failed to set key \"b\", index is stale");
}

TEST(TxnEndpoint, ReadOnlyTransactionIsAQueryWithConsistencyAndHeaders) {
  TxnEndpoints e;
  api::KVPair kv;
  kv.key = "k0";
  kv.value = "v";
  e.rpc->answer<TxnRead>(api::TxnResponse{{kv}, {}}, QueryMeta{77, std::chrono::milliseconds(30), true});
  auto r = e.put("/v1/txn?stale", ops_json(1));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(e.rpc->writes.empty());
  ASSERT_EQ(e.rpc->queries.size(), 1u);
  EXPECT_EQ(e.rpc->queries.back().options.consistency, Consistency::stale);
  EXPECT_EQ(e.rpc->last_query<TxnRead>().ops.size(), 1u);
  EXPECT_EQ(header(*r, "X-Consul-KnownLeader"), "true");
  EXPECT_EQ(header(*r, "X-Consul-LastContact"), "30");
  EXPECT_EQ(header(*r, "X-Consul-Index"), "77");
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["Results"][0]["KV"]["Value"], "dg==");
}

TEST(TxnEndpoint, ReadOnlyRollbackIsAlso409) {
  TxnEndpoints e;
  e.rpc->answer<TxnRead>(api::TxnResponse{{}, {{0, "key \"k0\" doesn't exist"}}});
  auto r = e.put("/v1/txn", ops_json(1));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409);
}

TEST(TxnEndpoint, SixtyFiveOpsAre413AndSixtyFourPass) {
  TxnEndpoints e;
  auto r = e.put("/v1/txn", ops_json(65));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->body, "Transaction contains too many operations (65 > 64)\n");
  EXPECT_TRUE(e.rpc->queries.empty());
  e.rpc->answer<TxnRead>(api::TxnResponse{});
  r = e.put("/v1/txn", ops_json(64));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(TxnEndpoint, BadBodiesAre400NamingTheOp) {
  TxnEndpoints e;
  struct Case {
    std::string body, want;
  };
  for (const auto& c : std::vector<Case>{
           {"{}", "Failed to parse body: body: expected an array, got object"},
           {R"([{"KV":{"Verb":"frob","Key":"a"}}])", "Failed to parse body: [0].KV.Verb: unknown verb \"frob\""},
           {R"([{"KV":{"Key":"a"}}])", "Failed to parse body: [0].KV.Verb: missing"},
           {R"([{"KV":{"Verb":"set","Key":"a","Value":"***"}}])", "Failed to parse body: [0].KV.Value"},
           {R"([{"KV":{"Verb":"set","Key":"a","Flags":"x"}}])", "Failed to parse body: [0].KV.Flags"},
           {R"([{"Bogus":{}}])", "Failed to parse body: [0]: no operation specified"},
           {R"([{"KV":{"Verb":"get","Key":"a"},"Node":{"Verb":"get"}}])", "only one of KV, Node, Service, Check"},
           {"[", "Failed to parse body: "},
       }) {
    auto r = e.put("/v1/txn", c.body);
    ASSERT_TRUE(r) << c.body;
    EXPECT_EQ(r->status, 400) << c.body;
    EXPECT_NE(r->body.find(c.want), std::string::npos) << c.body << " -> " << r->body;
  }
  EXPECT_TRUE(e.rpc->queries.empty());
  EXPECT_TRUE(e.rpc->writes.empty());
}

TEST(TxnEndpoint, OversizedBodyIs413WithConsulsText) {
  TxnEndpoints e;
  auto r = e.put("/v1/txn", std::string(512 * 1024 + 1, ' '));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->body, "Request body too large, max size: 524288 bytes\n");
  EXPECT_TRUE(e.rpc->writes.empty());
}

TEST(TxnEndpoint, ServerErrorsMapToStatus) {
  TxnEndpoints e;
  e.rpc->fail_write(Error(errc::unavailable, "No cluster leader"));
  auto r = e.put("/v1/txn", R"([{"KV":{"Verb":"delete","Key":"a"}}])");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "No cluster leader\n");
}

TEST(SnapshotEndpoint, GetAnswersTheArchiveBytesWithItsIndex) {
  TxnEndpoints e;
  std::string archive("CAIRNSNAP\0\1bytes", 16);
  e.rpc->answer<SnapshotSave>(archive, QueryMeta{42});
  auto r = e.get("/v1/snapshot?stale");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, archive);
  EXPECT_EQ(header(*r, "X-Consul-Index"), "42");
  EXPECT_EQ(e.rpc->queries.back().options.consistency, Consistency::stale);
}

TEST(SnapshotEndpoint, PutSendsTheBodyAsTheArchive) {
  TxnEndpoints e;
  e.rpc->answer_write<SnapshotRestore>(true);
  auto r = e.put("/v1/snapshot", "ARCHIVE");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(e.rpc->last_write<SnapshotRestore>().archive, "ARCHIVE");
}

TEST(SnapshotEndpoint, BadArchiveIs400AndEmptyBodyNeverReachesTheServer) {
  TxnEndpoints e;
  auto r = e.put("/v1/snapshot", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(e.rpc->writes.empty());
  e.rpc->fail_write(Error(errc::invalid_argument, "Invalid snapshot: snapshot: checksum mismatch"));
  r = e.put("/v1/snapshot", "garbage");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Invalid snapshot: snapshot: checksum mismatch\n");
}

}  // namespace
}  // namespace cairn::agent::test
