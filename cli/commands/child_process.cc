#include "cli/commands/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace cairn::cli {

Result<Child> spawn_child(const ChildOptions& options) {
  if (options.args.empty()) return Error(errc::invalid_argument, "no command given");
  std::vector<std::string> argv;
  if (options.shell && options.args.size() == 1) {
    argv = {"/bin/sh", "-c", options.args[0]};
  } else {
    argv = options.args;
  }
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  int fds[2] = {-1, -1};
  if (options.pipe_stdin && ::pipe(fds) != 0)
    return Error(errc::io_error, std::string("pipe: ") + std::strerror(errno));
  pid_t pid = ::fork();
  if (pid < 0) {
    if (fds[0] >= 0) ::close(fds[0]), ::close(fds[1]);
    return Error(errc::io_error, std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    if (options.own_group) ::setpgid(0, 0);
    if (options.pipe_stdin) {
      ::dup2(fds[0], 0);
      ::close(fds[0]);
      ::close(fds[1]);
    } else if (options.null_stdin) {
      int null_fd = ::open("/dev/null", O_RDONLY);
      if (null_fd >= 0) ::dup2(null_fd, 0), ::close(null_fd);
    }
    ::signal(SIGPIPE, SIG_DFL);
    for (const auto& e : options.env) ::putenv(const_cast<char*>(e.c_str()));
    ::execvp(cargv[0], cargv.data());
    ::_exit(127);
  }
  if (options.own_group) ::setpgid(pid, pid);  // no race with a kill of the group
  Child c{pid, -1};
  if (options.pipe_stdin) {
    ::close(fds[0]);
    c.stdin_fd = fds[1];
  }
  return c;
}

void write_and_close(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EPIPE: the handler does not read its input
    off += static_cast<size_t>(n);
  }
  ::close(fd);
}

namespace {
int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }
}  // namespace

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 127;
  }
  return exit_code_of(status);
}

int poll_child(pid_t pid) {
  int status = 0;
  pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid) return exit_code_of(status);
  if (r < 0 && errno != EINTR) return 127;
  return -1;
}

}  // namespace cairn::cli
