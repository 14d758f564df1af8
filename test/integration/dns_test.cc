// The DNS interface of a real `cairn agent -dev` on 127.0.0.1 ephemeral
// ports, asked with dig and kdig: every name form and record type, health
// filtering, malformed packets over UDP and TCP, forwarding to a recursor
// (a tiny UDP responder inside the test).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <regex>
#include <thread>

#include "test/support/process.h"
#include "test/support/raw_http.h"

namespace cairn::test {
namespace {

using namespace std::chrono_literals;

// Answers every query with one A record 192.0.2.53 (what the agent forwards).
class TinyRecursor {
 public:
  TinyRecursor() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TinyRecursor() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  int queries() const { return queries_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      uint8_t buf[512];
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 12) continue;
      ++queries_;
      // Echo header + question, QR|RD|RA, ANCOUNT 1, then A 192.0.2.53.
      std::vector<uint8_t> out(buf, buf + n);
      out[2] = 0x81;
      out[3] = 0x80;
      out[7] = 1;
      out[10] = out[11] = 0;  // drop the client's OPT
      size_t q_end = 12;
      while (q_end < out.size() && out[q_end] != 0) q_end += out[q_end] + 1;
      out.resize(q_end + 5);
      out.insert(out.end(), {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 53});
      ::sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

class DnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.file("dns.json")) << R"({"ports":{"dns":0},"recursors":["127.0.0.1:)" << recursor_.port()
                                         << R"("],"node_meta":{"rack":"r9"})" << extra_config_ << "}";
    agent_ = std::make_unique<Process>(
        std::vector<std::string>{cairn_binary(), "agent", "-dev", "-http-port", "0", "-serf-lan-port", "0",
                                 "-server-port", "0", "-node", "dns-agent", "-config-file", dir_.file("dns.json")},
        dir_.file("agent.log"));
    auto http = agent_->wait_for_log("Started HTTP server on 127\\.0\\.0\\.1:([0-9]+)", 10s);
    ASSERT_TRUE(http) << agent_->log();
    http_port_ = static_cast<uint16_t>(std::stoi(*http));
    auto dns = agent_->wait_for_log("Started DNS server on 127\\.0\\.0\\.1:([0-9]+) \\(udp\\)", 10s);
    ASSERT_TRUE(dns) << agent_->log();
    dns_port_ = *dns;
    ASSERT_TRUE(agent_->wait_for_log("Started DNS server on 127\\.0\\.0\\.1:[0-9]+ \\(tcp\\)", 1s));
    // Two web instances (v1 passing on web-1, v2 critical on web-2), a db on
    // web-1 with its own address, node meta on web-1.
    register_node(R"({"Node":"web-1","Address":"10.1.0.1","NodeMeta":{"rack":"r1","rfc1035-x":"raw"},
      "Service":{"ID":"web1","Service":"web","Tags":["v1"],"Port":8080},
      "Check":{"CheckID":"web1-check","Name":"h","Status":"passing","ServiceID":"web1"}})");
    register_node(R"({"Node":"web-2","Address":"10.1.0.2",
      "Service":{"ID":"web2","Service":"web","Tags":["v2"],"Port":8081},
      "Check":{"CheckID":"web2-check","Name":"h","Status":"critical","ServiceID":"web2"}})");
    register_node(R"({"Node":"web-1","Address":"10.1.0.1","NodeMeta":{"rack":"r1","rfc1035-x":"raw"},
      "Service":{"ID":"db1","Service":"db","Address":"10.9.9.9","Port":5432}})");
  }
  void register_node(const std::string& body) {
    // The dev server may still be electing itself: retry until it takes it.
    std::string resp;
    for (int i = 0; i < 100; ++i) {
      RawConnection c("127.0.0.1", http_port_);
      c.send("PUT /v1/catalog/register HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n\r\n" + body);
      resp = c.read_response();
      if (status_of(resp) == 200) return;
      std::this_thread::sleep_for(100ms);
    }
    FAIL() << resp;
  }
  // dig's short answer lines, sorted.
  std::vector<std::string> dig(std::vector<std::string> args, const std::string& tool = "/usr/bin/dig") {
    bool knot = tool.ends_with("kdig");
    std::vector<std::string> cmd{tool, "@127.0.0.1", "-p", dns_port_, "+short", knot ? "+timeout=3" : "+time=3",
                                 knot ? "+retry=0" : "+tries=1"};
    cmd.insert(cmd.end(), args.begin(), args.end());
    auto r = run(cmd, dir_);
    std::vector<std::string> lines;
    std::istringstream in(r.output);
    for (std::string l; std::getline(in, l);)
      if (!l.empty() && l[0] != ';') lines.push_back(l);
    std::sort(lines.begin(), lines.end());
    return lines;
  }
  // dig's full output (status, flags, sections).
  std::string dig_full(std::vector<std::string> args) {
    std::vector<std::string> cmd{"/usr/bin/dig", "@127.0.0.1", "-p", dns_port_, "+time=3", "+tries=1"};
    cmd.insert(cmd.end(), args.begin(), args.end());
    return run(cmd, dir_).output;
  }
  // Sends raw bytes over UDP; returns the answer ("" when none in 1 s).
  std::string udp_exchange(const std::vector<uint8_t>& bytes) {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::stoi(dns_port_)));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    pollfd p{fd, POLLIN, 0};
    std::string out;
    if (::poll(&p, 1, 1000) > 0) {
      char buf[4096];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) out.assign(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }

  // Sends bytes over TCP; returns what arrives within 2 s.
  std::string tcp_exchange(const std::string& bytes) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::stoi(dns_port_)));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::send(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size())) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 2000) > 0) {
        char buf[4096];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) out.assign(buf, static_cast<size_t>(n));
      }
    }
    ::close(fd);
    return out;
  }

  // A gauge from /v1/agent/metrics?format=prometheus (-1 when absent).
  double gauge(const std::string& name) {
    RawConnection c("127.0.0.1", http_port_);
    c.send("GET /v1/agent/metrics?format=prometheus HTTP/1.1\r\nHost: t\r\n\r\n");
    std::string body = c.read_response();
    std::smatch m;
    if (!std::regex_search(body, m, std::regex("\n" + name + " ([0-9.e+]+)"))) return -1;
    return std::stod(m[1]);
  }

  std::string extra_config_;  // appended to dns.json's object by a derived fixture
  TinyRecursor recursor_;
  TempDir dir_;
  std::unique_ptr<Process> agent_;
  uint16_t http_port_ = 0;
  std::string dns_port_;
};

