// Real `cairn agent` processes on 127.0.0.1: a -dev server, and a cluster of
// three servers plus two client agents (the server issue's integration tests).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "api/io/http_client.h"
#include "test/support/process.h"

namespace cairn::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

struct Node {
  std::unique_ptr<Process> process;
  std::string name, gossip, http, rpc;
  std::vector<std::string> args;
  std::string log_path;
};

Result<api::HttpResult> http(const Node& n, const std::string& method, const std::string& target,
                             const std::string& body = {}, Duration timeout = 10s) {
  api::HttpClient c(*api::HttpAddress::parse(n.http));
  return c.request(method, target, body, timeout);
}

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

class ServerClusterTest : public ::testing::Test {
 protected:
  std::vector<std::string> base_args(const std::string& name) {
    return {cairn_binary(), "agent",     "-node",       name, "-data-dir", dir_.file(name), "-bind", "127.0.0.1",
            "-serf-lan-port", "0",       "-http-port",  "0",  "-server-port", "0", "-dns-port", "0"};
  }

  Node& launch(const std::string& name, std::vector<std::string> args) {
    Node n;
    n.name = name;
    n.args = args;
    n.log_path = dir_.file(name + "." + std::to_string(launches_++) + ".log");
    n.process = std::make_unique<Process>(args, n.log_path);
    auto g = n.process->wait_for_log("gossip=(\\S+)", 20s);
    EXPECT_TRUE(g.has_value()) << name << ":\n" << n.process->log();
    n.gossip = g.value_or("");
    n.http = n.process->wait_for_log("Started HTTP server on (\\S+) ", 5s).value_or("");
    n.rpc = n.process->wait_for_log("RPC and Raft on (\\S+)", 1s).value_or("");
    nodes_.push_back(std::move(n));
    return nodes_.back();
  }

  Node& server(const std::string& name, const std::string& join) {
    auto args = base_args(name);
    args.insert(args.end(), {"-server", "-bootstrap-expect", "3", "-config-file", fast_raft()});
    if (!join.empty()) args.insert(args.end(), {"-retry-join", join, "-retry-interval", "200ms"});
    return launch(name, args);
  }

  Node& client(const std::string& name, const std::string& join) {
    auto args = base_args(name);
    args.insert(args.end(), {"-join", join});
    return launch(name, args);
  }

  // Restarts a node that was stopped, with the same flags, data dir and
  // ports (as an operator's fixed ports would be), also joining a live node.
  Node& restart(Node& n) {
    auto port_of = [](const std::string& addr) { return addr.substr(addr.rfind(':') + 1); };
    for (size_t i = 0; i + 1 < n.args.size(); ++i) {
      if (n.args[i] == "-serf-lan-port") n.args[i + 1] = port_of(n.gossip);
      if (n.args[i] == "-http-port") n.args[i + 1] = port_of(n.http);
      if (n.args[i] == "-server-port" && !n.rpc.empty()) n.args[i + 1] = port_of(n.rpc);
    }
    for (auto& other : nodes_) {
      if (&other != &n && other.process->running()) {
        n.args.insert(n.args.end(), {"-retry-join", other.gossip});
        if (std::find(n.args.begin(), n.args.end(), "-retry-interval") == n.args.end())
          n.args.insert(n.args.end(), {"-retry-interval", "200ms"});
        break;
      }
    }
    n.log_path = dir_.file(n.name + "." + std::to_string(launches_++) + ".log");
    n.process = std::make_unique<Process>(n.args, n.log_path);
    n.gossip = n.process->wait_for_log("gossip=(\\S+)", 20s).value_or("");
    n.http = n.process->wait_for_log("Started HTTP server on (\\S+) ", 5s).value_or("");
    n.rpc = n.process->wait_for_log("RPC and Raft on (\\S+)", 1s).value_or("");
    return n;
  }

  std::string fast_raft() {
    std::string path = dir_.file("fast-raft.json");
    std::ofstream(path) << R"({"performance": {"raft_multiplier": 1}, "autopilot": {"server_stabilization_time": "2s"}})";
    return path;
  }

  static std::string leader_of(const Node& n) {
    auto r = http(n, "GET", "/v1/status/leader", "", 2s);
    if (!r.ok() || r->status != 200) return "";
    auto j = json::parse(r->body, nullptr, false);
    return j.is_string() ? j.get<std::string>() : "";
  }

  Node* node_with_rpc(const std::string& rpc) {
    for (auto& n : nodes_)
      if (n.rpc == rpc && n.process->running()) return &n;
    return nullptr;
  }

