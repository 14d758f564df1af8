#include "test/faults/harness/child.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace cairn::faults {
namespace {

// In a forked child before exec: closes every descriptor but 0-2. Asio's
// sockets are not close-on-exec, so without this a restarted node inherits
// the harness's sockets — the relay's and the workload's connections — and
// keeps them open after the harness closes its end: a peer then writes into
// a connection nobody reads and never reconnects (seen in a relay run: a
// restarted server never heard from the leader again).
void close_inherited() {
  if (::close_range(3, ~0u, 0) == 0) return;
  for (int fd = 3; fd < 65536; ++fd) ::close(fd);  // kernels before 5.9
}

int decode_status(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

std::vector<char*> argv_of(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& command) {
  std::vector<std::string> args = command;
  std::vector<char*> argv = argv_of(args);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return {};
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return {};
  }
  if (pid == 0) {  // only async-signal-safe calls until exec: the harness has threads
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    close_inherited();
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  CommandResult r;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) r.output.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = decode_status(status);
  return r;
}

bool run_ok(const std::vector<std::string>& args, std::string* error) {
  CommandResult r = run_command(args);
  if (r.status == 0) return true;
  if (error) {
    std::string cmd;
    for (const auto& a : args) cmd += (cmd.empty() ? "" : " ") + a;
    std::string out = r.output;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    *error = "`" + cmd + "` exited " + std::to_string(r.status) + ": " + out;
  }
  return false;
}

Child::Child(const std::vector<std::string>& command, const std::string& log_path) {
  std::vector<std::string> args = command;
  std::vector<char*> argv = argv_of(args);
  pid_t parent = ::getpid();
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);  // the harness died before prctl
    ::setpgid(0, 0);  // the terminal's ^C reaches the harness only; it stops the cluster itself
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    close_inherited();
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  if (log >= 0) ::close(log);
}

Child::~Child() {
  if (running()) {
    signal(SIGCONT);
    ::kill(pid_, SIGKILL);
    wait_exit(std::chrono::seconds(10));
  }
}

bool Child::running() {
  if (pid_ <= 0 || exited_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    status_ = decode_status(status);
    return false;
  }
  return true;
}

void Child::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> Child::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (!running()) return status_;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace cairn::faults
