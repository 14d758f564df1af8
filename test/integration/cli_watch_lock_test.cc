// `cairn watch` and `cairn lock` against a real `cairn agent -dev`.
//
// watch: a key handler sees the initial value and each later change on its
// stdin; without a handler the JSON is printed once; keyprefix and services;
// a bad -type. lock: a child holds PREFIX/.lock while it runs, a second lock
// on the same prefix waits until the first ends, the child's exit code is the
// command's, and the lock is free afterwards.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/base64.h"
#include "test/support/poll.h"
#include "test/support/process.h"

namespace cairn::test {
namespace {

using namespace std::chrono_literals;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string base64_of(const nlohmann::json& v) {
  return v.is_string() ? base64_decode(v.get<std::string>()).value_or("") : "";
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

class CliWatchLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    agent_ = std::make_unique<Process>(
        std::vector<std::string>{cairn_binary(), "agent", "-dev", "-http-port", "0", "-dns-port", "0",
                                 "-serf-lan-port", "0", "-server-port", "0", "-node", "watch-node"},
        dir_.file("agent.log"));
    auto http = agent_->wait_for_log("Started HTTP server on 127\\.0\\.0\\.1:([0-9]+)", 10s);
    ASSERT_TRUE(http) << agent_->log();
    http_ = "127.0.0.1:" + *http;
    ASSERT_TRUE(eventually(
        [&] {
          auto r = agent_http(http_, "GET", "/v1/status/leader");
          return r.ok() && r->status == 200 && r->body != "\"\"";
        },
        15s));
  }

  void put(const std::string& key, const std::string& value) {
    auto r = agent_http(http_, "PUT", "/v1/kv/" + key, value);
    ASSERT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.error().message());
  }
  // The decoded values of the KV pairs (one JSON document a line) in `text`.
  static std::vector<std::string> values(const std::string& text) {
    std::vector<std::string> out;
    for (const auto& l : lines_of(text)) {
      auto j = nlohmann::json::parse(l, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        out.push_back("<bad line: " + l + ">");
        continue;
      }
      out.push_back(j.value("Key", "") + "=" + j.value("Value", ""));
    }
    return out;
  }
  std::vector<std::string> cli(std::vector<std::string> args) {
    std::vector<std::string> full{cairn_binary()};
    full.insert(full.end(), args.begin(), args.end());
    return full;
  }
  std::string addr() const { return "-http-addr=" + http_; }

  TempDir dir_;
  std::unique_ptr<Process> agent_;
  std::string http_;
};

TEST_F(CliWatchLockTest, KeyHandlerSeesInitialValueAndEachChange) {
  put("watched", "one");  // base64 "b25l"
  std::string out = dir_.file("handler.out");
  Process watch(cli({"watch", addr(), "-type", "key", "-key", "watched",
                     "cat >> " + out + "; echo >> " + out + "; echo \"$CONSUL_INDEX\" >> " + dir_.file("index.out")}),
                dir_.file("watch.log"));
  ASSERT_TRUE(eventually([&] { return values(read_file(out)).size() == 1; }, 10s)) << watch.log();
  put("watched", "two");
  ASSERT_TRUE(eventually([&] { return values(read_file(out)).size() == 2; }, 10s)) << watch.log();
  put("watched", "three");
  ASSERT_TRUE(eventually([&] { return values(read_file(out)).size() == 3; }, 10s)) << watch.log();
  EXPECT_EQ(values(read_file(out)),
            (std::vector<std::string>{"watched=b25l", "watched=dHdv", "watched=dGhyZWU="}));
  // CONSUL_INDEX is each answer's index, and it moved every time.
  auto idx = lines_of(read_file(dir_.file("index.out")));
  ASSERT_EQ(idx.size(), 3u);
  EXPECT_LT(std::stoull(idx[0]), std::stoull(idx[1]));
  EXPECT_LT(std::stoull(idx[1]), std::stoull(idx[2]));
  EXPECT_TRUE(watch.running());
  watch.signal(SIGTERM);
  EXPECT_TRUE(watch.wait_exit(10s));
  // A handler that fails ends the watch with exit 1.
  auto failing = run(cli({"watch", addr(), "-type", "key", "-key", "watched", "exit 3"}), dir_);
  EXPECT_EQ(failing.status, 1) << failing.output;
  EXPECT_NE(failing.output.find("Error executing handler"), std::string::npos) << failing.output;
}

