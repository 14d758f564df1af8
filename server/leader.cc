#include "server/leader.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <utility>

#include "api/server_tags.h"
#include "core/duration.h"
#include "core/log.h"
#include "core/strings.h"
#include "server/fsm/command.h"

namespace cairn::server {
namespace {

namespace rpc = api::rpc;

constexpr std::string_view kLog = "leader";
// Consul's structs.SerfCheck* and ConsulService* constants.
constexpr std::string_view kSerfCheckName = "Serf Health Status";
constexpr std::string_view kSerfCheckAliveOutput = "Agent alive and reachable";
constexpr std::string_view kSerfCheckFailedOutput = "Agent not live or unreachable";
constexpr std::string_view kConsulServiceId = "consul";
constexpr std::string_view kConsulServiceName = "consul";
constexpr std::string_view kMetaConsulVersion = "consul-version";

std::string tag(const gossip::MemberInfo& m, const char* key) {
  auto it = m.tags.find(key);
  return it == m.tags.end() ? std::string() : it->second;
}

// The IP of a gossip address "ip:port", "[v6]:port" or a bare IP (what
// Consul's member.Addr.String() gives: no port, no brackets).
std::string ip_of(const std::string& addr) {
  if (!addr.empty() && addr.front() == '[') {
    auto close = addr.find(']');
    return close == std::string::npos ? addr.substr(1) : addr.substr(1, close - 1);
  }
  auto colon = addr.find(':');
  if (colon == std::string::npos || addr.find(':', colon + 1) != std::string::npos) return addr;  // v4 or bare v6
  return addr.substr(0, colon);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const api::HealthCheck* serf_check(const std::vector<api::HealthCheck>& checks) {
  for (const auto& c : checks)
    if (c.check_id == api::kSerfCheckId) return &c;
  return nullptr;
}

api::HealthCheck serf_health(const std::string& node, std::string_view status, std::string_view output) {
  api::HealthCheck c;
  c.node = node;
  c.check_id = std::string(api::kSerfCheckId);
  c.name = std::string(kSerfCheckName);
  c.status = std::string(status);
  c.output = std::string(output);
  return c;
}

// The "consul" service Consul registers on every server's node.
api::NodeService consul_service(const gossip::MemberInfo& m, const api::ServerInfo& server) {
  api::NodeService s;
  s.id = std::string(kConsulServiceId);
  s.service = std::string(kConsulServiceName);
  auto colon = server.rpc_addr.rfind(':');
  s.port = std::atoi(server.rpc_addr.c_str() + colon + 1);
  s.meta = {{"non_voter", tag(m, "nonvoter") == "1" ? "true" : "false"},
            {"read_replica", tag(m, "read_replica") == "1" ? "true" : "false"},
            {"raft_version", "3"},
            {"version", tag(m, "build").substr(0, tag(m, "build").find(':'))}};
  return s;
}

std::optional<api::ServerInfo> server_of(const LeaderOptions& o, const gossip::MemberInfo& m) {
  auto s = api::parse_server(m.name, m.addr, m.tags);
  if (!s || s->datacenter != o.datacenter) return std::nullopt;
  return s;
}

bool positive(Duration d) { return d > Duration::zero(); }

// The leader reads its own state: no forwarding, no ReadIndex round.
rpc::QueryOptions stale_read() {
  rpc::QueryOptions o;
  o.consistency = rpc::Consistency::stale;
  return o;
}

}  // namespace

Status LeaderOptions::validate() const {
  auto bad = [](const char* field, const char* why) {
    return Status(errc::invalid_argument, std::string(field) + ": " + why);
  };
  if (datacenter.empty()) return bad("datacenter", "must not be empty");
  if (node_name.empty()) return bad("node_name", "must not be empty");
  if (raft_id == 0) return bad("raft_id", "must not be 0");
  if (!positive(reconcile_interval)) return bad("reconcile_interval", "must be positive");
  if (!positive(dead_server_removal_after)) return bad("dead_server_removal_after", "must be positive");
  if (!positive(tombstone_ttl)) return bad("tombstone_ttl", "must be positive");
  if (!positive(tombstone_granularity)) return bad("tombstone_granularity", "must be positive");
  if (tombstone_granularity > tombstone_ttl) return bad("tombstone_granularity", "must not exceed tombstone_ttl");
  if (session_ttl_multiplier < 1) return bad("session_ttl_multiplier", "must be at least 1");
  if (server_stabilization_time < Duration::zero()) return bad("server_stabilization_time", "must not be negative");
  if (!positive(autopilot_interval)) return bad("autopilot_interval", "must be positive");
  return ok_status();
}

MemberStatus status_of(gossip::MemberState s) {
  switch (s) {
    case gossip::MemberState::alive:
    case gossip::MemberState::suspect:
      return MemberStatus::alive;
    case gossip::MemberState::dead:
      return MemberStatus::failed;
    case gossip::MemberState::left:
      return MemberStatus::left;
  }
  return MemberStatus::alive;
}

bool handled_by_leader(const LeaderOptions& options, const gossip::MemberInfo& member) {
  if (tag(member, "dc") != options.datacenter) return false;
  auto role = tag(member, "role");
  if (role == api::kRoleClient) return true;
  return role == api::kRoleServer && server_of(options, member).has_value();
}

std::optional<rpc::Write> catalog_write_for(const LeaderOptions& options, const gossip::MemberInfo& member,
                                            MemberStatus status, const std::optional<api::NodeServices>& node,
                                            const std::vector<api::HealthCheck>& checks) {
  const std::string address = ip_of(member.addr);
  switch (status) {
    case MemberStatus::alive: {
      std::optional<api::NodeService> service;
      if (auto server = server_of(options, member)) service = consul_service(member, *server);
      if (node && node->node.address == address) {
        bool service_matches = true;
        if (service) {
          auto it = std::find_if(node->services.begin(), node->services.end(),
                                 [](const api::NodeService& s) { return s.id == kConsulServiceId; });
          service_matches = it != node->services.end() && it->meta == service->meta && it->port == service->port;
        }
        const api::HealthCheck* serf = serf_check(checks);
        if (service_matches && serf && serf->status == api::kHealthPassing) return std::nullopt;
      }
      rpc::CatalogRegister w;
      w.request.datacenter = options.datacenter;
      w.request.node = member.name;
      w.request.id = tag(member, "id");
      w.request.address = address;
      w.request.service = std::move(service);
      w.request.check = serf_health(member.name, api::kHealthPassing, kSerfCheckAliveOutput);
      if (node) {
        // Keep what others wrote about the node (agent anti-entropy owns them).
        w.request.tagged_addresses = node->node.tagged_addresses;
        w.request.node_meta = node->node.meta;
      } else if (auto build = tag(member, "build"); !build.empty()) {
        w.request.node_meta[std::string(kMetaConsulVersion)] = build.substr(0, build.find(':'));
      }
      return rpc::Write(std::move(w));
    }
    case MemberStatus::failed: {
      if (!node) return std::nullopt;  // Consul ignores a failure of a node it never registered
      const api::HealthCheck* serf = serf_check(checks);
      if (node->node.address == address && serf && serf->status == api::kHealthCritical) return std::nullopt;
      rpc::CatalogRegister w;
      w.request.datacenter = options.datacenter;
      w.request.node = member.name;
      w.request.id = tag(member, "id");
      w.request.address = address;
      w.request.check = serf_health(member.name, api::kHealthCritical, kSerfCheckFailedOutput);
      w.request.skip_node_update = true;  // do not clobber what is known of the node
      return rpc::Write(std::move(w));
    }
    case MemberStatus::left:
    case MemberStatus::reaped: {
      // A leaving leader does not deregister itself: the next leader does.
      if (!node || equal_fold(member.name, options.node_name)) return std::nullopt;
      rpc::CatalogDeregister w;
      w.request.datacenter = options.datacenter;
      w.request.node = member.name;
      return rpc::Write(std::move(w));
    }
  }
  return std::nullopt;
}

// ---- LeaderDuties ----

void LeaderDuties::Timer::cancel() {
  if (handle) handle->cancel();
  handle.reset();
  seq = 0;
}

template <typename T, typename F>
std::function<void(T)> LeaderDuties::on_strand(F fn) {
  std::weak_ptr<LeaderDuties*> weak = alive_;
  Scheduler* scheduler = deps_.scheduler;
  uint64_t term = term_;
  return [weak, scheduler, term, fn = std::move(fn)](T value) mutable {
    auto shared_value = std::make_shared<T>(std::move(value));
    scheduler->after(Duration::zero(), [weak, term, fn, shared_value]() mutable {
      auto self = weak.lock();
      if (!self || (*self)->term_ != term) return;
      fn(**self, std::move(*shared_value));
    });
  };
}

template <typename F>
LeaderDuties::Timer LeaderDuties::arm(Duration delay, F fn) {
  std::weak_ptr<LeaderDuties*> weak = alive_;
  uint64_t term = term_;
  uint64_t seq = ++next_seq_;
  auto handle = deps_.scheduler->after(delay, [weak, term, seq, fn = std::move(fn)]() mutable {
    auto self = weak.lock();
    if (!self || (*self)->term_ != term) return;
    fn(**self, seq);
  });
  return Timer{seq, std::move(handle)};
}

LeaderDuties::LeaderDuties(LeaderOptions options, LeaderDeps deps)
    : options_(std::move(options)), deps_(std::move(deps)), alive_(std::make_shared<LeaderDuties*>(this)) {
  if (auto s = options_.validate(); !s.ok()) {
    log::error(kLog, "invalid leader options: {}", s.error().message());
    std::abort();
  }
  if (!deps_.rpc || !deps_.propose || !deps_.conf_state || !deps_.change_membership || !deps_.members ||
      !deps_.scheduler || !deps_.clock) {
    log::error(kLog, "leader duties need every dependency (rpc, propose, conf_state, change_membership, members, "
                     "scheduler, clock)");
    std::abort();
  }
}

LeaderDuties::~LeaderDuties() { stop(); }

void LeaderDuties::start() {
  if (leading_) return;
  leading_ = true;
  ++term_;
  log::info(kLog, "leadership established: reconciling members, sessions and tombstones");
  full_reconcile();
  autopilot_tick();
  const rpc::QueryOptions stale = stale_read();
  deps_.rpc->query(stale, rpc::SessionList{},
                   on_strand<Result<rpc::QueryResponse>>([](LeaderDuties& self, Result<rpc::QueryResponse> r) {
                     if (!r.ok()) {
                       log::warn(kLog, "failed to list sessions for TTL timers: {}", r.error().message());
                       return;
                     }
                     for (const auto& s : rpc::value_of<rpc::SessionList>(*r)) {
                       if (s.ttl.empty() || self.session_timers_.count(s.id)) continue;  // renewed since
                       auto ttl = parse_duration(s.ttl);
                       if (!ttl.ok()) {
                         log::warn(kLog, "session {}: bad TTL {}: {}", s.id, s.ttl, ttl.error().message());
                         continue;
                       }
                       self.arm_session_timer(s.id, *ttl);
                     }
                   }));
  if (deps_.last_index) kv_tombstone_hint(deps_.last_index());
}

void LeaderDuties::stop() {
  if (!leading_) return;
  leading_ = false;
  ++term_;
  reconcile_timer_.cancel();
  autopilot_timer_.cancel();
  health_.clear();
  member_order_.clear();
  member_tasks_.clear();
  member_running_ = false;
  reap_scan_queued_ = false;
  conf_changes_.clear();
  conf_change_running_ = false;
  for (auto& [id, f] : failed_servers_) f.timer.cancel();
  failed_servers_.clear();
  unknown_servers_.clear();
  for (auto& [id, t] : session_timers_) t.cancel();
  session_timers_.clear();
  sessions_to_destroy_.clear();
  for (auto& [at, b] : tombstone_buckets_) b.timer.cancel();
  tombstone_buckets_.clear();
  reap_pending_ = 0;
  log::info(kLog, "leadership lost: leader duties stopped");
}

// ---- members → catalog ----

void LeaderDuties::full_reconcile() {
  arm_reconcile_timer();
  for (auto& m : deps_.members())
    if (handled_by_leader(options_, m)) enqueue(MemberTask{m, status_of(m.state)});
  reap_scan_queued_ = true;
  prune_unknown_servers();
  // Retry what failed since the last round.
  auto sessions = std::move(sessions_to_destroy_);
  sessions_to_destroy_.clear();
  for (const auto& id : sessions) expire_session(id);
  if (reap_pending_ > 0) reap_tombstones(std::exchange(reap_pending_, 0));
  pump_members();
}

void LeaderDuties::arm_reconcile_timer() {
  reconcile_timer_.cancel();
  reconcile_timer_ = arm(options_.reconcile_interval, [](LeaderDuties& self, uint64_t seq) {
    if (self.reconcile_timer_.seq != seq) return;
    self.full_reconcile();
  });
}

void LeaderDuties::on_member_event(const gossip::MemberEvent& e) {
  if (!leading_ || !handled_by_leader(options_, e.member)) return;
  MemberStatus status = status_of(e.member.state);
  switch (e.kind) {
    case gossip::MemberEvent::Kind::join:
    case gossip::MemberEvent::Kind::update:
      break;
    case gossip::MemberEvent::Kind::failed:
      status = MemberStatus::failed;
      break;
    case gossip::MemberEvent::Kind::leave:
      status = MemberStatus::left;
      break;
    case gossip::MemberEvent::Kind::reap:
      status = MemberStatus::reaped;
      break;
  }
  enqueue(MemberTask{e.member, status});
  pump_members();
}

void LeaderDuties::enqueue(MemberTask task) {
  std::string name = task.member.name;
  if (member_tasks_.insert_or_assign(name, std::move(task)).second) member_order_.push_back(std::move(name));
}

void LeaderDuties::pump_members() {
  if (member_running_ || !leading_) return;
  if (!member_order_.empty()) {
    std::string name = std::move(member_order_.front());
    member_order_.pop_front();
    auto node = member_tasks_.extract(name);
    if (node.empty()) return pump_members();  // not reached: the order and the map agree
    member_running_ = true;
    reconcile_catalog(std::move(node.mapped()));
  } else if (reap_scan_queued_) {
    reap_scan_queued_ = false;
    member_running_ = true;
    reap_unknown_nodes();
  }
}

void LeaderDuties::finish_member() {
  member_running_ = false;
  pump_members();
}

void LeaderDuties::reconcile_catalog(MemberTask task) {
  const rpc::QueryOptions stale = stale_read();
  std::string name = task.member.name;
  auto with_checks = [stale, name](LeaderDuties& self, MemberTask task, std::optional<api::NodeServices> node) {
    self.deps_.rpc->query(
        stale, rpc::HealthNode{name},
        self.on_strand<Result<rpc::QueryResponse>>(
            [task = std::move(task), node = std::move(node)](LeaderDuties& self, Result<rpc::QueryResponse> r) {
              if (!r.ok()) {
                log::warn(kLog, "reconcile of member {}: reading its checks failed: {}", task.member.name,
                          r.error().message());
                return self.finish_member();
              }
              auto write = catalog_write_for(self.options_, task.member, task.status, node,
                                             rpc::value_of<rpc::HealthNode>(*r));
              if (!write) return self.finish_member();
              self.write(std::move(*write), "reconcile of member " + task.member.name,
                         [](LeaderDuties& self, bool) { self.finish_member(); });
            }));
  };
  deps_.rpc->query(stale, rpc::CatalogNodeServices{name},
                   on_strand<Result<rpc::QueryResponse>>(
                       [task = std::move(task), with_checks](LeaderDuties& self, Result<rpc::QueryResponse> r) {
                         if (!r.ok()) {
                           log::warn(kLog, "reconcile of member {}: reading the catalog failed: {}",
                                     task.member.name, r.error().message());
                           self.reconcile_raft(task, std::nullopt);
                           return self.finish_member();
                         }
                         auto node = std::move(rpc::value_of<rpc::CatalogNodeServices>(*r));
                         self.reconcile_raft(task, node);
                         with_checks(self, task, std::move(node));
                       }));
}

void LeaderDuties::reap_unknown_nodes() {
  const rpc::QueryOptions stale = stale_read();
  deps_.rpc->query(
      stale, rpc::HealthState{"any"},
      on_strand<Result<rpc::QueryResponse>>([](LeaderDuties& self, Result<rpc::QueryResponse> r) {
        if (!r.ok()) {
          log::warn(kLog, "reconcile of reaped nodes: reading checks failed: {}", r.error().message());
          return self.finish_member();
        }
        std::set<std::string> known;
        for (const auto& m : self.deps_.members()) known.insert(lower(m.name));
        for (const auto& c : rpc::value_of<rpc::HealthState>(*r)) {
          if (c.check_id != api::kSerfCheckId || known.count(lower(c.node)) || self.member_tasks_.count(c.node))
            continue;
          MemberTask task;
          task.member.name = c.node;
          task.member.tags = {{"role", std::string(api::kRoleClient)}, {"dc", self.options_.datacenter}};
          task.status = MemberStatus::reaped;
          task.from_catalog = true;
          self.enqueue(std::move(task));
        }
        self.finish_member();
      }));
}

void LeaderDuties::write(rpc::Write w, std::string what, std::function<void(LeaderDuties&, bool)> then) {
  deps_.rpc->write(rpc::WriteOptions{}, std::move(w),
                   on_strand<Result<rpc::WriteResponse>>(
                       [what = std::move(what), then = std::move(then)](LeaderDuties& self, Result<rpc::WriteResponse> r) {
                         if (!r.ok())
                           log::warn(kLog, "{}: write failed, retrying at the next reconcile: {}", what,
                                     r.error().message());
                         then(self, r.ok());
                       }));
}

// ---- servers → Raft configuration ----

void LeaderDuties::reconcile_raft(const MemberTask& task, const std::optional<api::NodeServices>& node) {
  // The Raft id the catalog last recorded for this node, when it was a server.
  uint64_t catalog_id = 0;
  if (node && std::any_of(node->services.begin(), node->services.end(),
                          [](const api::NodeService& s) { return s.id == kConsulServiceId; }))
    catalog_id = api::raft_id_of(node->node.id);
  if (task.from_catalog) {
    // A server gossip no longer knows: Consul's reconcileReaped rebuilds it
    // from its "consul" service and removes it.
    if (catalog_id != 0) queue_conf_change(raft::ConfChange{raft::ConfChangeType::remove_node, catalog_id});
    return;
  }
  auto server = server_of(options_, task.member);
  if (!server) return;
  uint64_t id = server->raft_id;
  switch (task.status) {
    case MemberStatus::alive: {
      if (auto it = failed_servers_.find(id); it != failed_servers_.end()) {
        log::info(kLog, "server {} is alive again: no longer scheduled for removal", server->name);
        it->second.timer.cancel();
        failed_servers_.erase(it);
      }
      std::erase_if(conf_changes_, [id](const raft::ConfChange& cc) {
        return cc.node_id == id && cc.type == raft::ConfChangeType::remove_node;
      });
      if (catalog_id != 0 && catalog_id != id && catalog_id != options_.raft_id) {
        // The server came back under a new node ID (Consul's joinConsulServer
        // removes the old entry of a reused address first): the old id would
        // count against the quorum for ever.
        log::info(kLog, "server {} now has Raft id {:016x}: removing its old id {:016x} first", server->name, id,
                  catalog_id);
        queue_conf_change(raft::ConfChange{raft::ConfChangeType::remove_node, catalog_id});
      }
      // A learner is autopilot's to promote (autopilot_tick).
      if (deps_.conf_state().contains(id)) return;
      if (server->bootstrap) {
        // Consul's joinConsulServer: two servers in bootstrap mode is a misconfiguration.
        for (const auto& m : deps_.members()) {
          auto other = server_of(options_, m);
          if (other && m.name != task.member.name && other->bootstrap) {
            log::error(kLog, "two servers are in bootstrap mode ({} and {}): not adding {} to Raft", m.name,
                       task.member.name, task.member.name);
            return;
          }
        }
      }
      // Consul's autopilot: a new server joins as a non-voter and is
      // promoted once it has caught up and stayed healthy (autopilot_tick).
      // Servers of the bootstrap_expect set are voters from the start.
      queue_conf_change(raft::ConfChange{raft::ConfChangeType::add_learner, id});
      return;
    }
    case MemberStatus::failed:
      watch_failed_server(id, server->name);
      return;
    case MemberStatus::left:
    case MemberStatus::reaped:
      if (auto it = failed_servers_.find(id); it != failed_servers_.end()) {
        it->second.timer.cancel();
        failed_servers_.erase(it);
      }
      if (equal_fold(task.member.name, options_.node_name)) return;  // the next leader removes us
      queue_conf_change(raft::ConfChange{raft::ConfChangeType::remove_node, id});
      return;
  }
}

void LeaderDuties::watch_failed_server(uint64_t raft_id, const std::string& name) {
  Instant now = deps_.clock->now();
  auto it = failed_servers_.find(raft_id);
  if (it != failed_servers_.end()) {
    // Seen failed before: past the deadline (a removal that failed, or a
    // timer that fired while a change was queued) it goes now.
    if (now - it->second.since >= options_.dead_server_removal_after)
      queue_conf_change(raft::ConfChange{raft::ConfChangeType::remove_node, raft_id});
    return;
  }
  log::info(kLog, "server {} failed: removing it from Raft in {} unless it returns", name,
            format_duration(options_.dead_server_removal_after));
  FailedServer f{now, name, {}};
  f.timer = arm(options_.dead_server_removal_after, [raft_id](LeaderDuties& self, uint64_t seq) {
    auto it = self.failed_servers_.find(raft_id);
    if (it == self.failed_servers_.end() || it->second.timer.seq != seq) return;
    it->second.timer.handle.reset();
    // Still failed in the current gossip view?
    for (const auto& m : self.deps_.members()) {
      if (m.name != it->second.name) continue;
      if (status_of(m.state) != MemberStatus::failed) return;  // its alive/left event handles it
      break;
    }
    log::info(kLog, "server {} failed {} ago: removing it from Raft", it->second.name,
              format_duration(self.options_.dead_server_removal_after));
    self.queue_conf_change(raft::ConfChange{raft::ConfChangeType::remove_node, raft_id});
  });
  failed_servers_.emplace(raft_id, std::move(f));
}

void LeaderDuties::prune_unknown_servers() {
  // A Raft member that no gossip member (of any state) names: its node was
  // reaped and its catalog entry is gone, or it never had one (it was added
  // by hand or came back under a new ID unseen). Consul's autopilot prunes
  // such "stale" servers; here they go after dead_server_removal_after of
  // continuous absence, counted from when this leader first saw it.
  std::set<uint64_t> named;
  for (const auto& m : deps_.members())
    if (auto s = api::parse_server(m.name, m.addr, m.tags)) named.insert(s->raft_id);
  raft::ConfState cs = deps_.conf_state();
  std::vector<uint64_t> ids = cs.voters;
  ids.insert(ids.end(), cs.learners.begin(), cs.learners.end());
  Instant now = deps_.clock->now();
  std::map<uint64_t, Instant> still_unknown;
  for (uint64_t id : ids) {
    if (id == options_.raft_id || named.count(id)) continue;
    auto it = unknown_servers_.find(id);
    Instant since = it == unknown_servers_.end() ? now : it->second;
    still_unknown.emplace(id, since);
    if (now - since >= options_.dead_server_removal_after) {
      log::info(kLog, "server {:016x} has been unknown to gossip for {}: removing it from Raft", id,
                format_duration(now - since));
      queue_conf_change(raft::ConfChange{raft::ConfChangeType::remove_node, id});
    }
  }
  unknown_servers_ = std::move(still_unknown);
}

void LeaderDuties::queue_conf_change(raft::ConfChange cc) {
  if (std::find(conf_changes_.begin(), conf_changes_.end(), cc) == conf_changes_.end()) conf_changes_.push_back(cc);
  pump_conf_changes();
}

void LeaderDuties::pump_conf_changes() {
  while (!conf_change_running_ && !conf_changes_.empty() && leading_) {
    raft::ConfChange cc = conf_changes_.front();
    conf_changes_.pop_front();
    raft::ConfState cs = deps_.conf_state();
    if (cc.type == raft::ConfChangeType::add_node) {
      if (cs.is_voter(cc.node_id)) continue;
      log::info(kLog, "{} server {:016x} to voter", cs.is_learner(cc.node_id) ? "promoting" : "adding",
                cc.node_id);
    } else if (cc.type == raft::ConfChangeType::add_learner) {
      if (cs.contains(cc.node_id)) continue;
      log::info(kLog, "adding server {:016x} to the Raft configuration as a non-voter", cc.node_id);
    } else if (cc.type == raft::ConfChangeType::remove_node) {
      if (!cs.contains(cc.node_id)) continue;
      if (cc.node_id == options_.raft_id) {
        log::warn(kLog, "not removing this server ({:016x}) from Raft: a follower's leader will", cc.node_id);
        continue;
      }
      if (cs.is_voter(cc.node_id) && cs.voters.size() <= 1) {
        log::warn(kLog, "not removing server {:016x}: it is the last voter", cc.node_id);
        continue;
      }
      log::info(kLog, "removing server {:016x} from the Raft configuration", cc.node_id);
    }
    conf_change_running_ = true;
    deps_.change_membership(cc, on_strand<Status>([cc](LeaderDuties& self, Status s) {
                              if (!s.ok())
                                log::warn(kLog, "Raft configuration change for {:016x} failed, retrying at the next "
                                                "reconcile: {}",
                                          cc.node_id, s.error().message());
                              self.conf_change_running_ = false;
                              self.pump_conf_changes();
                            }));
  }
}

// ---- autopilot ----

void LeaderDuties::autopilot_tick() {
  autopilot_timer_.cancel();
  autopilot_timer_ = arm(options_.autopilot_interval, [](LeaderDuties& self, uint64_t seq) {
    if (self.autopilot_timer_.seq != seq) return;
    self.autopilot_tick();
  });
  const Instant now = deps_.clock->now();
  const raft::ConfState cs = deps_.conf_state();
  std::optional<RaftView> view;
  if (deps_.raft_view) view = deps_.raft_view();
  std::map<uint64_t, const gossip::MemberInfo*> by_id;
  const auto members = deps_.members();
  for (const auto& m : members)
    if (auto s = server_of(options_, m)) by_id[s->raft_id] = &m;

  std::map<uint64_t, ServerHealth> next;
  auto sample = [&](uint64_t id, bool voter) {
    ServerHealth h;
    h.raft_id = id;
    h.voter = voter;
    h.serf_status = "none";
    MemberStatus status = MemberStatus::reaped;
    if (auto it = by_id.find(id); it != by_id.end()) {
      const gossip::MemberInfo& m = *it->second;
      h.name = m.name;
      if (auto s = server_of(options_, m)) h.address = s->rpc_addr;
      status = status_of(m.state);
      h.serf_status = status == MemberStatus::alive    ? "alive"
                      : status == MemberStatus::failed ? "failed"
                                                       : "left";
    }
    if (id == options_.raft_id) {
      // Consul's autopilot: the leader is healthy by definition.
      h.healthy = true;
      h.last_contact = now;
      if (view) {
        h.last_index = view->last_index;
        h.last_term = view->term;
      }
      if (h.serf_status == "none") h.serf_status = "alive";
    } else if (!view) {
      h.healthy = status == MemberStatus::alive;
    } else {
      auto p = std::find_if(view->peers.begin(), view->peers.end(), [id](const RaftView::Peer& x) { return x.id == id; });
      // recent_active is cleared at every election timeout until the next
      // heartbeat answer: a server heard at this sample or the previous
      // one is in contact.
      auto old = health_.find(id);
      if (p != view->peers.end() && p->recent_active)
        h.last_contact = now;
      else if (old != health_.end())
        h.last_contact = old->second.last_contact;
      bool in_contact = h.last_contact && now - *h.last_contact <= options_.autopilot_interval;
      h.last_index = p != view->peers.end() ? p->match : 0;
      h.last_term = in_contact ? view->term : 0;
      h.healthy = status == MemberStatus::alive && in_contact &&
                  h.last_index + options_.max_trailing_logs >= view->last_index;
    }
    auto old = health_.find(id);
    h.stable_since = old != health_.end() && old->second.healthy == h.healthy ? old->second.stable_since : now;
    next.emplace(id, std::move(h));
  };
  for (uint64_t id : cs.voters) sample(id, true);
  for (uint64_t id : cs.learners) sample(id, false);
  health_ = std::move(next);

  // Promote learners that have been healthy for the stabilization time,
  // except read replicas (Consul's non-voters by configuration).
  for (uint64_t id : cs.learners) {
    const ServerHealth& h = health_.at(id);
    if (!h.healthy || now - h.stable_since < options_.server_stabilization_time) continue;
    auto m = by_id.find(id);
    if (m != by_id.end() && (tag(*m->second, "nonvoter") == "1" || tag(*m->second, "read_replica") == "1")) continue;
    queue_conf_change(raft::ConfChange{raft::ConfChangeType::add_node, id});
  }
}

std::vector<LeaderDuties::ServerHealth> LeaderDuties::autopilot_health() const {
  std::vector<ServerHealth> out;
  for (const auto& [id, h] : health_) out.push_back(h);
  return out;
}

// ---- session TTLs ----

void LeaderDuties::session_ttl_reset(const std::string& id, Duration ttl) {
  if (!leading_) return;
  sessions_to_destroy_.erase(id);
  if (!positive(ttl)) {
    session_destroyed(id);
    return;
  }
  arm_session_timer(id, ttl);
}

void LeaderDuties::session_destroyed(const std::string& id) {
  sessions_to_destroy_.erase(id);
  auto it = session_timers_.find(id);
  if (it == session_timers_.end()) return;
  it->second.cancel();
  session_timers_.erase(it);
}

void LeaderDuties::arm_session_timer(const std::string& id, Duration ttl) {
  auto& slot = session_timers_[id];
  slot.cancel();
  slot = arm(ttl * options_.session_ttl_multiplier, [id](LeaderDuties& self, uint64_t seq) {
    auto it = self.session_timers_.find(id);
    if (it == self.session_timers_.end() || it->second.seq != seq) return;
    self.session_timers_.erase(it);
    self.expire_session(id);
  });
}

void LeaderDuties::expire_session(const std::string& id) {
  log::info(kLog, "session {} expired: destroying it", id);
  write(rpc::SessionDestroy{id}, "invalidating session " + id, [id](LeaderDuties& self, bool ok) {
    // A renew may have re-armed the timer meanwhile: then it lives on.
    if (!ok && !self.session_timers_.count(id)) self.sessions_to_destroy_.insert(id);
  });
}

// ---- tombstone GC ----

void LeaderDuties::kv_tombstone_hint(uint64_t index) {
  if (!leading_ || index == 0) return;
  // Consul's TombstoneGC.nextExpires: now + ttl, rounded up to the next
  // multiple of the granularity, so one reap covers a bucket of deletes.
  const Duration g = options_.tombstone_granularity;
  Duration at = deps_.clock->now().since_epoch + options_.tombstone_ttl + g;
  Instant expires{(at / g) * g};
  auto [it, fresh] = tombstone_buckets_.try_emplace(expires);
  it->second.max_index = std::max(it->second.max_index, index);
  if (!fresh) return;
  it->second.timer = arm(expires - deps_.clock->now(), [expires](LeaderDuties& self, uint64_t seq) {
    auto it = self.tombstone_buckets_.find(expires);
    if (it == self.tombstone_buckets_.end() || it->second.timer.seq != seq) return;
    uint64_t up_to = it->second.max_index;
    self.tombstone_buckets_.erase(it);
    self.reap_tombstones(up_to);
  });
}

void LeaderDuties::reap_tombstones(uint64_t up_to) {
  fsm::TombstoneCommand cmd;
  cmd.op = fsm::TombstoneOp::reap;
  cmd.reap_up_to = up_to;
  deps_.propose(fsm::encode(cmd), on_strand<Status>([up_to](LeaderDuties& self, Status s) {
                  if (s.ok()) return;
                  log::warn(kLog, "reaping tombstones up to index {} failed, retrying at the next reconcile: {}",
                            up_to, s.error().message());
                  self.reap_pending_ = std::max(self.reap_pending_, up_to);
                }));
}

}  // namespace cairn::server
