// Three real raft_kv_node processes on 127.0.0.1, each with its own RocksDB
// data dir: elect a leader, write continuously, kill -9 the leader, measure
// the failover (kill → first write acknowledged by the new leader), restart
// the killed node, and check that every acknowledged write is on all three.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/io/http_client.h"
#include "test/support/process.h"

namespace cairn::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string node_binary() {
  const char* bin = std::getenv("RAFT_KV_NODE");
  return bin ? bin : "raft_kv_node";
}

// A port that was free a moment ago (the raft ports must be known up front,
// since every node is told all of them).
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return 0;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

struct Node {
  int id = 0;
  uint16_t raft_port = 0;
  std::string http;  // "127.0.0.1:port"
  std::unique_ptr<Process> process;
  int starts = 0;
};

class RaftClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int id = 1; id <= 3; ++id) {
      Node n;
      n.id = id;
      n.raft_port = free_port();
      ASSERT_NE(n.raft_port, 0);
      nodes_[id] = std::move(n);
    }
    for (auto& [id, n] : nodes_) peers_ += (peers_.empty() ? "" : ",") + std::to_string(id) + "=127.0.0.1:" + std::to_string(n.raft_port);
  }

  void TearDown() override {
    // Process's destructor SIGKILLs by PID whatever is left; print logs on failure.
    if (HasFailure()) {
      for (auto& [id, n] : nodes_)
        if (n.process) std::cerr << "---- node " << id << " log ----\n" << n.process->log().substr(0, 20000) << "\n";
    }
  }

  void start(int id) {
    Node& n = nodes_[id];
    std::vector<std::string> args{node_binary(), "--id", std::to_string(id), "--peers", peers_, "--raft-port",
                                  std::to_string(n.raft_port), "--http-port", "0", "--data-dir", dir_.file("n" + std::to_string(id)),
                                  "--bootstrap", "--tick-ms", "50", "--snapshot-threshold", "500"};
    args.insert(args.end(), extra_flags_.begin(), extra_flags_.end());
    n.process = std::make_unique<Process>(args, dir_.file("n" + std::to_string(id) + "-" + std::to_string(++n.starts) + ".log"));
    auto http = n.process->wait_for_log("http listening on (\\S+)", 15s);
    ASSERT_TRUE(http.has_value()) << n.process->log();
    n.http = *http;
  }

  static std::optional<nlohmann::json> status(const Node& n) {
    api::HttpClient c(*api::HttpAddress::parse(n.http));
    auto r = c.request("GET", "/status", "", 2s);
    if (!r.ok() || r->status != 200) return std::nullopt;
    return nlohmann::json::parse(r->body, nullptr, false);
  }

  // The id every live node agrees leads, or 0.
  int agreed_leader() {
    int leader = 0;
    for (auto& [id, n] : nodes_) {
      if (!n.process || !n.process->running()) continue;
      auto s = status(n);
      if (!s) return 0;
      int l = (*s)["leader"].get<int>();
      if (l == 0 || (leader != 0 && l != leader)) return 0;
      leader = l;
    }
    return leader;
  }

  int wait_for_leader(std::chrono::seconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (int l = agreed_leader()) return l;
      std::this_thread::sleep_for(50ms);
    }
    return 0;
  }

  // PUT key=value through whoever leads; true once acknowledged.
  bool put(const std::string& key, const std::string& value) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      int l = agreed_leader();
      if (l == 0) {
        std::this_thread::sleep_for(20ms);
        continue;
      }
      api::HttpClient c(*api::HttpAddress::parse(nodes_[l].http));
      auto r = c.request("PUT", "/kv/" + key, value, 2s);
      if (r.ok() && r->status == 200) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  std::pair<nlohmann::json, nlohmann::json> catch_up_through_snapshot(const std::string& value);

  TempDir dir_;
  std::map<int, Node> nodes_;
  std::string peers_;
  std::vector<std::string> extra_flags_;
};

