// A real `cairn agent -server` whose data dir is a small tmpfs that fills up
// (test/faults findings 1 and 4, docs/reliability.md): it must stop (not
// answer "server failed" forever), no acknowledged write may be lost, and
// after space is freed it starts again on the same data dir and serves them.
// How it stops is the second test: exit 1 with the server's own line, not a
// RocksDB abort (disabled until finding 4 is fixed).
//
// Root only (the tmpfs, test/server/tmpfs.h: a private mount namespace,
// unmounted pass or fail); skipped otherwise, saying why.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

#include "api/io/http_client.h"
#include "test/server/tmpfs.h"
#include "test/support/process.h"

namespace cairn::test {
namespace {

using namespace std::chrono_literals;

std::string value_of(int i) { return std::to_string(i) + std::string(16 << 10, 'v'); }

class ServerDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmpfs_.emplace(dir_.file("mnt"), "48m");
    if (!tmpfs_->ok()) GTEST_SKIP() << tmpfs_->why();
    std::ofstream(dir_.file("fast.json")) << R"({"performance": {"raft_multiplier": 1}})";
  }
  void TearDown() override {
    server_.reset();
    tmpfs_.reset();
  }

  void start() {
    server_ = std::make_unique<Process>(
        std::vector<std::string>{cairn_binary(), "agent", "-server", "-bootstrap", "-node", "solo", "-data-dir",
                                 tmpfs_->dir() + "/data", "-bind", "127.0.0.1", "-serf-lan-port", "0",
                                 "-http-port", http_port_, "-server-port", "0", "-dns-port", "-1",
                                 "-config-file", dir_.file("fast.json")},
        dir_.file("server-" + std::to_string(launches_++) + ".log"));
    http_ = server_->wait_for_log("Started HTTP server on (\\S+) ", 30s).value_or("");
    ASSERT_FALSE(http_.empty()) << server_->log();
    http_port_ = http_.substr(http_.rfind(':') + 1);
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = request("PUT", "/v1/kv/probe", "1");
      if (r.ok() && r->status == 200) return;
      std::this_thread::sleep_for(100ms);
    }
    FAIL() << "no write accepted within 30 s: " << server_->log();
  }
  Result<api::HttpResult> request(const std::string& method, const std::string& target, const std::string& body = {}) {
    return api::HttpClient(*api::HttpAddress::parse(http_)).request(method, target, body, 10s);
  }

  // Fills the tmpfs, then PUTs k<i> until one is not acknowledged; returns
  // how many were, and waits up to 60 s for the server to stop.
  int fill_and_write(std::optional<int>* exit_status) {
    {
      int fd = ::open((tmpfs_->dir() + "/filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      EXPECT_GE(fd, 0) << std::strerror(errno);
      std::vector<char> block(64 << 10, 'x');
      while (fd >= 0 && ::write(fd, block.data(), block.size()) > 0) {
      }
      EXPECT_EQ(errno, ENOSPC) << std::strerror(errno);
      if (fd >= 0) ::close(fd);
    }
    int acked = 0;
    for (; acked < 3000; ++acked) {
      auto r = request("PUT", "/v1/kv/k" + std::to_string(acked), value_of(acked));
      if (!r.ok() || r->status != 200) break;
    }
    *exit_status = server_->wait_exit(60s);
    return acked;
  }

  TempDir dir_;  // destroyed last: the tmpfs below it is unmounted first
  std::optional<TmpfsMount> tmpfs_;
  std::unique_ptr<Process> server_;
  std::string http_, http_port_ = "0";
  int launches_ = 0;
};

TEST_F(ServerDiskFullTest, ItStopsAndAfterSpaceIsFreedServesEveryAcknowledgedWrite) {
  start();
  ASSERT_FALSE(HasFatalFailure());
  std::optional<int> status;
  int acked = fill_and_write(&status);
  ASSERT_LT(acked, 3000) << "3000 writes of 16 KiB fit on a full 48 MiB tmpfs";
  // Before 04907c7 a server whose store failed answered "server failed"
  // forever; now the process ends (however it ends: see the next test).
  ASSERT_TRUE(status.has_value()) << "still running 60 s after a write failed on the full disk: "
                                  << server_->log();

  std::filesystem::remove(tmpfs_->dir() + "/filler");
  start();
  ASSERT_FALSE(HasFatalFailure());
  for (int i = 0; i < acked; ++i) {
    auto r = request("GET", "/v1/kv/k" + std::to_string(i) + "?raw&consistent");
    ASSERT_TRUE(r.ok()) << r.error().message();
    ASSERT_EQ(r->status, 200) << "k" << i << " was acknowledged (of " << acked << ") but is gone: " << r->body;
    EXPECT_EQ(r->body, value_of(i)) << "k" << i;
  }
  RecordProperty("acked", acked);
  RecordProperty("first_exit_status", *status);
}

// How it stops: exit 1 with the agent's line (ServerHooks::on_failed), not
// SIGABRT (134) from RocksDB. Fails today: RocksDB's info LOG in the data dir
// fails on the full disk too, and logging the failed state write into it
// asserts (docs/reliability.md finding 4). Enable with that fix; run it with
// --gtest_also_run_disabled_tests.
TEST_F(ServerDiskFullTest, ItExitsOneWithAClearLineNotAnAbort) {
  start();
  ASSERT_FALSE(HasFatalFailure());
  std::optional<int> status;
  fill_and_write(&status);
  ASSERT_TRUE(status.has_value()) << server_->log();
  EXPECT_EQ(*status, 1) << server_->log();
  EXPECT_NE(server_->log().find("the server failed; shutting down so that it can be restarted"), std::string::npos)
      << server_->log();
  EXPECT_EQ(server_->log().find("Assertion"), std::string::npos) << server_->log();
}

}  // namespace
}  // namespace cairn::test
