// The agent's local services and checks: what this host registered (through
// the HTTP API or config files), the truth anti-entropy (agent/local/sync.h)
// pushes to the catalog. Consul's agent/local/state.go.
//
// Every service and check remembers its Origin (api or config), the token it
// was registered with, and a revision: `revision` moves on every local
// change, `synced_revision` is the revision the catalog last acknowledged, so
// an entry is in sync when they are equal. Removed entries leave a tombstone
// (with its revision) until the catalog deregistration succeeds.
//
// Thread safety: ONE MUTEX guards the data, so reads (services(), checks(),
// snapshot(), ...) are safe from any thread. Writes (add_*, remove_*,
// update_*, maintenance, reload, reap) call the check runner, which the
// runner contract (agent/checks/runner.h) confines to the agent's event-loop
// strand: call them on that strand (the agent's `on_local_strand`). The mutex
// is never held while the runner, the store or the change callback runs.
//
// Durability: entries registered through the API are written to the
// LocalStore (when one is given) before the write method returns.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/checks/runner.h"
#include "api/types.h"
#include "core/clock.h"
#include "core/result.h"

namespace cairn::agent::local {

using checks::Origin;
class LocalStore;

inline constexpr std::string_view kNodeMaintenanceCheckId = "_node_maintenance";
inline constexpr std::string_view kServiceMaintenancePrefix = "_service_maintenance:";
inline constexpr std::string_view kDefaultNodeMaintReason =
    "Maintenance mode is enabled for this node, but no reason was provided. This is a default message.";
inline constexpr std::string_view kDefaultServiceMaintReason =
    "Maintenance mode is enabled for this service, but no reason was provided. This is a default message.";

struct LocalService {
  api::NodeService service;
  Origin origin = Origin::api;
  std::string token;
  // Registered from another service's Connect.SidecarService (Consul's
  // LocallyRegisteredAsSidecar): the parent's ID. Removed with the parent.
  std::string sidecar_of;
  // Connect.ManagedSidecar of the parent: the agent runs the proxy process.
  bool supervised = false;
  uint64_t revision = 0;
  uint64_t synced_revision = 0;
  bool in_sync() const { return revision == synced_revision; }
};

struct LocalCheck {
  api::HealthCheck check;          // the catalog form: status, output, service name and tags
  api::CheckDefinition definition; // as registered (ID and ServiceID filled), with its thresholds
  Origin origin = Origin::api;
  std::string token;
  std::optional<Instant> critical_since;  // for deregister_critical_service_after
  uint64_t revision = 0;
  uint64_t synced_revision = 0;
  bool in_sync() const { return revision == synced_revision; }
};

// A consistent copy of everything, for the sync planner.
struct Snapshot {
  std::map<std::string, LocalService> services;
  std::map<std::string, LocalCheck> checks;
  std::map<std::string, uint64_t> deleted_services;  // ID -> tombstone revision
  std::map<std::string, uint64_t> deleted_checks;
};

struct LocalStateOptions {
  std::string node_name;
  const Clock* clock = nullptr;       // required: critical_since for the reaper
  LocalStore* store = nullptr;        // null: nothing persisted
  checks::Runner* runner = nullptr;   // null: checks are recorded but not run
  int64_t output_max_size = 4096;     // check output is truncated to this
  // ports.sidecar_min_port / sidecar_max_port: a sidecar registered without
  // a port gets the lowest free one (0/0: no automatic ports).
  int sidecar_min_port = 21000;
  int sidecar_max_port = 21255;
};

class LocalState {
 public:
  explicit LocalState(LocalStateOptions options);

  // The runner may be set after construction (it reads local state back).
  void set_runner(checks::Runner* runner);
  // Called (outside the mutex, on the writer's thread) after every change
  // that the catalog must learn of: the sync driver's partial sync.
  void set_on_change(std::function<void()> fn);

  // ---- writes (on the local strand) ----

