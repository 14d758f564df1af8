// The server half of the CLI, and where it runs (docs/ARCHITECTURE.md, "Why
// a second executable for the server").
//
// Two executables are built from the same cli/ sources:
//   - `cairn` (server_exec.cc): every command, but no server code and no
//     RocksDB, so that a client agent and `cairn connect proxy` keep only
//     what they use resident. `cairn agent` in server mode (-server, -dev,
//     "server": true) and `cairn snapshot` exec cairn-server with the same
//     arguments: same PID, same stdio, same behaviour.
//   - `cairn-server` (server_inprocess.cc): the same commands plus the
//     in-process server (server::ServerNode) and snapshot archives.
// cairn-server is looked up beside the running binary: first
// <dir>/../lib/cairn/cairn-server (the installed layout: /usr/bin/cairn,
// /usr/lib/cairn/cairn-server), then <dir>/cairn-server (the build tree).
#pragma once

#include <functional>
#include <memory>

#include "core/io/runtime.h"
#include "core/result.h"

namespace cairn::agent {
class Agent;
}

namespace cairn::cli {

// In `cairn`: replaces this process with cairn-server and the same
// arguments; returns only when that failed, with a one-line error naming
// the paths tried. In cairn-server: returns ok at once (the server is here).
Status run_in_server_binary();

// The in-process server of a server agent, as cli/commands/agent.cc drives it.
class AgentServer {
 public:
  virtual ~AgentServer() = default;
  // After agent.start(): keeps the server's gossip view current (pulled from
  // the agent), and calls on_failed once if the server fails (its storage),
  // on a server thread.
  virtual void follow(agent::Agent& agent, std::function<void()> on_failed) = 0;
  // Stops accepting, the leader duties, the Raft transport and the store.
  virtual void stop() = 0;
};

// Prepares the agent's data dir and node ID, starts the server on the
// runtime (binding its RPC port) and hands the agent its RPC port, its
// handler and the gossip member events. Only cairn-server has a server:
// in `cairn` this fails (run_in_server_binary() comes first there).
Result<std::unique_ptr<AgentServer>> start_agent_server(Runtime& runtime, agent::Agent& agent);

}  // namespace cairn::cli
