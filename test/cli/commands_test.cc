// `cairn kv|catalog|operator` against a small in-process HTTP server
// (core/io/http_server + a Router whose handlers record each request and
// answer a scripted response): the requests made, what is printed, exit codes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include <nlohmann/json.hpp>

#include "test/cli/cli_harness.h"

namespace cairn::cli {
namespace {

using namespace std::chrono_literals;
using http::Method;
using http::Request;
using http::Response;

struct Seen {
  std::string method;
  std::string target;  // as sent (escapes intact)
  std::string body;
};

class CliCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto m : {Method::get, Method::put, Method::del, Method::post}) {
      for (const char* pattern : {"/v1/kv/<key...>", "/v1/catalog/<what...>", "/v1/operator/raft/<what...>"}) {
        http_.router.add_sync(m, pattern, [this](Request& r) {
          std::lock_guard lock(mu_);
          seen_.push_back({std::string(http::method_name(r.method)), r.target, r.body});
          std::string key = std::string(http::method_name(r.method)) + " " + r.path;
          auto it = answers_.find(key);
          if (it == answers_.end()) return Response::error(404, "");
          return it->second;
        });
      }
    }
    http_.start();
  }

  void TearDown() override {
    http_.stop();
    if (!tmp_.empty()) std::filesystem::remove(tmp_);
  }

  void answer(const std::string& method_path, Response r) {
    std::lock_guard lock(mu_);
    answers_[method_path] = std::move(r);
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

  test::CliRun run(std::vector<std::string> args, size_t depth) { return test::run_cli(std::move(args), depth, http_.addr); }

  std::string temp_file(const std::string& content) {
    tmp_ = (std::filesystem::temp_directory_path() / ("cairn-cli-test-" + std::to_string(::getpid()))).string();
    std::ofstream(tmp_, std::ios::binary) << content;
    return tmp_;
  }

  test::HttpFixture http_;
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::map<std::string, Response> answers_;
  std::string tmp_;
};

const char* kPair = R"([{"LockIndex":0,"Key":"app/port","Flags":3,"Value":"ODA4MA==","CreateIndex":5,"ModifyIndex":9}])";

TEST_F(CliCommands, KvGetPrintsTheRawValue) {
  answer("GET /v1/kv/app/port", Response::json(kPair));
  auto r = run({"kv", "get", "/app/port"}, 2);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "8080\n");
  ASSERT_EQ(seen().size(), 1u);
  EXPECT_EQ(seen()[0].target, "/v1/kv/app/port");
}

TEST_F(CliCommands, KvGetDetailedIsConsulsTable) {
  answer("GET /v1/kv/app/port", Response::json(kPair));
  auto r = run({"kv", "get", "--detailed", "app/port"}, 2);
  EXPECT_EQ(r.out,
            "CreateIndex      5\n"
            "Flags            3\n"
            "Key              app/port\n"
            "LockIndex        0\n"
            "ModifyIndex      9\n"
            "Session          -\n"
            "Value            8080\n");
}

TEST_F(CliCommands, KvGetOfAMissingKeyFails) {
  auto r = run({"kv", "get", "nope"}, 2);
  EXPECT_EQ(r.code, kExitError);
  EXPECT_EQ(r.err, "Error! No key exists at: nope\n");
  r = run({"kv", "get"}, 2);
  EXPECT_EQ(r.code, kExitError);
  EXPECT_EQ(r.err, "Error! Missing KEY argument\n");
}

TEST_F(CliCommands, KvGetRecurseAndKeys) {
  answer("GET /v1/kv/app/", Response::json(R"([{"Key":"app/a","Flags":0,"Value":"MQ==","CreateIndex":1,"ModifyIndex":1,"LockIndex":0},
                                               {"Key":"app/b","Flags":0,"Value":null,"CreateIndex":2,"ModifyIndex":2,"LockIndex":0}])"));
  auto r = run({"kv", "get", "--recurse", "app/"}, 2);
  EXPECT_EQ(r.out, "app/a:1\napp/b:\n");
  EXPECT_EQ(seen().back().target, "/v1/kv/app/?recurse");
  r = run({"kv", "get", "--recurse", "--base64", "app/"}, 2);
  EXPECT_EQ(r.out, "app/a:MQ==\napp/b:\n");

  answer("GET /v1/kv/app/", Response::json(R"(["app/a","app/sub/"])"));
  r = run({"kv", "get", "--keys", "app/"}, 2);
  EXPECT_EQ(r.out, "app/a\napp/sub/\n");
  EXPECT_EQ(seen().back().target, "/v1/kv/app/?keys&separator=%2F");
}

