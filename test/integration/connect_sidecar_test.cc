// Sidecar registration end to end on a real `cairn agent -dev`: a service
// registered with Connect.SidecarService gets its connect-proxy sibling, which
// anti-entropy puts in the catalog; /v1/catalog/connect, /v1/health/connect
// (blocking, ?passing) and DNS <svc>.connect return it; deregistering the
// parent removes it everywhere.
#include <gtest/gtest.h>
#include <unistd.h>

#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "test/proxy/sockets.h"
#include "test/support/agents.h"

namespace cairn::test {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

// A TCP port on 127.0.0.1 that accepts connections (kernel backlog), for the
// sidecar's "Connect Sidecar Listening" check.
class OpenPort {
 public:
  OpenPort() : fd_(sockets::listen_on(port_)) {}
  ~OpenPort() { ::close(fd_); }
  int port() const { return port_; }

 private:
  uint16_t port_ = 0;
  int fd_ = -1;
};

class ConnectSidecarTest : public AgentsFixture {
 protected:
  void SetUp() override {
    dns_port_flag_ = "0";
    agent_ = &start("sc-agent", {"-dev"});
    auto dns = agent_->process->wait_for_log("Started DNS server on 127\\.0\\.0\\.1:([0-9]+) \\(udp\\)", 10s);
    ASSERT_TRUE(dns) << agent_->process->log();
    dns_port_ = *dns;
    ASSERT_TRUE(wait_for_leader(*agent_));
  }
  Json get_json(const std::string& target, std::string* index = nullptr) {
    auto r = http(*agent_, "GET", target);
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return Json();
    EXPECT_EQ(r->status, 200) << target << ": " << r->body;
    if (index) *index = r->header("X-Consul-Index");
    return Json::parse(r->body, nullptr, false);
  }
  // Polls `target` until `done(body)` (anti-entropy and checks run on their own time).
  Json wait_for(const std::string& target, const std::function<bool(const Json&)>& done) {
    Json j;
    for (int i = 0; i < 400; ++i) {  // up to ~40 s: the TCP check's first run is staggered over its 10 s
      j = get_json(target);
      if (done(j)) return j;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << target << " never got there: " << j.dump();
    return j;
  }
  std::vector<std::string> dig(const std::string& name, const std::string& type) {
    auto r = run({"/usr/bin/dig", "@127.0.0.1", "-p", dns_port_, "+short", "+time=3", "+tries=1", name, type}, dir_);
    std::vector<std::string> lines;
    std::istringstream in(r.output);
    for (std::string l; std::getline(in, l);)
      if (!l.empty() && l[0] != ';') lines.push_back(l);
    return lines;
  }

  AgentProcess* agent_ = nullptr;
  std::string dns_port_;
};

TEST_F(ConnectSidecarTest, SidecarIsRegisteredDiscoverableAndRemovedWithItsParent) {
  OpenPort listener;
  std::string body = R"({"ID":"web1","Name":"web","Port":8080,"Connect":{"SidecarService":{"Port":)" +
                     std::to_string(listener.port()) +
                     R"(,"Proxy":{"Upstreams":[{"DestinationName":"db","LocalBindPort":9191}]}}}})";
  auto reg = http(*agent_, "PUT", "/v1/agent/service/register", body);
  ASSERT_TRUE(reg.ok());
  ASSERT_EQ(reg->status, 200) << reg->body;

  // The agent's view: two services, the sidecar as Consul shapes it.
  Json services = get_json("/v1/agent/services");
  ASSERT_TRUE(services.contains("web1-sidecar-proxy")) << services.dump();
  const Json& sc = services["web1-sidecar-proxy"];
  EXPECT_EQ(sc["Kind"], "connect-proxy");
  EXPECT_EQ(sc["Service"], "web-sidecar-proxy");
  EXPECT_EQ(sc["Port"], listener.port());
  EXPECT_EQ(sc["Proxy"]["DestinationServiceName"], "web");
  EXPECT_EQ(sc["Proxy"]["DestinationServiceID"], "web1");
  EXPECT_EQ(sc["Proxy"]["LocalServiceAddress"], "127.0.0.1");
  EXPECT_EQ(sc["Proxy"]["LocalServicePort"], 8080);
  EXPECT_EQ(sc["Proxy"]["Upstreams"][0]["DestinationName"], "db");
  EXPECT_EQ(sc["Proxy"]["Upstreams"][0]["LocalBindPort"], 9191);
  EXPECT_FALSE(services["web1"].contains("Connect")) << services["web1"].dump();
  Json checks = get_json("/v1/agent/checks");
  ASSERT_TRUE(checks.contains("service:web1-sidecar-proxy:1")) << checks.dump();
  EXPECT_EQ(checks["service:web1-sidecar-proxy:1"]["Name"], "Connect Sidecar Listening");
  EXPECT_EQ(checks["service:web1-sidecar-proxy:2"]["Name"], "Connect Sidecar Aliasing web1");

  // The catalog's connect view, once anti-entropy has run and the checks passed.
  Json health = wait_for("/v1/health/connect/web?passing", [](const Json& j) { return j.is_array() && j.size() == 1; });
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(health[0]["Service"]["ID"], "web1-sidecar-proxy");
  EXPECT_EQ(health[0]["Service"]["Kind"], "connect-proxy");
  Json catalog = get_json("/v1/catalog/connect/web");
  ASSERT_EQ(catalog.size(), 1u);
  EXPECT_EQ(catalog[0]["ServiceID"], "web1-sidecar-proxy");
  EXPECT_EQ(catalog[0]["ServiceProxy"]["DestinationServiceName"], "web");
  EXPECT_EQ(get_json("/v1/health/service/web?connect=true").size(), 1u);
  EXPECT_TRUE(get_json("/v1/catalog/connect/db").empty());
  // The proxy is not an instance of web itself.
  Json plain = get_json("/v1/catalog/service/web");
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0]["ServiceID"], "web1");

