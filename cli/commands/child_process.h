// Running a user's command for `cairn watch` (handlers) and `cairn lock`
// (the child), as Consul does: one string goes to `/bin/sh -c`, several are
// an argv (execvp).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/result.h"

namespace cairn::cli {

struct ChildOptions {
  std::vector<std::string> args;          // one string: a shell script; more: argv
  bool shell = true;                      // false: args are always an argv
  std::vector<std::string> env;           // "NAME=value" added to the environment
  bool pipe_stdin = false;                // give the child a pipe as stdin (see stdin_fd)
  bool null_stdin = false;                // stdin from /dev/null (ignored with pipe_stdin)
  bool own_group = false;                 // a process group of its own (killed as a whole)
};

struct Child {
  pid_t pid = -1;
  int stdin_fd = -1;  // the write end when pipe_stdin, else -1
};

Result<Child> spawn_child(const ChildOptions& options);

// Writes all of `data` to fd and closes it; a reader that went away is not an error.
void write_and_close(int fd, const std::string& data);

// Waits for the child; its exit code, or 128 + signal number.
int wait_child(pid_t pid);

// The exit code when the child has ended (reaped), else -1; never blocks.
int poll_child(pid_t pid);

}  // namespace cairn::cli
