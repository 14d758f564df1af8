// The real runner against real servers on 127.0.0.1 (label integration):
// intervals of 1 s, timeouts of at most 2 s, never a timing assertion — each
// test waits (generously) for the status it expects.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "agent/checks/plan.h"
#include "agent/checks/runner.h"
#include "api/rpc.h"
#include "core/io/runtime.h"
#include "test/agent/checks/h2_server.h"
#include "test/agent/checks/servers.h"

namespace cairn::agent::checks::test {
namespace {

using namespace std::chrono_literals;

// Servers that answer HealthNode and CatalogNodeServices for node "other";
// a query with min_index at or above the current index parks until
// set_checks() moves the index on. Thread-safe.
class FakeServers : public api::rpc::Handler {
 public:
  void query(api::rpc::QueryOptions options, api::rpc::Query query, api::rpc::QueryCallback done) override {
    std::unique_lock lock(mu_);
    ++queries_;
    if (auto* n = std::get_if<api::rpc::CatalogNodeServices>(&query)) {
      api::NodeServices ns;
      for (auto& s : services_) ns.services.push_back(api::NodeService{.id = s});
      auto value = n->node == "other" ? std::optional<api::NodeServices>(ns) : std::nullopt;
      lock.unlock();
      done(api::rpc::QueryResponse{{index_}, api::rpc::make_value<api::rpc::CatalogNodeServices, api::rpc::QueryValue>(value)});
      return;
    }
    if (options.min_index >= index_) {
      parked_.push_back(std::move(done));
      return;
    }
    auto r = response();
    lock.unlock();
    done(std::move(r));
  }
  void write(api::rpc::WriteOptions, api::rpc::Write, api::rpc::WriteCallback done) override {
    done(Error(errc::unavailable, "not here"));
  }
  void set(std::vector<api::HealthCheck> checks, std::set<std::string> services) {
    std::vector<api::rpc::QueryCallback> parked;
    api::rpc::QueryResponse r;
    {
      std::lock_guard lock(mu_);
      checks_ = std::move(checks);
      services_ = std::move(services);
      ++index_;
      parked.swap(parked_);
      r = response();
    }
    for (auto& p : parked) p(r);
  }
  int queries() {
    std::lock_guard lock(mu_);
    return queries_;
  }

 private:
  api::rpc::QueryResponse response() {
    return api::rpc::QueryResponse{{index_}, api::rpc::make_value<api::rpc::HealthNode, api::rpc::QueryValue>(checks_)};
  }
  std::mutex mu_;
  uint64_t index_ = 10;
  int queries_ = 0;
  std::vector<api::HealthCheck> checks_;
  std::set<std::string> services_;
  std::vector<api::rpc::QueryCallback> parked_;
};

std::vector<std::string> sh(const std::string& script) { return {"/bin/sh", "-c", script}; }

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override { start(); }
  void start(bool scripts = true) {
    RunnerEnv env;
    env.runtime = &runtime_;
    env.node_name = "node1";
    env.enable_script_checks = scripts;
    env.output_max_size = 4096;
    env.local_checks = [this](const std::string& service) {
      std::lock_guard lock(local_mu_);
      std::vector<api::HealthCheck> out;
      for (auto& c : local_) {
        if (c.service_id == service) out.push_back(c);
      }
      return out;
    };
    env.local_service_exists = [this](const std::string& service) {
      std::lock_guard lock(local_mu_);
      return local_services_.count(service) > 0;
    };
    env.report = [this](StatusUpdate u) { reports_.add(std::move(u)); };
    env.rpc = [this]() -> std::shared_ptr<api::rpc::Handler> {
      std::lock_guard lock(local_mu_);
      ++rpc_asked_;
      return servers_known_ ? fake_servers_ : nullptr;
    };
    runner_ = make_runner(std::move(env));
    thread_ = std::thread([this] { runtime_.run(1); });
  }
  void TearDown() override {
    runner_.reset();
    runtime_.stop();
    thread_.join();
  }

