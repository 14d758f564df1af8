// /v1/status/* and /v1/operator/raft/* over a fake Handler.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test/agent/fake_rpc.h"

namespace cairn::agent::test {
namespace {

TEST(StatusEndpoint, LeaderAndPeersComeFromTheHandler) {
  RpcEndpoints e;
  e.rpc->answer<StatusLeader>("10.0.0.1:8300");
  auto r = e.get("/v1/status/leader");
  EXPECT_EQ(r->body, R"("10.0.0.1:8300")");
  EXPECT_EQ(header(*r, "Content-Type"), "application/json");
  e.rpc->answer<StatusPeers>({"10.0.0.1:8300", "10.0.0.2:8300"});
  r = e.get("/v1/status/peers");
  EXPECT_EQ(r->body, R"(["10.0.0.1:8300","10.0.0.2:8300"])");
  e.rpc->answer<StatusLeader>("");
  EXPECT_EQ(e.get("/v1/status/leader")->body, R"("")");
  e.rpc->answer<StatusPeers>({});
  EXPECT_EQ(e.get("/v1/status/peers")->body, "[]");
}

TEST(StatusEndpoint, NoServersIs500) {
  RpcEndpoints e;
  e.ctx.rpc = nullptr;
  EXPECT_EQ(e.get("/v1/status/leader")->body, "No known Consul servers\n");
}

TEST(OperatorRaftEndpoint, ConfigurationInConsulsShape) {
  RpcEndpoints e;
  RaftConfiguration c;
  c.servers = {{"id-1", "alice", "10.0.0.1:8300", true, true}, {"id-2", "bob", "10.0.0.2:8300", false, false}};
  c.index = 19;
  e.rpc->answer<OperatorRaftConfiguration>(c);
  auto r = e.get("/v1/operator/raft/configuration?stale");
  EXPECT_EQ(e.rpc->queries.back().options.consistency, Consistency::stale);
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j, nlohmann::json::parse(R"({"Servers":[
      {"ID":"id-1","Node":"alice","Address":"10.0.0.1:8300","Leader":true,"ProtocolVersion":"3","Voter":true},
      {"ID":"id-2","Node":"bob","Address":"10.0.0.2:8300","Leader":false,"ProtocolVersion":"3","Voter":false}],
      "Index":19})"));
}

TEST(OperatorRaftEndpoint, RemovePeerByIdOrAddress) {
  RpcEndpoints e;
  e.rpc->answer_write<OperatorRaftRemovePeer>(true);
  auto r = e.call(Method::del, "/v1/operator/raft/peer?id=id-2");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
  EXPECT_EQ(e.rpc->last_write<OperatorRaftRemovePeer>().id, "id-2");
  EXPECT_EQ(e.rpc->last_write<OperatorRaftRemovePeer>().address, "");

  e.rpc->answer_write<OperatorRaftRemovePeer>(true);
  e.call(Method::del, "/v1/operator/raft/peer?address=10.0.0.2:8300");
  EXPECT_EQ(e.rpc->last_write<OperatorRaftRemovePeer>().address, "10.0.0.2:8300");

  r = e.call(Method::del, "/v1/operator/raft/peer");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Must specify either ?id with the server's ID or ?address with IP:port of peer to remove\n");
  r = e.call(Method::del, "/v1/operator/raft/peer?id=a&address=b");
  EXPECT_EQ(r->body, "Must specify only one of ?id or ?address\n");
  e.rpc->fail_write(Error(errc::invalid_argument, "id \"x\" was not found in the Raft configuration"));
  r = e.call(Method::del, "/v1/operator/raft/peer?id=x");
  EXPECT_EQ(r->status, 400);
}

TEST(OperatorRaftEndpoint, TransferLeaderByPostOrPut) {
  RpcEndpoints e;
  e.rpc->answer_write<OperatorRaftTransferLeader>("id-2");
  auto r = e.call(Method::post, "/v1/operator/raft/transfer-leader?id=id-2");
  EXPECT_EQ(e.rpc->last_write<OperatorRaftTransferLeader>().id, "id-2");
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["NewLeader"], "id-2");
  EXPECT_EQ(j["Success"], true);
  e.rpc->answer_write<OperatorRaftTransferLeader>("id-3");
  r = e.put("/v1/operator/raft/transfer-leader");
  EXPECT_EQ(e.rpc->last_write<OperatorRaftTransferLeader>().id, "");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(e.get("/v1/operator/raft/transfer-leader")->status, 405);
}

}  // namespace
}  // namespace cairn::agent::test
