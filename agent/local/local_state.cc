#include "agent/local/local_state.h"

#include <algorithm>
#include <regex>
#include <set>

#include "agent/local/store.h"
#include "api/connect_proxy.h"
#include "api/validate.h"
#include "core/log.h"

namespace cairn::agent::local {
namespace {

Error invalid(std::string msg) { return Error(errc::invalid_argument, std::move(msg)); }

bool valid_status(const std::string& s) {
  return s == api::kHealthPassing || s == api::kHealthWarning || s == api::kHealthCritical;
}

// The service as the agent keeps it: Consul's defaults (ID from the name,
// weights 1/1) and its refusals, with the field named.
Status normalize_service(api::NodeService& s) {
  if (s.service.empty()) return invalid("Missing service name");
  if (s.id.empty()) s.id = s.service;
  if (s.port < 0 || s.port > 65535) return invalid("Invalid Service Port: " + std::to_string(s.port));
  if (s.weights.passing == 0 && s.weights.warning == 0) s.weights = api::Weights{};
  if (s.weights.passing < 0 || s.weights.warning < 0) return invalid("Weights: weights must not be negative");
  s.raft = {};
  return {};
}

bool is_maintenance(const api::HealthCheck& c) { return c.type == "maintenance"; }

template <typename T>
std::vector<T> values_of(const std::map<std::string, T>& m) {
  std::vector<T> out;
  out.reserve(m.size());
  for (const auto& [id, v] : m) out.push_back(v);
  return out;
}

template <typename T>
std::optional<T> find_in(const std::map<std::string, T>& m, const std::string& id) {
  auto it = m.find(id);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

// A maintenance check (Consul's: critical, type "maintenance", the reason
// as its notes); never run by the runner.
LocalCheck maintenance_check(const std::string& node, std::string id, std::string name, std::string notes,
                             std::string token) {
  LocalCheck c;
  c.check.node = node;
  c.check.check_id = id;
  c.check.name = name;
  c.check.notes = notes;
  c.check.status = std::string(api::kHealthCritical);
  c.check.type = "maintenance";
  c.definition.id = std::move(id);
  c.definition.name = std::move(name);
  c.definition.notes = std::move(notes);
  c.definition.status = c.check.status;
  c.token = std::move(token);
  return c;
}

}  // namespace

LocalState::LocalState(LocalStateOptions options) : options_(std::move(options)) {}

void LocalState::set_runner(checks::Runner* runner) { options_.runner = runner; }
void LocalState::set_on_change(std::function<void()> fn) { on_change_ = std::move(fn); }

void LocalState::changed() {
  if (options_.runner) options_.runner->local_changed();
  if (on_change_) on_change_();
}

void LocalState::store_service(const LocalService& s) {
  if (!options_.store) return;
  Status st = s.origin == Origin::api ? options_.store->save_service(s) : options_.store->remove_service(s.service.id);
  if (!st.ok()) log::error("local", "cannot persist service {}: {}", s.service.id, st.error().message());
}

void LocalState::store_check(const LocalCheck& c) {
  if (!options_.store) return;
  Status st = c.origin == Origin::api ? options_.store->save_check(c) : options_.store->remove_check(c.check.check_id);
  if (!st.ok()) log::error("local", "cannot persist check {}: {}", c.check.check_id, st.error().message());
}

Result<LocalCheck> LocalState::prepare_check(api::CheckDefinition def, Origin origin, std::string token) const {
  if (def.id.empty()) def.id = def.name;
  if (def.id.empty()) return invalid("Missing check name");
  if (def.name.empty()) def.name = def.id;
  if (!def.status.empty() && !valid_status(def.status)) return invalid("Invalid check status: \"" + def.status + "\"");
  CAIRN_RETURN_IF_ERROR(api::validate_check_definition(def));
  LocalCheck c;
  c.check = api::to_health_check(def, options_.node_name);
  c.definition = std::move(def);
  c.origin = origin;
  c.token = std::move(token);
  return c;
}

// Starts the monitors of `checks` (those with a kind; maintenance checks have
// none). On a refusal the ones started here are stopped again, and the error
// returned.
Status LocalState::run_checks(const std::vector<LocalCheck>& checks) {
  if (!options_.runner) return {};
  std::vector<const LocalCheck*> started;
  for (const auto& c : checks) {
    if (api::check_type_of(c.definition.definition).empty()) continue;
    Status st = options_.runner->add(c.definition, c.origin);
    if (!st.ok()) {
      for (const LocalCheck* s : started) {
        auto old = check(s->check.check_id);
        if (old && !api::check_type_of(old->definition.definition).empty())
          (void)options_.runner->add(old->definition, old->origin);  // put the previous monitor back
        else
          options_.runner->remove(s->check.check_id);
      }
      return Error(errc::invalid_argument, st.error().message());
    }
    started.push_back(&c);
  }
  return {};
}

std::string LocalState::sidecar_of(const std::string& parent) const {
  std::lock_guard l(mu_);
  for (const auto& [id, s] : services_)
    if (s.sidecar_of == parent) return id;
  return {};
}

// Consul's sidecarPortFromServiceIDLocked: the port this sidecar already has
// when it is in the range, else the lowest one no other local service uses.
Result<int> LocalState::sidecar_port(const std::string& sidecar_id) const {
  int lo = options_.sidecar_min_port, hi = options_.sidecar_max_port;
  if (lo < 1 || hi < lo) return invalid("no port provided for sidecar_service and auto-assignment disabled in config");
  std::set<int> used;
  {
    std::lock_guard l(mu_);
    for (const auto& [id, s] : services_) {
      if (s.service.port < lo || s.service.port > hi) continue;
      if (id == sidecar_id) return s.service.port;
      used.insert(s.service.port);
    }
  }
  for (int p = lo; p <= hi; ++p)
    if (!used.count(p)) return p;
  return invalid("no port provided for sidecar_service and none left in the configured range [" + std::to_string(lo) +
                 ", " + std::to_string(hi) + "]");
}

Status LocalState::add_service(api::ServiceDefinition def, Origin origin, std::string token,
                               bool replace_existing_checks) {
  CAIRN_RETURN_IF_ERROR(normalize_service(def.service));
  CAIRN_TRY(auto plan, api::split_sidecar(def));
  if (def.service.kind == api::kConnectProxyKind) {
    CAIRN_TRY(def.service.proxy_json, api::canonical_proxy_json(def.service.proxy_json));
  }
  CAIRN_RETURN_IF_ERROR(api::validate_connect(def.service, true));
  std::string parent_id = def.service.id;
  std::string old_sidecar = sidecar_of(parent_id);
  if (!plan) {
    CAIRN_RETURN_IF_ERROR(add_one(std::move(def), origin, std::move(token), replace_existing_checks, {}));
    if (!old_sidecar.empty()) (void)remove_service(old_sidecar);  // the definition no longer asks for it
    return {};
  }
  api::ServiceDefinition& sc = plan->sidecar;
  CAIRN_RETURN_IF_ERROR(normalize_service(sc.service));
  if (sc.service.port == 0) {
    CAIRN_TRY(sc.service.port, sidecar_port(sc.service.id));
  }
  if (plan->default_checks) sc.checks = api::sidecar_default_checks(sc.service, parent_id);
  CAIRN_RETURN_IF_ERROR(api::validate_connect(sc.service, true));
  bool parent_existed = service(parent_id).has_value();
  CAIRN_RETURN_IF_ERROR(add_one(std::move(def), origin, token, replace_existing_checks, {}));
  if (!old_sidecar.empty() && old_sidecar != sc.service.id) (void)remove_service(old_sidecar);
  Status st = add_one(std::move(sc), origin, plan->token.empty() ? token : plan->token, replace_existing_checks,
                      SidecarLink{parent_id, plan->supervised});
  if (!st.ok() && !parent_existed) (void)remove_service_internal(parent_id, true);
  return st;
}

Status LocalState::add_one(api::ServiceDefinition def, Origin origin, std::string token,
                           bool replace_existing_checks, const SidecarLink& link) {
  std::vector<LocalCheck> new_checks;
  for (api::HealthCheck& hc : api::service_definition_checks(def, options_.node_name)) {
    // service_definition_checks filled the IDs, names and ServiceID; keep
    // the thresholds of the definition they came from.
    api::CheckDefinition cd = def.checks[new_checks.size()];
    cd.id = hc.check_id;
    cd.name = hc.name;
    cd.service_id = hc.service_id;
    CAIRN_TRY(LocalCheck c, prepare_check(std::move(cd), origin, token));
    new_checks.push_back(std::move(c));
  }
  std::set<std::string> new_ids;
  for (const auto& c : new_checks)
    if (!new_ids.insert(c.check.check_id).second) return invalid("Duplicate check ID \"" + c.check.check_id + "\"");

  std::vector<std::string> dropped;  // this service's checks the new definition replaces
  {
    std::lock_guard l(mu_);
    auto it = services_.find(def.service.id);
    if (it != services_.end() && it->second.service == def.service && it->second.origin == origin &&
        it->second.token == token && it->second.sidecar_of == link.parent &&
        it->second.supervised == link.supervised) {
      bool same = true;
      for (const auto& c : new_checks) {
        auto ci = checks_.find(c.check.check_id);
        same = same && ci != checks_.end() && ci->second.definition == c.definition && ci->second.origin == origin;
      }
      size_t existing = std::count_if(checks_.begin(), checks_.end(), [&](const auto& kv) {
        return kv.second.check.service_id == def.service.id && !is_maintenance(kv.second.check);
      });
      if (same && (!replace_existing_checks || existing == new_checks.size())) return {};  // nothing changes
    }
    for (auto& c : new_checks) {
      auto ci = checks_.find(c.check.check_id);
      if (ci != checks_.end() && ci->second.check.service_id != def.service.id)
        return invalid("Check ID \"" + c.check.check_id + "\" belongs to another service");
    }
    if (replace_existing_checks) {
      for (const auto& [id, c] : checks_)
        if (c.check.service_id == def.service.id && !new_ids.count(id) && !is_maintenance(c.check))
          dropped.push_back(id);
    }
  }
  CAIRN_RETURN_IF_ERROR(run_checks(new_checks));
  for (const auto& id : dropped)
    if (options_.runner) options_.runner->remove(id);

  LocalService stored;
  std::vector<LocalCheck> stored_checks;
  {
    std::lock_guard l(mu_);
    LocalService& s = services_[def.service.id];
    s.service = def.service;
    s.origin = origin;
    s.token = token;
    s.sidecar_of = link.parent;
    s.supervised = link.supervised;
    s.revision = ++next_revision_;
    deleted_services_.erase(def.service.id);
    stored = s;
    for (const auto& id : dropped) remove_check_locked(id);
    for (auto& c : new_checks) {
      c.check.service_name = s.service.service;
      c.check.service_tags = s.service.tags;
      store_check_locked(c);
      stored_checks.push_back(c);
    }
    // Checks added on their own (and maintenance) follow the service's name and tags.
    for (auto& [id, c] : checks_) {
      if (c.check.service_id != s.service.id || new_ids.count(id)) continue;
      if (c.check.service_name == s.service.service && c.check.service_tags == s.service.tags) continue;
      c.check.service_name = s.service.service;
      c.check.service_tags = s.service.tags;
      c.revision = ++next_revision_;
      stored_checks.push_back(c);
    }
  }
  if (options_.store)
    for (const auto& id : dropped) (void)options_.store->remove_check(id);
  store_service(stored);
  for (const auto& c : stored_checks) store_check(c);
  changed();
  return {};
}

void LocalState::store_check_locked(LocalCheck& c) {
  auto ci = checks_.find(c.check.check_id);
  if (ci != checks_.end() && c.definition.status.empty()) {
    // Re-registration keeps the status the check has (no flapping to critical).
    c.check.status = ci->second.check.status;
    c.check.output = ci->second.check.output;
    c.critical_since = ci->second.critical_since;
  } else if (c.check.status == api::kHealthCritical) {
    c.critical_since = options_.clock->now();
  }
  c.revision = ++next_revision_;
  deleted_checks_.erase(c.check.check_id);
  checks_[c.check.check_id] = c;
}

void LocalState::remove_check_locked(const std::string& id) {
  if (checks_.erase(id)) deleted_checks_[id] = ++next_revision_;
}

Status LocalState::remove_service(const std::string& id) {
  std::string sidecar = sidecar_of(id);
  CAIRN_RETURN_IF_ERROR(remove_service_internal(id, sidecar.empty()));
  if (!sidecar.empty()) (void)remove_service_internal(sidecar, true);
  return {};
}

Status LocalState::remove_service_internal(const std::string& id, bool notify) {
  std::vector<std::string> removed_checks;
  {
    std::lock_guard l(mu_);
    if (!services_.erase(id))
      return Error(errc::not_found,
                   "Unknown service ID \"" + id + "\". Ensure that the service ID is passed, not the service name.");
    deleted_services_[id] = ++next_revision_;
    for (const auto& [cid, c] : checks_)
      if (c.check.service_id == id) removed_checks.push_back(cid);
    // The catalog drops a service's checks with it: their tombstones are not needed.
    for (const auto& cid : removed_checks) checks_.erase(cid);
  }
  for (const auto& cid : removed_checks) {
    if (options_.runner) options_.runner->remove(cid);
    if (options_.store) (void)options_.store->remove_check(cid);
  }
  if (options_.store) (void)options_.store->remove_service(id);
  if (notify) changed();
  return {};
}

Status LocalState::add_check(api::CheckDefinition def, Origin origin, std::string token) {
  if (def.name.empty()) return invalid("Missing check name");
  CAIRN_TRY(LocalCheck c, prepare_check(std::move(def), origin, std::move(token)));
  {
    std::lock_guard l(mu_);
    if (!c.check.service_id.empty()) {
      auto s = services_.find(c.check.service_id);
      if (s == services_.end()) return invalid("ServiceID \"" + c.check.service_id + "\" does not exist");
      c.check.service_name = s->second.service.service;
      c.check.service_tags = s->second.service.tags;
    }
  }
  CAIRN_RETURN_IF_ERROR(run_checks({c}));
  {
    std::lock_guard l(mu_);
    store_check_locked(c);
  }
  store_check(c);
  changed();
  return {};
}

Status LocalState::remove_check(const std::string& id) {
  {
    std::lock_guard l(mu_);
    if (!checks_.count(id))
      return Error(errc::not_found,
                   "Unknown check ID \"" + id + "\". Ensure that the check ID is passed, not the check name.");
    remove_check_locked(id);
  }
  if (options_.runner) options_.runner->remove(id);
  if (options_.store) (void)options_.store->remove_check(id);
  changed();
  return {};
}

Status LocalState::update_status(const std::string& check_id, const std::string& status, std::string output) {
  if (!valid_status(status)) return invalid("Invalid check status: \"" + status + "\"");
  if (options_.output_max_size > 0 && output.size() > static_cast<size_t>(options_.output_max_size))
    output.resize(static_cast<size_t>(options_.output_max_size));
  LocalCheck stored;
  {
    std::lock_guard l(mu_);
    auto it = checks_.find(check_id);
    if (it == checks_.end()) return Error(errc::not_found, "Unknown check ID \"" + check_id + "\"");
    LocalCheck& c = it->second;
    if (c.check.status == status && c.check.output == output) return {};
    if (status == api::kHealthCritical) {
      if (c.check.status != api::kHealthCritical || !c.critical_since) c.critical_since = options_.clock->now();
    } else {
      c.critical_since.reset();
    }
    c.check.status = status;
    c.check.output = std::move(output);
    c.revision = ++next_revision_;
    stored = c;
  }
  // Only a TTL check's state outlives a restart (Consul persists TTL state);
  // the others are re-run.
  if (stored.check.type == "ttl") store_check(stored);
  changed();
  return {};
}

Status LocalState::update_ttl(const std::string& check_id, const std::string& status, std::string output) {
  if (!valid_status(status)) return invalid("Invalid check status: \"" + status + "\"");
  if (!check(check_id)) return Error(errc::not_found, "Unknown check ID \"" + check_id + "\"");
  if (options_.runner) CAIRN_RETURN_IF_ERROR(options_.runner->update_ttl(check_id, status, output));
  return update_status(check_id, status, std::move(output));
}

Status LocalState::set_maintenance(LocalCheck c, bool enable) {
  const std::string id = c.check.check_id;
  if (!enable) return check(id) ? remove_check(id) : Status{};
  if (check(id)) return {};  // already on: Consul keeps the first reason
  {
    std::lock_guard l(mu_);
    c.revision = ++next_revision_;
    deleted_checks_.erase(id);
    checks_[id] = c;
  }
  store_check(c);
  changed();
  return {};
}

Status LocalState::set_node_maintenance(bool enable, std::string reason, std::string token) {
  return set_maintenance(maintenance_check(options_.node_name, std::string(kNodeMaintenanceCheckId), "Node Maintenance Mode",
                                           reason.empty() ? std::string(kDefaultNodeMaintReason) : std::move(reason),
                                           std::move(token)),
                         enable);
}

Status LocalState::set_service_maintenance(const std::string& service_id, bool enable, std::string reason,
                                           std::string token) {
  auto svc = service(service_id);
  if (!svc) return Error(errc::not_found, "No service registered with ID \"" + service_id + "\"");
  LocalCheck c = maintenance_check(options_.node_name, std::string(kServiceMaintenancePrefix) + service_id,
                                   "Service Maintenance Mode",
                                   reason.empty() ? std::string(kDefaultServiceMaintReason) : std::move(reason),
                                   std::move(token));
  c.check.service_id = c.definition.service_id = service_id;
  c.check.service_name = svc->service.service;
  c.check.service_tags = svc->service.tags;
  return set_maintenance(std::move(c), enable);
}

std::vector<std::string> LocalState::reap_critical(Instant now) {
  std::set<std::string> doomed;
  {
    std::lock_guard l(mu_);
    for (const auto& [id, c] : checks_) {
      Duration after = c.definition.definition.deregister_critical_service_after;
      if (c.check.service_id.empty() || after <= Duration(0) || !c.critical_since) continue;
      if (c.check.status == api::kHealthCritical && now - *c.critical_since > after) doomed.insert(c.check.service_id);
    }
  }
  std::vector<std::string> out;
  for (const auto& id : doomed) {
    std::string sidecar = sidecar_of(id);
    if (remove_service_internal(id, false).ok()) {
      log::info("local", "removed service {}: critical for longer than its deregister_critical_service_after", id);
      out.push_back(id);
      if (!sidecar.empty() && remove_service_internal(sidecar, false).ok()) out.push_back(sidecar);
    }
  }
  if (!out.empty()) changed();
  return out;
}

Status LocalState::apply_config(const std::vector<api::ServiceDefinition>& services,
                                const std::vector<api::CheckDefinition>& checks) {
  std::set<std::string> service_ids, check_ids;
  for (const auto& d : services) service_ids.insert(d.service.id.empty() ? d.service.service : d.service.id);
  for (const auto& c : checks) check_ids.insert(c.id.empty() ? c.name : c.id);
  std::vector<std::string> gone_services, gone_checks;
  {
    std::lock_guard l(mu_);
    for (const auto& [id, s] : services_)
      if (s.origin == Origin::config && !service_ids.count(id) && s.sidecar_of.empty()) gone_services.push_back(id);
    for (const auto& [id, c] : checks_)
      if (c.origin == Origin::config && c.check.service_id.empty() && !check_ids.count(id)) gone_checks.push_back(id);
  }
  Status first;
  auto keep = [&first](Status st) {
    if (!st.ok() && first.ok()) first = std::move(st);
  };
  for (const auto& id : gone_services) keep(remove_service(id));
  for (const auto& id : gone_checks) keep(remove_check(id));
  for (const auto& d : services) keep(add_service(d, Origin::config, "", true));
  for (const auto& c : checks) {
    auto existing = check(c.id.empty() ? c.name : c.id);
    api::CheckDefinition want = c;
    if (want.id.empty()) want.id = want.name;
    if (existing && existing->origin == Origin::config && existing->definition == want) continue;
    keep(add_check(c, Origin::config, ""));
  }
  return first;
}

void LocalState::load_persisted() {
  if (!options_.store) return;
  LocalStore::Loaded loaded = options_.store->load();
  std::vector<LocalCheck> to_run;
  {
    std::lock_guard l(mu_);
    for (auto& s : loaded.services) {
      s.origin = Origin::api;
      s.revision = ++next_revision_;
      s.synced_revision = 0;
      services_[s.service.id] = std::move(s);
    }
    for (auto& c : loaded.checks) {
      if (!c.check.service_id.empty() && !services_.count(c.check.service_id)) {
        log::warn("local", "dropped persisted check {}: its service {} is gone", c.check.check_id, c.check.service_id);
        continue;
      }
      c.origin = Origin::api;
      c.revision = ++next_revision_;
      c.synced_revision = 0;
      if (c.check.status == api::kHealthCritical) c.critical_since = options_.clock->now();
      to_run.push_back(c);
      checks_[c.check.check_id] = std::move(c);
    }
  }
  for (const auto& c : to_run) {
    if (!options_.runner || api::check_type_of(c.definition.definition).empty()) continue;
    if (Status st = options_.runner->add(c.definition, c.origin); !st.ok())
      log::warn("local", "persisted check {} not started: {}", c.check.check_id, st.error().message());
  }
  if (!loaded.services.empty() || !to_run.empty()) changed();
}

std::vector<LocalService> LocalState::services() const {
  std::lock_guard l(mu_);
  return values_of(services_);
}

std::optional<LocalService> LocalState::service(const std::string& id) const {
  std::lock_guard l(mu_);
  return find_in(services_, id);
}

std::vector<LocalCheck> LocalState::checks() const {
  std::lock_guard l(mu_);
  return values_of(checks_);
}

std::optional<LocalCheck> LocalState::check(const std::string& id) const {
  std::lock_guard l(mu_);
  return find_in(checks_, id);
}

std::vector<api::HealthCheck> LocalState::service_checks(const std::string& service_id, bool include_node) const {
  std::lock_guard l(mu_);
  std::vector<api::HealthCheck> out;
  for (const auto& [id, c] : checks_)
    if (c.check.service_id == service_id || (include_node && c.check.service_id.empty())) out.push_back(c.check);
  return out;
}

bool LocalState::has_service_named(const std::string& name) const {
  std::lock_guard l(mu_);
  return std::any_of(services_.begin(), services_.end(), [&](const auto& kv) { return kv.second.service.service == name; });
}

Snapshot LocalState::snapshot() const {
  std::lock_guard l(mu_);
  return Snapshot{services_, checks_, deleted_services_, deleted_checks_};
}

void LocalState::mark_service_synced(const std::string& id, uint64_t revision) {
  std::lock_guard l(mu_);
  auto it = services_.find(id);
  if (it != services_.end() && it->second.revision == revision) it->second.synced_revision = revision;
}

void LocalState::mark_check_synced(const std::string& id, uint64_t revision) {
  std::lock_guard l(mu_);
  auto it = checks_.find(id);
  if (it != checks_.end() && it->second.revision == revision) it->second.synced_revision = revision;
}

void LocalState::drop_service_tombstone(const std::string& id, uint64_t revision) {
  std::lock_guard l(mu_);
  auto it = deleted_services_.find(id);
  if (it != deleted_services_.end() && it->second == revision) deleted_services_.erase(it);
}

void LocalState::drop_check_tombstone(const std::string& id, uint64_t revision) {
  std::lock_guard l(mu_);
  auto it = deleted_checks_.find(id);
  if (it != deleted_checks_.end() && it->second == revision) deleted_checks_.erase(it);
}

void LocalState::adopt_tags(const std::string& id, const std::vector<std::string>& tags) {
  std::lock_guard l(mu_);
  auto it = services_.find(id);
  if (it == services_.end()) return;
  it->second.service.tags = tags;
  for (auto& [cid, c] : checks_)
    if (c.check.service_id == id) c.check.service_tags = tags;
}

void LocalState::mark_all_out_of_sync() {
  std::lock_guard l(mu_);
  for (auto& [id, s] : services_) s.synced_revision = 0;
  for (auto& [id, c] : checks_) c.synced_revision = 0;
}

bool user_event_matches(const std::vector<LocalService>& services, const std::string& service_filter,
                        const std::string& tag_filter) {
  try {
    std::regex service_re(service_filter);
    std::optional<std::regex> tag_re;
    if (!tag_filter.empty()) tag_re.emplace(tag_filter);
    for (const auto& s : services) {
      if (!std::regex_search(s.service.id, service_re) && !std::regex_search(s.service.service, service_re)) continue;
      if (!tag_re) return true;
      for (const auto& tag : s.service.tags)
        if (std::regex_search(tag, *tag_re)) return true;
    }
  } catch (const std::regex_error&) {
  }
  return false;
}

}  // namespace cairn::agent::local
