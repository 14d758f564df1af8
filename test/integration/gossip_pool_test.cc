// Real `cairn agent` processes forming a gossip pool on 127.0.0.1.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <fstream>
#include <random>

#include "api/io/http_client.h"
#include "test/support/process.h"

namespace cairn::test {
namespace {

using namespace std::chrono_literals;

struct Agent {
  std::unique_ptr<Process> process;
  std::string name, gossip, http;
};

class GossipPoolTest : public ::testing::Test {
 protected:
  // Starts an agent; join: gossip address to -join ("" for none).
  Agent& start(const std::string& name, const std::string& join = "", const std::string& key = "",
               bool expect_start = true) {
    std::vector<std::string> args{cairn_binary(), "agent",      "-node",        name, "-data-dir", dir_.file(name),
                                  "-bind",        "127.0.0.1", "-serf-lan-port", "0", "-http-port", "0", "-dns-port", "-1"};
    if (!join.empty()) args.insert(args.end(), {"-join", join});
    if (!key.empty()) args.insert(args.end(), {"-encrypt", key});
    Agent a;
    a.name = name;
    a.process = std::make_unique<Process>(args, dir_.file(name + ".log"));
    if (expect_start) {
      auto line = a.process->wait_for_log("gossip=(\\S+)", 15s);
      EXPECT_TRUE(line.has_value()) << a.process->log();
      a.gossip = line.value_or("");
      a.http = a.process->wait_for_log("Started HTTP server on (\\S+) ", 5s).value_or("");
    }
    agents_.push_back(std::move(a));
    return agents_.back();
  }

  static nlohmann::json members(const Agent& a) {
    api::HttpClient c(*api::HttpAddress::parse(a.http));
    auto r = c.request("GET", "/v1/agent/members", "", 5s);
    if (!r.ok() || r->status != 200) return nlohmann::json::array();
    return nlohmann::json::parse(r->body, nullptr, false);
  }

  // Status (1 alive, 3 left, 4 failed) of `name` as `a` sees it; 0 if unknown.
  static int status_of(const Agent& a, const std::string& name) {
    for (const auto& m : members(a))
      if (m.value("Name", "") == name) return m.value("Status", 0);
    return 0;
  }

  // Polls until every running agent sees `name` with `status`.
  bool all_see(const std::string& name, int status, std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      bool ok = true;
      for (auto& a : agents_) {
        if (a.name == name || !a.process->running()) continue;
        if (status_of(a, name) != status) {
          ok = false;
          break;
        }
      }
      if (ok) return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }

  int count_alive(const Agent& a) {
    int n = 0;
    for (const auto& m : members(a)) n += m.value("Status", 0) == 1;
    return n;
  }

  RunResult cli(const Agent& via, std::vector<std::string> args) {
    args.insert(args.begin(), cairn_binary());
    args.insert(args.end(), {"-http-addr", via.http});
    return run(args, dir_);
  }