using Lines = std::vector<std::string>;

TEST_F(DnsTest, ServiceLookupsLeaveCriticalInstancesOut) {
  EXPECT_EQ(dig({"web.service.cairn", "A"}), Lines{"10.1.0.1"});
  EXPECT_EQ(dig({"WEB.service.dc1.consul", "A"}), Lines{"10.1.0.1"});
  EXPECT_EQ(dig({"web.service.cairn", "SRV"}), Lines{"1 1 8080 web-1.node.dc1.cairn."});
  EXPECT_EQ(dig({"v1.web.service.cairn", "A"}), Lines{"10.1.0.1"});
  EXPECT_EQ(dig({"_web._v1.service.consul", "SRV"}), Lines{"1 1 8080 web-1.node.dc1.consul."});
  EXPECT_EQ(dig({"_web._tcp.service.cairn", "SRV"}), Lines{"1 1 8080 web-1.node.dc1.cairn."});
  // The only v2 instance is critical: no such name.
  EXPECT_NE(dig_full({"v2.web.service.cairn", "A"}).find("status: NXDOMAIN"), std::string::npos);
  // SRV carries the target's address and node meta in the additional section.
  auto full = dig_full({"web.service.cairn", "SRV"});
  EXPECT_NE(full.find("web-1.node.dc1.cairn.\t0\tIN\tA\t10.1.0.1"), std::string::npos) << full;
  EXPECT_NE(full.find("\"rack=r1\""), std::string::npos) << full;
  EXPECT_NE(full.find("flags: qr aa rd ra"), std::string::npos) << full;
}

TEST_F(DnsTest, ServiceWithItsOwnAddressAnswersAddrTargets) {
  EXPECT_EQ(dig({"db.service.cairn", "SRV"}), Lines{"1 1 5432 0a090909.addr.dc1.cairn."});
  EXPECT_EQ(dig({"db.service.cairn", "A"}), Lines{"10.9.9.9"});
  EXPECT_EQ(dig({"0a090909.addr.dc1.cairn", "A"}), Lines{"10.9.9.9"});
}

TEST_F(DnsTest, NodeLookupsAnswerAddressAndMetaTxt) {
  EXPECT_EQ(dig({"web-1.node.cairn", "A"}), Lines{"10.1.0.1"});
  EXPECT_EQ(dig({"web-1.node.dc1.consul", "TXT"}), (Lines{"\"rack=r1\"", "\"raw\""}));
  auto nodata = dig_full({"web-1.node.cairn", "AAAA"});
  EXPECT_NE(nodata.find("status: NOERROR"), std::string::npos);
  EXPECT_NE(nodata.find("ANSWER: 0"), std::string::npos);
  EXPECT_NE(nodata.find("SOA\tns.cairn. hostmaster.cairn."), std::string::npos) << nodata;
  EXPECT_NE(dig_full({"nobody.node.cairn", "A"}).find("status: NXDOMAIN"), std::string::npos);
}

TEST_F(DnsTest, ApexSoaNsAndPtr) {
  auto soa = dig({"cairn", "SOA"});
  ASSERT_EQ(soa.size(), 1u);
  EXPECT_EQ(soa[0].rfind("ns.cairn. hostmaster.cairn. ", 0), 0u) << soa[0];
  EXPECT_EQ(dig({"consul", "NS"}), Lines{"dns-agent.node.dc1.consul."});
  EXPECT_EQ(dig({"-x", "10.1.0.1"}), Lines{"web-1.node.dc1.cairn."});
}