TEST_F(CliCommands, KvPutSendsTheValueAndFlags) {
  answer("PUT /v1/kv/cfg/x", Response::json("true"));
  auto r = run({"kv", "put", "--flags", "42", "cfg/x", "hello world"}, 2);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "Success! Data written to: cfg/x\n");
  EXPECT_EQ(seen().back().method, "PUT");
  EXPECT_EQ(seen().back().target, "/v1/kv/cfg/x?flags=42");
  EXPECT_EQ(seen().back().body, "hello world");

  r = run({"kv", "put", "cfg/x", "-5"}, 2);  // flags end at KEY, as in Go
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(seen().back().body, "-5");
  r = run({"kv", "put", "--bogus", "cfg/x"}, 2);
  EXPECT_EQ(r.code, kExitUsage);
  r = run({"kv", "put", "cfg/x", "a", "b"}, 2);
  EXPECT_EQ(r.code, kExitError);
  EXPECT_EQ(r.err, "Error! Too many arguments (expected 1 or 2, got 3)\n");
  r = run({"kv", "put", "--base64", "cfg/x", "aGk="}, 2);
  EXPECT_EQ(seen().back().body, "hi");
  r = run({"kv", "put", "cfg/x", "@" + temp_file("from a file\n")}, 2);
  EXPECT_EQ(seen().back().body, "from a file\n");
}

TEST_F(CliCommands, KvPutCasAndLocks) {
  answer("PUT /v1/kv/k", Response::json("false"));
  auto r = run({"kv", "put", "--cas", "--modify-index", "7", "k", "v"}, 2);
  EXPECT_EQ(r.code, kExitError);
  EXPECT_EQ(r.err, "Error! Did not write to k: CAS failed\n");
  EXPECT_EQ(seen().back().target, "/v1/kv/k?cas=7");

  r = run({"kv", "put", "--cas", "k", "v"}, 2);
  EXPECT_EQ(r.err, "Must specify -modify-index with -cas!\n");
  r = run({"kv", "put", "--acquire", "k"}, 2);
  EXPECT_EQ(r.err, "Error! Missing -session (required with -acquire and -release)\n");

  answer("PUT /v1/kv/k", Response::json("true"));
  r = run({"kv", "put", "--acquire", "--session", "s-1", "k", "v"}, 2);
  EXPECT_EQ(r.out, "Success! Lock acquired on: k\n");
  EXPECT_EQ(seen().back().target, "/v1/kv/k?acquire=s-1");
  r = run({"kv", "put", "--release", "--session", "s-1", "k"}, 2);
  EXPECT_EQ(r.out, "Success! Lock released on: k\n");
}

TEST_F(CliCommands, KvPutReportsTheAgentsError) {
  answer("PUT /v1/kv/k", Response::error(413, "Request body too large"));
  auto r = run({"kv", "put", "k", "v"}, 2);
  EXPECT_EQ(r.code, kExitError);
  EXPECT_EQ(r.err, "Error! Failed writing data: Unexpected response code: 413 (Request body too large)\n");
}

TEST_F(CliCommands, KvDelete) {
  answer("DELETE /v1/kv/a/b", Response::json("true"));
  auto r = run({"kv", "delete", "a/b"}, 2);
  EXPECT_EQ(r.out, "Success! Deleted key: a/b\n");
  r = run({"kv", "delete", "--recurse", "a/b"}, 2);
  EXPECT_EQ(r.out, "Success! Deleted keys with prefix: a/b\n");
  EXPECT_EQ(seen().back().target, "/v1/kv/a/b?recurse");
  answer("DELETE /v1/kv/a/b", Response::json("false"));
  r = run({"kv", "delete", "--cas", "--modify-index", "4", "a/b"}, 2);
  EXPECT_EQ(r.code, kExitError);
  EXPECT_EQ(r.err, "Error! Did not delete key a/b: CAS failed\n");
  EXPECT_EQ(seen().back().target, "/v1/kv/a/b?cas=4");
  r = run({"kv", "delete", "--cas", "--recurse", "--modify-index", "4", "a"}, 2);
  EXPECT_EQ(r.err, "Cannot specify both -cas and -recurse!\n");
}

TEST_F(CliCommands, KvExportAndImportRoundTrip) {
  answer("GET /v1/kv/app/", Response::json(R"([{"Key":"app/a","Flags":2,"Value":"MQ==","CreateIndex":1,"ModifyIndex":1,"LockIndex":0}])"));
  auto r = run({"kv", "export", "app/"}, 2);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j, nlohmann::json::parse(R"([{"key":"app/a","flags":2,"value":"MQ=="}])"));
  EXPECT_NE(r.out.find("\n\t{"), std::string::npos);  // indented with tabs, as Consul

  answer("PUT /v1/kv/app/a", Response::json("true"));
  r = run({"kv", "import", "@" + temp_file(r.out)}, 2);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "Imported: app/a\n");
  EXPECT_EQ(seen().back().target, "/v1/kv/app/a?flags=2");
  EXPECT_EQ(seen().back().body, "1");

  r = run({"kv", "export", "missing/"}, 2);
  EXPECT_EQ(r.out, "[]\n");
}