TEST_F(CliWatchLockTest, WithoutHandlerPrintsJsonOnceAndExits) {
  put("app/a", "1");
  put("app/b", "2");
  auto key = run(cli({"watch", addr(), "-type", "key", "-key", "app/a"}), dir_);
  ASSERT_EQ(key.status, 0) << key.output;
  auto kj = nlohmann::json::parse(key.output, nullptr, false);
  ASSERT_TRUE(kj.is_object()) << key.output;
  EXPECT_EQ(kj["Key"], "app/a");
  EXPECT_EQ(kj["Value"], "MQ==");

  auto prefix = run(cli({"watch", addr(), "-type", "keyprefix", "-prefix", "app/"}), dir_);
  ASSERT_EQ(prefix.status, 0) << prefix.output;
  auto pj = nlohmann::json::parse(prefix.output, nullptr, false);
  ASSERT_TRUE(pj.is_array()) << prefix.output;
  ASSERT_EQ(pj.size(), 2u);
  EXPECT_EQ(pj[0]["Key"], "app/a");
  EXPECT_EQ(pj[1]["Key"], "app/b");

  // On a node of its own: the agent's anti-entropy would remove it from its own node.
  auto reg = agent_http(http_, "PUT", "/v1/catalog/register",
                        R"({"Node":"external-node","Address":"127.0.0.2","Service":{"Service":"web","Tags":["v1"]}})");
  ASSERT_TRUE(reg.ok() && reg->status == 200) << (reg.ok() ? reg->body : reg.error().message());
  auto services = run(cli({"watch", addr(), "-type", "services"}), dir_);
  ASSERT_EQ(services.status, 0) << services.output;
  auto sj = nlohmann::json::parse(services.output, nullptr, false);
  ASSERT_TRUE(sj.is_object()) << services.output;
  ASSERT_TRUE(sj.contains("web")) << services.output;
  EXPECT_EQ(sj["web"], nlohmann::json::array({"v1"}));

  // A key that does not exist is JSON null, as Consul's watch prints it.
  auto missing = run(cli({"watch", addr(), "-type", "key", "-key", "nope"}), dir_);
  ASSERT_EQ(missing.status, 0) << missing.output;
  EXPECT_EQ(lines_of(missing.output), std::vector<std::string>{"null"});
}

TEST_F(CliWatchLockTest, BadWatchFlagsExitOneWithAMessage) {
  auto bad = run(cli({"watch", addr(), "-type", "bogus"}), dir_);
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("Unsupported watch type: bogus"), std::string::npos) << bad.output;
  auto none = run(cli({"watch", addr()}), dir_);
  EXPECT_EQ(none.status, 1);
  EXPECT_NE(none.output.find("Watch type must be specified"), std::string::npos) << none.output;
  auto nokey = run(cli({"watch", addr(), "-type", "key"}), dir_);
  EXPECT_EQ(nokey.status, 1);
  EXPECT_NE(nokey.output.find("Must specify a single key to watch"), std::string::npos) << nokey.output;
  auto noagent = run(cli({"watch", "-http-addr=127.0.0.1:1", "-type", "services"}), dir_);
  EXPECT_EQ(noagent.status, 1);
  EXPECT_NE(noagent.output.find("Error querying Consul agent"), std::string::npos) << noagent.output;
}


// The KV entry at `key` as JSON, or null when absent.
nlohmann::json kv_entry(const std::string& http, const std::string& key) {
  auto r = agent_http(http, "GET", "/v1/kv/" + key);
  if (!r.ok() || r->status != 200) return nullptr;
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  return j.is_array() && !j.empty() ? j[0] : nlohmann::json(nullptr);
}

TEST_F(CliWatchLockTest, EventHandlerGetsOnlyNewEventsAsAnArgv) {
  auto fire = [&](const std::string& payload) {
    auto r = agent_http(http_, "PUT", "/v1/event/fire/deploy", payload);
    ASSERT_TRUE(r.ok() && r->status == 200);
  };
  fire("first");
  std::string out = dir_.file("events.out");
  // -shell=false: the handler is an argv (its own "-c" stays as typed).
  Process watch(cli({"watch", addr(), "-type", "event", "-name", "deploy", "-shell=false", "/bin/sh", "-c",
                     "cat >> " + out}),
                dir_.file("event-watch.log"));
  auto docs = [&] {
    std::vector<nlohmann::json> v;
    for (const auto& l : lines_of(read_file(out))) v.push_back(nlohmann::json::parse(l, nullptr, false));
    return v;
  };
  ASSERT_TRUE(eventually([&] { return docs().size() == 1; }, 10s)) << watch.log();
  fire("second");
  ASSERT_TRUE(eventually([&] { return docs().size() >= 2; }, 10s)) << watch.log() << read_file(out);
  auto d = docs();
  ASSERT_TRUE(d[0].is_array() && d[0].size() == 1) << d[0].dump();
  EXPECT_EQ(base64_of(d[0][0]["Payload"]), "first");
  // Consul's event watch hands over only what came after the last event seen.
  ASSERT_TRUE(d[1].is_array() && d[1].size() == 1) << d[1].dump();
  EXPECT_EQ(base64_of(d[1][0]["Payload"]), "second");
  // And nothing more: event indexes are hashes, so one "smaller" than the last is no reset that replays all.
  EXPECT_FALSE(eventually([&] { return docs().size() > 2; }, 1s)) << read_file(out);
}

