// Starting a child process whose stdout and stderr share one pipe: check
// scripts (agent/checks/probe_script.cc) and supervised sidecar proxies
// (agent/sidecar). POSIX only; no Asio in this header.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/result.h"

namespace cairn {

struct Spawned {
  pid_t pid = -1;
  int output_fd = -1;  // the read end of the stdout+stderr pipe (close-on-exec)
};

// Runs `args` (args[0] looked up in PATH) in a new process group of its own
// (so that signals for the parent's group do not reach it and the whole group
// can be killed), stdin from /dev/null, the parent's signal mask cleared and
// SIGPIPE at its default. The read end is close-on-exec so that other
// children never hold it open. io_error "Failed to invoke <args[0]>: ..."
// when the program cannot be started.
Result<Spawned> spawn_with_output_pipe(const std::vector<std::string>& args);

}  // namespace cairn