TEST_F(DnsTest, KdigOverTcpGetsEveryAnswer) {
  for (int i = 0; i < 12; ++i) {
    register_node(R"({"Node":"many-)" + std::to_string(i) + R"(","Address":"10.2.0.)" + std::to_string(i) +
                  R"(","Service":{"ID":"m","Service":"many","Port":1}})");
  }
  EXPECT_EQ(dig({"many.service.cairn", "A", "+noedns"}).size(), 3u);  // UDP, no EDNS0
  EXPECT_EQ(dig({"many.service.cairn", "A", "+bufsize=4096"}).size(), 12u);
  EXPECT_EQ(dig({"+tcp", "many.service.cairn", "A"}, "/usr/bin/kdig").size(), 12u);
  EXPECT_EQ(dig({"+tcp", "many.service.cairn", "SRV"}, "/usr/bin/kdig").size(), 12u);
}

TEST_F(DnsTest, ACriticalCheckRemovesTheInstance) {
  ASSERT_EQ(dig({"web.service.cairn", "A"}), Lines{"10.1.0.1"});
  register_node(R"({"Node":"web-1","Address":"10.1.0.1","NodeMeta":{"rack":"r1","rfc1035-x":"raw"},
      "Service":{"ID":"web1","Service":"web","Tags":["v1"],"Port":8080},
      "Check":{"CheckID":"web1-check","Name":"h","Status":"critical","ServiceID":"web1"}})");
  // The agent cache's blocking query wakes on the change.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = dig({"web.service.cairn", "A"}).empty();
    if (!gone) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(gone);
}

TEST_F(DnsTest, RepeatedLookupsAreAnsweredFromTheAgentCache) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(dig({"web.service.cairn", "A"}), Lines{"10.1.0.1"});
  EXPECT_GE(gauge("cairn_dns_cache_hits"), 2);
  EXPECT_EQ(gauge("cairn_dns_cache_passed"), 0);
}

// dns_config.use_cache false: Consul's default, every lookup asks the server.
class DnsNoCacheTest : public DnsTest {
 protected:
  DnsNoCacheTest() { extra_config_ = R"(,"dns_config":{"use_cache":false})"; }
};

TEST_F(DnsNoCacheTest, EveryLookupAsksTheServerAndSeesAChangeAtOnce) {
  ASSERT_EQ(dig({"web.service.cairn", "A"}), Lines{"10.1.0.1"});
  register_node(R"({"Node":"web-1","Address":"10.1.0.1","NodeMeta":{"rack":"r1","rfc1035-x":"raw"},
      "Service":{"ID":"web1","Service":"web","Tags":["v1"],"Port":8080},
      "Check":{"CheckID":"web1-check","Name":"h","Status":"critical","ServiceID":"web1"}})");
  // No cache to refresh: the very next lookup reads the committed state.
  EXPECT_EQ(dig({"web.service.cairn", "A"}), Lines{});
  EXPECT_EQ(dig({"db.service.cairn", "A"}), Lines{"10.9.9.9"});
  EXPECT_EQ(gauge("cairn_dns_cache_hits"), 0);
  EXPECT_GE(gauge("cairn_dns_cache_passed"), 3);
  EXPECT_EQ(gauge("cairn_dns_cache_entries"), 0);
}

TEST_F(DnsTest, MalformedPacketsGetFormErrOrAreDroppedAndTheAgentStaysUp) {
  // Too short for a header: dropped.
  EXPECT_EQ(udp_exchange({1, 2, 3}), "");
  // QDCOUNT 1 with no question: FORMERR (rcode 1), same ID.
  std::vector<uint8_t> bad{0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  auto r = udp_exchange(bad);
  ASSERT_GE(r.size(), 12u);
  EXPECT_EQ(static_cast<uint8_t>(r[0]), 0xAB);
  EXPECT_EQ(static_cast<uint8_t>(r[3]) & 0x0F, 1);
  // A name that points at itself.
  EXPECT_EQ(static_cast<uint8_t>(udp_exchange({0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1})[3]) & 0x0F, 1);
  // Over TCP: a framed bad message gets FORMERR; a frame that never
  // completes is closed at the read deadline.
  std::string framed{0, 12};
  framed.append(bad.begin(), bad.end());
  std::string got = tcp_exchange(framed);
  ASSERT_GE(got.size(), 14u);
  EXPECT_EQ(static_cast<uint8_t>(got[5]) & 0x0F, 1);
  EXPECT_TRUE(sends_and_gets_closed(static_cast<uint16_t>(std::stoi(dns_port_)), std::string("\xff\xff\x00", 3)));
  EXPECT_EQ(dig({"web.service.cairn", "A"}), Lines{"10.1.0.1"});
  EXPECT_TRUE(agent_->running());
}

TEST_F(DnsTest, OtherNamesAreForwardedToTheRecursor) {
  EXPECT_EQ(dig({"example.org", "A"}), Lines{"192.0.2.53"});
  EXPECT_GE(recursor_.queries(), 1);
  auto full = dig_full({"example.org", "A"});
  EXPECT_NE(full.find(" ra"), std::string::npos) << full;
}

}  // namespace
}  // namespace cairn::test