  api::CheckDefinition check(const std::string& id) {
    api::CheckDefinition c;
    c.id = id;
    c.definition.interval = 1s;
    c.definition.timeout = 2s;
    return c;
  }
  // Runs `script` (where PIDFILE stands for a file the script writes a pid to)
  // with a 1 s timeout, expects the timeout, and returns the pid written.
  pid_t timed_out_script(const std::string& id, const std::string& script) {
    auto dir = std::filesystem::temp_directory_path() / ("cairn-checks-" + id + "-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string pid_file = (dir / "child.pid").string();
    std::string text = script;
    text.replace(text.find("PIDFILE"), 7, pid_file);
    api::CheckDefinition c;
    c.id = id;
    c.definition.timeout = 1s;
    c.definition.interval = 2s;
    c.definition.script_args = sh(text);
    EXPECT_TRUE(runner_->add(c, Origin::api).ok());
    EXPECT_EQ(status_of(id, "critical"), "Timed out (1s) running check");
    std::ifstream in(pid_file);
    pid_t child = 0;
    in >> child;
    std::filesystem::remove_all(dir);
    return child;
  }
  api::CheckDefinition tcp(const std::string& id, unsigned short port) {
    auto c = check(id);
    c.definition.tcp = "127.0.0.1:" + std::to_string(port);
    return c;
  }
  // The statuses reported for `id`, in order.
  std::vector<std::string> statuses(const std::string& id) {
    std::vector<std::string> out;
    for (auto& u : reports_.all(id)) out.push_back(u.status);
    return out;
  }
  api::CheckDefinition alias_check(const std::string& node, const std::string& service) {
    auto c = check("alias");
    c.definition.interval = 0s;
    c.definition.timeout = 0s;
    c.definition.alias_node = node;
    c.definition.alias_service = service;
    return c;
  }
  api::CheckDefinition ttl_check(const std::string& id, const std::string& status) {
    auto c = check(id);
    c.status = status;
    c.definition.interval = 0s;
    c.definition.timeout = 0s;
    c.definition.ttl = 1s;
    return c;
  }
  api::CheckDefinition http(const std::string& id, const std::string& url) {
    auto c = check(id);
    c.definition.http = url;
    return c;
  }
  std::string status_of(const std::string& id, const std::string& status) {
    auto u = reports_.wait(id, status);
    return u ? u->output : "<no " + status + " report for " + id + ">";
  }

  Runtime runtime_;
  std::thread thread_;
  Reports reports_;
  std::unique_ptr<Runner> runner_;
  std::mutex local_mu_;
  std::vector<api::HealthCheck> local_;
  std::set<std::string> local_services_;
  bool servers_known_ = true;
  int rpc_asked_ = 0;
  std::shared_ptr<FakeServers> fake_servers_ = std::make_shared<FakeServers>();
  IoThread servers_;
};

// ---- HTTP ----

TEST_F(RunnerTest, HttpTwoHundredIsPassingWithConsulsOutput) {
  HttpServer server(servers_);
  std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/ok";
  ASSERT_TRUE(runner_->add(http("web", url), Origin::api).ok());
  EXPECT_EQ(status_of("web", "passing"), "HTTP GET " + url + ": 200 OK Output: all good");
}

TEST_F(RunnerTest, HttpTooManyRequestsIsWarningAndFiveHundredCritical) {
  HttpServer server(servers_);
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  ASSERT_TRUE(runner_->add(http("busy", base + "/busy"), Origin::api).ok());
  auto fail = http("fail", base + "/fail");
  fail.status = "passing";  // so the change to critical is reported
  ASSERT_TRUE(runner_->add(fail, Origin::api).ok());
  EXPECT_EQ(status_of("busy", "warning"), "HTTP GET " + base + "/busy: 429 Too Many Requests Output: ");
  EXPECT_EQ(status_of("fail", "critical"), "HTTP GET " + base + "/fail: 500 Internal Server Error Output: broken");
}

TEST_F(RunnerTest, HttpSendsMethodHeadersAndBody) {
  HttpServer server(servers_);
  std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/echo";
  auto c = http("echo", url);
  c.definition.method = "PUT";
  c.definition.body = "hello";
  c.definition.header["X-Test"] = {"yes"};
  ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  EXPECT_EQ(status_of("echo", "passing"),
            "HTTP PUT " + url + ": 200 OK Output: PUT|Consul Health Check|text/plain, text/*, */*|yes|hello");
}

TEST_F(RunnerTest, HttpFollowsRedirectsOnTheSameHostOnly) {
  HttpServer server(servers_);
  HttpServer other(servers_);
  server.other_port = other.port();
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  ASSERT_TRUE(runner_->add(http("same", base + "/same"), Origin::api).ok());
  auto other_host = http("other", base + "/other");
  other_host.status = "passing";
  ASSERT_TRUE(runner_->add(other_host, Origin::api).ok());
  auto loop = http("loop", base + "/loop");
  loop.status = "passing";
  ASSERT_TRUE(runner_->add(loop, Origin::api).ok());
  EXPECT_EQ(status_of("same", "passing"), "HTTP GET " + base + "/same: 200 OK Output: all good");
  // The redirect to another port is the answer itself: a 302 is critical.
  EXPECT_EQ(status_of("other", "critical"), "HTTP GET " + base + "/other: 302 Found Output: ");
  EXPECT_EQ(status_of("loop", "critical"), "HTTP GET " + base + "/loop: stopped after 10 redirects");
}

TEST_F(RunnerTest, HttpDisableRedirectsReportsTheRedirect) {
  HttpServer server(servers_);
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  auto c = http("same", base + "/same");
  c.status = "passing";
  c.definition.disable_redirects = true;
  ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  EXPECT_EQ(status_of("same", "critical"), "HTTP GET " + base + "/same: 302 Found Output: ");
}

TEST_F(RunnerTest, HttpOutputIsTruncatedToTheMaximum) {
  HttpServer server(servers_);
  ASSERT_TRUE(runner_->add(http("big", "http://127.0.0.1:" + std::to_string(server.port()) + "/big"), Origin::api).ok());
  auto out = status_of("big", "passing");
  EXPECT_EQ(out.size(), 4096u);
  EXPECT_EQ(out.back(), 'b');
}

TEST_F(RunnerTest, HttpConnectionRefusedIsCritical) {
  std::string url = "http://127.0.0.1:" + std::to_string(closed_tcp_port()) + "/ok";
  auto c = http("down", url);
  c.status = "passing";
  ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  EXPECT_EQ(status_of("down", "critical"), "HTTP GET " + url + ": Connection refused");
}

TEST_F(RunnerTest, HttpsWithSkipVerifyPassesAndWithVerifyFailsOnASelfSignedCert) {
  SelfSigned tls;
  ASSERT_FALSE(tls.cert.empty()) << "openssl could not make a certificate";
  HttpServer server(servers_, &tls);
  std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/ok";
  auto skip = http("skip", url);
  skip.definition.tls_skip_verify = true;
  ASSERT_TRUE(runner_->add(skip, Origin::api).ok());
  auto verify = http("verify", url);
  verify.status = "passing";
  ASSERT_TRUE(runner_->add(verify, Origin::api).ok());
  EXPECT_EQ(status_of("skip", "passing"), "HTTP GET " + url + ": 200 OK Output: all good");
  EXPECT_NE(status_of("verify", "critical").find("certificate verify failed"), std::string::npos);
}

TEST_F(RunnerTest, HttpsTlsServerNameIsSentAsSni) {
  SelfSigned tls;
  ASSERT_FALSE(tls.cert.empty());
  HttpServer server(servers_, &tls);
  auto c = http("sni", "https://127.0.0.1:" + std::to_string(server.port()) + "/ok");
  c.definition.tls_skip_verify = true;
  c.definition.tls_server_name = "localhost";
  ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  EXPECT_NE(status_of("sni", "passing").find("200 OK"), std::string::npos);
}

TEST_F(RunnerTest, BadUrlIsRejectedAtAdd) {
  auto r = runner_->add(http("bad", "ftp://x/"), Origin::api);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
  EXPECT_NE(r.error().detail().find("HTTP"), std::string::npos);
}

TEST_F(RunnerTest, HeadersAndMethodThatWouldBreakTheRequestAreRejected) {
  auto c = http("h", "http://127.0.0.1:1/");
  c.definition.header["X-Evil"] = {"a\r\nHost: other"};
  auto r = runner_->add(c, Origin::api);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().detail().rfind("Header:", 0), 0u) << r.error().detail();
  c.definition.header.clear();
  c.definition.method = "GET /x";
  r = runner_->add(c, Origin::api);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().detail().rfind("Method:", 0), 0u) << r.error().detail();
}