  // Registers or replaces a service and its checks ("Check"/"Checks"; check
  // IDs default to service:<id>[:<n>]). A service's existing checks stay
  // unless `replace_existing_checks`. invalid_argument naming the field
  // ("Missing service name", a check's kind or interval, the runner's
  // refusal, Consul's Connect rules) leaves the state unchanged.
  // Connect.SidecarService registers a second service, the sidecar
  // (api/connect_proxy.h's split_sidecar; a port from the sidecar range when
  // none is given; Consul's default checks when none are given); a parent
  // re-registered without one loses the sidecar it had.
  Status add_service(api::ServiceDefinition def, Origin origin, std::string token,
                     bool replace_existing_checks = false);
  // not_found "Unknown service ID \"x\". Ensure...", as Consul: removes the
  // service and its checks, and the sidecar registered with it.
  Status remove_service(const std::string& id);
  // invalid_argument: "Missing check name", `ServiceID "x" does not exist`,
  // a bad status or kind; the runner's refusal.
  Status add_check(api::CheckDefinition def, Origin origin, std::string token);
  Status remove_check(const std::string& id);
  // A status report (runner) or a TTL update: no-op when nothing changed.
  // not_found "Unknown check ID \"x\"".
  Status update_status(const std::string& check_id, const std::string& status, std::string output);
  // PUT /v1/agent/check/pass|warn|fail|update: through the runner (which
  // restarts the TTL; not_found when the check has no TTL), then recorded.
  Status update_ttl(const std::string& check_id, const std::string& status, std::string output);
  // _node_maintenance (critical, notes = reason or the default message).
  Status set_node_maintenance(bool enable, std::string reason, std::string token);
  // _service_maintenance:<id>; not_found "No service registered with ID \"x\"".
  Status set_service_maintenance(const std::string& service_id, bool enable, std::string reason,
                                 std::string token);
  // Removes every service one of whose checks has been critical for longer
  // than its deregister_critical_service_after; returns their IDs.
  std::vector<std::string> reap_critical(Instant now);
  // Reload: the config-file definitions replace the previous config-file
  // ones (new added, changed replaced, missing removed); API entries stay
  // unless a config entry has their ID (config wins). Returns the first
  // error after applying everything else.
  Status apply_config(const std::vector<api::ServiceDefinition>& services,
                      const std::vector<api::CheckDefinition>& checks);
  // Start: the persisted API registrations (corrupt files are skipped).
  void load_persisted();

  // ---- reads (any thread) ----
  std::vector<LocalService> services() const;
  std::optional<LocalService> service(const std::string& id) const;
  std::vector<LocalCheck> checks() const;
  std::optional<LocalCheck> check(const std::string& id) const;
  // The checks of a service, plus the node's own checks when include_node.
  std::vector<api::HealthCheck> service_checks(const std::string& service_id, bool include_node) const;
  bool has_service_named(const std::string& name) const;
  Snapshot snapshot() const;

  // ---- anti-entropy bookkeeping ----
  void mark_service_synced(const std::string& id, uint64_t revision);
  void mark_check_synced(const std::string& id, uint64_t revision);
  void drop_service_tombstone(const std::string& id, uint64_t revision);
  void drop_check_tombstone(const std::string& id, uint64_t revision);
  // enable_tag_override: the catalog's tags become ours (no new revision:
  // the catalog has them already).
  void adopt_tags(const std::string& id, const std::vector<std::string>& tags);
  // Forgets every synced revision (the catalog lost what it had).
  void mark_all_out_of_sync();

 private:
  Result<LocalCheck> prepare_check(api::CheckDefinition def, Origin origin, std::string token) const;
  struct SidecarLink {
    std::string parent;
    bool supervised = false;
  };
  Status add_one(api::ServiceDefinition def, Origin origin, std::string token, bool replace_existing_checks,
                 const SidecarLink& link);
  Result<int> sidecar_port(const std::string& sidecar_id) const;
  // The ID of the service registered as `parent`'s sidecar, or "".
  std::string sidecar_of(const std::string& parent) const;
  Status run_checks(const std::vector<LocalCheck>& checks);
  void store_service(const LocalService& s);
  void store_check(const LocalCheck& c);
  void changed();
  Status set_maintenance(LocalCheck c, bool enable);
  void remove_check_locked(const std::string& id);
  // Inserts or replaces `c` (mu_ held): keeps the status of a check
  // re-registered without one, starts the critical clock, takes a revision.
  void store_check_locked(LocalCheck& c);
  Status remove_service_internal(const std::string& id, bool notify);

  LocalStateOptions options_;
  std::function<void()> on_change_;
  mutable std::mutex mu_;
  uint64_t next_revision_ = 0;
  std::map<std::string, LocalService> services_;
  std::map<std::string, LocalCheck> checks_;
  std::map<std::string, uint64_t> deleted_services_;
  std::map<std::string, uint64_t> deleted_checks_;
};

// A user event's service and tag filters (regular expressions), as Consul
// applies them on receipt: some service's ID or name matches service_filter
// and, when tag_filter is set, one of that service's tags matches it. A
// filter that does not compile matches nothing.
bool user_event_matches(const std::vector<LocalService>& services, const std::string& service_filter,
                        const std::string& tag_filter);

}  // namespace cairn::agent::local