  // Waits until every running server agrees on one leader; returns it.
  Node* agreed_leader(Duration timeout) {
    Node* found = nullptr;
    eventually(
        [&] {
          std::set<std::string> seen;
          for (auto& n : nodes_) {
            if (!n.process->running() || n.rpc.empty()) continue;
            seen.insert(leader_of(n));
          }
          if (seen.size() != 1 || seen.begin()->empty()) return false;
          found = node_with_rpc(*seen.begin());
          return found != nullptr;
        },
        timeout);
    return found;
  }

  static bool kv_put(const Node& n, const std::string& key, const std::string& value) {
    auto r = http(n, "PUT", "/v1/kv/" + key, value, 5s);
    return r.ok() && r->status == 200 && r->body == "true";
  }

  static std::optional<std::string> kv_raw(const Node& n, const std::string& key, const std::string& extra = "") {
    auto r = http(n, "GET", "/v1/kv/" + key + "?raw" + extra, "", 5s);
    if (!r.ok() || r->status != 200) return std::nullopt;
    return r->body;
  }

  // `cairn <command...> -http-addr ADDR <rest...>`: flags go before
  // positional arguments, as with Go's flag package.
  RunResult cli(const Node& via, std::vector<std::string> command, std::vector<std::string> rest = {}) {
    command.insert(command.begin(), cairn_binary());
    command.insert(command.end(), {"-http-addr", via.http});
    command.insert(command.end(), rest.begin(), rest.end());
    return run(command, dir_);
  }

  TempDir dir_;
  std::deque<Node> nodes_;
  int launches_ = 0;
};

TEST_F(ServerClusterTest, DevAgentIsAOneServerClusterWithKvCatalogAndBlockingQueries) {
  auto args = base_args("dev1");
  args.push_back("-dev");
  Node& dev = launch("dev1", args);
  ASSERT_NE(agreed_leader(20s), nullptr) << dev.process->log();

  // KV round trip with Consul's shapes and headers.
  ASSERT_TRUE(kv_put(dev, "app/config", "hello")) << dev.process->log();
  auto got = http(dev, "GET", "/v1/kv/app/config");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->status, 200) << got->body;
  auto entries = json::parse(got->body);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0]["Key"], "app/config");
  EXPECT_EQ(entries[0]["Value"], "aGVsbG8=");
  uint64_t index = std::stoull(got->header("X-Consul-Index"));
  EXPECT_GT(index, 0u);
  EXPECT_EQ(entries[0]["ModifyIndex"].get<uint64_t>(), index);

  // A missing key is a 404 that still carries an index.
  auto missing = http(dev, "GET", "/v1/kv/nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_FALSE(missing->header("X-Consul-Index").empty());
  EXPECT_NE(missing->header("X-Consul-Index"), "0");

  // A blocking query on the key returns when the key changes, not on an
  // unrelated write.
  std::atomic<bool> answered{false};
  Result<api::HttpResult> blocked = Error(errc::unavailable);
  std::thread waiter([&] {
    blocked = http(dev, "GET", "/v1/kv/app/config?index=" + std::to_string(index) + "&wait=20s", "", 30s);
    answered = true;
  });
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(kv_put(dev, "other/key", "x"));
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(answered.load()) << "an unrelated write woke the blocking query";
  ASSERT_TRUE(kv_put(dev, "app/config", "changed"));
  waiter.join();
  ASSERT_TRUE(blocked.ok());
  ASSERT_EQ(blocked->status, 200);
  EXPECT_GT(std::stoull(blocked->header("X-Consul-Index")), index);
  EXPECT_EQ(json::parse(blocked->body)[0]["Value"], "Y2hhbmdlZA==");

  // The leader registers the agent's own node with serfHealth.
  EXPECT_TRUE(eventually(
      [&] {
        auto r = http(dev, "GET", "/v1/health/node/dev1");
        if (!r.ok() || r->status != 200) return false;
        auto checks = json::parse(r->body, nullptr, false);
        return checks.is_array() && checks.size() == 1 && checks[0]["CheckID"] == "serfHealth" &&
               checks[0]["Status"] == "passing";
      },
      10s))
      << dev.process->log();
  auto nodes = http(dev, "GET", "/v1/catalog/nodes");
  ASSERT_TRUE(nodes.ok());
  EXPECT_NE(nodes->body.find("\"dev1\""), std::string::npos) << nodes->body;

  // Bad input gets a 4xx naming the problem.
  auto bad = http(dev, "GET", "/v1/kv/app/config?index=notanumber");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400);
}