// ---- TCP and UDP ----

TEST_F(RunnerTest, TcpConnectPassesAndAClosedPortIsCritical) {
  TcpListener listener(servers_);
  auto up = check("up");
  up.definition.tcp = "127.0.0.1:" + std::to_string(listener.port());
  auto down = check("down");
  down.status = "passing";
  down.definition.tcp = "127.0.0.1:" + std::to_string(closed_tcp_port());
  ASSERT_TRUE(runner_->add(up, Origin::api).ok());
  ASSERT_TRUE(runner_->add(down, Origin::api).ok());
  EXPECT_EQ(status_of("up", "passing"), "TCP connect " + up.definition.tcp + ": Success");
  EXPECT_EQ(status_of("down", "critical"), "TCP connect " + down.definition.tcp + ": Connection refused");
}

TEST_F(RunnerTest, TcpHostNamesAreResolved) {
  TcpListener listener(servers_);
  auto c = check("named");
  c.definition.tcp = "localhost:" + std::to_string(listener.port());
  ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  EXPECT_EQ(status_of("named", "passing"), "TCP connect " + c.definition.tcp + ": Success");
}

TEST_F(RunnerTest, TcpAddressWithoutPortIsRejectedNamingTheField) {
  auto c = check("t");
  c.definition.tcp = "127.0.0.1";
  auto r = runner_->add(c, Origin::api);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().detail().rfind("TCP:", 0), 0u) << r.error().detail();
}