TEST_F(RaftClusterTest, SurvivesLeaderKillWithoutLosingAcknowledgedWrites) {
  for (int id = 1; id <= 3; ++id) start(id);
  if (HasFatalFailure()) return;
  int leader = wait_for_leader(30s);
  ASSERT_NE(leader, 0) << "no leader elected";
  std::cout << "initial leader: node " << leader << "\n";

  // The writer: one key after another, to whoever it believes leads. A write
  // counts as acknowledged only on 200.
  std::mutex mu;
  std::map<std::string, std::string> acked;
  std::atomic<bool> stop{false};
  std::atomic<int> target{leader};
  std::atomic<int64_t> kill_ns{0}, first_ack_after_kill_ns{0};
  std::atomic<int> first_ack_node{0};
  std::atomic<int> failures{0};
  std::atomic<int> killed{0};  // the writes that measure the failover come from another node
  std::map<int, std::string> http;  // fixed copy for the writer thread (restart rewrites nodes_)
  for (auto& [id, n] : nodes_) http[id] = n.http;
  std::mutex http_mu;
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      std::string key = "k" + std::to_string(i), value = "v" + std::to_string(i) + "-" + std::string(32, 'x');
      for (int attempt = 0; attempt < 200 && !stop; ++attempt) {
        int to = target;
        std::string addr;
        {
          std::lock_guard lock(http_mu);
          addr = http[to];
        }
        api::HttpClient c(*api::HttpAddress::parse(addr));
        auto r = c.request("PUT", "/kv/" + key, value, 2s);
        if (r.ok() && r->status == 200) {
          auto now = Clock::now().time_since_epoch().count();
          // A write answered by the old leader just before SIGKILL landed does not count.
          if (killed != 0 && to != killed && first_ack_after_kill_ns == 0) {
            first_ack_node = to;
            first_ack_after_kill_ns = now;
          }
          std::lock_guard lock(mu);
          acked[key] = value;
          break;
        }
        ++failures;
        // Follow the leader hint, else try the next node.
        int hint = 0;
        if (r.ok()) hint = std::atoi(r->header("X-Raft-Leader").c_str());
        target = (hint >= 1 && hint <= 3 && hint != to) ? hint : (to % 3) + 1;
        std::this_thread::sleep_for(10ms);
      }
    }
  });

  // Let writes flow, then kill the leader mid-stream.
  std::this_thread::sleep_for(2s);
  size_t before_kill;
  {
    std::lock_guard lock(mu);
    before_kill = acked.size();
  }
  EXPECT_GT(before_kill, 10u) << "too few writes went through before the kill";
  kill_ns = Clock::now().time_since_epoch().count();
  killed = leader;
  nodes_[leader].process->signal(SIGKILL);
  nodes_[leader].process->wait_exit(5s);

  // A new leader must take writes within 2 s of the kill.
  auto deadline = Clock::now() + 15s;
  while (first_ack_after_kill_ns == 0 && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  ASSERT_NE(first_ack_after_kill_ns.load(), 0) << "no write acknowledged after the leader was killed";
  double failover_ms = (first_ack_after_kill_ns - kill_ns) / 1e6;
  int new_leader = agreed_leader();
  std::cout << "failover: killed node " << leader << ", first write acknowledged by node " << first_ack_node << " after "
            << failover_ms << " ms (agreed leader now " << new_leader << ")\n";
  EXPECT_LT(failover_ms, 2000.0);
  EXPECT_NE(first_ack_node.load(), leader);

  // More writes under the new leader, then bring the killed node back.
  std::this_thread::sleep_for(1s);
  start(leader);
  if (HasFatalFailure()) {
    stop = true;
    writer.join();
    return;
  }
  {
    std::lock_guard lock(http_mu);
    http[leader] = nodes_[leader].http;
  }
  std::this_thread::sleep_for(2s);
  stop = true;
  writer.join();
  std::cout << "acknowledged writes: " << acked.size() << " (" << before_kill << " before the kill), failed attempts: "
            << failures << "\n";

  // The restarted node catches up to the leader's commit index.
  int final_leader = wait_for_leader(15s);
  ASSERT_NE(final_leader, 0);
  auto ls = status(nodes_[final_leader]);
  ASSERT_TRUE(ls.has_value());
  uint64_t commit = (*ls)["commit"].get<uint64_t>();
  bool caught_up = false;
  deadline = Clock::now() + 20s;
  while (!caught_up && Clock::now() < deadline) {
    auto s = status(nodes_[leader]);
    caught_up = s && (*s)["applied"].get<uint64_t>() >= commit;
    if (!caught_up) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(caught_up) << "restarted node " << leader << " did not reach commit " << commit;

  // Every acknowledged write is on every node (linearizable reads: each GET
  // goes through ReadIndex on the node asked).
  for (auto& [id, n] : nodes_) {
    api::HttpClient c(*api::HttpAddress::parse(n.http));
    size_t missing = 0, wrong = 0;
    for (auto& [k, v] : acked) {
      Result<api::HttpResult> r = Error(cairn::errc::unavailable);
      for (int attempt = 0; attempt < 20; ++attempt) {
        r = c.request("GET", "/kv/" + k, "", 5s);
        if (r.ok() && (r->status == 200 || r->status == 404)) break;
        std::this_thread::sleep_for(50ms);
      }
      if (!r.ok() || r->status == 404) ++missing;
      else if (r->status != 200 || r->body != v) ++wrong;
    }
    EXPECT_EQ(missing, 0u) << "node " << id << " lacks acknowledged writes";
    EXPECT_EQ(wrong, 0u) << "node " << id << " has wrong values";
    auto s = status(n);
    if (s) std::cout << "node " << id << ": " << s->dump() << "\n";
  }
}

// A follower that was down while the leader compacted twice comes back
// through InstallSnapshot; `value` is what every key holds. Returns the
// status of the leader and of the follower once it caught up.
std::pair<nlohmann::json, nlohmann::json> RaftClusterTest::catch_up_through_snapshot(const std::string& value) {
  for (int id = 1; id <= 3; ++id) start(id);
  if (HasFatalFailure()) return {};
  int leader = wait_for_leader(30s);
  EXPECT_NE(leader, 0) << "no leader elected";
  if (leader == 0) return {};
  int down = leader % 3 + 1;
  nodes_[down].process->signal(SIGKILL);
  nodes_[down].process->wait_exit(5s);
  const int kWrites = 1200;  // past the threshold of 500 twice
  for (int i = 0; i < kWrites; ++i) {
    if (!put("k" + std::to_string(i), std::to_string(i) + value)) {
      ADD_FAILURE() << "write " << i;
      return {};
    }
  }
  int l = wait_for_leader(15s);
  auto ls = l ? status(nodes_[l]) : std::nullopt;
  EXPECT_TRUE(ls.has_value());
  if (!ls) return {};
  uint64_t commit = (*ls)["commit"].get<uint64_t>();

  start(down);
  if (HasFatalFailure()) return {};
  std::optional<nlohmann::json> s;
  auto deadline = Clock::now() + 30s;
  while (Clock::now() < deadline) {
    s = status(nodes_[down]);
    if (s && (*s)["applied"].get<uint64_t>() >= commit) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(s.has_value());
  if (!s) return {};
  EXPECT_GE((*s)["applied"].get<uint64_t>(), commit) << s->dump();
  EXPECT_GE((*s)["snapshots_applied"].get<uint64_t>(), 1u) << s->dump();
  api::HttpClient c(*api::HttpAddress::parse(nodes_[down].http));
  for (int i : {0, kWrites / 2, kWrites - 1}) {
    auto r = c.request("GET", "/kv/k" + std::to_string(i), "", 5s);
    EXPECT_TRUE(r.ok());
    if (!r.ok()) continue;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, std::to_string(i) + value);
  }
  return {*status(nodes_[l]), *s};
}

// The image was encoded and written to RocksDB off the strand
// (--snapshot-async) and travels in many chunks.
TEST_F(RaftClusterTest, AFollowerBackFromDowntimeCatchesUpThroughAChunkedSnapshot) {
  extra_flags_ = {"--snapshot-async", "--snapshot-chunk-bytes", "4096"};
  auto [leader, follower] = catch_up_through_snapshot(std::string(40, 'x'));
  if (HasFailure()) return;
  EXPECT_GE(leader["snapshots_async"].get<uint64_t>(), 1u) << leader.dump();
  EXPECT_GT(follower["snapshot_chunks_received"].get<uint64_t>(), 1u) << follower.dump();
}

// --snapshot-files: the image is a file that the leader streams from disk and
// the follower writes to a file before installing it; about 1.2 MB in 4 KiB
// chunks while neither side holds more than one chunk of it in memory.
TEST_F(RaftClusterTest, ASnapshotFileStreamsToTheFollowerWithBoundedBuffers) {
  constexpr uint64_t kChunk = 4096;
  extra_flags_ = {"--snapshot-async", "--snapshot-files", "--snapshot-chunk-bytes", std::to_string(kChunk)};
  auto [leader, follower] = catch_up_through_snapshot(std::string(1000, 'y'));
  if (HasFailure()) return;
  EXPECT_GE(follower["snapshots_received"].get<uint64_t>(), 1u) << follower.dump();
  EXPECT_GT(follower["snapshot_chunks_received"].get<uint64_t>(), 100u) << "the snapshot spans > 100 chunks";
  EXPECT_GT(leader["snapshot_chunks_sent"].get<uint64_t>(), 100u) << leader.dump();
  EXPECT_LE(leader["snapshot_bytes_buffered_peak"].get<uint64_t>(), kChunk + 1024) << leader.dump();
  EXPECT_LE(follower["snapshot_bytes_buffered_peak"].get<uint64_t>(), kChunk + 1024) << follower.dump();
  std::error_code ec;
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir_.file("n" + std::to_string(follower["id"].get<int>())) + "/snapshots", ec))
    files += e.path().extension() == ".snap";
  EXPECT_GE(files, 1u) << "the received snapshot is a file in the follower's snapshot dir";
}

}  // namespace
}  // namespace cairn::test