  // DNS: the proxy's port and node for web.connect.
  auto srv = dig("web.connect.consul", "SRV");
  ASSERT_EQ(srv.size(), 1u);
  EXPECT_EQ(srv[0], "1 1 " + std::to_string(listener.port()) + " sc-agent.node.dc1.consul.");
  EXPECT_EQ(dig("web.connect.consul", "A"), std::vector<std::string>{"127.0.0.1"});
  EXPECT_TRUE(dig("db.connect.consul", "A").empty());

  // A blocking connect query wakes when the proxy goes with its parent.
  std::string index;
  get_json("/v1/health/connect/web", &index);
  ASSERT_FALSE(index.empty());
  std::thread deregister([&] {
    std::this_thread::sleep_for(300ms);
    auto r = http(*agent_, "PUT", "/v1/agent/service/deregister/web1");
    EXPECT_TRUE(r.ok() && r->status == 200);
  });
  std::string after;
  Json woke = get_json("/v1/health/connect/web?index=" + index + "&wait=60s", &after);
  deregister.join();
  EXPECT_GT(std::stoull(after), std::stoull(index));
  EXPECT_FALSE(get_json("/v1/agent/services").contains("web1-sidecar-proxy"));
  wait_for("/v1/catalog/connect/web", [](const Json& j) { return j.is_array() && j.empty(); });
}