TEST_F(RunnerTest, UdpSilenceIsPassingAndPortUnreachableIsCritical) {
  asio::ip::udp::socket silent(servers_.io(), asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  unsigned short closed;
  {
    asio::ip::udp::socket s(servers_.io(), asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed = s.local_endpoint().port();
  }
  auto up = check("up");
  up.definition.udp = "127.0.0.1:" + std::to_string(silent.local_endpoint().port());
  up.definition.timeout = 500ms;
  auto down = check("down");
  down.status = "passing";
  down.definition.udp = "127.0.0.1:" + std::to_string(closed);
  ASSERT_TRUE(runner_->add(up, Origin::api).ok());
  ASSERT_TRUE(runner_->add(down, Origin::api).ok());
  EXPECT_EQ(status_of("up", "passing"), "UDP connect " + up.definition.udp + ": Success");
  EXPECT_EQ(status_of("down", "critical"), "UDP connect " + down.definition.udp + ": Connection refused");
}

TEST_F(RunnerTest, AThousandTcpChecksOnOneRunnerAllPass) {
  TcpListener listener(servers_);
  const std::string target = "127.0.0.1:" + std::to_string(listener.port());
  for (int i = 0; i < 1000; ++i) {
    auto c = check("tcp-" + std::to_string(i));
    c.definition.tcp = target;
    c.definition.interval = 2s;  // each first runs within the 2 s stagger window
    ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  }
  EXPECT_EQ(reports_.wait_count("passing", 1000), 1000u);
  // Timers and sockets, not threads: the process has its handful of threads
  // (the test's, the runtime's, the servers').
  std::ifstream status("/proc/self/status");
  std::string line;
  int threads = 0;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) threads = std::stoi(line.substr(8));
  }
  EXPECT_GT(threads, 0);
  EXPECT_LT(threads, 10);
}

// ---- HTTP/2: H2PING and gRPC ----

TEST_F(RunnerTest, H2PingOverTlsIsAcked) {
  SelfSigned tls;
  ASSERT_FALSE(tls.cert.empty());
  H2Server server(servers_, &tls);
  auto c = check("ping");
  c.definition.h2ping = "127.0.0.1:" + std::to_string(server.port());
  c.definition.tls_skip_verify = true;
  ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  EXPECT_EQ(status_of("ping", "passing"), "HTTP2 ping was successful");
}

TEST_F(RunnerTest, H2PingToAClosedPortIsCritical) {
  auto c = check("ping");
  c.status = "passing";
  c.definition.h2ping = "127.0.0.1:" + std::to_string(closed_tcp_port());
  ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  EXPECT_EQ(status_of("ping", "critical"), "HTTP2 ping failed: Connection refused");
}

TEST_F(RunnerTest, GrpcHealthServingIsPassingAndOtherwiseCritical) {
  H2Server server(servers_);
  const std::string base = "127.0.0.1:" + std::to_string(server.port());
  auto add = [&](const std::string& id, const std::string& target) {
    auto c = check(id);
    c.status = "passing";
    c.definition.grpc = target;
    ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  };
  add("whole", base);
  add("good", base + "/good");
  add("bad", base + "/bad");
  add("unknown", base + "/nope");
  EXPECT_EQ(status_of("whole", "passing"), "gRPC check " + base + ": success");
  EXPECT_EQ(status_of("good", "passing"), "gRPC check " + base + "/good: success");
  EXPECT_EQ(status_of("bad", "critical"), "gRPC check " + base + "/bad: service \"bad\" is NOT_SERVING");
  EXPECT_EQ(status_of("unknown", "critical"),
            "gRPC check " + base + "/nope: rpc error: code = 5 desc = unknown service");
}

