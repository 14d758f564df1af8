// Regression test for test/faults finding 1 (docs/reliability.md): a server
// aborted inside RocksDB (an assertion in FlushWAL) after a state write had
// failed on a full disk. The store now marks itself broken after a failed
// write and refuses sync() and checkpoints instead of calling into RocksDB.
//
// The store is opened on a small tmpfs this test mounts (test/server/tmpfs.h:
// root needed, else the test is skipped saying why; a private mount
// namespace, unmounted pass or fail).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "test/server/state/fixture.h"
#include "test/server/tmpfs.h"

namespace cairn::server::state {
namespace {

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmpfs_.emplace(dir_.sub("mnt"), "8m");
    if (!tmpfs_->ok()) GTEST_SKIP() << tmpfs_->why();
    mnt_ = tmpfs_->dir();
    in_namespace_ = tmpfs_->in_private_namespace();
  }
  void TearDown() override {
    store_.reset();
    tmpfs_.reset();
  }

  test::TempDir dir_;
  std::optional<test::TmpfsMount> tmpfs_;
  std::string mnt_;
  bool in_namespace_ = false;
  std::unique_ptr<Store> store_;
  TouchSet touched_;
};

// What a child process saw while filling the store (see fill_until_failure).
struct ChildReport {
  int status = -1;  // waitpid status
  std::map<std::string, std::string> lines;  // "what" -> the rest of its line
  int acked() const { return lines.count("acked") ? std::stoi(lines.at("acked")) : -1; }
};

// In a child process (so that a RocksDB abort cannot take the test with it,
// and so that a store in RocksDB's error state is left as a crashed server
// leaves it): open the store in `db`, fill the disk with `filler`, apply
// writes k<i> = value(i) at index i+1 until one fails, then ask for sync()
// and a checkpoint in `cp`. Each step's outcome is one "what rest" line on
// a pipe. With `reserve_log`, 1 MiB of the full filesystem is first
// reserved for RocksDB's own info LOG (db/LOG, fallocate KEEP_SIZE), so that
// only the state writes meet the full disk: with the LOG on it, RocksDB
// aborts while logging the write error before any of what the first test
// checks (DISABLED_ClosingABrokenStoreDoesNotAbort). With `close`, the child then destroys the Store as a server
// shutting down does; without, it leaves it open and _exits as a crash would.
constexpr int kBeforeFill = 10;
std::string value_of(int i) { return std::to_string(i) + std::string(16 << 10, 'v'); }

ChildReport fill_until_failure(const std::string& db, const std::string& filler, const std::string& cp,
                               bool reserve_log, bool close) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    ::close(fds[0]);
    auto say = [&](const std::string& what, const std::string& rest) {
      std::string line = what + " " + rest + "\n";
      (void)!::write(fds[1], line.data(), line.size());
    };
    auto opened = Store::open(db);
    if (!opened.ok()) {
      say("open", opened.error().message());
      _exit(3);
    }
    std::unique_ptr<Store> store = std::move(*opened);
    if (reserve_log) {
      int fd = ::open((db + "/LOG").c_str(), O_WRONLY | O_CLOEXEC);
      bool ok = fd >= 0 && fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20) == 0;
      say("log-reserved", ok ? "ok" : std::strerror(errno));
      if (fd >= 0) ::close(fd);
    }
    TouchSet touched;
    int acked = 0;
    auto apply = [&] {
      api::KVPair e;
      e.key = "k" + std::to_string(acked);
      e.value = value_of(acked);
      return store->kv_apply(static_cast<uint64_t>(acked) + 1, KvOp::set, e, at_seconds(1000), touched);
    };
    for (; acked < kBeforeFill; ++acked)
      if (!apply().ok()) _exit(4);
    {
      // Fill the filesystem, then give back 256 KiB: a few more writes fit.
      int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      std::vector<char> block(64 << 10, 'x');
      off_t size = 0;
      for (ssize_t n; fd >= 0 && (n = ::write(fd, block.data(), block.size())) > 0;) size += n;
      say("filled", std::strerror(errno));
      if (fd >= 0) {
        if (ftruncate(fd, size > (256 << 10) ? size - (256 << 10) : 0) != 0) _exit(5);
        ::close(fd);
      }
    }
    for (; acked < 4096; ++acked) {
      auto r = apply();
      if (!r.ok()) {
        say("failure", std::string(is_storage_failure(r.error()) ? "storage " : "other ") + r.error().message());
        break;
      }
    }
    say("acked", std::to_string(acked));
    say("applied", std::to_string(store->applied_index()));
    auto synced = store->sync();
    say("sync", synced.ok() ? "ok" : synced.error().message());
    auto checkpoint = store->checkpoint(cp);
    say("checkpoint", checkpoint.ok() ? "ok" : checkpoint.error().message());
    auto again = store->sync();
    say("sync-again", again.ok() ? "ok" : again.error().message());
    if (close) {
      store.reset();
      say("closed", "ok");
    }
    _exit(0);
  }
  ::close(fds[1]);
  ChildReport report;
  if (pid < 0) {
    ::close(fds[0]);
    return report;
  }
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  waitpid(pid, &report.status, 0);
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    auto sp = line.find(' ');
    report.lines[line.substr(0, sp)] = sp == std::string::npos ? "" : line.substr(sp + 1);
  }
  return report;
}

