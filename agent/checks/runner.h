// The contract between the agent's local state (agent/local), which owns the
// registered checks and their statuses, and the check runners
// (agent/checks), which run them. Pure: no Asio here, so agent/local and
// agent/http include it freely; make_runner() (in agent/checks) builds the
// real one on the agent's event loop, tests use fakes.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "core/result.h"

namespace cairn {
class Runtime;
}
namespace cairn::api::rpc {
class Handler;
}

namespace cairn::agent::checks {

// The kind of a check from which fields its definition sets ("http", "tcp",
// "udp", "ttl", "script", "alias", "grpc", "h2ping"); an error naming the
// fields when none or more than one kind is set.
Result<std::string> check_type(const api::HealthCheckDefinition& def);

// Where a check was defined: script checks from config files need only
// enable_local_script_checks, from the API enable_script_checks.
enum class Origin { api, config };

// What a runner reports: the status to record after thresholds
// (success_before_passing, failures_before_warning/critical) were applied,
// and the output (truncated to check_output_max_size). Only changes of
// status or output are reported.
struct StatusUpdate {
  std::string check_id;
  std::string status;  // passing | warning | critical
  std::string output;
};

class Runner {
 public:
  virtual ~Runner() = default;
  // Starts monitoring `check`, or replaces the monitor of a check with the
  // same ID. `check.service_id` is "" for node checks. Errors (the agent
  // answers them with 400) name the field: no kind or two kinds, an
  // interval missing or under 1s for the kinds that poll, a script check
  // while script checks are not enabled for `origin`, an unparsable URL or
  // address.
  virtual Status add(const api::CheckDefinition& check, Origin origin) = 0;
  virtual void remove(const std::string& check_id) = 0;
  // PUT /v1/agent/check/pass|warn|fail|update/<id>: records the status of a
  // TTL check and restarts its TTL; not_found when no TTL check has that ID.
  virtual Status update_ttl(const std::string& check_id, const std::string& status, const std::string& output) = 0;
  // Local state changed: alias checks of local services re-evaluate.
  virtual void local_changed() = 0;
};

// What the real runner needs from the agent. Everything is called on, and
// `report` called from, the runtime's event loop (one strand).
struct RunnerEnv {
  Runtime* runtime = nullptr;
  std::string node_name;  // alias checks with no alias_node watch this node's local state
  bool enable_script_checks = false;
  bool enable_local_script_checks = false;
  int64_t output_max_size = 4096;
  // The local checks of a service (alias checks of a local service).
  std::function<std::vector<api::HealthCheck>(const std::string& service_id)> local_checks;
  // Whether a local service is registered (an alias of an absent service is
  // critical; a present one without checks is passing). Null: assume present.
  std::function<bool(const std::string& service_id)> local_service_exists;
  // The servers (alias checks of another node watch it with blocking
  // HealthNode queries); may return null while no server is known.
  std::function<std::shared_ptr<api::rpc::Handler>()> rpc;
  std::function<void(StatusUpdate)> report;
};

std::unique_ptr<Runner> make_runner(RunnerEnv env);

}  // namespace cairn::agent::checks
