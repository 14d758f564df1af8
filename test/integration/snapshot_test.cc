// `cairn snapshot save|restore|inspect` and /v1/txn against real `cairn
// agent` server processes on 127.0.0.1: a one-server cluster whose restored
// state survives a restart, and three servers that all receive a restore.
#include <gtest/gtest.h>

#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "api/io/http_client.h"
#include "test/support/process.h"

namespace cairn::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

struct Agent {
  std::unique_ptr<Process> process;
  std::vector<std::string> args;
  std::string http, gossip;
};

class SnapshotTest : public ::testing::Test {
 protected:
  // A server agent with its own data dir; `expect` servers bootstrap.
  Agent& server(const std::string& name, int expect, const std::string& join = {}) {
    std::string cfg = dir_.file("fast.json");
    std::ofstream(cfg) << R"({"performance": {"raft_multiplier": 1}})";
    return agent(name, join, {"-server", "-bootstrap-expect", std::to_string(expect), "-config-file", cfg});
  }
  // A client agent (no server): its HTTP API reaches the servers over RPC.
  Agent& client(const std::string& name, const std::string& join) { return agent(name, join, {}); }
  Agent& agent(const std::string& name, const std::string& join, const std::vector<std::string>& extra) {
    std::vector<std::string> args{cairn_binary(), "agent", "-node", name, "-data-dir", dir_.file(name),
                                  "-bind", "127.0.0.1", "-serf-lan-port", "0", "-http-port", "0",
                                  "-server-port", "0", "-dns-port", "-1"};
    args.insert(args.end(), extra.begin(), extra.end());
    if (!join.empty()) args.insert(args.end(), {"-retry-join", join, "-retry-interval", "200ms"});
    agents_.push_back(Agent{nullptr, args, {}, {}});
    start(agents_.back());
    return agents_.back();
  }
  void start(Agent& a) {
    a.process = std::make_unique<Process>(a.args, dir_.file("agent-" + std::to_string(launches_++) + ".log"));
    a.gossip = a.process->wait_for_log("gossip=(\\S+)", 20s).value_or("");
    a.http = a.process->wait_for_log("Started HTTP server on (\\S+) ", 5s).value_or("");
    ASSERT_FALSE(a.http.empty()) << a.process->log();
  }
  // Stops by SIGTERM and starts again with the same data dir and ports.
  void restart(Agent& a) {
    a.process->signal(SIGTERM);
    ASSERT_TRUE(a.process->wait_exit(20s).has_value());
    auto port = [](const std::string& addr) { return addr.substr(addr.rfind(':') + 1); };
    for (size_t i = 0; i + 1 < a.args.size(); ++i) {
      if (a.args[i] == "-http-port") a.args[i + 1] = port(a.http);
      if (a.args[i] == "-serf-lan-port") a.args[i + 1] = port(a.gossip);
    }
    start(a);
  }

  Result<api::HttpResult> http(const Agent& a, const std::string& method, const std::string& target,
                               const std::string& body = {}) {
    api::HttpClient c(*api::HttpAddress::parse(a.http));
    return c.request(method, target, body, 10s);
  }
  template <typename F>
  bool eventually(F fn, Duration timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (fn()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return fn();
  }
  // The value of `key` (nullopt when missing) as `a` reads it with ?stale.
  std::optional<std::string> value(const Agent& a, const std::string& key) {
    auto r = http(a, "GET", "/v1/kv/" + key + "?raw&stale");
    if (!r.ok() || r->status != 200) return std::nullopt;
    return r->body;
  }
  void put(const Agent& a, const std::string& key, const std::string& v) {
    auto r = http(a, "PUT", "/v1/kv/" + key, v);
    ASSERT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.error().message());
  }
  bool has_leader(const Agent& a) {
    auto r = http(a, "GET", "/v1/status/leader");
    return r.ok() && r->status == 200 && r->body != "\"\"";
  }
  RunResult cli(std::vector<std::string> args, const Agent& a) {
    args.insert(args.begin(), cairn_binary());
    args.insert(args.end() - 1, {"-http-addr", a.http});
    return run(args, dir_);
  }

  TempDir dir_;
  std::deque<Agent> agents_;
  int launches_ = 0;
};