TEST_F(ServerClusterTest, ThreeServersAndTwoClientsServeReadsAndWritesAndSurviveALeaderKill) {
  Node& s1 = server("s1", "");
  server("s2", s1.gossip);
  server("s3", s1.gossip);
  Node& c1 = client("c1", s1.gossip);
  Node& c2 = client("c2", s1.gossip);

  Node* leader = agreed_leader(30s);
  ASSERT_NE(leader, nullptr) << s1.process->log();
  for (auto* n : {&nodes_[0], &nodes_[1], &nodes_[2]}) {
    auto peers = http(*n, "GET", "/v1/status/peers");
    ASSERT_TRUE(peers.ok());
    EXPECT_EQ(json::parse(peers->body).size(), 3u) << peers->body;
  }

  // Register a service through one client agent, read it through the other.
  json reg = {{"Node", "web-host"},
              {"Address", "10.0.0.7"},
              {"Service", {{"Service", "web"}, {"ID", "web-1"}, {"Port", 8080}, {"Tags", {"v1"}}}}};
  auto put = http(c1, "PUT", "/v1/catalog/register", reg.dump());
  ASSERT_TRUE(put.ok());
  ASSERT_EQ(put->status, 200) << put->body;
  auto svc = http(c2, "GET", "/v1/catalog/service/web");
  ASSERT_TRUE(svc.ok());
  ASSERT_EQ(svc->status, 200) << svc->body;
  auto rows = json::parse(svc->body);
  ASSERT_EQ(rows.size(), 1u) << svc->body;
  EXPECT_EQ(rows[0]["ServiceID"], "web-1");
  EXPECT_EQ(rows[0]["ServicePort"], 8080);
  EXPECT_EQ(rows[0]["Address"], "10.0.0.7");

  // Every agent shows up in the catalog with a passing serfHealth.
  EXPECT_TRUE(eventually(
      [&] {
        auto r = http(c2, "GET", "/v1/health/state/passing");
        if (!r.ok() || r->status != 200) return false;
        int serf = 0;
        for (const auto& c : json::parse(r->body, nullptr, false)) serf += c.value("CheckID", "") == "serfHealth";
        return serf == 5;
      },
      15s));

  // KV through a client; stale and consistent reads on the servers.
  ASSERT_TRUE(kv_put(c1, "cfg/a", "1"));
  EXPECT_EQ(kv_raw(c2, "cfg/a", "&consistent").value_or(""), "1");
  for (auto* n : {&nodes_[0], &nodes_[1], &nodes_[2]})
    EXPECT_TRUE(eventually([&] { return kv_raw(*n, "cfg/a", "&stale").value_or("") == "1"; }, 5s));
  auto stale = http(c2, "GET", "/v1/kv/cfg/a?stale");
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(stale->header("X-Consul-LastContact").empty());
  EXPECT_EQ(stale->header("X-Consul-KnownLeader"), "true");

  // kill -9 the leader while a client agent keeps writing; a new leader
  // takes over and no acknowledged write is lost.
  std::mutex mu;
  std::vector<std::string> acked;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      std::string key = "load/k" + std::to_string(i);
      if (kv_put(c1, key, std::to_string(i))) {
        std::lock_guard<std::mutex> l(mu);
        acked.push_back(key);
      }
    }
  });
  std::this_thread::sleep_for(1s);
  std::string old_leader_rpc = leader->rpc;
  Node& killed = *leader;
  auto killed_at = std::chrono::steady_clock::now();
  killed.process->signal(SIGKILL);
  killed.process->wait_exit(5s);
  Node* next = nullptr;
  ASSERT_TRUE(eventually(
      [&] {
        for (auto& n : nodes_) {
          if (!n.process->running() || n.rpc.empty()) continue;
          std::string l = leader_of(n);
          if (!l.empty() && l != old_leader_rpc) {
            next = node_with_rpc(l);
            if (next) return true;
          }
        }
        return false;
      },
      15s, 20ms));
  auto failover = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed_at);
  std::printf("failover: new leader %s after %lld ms (issue target: 2000 ms)\n", next->name.c_str(),
              static_cast<long long>(failover.count()));
  // Measured 0.57–0.79 s here (raft_multiplier 1: elections after 0.5–1 s);
  // the bound leaves room for a loaded CI machine.
  EXPECT_LT(failover, std::chrono::milliseconds(3000));
  // Writes are acknowledged again under the new leader.
  size_t before;
  {
    std::lock_guard<std::mutex> l(mu);
    before = acked.size();
  }
  EXPECT_TRUE(eventually(
      [&] {
        std::lock_guard<std::mutex> l(mu);
        return acked.size() > before + 10;
      },
      10s));
  stop = true;
  writer.join();

  // The killed server restarts and catches up; every acknowledged write is
  // on every server.
  restart(killed);
  ASSERT_FALSE(killed.http.empty()) << killed.process->log();
  std::vector<std::string> keys;
  {
    std::lock_guard<std::mutex> l(mu);
    keys = acked;
  }
  ASSERT_GT(keys.size(), 20u);
  for (auto* n : {&nodes_[0], &nodes_[1], &nodes_[2]}) {
    EXPECT_TRUE(eventually(
        [&] {
          auto r = http(*n, "GET", "/v1/kv/load/?keys&stale");
          if (!r.ok() || r->status != 200) return false;
          auto have = json::parse(r->body, nullptr, false);
          std::set<std::string> present;
          for (const auto& k : have) present.insert(k.get<std::string>());
          for (const auto& k : keys)
            if (!present.count(k)) return false;
          return true;
        },
        20s))
        << n->name << " is missing acknowledged writes";
  }
}

