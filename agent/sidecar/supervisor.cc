// The sidecar supervisor (see supervisor.h).
#include "agent/sidecar/supervisor.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "core/io/subprocess.h"
#include "core/log.h"

namespace cairn::agent::sidecar {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Strand = asio::strand<asio::io_context::executor_type>;

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "ended";
}

// One child's output, read a line at a time into the agent's log. Lives as
// long as its reads: the pipe ends (EOF) when the child and its group close it.
struct Output : std::enable_shared_from_this<Output> {
  Output(Strand& s, int fd, std::string id) : pipe(s, fd), id(std::move(id)) {}
  void read() {
    pipe.async_read_some(asio::buffer(buf), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
      self->partial.append(self->buf, n);
      size_t pos;
      while ((pos = self->partial.find('\n')) != std::string::npos) {
        log::info("sidecar", "{}: {}", self->id, self->partial.substr(0, pos));
        self->partial.erase(0, pos + 1);
      }
      if (self->partial.size() > 16384) {  // a line without end: flush what there is
        log::info("sidecar", "{}: {}", self->id, self->partial);
        self->partial.clear();
      }
      if (!ec) return self->read();
      if (!self->partial.empty()) log::info("sidecar", "{}: {}", self->id, self->partial);
    });
  }
  asio::readable_pipe pipe;
  std::string id;
  std::string partial;
  char buf[4096];
};

struct Child {
  std::string id;
  pid_t pid = -1;
  int restarts = 0;
  bool started_once = false;
  Duration backoff{0};
  Clock::time_point started{};
  Clock::time_point restart_at{};
  bool stopping = false;
  Clock::time_point kill_at{};
};

class SupervisorImpl final : public Supervisor, public std::enable_shared_from_this<SupervisorImpl> {
 public:
  SupervisorImpl(asio::io_context& io, SupervisorOptions o)
      : options_(std::move(o)), strand_(asio::make_strand(io)), timer_(strand_) {}

  void start() override {
    asio::post(strand_, [self = shared_from_this()] { self->tick(); });
  }

  void stop() override {
    std::vector<pid_t> pids;
    {
      std::lock_guard l(mu_);
      if (stopped_) return;
      stopped_ = true;
      for (auto& [id, c] : children_)
        if (c.pid > 0) pids.push_back(c.pid);
    }
    for (pid_t p : pids) ::kill(-p, SIGTERM);
    auto deadline = Clock::now() + options_.stop_grace;
    std::set<pid_t> left(pids.begin(), pids.end());
    while (!left.empty()) {
      for (auto it = left.begin(); it != left.end();) {
        int status = 0;
        pid_t r = ::waitpid(*it, &status, WNOHANG);
        it = (r == *it || r < 0) ? left.erase(it) : std::next(it);
      }
      if (left.empty()) break;
      if (Clock::now() >= deadline) {
        for (pid_t p : left) {
          log::warn("sidecar", "proxy process {} did not stop within {}: killing it", p, format_duration(options_.stop_grace));
          ::kill(-p, SIGKILL);
          int status = 0;
          ::waitpid(p, &status, 0);
        }
        break;
      }
      ::usleep(20'000);
    }
    std::lock_guard l(mu_);
    for (auto& [id, c] : children_) c.pid = -1;
  }

  std::vector<ChildStatus> children() const override {
    std::lock_guard l(mu_);
    std::vector<ChildStatus> out;
    for (const auto& [id, c] : children_) out.push_back(ChildStatus{id, c.pid, c.restarts});
    return out;
  }

 private:
  void tick() {
    std::vector<std::string> wanted_list = options_.desired ? options_.desired() : std::vector<std::string>{};
    std::set<std::string> wanted(wanted_list.begin(), wanted_list.end());
    std::lock_guard l(mu_);
    if (stopped_) return;
    auto now = Clock::now();
    reap(now);
    for (const auto& id : wanted)
      if (!children_.count(id)) {
        Child c;
        c.id = id;
        c.backoff = options_.min_backoff;
        c.restart_at = now;
        children_.emplace(id, std::move(c));
      }
    for (auto it = children_.begin(); it != children_.end();) {
      Child& c = it->second;
      if (!wanted.count(c.id)) {
        if (c.pid < 0) {
          it = children_.erase(it);
          continue;
        }
        if (!c.stopping) {
          log::info("sidecar", "stopping proxy {} (pid {}): its registration is gone", c.id, c.pid);
          ::kill(-c.pid, SIGTERM);
          c.stopping = true;
          c.kill_at = now + options_.stop_grace;
        } else if (now >= c.kill_at) {
          ::kill(-c.pid, SIGKILL);
        }
      } else if (c.pid < 0 && now >= c.restart_at) {
        launch(c, now);
      }
      ++it;
    }
    timer_.expires_after(options_.tick);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->tick();
    });
  }

  // Collects exited children; a wanted one is due for a restart after its backoff.
  void reap(Clock::time_point now) {
    for (auto& [id, c] : children_) {
      if (c.pid < 0) continue;
      int status = 0;
      pid_t r = ::waitpid(c.pid, &status, WNOHANG);
      if (r == 0) continue;
      std::string how = r < 0 ? "is gone" : describe_exit(status);
      c.pid = -1;
      if (c.stopping) {
        log::info("sidecar", "proxy {} stopped ({})", c.id, how);
        continue;
      }
      if (now - c.started >= options_.stable_after) c.backoff = options_.min_backoff;
      c.restart_at = now + c.backoff;
      log::warn("sidecar", "proxy {} {}; restarting in {}", c.id, how, format_duration(c.backoff));
      c.backoff = std::min(c.backoff * 2, options_.max_backoff);
    }
  }

  void launch(Child& c, Clock::time_point now) {
    std::vector<std::string> args = options_.command;
    args.insert(args.end(), {"-proxy-id", c.id});
    auto spawned = spawn_with_output_pipe(args);
    if (!spawned.ok()) {
      log::error("sidecar", "cannot start proxy {}: {}; retrying in {}", c.id, spawned.error().message(),
                 format_duration(c.backoff));
      c.restart_at = now + c.backoff;
      c.backoff = std::min(c.backoff * 2, options_.max_backoff);
      return;
    }
    if (c.started_once) ++c.restarts;
    c.started_once = true;
    c.pid = spawned->pid;
    c.started = now;
    log::info("sidecar", "started proxy {} (pid {})", c.id, c.pid);
    std::make_shared<Output>(strand_, spawned->output_fd, c.id)->read();
  }

  SupervisorOptions options_;
  Strand strand_;
  asio::steady_timer timer_;
  mutable std::mutex mu_;
  bool stopped_ = false;
  std::map<std::string, Child> children_;
};

}  // namespace

std::shared_ptr<Supervisor> Supervisor::make(asio::io_context& io, SupervisorOptions options) {
  return std::make_shared<SupervisorImpl>(io, std::move(options));
}

}  // namespace cairn::agent::sidecar