TEST_F(CliCommands, CatalogDatacentersNodesAndServices) {
  answer("GET /v1/catalog/datacenters", Response::json(R"(["dc1"])"));
  auto r = run({"catalog", "datacenters"}, 2);
  EXPECT_EQ(r.out, "dc1\n");

  answer("GET /v1/catalog/nodes",
         Response::json(R"([{"ID":"40e4a748-2192-161a-0510-9bf59fe950b5","Node":"alpha","Address":"10.0.0.1",
                             "Datacenter":"dc1","TaggedAddresses":{"lan":"10.0.0.1"},"Meta":{"os":"linux"},
                             "CreateIndex":1,"ModifyIndex":1}])"));
  r = run({"catalog", "nodes"}, 2);
  EXPECT_EQ(r.out, "Node   ID        Address   DC\nalpha  40e4a748  10.0.0.1  dc1\n");
  r = run({"catalog", "nodes", "--detailed"}, 2);
  EXPECT_NE(r.out.find("40e4a748-2192-161a-0510-9bf59fe950b5"), std::string::npos);
  EXPECT_NE(r.out.find("lan=10.0.0.1"), std::string::npos);
  EXPECT_NE(r.out.find("os=linux"), std::string::npos);

  answer("GET /v1/catalog/services", Response::json(R"({"consul":[],"web":["v2","blue"]})"));
  r = run({"catalog", "services"}, 2);
  EXPECT_EQ(r.out, "consul\nweb\n");
  r = run({"catalog", "services", "--tags"}, 2);
  EXPECT_EQ(r.out, "consul\nweb         blue,v2\n");  // Consul's tabwriter pads by 6
}

TEST_F(CliCommands, CatalogNodesFlagsBecomeQueryParameters) {
  answer("GET /v1/catalog/nodes", Response::json(R"([{"ID":"","Node":"alpha","Address":"10.0.0.1","Datacenter":"dc1",
                                                      "TaggedAddresses":{},"Meta":{},"CreateIndex":1,"ModifyIndex":1}])"));
  auto r = run({"catalog", "nodes", "--node-meta", "os=linux", "--near", "_agent"}, 2);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(seen().back().target, "/v1/catalog/nodes?node-meta=os%3Alinux&near=_agent");

  answer("GET /v1/catalog/service/web",
         Response::json(R"([{"ID":"","Node":"alpha","Address":"10.0.0.1","Datacenter":"dc1","TaggedAddresses":{},
                             "NodeMeta":{},"ServiceID":"web1","ServiceName":"web","ServiceTags":[],"ServicePort":80,
                             "CreateIndex":1,"ModifyIndex":1},
                            {"ID":"","Node":"alpha","Address":"10.0.0.1","Datacenter":"dc1","TaggedAddresses":{},
                             "NodeMeta":{},"ServiceID":"web2","ServiceName":"web","ServiceTags":[],"ServicePort":81,
                             "CreateIndex":1,"ModifyIndex":1}])"));
  r = run({"catalog", "nodes", "--service", "web"}, 2);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "Node   ID  Address   DC\nalpha      10.0.0.1  dc1\n");  // each node once
}

TEST_F(CliCommands, CatalogServicesOfOneNode) {
  answer("GET /v1/catalog/node/alpha",
         Response::json(R"({"Node":{"Node":"alpha"},"Services":{"web1":{"ID":"web1","Service":"web","Tags":["b","a"]},
                                                                  "db1":{"ID":"db1","Service":"db","Tags":[]}}})"));
  auto r = run({"catalog", "services", "--node", "alpha", "--tags"}, 2);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "db\nweb      a,b\n");
  answer("GET /v1/catalog/node/ghost", Response::json("null"));
  r = run({"catalog", "services", "--node", "ghost"}, 2);
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.err, "No services match the given query - try expanding your search.\n");
}

TEST_F(CliCommands, OperatorRaft) {
  answer("GET /v1/operator/raft/configuration",
         Response::json(R"({"Servers":[{"ID":"id-1","Node":"alice","Address":"10.0.0.1:8300","Leader":true,
                                         "ProtocolVersion":"3","Voter":true}],"Index":4})"));
  auto r = run({"operator", "raft", "list-peers"}, 3);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "Node   ID    Address        State   Voter  RaftProtocol\nalice  id-1  10.0.0.1:8300  leader  true   3\n");

  answer("DELETE /v1/operator/raft/peer", Response{});
  r = run({"operator", "raft", "remove-peer", "--id", "id-2"}, 3);
  EXPECT_EQ(r.out, "Removed peer with id \"id-2\"\n");
  EXPECT_EQ(seen().back().target, "/v1/operator/raft/peer?id=id-2");
  r = run({"operator", "raft", "remove-peer", "--address", "10.0.0.2:8300"}, 3);
  EXPECT_EQ(r.out, "Removed peer with address \"10.0.0.2:8300\"\n");
  r = run({"operator", "raft", "remove-peer"}, 3);
  EXPECT_EQ(r.code, kExitError);

  answer("POST /v1/operator/raft/transfer-leader", Response::json(R"({"OldLeader":"","NewLeader":"id-2","Success":true})"));
  r = run({"operator", "raft", "transfer-leader", "--id", "id-2"}, 3);
  EXPECT_EQ(r.out, "Success\n");
  EXPECT_EQ(seen().back().target, "/v1/operator/raft/transfer-leader?id=id-2");
}

TEST_F(CliCommands, AMissingSubcommandIsAUsageError) {
  EXPECT_EQ(run({"kv"}, 1).code, kExitUsage);
}

}  // namespace
}  // namespace cairn::cli