TEST_F(RunnerTest, GrpcOverTls) {
  SelfSigned tls;
  ASSERT_FALSE(tls.cert.empty());
  H2Server server(servers_, &tls);
  auto c = check("g");
  c.definition.grpc = "127.0.0.1:" + std::to_string(server.port()) + "/good";
  c.definition.grpc_use_tls = true;
  c.definition.tls_skip_verify = true;
  ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  EXPECT_EQ(status_of("g", "passing"), "gRPC check " + c.definition.grpc + ": success");
}

// ---- thresholds and replacement ----

TEST_F(RunnerTest, SuccessBeforePassingHoldsTheStatusBack) {
  TcpListener listener(servers_);
  auto c = tcp("t", listener.port());
  c.success_before_passing = 2;
  ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  ASSERT_TRUE(reports_.wait("t", "passing"));
  // The first success alone reported nothing: passing is the only report.
  EXPECT_EQ(statuses("t"), std::vector<std::string>{"passing"});
}

TEST_F(RunnerTest, FailuresBeforeCriticalGoesThroughWarning) {
  auto c = tcp("t", closed_tcp_port());
  c.status = "passing";
  c.failures_before_warning = 1;
  c.failures_before_critical = 2;
  ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  ASSERT_TRUE(reports_.wait("t", "critical"));
  EXPECT_EQ(statuses("t"), (std::vector<std::string>{"warning", "critical"}));
}

// ---- TTL ----

TEST_F(RunnerTest, TtlUpdatesAreReportedAndExpiryIsCritical) {
  auto c = ttl_check("ttl", "");
  ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  ASSERT_TRUE(runner_->update_ttl("ttl", "passing", "fine").ok());
  EXPECT_EQ(status_of("ttl", "passing"), "fine");
  ASSERT_TRUE(runner_->update_ttl("ttl", "warning", "meh").ok());
  EXPECT_EQ(status_of("ttl", "warning"), "meh");
  EXPECT_EQ(status_of("ttl", "critical"), "TTL expired (last output before timeout follows): meh");
}

TEST_F(RunnerTest, TtlUpdateOfAnUnknownOrNonTtlCheckIsNotFound) {
  EXPECT_EQ(runner_->update_ttl("nope", "passing", "").error().code(), errc::not_found);
  TcpListener listener(servers_);
  auto c = tcp("tcp", listener.port());
  ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  EXPECT_EQ(runner_->update_ttl("tcp", "passing", "").error().code(), errc::not_found);
  EXPECT_EQ(runner_->update_ttl("nope", "bogus", "").error().code(), errc::invalid_argument);
}

TEST_F(RunnerTest, TtlExpiresWithoutAnyUpdate) {
  auto c = ttl_check("ttl", "passing");
  ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  EXPECT_EQ(status_of("ttl", "critical"), "TTL expired");
}

// ---- scripts ----


TEST_F(RunnerTest, ScriptExitCodesMapToStatuses) {
  auto ok = check("ok");
  ok.definition.script_args = sh("echo fine; exit 0");
  auto warn = check("warn");
  warn.definition.script_args = sh("echo careful >&2; exit 1");
  auto crit = check("crit");
  crit.status = "passing";
  crit.definition.script_args = sh("echo broken; exit 2");
  for (auto* c : {&ok, &warn, &crit}) ASSERT_TRUE(runner_->add(*c, Origin::api).ok());
  EXPECT_EQ(status_of("ok", "passing"), "fine\n");
  EXPECT_EQ(status_of("warn", "warning"), "careful\n");
  EXPECT_EQ(status_of("crit", "critical"), "broken\n");
}

TEST_F(RunnerTest, ScriptPastItsTimeoutIsKilledWithItsWholeGroup) {
  // The shell starts a child (sleep) in the same group and waits for it.
  pid_t child = timed_out_script("slow", "sleep 30 & echo $! > PIDFILE; wait");
  ASSERT_GT(child, 0);
  // The sleep was killed with its group: no process with that pid is left
  // (it may linger a moment as a zombie of init before it is reaped).
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string text;
    std::getline(stat, text);
    gone = !stat.is_open() || text.find(") Z ") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(gone) << "sleep " << child << " survived the timeout";
}

