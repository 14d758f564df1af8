// `cairn agent -dev` as a real process on 127.0.0.1 ephemeral ports.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "test/support/process.h"
#include "test/support/raw_http.h"

namespace cairn::test {
namespace {

using namespace std::chrono_literals;

class AgentDevTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{cairn_binary(), "agent", "-dev", "-http-port", "0", "-dns-port", "0", "-serf-lan-port", "0", "-node", "itest-node"};
    args.insert(args.end(), extra.begin(), extra.end());
    agent_ = std::make_unique<Process>(args, dir_.file("agent.log"));
    auto port = agent_->wait_for_log("Started HTTP server on 127\\.0\\.0\\.1:([0-9]+)", 10s);
    ASSERT_TRUE(port.has_value()) << agent_->log();
    port_ = static_cast<uint16_t>(std::stoi(*port));
  }
  std::string request(const std::string& raw) {
    RawConnection c("127.0.0.1", port_);
    EXPECT_TRUE(c.connected());
    c.send(raw);
    return c.read_response();
  }
  std::string get(const std::string& path) { return request("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n"); }

  TempDir dir_;
  std::unique_ptr<Process> agent_;
  uint16_t port_ = 0;
};

TEST_F(AgentDevTest, AgentSelfReportsConfig) {
  start();
  auto resp = get("/v1/agent/self");
  ASSERT_EQ(status_of(resp), 200) << resp;
  EXPECT_NE(resp.find("Content-Type: application/json"), std::string::npos);
  auto j = nlohmann::json::parse(body_of(resp));
  EXPECT_EQ(j["Config"]["Datacenter"], "dc1");
  EXPECT_EQ(j["Config"]["NodeName"], "itest-node");
  EXPECT_EQ(j["Config"]["NodeID"].get<std::string>().size(), 36u);
  EXPECT_FALSE(j["Config"]["Version"].get<std::string>().empty());
  EXPECT_EQ(j["Member"]["Name"], "itest-node");
  EXPECT_EQ(j["Member"]["Addr"], "127.0.0.1");
  EXPECT_GT(j["Member"]["Port"].get<int>(), 0);  // the gossip port actually bound
  EXPECT_EQ(j["Member"]["Tags"]["dc"], "dc1");
}

TEST_F(AgentDevTest, PrettyIndentsJson) {
  start();
  auto body = body_of(get("/v1/agent/self?pretty"));
  EXPECT_NE(body.find("\n    \"Config\""), std::string::npos);
}

TEST_F(AgentDevTest, StatusLeaderAnswersJsonString) {
  start();
  auto resp = get("/v1/status/leader");
  ASSERT_EQ(status_of(resp), 200);
  EXPECT_TRUE(nlohmann::json::parse(body_of(resp)).is_string());
  auto peers = get("/v1/status/peers");
  EXPECT_TRUE(nlohmann::json::parse(body_of(peers)).is_array());
}

TEST_F(AgentDevTest, MalformedRequestsGet400) {
  start();
  EXPECT_EQ(status_of(request("BLAH\r\n\r\n")), 400);
  EXPECT_EQ(status_of(get("/v1/agent/self%zz")), 400);
  EXPECT_EQ(status_of(get("/v1/agent/self?x=%G1")), 400);
  // The agent keeps serving afterwards.
  EXPECT_EQ(status_of(get("/v1/agent/self")), 200);
}

TEST_F(AgentDevTest, WrongMethodGets405WithAllow) {
  start();
  auto resp = request("DELETE /v1/agent/self HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(status_of(resp), 405);
  EXPECT_NE(resp.find("Allow: GET, OPTIONS"), std::string::npos);
  EXPECT_EQ(status_of(get("/v1/no/such/endpoint")), 404);
}

TEST_F(AgentDevTest, OversizedBodyGets413) {
  std::ofstream(dir_.file("limits.json")) << R"({"limits": {"http_max_body_bytes": 4096}})";
  start({"-config-file", dir_.file("limits.json")});
  auto resp = request("PUT /v1/agent/self HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" +
                      std::string(100000, 'x'));
  EXPECT_EQ(status_of(resp), 413) << resp;
}

TEST_F(AgentDevTest, SlowClientTripsTheReadDeadline) {
  std::ofstream(dir_.file("limits.json")) << R"({"limits": {"http_read_timeout": "500ms"}})";
  start({"-config-file", dir_.file("limits.json")});
  RawConnection slow("127.0.0.1", port_);
  slow.send("GET /v1/agent/self HTTP/1.1\r\nHost");
  auto begin = std::chrono::steady_clock::now();
  EXPECT_TRUE(slow.wait_closed(10s));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
  EXPECT_EQ(status_of(get("/v1/agent/self")), 200);
}

TEST_F(AgentDevTest, SigtermShutsDownCleanlyAndRemovesTheDevDataDir) {
  start();
  auto data_dir = agent_->wait_for_log("data_dir=(\\S+)", 5s);
  ASSERT_TRUE(data_dir.has_value());
  RawConnection idle("127.0.0.1", port_);
  idle.send("GET /v1/agent/self HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(status_of(idle.read_response()), 200);
  agent_->signal(SIGTERM);
  auto status = agent_->wait_exit(10s);
  ASSERT_TRUE(status.has_value()) << "agent did not exit after SIGTERM";
  EXPECT_EQ(*status, 0);
  EXPECT_NE(agent_->log().find("shutdown complete"), std::string::npos);
  EXPECT_TRUE(idle.wait_closed(2s));
  EXPECT_NE(::access(data_dir->c_str(), F_OK), 0) << "dev data dir left behind: " << *data_dir;
}

TEST_F(AgentDevTest, NodeIdPersistsInTheDataDir) {
  TempDir data;
  auto run_once = [&] {
    Process p({cairn_binary(), "agent", "-data-dir", data.path(), "-http-port", "0", "-dns-port", "0", "-serf-lan-port", "0", "-bind",
               "127.0.0.1"},
              dir_.file("p.log"));
    auto id = p.wait_for_log("id=([0-9a-f-]{36})", 10s);
    p.signal(SIGTERM);
    p.wait_exit(10s);
    return id.value_or("");
  };
  std::string first = run_once();
  ASSERT_EQ(first.size(), 36u);
  EXPECT_EQ(run_once(), first);
}

TEST_F(AgentDevTest, LeaveCommandShutsTheAgentDownGracefully) {
  start();
  auto r = run({cairn_binary(), "leave", "-http-addr", "127.0.0.1:" + std::to_string(port_)}, dir_);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Graceful leave complete"), std::string::npos);
  auto status = agent_->wait_exit(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
}

TEST_F(AgentDevTest, ClientCommandsReadTheAddressFromTheEnvironment) {
  start();
  ::setenv("CONSUL_HTTP_ADDR", ("127.0.0.1:" + std::to_string(port_)).c_str(), 1);
  auto r = run({cairn_binary(), "leave"}, dir_);
  ::unsetenv("CONSUL_HTTP_ADDR");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(agent_->wait_exit(10s).has_value());
}

TEST_F(AgentDevTest, LogJsonWritesOneJsonObjectPerLine) {
  start({"-log-json"});
  EXPECT_EQ(status_of(get("/v1/agent/self")), 200);
  std::istringstream lines(agent_->log());
  int parsed = 0;
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_TRUE(j.contains("@timestamp") && j.contains("@level") && j.contains("@module") && j.contains("@message"));
    ++parsed;
  }
  EXPECT_GE(parsed, 2);
}

TEST(CairnCli, LeaveWithoutAnAgentExitsOne) {
  TempDir dir;
  auto r = run({cairn_binary(), "leave", "-http-addr", "127.0.0.1:1"}, dir);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("Error leaving: error connecting to 127.0.0.1:1"), std::string::npos) << r.output;
  auto bad = run({cairn_binary(), "leave", "-http-addr", "127.0.0.1:99999"}, dir);
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("invalid port"), std::string::npos) << bad.output;
}