std::string describe(const ChildReport& r) {
  std::string s;
  if (WIFSIGNALED(r.status)) s = "the child died of signal " + std::to_string(WTERMSIG(r.status)) + "; ";
  else if (WIFEXITED(r.status)) s = "the child exited " + std::to_string(WEXITSTATUS(r.status)) + "; ";
  for (const auto& [k, v] : r.lines) s += k + ": " + v.substr(0, 200) + "; ";
  return s;
}

// Without the LOG reservation, as a real server runs: a full disk must still
// end in errors, never in an abort, through the failing write, sync(),
// checkpoint and closing the store (as a server shutting down on the failure
// does). It aborts with Debian's librocksdb 7.8: RocksDB's own info LOG
// (db/LOG, on the same full filesystem) fails first, and the next line
// logged to it asserts in WritableFileWriter::Append ("Assertion
// `sync_without_flush_called_' failed") — in ErrorHandler::SetBGError while
// the failing write is reported, or in DBImpl::CloseHelper when closing.
// First in the file: the parent must not have opened a store (RocksDB's
// threads do not survive fork()). Disabled until server/state keeps RocksDB's info log off the data dir (a
// rocksdb::Logger of its own); run with --gtest_also_run_disabled_tests.
TEST_F(DiskFullTest, AFullDiskNeverAbortsTheProcess) {
  ChildReport r = fill_until_failure(mnt_ + "/db", mnt_ + "/filler", dir_.sub("cp"), /*reserve_log=*/false,
                                     /*close=*/true);
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << describe(r);
  EXPECT_EQ(r.lines["failure"].rfind("storage ", 0), 0u) << describe(r);
  EXPECT_EQ(r.lines["closed"], "ok") << describe(r);
}

TEST_F(DiskFullTest, AFailedWriteBreaksTheStoreWhichRefusesSyncAndCheckpointAndReopensWithEveryAckedWrite) {
  const std::string db = mnt_ + "/db";
  const std::string filler = mnt_ + "/filler";
  // RocksDB's info log goes to Cairn's log (raft/io/rocks_logger.h): no LOG file to reserve room for.
  ChildReport r = fill_until_failure(db, filler, dir_.sub("cp"), /*reserve_log=*/false, /*close=*/false);
  // Before the fix, sync() called FlushWAL on the failed WAL writer and
  // RocksDB aborted the child (signal 6) right here.
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << describe(r);
  EXPECT_EQ(r.lines["filled"], std::strerror(ENOSPC)) << describe(r);
  ASSERT_EQ(r.lines["failure"].rfind("storage ", 0), 0u) << "no write failed on the full disk: " << describe(r);
  const int acked = r.acked();
  ASSERT_GT(acked, kBeforeFill) << "no write fit on the nearly full disk: " << describe(r);
  EXPECT_EQ(r.lines["applied"], std::to_string(acked)) << "a failed write records nothing";
  // Broken: sync() and checkpoints are refused with a clear error, every time.
  for (const char* what : {"sync", "checkpoint", "sync-again"})
    EXPECT_NE(r.lines[what].find("an earlier write failed"), std::string::npos) << what << ": " << describe(r);
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("cp")));

  // Free the space; reopening finds every acknowledged write.
  std::filesystem::remove(filler);
  auto s = Store::open(db);
  ASSERT_TRUE(s.ok()) << s.error().message();
  store_ = std::move(*s);
  EXPECT_EQ(store_->applied_index(), static_cast<uint64_t>(acked));
  auto view = store_->read();
  for (int i = 0; i < acked; ++i) {
    auto got = view.kv_get("k" + std::to_string(i));
    ASSERT_TRUE(got.ok()) << got.error().message();
    ASSERT_TRUE(got->value.has_value()) << "k" << i << " was acknowledged but is gone after reopening";
    EXPECT_EQ(got->value->value, value_of(i)) << "k" << i;
  }
  EXPECT_FALSE(view.kv_get("k" + std::to_string(acked))->value.has_value()) << "the failed write is not there";

  // Healthy again: the next index applies and syncs.
  api::KVPair e;
  e.key = "after";
  e.value = "1";
  auto w = store_->kv_apply(static_cast<uint64_t>(acked) + 1, KvOp::set, e, at_seconds(1001), touched_);
  ASSERT_TRUE(w.ok()) << w.error().message();
  auto ok = store_->sync();
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(*ok, static_cast<uint64_t>(acked) + 1);
  RecordProperty("private_mount_namespace", in_namespace_ ? "yes" : "no");
}

}  // namespace
}  // namespace cairn::server::state