TEST_F(RunnerTest, ScriptWhoseEscapedChildHoldsTheOutputStillEndsAtTheTimeout) {
  // The child leaves the group (setsid) but keeps stdout: the read only ends
  // because the runner closes its end at the deadline.
  pid_t child = timed_out_script("escape", "setsid sleep 20 & echo $! > PIDFILE; exit 0");
  if (child > 0) ::kill(child, SIGKILL);  // not ours to reap: it was the shell's child
}

class NoScriptsRunnerTest : public RunnerTest {
 protected:
  void SetUp() override { start(false); }
};

TEST_F(NoScriptsRunnerTest, ScriptsAreRefusedUnlessEnabled) {
  auto c = check("s");
  c.definition.script_args = sh("exit 0");
  auto r = runner_->add(c, Origin::api);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().detail(), kScriptsDisabled);
}

// ---- alias ----

TEST_F(RunnerTest, AliasOfALocalServiceFollowsItsChecks) {
  {
    std::lock_guard lock(local_mu_);
    local_services_.insert("db");
    api::HealthCheck hc;
    hc.check_id = "db-check";
    hc.name = "db check";
    hc.service_id = "db";
    hc.status = "passing";
    local_.push_back(hc);
  }
  auto c = alias_check("", "db");
  ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  EXPECT_EQ(status_of("alias", "passing"), "All checks passing.");
  {
    std::lock_guard lock(local_mu_);
    local_[0].status = "critical";
    local_[0].output = "down";
  }
  runner_->local_changed();
  EXPECT_EQ(status_of("alias", "critical"), "Aliased check \"db check\" failing: down");
  {
    std::lock_guard lock(local_mu_);
    local_.clear();
  }
  runner_->local_changed();
  EXPECT_EQ(status_of("alias", "passing"), "No checks found.");
  {
    std::lock_guard lock(local_mu_);
    local_services_.clear();
  }
  runner_->local_changed();
  EXPECT_EQ(status_of("alias", "critical"), "Service db could not be found on node node1");
}

api::HealthCheck remote_check(const std::string& service, const std::string& status) {
  api::HealthCheck hc;
  hc.node = "other";
  hc.check_id = service + "-check";
  hc.name = service + " check";
  hc.service_id = service;
  hc.status = status;
  return hc;
}

TEST_F(RunnerTest, AliasOfAnotherNodeFollowsBlockingQueries) {
  fake_servers_->set({remote_check("api", "passing")}, {"api"});
  auto c = alias_check("other", "api");
  ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  EXPECT_EQ(status_of("alias", "passing"), "All checks passing.");
  fake_servers_->set({remote_check("api", "warning")}, {"api"});
  EXPECT_EQ(status_of("alias", "warning"), "Aliased check \"api check\" failing: ");
  fake_servers_->set({}, {"api"});
  EXPECT_EQ(status_of("alias", "passing"), "No checks found.");
  fake_servers_->set({}, {});
  EXPECT_EQ(status_of("alias", "critical"), "Service api could not be found on node other");
}

TEST_F(RunnerTest, AliasOfAnotherNodeRetriesUntilAServerIsKnown) {
  {
    std::lock_guard lock(local_mu_);
    servers_known_ = false;
  }
  fake_servers_->set({remote_check("api", "passing")}, {"api"});
  auto c = alias_check("other", "api");
  ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  // Once the runner has found no server, make one known: the retry finds it.
  for (int i = 0; i < 400; ++i) {
    {
      std::lock_guard lock(local_mu_);
      if (rpc_asked_ > 0) break;
    }
    std::this_thread::sleep_for(50ms);
  }
  {
    std::lock_guard lock(local_mu_);
    ASSERT_GT(rpc_asked_, 0);
    servers_known_ = true;
  }
  EXPECT_EQ(status_of("alias", "passing"), "All checks passing.");
}

TEST_F(RunnerTest, ACheckMayLowerTheOutputLimitAndScriptsKeepTheTail) {
  auto c = check("s");
  c.definition.output_max_size = 5;
  c.definition.script_args = sh("echo 0123456789");
  ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  EXPECT_EQ(status_of("s", "passing"), "6789\n");
}

// ---- removal ----

TEST_F(RunnerTest, RemovedCheckReportsNoMore) {
  auto c = ttl_check("ttl", "passing");
  ASSERT_TRUE(runner_->add(c, Origin::api).ok());
  runner_->remove("ttl");
  EXPECT_EQ(runner_->update_ttl("ttl", "passing", "").error().code(), errc::not_found);
  EXPECT_FALSE(reports_.wait("ttl", "critical", 3s));
}

}  // namespace
}  // namespace cairn::agent::checks::test