// Every pid the agent logged for `proxy_id` ("started proxy <id> (pid N)"), in order.
std::vector<pid_t> started_pids(const std::string& log, const std::string& proxy_id) {
  std::vector<pid_t> out;
  std::regex re("started proxy " + proxy_id + " \\(pid ([0-9]+)\\)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back(static_cast<pid_t>(std::stol((*it)[1])));
  return out;
}

// Managed sidecars (Connect.ManagedSidecar): the agent runs `cairn connect
// proxy` for web and db; traffic flows client -> web's upstream listener ->
// mTLS -> db's sidecar -> an echo backend; a sidecar killed with SIGKILL is
// started again and traffic flows again; deregistering stops it.
TEST_F(ConnectSidecarTest, TheAgentRunsAndRestartsManagedSidecars) {
  sockets::Backend backend(sockets::Backend::echo, "db");
  uint16_t db_port = sockets::free_port(), web_port = sockets::free_port(), upstream = sockets::free_port();
  uint16_t stats_port = sockets::free_port();
  auto r = http(*agent_, "PUT", "/v1/agent/service/register",
                R"({"ID":"db1","Name":"db","Port":)" + std::to_string(backend.port()) +
                    R"(,"Connect":{"ManagedSidecar":true,"SidecarService":{"Port":)" + std::to_string(db_port) +
                    R"(,"Proxy":{"Config":{"stats_bind_addr":"127.0.0.1:)" + std::to_string(stats_port) + R"("}}}}})");
  ASSERT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : "");
  r = http(*agent_, "PUT", "/v1/agent/service/register",
           R"({"ID":"web1","Name":"web","Port":1,"Connect":{"ManagedSidecar":true,"SidecarService":{"Port":)" +
               std::to_string(web_port) + R"(,"Proxy":{"Upstreams":[{"DestinationName":"db","LocalBindPort":)" +
               std::to_string(upstream) + "}]}}}}");
  ASSERT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : "");

  // Echo through both proxies (retried: the proxies need their leaf, roots
  // and db's passing endpoints first).
  auto echo_through = [&] {
    for (int i = 0; i < 300; ++i) {
      int fd = sockets::connect_to(upstream);
      if (fd >= 0) {
        bool ok = sockets::send_all(fd, "ping") && sockets::recv_n(fd, 4) == "ping";
        ::close(fd);
        if (ok) return true;
      }
      std::this_thread::sleep_for(200ms);
    }
    return false;
  };
  ASSERT_TRUE(echo_through()) << agent_->process->log();
  auto pids = started_pids(agent_->process->log(), "db1-sidecar-proxy");
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_EQ(started_pids(agent_->process->log(), "web1-sidecar-proxy").size(), 1u);
  // The proxy runs the client binary even though this -dev agent is cairn-server.
  std::error_code ec;
  EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(pids[0]) + "/exe", ec).filename(), "cairn");
  EXPECT_NE(agent_->process->log().find("sidecar: db1-sidecar-proxy: "), std::string::npos);  // its output, in our log

  // The agent's metrics summarize the proxy's counters (scraped from its
  // stats listener) and the supervisor's view.
  std::string metrics;
  for (int i = 0; i < 300; ++i) {
    auto m = http(*agent_, "GET", "/v1/agent/metrics?format=prometheus");
    metrics = m.ok() ? m->body : "";
    if (std::regex_search(metrics, std::regex(R"(cairn_proxy_connections\{[^}]*proxy_id="db1-sidecar-proxy"[^}]*direction="inbound"[^}]*\} [1-9])")))
      break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(std::regex_search(
      metrics, std::regex(R"(cairn_proxy_connections\{[^}]*proxy_id="db1-sidecar-proxy"[^}]*direction="inbound"[^}]*\} [1-9])")))
      << metrics;
  EXPECT_NE(metrics.find(R"(cairn_sidecar_running{proxy_id="db1-sidecar-proxy"} 1)"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(cairn_sidecar_scrape_ok{proxy_id="db1-sidecar-proxy"} 1)"), std::string::npos);

  // Killed: the agent starts it again, and traffic flows again.
  ASSERT_EQ(::kill(pids[0], SIGKILL), 0);
  for (int i = 0; i < 300 && started_pids(agent_->process->log(), "db1-sidecar-proxy").size() < 2; ++i)
    std::this_thread::sleep_for(100ms);
  pids = started_pids(agent_->process->log(), "db1-sidecar-proxy");
  ASSERT_EQ(pids.size(), 2u) << agent_->process->log();
  EXPECT_NE(pids[1], pids[0]);
  EXPECT_TRUE(echo_through());

  // Deregistered: stopped (and reaped) by the agent.
  r = http(*agent_, "PUT", "/v1/agent/service/deregister/db1");
  ASSERT_TRUE(r.ok() && r->status == 200);
  ASSERT_TRUE(agent_->process->wait_for_log("proxy db1-sidecar-proxy stopped", 30s)) << agent_->process->log();
  EXPECT_NE(::kill(pids[1], 0), 0);
}

// GET /v1/agent/service/<id>?hash= blocks until the registration changes
// (how a sidecar process follows its registration).
TEST_F(ConnectSidecarTest, AgentServiceBlocksOnItsContentHash) {
  auto reg = http(*agent_, "PUT", "/v1/agent/service/register", R"({"ID":"api1","Name":"api","Port":9000})");
  ASSERT_TRUE(reg.ok() && reg->status == 200);
  auto first = http(*agent_, "GET", "/v1/agent/service/api1");
  ASSERT_TRUE(first.ok());
  std::string hash = first->header("X-Consul-ContentHash");
  ASSERT_FALSE(hash.empty());
  // A stale hash answers at once; a short wait with no change answers the same hash.
  auto stale = http(*agent_, "GET", "/v1/agent/service/api1?hash=0000&wait=30s");
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->header("X-Consul-ContentHash"), hash);
  auto timed_out = http(*agent_, "GET", "/v1/agent/service/api1?hash=" + hash + "&wait=200ms");
  ASSERT_TRUE(timed_out.ok());
  EXPECT_EQ(timed_out->status, 200);
  EXPECT_EQ(timed_out->header("X-Consul-ContentHash"), hash);
  // A change wakes a blocked read, which returns the new registration.
  std::thread change([&] {
    std::this_thread::sleep_for(300ms);
    auto r = http(*agent_, "PUT", "/v1/agent/service/register", R"({"ID":"api1","Name":"api","Port":9001})");
    EXPECT_TRUE(r.ok() && r->status == 200);
  });
  auto woke = http(*agent_, "GET", "/v1/agent/service/api1?hash=" + hash + "&wait=60s");
  change.join();
  ASSERT_TRUE(woke.ok());
  EXPECT_NE(woke->header("X-Consul-ContentHash"), hash);
  EXPECT_EQ(Json::parse(woke->body)["Port"], 9001);
  // Deregistered while blocked: 404.
  std::string now_hash = woke->header("X-Consul-ContentHash");
  std::thread remove([&] {
    std::this_thread::sleep_for(300ms);
    auto r = http(*agent_, "PUT", "/v1/agent/service/deregister/api1");
    EXPECT_TRUE(r.ok() && r->status == 200);
  });
  auto gone = http(*agent_, "GET", "/v1/agent/service/api1?hash=" + now_hash + "&wait=60s");
  remove.join();
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->status, 404);
  auto bad = http(*agent_, "GET", "/v1/agent/service/api1?hash=x&wait=forever");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400);
}

TEST_F(ConnectSidecarTest, BadSidecarDefinitionsAre400sNamingTheField) {
  auto r = http(*agent_, "PUT", "/v1/agent/service/register",
                R"({"Name":"web","Port":1,"Connect":{"SidecarService":{"ID":"mine"}}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("cannot specify an ID"), std::string::npos) << r->body;
  r = http(*agent_, "PUT", "/v1/agent/service/register",
           R"({"Name":"web","Port":1,"Connect":{"SidecarService":{"Proxy":{"Upstreams":[{"DestinationName":"db"}]}}}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("Proxy.Upstreams[0].LocalBindPort"), std::string::npos) << r->body;
  r = http(*agent_, "PUT", "/v1/agent/service/register", R"({"Kind":"connect-proxy","Name":"p","Port":1})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("Proxy.DestinationServiceName"), std::string::npos) << r->body;
  EXPECT_TRUE(get_json("/v1/agent/services").empty());
  auto bad = http(*agent_, "GET", "/v1/health/connect/web?connect=maybe");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400);
}

}  // namespace
}  // namespace cairn::test
