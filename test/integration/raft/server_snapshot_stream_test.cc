// Three `cairn agent -server` processes on 127.0.0.1. One is killed while the
// others take 600 writes with raft_snapshot_threshold 128, so when it comes
// back the leader's log no longer reaches it and it catches up through
// InstallSnapshot (§7): the leader's transport streams its checkpoint archive
// FILE in chunks, and the returning server receives it into
// data_dir/raft-snapshots as snapshot-<index>-<term>.snap (term ≥ 1: a
// server names its own images with term 0), verifies it and installs it.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>

#include "test/support/agents.h"

namespace cairn::test {
namespace {

using namespace std::chrono_literals;

class ServerSnapshotStreamTest : public AgentsFixture {};

TEST_F(ServerSnapshotStreamTest, AServerBackFromDowntimeInstallsAStreamedSnapshotFile) {
  server_config_ = R"({"performance": {"raft_multiplier": 1}, "raft_snapshot_threshold": 128, "raft_snapshot_interval": "0s"})";
  AgentProcess& a = server("s1", "");
  std::string join = gossip_of(a);
  ASSERT_FALSE(join.empty()) << a.process->log();
  server("s2", join);
  AgentProcess& c = server("s3", join);
  ASSERT_TRUE(wait_for_leader(a));
  ASSERT_TRUE(wait_for_leader(c));
  c.process->signal(SIGKILL);
  c.process->wait_exit(5s);

  const std::string value(200, 'v');
  // s3 may have led: the first writes wait for the other two to elect.
  for (int i = 0; i < 600; ++i) {
    Result<api::HttpResult> r = Error(errc::unavailable, "not tried");
    for (int attempt = 0; attempt < 100; ++attempt) {
      r = http(a, "PUT", "/v1/kv/k" + std::to_string(i), value);
      if (r.ok() && r->status == 200) break;
      std::this_thread::sleep_for(100ms);
    }
    ASSERT_TRUE(r.ok() && r->status == 200) << "write " << i << ": " << (r.ok() ? r->body : r.error().message());
  }

  AgentProcess& back = server("s3", join);
  bool caught_up = false;
  for (int i = 0; i < 300 && !caught_up; ++i) {
    auto r = http(back, "GET", "/v1/kv/k599?stale");
    caught_up = r.ok() && r->status == 200;
    if (!caught_up) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(caught_up) << back.process->log();
  auto first = http(back, "GET", "/v1/kv/k0?stale");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status, 200);

  // The snapshot it installed arrived as a file, named with the leader's term.
  size_t received = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir_.file("s3"), ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    unsigned long long index = 0, term = 0;
    std::string name = it->path().filename().string();
    if (it->path().parent_path().filename() == "raft-snapshots" &&
        std::sscanf(name.c_str(), "snapshot-%llu-%llu.snap", &index, &term) == 2 && term >= 1 && index >= 128)
      ++received;
  }
  EXPECT_GE(received, 1u) << "no received snapshot file under " << dir_.file("s3");
  EXPECT_NE(back.process->log().find("restored a snapshot"), std::string::npos) << back.process->log();
}

}  // namespace
}  // namespace cairn::test