  TempDir dir_;
  std::deque<Agent> agents_;
};

TEST_F(GossipPoolTest, TwentyAgentsConvergeAndDetectAFailureAndALeave) {
  constexpr int kAgents = 20;
  start("a0");
  // Each joins through one of the first three, so joins do not all go to one member.
  for (int i = 1; i < kAgents; ++i) start("a" + std::to_string(i), agents_[static_cast<size_t>(i % std::min(i, 3))].gossip);
  // Convergence: every agent sees all twenty alive.
  auto deadline = std::chrono::steady_clock::now() + 60s;
  bool converged = false;
  while (!converged && std::chrono::steady_clock::now() < deadline) {
    converged = true;
    for (auto& a : agents_) converged = converged && count_alive(a) == kAgents;
    if (!converged) std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(converged) << "pool did not converge";

  // kill -9: everyone marks it failed (status 4), not left.
  agents_[7].process->signal(SIGKILL);
  EXPECT_TRUE(all_see("a7", 4, 90s)) << "a7 was not declared failed everywhere";

  // A graceful leave shows as left (3), not failed.
  agents_[11].process->signal(SIGTERM);
  EXPECT_EQ(agents_[11].process->wait_exit(15s).value_or(-1), 0);
  EXPECT_TRUE(all_see("a11", 3, 30s)) << "a11 was not seen as left everywhere";

  // force-leave turns the failed member into a left one everywhere.
  auto forced = cli(agents_[0], {"force-leave", "a7"});
  EXPECT_EQ(forced.status, 0) << forced.output;
  EXPECT_TRUE(all_see("a7", 3, 30s)) << "a7 was not force-left everywhere";
  EXPECT_EQ(cli(agents_[0], {"force-leave", "no-such-node"}).status, 1);

  // No false positives among the others.
  for (auto& a : agents_) {
    if (a.name == "a7" || a.name == "a11") continue;
    EXPECT_EQ(count_alive(a), kAgents - 2) << a.name;
  }
}

// Sends `bytes` to ip:port over UDP (datagram) or TCP (one connection).
void send_raw(const std::string& addr, const std::string& bytes, bool tcp) {
  auto colon = addr.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(addr.substr(colon + 1))));
  ::inet_pton(AF_INET, addr.substr(0, colon).c_str(), &sa.sin_addr);
  int fd = ::socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
  if (tcp) {
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  } else {
    ::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  ::close(fd);
}

TEST_F(GossipPoolTest, GarbagePacketsAreDroppedWithoutHarm) {
  auto& a = start("target");
  auto& b = start("peer", a.gossip);
  ASSERT_TRUE(all_see("target", 1, 10s));
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string junk(static_cast<size_t>(rng() % 1500), '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    if (i % 3 == 0 && !junk.empty()) junk[0] = static_cast<char>(i % 8);  // plausible message types
    send_raw(a.gossip, junk, /*tcp=*/i % 2 == 0);
  }
  // An oversized stream frame and a truncated one.
  send_raw(a.gossip, std::string("\x7f\xff\xff\xff", 4) + "x", true);
  send_raw(a.gossip, std::string("\x00\x00\x01\x00", 4) + "short", true);
  std::this_thread::sleep_for(2s);
  EXPECT_TRUE(a.process->running());
  EXPECT_EQ(status_of(b, "target"), 1);
  EXPECT_EQ(status_of(a, "peer"), 1);
}

TEST_F(GossipPoolTest, TransitionalSettingsLetAKeyedAgentTalkToAPlaintextPool) {
  std::string key = run({cairn_binary(), "keygen"}, dir_).output;
  key.erase(key.find_last_not_of("\n") + 1);
  auto& plain = start("plain-a");
  std::ofstream(dir_.file("transition.json"))
      << R"({"encrypt_verify_incoming": false, "encrypt_verify_outgoing": false})";
  Process keyed({cairn_binary(), "agent", "-node", "keyed", "-data-dir", dir_.file("keyed"), "-bind", "127.0.0.1", "-dns-port", "-1",
                 "-serf-lan-port", "0", "-http-port", "0", "-encrypt", key, "-config-file", dir_.file("transition.json"),
                 "-join", plain.gossip},
                dir_.file("keyed.log"));
  ASSERT_TRUE(keyed.wait_for_log("joined: contacted 1 nodes", 15s).has_value()) << keyed.log();
  EXPECT_TRUE(all_see("keyed", 1, 10s));
  // Without the transitional settings the same key is refused by the plaintext pool.
  Process strict({cairn_binary(), "agent", "-node", "strict", "-data-dir", dir_.file("strict"), "-bind", "127.0.0.1", "-dns-port", "-1",
                  "-serf-lan-port", "0", "-http-port", "0", "-encrypt", key, "-join", plain.gossip},
                 dir_.file("strict.log"));
  EXPECT_EQ(strict.wait_exit(30s).value_or(-1), 1) << strict.log();
}

TEST_F(GossipPoolTest, RetryJoinBacksOffAndGivesUpAfterRetryMax) {
  Process p({cairn_binary(), "agent", "-node", "lonely", "-data-dir", dir_.file("lonely"), "-bind", "127.0.0.1", "-dns-port", "-1",
             "-serf-lan-port", "0", "-http-port", "0", "-retry-join", "127.0.0.1:1", "-retry-interval", "400ms",
             "-retry-max", "4"},
            dir_.file("lonely.log"));
  auto status = p.wait_exit(30s);
  ASSERT_TRUE(status.has_value()) << p.log();
  EXPECT_EQ(*status, 1);
  std::string log = p.log();
  // Backoff: 100ms would be too short; the waits double up to retry_interval.
  EXPECT_NE(log.find("retrying in 400ms"), std::string::npos) << log;
  EXPECT_NE(log.find("giving up"), std::string::npos) << log;
}

TEST_F(GossipPoolTest, RetryJoinKeepsTryingUntilAPeerAppears) {
  Process late({cairn_binary(), "agent", "-node", "early", "-data-dir", dir_.file("early"), "-bind", "127.0.0.1", "-dns-port", "-1",
                "-serf-lan-port", "0", "-http-port", "0", "-retry-join", "127.0.0.1:28391", "-retry-interval", "200ms"},
               dir_.file("early.log"));
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(late.running());
  Process peer({cairn_binary(), "agent", "-node", "anchor", "-data-dir", dir_.file("anchor"), "-bind", "127.0.0.1", "-dns-port", "-1",
                "-serf-lan-port", "28391", "-http-port", "0"},
               dir_.file("anchor.log"));
  EXPECT_TRUE(late.wait_for_log("retry join succeeded", 15s).has_value()) << late.log();
}

TEST_F(GossipPoolTest, JoinCommandAndMembersCommand) {
  auto& a = start("first");
  auto& b = start("second");
  auto joined = cli(b, {"join", a.gossip});
  EXPECT_EQ(joined.status, 0) << joined.output;
  EXPECT_NE(joined.output.find("Successfully joined cluster by contacting 1 nodes."), std::string::npos);
  ASSERT_TRUE(all_see("first", 1, 10s));
  auto list = cli(a, {"members"});
  EXPECT_EQ(list.status, 0);
  EXPECT_NE(list.output.find("second"), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("alive"), std::string::npos);
  auto bad = cli(b, {"join", "127.0.0.1:1"});
  EXPECT_EQ(bad.status, 1) << bad.output;
}

TEST_F(GossipPoolTest, UserEventsReachEveryMember) {
  auto& a = start("ev-a");
  start("ev-b", a.gossip);
  auto& c = start("ev-c", a.gossip);
  ASSERT_TRUE(all_see("ev-a", 1, 10s));
  auto fired = cli(a, {"event", "-name", "deploy", "v1.2"});
  ASSERT_EQ(fired.status, 0) << fired.output;
  for (auto* agent : {&agents_[1], &c}) {
    nlohmann::json events;
    for (int i = 0; i < 50; ++i) {
      api::HttpClient client(*api::HttpAddress::parse(agent->http));
      auto r = client.request("GET", "/v1/event/list?name=deploy", "", 5s);
      events = nlohmann::json::parse(r->body, nullptr, false);
      if (events.is_array() && events.size() == 1) break;
      std::this_thread::sleep_for(100ms);
    }
    ASSERT_EQ(events.size(), 1u) << agent->name;
    EXPECT_EQ(events[0]["Payload"], "djEuMg==");  // base64("v1.2")
  }
}

TEST_F(GossipPoolTest, EventListBlocksUntilANewEvent) {
  auto& a = start("blk");
  api::HttpClient client(*api::HttpAddress::parse(a.http));
  ASSERT_EQ(cli(a, {"event", "-name", "one"}).status, 0);
  std::this_thread::sleep_for(300ms);
  auto first = client.request("GET", "/v1/event/list", "", 5s);
  ASSERT_TRUE(first.ok());
  std::string index = first->header("X-Consul-Index");
  ASSERT_FALSE(index.empty());
  // Times out without a new event…
  auto begin = std::chrono::steady_clock::now();
  auto idle = client.request("GET", "/v1/event/list?wait=500ms&index=" + index, "", 10s);
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 450ms);
  EXPECT_EQ(idle->header("X-Consul-Index"), index);
  // …and returns as soon as one arrives.
  std::thread fire([&] {
    std::this_thread::sleep_for(300ms);
    cli(a, {"event", "-name", "two"});
  });
  auto woken = client.request("GET", "/v1/event/list?wait=20s&index=" + index, "", 30s);
  fire.join();
  EXPECT_NE(woken->header("X-Consul-Index"), index);
  EXPECT_EQ(nlohmann::json::parse(woken->body).size(), 2u);
  EXPECT_EQ(client.request("GET", "/v1/event/list?index=abc", "", 5s)->status, 400);
}

TEST_F(GossipPoolTest, EncryptedPoolRefusesAWrongKeyAndRotatesWithoutDowntime) {
  std::string key = run({cairn_binary(), "keygen"}, dir_).output;
  key.erase(key.find_last_not_of("\n") + 1);
  std::string other = run({cairn_binary(), "keygen"}, dir_).output;
  other.erase(other.find_last_not_of("\n") + 1);
  auto& a = start("enc-a", "", key);
  start("enc-b", a.gossip, key);
  ASSERT_TRUE(all_see("enc-a", 1, 10s));

  // Wrong key: -join fails and the agent exits 1; the pool never sees it.
  auto& intruder = start("intruder", a.gossip, other, /*expect_start=*/false);
  EXPECT_EQ(intruder.process->wait_exit(30s).value_or(-1), 1) << intruder.process->log();
  EXPECT_EQ(status_of(a, "intruder"), 0);
  // No key at all: the same.
  auto& plain = start("plain", a.gossip, "", /*expect_start=*/false);
  EXPECT_EQ(plain.process->wait_exit(30s).value_or(-1), 1);

  // Rotate to `other` while both members stay up.
  ASSERT_EQ(cli(a, {"keyring", "-install", other}).status, 0);
  ASSERT_EQ(cli(a, {"keyring", "-use", other}).status, 0);
  auto removed = cli(a, {"keyring", "-remove", key});
  ASSERT_EQ(removed.status, 0) << removed.output;
  auto listed = cli(a, {"keyring", "-list"});
  EXPECT_NE(listed.output.find(other + " [2/2]"), std::string::npos) << listed.output;
  EXPECT_EQ(listed.output.find(key), std::string::npos);
  EXPECT_TRUE(all_see("enc-a", 1, 5s));
  EXPECT_TRUE(all_see("enc-b", 1, 5s));

  // Now only the new key gets in.
  auto& late = start("late", a.gossip, other);
  EXPECT_TRUE(late.process->running());
  EXPECT_TRUE(all_see("late", 1, 15s));
}

}  // namespace
}  // namespace cairn::test
