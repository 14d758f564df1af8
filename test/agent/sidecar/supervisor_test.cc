// agent/sidecar's Supervisor over real child processes (a shell standing in
// for `cairn connect proxy`): it starts what is wanted, restarts a child that
// dies (with backoff), stops one no longer wanted and everything at stop(),
// and sends the children's output to the log. Polls with deadlines; no
// timing is asserted.
#include "agent/sidecar/supervisor.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "core/log.h"

namespace cairn::agent::sidecar {
namespace {

using namespace std::chrono_literals;

bool alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tap_ = std::make_shared<const log::Tap>([this](log::Level, std::string_view module, std::string_view message) {
      if (module != "sidecar") return;
      std::lock_guard l(mu_);
      lines_.emplace_back(message);
    });
    log::set_tap(tap_, log::Level::debug);
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (supervisor_) supervisor_->stop();
    work_.reset();
    io_.stop();
    thread_.join();
    log::set_tap(nullptr, log::Level::info);
  }
  void make(std::string script) {
    SupervisorOptions o;
    // The supervisor appends "-proxy-id <id>": $1 and $2 of the script.
    o.command = {"/bin/sh", "-c", std::move(script), "sh"};
    o.desired = [this] {
      std::lock_guard l(mu_);
      return wanted_;
    };
    o.tick = 50ms;
    o.min_backoff = 50ms;
    o.max_backoff = 200ms;
    o.stop_grace = 2s;
    supervisor_ = Supervisor::make(io_, std::move(o));
    supervisor_->start();
  }
  void want(std::vector<std::string> ids) {
    std::lock_guard l(mu_);
    wanted_ = std::move(ids);
  }
  // Waits (up to 20 s) for `pred` over the children.
  bool wait(const std::function<bool(const std::vector<ChildStatus>&)>& pred) {
    for (int i = 0; i < 400; ++i) {
      if (pred(supervisor_->children())) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  bool logged(const std::string& needle) {
    for (int i = 0; i < 400; ++i) {
      {
        std::lock_guard l(mu_);
        for (const auto& line : lines_)
          if (line.find(needle) != std::string::npos) return true;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  static pid_t pid_of(const std::vector<ChildStatus>& cs, const std::string& id) {
    for (const auto& c : cs)
      if (c.id == id) return c.pid;
    return -1;
  }

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{io_.get_executor()};
  std::thread thread_;
  std::shared_ptr<Supervisor> supervisor_;
  std::shared_ptr<const log::Tap> tap_;
  std::mutex mu_;
  std::vector<std::string> wanted_;
  std::vector<std::string> lines_;
};

TEST_F(SupervisorTest, StartsRestartsAndStopsChildren) {
  want({"web-sidecar-proxy"});
  make("echo \"up as $2\"; exec sleep 60");
  ASSERT_TRUE(wait([](const auto& cs) { return cs.size() == 1 && alive(cs[0].pid); }));
  pid_t first = supervisor_->children()[0].pid;
  EXPECT_TRUE(logged("web-sidecar-proxy: up as web-sidecar-proxy"));  // the child's output, in the log
  EXPECT_TRUE(logged("started proxy web-sidecar-proxy"));

  // Killed: restarted as a new process.
  ::kill(first, SIGKILL);
  ASSERT_TRUE(wait([first](const auto& cs) { return cs.size() == 1 && cs[0].pid != first && alive(cs[0].pid); }));
  EXPECT_EQ(supervisor_->children()[0].restarts, 1);
  EXPECT_TRUE(logged("was killed by signal 9; restarting in"));

  // A second one; then the first is no longer wanted: stopped, not restarted.
  want({"web-sidecar-proxy", "db-sidecar-proxy"});
  ASSERT_TRUE(wait([](const auto& cs) { return cs.size() == 2 && alive(pid_of(cs, "db-sidecar-proxy")); }));
  pid_t web = pid_of(supervisor_->children(), "web-sidecar-proxy");
  want({"db-sidecar-proxy"});
  ASSERT_TRUE(wait([](const auto& cs) { return cs.size() == 1 && cs[0].id == "db-sidecar-proxy"; }));
  EXPECT_FALSE(alive(web));
  EXPECT_TRUE(logged("stopping proxy web-sidecar-proxy"));

  // stop(): every child ends and is reaped.
  pid_t db = pid_of(supervisor_->children(), "db-sidecar-proxy");
  supervisor_->stop();
  EXPECT_FALSE(alive(db));
  for (const auto& c : supervisor_->children()) EXPECT_EQ(c.pid, -1);
}

TEST_F(SupervisorTest, AChildIgnoringSigtermIsKilledAfterTheGrace) {
  want({"stubborn"});
  make("trap '' TERM; echo ready; while :; do sleep 1; done");
  ASSERT_TRUE(wait([](const auto& cs) { return cs.size() == 1 && alive(cs[0].pid); }));
  ASSERT_TRUE(logged("stubborn: ready"));
  pid_t pid = supervisor_->children()[0].pid;
  supervisor_->stop();
  EXPECT_FALSE(alive(pid));
  EXPECT_TRUE(logged("did not stop within"));
}

TEST_F(SupervisorTest, AProgramThatCannotStartIsRetried) {
  SupervisorOptions o;
  o.command = {"/nonexistent/cairn-proxy"};
  o.desired = [] { return std::vector<std::string>{"missing"}; };
  o.tick = 50ms;
  o.min_backoff = 50ms;
  o.max_backoff = 100ms;
  supervisor_ = Supervisor::make(io_, std::move(o));
  supervisor_->start();
  EXPECT_TRUE(logged("cannot start proxy missing"));
  ASSERT_TRUE(wait([](const auto& cs) { return cs.size() == 1 && cs[0].pid == -1; }));
}

}  // namespace
}  // namespace cairn::agent::sidecar