TEST_F(ServerClusterTest, ASessionHeldByAFailedNodeIsInvalidatedAndItsLockReleased) {
  Node& s1 = server("s1", "");
  server("s2", s1.gossip);
  server("s3", s1.gossip);
  Node& c1 = client("c1", s1.gossip);
  Node& c2 = client("c2", s1.gossip);
  ASSERT_NE(agreed_leader(30s), nullptr);

  // c2 must be in the catalog (with serfHealth) before it can hold a session.
  ASSERT_TRUE(eventually(
      [&] {
        auto r = http(c1, "GET", "/v1/health/node/c2");
        return r.ok() && r->status == 200 && r->body.find("serfHealth") != std::string::npos;
      },
      15s));
  auto created = http(c2, "PUT", "/v1/session/create", R"({"Name": "lock-holder", "LockDelay": "1ms"})");
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->status, 200) << created->body;
  std::string session = json::parse(created->body)["ID"];
  auto acquired = http(c2, "PUT", "/v1/kv/locks/leader?acquire=" + session, "c2");
  ASSERT_TRUE(acquired.ok());
  ASSERT_EQ(acquired->body, "true");
  auto held = json::parse(http(c1, "GET", "/v1/kv/locks/leader")->body);
  EXPECT_EQ(held[0]["Session"], session);

  // The node that holds the session dies: serfHealth goes critical, the
  // session is invalidated and the lock released.
  nodes_[4].process->signal(SIGKILL);
  nodes_[4].process->wait_exit(5s);
  EXPECT_TRUE(eventually(
      [&] {
        auto r = http(c1, "GET", "/v1/kv/locks/leader");
        if (!r.ok() || r->status != 200) return false;
        auto e = json::parse(r->body, nullptr, false);
        return e.is_array() && !e[0].contains("Session");
      },
      30s))
      << "the lock was not released";
  auto info = http(c1, "GET", "/v1/session/info/" + session);
  ASSERT_TRUE(info.ok());
  auto sessions = json::parse(info->body, nullptr, false);
  EXPECT_TRUE(sessions.is_null() || sessions.empty()) << info->body;
}

