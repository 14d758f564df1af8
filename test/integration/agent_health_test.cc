// The whole path of a health check on a real `cairn agent -dev`: a service
// registered through /v1/agent/service/register with an HTTP check against a
// tiny web server inside the test; the check's status moves the instance in
// /v1/health/service/<s>?passing and in DNS (dig) as the web server turns
// sick and well again. Also: script checks are refused unless enabled.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "test/support/poll.h"
#include "test/support/process.h"

namespace cairn::test {
namespace {

using namespace std::chrono_literals;

// Answers every HTTP request with the status it is told to.
class TinyWeb {
 public:
  TinyWeb() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 64);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TinyWeb() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  void set_status(int s) { status_ = s; }
  int hits() const { return hits_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      char buf[4096];
      pollfd q{c, POLLIN, 0};
      if (::poll(&q, 1, 1000) > 0) (void)::recv(c, buf, sizeof buf, 0);
      ++hits_;
      int s = status_;
      std::string body = s == 200 ? "all good" : "sick";
      std::string resp = "HTTP/1.1 " + std::to_string(s) + (s == 200 ? " OK" : " Internal Server Error") +
                         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      (void)::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> status_{200};
  std::atomic<int> hits_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class AgentHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    agent_ = std::make_unique<Process>(
        std::vector<std::string>{cairn_binary(), "agent", "-dev", "-http-port", "0", "-dns-port", "0",
                                 "-serf-lan-port", "0", "-server-port", "0", "-node", "health-node"},
        dir_.file("agent.log"));
    auto http = agent_->wait_for_log("Started HTTP server on 127\\.0\\.0\\.1:([0-9]+)", 10s);
    ASSERT_TRUE(http) << agent_->log();
    http_ = "127.0.0.1:" + *http;
    auto dns = agent_->wait_for_log("Started DNS server on 127\\.0\\.0\\.1:([0-9]+) \\(udp\\)", 10s);
    ASSERT_TRUE(dns) << agent_->log();
    dns_port_ = *dns;
    // The one-server cluster elects itself first.
    ASSERT_TRUE(eventually(
        [&] {
          auto r = agent_http(http_, "GET", "/v1/status/leader");
          return r.ok() && r->status == 200 && r->body != "\"\"";
        },
        15s));
  }

  // Instances of `service` in /v1/health/service/<service>?passing.
  size_t passing(const std::string& service) {
    auto r = agent_http(http_, "GET", "/v1/health/service/" + service + "?passing");
    if (!r.ok() || r->status != 200) return SIZE_MAX;
    return nlohmann::json::parse(r->body).size();
  }
  // dig +short answers for an A query.
  std::vector<std::string> dig(const std::string& name) {
    auto r = run({"/usr/bin/dig", "@127.0.0.1", "-p", dns_port_, "+short", "+time=2", "+tries=1", name, "A"}, dir_);
    std::vector<std::string> lines;
    std::istringstream in(r.output);
    for (std::string l; std::getline(in, l);)
      if (!l.empty() && l[0] != ';') lines.push_back(l);
    return lines;
  }

  TempDir dir_;
  std::unique_ptr<Process> agent_;
  std::string http_;
  std::string dns_port_;
};

TEST_F(AgentHealthTest, AFailingHttpCheckTakesTheInstanceOutOfHealthAndDnsAndBack) {
  TinyWeb web;
  std::string port = std::to_string(web.port());
  auto reg = agent_http(http_, "PUT", "/v1/agent/service/register",
                        R"({"Name":"web","ID":"web-1","Address":"127.0.0.1","Port":)" + port +
                            R"(,"Check":{"HTTP":"http://127.0.0.1:)" + port + R"(/health","Interval":"1s"}})");
  ASSERT_TRUE(reg.ok());
  ASSERT_EQ(reg->status, 200) << reg->body;

  ASSERT_TRUE(eventually([&] { return passing("web") == 1; }, 20s)) << agent_->log();
  ASSERT_TRUE(eventually([&] { return dig("web.service.consul") == std::vector<std::string>{"127.0.0.1"}; }, 20s));
  EXPECT_EQ(dig("web.service.cairn"), std::vector<std::string>{"127.0.0.1"});
  auto checks = agent_http(http_, "GET", "/v1/agent/checks");
  ASSERT_TRUE(checks.ok());
  auto c = nlohmann::json::parse(checks->body)["service:web-1"];
  EXPECT_EQ(c["Status"], "passing") << checks->body;
  EXPECT_NE(c["Output"].get<std::string>().find("200"), std::string::npos) << checks->body;

  web.set_status(500);
  auto sick_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return passing("web") == 0; }, 20s)) << "the check never went critical";
  auto out_of_health = std::chrono::steady_clock::now() - sick_at;
  ASSERT_TRUE(eventually([&] { return dig("web.service.consul").empty(); }, 20s)) << "DNS still answers";
  auto out_of_dns = std::chrono::steady_clock::now() - sick_at;
  // Not an assertion on timing: what it took, for the notes.
  std::printf("web server failing -> out of ?passing in %.2f s, out of DNS in %.2f s (interval 1s)\n",
              std::chrono::duration<double>(out_of_health).count(), std::chrono::duration<double>(out_of_dns).count());
  auto health = agent_http(http_, "GET", "/v1/health/service/web");
  ASSERT_TRUE(health.ok());
  auto entries = nlohmann::json::parse(health->body);
  ASSERT_EQ(entries.size(), 1u) << "without ?passing the instance is still listed";
  bool critical = false;
  for (const auto& chk : entries[0]["Checks"]) critical |= chk["CheckID"] == "service:web-1" && chk["Status"] == "critical";
  EXPECT_TRUE(critical) << health->body;

  web.set_status(200);
  EXPECT_TRUE(eventually([&] { return passing("web") == 1; }, 20s)) << "the check never recovered";
  EXPECT_TRUE(eventually([&] { return dig("web.service.consul") == std::vector<std::string>{"127.0.0.1"}; }, 20s));
}

TEST_F(AgentHealthTest, ScriptChecksAreRefusedUnlessEnabled) {
  auto r = agent_http(http_, "PUT", "/v1/agent/check/register",
                      R"({"Name":"disk","Args":["/bin/true"],"Interval":"10s"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(r->body.find("Scripts are disabled on this agent"), std::string::npos) << r->body;
  auto checks = agent_http(http_, "GET", "/v1/agent/checks");
  ASSERT_TRUE(checks.ok());
  EXPECT_EQ(checks->body, "{}");
}

}  // namespace
}  // namespace cairn::test
