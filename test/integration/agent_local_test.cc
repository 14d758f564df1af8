// The agent's local services and checks through a real `cairn agent -dev`
// process (with its own data dir, so a restart keeps it): registration with a
// TTL check reaches the catalog and health endpoints, TTL updates move the
// instance in and out of ?passing, a restart keeps the registration,
// anti-entropy repairs a catalog edited behind the agent's back, and reload
// (HTTP, `cairn reload`, SIGHUP) re-reads the config dir's services.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/io/http_client.h"
#include "test/support/process.h"

namespace cairn::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// Polls fn until it returns true or the timeout passes.
template <typename F>
bool eventually(F fn, Duration timeout, Duration every = 100ms) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fn()) return true;
    std::this_thread::sleep_for(every);
  }
  return fn();
}

class AgentLocalTest : public ::testing::Test {
 protected:
  AgentLocalTest() {
    std::filesystem::create_directories(config_dir());
    write(dir_.file("base.json"), R"({"ports":{"dns":-1,"http":0,"serf_lan":0,"server":0}})");
  }
  ~AgentLocalTest() override { stop(); }

  std::string config_dir() const { return dir_.file("conf.d"); }
  static void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

  void start() {
    std::vector<std::string> args{cairn_binary(), "agent", "-dev", "-node", "itest", "-data-dir", dir_.file("data"),
                                  "-config-file", dir_.file("base.json"), "-config-dir", config_dir()};
    agent_ = std::make_unique<Process>(args, dir_.file("agent." + std::to_string(starts_++) + ".log"));
    auto port = agent_->wait_for_log("Started HTTP server on 127\\.0\\.0\\.1:([0-9]+)", 20s);
    ASSERT_TRUE(port.has_value()) << agent_->log();
    http_addr_ = "127.0.0.1:" + *port;
    // A leader, so that catalog writes go through.
    ASSERT_TRUE(eventually([&] {
      auto r = call("GET", "/v1/status/leader");
      return r.ok() && r->status == 200 && r->body != "\"\"";
    }, 20s)) << agent_->log();
  }
  void stop() {
    if (!agent_) return;
    agent_->signal(SIGTERM);
    EXPECT_TRUE(agent_->wait_exit(20s).has_value());
    agent_.reset();
  }

  Result<api::HttpResult> call(const std::string& method, const std::string& target, const std::string& body = {}) {
    api::HttpClient c(*api::HttpAddress::parse(http_addr_));
    return c.request(method, target, body, 10s);
  }
  int status(const std::string& method, const std::string& target, const std::string& body = {}) {
    auto r = call(method, target, body);
    return r.ok() ? r->status : -1;
  }
  json get_json(const std::string& target) {
    auto r = call("GET", target);
    if (!r.ok() || r->status != 200) return json();
    return json::parse(r->body, nullptr, false);
  }
  // How many instances /v1/<path> lists.
  size_t count(const std::string& target) {
    auto j = get_json(target);
    return j.is_array() ? j.size() : 0;
  }

  TempDir dir_;
  std::unique_ptr<Process> agent_;
  std::string http_addr_;
  int starts_ = 0;
};

TEST_F(AgentLocalTest, TtlServiceReachesTheCatalogAndMovesWithItsStatus) {
  start();
  ASSERT_EQ(status("PUT", "/v1/agent/service/register",
                   R"({"Name":"web","ID":"web-1","Port":8080,"Tags":["v1"],"Check":{"TTL":"30s"}})"),
            200);
  auto services = get_json("/v1/agent/services");
  ASSERT_TRUE(services.contains("web-1")) << services.dump();
  EXPECT_EQ(services["web-1"]["Port"], 8080);

  ASSERT_TRUE(eventually([&] { return count("/v1/catalog/service/web") == 1; }, 10s)) << agent_->log();
  auto entry = get_json("/v1/catalog/service/web")[0];
  EXPECT_EQ(entry["Node"], "itest");
  EXPECT_EQ(entry["ServiceID"], "web-1");
  EXPECT_EQ(entry["ServiceTags"], json::array({"v1"}));
  ASSERT_TRUE(eventually([&] { return count("/v1/health/service/web") == 1; }, 10s));
  EXPECT_EQ(count("/v1/health/service/web?passing"), 0u);  // TTL checks start critical

  ASSERT_EQ(status("PUT", "/v1/agent/check/pass/service:web-1?note=ok"), 200);
  ASSERT_TRUE(eventually([&] { return count("/v1/health/service/web?passing") == 1; }, 10s)) << agent_->log();
  auto checks = get_json("/v1/health/checks/web");
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0]["Output"], "ok");
  EXPECT_EQ(status("GET", "/v1/agent/health/service/id/web-1"), 200);

  ASSERT_EQ(status("PUT", "/v1/agent/check/fail/service:web-1"), 200);
  ASSERT_TRUE(eventually([&] { return count("/v1/health/service/web?passing") == 0; }, 10s));
  EXPECT_EQ(status("GET", "/v1/agent/health/service/id/web-1"), 503);

  ASSERT_EQ(status("PUT", "/v1/agent/service/deregister/web-1"), 200);
  ASSERT_TRUE(eventually([&] { return count("/v1/catalog/service/web") == 0; }, 10s));
}