TEST_F(SnapshotTest, SaveChangeRestoreBringsKeysBackAndTheyOutliveARestart) {
  Agent& a = server("solo", 1);
  ASSERT_TRUE(eventually([&] { return has_leader(a); }, 20s)) << a.process->log();
  put(a, "app/one", "1");
  put(a, "app/two", "2");

  std::string file = dir_.file("backup.snap");
  auto saved = cli({"snapshot", "save", file}, a);
  ASSERT_EQ(saved.status, 0) << saved.output;
  EXPECT_NE(saved.output.find("Saved and verified snapshot to index "), std::string::npos) << saved.output;
  auto inspected = run({cairn_binary(), "snapshot", "inspect", file}, dir_);
  ASSERT_EQ(inspected.status, 0) << inspected.output;
  EXPECT_NE(inspected.output.find("Index"), std::string::npos) << inspected.output;
  EXPECT_NE(inspected.output.find("kv"), std::string::npos) << inspected.output;

  // Change, delete and add, also through a transaction.
  put(a, "app/one", "changed");
  ASSERT_EQ(http(a, "DELETE", "/v1/kv/app/two")->status, 200);
  auto t = http(a, "PUT", "/v1/txn", R"([{"KV":{"Verb":"set","Key":"app/three","Value":"Mw=="}}])");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->status, 200) << t->body;

  auto restored = cli({"snapshot", "restore", file}, a);
  ASSERT_EQ(restored.status, 0) << restored.output;
  EXPECT_EQ(value(a, "app/one"), "1");
  EXPECT_EQ(value(a, "app/two"), "2");
  EXPECT_EQ(value(a, "app/three"), std::nullopt);

  // A corrupt or truncated archive is refused and changes nothing.
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto truncated = http(a, "PUT", "/v1/snapshot", bytes.substr(0, bytes.size() / 2));
  ASSERT_TRUE(truncated.ok());
  EXPECT_EQ(truncated->status, 400) << truncated->body;
  std::string bad_file = dir_.file("bad.snap");
  std::ofstream(bad_file, std::ios::binary) << "not a snapshot";
  auto bad = cli({"snapshot", "restore", bad_file}, a);
  EXPECT_EQ(bad.status, 1) << bad.output;
  EXPECT_EQ(value(a, "app/one"), "1");

  put(a, "app/after", "x");
  restart(a);
  ASSERT_TRUE(eventually([&] { return has_leader(a) && value(a, "app/after").has_value(); }, 30s))
      << a.process->log();
  EXPECT_EQ(value(a, "app/one"), "1");
  EXPECT_EQ(value(a, "app/two"), "2");
  EXPECT_EQ(value(a, "app/three"), std::nullopt);
  EXPECT_EQ(value(a, "app/after"), "x");
}

TEST_F(SnapshotTest, ARestoreReachesEveryServerOfThree) {
  Agent& s1 = server("s1", 3);
  Agent& s2 = server("s2", 3, s1.gossip);
  Agent& s3 = server("s3", 3, s1.gossip);
  ASSERT_TRUE(eventually([&] { return has_leader(s1) && has_leader(s2) && has_leader(s3); }, 60s))
      << s1.process->log();
  put(s2, "k", "saved");
  std::string file = dir_.file("three.snap");
  auto saved = cli({"snapshot", "save", file}, s3);
  ASSERT_EQ(saved.status, 0) << saved.output;
  put(s1, "k", "changed");
  put(s1, "extra", "x");
  auto restored = cli({"snapshot", "restore", file}, s2);
  ASSERT_EQ(restored.status, 0) << restored.output;
  for (Agent* a : {&s1, &s2, &s3}) {
    EXPECT_TRUE(eventually([&] { return value(*a, "k") == "saved" && !value(*a, "extra"); }, 20s))
        << "server " << a->args[3] << " k=" << value(*a, "k").value_or("(none)");
  }

  // Through a client agent, over RPC to the servers: a transaction, then a
  // save and a restore of the whole archive.
  Agent& c1 = client("c1", s1.gossip);
  ASSERT_TRUE(eventually([&] { return has_leader(c1); }, 30s)) << c1.process->log();
  auto t = http(c1, "PUT", "/v1/txn", R"([{"KV":{"Verb":"set","Key":"via-client","Value":"eA=="}}])");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->status, 200) << t->body;
  std::string client_file = dir_.file("client.snap");
  auto via = cli({"snapshot", "save", client_file}, c1);
  ASSERT_EQ(via.status, 0) << via.output;
  put(s1, "via-client", "overwritten");
  auto back = cli({"snapshot", "restore", client_file}, c1);
  ASSERT_EQ(back.status, 0) << back.output;
  for (Agent* a : {&s1, &s2, &s3})
    EXPECT_TRUE(eventually([&] { return value(*a, "via-client") == "x"; }, 20s)) << "server " << a->args[3];
}

}  // namespace
}  // namespace cairn::test