TEST_F(CliWatchLockTest, LockHoldsWhileTheChildRunsAndTheSecondWaits) {
  std::string first_pid = dir_.file("first.pid"), go = dir_.file("first.go"), second = dir_.file("second.out");
  // The first child holds the lock until the test creates first.go.
  Process first(cli({"lock", addr(), "-name", "first-holder", "jobs/nightly",
                     "echo $$ > " + first_pid + "; while [ ! -e " + go + " ]; do sleep 0.05; done; exit 7"}),
                dir_.file("first.log"));
  ASSERT_TRUE(eventually([&] { return !read_file(first_pid).empty(); }, 10s)) << first.log();
  auto held = kv_entry(http_, "jobs/nightly/.lock");
  ASSERT_TRUE(held.is_object());
  ASSERT_TRUE(held.contains("Session")) << held.dump();
  std::string session = held["Session"];
  auto info = agent_http(http_, "GET", "/v1/session/info/" + session);
  ASSERT_TRUE(info.ok() && info->status == 200);
  EXPECT_NE(info->body.find("first-holder"), std::string::npos) << info->body;
  EXPECT_EQ(held["Flags"], 0x2ddccbc058a50c18ULL);

  Process waiter(cli({"lock", addr(), "jobs/nightly", "echo ran >> " + second}), dir_.file("second.log"));
  // The second one waits: its child has not run while the first holds the lock.
  EXPECT_FALSE(eventually([&] { return !read_file(second).empty(); }, 1500ms));
  EXPECT_TRUE(waiter.running());
  { std::ofstream(go) << "go"; }
  auto first_code = first.wait_exit(15s);
  ASSERT_TRUE(first_code) << first.log();
  EXPECT_EQ(*first_code, 7) << first.log();  // the child's exit code
  auto second_code = waiter.wait_exit(20s);
  ASSERT_TRUE(second_code) << waiter.log();
  EXPECT_EQ(*second_code, 0) << waiter.log();
  EXPECT_EQ(lines_of(read_file(second)), std::vector<std::string>{"ran"});
  // Free afterwards: the key is gone (Consul's cleanup) or holds no session, and the session is destroyed.
  auto after = kv_entry(http_, "jobs/nightly/.lock");
  EXPECT_TRUE(after.is_null() || !after.contains("Session")) << after.dump();
  auto gone = agent_http(http_, "GET", "/v1/session/info/" + session);
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->body == "[]" || gone->body == "null" || gone->status == 404) << gone->body;
}

TEST_F(CliWatchLockTest, LockSignalKillsChildAndReleases) {
  std::string pid_file = dir_.file("child.pid");
  Process lock(cli({"lock", addr(), "jobs/signal", "echo $$ > " + pid_file + "; sleep 60"}), dir_.file("lock.log"));
  ASSERT_TRUE(eventually([&] { return !read_file(pid_file).empty(); }, 10s)) << lock.log();
  pid_t child = std::stoi(read_file(pid_file));
  lock.signal(SIGTERM);
  auto code = lock.wait_exit(15s);
  ASSERT_TRUE(code) << lock.log();
  EXPECT_EQ(*code, 1) << lock.log();
  EXPECT_NE(::kill(child, 0), 0);  // the child is gone
  auto after = kv_entry(http_, "jobs/signal/.lock");
  EXPECT_TRUE(after.is_null() || !after.contains("Session")) << after.dump();
}