TEST_F(AgentLocalTest, ARestartKeepsApiRegistrations) {
  start();
  ASSERT_EQ(status("PUT", "/v1/agent/service/register", R"({"Name":"db","ID":"db/1","Port":5432,"Check":{"TTL":"1h"}})"),
            200);
  ASSERT_EQ(status("PUT", "/v1/agent/check/pass/service:db/1"), 200);
  ASSERT_EQ(status("PUT", "/v1/agent/check/register", R"({"Name":"mem","TTL":"1h","Status":"passing"})"), 200);  // a critical node check would hide db from ?passing
  stop();

  start();
  auto services = get_json("/v1/agent/services");
  ASSERT_TRUE(services.contains("db/1")) << services.dump() << agent_->log();
  EXPECT_EQ(services["db/1"]["Port"], 5432);
  auto checks = get_json("/v1/agent/checks");
  ASSERT_TRUE(checks.contains("mem"));
  EXPECT_EQ(checks["service:db/1"]["Status"], "passing");  // a TTL check's state is kept
  ASSERT_TRUE(eventually([&] { return count("/v1/health/service/db?passing") == 1; }, 10s))
      << get_json("/v1/health/service/db").dump() << agent_->log();
}

TEST_F(AgentLocalTest, AntiEntropyRepairsACatalogEditedBehindTheAgentsBack) {
  start();
  ASSERT_EQ(status("PUT", "/v1/agent/service/register", R"({"Name":"api","Port":9000})"), 200);
  ASSERT_TRUE(eventually([&] { return count("/v1/catalog/service/api") == 1; }, 10s));
  ASSERT_EQ(status("PUT", "/v1/catalog/deregister", R"({"Node":"itest","ServiceID":"api"})"), 200);
  ASSERT_TRUE(eventually([&] { return count("/v1/catalog/service/api") == 0; }, 10s));
  // A stray registration on our node that the agent never had goes too.
  ASSERT_EQ(status("PUT", "/v1/catalog/register",
                   R"({"Node":"itest","Address":"127.0.0.1","Service":{"Service":"stray","Port":1}})"),
            200);
  // The next full sync (the periodic one, or at once after a reload) repairs both.
  ASSERT_EQ(status("PUT", "/v1/agent/reload"), 200);
  ASSERT_TRUE(eventually([&] { return count("/v1/catalog/service/api") == 1; }, 10s)) << agent_->log();
  ASSERT_TRUE(eventually([&] { return count("/v1/catalog/service/stray") == 0; }, 10s)) << agent_->log();
  // The servers' own entries are left alone.
  auto node = get_json("/v1/catalog/node/itest");
  EXPECT_TRUE(node["Services"].contains("consul")) << node.dump();
  auto health = get_json("/v1/health/node/itest");
  bool serf = false;
  for (const auto& c : health) serf = serf || c["CheckID"] == "serfHealth";
  EXPECT_TRUE(serf) << health.dump();
}

TEST_F(AgentLocalTest, ReloadReadsTheConfigDirServices) {
  write(config_dir() + "/a.json", R"({"service":{"name":"from-file","port":1}})");
  start();
  ASSERT_TRUE(get_json("/v1/agent/services").contains("from-file"));
  ASSERT_EQ(status("PUT", "/v1/agent/service/register", R"({"Name":"from-api"})"), 200);

  std::filesystem::remove(config_dir() + "/a.json");
  write(config_dir() + "/b.json", R"({"services":[{"name":"second","port":2,"check":{"ttl":"1h"}}]})");
  auto r = run({cairn_binary(), "reload", "-http-addr", http_addr_}, dir_);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Configuration reload triggered"), std::string::npos);
  auto services = get_json("/v1/agent/services");
  EXPECT_FALSE(services.contains("from-file")) << services.dump();
  EXPECT_TRUE(services.contains("second"));
  EXPECT_TRUE(services.contains("from-api"));  // API registrations are untouched
  EXPECT_TRUE(get_json("/v1/agent/checks").contains("service:second"));

  write(config_dir() + "/c.json", R"({"service":{"name":"third"}})");
  agent_->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return get_json("/v1/agent/services").contains("third"); }, 10s)) << agent_->log();

  // A broken file: reload fails with the reason; nothing changes.
  write(config_dir() + "/d.json", R"({"service":{"name":"bad","port":"x"}})");
  auto bad = call("PUT", "/v1/agent/reload");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 500);
  EXPECT_NE(bad->body.find("d.json"), std::string::npos) << bad->body;
  EXPECT_TRUE(get_json("/v1/agent/services").contains("third"));
}

TEST_F(AgentLocalTest, ServicesCommandRegistersAndDeregisters) {
  start();
  write(dir_.file("svc.json"), R"({"service":{"name":"cli-svc","id":"cli/1","port":7}})");
  auto r = run({cairn_binary(), "services", "register", "-http-addr", http_addr_, dir_.file("svc.json")}, dir_);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Registered service: cli/1"), std::string::npos);
  EXPECT_TRUE(get_json("/v1/agent/services").contains("cli/1"));
  r = run({cairn_binary(), "services", "deregister", "-http-addr", http_addr_, "-id", "cli/1"}, dir_);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_FALSE(get_json("/v1/agent/services").contains("cli/1"));
  r = run({cairn_binary(), "services", "deregister", "-http-addr", http_addr_, "-id", "cli/1"}, dir_);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("Unknown service ID"), std::string::npos) << r.output;
  write(dir_.file("bad.json"), R"({"service":{"port":7}})");
  r = run({cairn_binary(), "services", "register", "-http-addr", http_addr_, dir_.file("bad.json")}, dir_);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("Missing service name"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace cairn::test