TEST(CairnCli, VersionExitsZero) {
  TempDir dir;
  auto r = run({cairn_binary(), "version"}, dir);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("Cairn v"), std::string::npos);
}

TEST(CairnCli, UsageErrorsExitTwo) {
  TempDir dir;
  EXPECT_EQ(run({cairn_binary()}, dir).status, 2);
  EXPECT_EQ(run({cairn_binary(), "agent", "-no-such-flag"}, dir).status, 2);
  EXPECT_EQ(run({cairn_binary(), "frobnicate"}, dir).status, 2);
}

TEST(CairnCli, HelpListsOnlyWorkingCommands) {
  TempDir dir;
  auto r = run({cairn_binary(), "--help"}, dir);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("agent"), std::string::npos);
  EXPECT_NE(r.output.find("validate"), std::string::npos);
  EXPECT_NE(r.output.find("intention"), std::string::npos);
  EXPECT_NE(r.output.find("config"), std::string::npos);
  EXPECT_NE(r.output.find("connect"), std::string::npos);  // connect proxy
  // Commands that do not work yet are not listed.
  EXPECT_EQ(r.output.find("acl"), std::string::npos);
}

TEST(CairnCli, AgentWithoutDataDirExitsOneNamingTheField) {
  TempDir dir;
  auto r = run({cairn_binary(), "agent", "-http-port", "0", "-dns-port", "0", "-serf-lan-port", "0"}, dir);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("data_dir"), std::string::npos) << r.output;
}

TEST(CairnCli, ValidateAcceptsAGoodDirectory) {
  TempDir dir;
  std::ofstream(dir.file("a.json")) << R"({"datacenter": "east", "data_dir": "/tmp/x"})";
  std::ofstream(dir.file("b.json")) << R"({"ports": {"http": 8600}, "limits": {"http_read_timeout": "1.5s"}})";
  auto r = run({cairn_binary(), "validate", dir.path()}, dir);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Configuration is valid!"), std::string::npos);
}

TEST(CairnCli, ValidateNamesTheFileAndFieldOfAnUnknownField) {
  TempDir dir;
  std::ofstream(dir.file("bad.json")) << R"({"data_dir": "/tmp/x", "no_such_thing": 1})";
  auto r = run({cairn_binary(), "validate", dir.file("bad.json")}, dir);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("bad.json: no_such_thing: unknown field"), std::string::npos) << r.output;
}

TEST(CairnCli, ValidateNamesTheFieldValueAndRange) {
  TempDir dir;
  std::ofstream(dir.file("c.json")) << R"({"data_dir": "/tmp/x", "ports": {"http": 70000}})";
  auto r = run({cairn_binary(), "validate", dir.path()}, dir);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("ports.http: invalid value 70000 (allowed: -1 (disabled), 0 (any free port) to 65535)"),
            std::string::npos)
      << r.output;
}

TEST(CairnCli, FlagsOverrideFiles) {
  TempDir dir;
  std::ofstream(dir.file("cfg.json")) << R"({"datacenter": "from-file"})";
  Process p({cairn_binary(), "agent", "-dev", "-http-port", "0", "-dns-port", "0", "-serf-lan-port", "0", "-config-file",
             dir.file("cfg.json"), "-datacenter", "from-flag"},
            dir.file("agent.log"));
  auto dc = p.wait_for_log("datacenter=(\\S+)", 10s);
  EXPECT_EQ(dc.value_or(""), "from-flag");
}

}  // namespace
}  // namespace cairn::test