TEST_F(CliWatchLockTest, SemaphoreAdmitsNHolders) {
  std::string go = dir_.file("sem.go");
  auto holder = [&](const std::string& name) {
    return std::make_unique<Process>(
        cli({"lock", addr(), "-n", "2", "jobs/sem",
             "echo x > " + dir_.file(name) + "; while [ ! -e " + go + " ]; do sleep 0.05; done"}),
        dir_.file(name + ".log"));
  };
  auto a = holder("a.out");
  auto b = holder("b.out");
  ASSERT_TRUE(eventually([&] { return !read_file(dir_.file("a.out")).empty(); }, 10s)) << a->log();
  ASSERT_TRUE(eventually([&] { return !read_file(dir_.file("b.out")).empty(); }, 10s)) << b->log();
  auto c = holder("c.out");
  EXPECT_FALSE(eventually([&] { return !read_file(dir_.file("c.out")).empty(); }, 1500ms));
  auto lock = kv_entry(http_, "jobs/sem/.lock");
  ASSERT_TRUE(lock.is_object());
  auto sem = nlohmann::json::parse(base64_of(lock["Value"]), nullptr, false);
  ASSERT_TRUE(sem.is_object()) << lock.dump();
  EXPECT_EQ(sem["Limit"], 2);
  EXPECT_EQ(sem["Holders"].size(), 2u);
  { std::ofstream(go) << "go"; }
  EXPECT_EQ(a->wait_exit(15s), std::optional<int>(0)) << a->log();
  EXPECT_EQ(b->wait_exit(15s), std::optional<int>(0)) << b->log();
  EXPECT_EQ(c->wait_exit(20s), std::optional<int>(0)) << c->log();
  EXPECT_FALSE(read_file(dir_.file("c.out")).empty());
  // Nobody holds or contends any more: Consul's cleanup removed the lock key.
  EXPECT_TRUE(kv_entry(http_, "jobs/sem/.lock").is_null());
}

TEST_F(CliWatchLockTest, LostLockKillsTheChild) {
  std::string pid_file = dir_.file("lost.pid");
  Process lock(cli({"lock", addr(), "jobs/lost", "echo $$ > " + pid_file + "; sleep 60"}), dir_.file("lost.log"));
  ASSERT_TRUE(eventually([&] { return !read_file(pid_file).empty(); }, 10s)) << lock.log();
  auto held = kv_entry(http_, "jobs/lost/.lock");
  ASSERT_TRUE(held.is_object() && held.contains("Session")) << held.dump();
  // Destroying the session frees the lock under the holder: it must stop its child.
  auto d = agent_http(http_, "PUT", "/v1/session/destroy/" + held["Session"].get<std::string>());
  ASSERT_TRUE(d.ok() && d->status == 200);
  auto code = lock.wait_exit(15s);
  ASSERT_TRUE(code) << lock.log();
  EXPECT_EQ(*code, 1) << lock.log();
  EXPECT_NE(lock.log().find("Lock lost, killing child"), std::string::npos) << lock.log();
  EXPECT_NE(::kill(std::stoi(read_file(pid_file)), 0), 0);
}

TEST_F(CliWatchLockTest, LockTimeoutGivesUpAndChildExitCodeAndEnvironment) {
  std::string held_env = dir_.file("held.env"), go = dir_.file("busy.go"), late = dir_.file("late.out");
  Process first(cli({"lock", addr(), "-child-exit-code", "jobs/busy",
                     "echo $CONSUL_LOCK_HELD > " + held_env + "; while [ ! -e " + go + " ]; do sleep 0.05; done; exit 3"}),
                dir_.file("busy.log"));
  ASSERT_TRUE(eventually([&] { return !read_file(held_env).empty(); }, 10s)) << first.log();
  EXPECT_EQ(lines_of(read_file(held_env)), std::vector<std::string>{"true"});
  // -timeout bounds the wait: the second one gives up, exit 1, its child never ran.
  auto r = run(cli({"lock", addr(), "-timeout", "1s", "jobs/busy", "echo ran > " + late}), dir_);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("Shutdown triggered or timeout during lock acquisition"), std::string::npos) << r.output;
  EXPECT_TRUE(read_file(late).empty());
  // The deprecated -try is the same flag.
  auto t = run(cli({"lock", addr(), "-try", "500ms", "jobs/busy", "echo ran > " + late}), dir_);
  EXPECT_EQ(t.status, 1) << t.output;
  EXPECT_TRUE(read_file(late).empty());
  { std::ofstream(go) << "go"; }
  auto code = first.wait_exit(15s);
  ASSERT_TRUE(code) << first.log();
  EXPECT_EQ(*code, 2) << first.log();  // -child-exit-code: any failure of the child is 2
  // Free again: a -timeout lock now gets it at once and runs its child.
  auto ok = run(cli({"lock", addr(), "-timeout", "10s", "jobs/busy", "echo ran > " + late}), dir_);
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_EQ(lines_of(read_file(late)), std::vector<std::string>{"ran"});
  auto bad = run(cli({"lock", addr(), "-timeout", "soon", "jobs/busy", "true"}), dir_);
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("-timeout: invalid duration \"soon\""), std::string::npos) << bad.output;
  auto retry = run(cli({"lock", addr(), "-monitor-retry", "-1", "jobs/busy", "true"}), dir_);
  EXPECT_EQ(retry.status, 1);
  EXPECT_NE(retry.output.find("monitor-retry"), std::string::npos) << retry.output;
}

TEST_F(CliWatchLockTest, LockUsage) {
  auto r = run(cli({"lock", addr(), "only-prefix"}), dir_);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("Key prefix and child command must be specified"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace cairn::test
