// Everything of agent/local running in the agent process: the LocalState
// with its LocalStore in the data dir, the check runner (agent/checks
// make_runner), the SyncDriver, all on one strand of the runtime (the
// "local strand"). agent.cc builds one after prepare() and hands its state
// and strand to the HTTP endpoints. Asio stays in local_agent.cc.
//
// Thread affinity: post() and reload() from any thread; state() reads from
// any thread, writes only inside post().
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "agent/config/config.h"
#include "agent/local/local_state.h"
#include "core/result.h"

namespace cairn {
class Runtime;
}
namespace cairn::api::rpc {
class Handler;
}

namespace cairn::agent::local {

struct LocalAgentDeps {
  Runtime* runtime = nullptr;
  // The servers (the in-process Server, or an RpcClient); may return null.
  std::function<std::shared_ptr<api::rpc::Handler>()> rpc;
  std::function<size_t()> cluster_size;           // gossip members, for aeScale
  std::function<std::string()> advertise_address;  // this node's address in the catalog
};

class LocalAgent {
 public:
  LocalAgent(const Config& config, LocalAgentDeps deps);
  ~LocalAgent();

  // On the local strand: loads the persisted API registrations, then the
  // config's services and checks (config wins on an ID clash), starts the
  // checks and the anti-entropy driver (a full sync at once).
  void start();
  void stop();

  LocalState& state();
  // Runs fn on the local strand.
  void post(std::function<void()> fn);
  // On the local strand: parks fn until the local state next changes
  // (woken = true) or `timeout` passes (false). fn runs on the local strand.
  void wait_for_change(Duration timeout, std::function<void(bool woken)> fn);
  // Applies `fresh`'s services and checks (reload) on the local strand,
  // then starts a full sync; done(first error) on the local strand.
  void reload(const Config& fresh, std::function<void(Status)> done);
  // A user event's service and tag filters (regular expressions), as
  // Consul applies them on receipt: some local service's ID or name matches
  // service_filter and, when tag_filter is set, one of its tags matches it.
  // A filter that does not compile matches nothing.
  bool matches_user_event(const std::string& service_filter, const std::string& tag_filter) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::agent::local