TEST_F(ServerClusterTest, CliKvCatalogAndOperatorRaftAgainstAClusterAndALeavingServerIsRemoved) {
  Node& s1 = server("s1", "");
  server("s2", s1.gossip);
  server("s3", s1.gossip);
  Node* leader = agreed_leader(30s);
  ASSERT_NE(leader, nullptr);

  // kv put / get / export / import / delete through the CLI.
  auto put = cli(s1, {"kv", "put"}, {"cli/a", "alpha"});
  EXPECT_EQ(put.status, 0) << put.output;
  EXPECT_NE(put.output.find("Success! Data written to: cli/a"), std::string::npos) << put.output;
  auto get = cli(nodes_[1], {"kv", "get"}, {"cli/a"});
  EXPECT_EQ(get.status, 0) << get.output;
  EXPECT_EQ(get.output, "alpha\n");
  auto exported = cli(s1, {"kv", "export"}, {"cli/"});
  ASSERT_EQ(exported.status, 0) << exported.output;
  auto exp_json = json::parse(exported.output, nullptr, false);
  ASSERT_TRUE(exp_json.is_array()) << exported.output;
  ASSERT_EQ(exp_json.size(), 1u);
  EXPECT_EQ(exp_json[0]["key"], "cli/a");
  EXPECT_EQ(exp_json[0]["value"], "YWxwaGE=");
  auto imported = cli(s1, {"kv", "import"}, {R"([{"key":"cli/b","flags":0,"value":"YmV0YQ=="}])"});
  EXPECT_EQ(imported.status, 0) << imported.output;
  EXPECT_EQ(kv_raw(nodes_[2], "cli/b").value_or(""), "beta");
  auto del = cli(s1, {"kv", "delete"}, {"-recurse", "cli/"});
  EXPECT_EQ(del.status, 0) << del.output;
  auto gone = cli(s1, {"kv", "get"}, {"cli/a"});
  EXPECT_EQ(gone.status, 1) << gone.output;
  EXPECT_NE(gone.output.find("No key exists at: cli/a"), std::string::npos) << gone.output;

  // catalog: every server is a node.
  EXPECT_TRUE(eventually(
      [&] {
        auto nodes = cli(s1, {"catalog", "nodes"});
        return nodes.status == 0 && nodes.output.find("s1") != std::string::npos &&
               nodes.output.find("s2") != std::string::npos && nodes.output.find("s3") != std::string::npos;
      },
      15s));

  // operator raft list-peers: three voters, one leader.
  auto peers = cli(s1, {"operator", "raft", "list-peers"});
  ASSERT_EQ(peers.status, 0) << peers.output;
  for (const char* n : {"s1", "s2", "s3"}) EXPECT_NE(peers.output.find(n), std::string::npos) << peers.output;
  EXPECT_NE(peers.output.find("leader"), std::string::npos) << peers.output;

  // A fourth server joins as a non-voter and autopilot promotes it once it
  // has been healthy for server_stabilization_time (2s in fast_raft()).
  server("s4", s1.gossip);
  auto s4_voter = [&]() -> std::optional<bool> {
    auto r = http(s1, "GET", "/v1/operator/raft/configuration", "", 2s);
    if (!r.ok() || r->status != 200) return std::nullopt;
    auto j = json::parse(r->body, nullptr, false);
    if (!j.is_object()) return std::nullopt;
    for (const auto& srv : j["Servers"])
      if (srv.value("Node", "") == "s4") return srv.value("Voter", true);
    return std::nullopt;
  };
  EXPECT_TRUE(eventually([&] { return s4_voter() == false; }, 20s, 50ms))
      << http(s1, "GET", "/v1/operator/raft/configuration")->body;
  EXPECT_TRUE(eventually([&] { return s4_voter() == true; }, 30s))
      << http(s1, "GET", "/v1/operator/raft/configuration")->body;
  auto peers4 = cli(s1, {"operator", "raft", "list-peers"});
  ASSERT_EQ(peers4.status, 0) << peers4.output;
  EXPECT_NE(peers4.output.find("s4"), std::string::npos) << peers4.output;

  // transfer-leader to a named server moves leadership there.
  auto config = json::parse(http(s1, "GET", "/v1/operator/raft/configuration")->body);
  std::string target_id, target_addr;
  for (const auto& srv : config["Servers"]) {
    if (!srv["Leader"].get<bool>()) {
      target_id = srv["ID"];
      target_addr = srv["Address"];
      break;
    }
  }
  ASSERT_FALSE(target_id.empty()) << config.dump();
  auto moved = cli(s1, {"operator", "raft", "transfer-leader"}, {"-id", target_id});
  EXPECT_EQ(moved.status, 0) << moved.output;
  EXPECT_TRUE(eventually([&] { return leader_of(s1) == target_addr; }, 10s)) << leader_of(s1);

  // A server that leaves gracefully is removed from the Raft configuration
  // at once (not after dead_server_removal_after).
  Node* leaving = nullptr;
  for (auto& n : nodes_)
    if (n.rpc != target_addr) leaving = &n;
  ASSERT_NE(leaving, nullptr);
  auto left = cli(*leaving, {"leave"});
  EXPECT_EQ(left.status, 0) << left.output;
  leaving->process->wait_exit(15s);
  Node* remaining = node_with_rpc(target_addr);
  ASSERT_NE(remaining, nullptr);
  EXPECT_TRUE(eventually(
      [&] {
        auto r = http(*remaining, "GET", "/v1/status/peers");
        return r.ok() && r->status == 200 && json::parse(r->body, nullptr, false).size() == 3;
      },
      15s))
      << http(*remaining, "GET", "/v1/status/peers")->body;
  // The three left still commit writes.
  EXPECT_TRUE(kv_put(*remaining, "after/leave", "ok"));
}

}  // namespace
}  // namespace cairn::test
